//! A set of policies of every engine, loaded from files and evaluated together.

use crate::builtin::{BuiltinPolicy, DigestResolver};
use crate::cel::{PolicyBinding, ValidatingPolicy};
use crate::gatekeeper::{self, Constraint, Origin, Template};
use crate::{Evaluation, Inventory, Limits, PolicyError, Review};
use moat_misconfig::kubernetes::manifest;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest policy file read, in bytes.
const MAX_FILE_BYTES: u64 = 8 << 20;

/// What one document of a policy file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDocument {
    /// A Gatekeeper `ConstraintTemplate`.
    Template,
    /// A Gatekeeper constraint.
    Constraint,
    /// A `ValidatingAdmissionPolicy`.
    ValidatingPolicy,
    /// A `ValidatingAdmissionPolicyBinding`.
    Binding,
    /// A Moat built-in policy (`MoatPolicy`).
    Builtin,
    /// Any other object: kept in the set's inventory (namespaces, params).
    Object,
}

impl PolicyDocument {
    /// Classifies an object by its `apiVersion` and `kind`.
    pub fn of(object: &Value) -> PolicyDocument {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if gatekeeper::is_template(object) {
            PolicyDocument::Template
        } else if gatekeeper::is_constraint(object) {
            PolicyDocument::Constraint
        } else if api_version.starts_with("admissionregistration.k8s.io/") {
            match kind {
                "ValidatingAdmissionPolicy" => PolicyDocument::ValidatingPolicy,
                "ValidatingAdmissionPolicyBinding" => PolicyDocument::Binding,
                _ => PolicyDocument::Object,
            }
        } else if crate::builtin::is_builtin(object) {
            PolicyDocument::Builtin
        } else {
            PolicyDocument::Object
        }
    }
}

/// How many policies of each engine a set holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicySummary {
    /// ConstraintTemplates.
    pub templates: usize,
    /// Gatekeeper constraints.
    pub constraints: usize,
    /// ValidatingAdmissionPolicies.
    pub validating_policies: usize,
    /// Their bindings.
    pub bindings: usize,
    /// Moat built-in validating policies.
    pub builtins: usize,
    /// Moat built-in mutating policies.
    pub mutations: usize,
}

impl fmt::Display for PolicySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} templates, {} constraints, {} validating admission policies, {} bindings, {} built-in policies, {} mutations",
            self.templates, self.constraints, self.validating_policies, self.bindings, self.builtins, self.mutations
        )
    }
}

/// Policies of every engine, ready to evaluate concurrently.
#[derive(Default)]
pub struct PolicySet {
    templates: BTreeMap<String, Arc<Template>>,
    constraints: Vec<Constraint>,
    validating: BTreeMap<String, ValidatingPolicy>,
    bindings: Vec<PolicyBinding>,
    builtins: Vec<BuiltinPolicy>,
    inventory: Inventory,
    limits: Limits,
    resolver: Option<Arc<dyn DigestResolver>>,
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field("summary", &self.summary())
            .finish()
    }
}

/// One document read from a file, with where it starts.
struct Document {
    value: Value,
    path: String,
    line: u32,
}

impl PolicySet {
    /// An empty set with these limits.
    pub fn new(limits: Limits) -> PolicySet {
        PolicySet {
            limits,
            ..PolicySet::default()
        }
    }

