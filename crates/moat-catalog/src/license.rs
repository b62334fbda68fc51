//! Declared licence strings to SPDX expressions.
//!
//! Ecosystems spell licences many ways (`GPL-2+`, `Apache 2.0`, `MIT License`). This maps the
//! common spellings to SPDX identifiers and keeps anything else as written, so no information is
//! lost. Hand-written because no maintained crate maps free-text licence names (the `spdx` crate
//! parses expressions but does not translate Debian or Python spellings).

/// Maps one licence name or expression to SPDX. Returns the input trimmed when it is unknown.
pub fn to_spdx(raw: &str) -> String {
    let trimmed = raw.trim();
    let key: String = trimmed
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | ','))
        .collect();
    let mapped = match key.as_str() {
        "mit" | "mitlicense" | "expat" | "mit/expat" => "MIT",
        "apache2"
        | "apache2.0"
        | "apache-2"
        | "apache-2.0"
        | "apachelicense2.0"
        | "apachesoftwarelicense"
        | "apachelicenseversion2.0"
        | "asl2.0" => "Apache-2.0",
        "bsd" | "bsd-3-clause" | "bsd3" | "bsd-3" | "newbsd" | "bsdlicense" | "3-clausebsd"
        | "modifiedbsd" => "BSD-3-Clause",
        "bsd-2-clause" | "bsd2" | "bsd-2" | "simplifiedbsd" | "freebsd" => "BSD-2-Clause",
        "isc" | "isclicense" => "ISC",
        "gpl-2" | "gplv2" | "gpl2" | "gpl-2.0" | "gpl-2.0-only" => "GPL-2.0-only",
        "gpl-2+" | "gplv2+" | "gpl-2.0+" | "gpl-2.0-or-later" => "GPL-2.0-or-later",
        "gpl-3" | "gplv3" | "gpl3" | "gpl-3.0" | "gpl-3.0-only" => "GPL-3.0-only",
        "gpl-3+" | "gplv3+" | "gpl-3.0+" | "gpl-3.0-or-later" => "GPL-3.0-or-later",
        "lgpl-2" | "lgpl-2.0" => "LGPL-2.0-only",
        "lgpl-2+" | "lgpl-2.0+" => "LGPL-2.0-or-later",
        "lgpl-2.1" | "lgplv2.1" | "lgpl-2.1-only" => "LGPL-2.1-only",
        "lgpl-2.1+" | "lgplv2.1+" | "lgpl-2.1-or-later" => "LGPL-2.1-or-later",
        "lgpl-3" | "lgpl-3.0" | "lgplv3" => "LGPL-3.0-only",
        "lgpl-3+" | "lgpl-3.0+" | "lgplv3+" => "LGPL-3.0-or-later",
        "mpl-2.0" | "mpl2.0" | "mpl2" | "mozillapubliclicense2.0" | "mozillapubliclicense2.0(mpl2.0)" => {
            "MPL-2.0"
        }
        "psf" | "psf-2.0" | "psfl" | "python-2.0" | "pythonsoftwarefoundationlicense" => "PSF-2.0",
        "zlib" => "Zlib",
        "unlicense" => "Unlicense",
        "cc0" | "cc0-1.0" => "CC0-1.0",
        "public-domain" | "publicdomain" => "LicenseRef-public-domain",
        "artistic" | "artistic-1.0" => "Artistic-1.0",
        "artistic-2.0" => "Artistic-2.0",
        "0bsd" => "0BSD",
        "bsl-1.0" | "boost" => "BSL-1.0",
        "epl-1.0" => "EPL-1.0",
        "epl-2.0" => "EPL-2.0",
        _ => return trimmed.to_string(),
    };
    mapped.to_string()
}

#[cfg(test)]
mod tests {
    use super::to_spdx;

    #[test]
    fn maps_common_spellings() {
        assert_eq!(to_spdx("GPL-2+"), "GPL-2.0-or-later");
        assert_eq!(to_spdx("Apache 2.0"), "Apache-2.0");
        assert_eq!(to_spdx(" MIT License "), "MIT");
        assert_eq!(to_spdx("Some Custom Licence"), "Some Custom Licence");
    }
}
