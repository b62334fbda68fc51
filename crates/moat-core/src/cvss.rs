//! CVSS base scores computed from vector strings: v2.0, v3.0, v3.1 and v4.0.
//!
//! Written here rather than taken from a crate because moat-core depends on serde only, and the
//! equations are short and fully given by FIRST's specifications (for v4.0 the macro-vector
//! table is data from the specification). Floating-point operations follow the order of FIRST's
//! reference calculators so that scores match them to the last tenth, ties included.
//!
//! ```
//! use moat_core::cvss::{score, CvssVersion};
//! use moat_core::Severity;
//!
//! let rated = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
//! assert_eq!(rated.version, CvssVersion::V3_1);
//! assert_eq!(rated.base_score, 9.8);
//! assert_eq!(rated.severity, Severity::Critical);
//! ```

use crate::Severity;
use std::fmt;

/// CVSS version of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvssVersion {
    /// CVSS v2.0: a vector without prefix that has an `Au:` metric.
    V2,
    /// CVSS v3.0: `CVSS:3.0/…`.
    V3_0,
    /// CVSS v3.1: `CVSS:3.1/…`.
    V3_1,
    /// CVSS v4.0: `CVSS:4.0/…`.
    V4_0,
}

impl CvssVersion {
    /// The version number as written in vectors and reports (`2.0`, `3.0`, `3.1`, `4.0`).
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The score of one vector: its version, its base score (0.0–10.0) and the rating of that score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvssScore {
    /// The version the vector was read as.
    pub version: CvssVersion,
    /// The base score, one decimal: for v4.0 the score of the vector as written (CVSS-B when it
    /// has base metrics only, CVSS-BT/BE/BTE when it also has threat or environmental metrics).
    pub base_score: f64,
    /// The qualitative rating of `base_score`.
    pub severity: Severity,
}

/// Why a vector could not be scored. Every variant but [`CvssError::Empty`] names the vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CvssError {
    /// The vector is empty or white space only.
    Empty,
    /// Neither a `CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/` prefix nor a v2 vector (with `Au:`).
    UnknownVersion {
        /// The vector as given.
        vector: String,
    },
    /// A part between slashes is not of the form `METRIC:VALUE`.
    MalformedPart {
        /// The vector as given.
        vector: String,
        /// The offending part.
        part: String,
    },
    /// A metric that the vector's version does not define.
    UnknownMetric {
        /// The vector as given.
        vector: String,
        /// The version the vector was read as.
        version: CvssVersion,
        /// The metric's name as written.
        metric: String,
    },
    /// A metric given twice.
    DuplicateMetric {
        /// The vector as given.
        vector: String,
        /// The repeated metric.
        metric: String,
    },
    /// A mandatory (base) metric is absent.
    MissingMetric {
        /// The vector as given.
        vector: String,
        /// The first mandatory metric missing.
        metric: &'static str,
    },
    /// A value the metric does not take.
    BadValue {
        /// The vector as given.
        vector: String,
        /// The metric.
        metric: &'static str,
        /// The value as written.
        value: String,
        /// The values the metric takes.
        allowed: &'static [&'static str],
    },
}

impl fmt::Display for CvssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CvssError::Empty => f.write_str("empty CVSS vector"),
            CvssError::UnknownVersion { vector } => write!(
                f,
                "CVSS vector {vector:?}: unknown version (expected a CVSS:3.0/, CVSS:3.1/ or \
                 CVSS:4.0/ prefix, or a v2 vector with an Au metric)"
            ),
            CvssError::MalformedPart { vector, part } => {
                write!(f, "CVSS vector {vector:?}: part {part:?} is not METRIC:VALUE")
            }
            CvssError::UnknownMetric {
                vector,
                version,
                metric,
            } => write!(
                f,
                "CVSS vector {vector:?}: unknown metric {metric:?} for CVSS {version}"
            ),
            CvssError::DuplicateMetric { vector, metric } => {
                write!(f, "CVSS vector {vector:?}: metric {metric} is given twice")
            }
            CvssError::MissingMetric { vector, metric } => {
                write!(f, "CVSS vector {vector:?}: mandatory metric {metric} is missing")
            }
            CvssError::BadValue {
                vector,
                metric,
                value,
                allowed,
            } => write!(
                f,
                "CVSS vector {vector:?}: metric {metric} has value {value:?} (expected one of {})",
                allowed.join(", ")
            ),
        }
    }
}

impl std::error::Error for CvssError {}

/// Scores a CVSS vector (`CVSS:3.1/AV:N/…`, `CVSS:4.0/AV:N/…`, or a v2 vector such as
/// `AV:N/AC:L/Au:N/C:P/I:P/A:P`, optionally in parentheses). Metrics may come in any order;
/// temporal, threat, environmental and supplemental metrics are checked for valid values.
///
/// The rating comes from [`Severity::from_cvss_score`]. CVSS v2 has no official rating bands of
/// its own in the v2 guide (NVD's were Low/Medium/High); the v3 bands are used for it too because
/// that is what Trivy and Grype show their users for v2 scores.
pub fn score(vector: &str) -> Result<CvssScore, CvssError> {
    let trimmed = vector.trim();
    if trimmed.is_empty() {
        return Err(CvssError::Empty);
    }
    let (version, body) = split_version(trimmed)?;
    let base_score = match version {
        CvssVersion::V2 => v2_base_score(&parse_metrics(trimmed, body, version, V2_METRICS)?),
        CvssVersion::V3_0 | CvssVersion::V3_1 => {
            v3_base_score(version, &parse_metrics(trimmed, body, version, V3_METRICS)?)
        }
        CvssVersion::V4_0 => v4_score(&parse_metrics(trimmed, body, version, V4_METRICS)?),
    };
    Ok(CvssScore {
        version,
        base_score,
        severity: Severity::from_cvss_score(base_score),
    })
}

// ---------------------------------------------------------------------------------------------
// Parsing, shared by all versions.

/// One metric a version defines: its name, the values it takes, and whether it must be present.
struct MetricDef {
    name: &'static str,
    values: &'static [&'static str],
    mandatory: bool,
}

