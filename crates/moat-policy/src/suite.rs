//! Gatekeeper test suites (`suite.yaml`, `test.gatekeeper.sh/v1alpha1`), run the way
//! `gator verify` runs them: each test loads a template and a constraint, each case reviews an
//! object (with inventory objects given as files) and checks its assertions.

use crate::{Inventory, Limits, PolicySet, Review};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A suite file that cannot be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SuiteError {
    /// The suite file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuiteFile {
    kind: String,
    #[serde(default)]
    tests: Vec<TestSpec>,
}

#[derive(Debug, Deserialize)]
struct TestSpec {
    name: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    constraint: String,
    #[serde(default)]
    cases: Vec<CaseSpec>,
    #[serde(default)]
    skip: bool,
}

#[derive(Debug, Deserialize)]
struct CaseSpec {
    name: String,
    object: String,
    #[serde(default)]
    inventory: Vec<String>,
    #[serde(default)]
    assertions: Vec<Assertion>,
    #[serde(default)]
    skip: bool,
}

/// One `assertions` entry: how many violations (whose message matches `message`, when given)
/// the case must produce.
#[derive(Debug, Clone, Deserialize)]
pub struct Assertion {
    /// `yes` (at least one, the default), `no` (none), or an exact count.
    #[serde(default)]
    pub violations: Option<Value>,
    /// A regular expression the counted messages must match.
    #[serde(default)]
    pub message: Option<String>,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// `None` when it passed (or was skipped), else why it failed.
    pub failure: Option<String>,
    /// Whether the suite marked it `skip`.
    pub skipped: bool,
}

/// How one test (template + constraint) went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The test name.
    pub name: String,
    /// An error loading the template or constraint, which fails every case.
    pub error: Option<String>,
    /// Its cases.
    pub cases: Vec<CaseResult>,
    /// Whether the suite marked it `skip`.
    pub skipped: bool,
}

/// How one suite file went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    /// The suite file.
    pub path: PathBuf,
    /// Its tests.
    pub tests: Vec<TestResult>,
}

impl SuiteResult {
    /// Whether every test loaded and every case that ran passed.
    pub fn passed(&self) -> bool {
        self.tests
            .iter()
            .all(|t| t.error.is_none() && t.cases.iter().all(|c| c.failure.is_none()))
    }

    /// (passed, failed, skipped) case counts.
    pub fn counts(&self) -> (usize, usize, usize) {
        let cases = self.tests.iter().flat_map(|t| &t.cases);
        cases.fold((0, 0, 0), |(pass, fail, skip), case| {
            match (case.skipped, &case.failure) {
                (true, _) => (pass, fail, skip + 1),
                (false, None) => (pass + 1, fail, skip),
                (false, Some(_)) => (pass, fail + 1, skip),
            }
        })
    }
}

