//! Alerts as RFC 5424 syslog messages, over a Unix datagram socket or UDP.

use super::{RespondError, Sink};
use crate::replay::Alert;
use moat_core::time::format_date;
use moat_rules::Priority;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest message sent, in bytes; longer ones lose the end of their text. Small enough
/// for any syslog daemon's datagram buffer and for one UDP datagram.
pub const MAX_SYSLOG_MESSAGE: usize = 8 * 1024;

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// How long a send to a local socket may wait when the daemon is not reading, before the
/// alert is given up as failed instead of stalling the agent.
const LOCAL_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest HOSTNAME field RFC 5424 allows.
const MAX_HOSTNAME: usize = 255;

/// The syslog facility messages are filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Facility {
    /// `user` (1).
    User,
    /// `daemon` (3), the default.
    #[default]
    Daemon,
    /// `auth` (4).
    Auth,
    /// `authpriv` (10).
    Authpriv,
    /// `local0` to `local7` (16 to 23): the number after `local`, 0 to 7.
    Local(u8),
}

impl Facility {
    /// The facility named `name` (`daemon`, `local3`, …), if it is one of these.
    pub fn from_name(name: &str) -> Option<Facility> {
        match name {
            "user" => Some(Facility::User),
            "daemon" => Some(Facility::Daemon),
            "auth" => Some(Facility::Auth),
            "authpriv" => Some(Facility::Authpriv),
            _ => {
                let number = name.strip_prefix("local")?.parse::<u8>().ok()?;
                (number <= 7).then_some(Facility::Local(number))
            }
        }
    }

    /// The facility's number. `Local` numbers above 7 count as `local7`.
    pub fn code(self) -> u8 {
        match self {
            Facility::User => 1,
            Facility::Daemon => 3,
            Facility::Auth => 4,
            Facility::Authpriv => 10,
            Facility::Local(number) => 16 + number.min(7),
        }
    }
}

/// The syslog severity of a Falco priority: the same eight levels.
fn severity(priority: Priority) -> u8 {
    match priority {
        Priority::Emergency => 0,
        Priority::Alert => 1,
        Priority::Critical => 2,
        Priority::Error => 3,
        Priority::Warning => 4,
        Priority::Notice => 5,
        Priority::Informational => 6,
        Priority::Debug => 7,
    }
}

/// Sends each alert as `<PRI>1 TIMESTAMP HOSTNAME moat PID - - RULE: OUTPUT`.
///
/// TIMESTAMP is the time of sending (UTC, microseconds). HOSTNAME is the alert's host name
/// when it has one, else this machine's. MSG is plain UTF-8 without the optional byte order
/// mark, and the whole message is at most [`MAX_SYSLOG_MESSAGE`] bytes.
#[derive(Debug)]
pub struct SyslogSink {
    name: String,
    target: Target,
    facility: Facility,
    local_hostname: String,
    pid: u32,
}

#[derive(Debug)]
enum Target {
    Unix { socket: UnixDatagram, path: PathBuf },
    Udp { socket: UdpSocket, addr: SocketAddr },
}

impl SyslogSink {
    /// A sink sending to the Unix datagram socket at `path` (normally [`DEV_LOG`]). The
    /// socket is addressed on every send, so a restarted daemon is found again.
    pub fn unix(path: impl AsRef<Path>) -> Result<SyslogSink, RespondError> {
        let path = path.as_ref().to_path_buf();
        let name = format!("syslog unix {}", path.display());
        let socket = UnixDatagram::unbound()
            .and_then(|socket| {
                socket.set_write_timeout(Some(LOCAL_SEND_TIMEOUT))?;
                Ok(socket)
            })
            .map_err(|source| io_error(&name, "create socket", source))?;
        Ok(SyslogSink::with_target(name, Target::Unix { socket, path }))
    }

    /// A sink sending UDP datagrams to `addr` (`host:port`), resolved once, now.
    pub fn udp(addr: &str) -> Result<SyslogSink, RespondError> {
        let name = format!("syslog udp {addr}");
        let resolved = addr
            .to_socket_addrs()
            .map_err(|source| io_error(&name, "resolve", source))?
            .next()
            .ok_or_else(|| RespondError::Config {
                sink: name.clone(),
                message: "the address resolves to nothing".to_string(),
            })?;
        let socket = UdpSocket::bind(SocketAddr::new(local_ip_for(resolved.ip()), 0))
            .map_err(|source| io_error(&name, "bind", source))?;
        let target = Target::Udp {
            socket,
            addr: resolved,
        };
        Ok(SyslogSink::with_target(name, target))
    }

