use serde::{Deserialize, Serialize};

/// The operating system distribution an image or root filesystem is built on,
/// as told by `/etc/os-release` and its friends.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Distro {
    /// Lower-case machine id (`ID=`), e.g. `debian`, `alpine`, `rocky`, `wolfi`.
    pub id: String,
    /// Release (`VERSION_ID=`), e.g. `12`, `3.18.4`, `8.4`; empty for rolling distributions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version_id: String,
    /// Human name (`NAME=`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Human name with version (`PRETTY_NAME=`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pretty_name: String,
    /// Release code name (`VERSION_CODENAME=`), e.g. `bookworm`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub codename: String,
    /// Related distributions (`ID_LIKE=`), e.g. `["rhel", "centos", "fedora"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

impl Distro {
    /// `id-version_id` as used in package URL `distro=` qualifiers (`debian-12`, `rocky-8.4`),
    /// or just the id when there is no version.
    pub fn purl_qualifier(&self) -> String {
        if self.version_id.is_empty() {
            self.id.clone()
        } else {
            format!("{}-{}", self.id, self.version_id)
        }
    }
}