/// The suite files under `path`: the file itself, or every `suite.yaml` below a directory, in
/// path order.
pub fn find_suites(path: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|err| SuiteError {
            path: dir.display().to_string(),
            message: err.to_string(),
        })?;
        for entry in entries.filter_map(Result::ok) {
            let entry = entry.path();
            if crate::set::is_symlinked_dir(&entry) {
                continue;
            }
            if entry.is_dir() {
                pending.push(entry);
            } else if entry
                .file_name()
                .is_some_and(|n| n == "suite.yaml" || n == "suite.yml")
            {
                found.push(entry);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Runs one suite file. Paths inside it are relative to its directory.
pub fn run_suite(path: &Path, limits: Limits) -> Result<SuiteResult, SuiteError> {
    let error = |message: String| SuiteError {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|err| error(err.to_string()))?;
    let suite: SuiteFile = serde_saphyr::from_str(&text).map_err(|err| error(err.to_string()))?;
    if suite.kind != "Suite" {
        return Err(error(format!("kind is {:?}, not Suite", suite.kind)));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let tests = suite
        .tests
        .iter()
        .map(|test| run_test(test, base, limits))
        .collect();
    Ok(SuiteResult {
        path: path.to_path_buf(),
        tests,
    })
}

fn run_test(test: &TestSpec, base: &Path, limits: Limits) -> TestResult {
    let mut result = TestResult {
        name: test.name.clone(),
        error: None,
        cases: Vec::new(),
        skipped: test.skip,
    };
    if test.skip {
        return result;
    }
    let files = [base.join(&test.template), base.join(&test.constraint)];
    let policies = match PolicySet::load(&files, limits) {
        Ok(policies) => policies,
        Err(errors) => {
            let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
            result.error = Some(messages.join("; "));
            return result;
        }
    };
    result.cases = test
        .cases
        .iter()
        .map(|case| CaseResult {
            name: case.name.clone(),
            skipped: case.skip,
            failure: if case.skip {
                None
            } else {
                run_case(case, base, &policies).err()
            },
        })
        .collect();
    result
}

fn run_case(case: &CaseSpec, base: &Path, policies: &PolicySet) -> Result<(), String> {
    let object = read_single_object(&base.join(&case.object))?;
    let review = if object.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        let request = object
            .get("request")
            .ok_or("the AdmissionReview has no request")?;
        Review::from_admission_request(request).map_err(|err| err.to_string())?
    } else {
        Review::from_object(object).map_err(|err| err.to_string())?
    };
    let mut inventory = policies.inventory().clone();
    for file in &case.inventory {
        for object in read_objects(&base.join(file))? {
            inventory.add(object);
        }
    }
    let evaluation = policies.evaluate(&review, &inventory);
    if let Some(err) = evaluation.errors.first() {
        return Err(format!("evaluation failed: {err}"));
    }
    let messages: Vec<&str> = evaluation.violations.iter().map(|v| v.message.as_str()).collect();
    for assertion in &case.assertions {
        check_assertion(assertion, &messages)?;
    }
    Ok(())
}

/// Checks one assertion against the violation messages of a case.
pub fn check_assertion(assertion: &Assertion, messages: &[&str]) -> Result<(), String> {
    let matching = match &assertion.message {
        Some(pattern) => {
            let regex =
                regex::Regex::new(pattern).map_err(|err| format!("assertion message {pattern:?}: {err}"))?;
            messages.iter().filter(|m| regex.is_match(m)).count()
        }
        None => messages.len(),
    };
    let about = assertion
        .message
        .as_ref()
        .map(|m| format!(" matching {m:?}"))
        .unwrap_or_default();
    let expect = |holds: bool, wanted: &str| {
        if holds {
            Ok(())
        } else {
            Err(format!(
                "got {matching} violations{about}, want {wanted} (messages: {messages:?})"
            ))
        }
    };
    match &assertion.violations {
        None | Some(Value::Bool(true)) => expect(matching > 0, "at least 1"),
        Some(Value::String(text)) if text == "yes" => expect(matching > 0, "at least 1"),
        Some(Value::String(text)) if text == "no" => expect(matching == 0, "0"),
        Some(Value::Bool(false)) => expect(matching == 0, "0"),
        Some(value) => {
            let wanted = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| format!("assertion violations {value} is not yes, no or a count"))?;
            expect(matching as u64 == wanted, &wanted.to_string())
        }
    }
}

fn read_objects(path: &Path) -> Result<Vec<Value>, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| format!("{shown}: {err}"))?;
    let (objects, errors) = crate::set::read_objects(&shown, &text);
    if let Some(err) = errors.first() {
        return Err(err.to_string());
    }
    Ok(objects.into_iter().map(|(object, _)| object).collect())
}

fn read_single_object(path: &Path) -> Result<Value, String> {
    let mut objects = read_objects(path)?;
    match objects.len() {
        1 => Ok(objects.remove(0)),
        n => Err(format!(
            "{}: holds {n} objects, a case needs exactly 1",
            path.display()
        )),
    }
}

/// Runs every suite under `paths` (files or directories).
pub fn run_all(paths: &[PathBuf], limits: Limits) -> Result<Vec<SuiteResult>, SuiteError> {
    let mut results = Vec::new();
    for path in paths {
        for suite in find_suites(path)? {
            results.push(run_suite(&suite, limits)?);
        }
    }
    Ok(results)
}

/// An inventory of the objects in these files (for `moat policy eval --inventory`).
pub fn inventory_from_files(paths: &[PathBuf]) -> Result<Inventory, String> {
    let mut inventory = Inventory::new();
    for path in paths {
        for object in read_objects(path)? {
            inventory.add(object);
        }
    }
    Ok(inventory)
}
