//! Names, versions, group ids and CPEs of Java archives, chosen the way syft chooses them so the
//! outputs line up: the file name first, then the manifest. One deliberate difference: Debian
//! names jars `<name>-<series>-<version>.jar` (`log4j-1.2-1.2.17.jar`); where the manifest's
//! version is the file name's last part, that version is taken (`1.2.17`, where syft says
//! `1.2-1.2.17`, a version no advisory range can match).

use super::manifest::Manifest;

/// Manifest attributes that may name the artifact, in syft's order.
const NAME_FIELDS: [&str; 5] = [
    "Name",
    "Bundle-Name",
    "Short-Name",
    "Extension-Name",
    "Implementation-Title",
];
/// Manifest attributes that may hold the version, in syft's order.
const VERSION_FIELDS: [&str; 4] = [
    "Implementation-Version",
    "Specification-Version",
    "Plugin-Version",
    "Bundle-Version",
];
/// Manifest attributes that may hold a group id (a reverse domain name).
const GROUP_FIELDS: [&str; 7] = [
    "Bundle-SymbolicName",
    "Extension-Name",
    "Specification-Vendor",
    "Implementation-Vendor",
    "Implementation-Vendor-Id",
    "Implementation-Title",
    "Automatic-Module-Name",
];
/// First labels that mark a value as a reverse domain name.
const TOP_LEVEL_DOMAINS: [&str; 16] = [
    "com", "org", "net", "io", "edu", "gov", "de", "uk", "fr", "nl", "ch", "be", "jp", "eu", "dev", "info",
];

/// Name and version guessed from an archive's file name (`spring-core-5.3.1.jar`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileNameGuess {
    /// Artifact name, empty when the file name does not look like one.
    pub name: String,
    /// Version, empty when the file name has none.
    pub version: String,
}

/// Splits a file name at the first `-` that starts a version (a digit, `build…`, `r<digit>` or
/// `rc<digit>`); the name's dash-separated parts must start with a letter.
pub fn guess_from_file_name(file_name: &str) -> FileNameGuess {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base);
    let split = stem
        .match_indices('-')
        .map(|(i, _)| i)
        .find(|&i| stem.get(i + 1..).is_some_and(starts_version) && stem.get(..i).is_some_and(is_name));
    match split {
        Some(i) => FileNameGuess {
            name: stem.get(..i).unwrap_or_default().to_string(),
            version: stem.get(i + 1..).unwrap_or_default().to_string(),
        },
        None if is_name(stem) => FileNameGuess {
            name: stem.to_string(),
            version: String::new(),
        },
        None => FileNameGuess::default(),
    }
}

fn starts_version(rest: &str) -> bool {
    let lower = rest.to_ascii_lowercase();
    let digit_after = |prefix: &str| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    };
    lower.starts_with(|c: char| c.is_ascii_digit())
        || lower.starts_with("build")
        || digit_after("r")
        || digit_after("rc")
}

fn is_name(candidate: &str) -> bool {
    !candidate.is_empty()
        && candidate.split('-').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic())
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
}

/// The archive's name: from the file name, else from the manifest.
pub fn select_name(manifest: Option<&Manifest>, guess: &FileNameGuess) -> String {
    if !guess.name.is_empty() {
        return guess.name.clone();
    }
    let from_manifest = manifest.and_then(|m| NAME_FIELDS.iter().find_map(|f| m.main_value(f)));
    from_manifest.unwrap_or_default().to_string()
}

/// The archive's version: from the file name, else from the manifest (main section first); the
/// manifest's when the file name's version is `<series>-<manifest version>`.
pub fn select_version(manifest: Option<&Manifest>, guess: &FileNameGuess) -> String {
    let from_manifest = manifest.and_then(|m| VERSION_FIELDS.iter().find_map(|f| m.any_value(f)));
    match from_manifest {
        Some(declared) if guess.version.is_empty() || is_series_then(&guess.version, declared) => {
            declared.to_string()
        }
        _ => guess.version.clone(),
    }
}

/// True for `1.2-1.2.17` and `1.2.17`: a file-name version ending in `-` + the declared one.
fn is_series_then(file_version: &str, declared: &str) -> bool {
    !declared.is_empty()
        && file_version
            .strip_suffix(declared)
            .is_some_and(|series| series.ends_with('-'))
}