    /// The same sink, filing messages under `facility` instead of `daemon`.
    pub fn with_facility(self, facility: Facility) -> SyslogSink {
        SyslogSink { facility, ..self }
    }

    fn with_target(name: String, target: Target) -> SyslogSink {
        SyslogSink {
            name,
            target,
            facility: Facility::default(),
            local_hostname: local_hostname(),
            pid: std::process::id(),
        }
    }

    /// The message for `alert`, sent at `now`.
    fn message(&self, alert: &Alert, now: SystemTime) -> String {
        let pri = u16::from(self.facility.code()) * 8 + u16::from(severity(alert.priority));
        let hostname = alert
            .hostname
            .as_deref()
            .map_or_else(|| self.local_hostname.clone(), hostname_field);
        let mut message = format!(
            "<{pri}>1 {} {hostname} moat {} - - {}: {}",
            timestamp(now),
            self.pid,
            alert.rule,
            alert.output
        );
        truncate_on_char_boundary(&mut message, MAX_SYSLOG_MESSAGE);
        message
    }
}

impl Sink for SyslogSink {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn send(&mut self, alert: &Alert) -> Result<(), RespondError> {
        let message = self.message(alert, SystemTime::now());
        let sent = match &self.target {
            Target::Unix { socket, path } => socket.send_to(message.as_bytes(), path),
            Target::Udp { socket, addr } => socket.send_to(message.as_bytes(), addr),
        };
        sent.map(drop)
            .map_err(|source| io_error(&self.name, "send", source))
    }
}

fn io_error(sink: &str, action: &'static str, source: std::io::Error) -> RespondError {
    RespondError::Io {
        sink: sink.to_string(),
        action,
        source,
    }
}