const fn base(name: &'static str, values: &'static [&'static str]) -> MetricDef {
    MetricDef {
        name,
        values,
        mandatory: true,
    }
}

const fn optional(name: &'static str, values: &'static [&'static str]) -> MetricDef {
    MetricDef {
        name,
        values,
        mandatory: false,
    }
}

/// The metrics of one vector, each slot holding the (static) value given for that metric.
struct Metrics {
    defs: &'static [MetricDef],
    values: Vec<Option<&'static str>>,
}

impl Metrics {
    /// The value given for `name`, or `X` (Not Defined) when the vector leaves it out.
    fn get(&self, name: &str) -> &'static str {
        self.defs
            .iter()
            .zip(&self.values)
            .find(|(def, _)| def.name == name)
            .and_then(|(_, value)| *value)
            .unwrap_or("X")
    }
}

/// The version a vector is written in, and the metrics part after its prefix.
fn split_version(vector: &str) -> Result<(CvssVersion, &str), CvssError> {
    if vector.starts_with("CVSS:") {
        let (prefix, body) = vector.split_once('/').unwrap_or((vector, ""));
        let version = match prefix {
            "CVSS:3.0" => CvssVersion::V3_0,
            "CVSS:3.1" => CvssVersion::V3_1,
            "CVSS:4.0" => CvssVersion::V4_0,
            _ => return Err(unknown_version(vector)),
        };
        return Ok((version, body));
    }
    let body = vector
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(vector);
    if body.split('/').any(|part| part.starts_with("Au:")) {
        Ok((CvssVersion::V2, body))
    } else {
        Err(unknown_version(vector))
    }
}

fn unknown_version(vector: &str) -> CvssError {
    CvssError::UnknownVersion {
        vector: vector.to_string(),
    }
}

/// Reads `METRIC:VALUE/…` against the version's metric definitions.
fn parse_metrics(
    vector: &str,
    body: &str,
    version: CvssVersion,
    defs: &'static [MetricDef],
) -> Result<Metrics, CvssError> {
    let mut values: Vec<Option<&'static str>> = vec![None; defs.len()];
    let parts = body.split('/').filter(|_| !body.is_empty());
    for part in parts {
        let Some((name, value)) = part.split_once(':') else {
            return Err(CvssError::MalformedPart {
                vector: vector.to_string(),
                part: part.to_string(),
            });
        };
        let Some((def, slot)) = defs.iter().zip(values.iter_mut()).find(|(d, _)| d.name == name) else {
            return Err(CvssError::UnknownMetric {
                vector: vector.to_string(),
                version,
                metric: name.to_string(),
            });
        };
        if slot.is_some() {
            return Err(CvssError::DuplicateMetric {
                vector: vector.to_string(),
                metric: def.name.to_string(),
            });
        }
        *slot = Some(known_value(vector, def, value)?);
    }
    if let Some((def, _)) = defs
        .iter()
        .zip(&values)
        .find(|(def, value)| def.mandatory && value.is_none())
    {
        return Err(CvssError::MissingMetric {
            vector: vector.to_string(),
            metric: def.name,
        });
    }
    Ok(Metrics { defs, values })
}

/// The static copy of `value` when `def` takes it.
fn known_value(vector: &str, def: &MetricDef, value: &str) -> Result<&'static str, CvssError> {
    def.values
        .iter()
        .copied()
        .find(|allowed| *allowed == value)
        .ok_or_else(|| CvssError::BadValue {
            vector: vector.to_string(),
            metric: def.name,
            value: value.to_string(),
            allowed: def.values,
        })
}

/// The number paired with `value` in `table`. Values reaching here were checked by the parser
/// against the same codes, so the fallback is never taken.
fn lookup(table: &[(&str, f64)], value: &str) -> f64 {
    table
        .iter()
        .find(|(code, _)| *code == value)
        .map_or(0.0, |(_, number)| *number)
}

// ---------------------------------------------------------------------------------------------
// CVSS v2.0 (the CVSS v2 Complete Documentation, section 3.2.1).

const V2_CIA: &[&str] = &["N", "P", "C"];
const V2_REQUIREMENT: &[&str] = &["L", "M", "H", "ND"];

const V2_METRICS: &[MetricDef] = &[
    base("AV", &["L", "A", "N"]),
    base("AC", &["H", "M", "L"]),
    base("Au", &["M", "S", "N"]),
    base("C", V2_CIA),
    base("I", V2_CIA),
    base("A", V2_CIA),
    optional("E", &["U", "POC", "F", "H", "ND"]),
    optional("RL", &["OF", "TF", "W", "U", "ND"]),
    optional("RC", &["UC", "UR", "C", "ND"]),
    optional("CDP", &["N", "L", "LM", "MH", "H", "ND"]),
    optional("TD", &["N", "L", "M", "H", "ND"]),
    optional("CR", V2_REQUIREMENT),
    optional("IR", V2_REQUIREMENT),
    optional("AR", V2_REQUIREMENT),
];

const V2_AV: &[(&str, f64)] = &[("L", 0.395), ("A", 0.646), ("N", 1.0)];
const V2_AC: &[(&str, f64)] = &[("H", 0.35), ("M", 0.61), ("L", 0.71)];
const V2_AU: &[(&str, f64)] = &[("M", 0.45), ("S", 0.56), ("N", 0.704)];
const V2_IMPACT: &[(&str, f64)] = &[("N", 0.0), ("P", 0.275), ("C", 0.660)];

/// The v2 base equation, rounded half up to one decimal.
fn v2_base_score(metrics: &Metrics) -> f64 {
    let impact_of = |name| lookup(V2_IMPACT, metrics.get(name));
    let impact = 10.41 * (1.0 - (1.0 - impact_of("C")) * (1.0 - impact_of("I")) * (1.0 - impact_of("A")));
    if impact == 0.0 {
        return 0.0;
    }
    let exploitability = 20.0
        * lookup(V2_AV, metrics.get("AV"))
        * lookup(V2_AC, metrics.get("AC"))
        * lookup(V2_AU, metrics.get("Au"));
    round_half_up(((0.6 * impact) + (0.4 * exploitability) - 1.5) * 1.176)
}

/// Rounds to one decimal, halves up (scores are never negative).
fn round_half_up(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

// ---------------------------------------------------------------------------------------------
// CVSS v3.0 and v3.1 (specification section 7.1 and Appendix A of v3.1).

const V3_CIA: &[&str] = &["H", "L", "N"];
const V3_REQUIREMENT: &[&str] = &["X", "L", "M", "H"];
const V3_MODIFIED_CIA: &[&str] = &["X", "N", "L", "H"];

const V3_METRICS: &[MetricDef] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "R"]),
    base("S", &["U", "C"]),
    base("C", V3_CIA),
    base("I", V3_CIA),
    base("A", V3_CIA),
    optional("E", &["X", "U", "P", "F", "H"]),
    optional("RL", &["X", "O", "T", "W", "U"]),
    optional("RC", &["X", "U", "R", "C"]),
    optional("CR", V3_REQUIREMENT),
    optional("IR", V3_REQUIREMENT),
    optional("AR", V3_REQUIREMENT),
    optional("MAV", &["X", "N", "A", "L", "P"]),
    optional("MAC", &["X", "L", "H"]),
    optional("MPR", &["X", "N", "L", "H"]),
    optional("MUI", &["X", "N", "R"]),
    optional("MS", &["X", "U", "C"]),
    optional("MC", V3_MODIFIED_CIA),
    optional("MI", V3_MODIFIED_CIA),
    optional("MA", V3_MODIFIED_CIA),
];

const V3_AV: &[(&str, f64)] = &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)];
const V3_AC: &[(&str, f64)] = &[("L", 0.77), ("H", 0.44)];
const V3_PR_SCOPE_UNCHANGED: &[(&str, f64)] = &[("N", 0.85), ("L", 0.62), ("H", 0.27)];
const V3_PR_SCOPE_CHANGED: &[(&str, f64)] = &[("N", 0.85), ("L", 0.68), ("H", 0.5)];
const V3_UI: &[(&str, f64)] = &[("N", 0.85), ("R", 0.62)];
const V3_IMPACT: &[(&str, f64)] = &[("H", 0.56), ("L", 0.22), ("N", 0.0)];

/// The v3 base equations; v3.0 and v3.1 differ only in how they round up.
fn v3_base_score(version: CvssVersion, metrics: &Metrics) -> f64 {
    let scope_changed = metrics.get("S") == "C";
    let impact_of = |name| lookup(V3_IMPACT, metrics.get(name));
    let iss = 1.0 - ((1.0 - impact_of("C")) * (1.0 - impact_of("I")) * (1.0 - impact_of("A")));
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powf(15.0)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return 0.0;
    }
    let privileges = if scope_changed {
        V3_PR_SCOPE_CHANGED
    } else {
        V3_PR_SCOPE_UNCHANGED
    };
    let exploitability = 8.22
        * lookup(V3_AV, metrics.get("AV"))
        * lookup(V3_AC, metrics.get("AC"))
        * lookup(privileges, metrics.get("PR"))
        * lookup(V3_UI, metrics.get("UI"));
    let unrounded = if scope_changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    if version == CvssVersion::V3_0 {
        round_up_v3_0(unrounded)
    } else {
        round_up_v3_1(unrounded)
    }
}

