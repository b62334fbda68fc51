//! Whether a version falls in an OSV `affected` entry: its explicit `versions` list or one of
//! its `ranges`, read as the OSV schema's evaluation algorithm says (events sorted by version,
//! `introduced` opens, `fixed` and `limit` close before, `last_affected` closes after).

use moat_version::{compare, Ecosystem, VersionError};
use moat_vulndb::osv::{Affected, Event, Range};
use std::cmp::Ordering;

/// How a version was found to be affected, and the fix that ends its range (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeHit {
    /// The range or list as written (`ECOSYSTEM: introduced 0, fixed 2.20.0`, `versions list`).
    pub description: String,
    /// The first `fixed` version above the installed one in that range.
    pub fixed: Option<String>,
}

/// A range the matcher could not evaluate (a version that does not parse in its scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeProblem {
    /// What is wrong.
    pub message: String,
}

/// The comparator for one range type in one OSV ecosystem: `SEMVER` ranges are semantic
/// versions (Go's with its toolchain rules), `ECOSYSTEM` ranges follow the ecosystem's scheme;
/// `None` for `GIT` ranges and ecosystems without a comparator.
pub fn scheme_for(range_kind: &str, ecosystem: &str) -> Option<Ecosystem> {
    let base = moat_vulndb::osv::split_ecosystem(ecosystem).0;
    match range_kind {
        "SEMVER" if base == "Go" => Some(Ecosystem::Go),
        "SEMVER" => Some(Ecosystem::Semver),
        "ECOSYSTEM" => base.parse().ok(),
        _ => None,
    }
}

/// Every way `version` is affected by `affected`; empty when it is not. Problems are ranges
/// that could not be read; the other ranges still count.
pub fn evaluate(
    affected: &Affected,
    version: &str,
    list_scheme: Option<Ecosystem>,
) -> (Vec<RangeHit>, Vec<RangeProblem>) {
    let mut hits = Vec::new();
    let mut problems = Vec::new();
    for range in &affected.ranges {
        let Some(scheme) = scheme_for(&range.kind, &affected.package.ecosystem) else {
            continue;
        };
        match evaluate_range(range, scheme, version) {
            Ok(Some(hit)) => hits.push(hit),
            Ok(None) => {}
            Err(error) => problems.push(RangeProblem {
                message: format!("{} range {}: {error}", range.kind, describe_events(&range.events)),
            }),
        }
    }
    // With ranges, the list is (by the OSV schema's intent) their enumeration: match it by
    // text only, which is cheap; without ranges it is all there is, so compare in the scheme.
    let list_scheme = list_scheme.filter(|_| affected.ranges.is_empty());
    if hits.is_empty() && in_versions_list(&affected.versions, version, list_scheme) {
        hits.push(RangeHit {
            description: "listed in versions".to_string(),
            fixed: None,
        });
    }
    (hits, problems)
}

/// True when `version` is in the `versions` list: by its text, or equal in the scheme
/// (`1.0` and `1.0.0` in PEP 440).
fn in_versions_list(versions: &[String], version: &str, scheme: Option<Ecosystem>) -> bool {
    let wanted = version.strip_prefix('v').unwrap_or(version);
    versions.iter().any(|listed| {
        let listed = listed.strip_prefix('v').unwrap_or(listed);
        listed == wanted
            || scheme
                .is_some_and(|scheme| compare(scheme, listed, wanted).is_ok_and(|o| o == Ordering::Equal))
    })
}

/// One event with the version it names, for sorting.
struct Point<'a> {
    kind: EventKind,
    version: &'a str,
}

/// Event kinds in the order the OSV algorithm takes them at the same version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    Introduced,
    LastAffected,
    Fixed,
    Limit,
}

fn points(events: &[Event]) -> Vec<Point<'_>> {
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let fields = [
            (EventKind::Introduced, &event.introduced),
            (EventKind::LastAffected, &event.last_affected),
            (EventKind::Fixed, &event.fixed),
            (EventKind::Limit, &event.limit),
        ];
        for (kind, value) in fields {
            if let Some(version) = value {
                out.push(Point {
                    kind,
                    version: version.as_str(),
                });
            }
        }
    }
    out
}

/// Compares two event versions; `0` (introduced from the beginning) is below everything.
fn compare_points(scheme: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match (a == "0", b == "0") {
        (true, true) => Ok(Ordering::Equal),
        (true, false) => Ok(Ordering::Less),
        (false, true) => Ok(Ordering::Greater),
        (false, false) => compare(scheme, strip_v(scheme, a), strip_v(scheme, b)),
    }
}

/// Semantic versions in OSV are written without `v`; installed Go module versions have one
/// (the Go scheme reads both).
fn strip_v(scheme: Ecosystem, version: &str) -> &str {
    match scheme {
        Ecosystem::Semver => version.strip_prefix('v').unwrap_or(version),
        _ => version,
    }
}