/// A group id from manifest attributes that hold a reverse domain name
/// (`Bundle-SymbolicName: org.apache.log4j`).
pub fn group_id_from_manifest(manifest: &Manifest) -> Option<String> {
    GROUP_FIELDS
        .iter()
        .filter_map(|f| manifest.any_value(f))
        .find_map(clean_group_id)
}

fn clean_group_id(value: &str) -> Option<String> {
    let value = value.split(';').next()?.trim().trim_matches('"').trim();
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let first = value.split('.').next()?;
    let looks_like_domain = value.contains('.') && TOP_LEVEL_DOMAINS.contains(&first);
    (valid_chars && looks_like_domain).then(|| value.to_string())
}

/// The CPE syft would generate first: vendor from the group id (`org.apache.log4j` → `apache`),
/// else the name; product from the artifact name.
pub fn cpe(group_id: Option<&str>, name: &str, version: &str) -> Option<String> {
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let vendor = group_id.and_then(vendor_from_group_id).unwrap_or(name);
    Some(format!(
        "cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*",
        cpe_escape(&vendor.to_ascii_lowercase()),
        cpe_escape(&name.to_ascii_lowercase()),
        cpe_escape(version)
    ))
}

fn vendor_from_group_id(group_id: &str) -> Option<&str> {
    let mut labels = group_id.split('.').filter(|l| !l.is_empty());
    let first = labels.next()?;
    if TOP_LEVEL_DOMAINS.contains(&first) {
        labels.next().or(Some(first))
    } else {
        Some(first)
    }
}

/// Escapes CPE 2.3 formatted-string special characters.
fn cpe_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(name: &str) -> (String, String) {
        let g = guess_from_file_name(name);
        (g.name, g.version)
    }

    #[test]
    fn file_names() {
        assert_eq!(
            guess("log4j-1.2-1.2.17.jar"),
            ("log4j".into(), "1.2-1.2.17".into())
        );
        assert_eq!(
            guess("/x/spring-core-5.3.1.RELEASE.jar"),
            ("spring-core".into(), "5.3.1.RELEASE".into())
        );
        assert_eq!(
            guess("jackson-databind-2.13.0-rc1.jar"),
            ("jackson-databind".into(), "2.13.0-rc1".into())
        );
        assert_eq!(guess("foo-rc2.war"), ("foo".into(), "rc2".into()));
        assert_eq!(guess("commons.jar"), ("commons".into(), String::new()));
        assert_eq!(guess("1up-2.0.jar"), (String::new(), String::new()));
    }

    #[test]
    fn debian_series_file_names_take_the_manifest_version() {
        let manifest =
            super::super::manifest::parse_manifest("Manifest-Version: 1.0\r\nBundle-Version: 1.2.17\r\n");
        let debian = guess_from_file_name("log4j-1.2-1.2.17.jar");
        assert_eq!(debian.version, "1.2-1.2.17");
        assert_eq!(select_version(Some(&manifest), &debian), "1.2.17");
        let plain = guess_from_file_name("log4j-1.2.16.jar");
        assert_eq!(select_version(Some(&manifest), &plain), "1.2.16");
        let suffix_only = guess_from_file_name("app-11.2.17.jar");
        assert_eq!(select_version(Some(&manifest), &suffix_only), "11.2.17");
        assert_eq!(select_version(None, &debian), "1.2-1.2.17");
    }

    #[test]
    fn group_ids_and_cpes() {
        let m = super::super::manifest::parse_manifest(
            "Implementation-Vendor: \"Apache Software Foundation\"\nBundle-SymbolicName: org.apache.log4j;singleton:=true\n",
        );
        assert_eq!(group_id_from_manifest(&m).as_deref(), Some("org.apache.log4j"));
        assert_eq!(
            cpe(Some("org.apache.log4j"), "log4j", "1.2-1.2.17").as_deref(),
            Some("cpe:2.3:a:apache:log4j:1.2-1.2.17:*:*:*:*:*:*:*")
        );
        assert_eq!(
            cpe(None, "demo", "1+x").as_deref(),
            Some("cpe:2.3:a:demo:demo:1\\+x:*:*:*:*:*:*:*")
        );
    }
}