/// v3.0's Roundup: the smallest one-decimal number not below the input, computed in floating
/// point as the v3.0 reference calculator does.
fn round_up_v3_0(value: f64) -> f64 {
    (value * 10.0).ceil() / 10.0
}

/// v3.1's Roundup (Appendix A): through an integer of 1/100,000ths, so that results such as
/// 4.000000000000001 are not pushed to 4.1 by floating-point error.
fn round_up_v3_1(value: f64) -> f64 {
    // Scores are within 0..=10, so the integer fits easily.
    let hundred_thousandths = (value * 100_000.0).round() as i64;
    if hundred_thousandths % 10_000 == 0 {
        hundred_thousandths as f64 / 100_000.0
    } else {
        ((hundred_thousandths / 10_000) + 1) as f64 / 10.0
    }
}

// ---------------------------------------------------------------------------------------------
// CVSS v4.0 (specification section 8, and FIRST's reference calculator for the interpolation).

const V4_IMPACT: &[&str] = &["H", "L", "N"];
const V4_REQUIREMENT: &[&str] = &["X", "H", "M", "L"];
const V4_MODIFIED_IMPACT: &[&str] = &["X", "H", "L", "N"];
const V4_MODIFIED_SAFETY: &[&str] = &["X", "S", "H", "L", "N"];

const V4_METRICS: &[MetricDef] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("AT", &["N", "P"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "P", "A"]),
    base("VC", V4_IMPACT),
    base("VI", V4_IMPACT),
    base("VA", V4_IMPACT),
    base("SC", V4_IMPACT),
    base("SI", V4_IMPACT),
    base("SA", V4_IMPACT),
    optional("E", &["X", "A", "P", "U"]),
    optional("CR", V4_REQUIREMENT),
    optional("IR", V4_REQUIREMENT),
    optional("AR", V4_REQUIREMENT),
    optional("MAV", &["X", "N", "A", "L", "P"]),
    optional("MAC", &["X", "L", "H"]),
    optional("MAT", &["X", "N", "P"]),
    optional("MPR", &["X", "N", "L", "H"]),
    optional("MUI", &["X", "N", "P", "A"]),
    optional("MVC", V4_MODIFIED_IMPACT),
    optional("MVI", V4_MODIFIED_IMPACT),
    optional("MVA", V4_MODIFIED_IMPACT),
    optional("MSC", V4_MODIFIED_IMPACT),
    optional("MSI", V4_MODIFIED_SAFETY),
    optional("MSA", V4_MODIFIED_SAFETY),
    optional("S", &["X", "N", "P"]),
    optional("AU", &["X", "N", "Y"]),
    optional("R", &["X", "A", "U", "I"]),
    optional("V", &["X", "D", "C"]),
    optional("RE", &["X", "L", "M", "H"]),
    optional("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// Severity levels of metric values, in steps of 0.1 from the most severe value (0.0); the
/// severity distance of a vector from a highest-severity vector is the difference of levels.
type Levels = &'static [(&'static str, f64)];

const LEVELS_AV: Levels = &[("N", 0.0), ("A", 0.1), ("L", 0.2), ("P", 0.3)];
const LEVELS_PR: Levels = &[("N", 0.0), ("L", 0.1), ("H", 0.2)];
const LEVELS_UI: Levels = &[("N", 0.0), ("P", 0.1), ("A", 0.2)];
const LEVELS_AC: Levels = &[("L", 0.0), ("H", 0.1)];
const LEVELS_AT: Levels = &[("N", 0.0), ("P", 0.1)];
const LEVELS_VULNERABLE: Levels = &[("H", 0.0), ("L", 0.1), ("N", 0.2)];
const LEVELS_SC: Levels = &[("H", 0.1), ("L", 0.2), ("N", 0.3)];
const LEVELS_SAFETY: Levels = &[("S", 0.0), ("H", 0.1), ("L", 0.2), ("N", 0.3)];
const LEVELS_REQUIREMENT: Levels = &[("H", 0.0), ("M", 0.1), ("L", 0.2)];

/// The metric values that enter the v4 score: modified metrics replace base ones, and the
/// unspecified threat and security-requirement metrics take their worst case (E:A, CR/IR/AR:H).
struct V4Effective {
    av: &'static str,
    ac: &'static str,
    at: &'static str,
    pr: &'static str,
    ui: &'static str,
    vc: &'static str,
    vi: &'static str,
    va: &'static str,
    sc: &'static str,
    si: &'static str,
    sa: &'static str,
    e: &'static str,
    cr: &'static str,
    ir: &'static str,
    ar: &'static str,
}

impl V4Effective {
    fn new(metrics: &Metrics) -> V4Effective {
        let modified_or_base = |modified, base| match metrics.get(modified) {
            "X" => metrics.get(base),
            value => value,
        };
        let or_worst = |name, worst| match metrics.get(name) {
            "X" => worst,
            value => value,
        };
        V4Effective {
            av: modified_or_base("MAV", "AV"),
            ac: modified_or_base("MAC", "AC"),
            at: modified_or_base("MAT", "AT"),
            pr: modified_or_base("MPR", "PR"),
            ui: modified_or_base("MUI", "UI"),
            vc: modified_or_base("MVC", "VC"),
            vi: modified_or_base("MVI", "VI"),
            va: modified_or_base("MVA", "VA"),
            sc: modified_or_base("MSC", "SC"),
            si: modified_or_base("MSI", "SI"),
            sa: modified_or_base("MSA", "SA"),
            e: or_worst("E", "A"),
            cr: or_worst("CR", "H"),
            ir: or_worst("IR", "H"),
            ar: or_worst("AR", "H"),
        }
    }

    fn has_no_impact(&self) -> bool {
        [self.vc, self.vi, self.va, self.sc, self.si, self.sa]
            .iter()
            .all(|value| *value == "N")
    }

