//! Each comparator is a total order on the versions it accepts: antisymmetric and transitive,
//! also on odd input. `sort` may panic on an inconsistent `Ord`, and matching would give answers
//! that depend on the order of comparisons. Checked on every triple of a few hundred versions
//! built from each scheme's tricky characters by a fixed pseudo-random generator.

use std::cmp::Ordering;
use std::fmt::Debug;
use std::str::FromStr;

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` strings of 1 to 8 pieces from `pieces`, often sharing a prefix so that comparisons
/// get past the first segment.
fn versions(seed: u64, pieces: &[&str], count: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut out: Vec<String> = Vec::new();
    while out.len() < count {
        let mut text = match out.len() {
            0 => String::new(),
            n => {
                let base = &out[rng.below(n)];
                base.chars().take(rng.below(base.len() + 1)).collect()
            }
        };
        for _ in 0..=rng.below(4) {
            text.push_str(pieces[rng.below(pieces.len())]);
        }
        out.push(text);
    }
    out
}

/// Parses what the scheme accepts (at least `minimum` of them) and checks every pair and triple.
fn assert_total_order<V: FromStr + Ord + Debug>(texts: &[String], minimum: usize) {
    let parsed: Vec<(String, V)> = texts
        .iter()
        .filter_map(|t| Some((t.clone(), t.parse().ok()?)))
        .collect();
    assert!(parsed.len() >= minimum, "only {} parsed", parsed.len());
    for (a_text, a) in &parsed {
        for (b_text, b) in &parsed {
            assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{a_text} vs {b_text}");
        }
    }
    for (a_text, a) in &parsed {
        for (b_text, b) in parsed.iter().filter(|(_, b)| a <= b) {
            for (c_text, c) in parsed.iter().filter(|(_, c)| b <= c) {
                assert_ne!(a.cmp(c), Ordering::Greater, "{a_text} <= {b_text} <= {c_text}");
            }
        }
    }
}

#[test]
fn dpkg_is_a_total_order() {
    let pieces = ["1", "0", "10", ".", "~", "+", "a", "Z", "-1", "1:", "~rc", "00"];
    let texts = versions(1, &pieces, 150);
    assert_total_order::<moat_version::dpkg::Version>(&texts, 50);
}

#[test]
fn rpm_is_a_total_order() {
    let pieces = [
        "1", "0", "10", ".", "~", "^", "_", "a", "B", "-1", "1:", "el9", "α",
    ];
    let texts = versions(2, &pieces, 150);
    assert_total_order::<moat_version::rpm::Version>(&texts, 140);
}

#[test]
fn apk_is_a_total_order() {
    let pieces = [
        "1", "0", "01", ".", "a", "_rc", "_p", "_alpha", "_x", "~ab", "-r1", "-r", "-x", "A",
    ];
    let texts = versions(3, &pieces, 150);
    assert_total_order::<moat_version::apk::Version>(&texts, 140);
}

/// `count` strings made of one choice per slot.
fn from_slots(seed: u64, slots: &[&[&str]], count: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|_| slots.iter().map(|s| s[rng.below(s.len())]).collect())
        .collect()
}

#[test]
fn semver_is_a_total_order() {
    let slots: &[&[&str]] = &[
        &["", "v", "="],
        &["0", "1", "10"],
        &["", ".0", ".2", ".10"],
        &["", ".0", ".1", ".1.5"],
        &["", "-0", "-1", "-rc", "-rc.1", "-rc.a", "-A", "-a-b.2", "beta"],
        &["", "+b", "+1.x"],
    ];
    let texts = from_slots(4, slots, 200);
    assert_total_order::<moat_version::semver::Version>(&texts, 190);
}

#[test]
fn go_is_a_total_order() {
    let slots: &[&[&str]] = &[
        &["", "v", "go"],
        &["0", "1", "2"],
        &["", ".0", ".9", ".20", ".21", ".22"],
        &["", "", ".0", ".3"],
        &[
            "",
            "",
            "rc1",
            "beta2",
            "-0",
            "-rc.1",
            "-0.2019-abc",
            "+incompatible",
        ],
    ];
    let texts = from_slots(5, slots, 200);
    assert_total_order::<moat_version::go::Version>(&texts, 120);
}

#[test]
fn pep440_is_a_total_order() {
    let pieces = [
        "1", "0", "10", ".", "-", "_", "a", "b", "rc", "c", "post", "r", "dev", "+", "loc", "1!", "v", "x",
        "pre",
    ];
    let texts = versions(6, &pieces, 150);
    assert_total_order::<moat_version::pep440::Version>(&texts, 140);
}

#[test]
fn maven_is_a_total_order() {
    let pieces = [
        "1", "0", "10", ".", "-", "a", "b", "m", "rc", "ga", "final", "sp", "snapshot", "x", "",
    ];
    let texts = versions(7, &pieces, 150);
    assert_total_order::<moat_version::maven::Version>(&texts, 140);
}

#[test]
fn rubygems_is_a_total_order() {
    let slots: &[&[&str]] = &[
        &["0", "1", "10"],
        &["", ".0", ".2", ".10", "a", ".a"],
        &["", ".0", ".b", "-1", "rc1", ".pre.1", "B"],
        &["", ".0", ".1", "-x"],
    ];
    let texts = from_slots(8, slots, 200);
    assert_total_order::<moat_version::rubygems::Version>(&texts, 190);
}

#[test]
fn nuget_is_a_total_order() {
    let slots: &[&[&str]] = &[
        &["0", "1", "10"],
        &["", ".0", ".2"],
        &["", ".0", ".1"],
        &["", ".0", ".3"],
        &[
            "", "-0", "-1", "-rc", "-RC.1", "-rc.a", "-A", "-a-b.2", "-beta.10",
        ],
        &["", "+b", "+1.x"],
    ];
    let texts = from_slots(9, slots, 200);
    assert_total_order::<moat_version::nuget::Version>(&texts, 190);
}

#[test]
fn composer_is_a_total_order() {
    let pieces = [
        "1", "0", "10", ".", "-", "_", "+", "#", "dev", "a", "beta", "RC", "rc", "pl", "p", "x", "~", "v",
        "BETA",
    ];
    let texts = versions(10, &pieces, 150);
    assert_total_order::<moat_version::composer::Version>(&texts, 140);
}