    /// Loads every `.yaml`, `.yml` and `.json` file under `paths` (files or directories, walked
    /// in name order). All errors are returned together, each naming file, line and policy.
    pub fn load(paths: &[PathBuf], limits: Limits) -> Result<PolicySet, Vec<PolicyError>> {
        let mut documents = Vec::new();
        let mut errors = Vec::new();
        for file in policy_files(paths)? {
            read_file(&file, &mut documents, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        PolicySet::from_documents(documents, limits)
    }

    /// Loads policies from the text of one file; `path` names it in errors.
    pub fn from_text(path: &str, text: &str, limits: Limits) -> Result<PolicySet, Vec<PolicyError>> {
        let mut documents = Vec::new();
        let mut errors = Vec::new();
        read_text(path, text, &mut documents, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        PolicySet::from_documents(documents, limits)
    }

    fn from_documents(documents: Vec<Document>, limits: Limits) -> Result<PolicySet, Vec<PolicyError>> {
        let mut set = PolicySet::new(limits);
        let mut errors = Vec::new();
        let mut pending_constraints = Vec::new();
        // Templates first, so constraints and bindings can be checked against what exists.
        for document in &documents {
            let origin = Origin {
                path: &document.path,
                line: document.line,
            };
            let result = match PolicyDocument::of(&document.value) {
                PolicyDocument::Template => set.add_template(&document.value, origin),
                PolicyDocument::ValidatingPolicy => set.add_validating(&document.value, origin),
                PolicyDocument::Builtin => set.add_builtin(&document.value, origin),
                PolicyDocument::Constraint | PolicyDocument::Binding => {
                    pending_constraints.push(document);
                    Ok(())
                }
                PolicyDocument::Object => {
                    set.inventory.add(document.value.clone());
                    Ok(())
                }
            };
            if let Err(err) = result {
                errors.push(err);
            }
        }
        for document in pending_constraints {
            let origin = Origin {
                path: &document.path,
                line: document.line,
            };
            let result = if PolicyDocument::of(&document.value) == PolicyDocument::Constraint {
                set.add_constraint(&document.value, origin)
            } else {
                set.add_binding(&document.value, origin)
            };
            if let Err(err) = result {
                errors.push(err);
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    fn add_template(&mut self, object: &Value, origin: Origin) -> Result<(), PolicyError> {
        let template = Template::from_object(object, origin, &self.limits)?;
        if self.templates.contains_key(template.kind()) {
            return Err(PolicyError::new(
                origin.path,
                origin.line,
                format!("ConstraintTemplate {}", template.name()),
                format!("kind {} is already defined by another template", template.kind()),
            ));
        }
        self.templates
            .insert(template.kind().to_string(), Arc::new(template));
        Ok(())
    }

    fn add_constraint(&mut self, object: &Value, origin: Origin) -> Result<(), PolicyError> {
        let constraint = Constraint::from_object(object, origin)?;
        if !self.templates.contains_key(constraint.kind()) {
            return Err(PolicyError::new(
                origin.path,
                origin.line,
                constraint.label(),
                format!("no ConstraintTemplate defines kind {}", constraint.kind()),
            ));
        }
        self.constraints.push(constraint);
        Ok(())
    }

    fn add_validating(&mut self, object: &Value, origin: Origin) -> Result<(), PolicyError> {
        let policy = ValidatingPolicy::from_object(object, origin.path, origin.line, &self.limits)?;
        self.validating.insert(policy.name().to_string(), policy);
        Ok(())
    }

    fn add_binding(&mut self, object: &Value, origin: Origin) -> Result<(), PolicyError> {
        let binding = PolicyBinding::from_object(object, origin.path, origin.line)?;
        if !self.validating.contains_key(binding.policy_name()) {
            return Err(PolicyError::new(
                origin.path,
                origin.line,
                format!("ValidatingAdmissionPolicyBinding {}", binding.name()),
                format!("no ValidatingAdmissionPolicy named {}", binding.policy_name()),
            ));
        }
        self.bindings.push(binding);
        Ok(())
    }

    fn add_builtin(&mut self, object: &Value, origin: Origin) -> Result<(), PolicyError> {
        self.builtins
            .push(BuiltinPolicy::from_object(object, origin.path, origin.line)?);
        Ok(())
    }

    /// Adds the built-in policies of another set (used for built-ins given on a command line).
    pub fn add_builtin_policy(&mut self, policy: BuiltinPolicy) {
        self.builtins.push(policy);
    }

    /// Uses `resolver` for built-in policies that need image digests from a registry.
    pub fn with_digest_resolver(mut self, resolver: Arc<dyn DigestResolver>) -> PolicySet {
        self.resolver = Some(resolver);
        self
    }

    /// Objects in the policy files that are not policies (namespaces, params).
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The limits every evaluation runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many policies of each kind the set holds.
    pub fn summary(&self) -> PolicySummary {
        let mutations = self.builtins.iter().filter(|b| b.is_mutating()).count();
        PolicySummary {
            templates: self.templates.len(),
            constraints: self.constraints.len(),
            validating_policies: self.validating.len(),
            bindings: self.bindings.len(),
            builtins: self.builtins.len() - mutations,
            mutations,
        }
    }

    /// Every validating policy against one review: violations in policy order, and the policies
    /// that failed to evaluate. Reviews over the object limits fail as a whole.
    pub fn evaluate(&self, review: &Review, inventory: &Inventory) -> Evaluation {
        let mut evaluation = Evaluation::default();
        if let Err(err) = crate::limits::check_object(&review.object, &self.limits) {
            evaluation.errors.push(err);
            return evaluation;
        }
        for builtin in self.builtins.iter().filter(|b| !b.is_mutating()) {
            evaluation.violations.extend(builtin.evaluate(review, inventory));
        }
        let input = gatekeeper::ReviewInput::new(review);
        for constraint in &self.constraints {
            let Some(template) = self.templates.get(constraint.kind()) else {
                continue;
            };
            match constraint.evaluate_input(template, &input, inventory, &self.limits) {
                Ok(violations) => evaluation.violations.extend(violations),
                Err(err) => evaluation.errors.push(err),
            }
        }
        for binding in &self.bindings {
            let Some(policy) = self.validating.get(binding.policy_name()) else {
                continue;
            };
            match crate::cel::evaluate(policy, binding, review, inventory, &self.limits) {
                Ok(violations) => evaluation.violations.extend(violations),
                Err(err) => evaluation.errors.push(err),
            }
        }
        evaluation
    }

    /// Every mutating built-in against one review: the JSON patches to apply, in policy order.
    pub fn mutate(&self, review: &Review, inventory: &Inventory) -> Evaluation {
        let mut evaluation = Evaluation::default();
        if let Err(err) = crate::limits::check_object(&review.object, &self.limits) {
            evaluation.errors.push(err);
            return evaluation;
        }
        for builtin in self.builtins.iter().filter(|b| b.is_mutating()) {
            match builtin.mutate(review, inventory, self.resolver.as_deref()) {
                Ok(patches) => evaluation.patches.extend(patches),
                Err(err) => evaluation.errors.push(err),
            }
        }
        evaluation
    }
}

/// The policy files under `paths`: files as given, and every `.yaml`, `.yml` and `.json` file
/// below a directory, in name order. Hidden entries and links to directories are skipped: a
/// Kubernetes ConfigMap volume holds every file twice, under `..data/` and a `..<timestamp>/`
/// directory, and a link could lead back up the tree.
pub fn policy_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<PolicyError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut errors);
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<PolicyError>) {
    let cannot = |what: &str, err: std::io::Error| {
        PolicyError::new(
            path.display().to_string(),
            0,
            "-",
            format!("cannot {what}: {err}"),
        )
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) => return errors.push(cannot("read", err)),
    };
    if !metadata.is_dir() {
        return files.push(path.to_path_buf());
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(err) => return errors.push(cannot("list", err)),
    };
    entries.sort();
    let visible = entries.into_iter().filter(|e| {
        !e.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    for entry in visible {
        if is_symlinked_dir(&entry) {
            continue;
        }
        if entry.is_dir() || is_policy_file(&entry) {
            collect_files(&entry, files, errors);
        }
    }
}

/// A symbolic link to a directory, which walks never follow (a link to an ancestor would loop).
pub(crate) fn is_symlinked_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) && path.is_dir()
}

fn read_file(path: &Path, documents: &mut Vec<Document>, errors: &mut Vec<PolicyError>) {
    let shown = path.display().to_string();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return errors.push(PolicyError::new(
            shown,
            0,
            "-",
            format!("the file is {size} bytes, over the limit of {MAX_FILE_BYTES}"),
        ));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => read_text(&shown, &text, documents, errors),
        Err(err) => errors.push(PolicyError::new(shown, 0, "-", format!("cannot read: {err}"))),
    }
}

fn is_policy_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Reads the Kubernetes objects of one file; syntax errors name the file and line.
fn read_text(path: &str, text: &str, documents: &mut Vec<Document>, errors: &mut Vec<PolicyError>) {
    let (objects, problems) = read_objects(path, text);
    errors.extend(problems);
    documents.extend(objects.into_iter().map(|(value, line)| Document {
        value,
        path: path.to_string(),
        line,
    }));
}

/// Reads the objects of a manifest file, each with the line it starts on.
///
/// The line-tracking parser is tried first. Some files it refuses are valid for go-yaml, which
/// Kubernetes and Gatekeeper read YAML with (a quoted scalar continued at its key's indent, in
/// the Gatekeeper library itself); those are read again with a libyaml-based parser, and each
/// object's line is then the line its document starts on.
pub fn read_objects(path: &str, text: &str) -> (Vec<(Value, u32)>, Vec<PolicyError>) {
    let (resources, problems) = manifest::load(path, text);
    if problems.is_empty() {
        return (with_lines(resources), Vec::new());
    }
    if let Some(objects) = read_leniently(text) {
        return (objects, Vec::new());
    }
    let errors = problems
        .into_iter()
        .map(|p| PolicyError::new(p.path, p.line, "-", p.message))
        .collect();
    (with_lines(resources), errors)
}

/// Each resource's object with the line it starts on.
fn with_lines(resources: Vec<manifest::Resource>) -> Vec<(Value, u32)> {
    resources
        .into_iter()
        .map(|resource| {
            let line = resource.line();
            (resource.value, line)
        })
        .collect()
}

/// Every document as go-yaml would read it, or `None` when one of them is not valid YAML.
fn read_leniently(text: &str) -> Option<Vec<(Value, u32)>> {
    let starts = document_start_lines(text);
    let mut objects = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(document).ok()?;
        let line = starts.get(index).copied().unwrap_or(1);
        match value {
            Value::Null => {}
            Value::Object(_) if value.get("kind").and_then(Value::as_str) == Some("List") => {
                let items = value
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                objects.extend(items.into_iter().map(|item| (item, line)));
            }
            Value::Object(_) => objects.push((value, line)),
            _ => return None,
        }
    }
    Some(objects)
}

/// The first line of each YAML document: line 1, and the line after each `---` marker.
fn document_start_lines(text: &str) -> Vec<u32> {
    let mut starts = Vec::new();
    let mut pending = Some(1u32);
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        if line.starts_with("---") {
            if pending == Some(number) && number == 1 {
                pending = Some(2);
                continue;
            }
            starts.extend(pending.take());
            pending = Some(number + 1);
        }
    }
    starts.extend(pending);
    starts
}