    /// The equivalence classes EQ1–EQ6 (specification table 24), 0 the most severe.
    fn macro_vector(&self) -> MacroVector {
        let (av, pr, ui) = (self.av, self.pr, self.ui);
        let eq1 = if av == "N" && pr == "N" && ui == "N" {
            0
        } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
            1
        } else {
            2
        };
        let eq2 = u8::from(!(self.ac == "L" && self.at == "N"));
        let eq3 = if self.vc == "H" && self.vi == "H" {
            0
        } else if self.vc == "H" || self.vi == "H" || self.va == "H" {
            1
        } else {
            2
        };
        let eq4 = if self.si == "S" || self.sa == "S" {
            0
        } else if self.sc == "H" || self.si == "H" || self.sa == "H" {
            1
        } else {
            2
        };
        let eq5 = match self.e {
            "A" => 0,
            "P" => 1,
            _ => 2,
        };
        let eq6 = u8::from(
            !((self.cr == "H" && self.vc == "H")
                || (self.ir == "H" && self.vi == "H")
                || (self.ar == "H" && self.va == "H")),
        );
        MacroVector([eq1, eq2, eq3, eq4, eq5, eq6])
    }

    /// EQ1's metrics (AV, PR, UI) with their levels.
    fn eq1_metrics(&self) -> [(&'static str, Levels); 3] {
        [(self.av, LEVELS_AV), (self.pr, LEVELS_PR), (self.ui, LEVELS_UI)]
    }

    fn eq2_metrics(&self) -> [(&'static str, Levels); 2] {
        [(self.ac, LEVELS_AC), (self.at, LEVELS_AT)]
    }

    fn eq3_eq6_metrics(&self) -> [(&'static str, Levels); 6] {
        [
            (self.vc, LEVELS_VULNERABLE),
            (self.vi, LEVELS_VULNERABLE),
            (self.va, LEVELS_VULNERABLE),
            (self.cr, LEVELS_REQUIREMENT),
            (self.ir, LEVELS_REQUIREMENT),
            (self.ar, LEVELS_REQUIREMENT),
        ]
    }

    fn eq4_metrics(&self) -> [(&'static str, Levels); 3] {
        [
            (self.sc, LEVELS_SC),
            (self.si, LEVELS_SAFETY),
            (self.sa, LEVELS_SAFETY),
        ]
    }
}

/// EQ1–EQ6 of a vector, each 0 (most severe) to 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MacroVector([u8; 6]);

impl MacroVector {
    fn eq(self, number: usize) -> u8 {
        number
            .checked_sub(1)
            .and_then(|index| self.0.get(index))
            .copied()
            .unwrap_or(0)
    }

    /// The score of this macro vector in the specification's table; `None` for combinations the
    /// table lacks (one step below the least severe class of an EQ).
    fn table_score(self) -> Option<f64> {
        let key = self.0.map(|eq| b'0' + eq);
        MACRO_VECTOR_SCORES
            .binary_search_by(|(code, _)| code.as_bytes().cmp(&key[..]))
            .ok()
            .and_then(|index| MACRO_VECTOR_SCORES.get(index))
            .map(|(_, score)| *score)
    }

    /// The next less severe macro vector in EQ `number` (1-based).
    fn lowered(self, number: usize) -> MacroVector {
        let mut lower = self;
        if let Some(eq) = number.checked_sub(1).and_then(|index| lower.0.get_mut(index)) {
            *eq += 1;
        }
        lower
    }

    /// The score of the next less severe macro vector for EQ3 and EQ6 taken together (they are
    /// scored as one: 00 → 01 or 10, 01 → 11, 10 → 11, 11 → 21, 21 has none).
    fn eq3_eq6_lower_score(self) -> Option<f64> {
        match (self.eq(3), self.eq(6)) {
            (0, 0) => match (self.lowered(6).table_score(), self.lowered(3).table_score()) {
                (Some(left), Some(right)) => Some(left.max(right)),
                (left, right) => left.or(right),
            },
            (0, 1) | (1, 1) => self.lowered(3).table_score(),
            (1, 0) => self.lowered(6).table_score(),
            _ => None,
        }
    }

    /// The highest-severity vectors of EQ3+EQ6 (VC, VI, VA, CR, IR, AR).
    fn eq3_eq6_maxima(self) -> &'static [[&'static str; 6]] {
        match (self.eq(3), self.eq(6)) {
            (0, 0) => &[["H", "H", "H", "H", "H", "H"]],
            (0, _) => &[["H", "H", "L", "M", "M", "H"], ["H", "H", "H", "M", "M", "M"]],
            (1, 0) => &[["L", "H", "H", "H", "H", "H"], ["H", "L", "H", "H", "H", "H"]],
            (1, _) => &[
                ["L", "H", "L", "H", "M", "H"],
                ["L", "H", "H", "H", "M", "M"],
                ["H", "L", "H", "M", "H", "M"],
                ["H", "L", "L", "M", "H", "H"],
                ["L", "L", "H", "H", "H", "M"],
            ],
            _ => &[["L", "L", "L", "H", "H", "H"]],
        }
    }

    /// The depth (maximal severity distance + 1, in steps) of EQ3+EQ6.
    fn eq3_eq6_depth(self) -> u8 {
        match (self.eq(3), self.eq(6)) {
            (0, 0) => 7,
            (0, _) => 6,
            (1, _) => 8,
            _ => 10,
        }
    }
}

/// The highest-severity vectors of EQ1 (AV, PR, UI) per class.
fn eq1_maxima(class: u8) -> &'static [[&'static str; 3]] {
    match class {
        0 => &[["N", "N", "N"]],
        1 => &[["A", "N", "N"], ["N", "L", "N"], ["N", "N", "P"]],
        _ => &[["P", "N", "N"], ["A", "L", "P"]],
    }
}

/// The highest-severity vectors of EQ2 (AC, AT) per class.
fn eq2_maxima(class: u8) -> &'static [[&'static str; 2]] {
    match class {
        0 => &[["L", "N"]],
        _ => &[["H", "N"], ["L", "P"]],
    }
}

/// The highest-severity vectors of EQ4 (SC, SI, SA) per class.
fn eq4_maxima(class: u8) -> &'static [[&'static str; 3]] {
    match class {
        0 => &[["H", "S", "S"]],
        1 => &[["H", "H", "H"]],
        _ => &[["L", "L", "L"]],
    }
}

fn eq1_depth(class: u8) -> u8 {
    [1, 4, 5].get(usize::from(class)).copied().unwrap_or(5)
}

fn eq2_depth(class: u8) -> u8 {
    if class == 0 {
        1
    } else {
        2
    }
}

fn eq4_depth(class: u8) -> u8 {
    [6, 5, 4].get(usize::from(class)).copied().unwrap_or(4)
}