/// Whether `version` is inside `range`, following the OSV evaluation algorithm; the fix is
/// the first event above the version when that event is a `fixed` one.
fn evaluate_range(range: &Range, scheme: Ecosystem, version: &str) -> Result<Option<RangeHit>, VersionError> {
    let points = sorted_points(&range.events, scheme)?;
    let (bounds, limits): (Vec<&Point>, Vec<&Point>) =
        points.iter().partition(|point| point.kind != EventKind::Limit);
    let mut affected = false;
    let mut next_above = None;
    for point in bounds {
        let order = compare_points(scheme, version, point.version)?;
        match point.kind {
            EventKind::Introduced if order != Ordering::Less => affected = true,
            EventKind::Fixed if order != Ordering::Less => affected = false,
            EventKind::LastAffected if order == Ordering::Greater => affected = false,
            _ => {}
        }
        if order == Ordering::Less && next_above.is_none() {
            next_above = Some(point);
        }
    }
    if !affected || !below_some_limit(&limits, scheme, version)? {
        return Ok(None);
    }
    let fixed = next_above
        .filter(|point| point.kind == EventKind::Fixed)
        .map(|point| point.version.to_string());
    Ok(Some(RangeHit {
        description: format!("{}: {}", range.kind, describe_events(&range.events)),
        fixed,
    }))
}

/// The events sorted by version (`0` first; at equal versions introduced, last_affected, fixed).
fn sorted_points(events: &[Event], scheme: Ecosystem) -> Result<Vec<Point<'_>>, VersionError> {
    let mut points = points(events);
    for point in &points {
        compare_points(scheme, point.version, point.version)?;
    }
    // Every version parsed above, so the comparisons below cannot fail.
    insertion_sort_by(&mut points, |a, b| {
        compare_points(scheme, a.version, b.version)
            .unwrap_or(Ordering::Equal)
            .then(a.kind.cmp(&b.kind))
    });
    Ok(points)
}

/// Sorts by `compare` without relying on it being a total order: Maven's and PHP's pairwise
/// answers are not transitive, and the standard sorts may panic on such an order. Written by
/// hand (an insertion sort) because the lists are short: the events of one range, the fixed
/// versions of one finding.
pub(crate) fn insertion_sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    for end in 1..items.len() {
        let mut at = end;
        while at > 0 && compare(&items[at - 1], &items[at]) == Ordering::Greater {
            items.swap(at - 1, at);
            at -= 1;
        }
    }
}

