//! A real podman for the tests: its Docker-compatible API service on a socket in a tempdir,
//! and the containers a test starts, removed again when it ends.
//!
//! Every podman command gets its own `containers.conf` (through `CONTAINERS_CONF` on the
//! command, not the test process) so that the tests behave the same on any host: runc,
//! cgroupfs, file events, fixed ulimits. A missing `podman` binary skips the test with a
//! printed reason; any other failure panics naming the command and its output.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The configuration every podman command here runs with.
const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"#;

/// How long the API service may take to answer after it is started.
const SERVICE_START_TIMEOUT: Duration = Duration::from_secs(20);

/// A podman API service and the containers started through this value.
pub struct Podman {
    podman: PathBuf,
    dir: tempfile::TempDir,
    conf: PathBuf,
    socket: PathBuf,
    service: Child,
    containers: Vec<String>,
}

impl Podman {
    /// Starts `podman system service` on `<tempdir>/podman.sock` and waits until it answers.
    /// `None` (with a printed reason) when `podman` is not on PATH; panics on any other failure.
    pub fn start() -> Option<Podman> {
        let Some(podman) = crate::registry::which("podman") else {
            eprintln!("skipped: podman not found on PATH (apt-get install podman runc)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let conf = dir.path().join("containers.conf");
        std::fs::write(&conf, CONTAINERS_CONF).unwrap_or_else(|e| panic!("writing {}: {e}", conf.display()));
        let socket = dir.path().join("podman.sock");
        let log_path = dir.path().join("service.log");
        let log = std::fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cloning the log file: {e}"));
        let service = Command::new(&podman)
            .env("CONTAINERS_CONF", &conf)
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} system service: {e}", podman.display()));
        let mut started = Podman {
            podman,
            dir,
            conf,
            socket,
            service,
            containers: Vec::new(),
        };
        started.wait_until_answering();
        Some(started)
    }

    /// The API socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Loads a docker-archive or OCI archive with `podman load -i`; the image name it printed.
    pub fn load_image(&self, tar: &Path) -> String {
        let output = self.run_ok(&["load", "-i", &tar.display().to_string()]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout
            .lines()
            .find_map(|line| {
                let (_, names) = line.split_once("Loaded image")?;
                let names = names.split_once(':')?.1;
                names.split(',').next().map(|name| name.trim().to_string())
            })
            .unwrap_or_else(|| panic!("podman load -i {} printed no image name: {stdout}", tar.display()))
    }

    /// Starts container `name` from `image` in the background with `labels`, running `cmd`;
    /// its full id. The container is removed when this value is dropped.
    pub fn run_detached(&mut self, image: &str, name: &str, labels: &[(&str, &str)], cmd: &[&str]) -> String {
        let mut args = vec![
            "run".to_string(),
            "-d".to_string(),
            "--name".to_string(),
            name.to_string(),
        ];
        for (key, value) in labels {
            args.push("--label".to_string());
            args.push(format!("{key}={value}"));
        }
        args.push(image.to_string());
        args.extend(cmd.iter().map(|word| word.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Removed on drop even if it turns out to be unusable.
        self.containers.push(name.to_string());
        let output = self.run_ok(&args);
        let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
        assert_eq!(id.len(), 64, "podman run printed {id:?}, not a container id");
        id
    }

    /// Runs `cmd` in container `id` (`podman exec`); its output, whatever the exit status.
    pub fn exec(&self, id: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", id];
        args.extend_from_slice(cmd);
        self.command(&args)
            .output()
            .unwrap_or_else(|e| panic!("running podman exec {id} {cmd:?}: {e}"))
    }

    /// `podman <args>` with this value's configuration.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.podman);
        command
            .env("CONTAINERS_CONF", &self.conf)
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Runs `podman <args>`, panicking with its output unless it succeeds.
    fn run_ok(&self, args: &[&str]) -> Output {
        let output = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("running podman {}: {e}", args.join(" ")));
        assert!(
            output.status.success(),
            "podman {} failed ({}): {}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Waits until `GET /_ping` on the socket answers, panicking with the service log when
    /// the service exits or does not answer in time.
    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + SERVICE_START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.service.try_wait() {
                panic!("podman system service exited ({status}): {}", self.service_log());
            }
            if ping(&self.socket) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "podman system service did not answer on {} within {SERVICE_START_TIMEOUT:?}: {}",
            self.socket.display(),
            self.service_log()
        );
    }

    fn service_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }
}

/// True when the API on `socket` answers `GET /_ping` with 200.
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Drop for Podman {
    fn drop(&mut self) {
        for name in std::mem::take(&mut self.containers) {
            if let Ok(output) = self.command(&["rm", "-f", "-t", "0", &name]).output() {
                if !output.status.success() {
                    eprintln!("podman rm -f {name}: {}", String::from_utf8_lossy(&output.stderr));
                }
            }
        }
        let _ = self.service.kill();
        let _ = self.service.wait();
    }
}