/// The address to send from: loopback for a loopback target, so that nothing listens
/// beyond the host; else any address of the target's family.
fn local_ip_for(target: IpAddr) -> IpAddr {
    match (target.is_loopback(), target) {
        (true, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        (true, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        (false, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (false, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// This machine's host name, as the kernel has it, or `-` when it cannot be read.
fn local_hostname() -> String {
    crate::state::kernel_hostname().map_or_else(|| "-".to_string(), |name| hostname_field(&name))
}

/// `name` as a HOSTNAME field: printable ASCII without spaces (others become `_`), at most
/// 255 characters, `-` when empty.
fn hostname_field(name: &str) -> String {
    let field: String = name
        .chars()
        .take(MAX_HOSTNAME)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if field.is_empty() {
        "-".to_string()
    } else {
        field
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: RFC 5424 allows at most six fraction digits. `-` (no
/// time) for a clock before 1970.
fn timestamp(now: SystemTime) -> String {
    let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
        return "-".to_string();
    };
    let seconds = since_epoch.as_secs();
    let of_day = seconds % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}.{:06}Z",
        format_date(seconds),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since_epoch.subsec_micros()
    )
}

/// Shortens `text` to at most `max` bytes without splitting a character.
fn truncate_on_char_boundary(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::sample_alert;

    /// The fields of a received message, split at its first seven spaces.
    fn fields(datagram: &[u8]) -> Vec<String> {
        let text = std::str::from_utf8(datagram).expect("UTF-8");
        text.splitn(8, ' ').map(str::to_string).collect()
    }

    fn receive_unix(socket: &UnixDatagram) -> Vec<u8> {
        let mut buffer = vec![0; 65_536];
        let len = socket.recv(&mut buffer).expect("receive");
        buffer.truncate(len);
        buffer
    }

    #[test]
    fn unix_messages_are_rfc5424_with_the_priority_as_severity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let daemon = UnixDatagram::bind(&path).expect("bind");
        let mut sink = SyslogSink::unix(&path).expect("sink");
        assert_eq!(sink.name(), format!("syslog unix {}", path.display()));
        sink.send(&sample_alert()).expect("send");
        let fields = fields(&receive_unix(&daemon));
        // daemon (3) * 8 + Critical (2).
        assert_eq!(fields[0], "<26>1");
        let time = &fields[1];
        assert_eq!(time.len(), "2024-02-29T12:34:56.123456Z".len(), "{time}");
        assert_eq!((&time[10..11], &time[19..20], &time[26..]), ("T", ".", "Z"));
        assert_eq!(
            fields[2..7],
            ["node-1", "moat", &std::process::id().to_string(), "-", "-"]
        );
        assert_eq!(
            fields[7],
            "Shell in container: A shell was spawned (proc.name=bash container=web)"
        );
    }

    #[test]
    fn udp_messages_use_the_chosen_facility() {
        let daemon = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = daemon.local_addr().expect("address").to_string();
        let mut sink = SyslogSink::udp(&addr)
            .expect("sink")
            .with_facility(Facility::Local(0));
        assert_eq!(sink.name(), format!("syslog udp {addr}"));
        let mut alert = sample_alert();
        alert.priority = Priority::Warning;
        sink.send(&alert).expect("send");
        let mut buffer = vec![0; 65_536];
        let (len, from) = daemon.recv_from(&mut buffer).expect("receive");
        assert!(from.ip().is_loopback());
        // local0 (16) * 8 + Warning (4).
        assert_eq!(fields(&buffer[..len])[0], "<132>1");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let daemon = UnixDatagram::bind(&path).expect("bind");
        let mut sink = SyslogSink::unix(&path).expect("sink");
        let mut alert = sample_alert();
        alert.output = "é".repeat(10_000);
        sink.send(&alert).expect("send");
        let datagram = receive_unix(&daemon);
        assert!(datagram.len() <= MAX_SYSLOG_MESSAGE);
        assert!(datagram.len() > MAX_SYSLOG_MESSAGE - 2);
        let text = String::from_utf8(datagram).expect("still UTF-8");
        assert!(text.ends_with('é'));
    }

    #[test]
    fn a_missing_socket_is_an_error_naming_the_sink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nobody-listens");
        let mut sink = SyslogSink::unix(&path).expect("sink");
        let error = sink.send(&sample_alert()).expect_err("no socket");
        let prefix = format!("syslog unix {}: send failed: ", path.display());
        assert!(error.to_string().starts_with(&prefix), "{error}");
    }

    #[test]
    fn every_priority_has_its_severity() {
        let expected = [
            (Priority::Emergency, 0),
            (Priority::Alert, 1),
            (Priority::Critical, 2),
            (Priority::Error, 3),
            (Priority::Warning, 4),
            (Priority::Notice, 5),
            (Priority::Informational, 6),
            (Priority::Debug, 7),
        ];
        for (priority, level) in expected {
            assert_eq!(severity(priority), level, "{priority}");
        }
    }

    #[test]
    fn facilities_by_name() {
        assert_eq!(Facility::from_name("daemon").map(Facility::code), Some(3));
        assert_eq!(Facility::from_name("local0").map(Facility::code), Some(16));
        assert_eq!(Facility::from_name("local7").map(Facility::code), Some(23));
        assert_eq!(Facility::from_name("local8"), None);
        assert_eq!(Facility::from_name("kernel"), None);
        assert_eq!(Facility::default(), Facility::Daemon);
    }

    #[test]
    fn timestamps_hostnames_and_the_fallback_host() {
        let at = UNIX_EPOCH + Duration::new(1_709_210_096, 123_456_789);
        assert_eq!(timestamp(at), "2024-02-29T12:34:56.123456Z");
        assert_eq!(timestamp(UNIX_EPOCH - Duration::from_secs(1)), "-");
        assert_eq!(hostname_field("my host\n"), "my_host_");
        assert_eq!(hostname_field(""), "-");
        assert_eq!(hostname_field(&"h".repeat(300)).len(), MAX_HOSTNAME);

        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = SyslogSink::unix(dir.path().join("log")).expect("sink");
        sink.local_hostname = "this-machine".to_string();
        let mut alert = sample_alert();
        alert.hostname = None;
        let message = sink.message(&alert, at);
        assert_eq!(
            message,
            format!(
                "<26>1 2024-02-29T12:34:56.123456Z this-machine moat {} - - {}: {}",
                std::process::id(),
                alert.rule,
                alert.output
            )
        );
    }
}