/// The per-metric severity distances of `effective` from `maximum` (negative where `effective`
/// is the more severe).
fn distances_to<const N: usize>(
    effective: &[(&'static str, Levels); N],
    maximum: &[&'static str; N],
) -> [f64; N] {
    let mut distances = [0.0; N];
    for (distance, ((value, levels), max_value)) in distances.iter_mut().zip(effective.iter().zip(maximum)) {
        *distance = lookup(levels, value) - lookup(levels, max_value);
    }
    distances
}

/// The distances from the first highest-severity vector of the class that is at least as severe
/// as `effective` in every metric, the reference calculator's choice.
fn first_covering_maximum<const N: usize>(
    effective: &[(&'static str, Levels); N],
    maxima: &[[&'static str; N]],
) -> Option<[f64; N]> {
    maxima
        .iter()
        .map(|maximum| distances_to(effective, maximum))
        .find(|distances| distances.iter().all(|distance| *distance >= 0.0))
}

/// The severity distance of `effective` within its class, summed left to right like the
/// reference. Should no maximum cover it (the class definitions rule that out; a unit test walks
/// every combination), the last one is used, as in the reference.
fn severity_distance<const N: usize>(
    effective: [(&'static str, Levels); N],
    maxima: &[[&'static str; N]],
) -> f64 {
    first_covering_maximum(&effective, maxima)
        .or_else(|| maxima.last().map(|maximum| distances_to(&effective, maximum)))
        .unwrap_or([0.0; N])
        .iter()
        .fold(0.0, |sum, distance| sum + distance)
}

/// The CVSS v4.0 score of the vector as written.
fn v4_score(metrics: &Metrics) -> f64 {
    let effective = V4Effective::new(metrics);
    if effective.has_no_impact() {
        return 0.0;
    }
    let macro_vector = effective.macro_vector();
    // Every macro vector a valid vector produces is in the table (EQ3=2 forces EQ6=1; a unit
    // test walks them all), so the fallback is never taken.
    let Some(value) = macro_vector.table_score() else {
        return 0.0;
    };
    let steps = eq_steps(&effective, macro_vector);
    round_v4((value - mean_distance(value, &steps)).clamp(0.0, 10.0))
}

/// One EQ's part in the interpolation between macro vectors.
struct EqStep {
    /// The score of the next lower macro vector; `None` for the least severe class.
    lower_score: Option<f64>,
    /// The severity distance within the class and the class depth; `None` for EQ5, whose
    /// proportion of distance is always 0.
    distance_and_depth: Option<(f64, u8)>,
}

/// EQ1, EQ2, EQ3+EQ6, EQ4 and EQ5, in the reference's order (it matters for the sums).
fn eq_steps(effective: &V4Effective, macro_vector: MacroVector) -> [EqStep; 5] {
    let eq = |number| macro_vector.eq(number);
    [
        EqStep {
            lower_score: macro_vector.lowered(1).table_score(),
            distance_and_depth: Some((
                severity_distance(effective.eq1_metrics(), eq1_maxima(eq(1))),
                eq1_depth(eq(1)),
            )),
        },
        EqStep {
            lower_score: macro_vector.lowered(2).table_score(),
            distance_and_depth: Some((
                severity_distance(effective.eq2_metrics(), eq2_maxima(eq(2))),
                eq2_depth(eq(2)),
            )),
        },
        EqStep {
            lower_score: macro_vector.eq3_eq6_lower_score(),
            distance_and_depth: Some((
                severity_distance(effective.eq3_eq6_metrics(), macro_vector.eq3_eq6_maxima()),
                macro_vector.eq3_eq6_depth(),
            )),
        },
        EqStep {
            lower_score: macro_vector.lowered(4).table_score(),
            distance_and_depth: Some((
                severity_distance(effective.eq4_metrics(), eq4_maxima(eq(4))),
                eq4_depth(eq(4)),
            )),
        },
        EqStep {
            lower_score: macro_vector.lowered(5).table_score(),
            distance_and_depth: None,
        },
    ]
}

/// The mean, over the EQs that have a lower macro vector, of the available score distance to it
/// times the proportion of the class depth the vector sits below its highest-severity vector.
fn mean_distance(value: f64, steps: &[EqStep]) -> f64 {
    // Distances are in steps of 0.1, depths in whole steps.
    let step = 0.1;
    let mut existing_lower = 0_u8;
    let mut total = 0.0;
    for EqStep {
        lower_score,
        distance_and_depth,
    } in steps
    {
        let Some(lower_score) = lower_score else {
            continue;
        };
        existing_lower += 1;
        let available_distance = value - lower_score;
        let proportion =
            distance_and_depth.map_or(0.0, |(distance, depth)| distance / (f64::from(depth) * step));
        total += available_distance * proportion;
    }
    if existing_lower == 0 {
        0.0
    } else {
        total / f64::from(existing_lower)
    }
}

/// Rounds half up to one decimal after lifting the value by 10⁻⁶, as FIRST's reference
/// calculator and Red Hat's library do: the interpolation can land one floating-point step
/// below an x.x5 tie (8.549999999999999 for 8.55).
fn round_v4(value: f64) -> f64 {
    const EPSILON: f64 = 1e-6;
    ((value + EPSILON) * 10.0).round() / 10.0
}

/// Scores of the macro vectors `EQ1 EQ2 EQ3 EQ4 EQ5 EQ6`, transcribed from the CVSS v4.0
/// specification's lookup table; sorted by key for binary search.
#[rustfmt::skip]
const MACRO_VECTOR_SCORES: [(&str, f64); 270] = [
    ("000000", 10.0), ("000001", 9.9), ("000010", 9.8), ("000011", 9.5), ("000020", 9.5), ("000021", 9.2),
    ("000100", 10.0), ("000101", 9.6), ("000110", 9.3), ("000111", 8.7), ("000120", 9.1), ("000121", 8.1),
    ("000200", 9.3), ("000201", 9.0), ("000210", 8.9), ("000211", 8.0), ("000220", 8.1), ("000221", 6.8),
    ("001000", 9.8), ("001001", 9.5), ("001010", 9.5), ("001011", 9.2), ("001020", 9.0), ("001021", 8.4),
    ("001100", 9.3), ("001101", 9.2), ("001110", 8.9), ("001111", 8.1), ("001120", 8.1), ("001121", 6.5),
    ("001200", 8.8), ("001201", 8.0), ("001210", 7.8), ("001211", 7.0), ("001220", 6.9), ("001221", 4.8),
    ("002001", 9.2), ("002011", 8.2), ("002021", 7.2),
    ("002101", 7.9), ("002111", 6.9), ("002121", 5.0),
    ("002201", 6.9), ("002211", 5.5), ("002221", 2.7),
    ("010000", 9.9), ("010001", 9.7), ("010010", 9.5), ("010011", 9.2), ("010020", 9.2), ("010021", 8.5),
    ("010100", 9.5), ("010101", 9.1), ("010110", 9.0), ("010111", 8.3), ("010120", 8.4), ("010121", 7.1),
    ("010200", 9.2), ("010201", 8.1), ("010210", 8.2), ("010211", 7.1), ("010220", 7.2), ("010221", 5.3),
    ("011000", 9.5), ("011001", 9.3), ("011010", 9.2), ("011011", 8.5), ("011020", 8.5), ("011021", 7.3),
    ("011100", 9.2), ("011101", 8.2), ("011110", 8.0), ("011111", 7.2), ("011120", 7.0), ("011121", 5.9),
    ("011200", 8.4), ("011201", 7.0), ("011210", 7.1), ("011211", 5.2), ("011220", 5.0), ("011221", 3.0),
    ("012001", 8.6), ("012011", 7.5), ("012021", 5.2),
    ("012101", 7.1), ("012111", 5.2), ("012121", 2.9),
    ("012201", 6.3), ("012211", 2.9), ("012221", 1.7),
    ("100000", 9.8), ("100001", 9.5), ("100010", 9.4), ("100011", 8.7), ("100020", 9.1), ("100021", 8.1),
    ("100100", 9.4), ("100101", 8.9), ("100110", 8.6), ("100111", 7.4), ("100120", 7.7), ("100121", 6.4),
    ("100200", 8.7), ("100201", 7.5), ("100210", 7.4), ("100211", 6.3), ("100220", 6.3), ("100221", 4.9),
    ("101000", 9.4), ("101001", 8.9), ("101010", 8.8), ("101011", 7.7), ("101020", 7.6), ("101021", 6.7),
    ("101100", 8.6), ("101101", 7.6), ("101110", 7.4), ("101111", 5.8), ("101120", 5.9), ("101121", 5.0),
    ("101200", 7.2), ("101201", 5.7), ("101210", 5.7), ("101211", 5.2), ("101220", 5.2), ("101221", 2.5),
    ("102001", 8.3), ("102011", 7.0), ("102021", 5.4),
    ("102101", 6.5), ("102111", 5.8), ("102121", 2.6),
    ("102201", 5.3), ("102211", 2.1), ("102221", 1.3),
    ("110000", 9.5), ("110001", 9.0), ("110010", 8.8), ("110011", 7.6), ("110020", 7.6), ("110021", 7.0),
    ("110100", 9.0), ("110101", 7.7), ("110110", 7.5), ("110111", 6.2), ("110120", 6.1), ("110121", 5.3),
    ("110200", 7.7), ("110201", 6.6), ("110210", 6.8), ("110211", 5.9), ("110220", 5.2), ("110221", 3.0),
    ("111000", 8.9), ("111001", 7.8), ("111010", 7.6), ("111011", 6.7), ("111020", 6.2), ("111021", 5.8),
    ("111100", 7.4), ("111101", 5.9), ("111110", 5.7), ("111111", 5.7), ("111120", 4.7), ("111121", 2.3),
    ("111200", 6.1), ("111201", 5.2), ("111210", 5.7), ("111211", 2.9), ("111220", 2.4), ("111221", 1.6),
    ("112001", 7.1), ("112011", 5.9), ("112021", 3.0),
    ("112101", 5.8), ("112111", 2.6), ("112121", 1.5),
    ("112201", 2.3), ("112211", 1.3), ("112221", 0.6),
    ("200000", 9.3), ("200001", 8.7), ("200010", 8.6), ("200011", 7.2), ("200020", 7.5), ("200021", 5.8),
    ("200100", 8.6), ("200101", 7.4), ("200110", 7.4), ("200111", 6.1), ("200120", 5.6), ("200121", 3.4),
    ("200200", 7.0), ("200201", 5.4), ("200210", 5.2), ("200211", 4.0), ("200220", 4.0), ("200221", 2.2),
    ("201000", 8.5), ("201001", 7.5), ("201010", 7.4), ("201011", 5.5), ("201020", 6.2), ("201021", 5.1),
    ("201100", 7.2), ("201101", 5.7), ("201110", 5.5), ("201111", 4.1), ("201120", 4.6), ("201121", 1.9),
    ("201200", 5.3), ("201201", 3.6), ("201210", 3.4), ("201211", 1.9), ("201220", 1.9), ("201221", 0.8),
    ("202001", 6.4), ("202011", 5.1), ("202021", 2.0),
    ("202101", 4.7), ("202111", 2.1), ("202121", 1.1),
    ("202201", 2.4), ("202211", 0.9), ("202221", 0.4),
    ("210000", 8.8), ("210001", 7.5), ("210010", 7.3), ("210011", 5.3), ("210020", 6.0), ("210021", 5.0),
    ("210100", 7.3), ("210101", 5.5), ("210110", 5.9), ("210111", 4.0), ("210120", 4.1), ("210121", 2.0),
    ("210200", 5.4), ("210201", 4.3), ("210210", 4.5), ("210211", 2.2), ("210220", 2.0), ("210221", 1.1),
    ("211000", 7.5), ("211001", 5.5), ("211010", 5.8), ("211011", 4.5), ("211020", 4.0), ("211021", 2.1),
    ("211100", 6.1), ("211101", 5.1), ("211110", 4.8), ("211111", 1.8), ("211120", 2.0), ("211121", 0.9),
    ("211200", 4.6), ("211201", 1.8), ("211210", 1.7), ("211211", 0.7), ("211220", 0.8), ("211221", 0.2),
    ("212001", 5.3), ("212011", 2.4), ("212021", 1.4),
    ("212101", 2.4), ("212111", 1.2), ("212121", 0.5),
    ("212201", 1.0), ("212211", 0.3), ("212221", 0.1),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    /// Vectors and the scores Red Hat's `cvss` Python library (3.6) gives them; the calculator
    /// was compared with it on every base vector of each version as well.
    const REFERENCE_SCORES: &[(&str, f64)] = &[
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
        ("(AV:N/AC:L/Au:N/C:C/I:C/A:C)", 10.0),
        ("AV:L/AC:H/Au:M/C:N/I:N/A:N", 0.0),
        ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3),
        ("AV:A/AC:H/Au:S/C:P/I:N/A:N", 1.4),
        (
            "AV:L/AC:L/Au:N/C:C/I:C/A:C/E:POC/RL:OF/RC:C/CDP:H/TD:H/CR:H/IR:H/AR:H",
            7.2,
        ),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
        ("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.0/AV:N/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:N/E:P/RL:O/RC:C", 3.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:C/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:A/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N", 2.4),
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 9.1),
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 2.4),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/IR:L/AR:L/MAV:P/MAC:H\
             /MPR:H/MUI:R/MS:C/MC:N/MI:N/MA:N",
            9.8,
        ),
        ("CVSS:3.1/S:C/A:H/I:H/C:H/UI:R/PR:L/AC:H/AV:N", 8.0),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            10.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        // Lands one floating-point step below 8.55 before rounding.
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H",
            8.6,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:A/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N/E:U",
            0.4,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:N/SC:H/SI:H/SA:H/E:P",
            9.0,
        ),
        (
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            1.0,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/SA:N/E:A/MAV:A",
            8.7,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/MSI:S",
            8.9,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U",
            9.1,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:L/IR:L/AR:L",
            8.9,
        ),
        (
            "CVSS:4.0/AV:L/AC:H/AT:N/PR:N/UI:N/VC:L/VI:H/VA:L/SC:N/SI:N/SA:H/S:N/AU:N/R:I/V:C/RE:M\
             /U:Green/MAV:A/MAC:L/MAT:N/MPR:N/MUI:N/MVC:H/MVI:N/MVA:H/MSC:H/MSI:H/MSA:H/CR:H/IR:M\
             /AR:H/E:A",
            8.6,
        ),
        (
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:L/UI:P/VC:N/VI:L/VA:H/SC:N/SI:L/SA:N/E:U/CR:H/IR:H/AR:H\
             /MAV:L/MAC:H/MAT:P/MPR:L/MUI:P/MVC:L/MVI:L/MVA:L/MSC:L/MSI:L/MSA:S/S:N/AU:N/R:U/V:D\
             /RE:L/U:Clear",
            1.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:A/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/E:P/CR:L/IR:L/AR:L\
             /MAV:N/MAC:L/MAT:N/MPR:L/MUI:A/MVC:H/MVI:H/MVA:H/MSC:H/MSI:S/MSA:S/S:P/AU:Y/R:I/V:C\
             /RE:H/U:Red",
            8.5,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MVC:N/MVI:N/MVA:N\
             /MSC:N/MSI:N/MSA:N",
            0.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X/CR:X/IR:X/AR:X\
             /MAV:X/MSI:X/S:X/U:X",
            9.3,
        ),
        (
            "CVSS:4.0/AV:A/AC:H/AT:P/PR:L/UI:P/VC:L/VI:H/VA:N/SC:L/SI:L/SA:H/E:P/MAV:P/MUI:A",
            4.1,
        ),
    ];

    fn score_of(vector: &str) -> f64 {
        match score(vector) {
            Ok(rated) => rated.base_score,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn scores_match_the_reference() {
        for (vector, expected) in REFERENCE_SCORES {
            let rated = score(vector).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(rated.base_score, *expected, "{vector}");
            assert_eq!(rated.severity, Severity::from_cvss_score(*expected), "{vector}");
        }
    }

    #[test]
    fn versions_and_ratings() {
        let cases = [
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", CvssVersion::V2, Severity::High),
            ("(AV:L/AC:H/Au:M/C:N/I:N/A:N)", CvssVersion::V2, Severity::Unknown),
            (
                "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                CvssVersion::V3_0,
                Severity::Medium,
            ),
            (
                " CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N\n",
                CvssVersion::V3_1,
                Severity::Low,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                CvssVersion::V4_0,
                Severity::Critical,
            ),
        ];
        for (vector, version, severity) in cases {
            let rated = score(vector).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!((rated.version, rated.severity), (version, severity), "{vector}");
        }
        let names: Vec<String> = [
            CvssVersion::V2,
            CvssVersion::V3_0,
            CvssVersion::V3_1,
            CvssVersion::V4_0,
        ]
        .iter()
        .map(|version| version.to_string())
        .collect();
        assert_eq!(names, ["2.0", "3.0", "3.1", "4.0"]);
    }

    #[test]
    fn malformed_vectors_are_errors() {
        let v31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let v40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let unknown = |vector: &str| CvssError::UnknownVersion {
            vector: vector.to_string(),
        };
        assert_eq!(score(""), Err(CvssError::Empty));
        assert_eq!(score(" \t\n"), Err(CvssError::Empty));
        assert_eq!(score("garbage"), Err(unknown("garbage")));
        assert_eq!(score("CVSS:5.0/AV:N"), Err(unknown("CVSS:5.0/AV:N")));
        assert_eq!(score("cvss:3.1/av:n"), Err(unknown("cvss:3.1/av:n")));
        // A v3 vector without its prefix has no Au metric, so it is not read as v2.
        let unprefixed = "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        assert_eq!(score(unprefixed), Err(unknown(unprefixed)));

        let duplicate = format!("{v31}/AV:L");
        assert_eq!(
            score(&duplicate),
            Err(CvssError::DuplicateMetric {
                vector: duplicate.clone(),
                metric: "AV".into()
            })
        );
        let missing = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H";
        assert_eq!(
            score(missing),
            Err(CvssError::MissingMetric {
                vector: missing.into(),
                metric: "S"
            })
        );
        assert!(matches!(
            score("CVSS:3.1"),
            Err(CvssError::MissingMetric { metric: "AV", .. })
        ));
        let bad_value = v31.replace("AV:N", "AV:Q");
        assert!(matches!(
            score(&bad_value),
            Err(CvssError::BadValue { metric: "AV", ref value, .. }) if value == "Q"
        ));
        // v3 values are out of range in v2, v3 metrics unknown in v4.
        assert!(matches!(
            score("AV:N/AC:L/Au:N/C:H/I:H/A:H"),
            Err(CvssError::BadValue { metric: "C", .. })
        ));
        assert!(matches!(
            score(&format!("{v40}/RL:O")),
            Err(CvssError::UnknownMetric { version: CvssVersion::V4_0, ref metric, .. })
                if metric == "RL"
        ));
        assert!(matches!(
            score(&format!("{v40}/MSC:S")),
            Err(CvssError::BadValue { metric: "MSC", .. })
        ));
        assert!(matches!(
            score(&format!("{v31}/")),
            Err(CvssError::MalformedPart { ref part, .. }) if part.is_empty()
        ));
        assert!(matches!(
            score("CVSS:4.0/AV:N/AC"),
            Err(CvssError::MalformedPart { ref part, .. }) if part == "AC"
        ));
    }

    #[test]
    fn errors_name_the_vector_and_the_problem() {
        let vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Z";
        let message = score(vector).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains(vector), "{message}");
        assert!(message.contains("metric A has value \"Z\" (expected one of H, L, N)"));
        let message = score("CVSS:3.1/AV:N/XX:1").unwrap_err().to_string();
        assert!(
            message.contains("unknown metric \"XX\" for CVSS 3.1"),
            "{message}"
        );
        let message = score("CVSS:2.0/AV:N").unwrap_err().to_string();
        assert!(
            message.contains("\"CVSS:2.0/AV:N\": unknown version"),
            "{message}"
        );
    }

    #[test]
    fn metric_order_does_not_matter() {
        for (vector, expected) in REFERENCE_SCORES {
            let (prefix, body) = match vector.split_once('/') {
                Some((prefix, body)) if prefix.starts_with("CVSS:") => (format!("{prefix}/"), body),
                _ => (String::new(), vector.trim_matches(['(', ')'])),
            };
            let reversed: Vec<&str> = body.split('/').rev().collect();
            let reordered = format!("{prefix}{}", reversed.join("/"));
            assert_eq!(score_of(&reordered), *expected, "{reordered}");
        }
    }

    #[test]
    fn v3_temporal_and_environmental_metrics_leave_the_base_score() {
        let extra = "/E:U/RL:O/RC:U/CR:H/IR:L/AR:M/MAV:P/MAC:H/MPR:H/MUI:R/MS:C/MC:N/MI:L/MA:H";
        for (vector, expected) in REFERENCE_SCORES {
            if vector.starts_with("CVSS:3.") && vector.matches('/').count() == 8 {
                assert_eq!(score_of(&format!("{vector}{extra}")), *expected, "{vector}");
            }
        }
    }

    #[test]
    fn v4_environmental_and_threat_metrics_change_the_score() {
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let not_defined = "/E:X/CR:X/IR:X/AR:X/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X\
                           /MSC:X/MSI:X/MSA:X/S:X/AU:X/R:X/V:X/RE:X/U:X";
        assert_eq!(score_of(base), 9.3);
        assert_eq!(score_of(&format!("{base}{not_defined}")), 9.3);
        // Supplemental metrics never change it; unreported exploitation and physical access do.
        assert_eq!(score_of(&format!("{base}/S:P/AU:Y/R:I/V:C/RE:H/U:Red")), 9.3);
        assert!(score_of(&format!("{base}/E:U")) < 9.3);
        assert!(score_of(&format!("{base}/MAV:P")) < 9.3);
        assert!(score_of(&format!("{base}/MSI:S")) > 9.3);
    }

    #[test]
    fn v3_round_up_variants() {
        // The v3.1 specification's example: floating-point error must not push 4.0 to 4.1.
        let just_above_four = 4.000_000_000_000_001;
        assert_eq!(round_up_v3_1(just_above_four), 4.0);
        assert_eq!(round_up_v3_0(just_above_four), 4.1);
        for round_up in [round_up_v3_0, round_up_v3_1] {
            assert_eq!(round_up(4.02), 4.1);
            assert_eq!(round_up(4.0), 4.0);
            assert_eq!(round_up(9.96), 10.0);
        }
    }

    #[test]
    fn v4_rounding_lifts_ties_below_the_half() {
        assert_eq!(round_v4(8.549_999_999_999_999), 8.6);
        assert_eq!(round_v4(8.549), 8.5);
        assert_eq!(round_v4(0.95), 1.0);
        assert_eq!(round_v4(0.0), 0.0);
    }

    /// Every vector of the version's mandatory metrics.
    fn all_base_vectors(prefix: &str, defs: &[MetricDef]) -> Vec<String> {
        let mut vectors = vec![String::new()];
        for def in defs.iter().filter(|def| def.mandatory) {
            vectors = vectors
                .iter()
                .flat_map(|head| {
                    let separator = if head.is_empty() { "" } else { "/" };
                    def.values
                        .iter()
                        .map(move |value| format!("{head}{separator}{}:{value}", def.name))
                })
                .collect();
        }
        vectors.iter().map(|body| format!("{prefix}{body}")).collect()
    }

    #[test]
    fn every_base_vector_scores_in_range_with_one_decimal() {
        let versions = [
            ("", V2_METRICS),
            ("CVSS:3.0/", V3_METRICS),
            ("CVSS:3.1/", V3_METRICS),
        ];
        let mut counted = 0;
        for (prefix, defs) in versions {
            for vector in all_base_vectors(prefix, defs) {
                let value = score_of(&vector);
                assert!((0.0..=10.0).contains(&value), "{vector}: {value}");
                assert_eq!((value * 10.0).round() / 10.0, value, "{vector}");
                counted += 1;
            }
        }
        assert_eq!(counted, 729 + 2 * 2592);
    }

    #[test]
    fn every_v4_base_vector_scores_in_range_and_zero_only_without_impact() {
        let vectors = all_base_vectors("CVSS:4.0/", V4_METRICS);
        assert_eq!(vectors.len(), 104_976);
        for vector in vectors {
            let value = score_of(&vector);
            let no_impact = ["VC", "VI", "VA", "SC", "SI", "SA"]
                .iter()
                .all(|name| vector.contains(&format!("/{name}:N")));
            assert!((0.0..=10.0).contains(&value), "{vector}: {value}");
            assert_eq!(value == 0.0, no_impact, "{vector}: {value}");
        }
    }

    #[test]
    fn every_macro_vector_has_a_table_score() {
        let mut count = 0;
        for eq1 in 0..3 {
            for eq2 in 0..2 {
                for (eq3, eq6) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1)] {
                    for eq4 in 0..3 {
                        for eq5 in 0..3 {
                            let macro_vector = MacroVector([eq1, eq2, eq3, eq4, eq5, eq6]);
                            assert!(macro_vector.table_score().is_some(), "{macro_vector:?}");
                            count += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(count, MACRO_VECTOR_SCORES.len());
        let keys: Vec<&str> = MACRO_VECTOR_SCORES.iter().map(|(key, _)| *key).collect();
        assert!(
            keys.windows(2).all(|pair| pair.first() < pair.last()),
            "sorted, unique"
        );
        assert_eq!(MacroVector([0; 6]).table_score(), Some(10.0));
        assert_eq!(MacroVector([2, 1, 2, 2, 2, 1]).table_score(), Some(0.1));
    }

    #[test]
    fn lower_macro_vectors() {
        let least = MacroVector([2, 1, 2, 2, 2, 1]);
        for eq in [1, 2, 4, 5] {
            assert_eq!(least.lowered(eq).table_score(), None, "EQ{eq}");
        }
        assert_eq!(least.eq3_eq6_lower_score(), None);
        // 00 goes to the higher of 01 (9.9) and 10 (9.8).
        assert_eq!(MacroVector([0; 6]).eq3_eq6_lower_score(), Some(9.9));
        assert_eq!(MacroVector([0, 0, 1, 0, 0, 0]).eq3_eq6_lower_score(), Some(9.5));
    }

    fn v4_effective(body: &str) -> V4Effective {
        let vector = format!("CVSS:4.0/{body}");
        match parse_metrics(&vector, body, CvssVersion::V4_0, V4_METRICS) {
            Ok(metrics) => V4Effective::new(&metrics),
            Err(error) => panic!("{error}"),
        }
    }

    /// The reference falls back to the last highest-severity vector when none covers the scored
    /// one; walking every combination of each EQ's metrics shows that never happens.
    #[test]
    fn every_combination_is_covered_by_a_maximum_of_its_class() {
        let impact = ["H", "L", "N"];
        let requirement = ["H", "M", "L"];
        for av in ["N", "A", "L", "P"] {
            for pr in ["N", "L", "H"] {
                for ui in ["N", "P", "A"] {
                    let e = v4_effective(&format!(
                        "AV:{av}/AC:L/AT:N/PR:{pr}/UI:{ui}/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"
                    ));
                    let maxima = eq1_maxima(e.macro_vector().eq(1));
                    assert!(first_covering_maximum(&e.eq1_metrics(), maxima).is_some());
                }
            }
        }
        for (ac, at) in [("L", "N"), ("L", "P"), ("H", "N"), ("H", "P")] {
            let e = v4_effective(&format!(
                "AV:N/AC:{ac}/AT:{at}/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"
            ));
            let maxima = eq2_maxima(e.macro_vector().eq(2));
            assert!(first_covering_maximum(&e.eq2_metrics(), maxima).is_some());
        }
        for vc in impact {
            for vi in impact {
                for va in impact {
                    for cr in requirement {
                        for ir in requirement {
                            for ar in requirement {
                                let e = v4_effective(&format!(
                                    "AV:N/AC:L/AT:N/PR:N/UI:N/VC:{vc}/VI:{vi}/VA:{va}/SC:H/SI:H\
                                     /SA:H/CR:{cr}/IR:{ir}/AR:{ar}"
                                ));
                                let maxima = e.macro_vector().eq3_eq6_maxima();
                                assert!(first_covering_maximum(&e.eq3_eq6_metrics(), maxima).is_some());
                            }
                        }
                    }
                }
            }
        }
        for sc in impact {
            for si in ["S", "H", "L", "N"] {
                for sa in ["S", "H", "L", "N"] {
                    let e = v4_effective(&format!(
                        "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:{sc}/SI:N/SA:N/MSI:{si}/MSA:{sa}"
                    ));
                    let maxima = eq4_maxima(e.macro_vector().eq(4));
                    assert!(first_covering_maximum(&e.eq4_metrics(), maxima).is_some());
                }
            }
        }
    }

    /// Every `.json` file under `dir`.
    fn json_files(dir: &Path) -> Vec<PathBuf> {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
                .path();
            if path.is_dir() {
                files.extend(json_files(&path));
            } else if path.extension().is_some_and(|extension| extension == "json") {
                files.push(path);
            }
        }
        files
    }

    /// The `(type, score)` pairs of every CVSS severity entry in an OSV record.
    fn cvss_entries(value: &serde_json::Value, found: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(object) => {
                if let (Some(kind), Some(vector)) = (
                    object.get("type").and_then(|kind| kind.as_str()),
                    object.get("score").and_then(|vector| vector.as_str()),
                ) {
                    if kind.starts_with("CVSS_V") {
                        found.push((kind.to_string(), vector.to_string()));
                    }
                }
                object.values().for_each(|inner| cvss_entries(inner, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|inner| cvss_entries(inner, found)),
            _ => {}
        }
    }

    #[test]
    fn every_vector_in_the_shared_osv_records_scores() {
        let Some(shared) = moat_testkit::shared::shared_dir() else {
            return;
        };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for path in json_files(&shared.join("conformance/osv")) {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            if !text.contains("CVSS") {
                continue;
            }
            let record: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("parsing {}: {error}", path.display()));
            let mut entries = Vec::new();
            cvss_entries(&record, &mut entries);
            for (kind, vector) in entries {
                let rated = score(&vector).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                assert!((0.0..=10.0).contains(&rated.base_score), "{vector}");
                let expected_versions: &[CvssVersion] = match kind.as_str() {
                    "CVSS_V2" => &[CvssVersion::V2],
                    "CVSS_V3" => &[CvssVersion::V3_0, CvssVersion::V3_1],
                    _ => &[CvssVersion::V4_0],
                };
                assert!(expected_versions.contains(&rated.version), "{kind} {vector}");
                *counts.entry(kind).or_default() += 1;
            }
        }
        println!("CVSS vectors scored from the shared OSV records: {counts:?}");
        assert!(
            counts.get("CVSS_V3").is_some_and(|count| *count >= 500),
            "{counts:?}"
        );
        assert!(
            counts.get("CVSS_V4").is_some_and(|count| *count >= 50),
            "{counts:?}"
        );
    }
}
