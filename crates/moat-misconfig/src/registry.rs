//! The one list of every misconfiguration check Moat runs.

use crate::{dockerfile, image, kubernetes};
use moat_core::CheckInfo;

/// Every check, Dockerfile first, then image config, then Kubernetes, each group in id order.
pub fn all_checks() -> Vec<&'static CheckInfo> {
    let mut checks: Vec<&'static CheckInfo> = Vec::new();
    checks.extend(dockerfile::CHECKS.iter());
    checks.extend(image::CHECKS.iter());
    checks.extend(kubernetes::checks());
    checks
}

/// The check with this id (ids are case-sensitive, as written in `moat checks list`).
pub fn find_check(id: &str) -> Option<&'static CheckInfo> {
    all_checks().into_iter().find(|check| check.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_every_check_is_described() {
        let checks = all_checks();
        let ids: BTreeSet<&str> = checks.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), checks.len(), "duplicate check ids");
        for check in checks {
            assert!(!check.title.is_empty(), "{} has no title", check.id);
            assert!(!check.remediation.is_empty(), "{} has no remediation", check.id);
            assert!(!check.description.is_empty(), "{} has no description", check.id);
        }
    }
}
