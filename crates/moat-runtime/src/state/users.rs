//! User and group names from the `/etc/passwd` and `/etc/group` a process sees (a
//! container has its own), read through `<proc>/<pid>/root` and kept per container.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use super::proc::ProcFs;

/// At most this many databases (containers) are kept; beyond, the cache starts over.
const MAX_DATABASES: usize = 1024;

/// What `/etc/passwd` says of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UserEntry {
    name: String,
    home: String,
    shell: String,
}

/// The names of a process's credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct UserNames {
    pub user: Option<String>,
    pub homedir: Option<String>,
    pub shell: Option<String>,
    pub group: Option<String>,
    pub login_name: Option<String>,
}

/// One root's user and group tables.
#[derive(Debug, Default)]
struct UserDb {
    users: HashMap<u32, UserEntry>,
    groups: HashMap<u32, String>,
    passwd_mtime: Option<SystemTime>,
}

/// User databases by container id (`host` for the host).
#[derive(Debug, Default)]
pub(super) struct Users {
    databases: HashMap<String, UserDb>,
}

impl Users {
    /// The names of `uid`, `gid` and `loginuid` for process `pid` of container `key`. The
    /// container's files are read on first use, and again when a uid is missing and
    /// `/etc/passwd` changed since.
    pub fn names(
        &mut self,
        proc_fs: &ProcFs,
        pid: u32,
        key: &str,
        ids: (u32, u32, Option<i64>),
    ) -> UserNames {
        let (uid, gid, loginuid) = ids;
        let passwd = proc_fs.in_root(pid, "etc/passwd");
        let stale = match self.databases.get(key) {
            None => true,
            Some(db) => !db.users.contains_key(&uid) && db.passwd_mtime != mtime(&passwd),
        };
        if stale {
            if self.databases.len() >= MAX_DATABASES {
                self.databases.clear();
            }
            let db = UserDb::load(&passwd, &proc_fs.in_root(pid, "etc/group"));
            self.databases.insert(key.to_string(), db);
        }
        let Some(db) = self.databases.get(key) else {
            return UserNames::default();
        };
        db.names(uid, gid, loginuid)
    }

    /// The user name of `uid` in container `key`, when already known.
    pub fn user_name(&self, key: &str, uid: u32) -> Option<&str> {
        Some(self.databases.get(key)?.users.get(&uid)?.name.as_str())
    }

    /// The group name of `gid` in container `key`, when already known.
    pub fn group_name(&self, key: &str, gid: u32) -> Option<&str> {
        Some(self.databases.get(key)?.groups.get(&gid)?.as_str())
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl UserDb {
    fn load(passwd: &Path, group: &Path) -> UserDb {
        UserDb {
            users: fs::read_to_string(passwd)
                .map(|text| parse_passwd(&text))
                .unwrap_or_default(),
            groups: fs::read_to_string(group)
                .map(|text| parse_group(&text))
                .unwrap_or_default(),
            passwd_mtime: mtime(passwd),
        }
    }

    fn names(&self, uid: u32, gid: u32, loginuid: Option<i64>) -> UserNames {
        let user = self.users.get(&uid);
        let login = loginuid
            .and_then(|id| u32::try_from(id).ok())
            .and_then(|id| self.users.get(&id));
        UserNames {
            user: user.map(|u| u.name.clone()),
            homedir: user.map(|u| u.home.clone()),
            shell: user.map(|u| u.shell.clone()),
            group: self.groups.get(&gid).cloned(),
            login_name: login.map(|u| u.name.clone()),
        }
    }
}

/// `name:password:uid:gid:gecos:home:shell` lines; malformed lines are skipped.
fn parse_passwd(text: &str) -> HashMap<u32, UserEntry> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        let (Some(name), Some(uid)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let Ok(uid) = uid.parse::<u32>() else { continue };
        let entry = UserEntry {
            name: name.to_string(),
            home: fields.get(5).unwrap_or(&"").to_string(),
            shell: fields.get(6).unwrap_or(&"").to_string(),
        };
        // The first line for a uid wins, as with getpwuid.
        users.entry(uid).or_insert(entry);
    }
    users
}

/// `name:password:gid:members` lines; malformed lines are skipped.
fn parse_group(text: &str) -> HashMap<u32, String> {
    let mut groups = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(gid)) = (fields.next(), fields.nth(1)) else {
            continue;
        };
        if let Ok(gid) = gid.parse::<u32>() {
            groups.entry(gid).or_insert_with(|| name.to_string());
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_lines_are_read_and_bad_lines_skipped() {
        let users = parse_passwd("root:x:0:0:root:/root:/bin/bash\nbad line\nwww:x:33:33::/var/www:/usr/sbin/nologin\nalias:x:0:0::/:/bin/sh\n");
        assert_eq!(users.len(), 2);
        assert_eq!(users[&0].name, "root", "the first entry for a uid wins");
        assert_eq!(users[&33].home, "/var/www");
        let groups = parse_group("root:x:0:\nshadow:x:42:a,b\nnope\n");
        assert_eq!(groups.get(&42).map(String::as_str), Some("shadow"));
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn names_come_from_the_process_root_and_are_reloaded_when_passwd_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let etc = dir.path().join("7/root/etc");
        fs::create_dir_all(&etc).expect("mkdir");
        fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("write");
        fs::write(etc.join("group"), "root:x:0:\nstaff:x:50:\n").expect("write");
        let proc_fs = ProcFs::new(dir.path().to_path_buf());
        let mut users = Users::default();
        let names = users.names(&proc_fs, 7, "c1", (0, 50, Some(0)));
        assert_eq!(names.user.as_deref(), Some("root"));
        assert_eq!(names.shell.as_deref(), Some("/bin/sh"));
        assert_eq!(names.group.as_deref(), Some("staff"));
        assert_eq!(names.login_name.as_deref(), Some("root"));
        assert_eq!(users.names(&proc_fs, 7, "c1", (1000, 0, None)).user, None);

        let passwd = etc.join("passwd");
        fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .expect("write");
        let later = SystemTime::now() + std::time::Duration::from_secs(10);
        fs::File::options()
            .write(true)
            .open(&passwd)
            .and_then(|f| f.set_modified(later))
            .expect("set mtime");
        let names = users.names(&proc_fs, 7, "c1", (1000, 0, None));
        assert_eq!(names.user.as_deref(), Some("alice"));
        assert_eq!(users.user_name("c1", 1000), Some("alice"));
        assert_eq!(users.group_name("c1", 50), Some("staff"));
    }
}
