//! Moat's default rules, compiled once from the embedded `builtin.toml`.

use crate::config::{self, LoadedRules};
use crate::RuleSet;
use std::sync::OnceLock;

/// The rule file, in gitleaks format with Moat's `title` and `severity` fields.
const BUILTIN_TOML: &str = include_str!("builtin.toml");
/// How the builtin file is named in messages.
const ORIGIN: &str = "<moat builtin secret rules>";

static BUILTIN: OnceLock<RuleSet> = OnceLock::new();

/// The compiled builtin rules.
pub(crate) fn rule_set() -> &'static RuleSet {
    BUILTIN.get_or_init(|| {
        let loaded = match config::parse(BUILTIN_TOML, ORIGIN, None, &LoadedRules::default) {
            Ok(loaded) => loaded,
            // The file ships inside the crate and a unit test compiles it: this is a build defect.
            Err(error) => panic!("{error}"),
        };
        match RuleSet::from_loaded(loaded) {
            Ok(set) => set,
            Err(error) => panic!("{error}"),
        }
    })
}

/// The builtin rules as `[extend] useDefault = true` brings them in.
pub(crate) fn loaded_rules() -> LoadedRules {
    rule_set().loaded()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile_with_unique_kebab_case_ids() {
        let set = rule_set();
        assert!(set.len() >= 60, "only {} builtin rules", set.len());
        let mut ids: Vec<&str> = set.rules().map(|r| r.id.as_str()).collect();
        for id in &ids {
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id} is not kebab-case"
            );
        }
        for info in set.rules() {
            let path_only = ["pkcs12-file", "java-keystore-file"].contains(&info.id.as_str());
            assert!(
                path_only || !info.keywords.is_empty(),
                "{} has no keywords",
                info.id
            );
            assert!(!info.title.is_empty());
        }
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate builtin rule ids");
    }
}
