//! Checks on imported records: an id, known ecosystems, readable and possible ranges. A record
//! that fails is reported and left out; an `affected` entry with an unknown ecosystem is
//! dropped from its record (and reported), the rest of the record is kept.

use crate::osv::{split_ecosystem, Affected, Range, Record};
use moat_version::Ecosystem;
use std::cmp::Ordering;

/// The ecosystem names of the OSV schema's list (the part before any `:release` suffix).
const OSV_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpaquita",
    "Alpine",
    "Android",
    "Azure Linux",
    "BellSoft Hardened Containers",
    "Bioconductor",
    "Bitnami",
    "Chainguard",
    "CleanStart",
    "ConanCenter",
    "CRAN",
    "crates.io",
    "Debian",
    "Docker Hardened Images",
    "Echo",
    "FreeBSD",
    "GHC",
    "GIT",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Julia",
    "Kubernetes",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "npm",
    "NuGet",
    "opam",
    "openEuler",
    "openSUSE",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "Root",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "TuxCare",
    "Ubuntu",
    "VSCode",
    "Wolfi",
];

/// Whether `ecosystem` (with or without a `:release` suffix) is one the OSV schema names.
pub fn is_known_ecosystem(ecosystem: &str) -> bool {
    OSV_ECOSYSTEMS.contains(&split_ecosystem(ecosystem).0)
}

/// Checks `record`: drops `affected` entries with unknown ecosystems (each reported in
/// `dropped`) and returns why the record cannot be used, if it cannot.
pub fn check(record: &mut Record, dropped: &mut Vec<String>) -> Result<(), String> {
    if record.id.trim().is_empty() {
        return Err("record has no id".to_string());
    }
    record.affected.retain(|affected| {
        let known = is_known_ecosystem(&affected.package.ecosystem);
        if !known {
            dropped.push(format!(
                "unknown ecosystem {:?} for package {:?}: that affected entry is skipped, the rest of the record is kept",
                affected.package.ecosystem, affected.package.name
            ));
        }
        known
    });
    record.affected.iter().try_for_each(check_ranges)
}

fn check_ranges(affected: &Affected) -> Result<(), String> {
    for range in &affected.ranges {
        let scheme = match range.kind.as_str() {
            "GIT" => continue,
            "SEMVER" if split_ecosystem(&affected.package.ecosystem).0 == "Go" => Some(Ecosystem::Go),
            "SEMVER" => Some(Ecosystem::Semver),
            "ECOSYSTEM" => affected.package.ecosystem.parse::<Ecosystem>().ok(),
            other => return Err(format!("{}: unknown range type {other:?}", affected.package.name)),
        };
        if !range.events.iter().any(|e| e.introduced.is_some()) {
            return Err(format!(
                "{} range for {} has no introduced event",
                range.kind, affected.package.name
            ));
        }
        if let Some(scheme) = scheme {
            check_order(&affected.package.name, range, scheme)?;
        }
    }
    Ok(())
}

