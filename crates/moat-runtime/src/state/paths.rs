//! Paths as Falco shows them in `fd.name`: absolute, with `.` and `..` resolved by text
//! (symbolic links are not followed, as the path may belong to another mount namespace).

/// `raw` made absolute against `base` (a working directory or a directory fd's path) and
/// normalised; `raw` unchanged when it is relative and `base` is unknown (empty).
pub(super) fn resolve(base: &str, raw: &str) -> String {
    if raw.starts_with('/') {
        return normalize(raw);
    }
    if base.is_empty() || !base.starts_with('/') {
        return raw.to_string();
    }
    normalize(&format!("{base}/{raw}"))
}

/// An absolute path without empty, `.` and `..` components (`..` at the root stays at the
/// root, as the kernel does).
pub(crate) fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The last component of a path.
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_base() {
        assert_eq!(resolve("/srv/www", "a.txt"), "/srv/www/a.txt");
        assert_eq!(resolve("/srv/www/", "./a/../b"), "/srv/www/b");
        assert_eq!(resolve("/", "../../etc/shadow"), "/etc/shadow");
        assert_eq!(resolve("/tmp", "/etc/../etc//passwd"), "/etc/passwd");
        assert_eq!(resolve("", "a.txt"), "a.txt");
        assert_eq!(resolve("/x", ""), "/x");
    }

    #[test]
    fn normalizing_keeps_the_root() {
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(normalize("/a/b/.."), "/a");
        assert_eq!(basename("/usr/bin/cat"), "cat");
        assert_eq!(basename("cat"), "cat");
    }
}
