//! Gatekeeper's `K8sNativeValidation` engine: the CEL code of a ConstraintTemplate.

use super::code::Code;
use super::evaluate::{bindings, eval_error, objects};
use super::program::{to_cel, Budget};
use super::session::Session;
use crate::{EvalError, Inventory, Limits, Review};
use serde_json::Value;

/// Variables Gatekeeper defines before the template's own.
const PRESET: [&str; 2] = ["params", "anyObject"];

/// The `K8sNativeValidation` code of a ConstraintTemplate: a `spec.targets[].code[]` entry with
/// `engine: K8sNativeValidation`, whose `source` holds `validations`, `variables`,
/// `matchConditions` (and optionally `failurePolicy`) like a ValidatingAdmissionPolicy's spec.
///
/// As in Gatekeeper, `variables.params` is the constraint's `spec.parameters` (null without
/// any) and `variables.anyObject` is `object`, or `oldObject` when `object` is null (DELETE).
/// `object`, `oldObject`, `request` and `namespaceObject` are as for a
/// ValidatingAdmissionPolicy; `params` is the parameters too. `authorizer` is not available.
#[derive(Debug, Clone)]
pub struct GatekeeperCel {
    template: String,
    code: Code,
}

impl GatekeeperCel {
    /// Compiles the `source` of the template called `template`. An error names the field
    /// (`source.validations[0].expression`) and the reason.
    pub fn from_source(source: &Value, template: &str, limits: &Limits) -> Result<GatekeeperCel, String> {
        if !source.is_object() {
            return Err("the K8sNativeValidation source must be an object".into());
        }
        Ok(GatekeeperCel {
            template: template.to_string(),
            code: Code::parse(source, "source", &PRESET, limits)?,
        })
    }

    /// Evaluates with a constraint's `spec.parameters`; returns (message, details) per failed
    /// validation, nothing when a match condition is false. Details hold the validation's
    /// `reason`, when it has one. Errors follow the source's `failurePolicy` (default Fail).
    pub fn evaluate(
        &self,
        review: &Review,
        parameters: &Value,
        inventory: &Inventory,
        limits: &Limits,
    ) -> Result<Vec<(String, Option<Value>)>, EvalError> {
        let budget = Budget::start(limits);
        let (object, old_object) = objects(review);
        let any_object = if object.is_null() { old_object } else { object };
        let preset = vec![
            ("params".to_string(), to_cel(parameters)),
            ("anyObject".to_string(), to_cel(any_object)),
        ];
        let parameters = Some(parameters).filter(|p| !p.is_null());
        let mut session = Session::new(
            &budget,
            bindings(review, parameters, inventory),
            self.code.variables(),
            preset,
        );
        let failed = self.code.matches(&mut session).and_then(|matched| {
            if matched {
                self.code.validate(&mut session)
            } else {
                Ok(Vec::new())
            }
        });
        match failed {
            Ok(failed) => Ok(failed
                .into_iter()
                .map(|f| {
                    let details = (f.reason != "Invalid").then(|| serde_json::json!({"reason": f.reason}));
                    (f.message, details)
                })
                .collect()),
            Err(failure) => Err(eval_error(&self.template, failure, limits)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;
    use serde_json::json;

    fn code(validation: &str) -> GatekeeperCel {
        GatekeeperCel::from_source(
            &json!({"validations": [{"expression": validation, "message": "no"}]}),
            "t",
            &Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn any_object_is_the_old_object_on_delete() {
        let object =
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"keep": "yes"}}});
        let cel = code("has(variables.anyObject.metadata.labels.keep) && object == null");
        let mut review = Review::from_object(object).unwrap();
        let (none, empty) = (Value::Null, Inventory::new());
        assert_eq!(
            cel.evaluate(&review, &none, &empty, &Limits::default())
                .unwrap()
                .len(),
            1
        );
        review.operation = Operation::Delete;
        assert!(cel
            .evaluate(&review, &none, &empty, &Limits::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn params_are_the_parameters_twice() {
        let cel = code("variables.params.max == params.max && params.max > 2");
        let review =
            Review::from_object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}))
                .unwrap();
        let evaluate = |max: i64| {
            cel.evaluate(
                &review,
                &json!({"max": max}),
                &Inventory::new(),
                &Limits::default(),
            )
            .unwrap()
        };
        assert!(evaluate(3).is_empty());
        assert_eq!(evaluate(1), vec![("no".to_string(), None)]);
    }

    #[test]
    fn template_variables_cannot_take_gatekeeper_names() {
        let source = json!({"variables": [{"name": "params", "expression": "1"}], "validations": [{"expression": "true"}]});
        let error = GatekeeperCel::from_source(&source, "t", &Limits::default()).unwrap_err();
        assert!(error.contains("source.variables[0].name"), "{error}");
    }
}
