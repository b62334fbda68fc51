//! The Gatekeeper library's own test suites (`conformance/gatekeeper/general/*/suite.yaml`), run
//! the way `gator verify` runs them: every case of every suite must pass.

use moat_policy::suite::run_all;
use moat_policy::Limits;
use moat_testkit::shared;

#[test]
fn every_gatekeeper_library_suite_passes() {
    let Some(root) = shared::shared_dir() else {
        return;
    };
    let general = root.join("conformance/gatekeeper/general");
    assert!(
        general.is_dir(),
        "shared suites {} are missing",
        general.display()
    );
    let results = run_all(&[general], Limits::default()).expect("the suites are readable");
    assert_eq!(
        results.len(),
        30,
        "30 suites under conformance/gatekeeper/general"
    );
    let mut failures = Vec::new();
    let mut cases = 0;
    for suite in &results {
        for test in &suite.tests {
            if let Some(err) = &test.error {
                failures.push(format!("{} / {}: {err}", suite.path.display(), test.name));
            }
            for case in &test.cases {
                cases += 1;
                if let Some(failure) = &case.failure {
                    failures.push(format!(
                        "{} / {} / {}: {failure}",
                        suite.path.display(),
                        test.name,
                        case.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases, 130, "every case of every suite ran");
}