/// With `limit` events, the version must be below one of them; without, any version is.
fn below_some_limit(limits: &[&Point], scheme: Ecosystem, version: &str) -> Result<bool, VersionError> {
    if limits.is_empty() {
        return Ok(true);
    }
    for limit in limits {
        if compare_points(scheme, version, limit.version)? == Ordering::Less {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `introduced 0, fixed 2.20.0` for a list of events.
pub fn describe_events(events: &[Event]) -> String {
    points(events)
        .iter()
        .map(|point| {
            let word = match point.kind {
                EventKind::Introduced => "introduced",
                EventKind::LastAffected => "last_affected",
                EventKind::Fixed => "fixed",
                EventKind::Limit => "limit",
            };
            format!("{word} {}", point.version)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_vulndb::osv::AffectedPackage;

    fn event(kind: &str, version: &str) -> Event {
        let mut event = Event {
            introduced: None,
            fixed: None,
            last_affected: None,
            limit: None,
        };
        let slot = match kind {
            "introduced" => &mut event.introduced,
            "fixed" => &mut event.fixed,
            "last_affected" => &mut event.last_affected,
            _ => &mut event.limit,
        };
        *slot = Some(version.to_string());
        event
    }

    fn affected(ecosystem: &str, kind: &str, events: &[(&str, &str)], versions: &[&str]) -> Affected {
        Affected {
            package: AffectedPackage {
                ecosystem: ecosystem.to_string(),
                name: "p".to_string(),
                purl: None,
            },
            ranges: vec![Range {
                kind: kind.to_string(),
                repo: None,
                events: events.iter().map(|(k, v)| event(k, v)).collect(),
            }],
            versions: versions.iter().map(|v| v.to_string()).collect(),
            severity: Vec::new(),
            ecosystem_specific: None,
            database_specific: None,
        }
    }

    fn fix_of(entry: &Affected, version: &str) -> Option<Option<String>> {
        let scheme = scheme_for("ECOSYSTEM", &entry.package.ecosystem);
        let (hits, problems) = evaluate(entry, version, scheme);
        assert!(problems.is_empty(), "{problems:?}");
        hits.first().map(|hit| hit.fixed.clone())
    }

    #[test]
    fn introduced_and_fixed_bound_a_half_open_range() {
        let entry = affected(
            "PyPI",
            "ECOSYSTEM",
            &[("introduced", "0"), ("fixed", "2.20.0")],
            &[],
        );
        assert_eq!(fix_of(&entry, "2.19.1"), Some(Some("2.20.0".to_string())));
        assert_eq!(fix_of(&entry, "2.20.0"), None);
        assert_eq!(fix_of(&entry, "2.20"), None, "PEP 440: 2.20 == 2.20.0");
        assert_eq!(fix_of(&entry, "0.1"), Some(Some("2.20.0".to_string())));
    }

    #[test]
    fn several_intervals_in_one_range_give_the_fix_of_their_own_interval() {
        let events = [
            ("introduced", "1.0.0"),
            ("fixed", "1.2.5"),
            ("introduced", "2.0.0"),
            ("fixed", "2.1.1"),
        ];
        let entry = affected("crates.io", "SEMVER", &events, &[]);
        let scheme = Some(Ecosystem::Semver);
        let fix = |v: &str| evaluate(&entry, v, scheme).0.first().map(|hit| hit.fixed.clone());
        assert_eq!(fix("0.9.0"), None);
        assert_eq!(fix("1.1.0"), Some(Some("1.2.5".to_string())));
        assert_eq!(fix("1.5.0"), None);
        assert_eq!(fix("2.0.0"), Some(Some("2.1.1".to_string())));
        assert_eq!(fix("2.1.1"), None);
    }

    #[test]
    fn events_out_of_order_are_sorted_first() {
        let events = [
            ("fixed", "1.2.5"),
            ("introduced", "2.0.0"),
            ("introduced", "1.0.0"),
            ("fixed", "2.1.1"),
        ];
        let entry = affected("npm", "SEMVER", &events, &[]);
        let (hits, _) = evaluate(&entry, "2.0.5", Some(Ecosystem::Semver));
        assert_eq!(hits[0].fixed.as_deref(), Some("2.1.1"));
    }

    #[test]
    fn last_affected_includes_its_version_and_gives_no_fix() {
        let entry = affected(
            "Debian:12",
            "ECOSYSTEM",
            &[("introduced", "0"), ("last_affected", "1.2-3")],
            &[],
        );
        assert_eq!(fix_of(&entry, "1.2-3"), Some(None));
        assert_eq!(fix_of(&entry, "1.2-3+b1"), None);
    }

    #[test]
    fn introduced_without_end_affects_every_later_version() {
        let entry = affected("Debian:10", "ECOSYSTEM", &[("introduced", "0")], &[]);
        assert_eq!(fix_of(&entry, "2.3.7-1+deb10u1"), Some(None));
    }

    #[test]
    fn go_ranges_compare_toolchains_and_module_versions() {
        let entry = affected(
            "Go",
            "SEMVER",
            &[("introduced", "1.19.0"), ("fixed", "1.19.9")],
            &[],
        );
        let (hits, problems) = evaluate(&entry, "1.19.8", None);
        assert!(problems.is_empty());
        assert_eq!(hits[0].fixed.as_deref(), Some("1.19.9"));
        let module = affected("Go", "SEMVER", &[("introduced", "0"), ("fixed", "0.7.0")], &[]);
        assert_eq!(evaluate(&module, "v0.6.0", None).0.len(), 1);
        assert!(evaluate(&module, "v0.7.0", None).0.is_empty());
    }

    #[test]
    fn limits_cap_the_range() {
        let entry = affected("npm", "SEMVER", &[("introduced", "0"), ("limit", "3.0.0")], &[]);
        assert_eq!(evaluate(&entry, "2.9.9", Some(Ecosystem::Semver)).0.len(), 1);
        assert!(evaluate(&entry, "3.0.0", Some(Ecosystem::Semver)).0.is_empty());
    }

    #[test]
    fn explicit_versions_match_by_text_or_equality() {
        let entry = Affected {
            ranges: Vec::new(),
            ..affected("PyPI", "ECOSYSTEM", &[], &["1.0.1", "2.0"])
        };
        assert_eq!(fix_of(&entry, "1.0.1"), Some(None));
        assert_eq!(fix_of(&entry, "2.0.0"), Some(None));
        assert_eq!(fix_of(&entry, "1.0.2"), None);
    }

    #[test]
    fn unreadable_versions_are_problems_not_matches() {
        let entry = affected(
            "crates.io",
            "SEMVER",
            &[("introduced", "0"), ("fixed", "not a version")],
            &[],
        );
        let (hits, problems) = evaluate(&entry, "1.0.0", Some(Ecosystem::Semver));
        assert!(hits.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("not a version"), "{problems:?}");
    }

    #[test]
    fn sorting_survives_a_cyclic_order() {
        // Rock, paper, scissors: no total order, and no panic either.
        let beats = |a: &u8, b: &u8| match (a, b) {
            _ if a == b => Ordering::Equal,
            (0, 2) | (1, 0) | (2, 1) => Ordering::Greater,
            _ => Ordering::Less,
        };
        let mut items = vec![2, 0, 1, 2, 1, 0, 0, 2];
        insertion_sort_by(&mut items, beats);
        assert_eq!(items.len(), 8);
        let mut plain = vec![5, 3, 9, 1, 3];
        insertion_sort_by(&mut plain, |a, b| a.cmp(b));
        assert_eq!(plain, [1, 3, 3, 5, 9]);
    }

    #[test]
    fn git_ranges_are_not_version_matched() {
        let entry = affected(
            "crates.io",
            "GIT",
            &[("introduced", "0"), ("fixed", "abc123")],
            &[],
        );
        let (hits, problems) = evaluate(&entry, "1.0.0", Some(Ecosystem::Semver));
        assert!(hits.is_empty() && problems.is_empty());
    }
}