/// Every version reads in the scheme, and no `fixed` or `last_affected` is below the
/// `introduced` before it.
fn check_order(name: &str, range: &Range, scheme: Ecosystem) -> Result<(), String> {
    let compare = |a: &str, b: &str| moat_version::compare(scheme, a, b).map_err(|e| format!("{name}: {e}"));
    let mut introduced: Option<&str> = None;
    for event in &range.events {
        if let Some(version) = event.introduced.as_deref() {
            if version != "0" {
                compare(version, version)?;
            }
            introduced = Some(version).filter(|v| *v != "0");
        }
        if let Some(limit) = event.limit.as_deref().filter(|v| *v != "*") {
            compare(limit, limit)?;
        }
        let ends = [("fixed", &event.fixed), ("last_affected", &event.last_affected)];
        for (kind, end) in ends
            .iter()
            .filter_map(|(kind, end)| Some((kind, end.as_deref()?)))
        {
            compare(end, end)?;
            if let Some(low) = introduced {
                if compare(end, low)? == Ordering::Less {
                    return Err(format!(
                        "{name}: impossible range, {kind} {end} is below introduced {low}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: serde_json::Value) -> Record {
        serde_json::from_value(json).expect("record")
    }

    fn one_range(ecosystem: &str, kind: &str, events: serde_json::Value) -> Record {
        record(
            serde_json::json!({"id": "X-1", "affected": [{"package": {"ecosystem": ecosystem, "name": "p"},
            "ranges": [{"type": kind, "events": events}]}]}),
        )
    }

    fn checked(mut record: Record) -> Result<(), String> {
        check(&mut record, &mut Vec::new())
    }

    #[test]
    fn impossible_and_unreadable_ranges_are_errors() {
        let backwards = one_range(
            "PyPI",
            "ECOSYSTEM",
            serde_json::json!([{"introduced": "2.0"}, {"fixed": "1.0"}]),
        );
        let error = checked(backwards).expect_err("fixed below introduced");
        assert!(
            error.contains("impossible range, fixed 1.0 is below introduced 2.0"),
            "{error}"
        );
        let last = one_range(
            "Debian:12",
            "ECOSYSTEM",
            serde_json::json!([{"introduced": "1:2.0-1"}, {"last_affected": "1.0-1"}]),
        );
        assert!(checked(last)
            .expect_err("last_affected below")
            .contains("last_affected"));
        let unreadable = one_range(
            "crates.io",
            "SEMVER",
            serde_json::json!([{"introduced": "0"}, {"fixed": "one"}]),
        );
        assert!(checked(unreadable).expect_err("not semver").contains("one"));
        let no_start = one_range("npm", "SEMVER", serde_json::json!([{"fixed": "1.0.0"}]));
        assert!(checked(no_start)
            .expect_err("no introduced")
            .contains("no introduced event"));
        let odd_kind = one_range("npm", "DATE", serde_json::json!([{"introduced": "0"}]));
        assert!(checked(odd_kind).is_err());
    }

    #[test]
    fn good_ranges_pass_and_unknown_schemes_are_not_compared() {
        let go = one_range(
            "Go",
            "SEMVER",
            serde_json::json!([{"introduced": "0"}, {"fixed": "1.20.5"}, {"introduced": "1.21.0-0"}, {"fixed": "1.21.1"}]),
        );
        assert_eq!(checked(go), Ok(()));
        let git = one_range("PyPI", "GIT", serde_json::json!([{"fixed": "abc123"}]));
        assert_eq!(checked(git), Ok(()));
        let limit = one_range(
            "npm",
            "SEMVER",
            serde_json::json!([{"introduced": "0"}, {"limit": "*"}]),
        );
        assert_eq!(checked(limit), Ok(()));
        let hackage = one_range(
            "Hackage",
            "ECOSYSTEM",
            serde_json::json!([{"introduced": "z"}, {"fixed": "a"}]),
        );
        assert_eq!(
            checked(hackage),
            Ok(()),
            "no comparator for Hackage: order not checked"
        );
        assert!(checked(record(serde_json::json!({"id": " "}))).is_err());
    }

    #[test]
    fn unknown_ecosystems_are_dropped_and_reported() {
        let mut mixed = record(serde_json::json!({"id": "X-4", "affected": [
            {"package": {"ecosystem": "Foo", "name": "p"}},
            {"package": {"ecosystem": "Debian:12", "name": "p"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}));
        let mut dropped = Vec::new();
        check(&mut mixed, &mut dropped).expect("the Debian entry is fine");
        assert_eq!(mixed.affected.len(), 1);
        assert_eq!(dropped.len(), 1);
        assert!(dropped[0].contains("\"Foo\"") && dropped[0].contains("affected entry is skipped"));
        assert!(
            is_known_ecosystem("Ubuntu:22.04:LTS") && is_known_ecosystem("Red Hat:rhel_aus:8.4::appstream")
        );
        assert!(!is_known_ecosystem("pypi") && !is_known_ecosystem(""));
    }
}
