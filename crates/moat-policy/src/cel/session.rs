//! One evaluation of a policy's expressions against one review (and one params object): the
//! CEL variables, and the composited `variables.<name>`, each computed at most once and only
//! when an expression reads it.
//!
//! kube-cel's `VapEvaluator` binds `object`, `oldObject`, `request`, `params` and
//! `namespaceObject` but has no composited variables, reports evaluation errors as failed
//! validations, and cannot stop a long evaluation; hence this session.

use super::program::{self, Budget, Program, VariableUses};
use kube_cel::cel::{Context, Value};
use std::sync::Arc;

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// It failed, for this reason.
    Error(String),
    /// The time limit ran out.
    TimedOut,
}

/// A composited variable: `variables.<name>`.
#[derive(Debug, Clone)]
pub(crate) struct Variable {
    /// Its name.
    pub(crate) name: String,
    /// Its expression.
    pub(crate) program: Program,
}

/// The state of one evaluation.
pub(crate) struct Session<'a> {
    context: Context<'static>,
    budget: Arc<Budget>,
    variables: &'a [Variable],
    preset: Vec<(String, Value)>,
    values: Vec<Option<Result<Value, String>>>,
    stale: bool,
}

impl<'a> Session<'a> {
    /// A session with these top-level variables (`object`, `request`, …), the policy's
    /// composited `variables`, and `preset` composited values that come before them
    /// (Gatekeeper's `variables.params` and `variables.anyObject`).
    pub(crate) fn new(
        budget: &Arc<Budget>,
        bindings: Vec<(&str, Value)>,
        variables: &'a [Variable],
        preset: Vec<(String, Value)>,
    ) -> Session<'a> {
        let mut context = program::context(budget);
        for (name, value) in bindings {
            context.add_variable_from_value(name, value);
        }
        Session {
            context,
            budget: Arc::clone(budget),
            variables,
            preset,
            values: vec![None; variables.len()],
            stale: true,
        }
    }

    /// Evaluates `program`, first computing the composited variables it reads.
    pub(crate) fn run(&mut self, program: &Program) -> Result<Value, Failure> {
        if self.budget.expired() {
            return Err(Failure::TimedOut);
        }
        if program.uses_authorizer() {
            return Err(Failure::Error(
                "`authorizer` is not available outside the API server".into(),
            ));
        }
        let wanted = self.indexes(program.variables(), self.variables.len());
        self.compute(&wanted)?;
        self.execute(program, &wanted)
    }

    /// Positions of the variables `uses` names among the first `before` ones.
    fn indexes(&self, uses: &VariableUses, before: usize) -> Vec<usize> {
        let candidates = &self.variables[..before];
        match uses {
            VariableUses::All => (0..before).collect(),
            VariableUses::Named(names) => (0..before)
                .filter(|&i| names.contains(&candidates[i].name))
                .collect(),
        }
    }

    /// Computes the variables `wanted` and those they read, in order (each variable may only
    /// read earlier ones, so one backward pass finds them all).
    fn compute(&mut self, wanted: &[usize]) -> Result<(), Failure> {
        let mut needed = vec![false; self.variables.len()];
        wanted.iter().for_each(|&i| needed[i] = true);
        for i in (0..needed.len()).rev() {
            if needed[i] {
                let uses = self.variables[i].program.variables();
                for dependency in self.indexes(uses, i) {
                    needed[dependency] = true;
                }
            }
        }
        for i in 0..needed.len() {
            if needed[i] && self.values[i].is_none() {
                let variables = self.variables;
                let program = &variables[i].program;
                let dependencies = self.indexes(program.variables(), i);
                let value = match self.execute(program, &dependencies) {
                    Ok(value) => Ok(value),
                    Err(Failure::TimedOut) => return Err(Failure::TimedOut),
                    Err(Failure::Error(error)) => Err(error),
                };
                self.values[i] = Some(value);
                self.stale = true;
            }
        }
        Ok(())
    }

    /// Runs `program` with the variables computed so far bound; an error is blamed on the first
    /// of `dependencies` that failed, if any did.
    fn execute(&mut self, program: &Program, dependencies: &[usize]) -> Result<Value, Failure> {
        self.bind_variables();
        let result = program.execute(&self.context);
        if self.budget.timed_out() {
            return Err(Failure::TimedOut);
        }
        result.map_err(|error| {
            let failed = dependencies.iter().find_map(|&i| match &self.values[i] {
                Some(Err(cause)) => Some(format!("variables.{}: {cause}", self.variables[i].name)),
                _ => None,
            });
            Failure::Error(failed.unwrap_or(error))
        })
    }

    /// Binds `variables` to the preset values and those computed without error.
    fn bind_variables(&mut self) {
        if !self.stale {
            return;
        }
        let preset = self
            .preset
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()));
        let computed = self
            .variables
            .iter()
            .zip(&self.values)
            .filter_map(|(variable, value)| match value {
                Some(Ok(value)) => Some((variable.name.as_str(), value.clone())),
                _ => None,
            });
        let map = program::cel_map(preset.chain(computed));
        self.context.add_variable_from_value("variables", map);
        self.stale = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn variables(sources: &[(&str, &str)]) -> Vec<Variable> {
        sources
            .iter()
            .map(|(name, source)| Variable {
                name: name.to_string(),
                program: program::compile(source, &Limits::default()).unwrap(),
            })
            .collect()
    }

    #[test]
    fn variables_see_earlier_ones_and_errors_name_the_variable() {
        let vars = variables(&[
            ("a", "2"),
            ("b", "variables.a * 3"),
            ("bad", "1 / 0"),
            ("c", "variables.bad + 1"),
        ]);
        let budget = Budget::start(&Limits::default());
        let mut session = Session::new(&budget, vec![], &vars, vec![]);
        let compile = |s: &str| program::compile(s, &Limits::default()).unwrap();
        assert_eq!(session.run(&compile("variables.b")), Ok(Value::Int(6)));
        let error = session.run(&compile("variables.c > 0")).unwrap_err();
        assert!(
            matches!(&error, Failure::Error(e) if e.starts_with("variables.c: variables.bad: ")),
            "{error:?}"
        );
        // A failing variable nobody reads does not matter; short-circuits skip it.
        assert_eq!(
            session.run(&compile("true || variables.bad > 0")),
            Ok(Value::Bool(true))
        );
        assert_eq!(session.values.iter().filter(|v| v.is_some()).count(), 4);
    }

    #[test]
    fn unread_variables_are_not_computed() {
        let vars = variables(&[("a", "1"), ("unused", "2")]);
        let budget = Budget::start(&Limits::default());
        let mut session = Session::new(&budget, vec![], &vars, vec![("p".into(), Value::Int(5))]);
        let program = program::compile("variables.a + variables.p", &Limits::default()).unwrap();
        assert_eq!(session.run(&program), Ok(Value::Int(6)));
        assert!(session.values[1].is_none());
    }
}
