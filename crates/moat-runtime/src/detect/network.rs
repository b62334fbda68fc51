//! Network policy: outbound connections a workload's allow-list does not permit, and
//! listeners opened well after a container started.
//!
//! A connection (`connect` that succeeded or is in progress) from a container that at least
//! one allow entry selects must be allowed by one of the entries that select it, else it
//! raises [`OUTBOUND_RULE`], once per container and destination. Containers no entry selects
//! have no policy and are not checked; loopback destinations are always allowed.
//!
//! A `listen` more than `listener_grace_seconds` after the container started (its start time
//! when known, else its first event) raises [`LISTENER_RULE`], once per container and port.

use super::{build_alert, succeeded, AllowEntry, ContainerTable, Detector, Finding, NetworkConfig, Workload};
use crate::event::{Container, Endpoint, FdKind, RuntimeEvent};
use crate::replay::Alert;
use moat_rules::Priority;
use serde_json::Value;
use std::collections::HashSet;
use std::net::IpAddr;

/// Rule name of alerts for connections outside the allow-list.
pub const OUTBOUND_RULE: &str = "Moat: outbound connection not allowed";
/// Rule name of alerts for late listeners.
pub const LISTENER_RULE: &str = "Moat: listener opened after start";

/// `connect` on a non-blocking socket returns `-EINPROGRESS`.
const EINPROGRESS: i64 = -115;
/// Destinations and ports remembered as reported per container; past it, the memory starts over.
const MAX_REPORTED: usize = 1024;

/// Checks connections and listeners of containers.
pub struct NetworkDetector {
    allow: Vec<AllowEntry>,
    grace_ns: u64,
    containers: ContainerTable<Reported>,
}

/// What was reported for one container.
#[derive(Default)]
struct Reported {
    destinations: HashSet<(IpAddr, u16)>,
    listeners: HashSet<u16>,
}

fn first_time<T: std::hash::Hash + Eq>(set: &mut HashSet<T>, item: T) -> bool {
    if set.len() >= MAX_REPORTED {
        set.clear();
    }
    set.insert(item)
}

impl NetworkDetector {
    /// A detector with the policy of `config`.
    pub fn new(config: &NetworkConfig) -> NetworkDetector {
        NetworkDetector {
            allow: config.allow.clone(),
            grace_ns: config.listener_grace_seconds.saturating_mul(1_000_000_000),
            containers: ContainerTable::new(),
        }
    }
}

/// `Some(allowed)` when an entry of `allow` selects `container`; `None` when none does.
fn policy_allows(allow: &[AllowEntry], container: &Container, ip: IpAddr, port: u16) -> Option<bool> {
    let workload = Workload::of(container);
    let mut entries = allow.iter().filter(|e| e.workload.matches(&workload)).peekable();
    entries.peek()?;
    Some(entries.any(|entry| entry.allows(ip, port)))
}

/// The alert for a connection `event` outside the policy, unless already reported.
fn check_connect(
    allow: &[AllowEntry],
    event: &RuntimeEvent,
    container: &Container,
    reported: &mut Reported,
) -> Option<Alert> {
    let fd = event.fd.as_ref().filter(|fd| fd.kind.is_ip())?;
    let remote = fd.remote()?;
    let ip = remote.ip.to_canonical();
    if ip.is_loopback() || ip.is_unspecified() || policy_allows(allow, container, ip, remote.port)? {
        return None;
    }
    first_time(&mut reported.destinations, (ip, remote.port)).then(|| outbound_alert(event, remote))
}

/// The alert for a listen `event` `after_ns` after the container started, unless already
/// reported for its port.
fn check_listen(event: &RuntimeEvent, after_ns: u64, reported: &mut Reported) -> Option<Alert> {
    let fd = event.fd.as_ref();
    if fd.is_some_and(|fd| !fd.kind.is_ip() && fd.kind != FdKind::Other) {
        return None;
    }
    let local = fd.and_then(|fd| fd.local().or(fd.server.as_ref()));
    let port = local.map_or(0, |end| end.port);
    first_time(&mut reported.listeners, port).then(|| listener_alert(event, local, after_ns / 1_000_000_000))
}

impl Detector for NetworkDetector {
    fn name(&self) -> &'static str {
        "network"
    }

    fn observe(&mut self, event: &RuntimeEvent, out: &mut Vec<Alert>) {
        let Some(container) = &event.container else {
            return;
        };
        if self.containers.forget_on_init_exit(event) {
            return;
        }
        let (tracked, _) = self.containers.track(container, event.ts, Reported::default);
        let alert = match event.event_type.as_str() {
            "connect" if succeeded(event) || event.res == EINPROGRESS => {
                check_connect(&self.allow, event, container, &mut tracked.state)
            }
            "listen" if succeeded(event) => {
                let started_ns = container.start_ts.unwrap_or(tracked.first_seen_ns);
                let after_ns = event.ts.saturating_sub(started_ns);
                (after_ns > self.grace_ns)
                    .then(|| check_listen(event, after_ns, &mut tracked.state))
                    .flatten()
            }
            _ => None,
        };
        out.extend(alert);
    }
}

fn outbound_alert(event: &RuntimeEvent, remote: &Endpoint) -> Alert {
    let l4proto = event.fd.as_ref().and_then(|fd| fd.l4proto.clone());
    let finding = Finding {
        rule: OUTBOUND_RULE,
        priority: Priority::Notice,
        tags: &["container", "network", "mitre_command_and_control"],
        summary: "Outbound connection not allowed by the workload's network policy",
        fields: vec![
            ("fd.rip", Value::from(remote.ip.to_string())),
            ("fd.rport", Value::from(remote.port)),
            ("fd.l4proto", l4proto.map_or(Value::Null, Value::from)),
        ],
    };
    build_alert(event, event.ts, finding)
}

fn listener_alert(event: &RuntimeEvent, local: Option<&Endpoint>, after_s: u64) -> Alert {
    let finding = Finding {
        rule: LISTENER_RULE,
        priority: Priority::Warning,
        tags: &["container", "network", "mitre_persistence"],
        summary: "Listening socket opened after the container started",
        fields: vec![
            (
                "fd.lip",
                local.map_or(Value::Null, |end| Value::from(end.ip.to_string())),
            ),
            ("fd.lport", local.map_or(Value::Null, |end| Value::from(end.port))),
            ("listener.seconds_after_start", Value::from(after_s)),
        ],
    };
    build_alert(event, event.ts, finding)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::detect::DetectConfig;
    use crate::event::Fd;

    const SECOND: u64 = 1_000_000_000;

    fn config() -> NetworkConfig {
        let text = r#"
network:
  listener_grace_seconds: 30
  allow:
    - workload: { image: "localhost/web*", namespace: "shop" }
      destinations: ["10.0.0.0/8", "192.168.1.5/32"]
      ports: [53, 443]
    - workload: { image: "localhost/web*", namespace: "shop" }
      destinations: ["2001:db8::/32"]
    - workload: { name: "batch-*" }
      ports: [443]
"#;
        DetectConfig::from_text(text, "test.yaml")
            .expect("config")
            .network
    }

    fn web() -> Container {
        let mut c = container("web1", "localhost/web:2");
        c.labels
            .insert("io.kubernetes.pod.namespace".to_string(), "shop".to_string());
        c
    }

    fn endpoint(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.parse().expect("ip"),
            port,
            name: None,
        }
    }

    fn connect(ts: u64, ip: &str, port: u16, res: i64, c: &Container) -> RuntimeEvent {
        let mut e = event(ts, "connect", Some(c));
        e.res = res;
        let ipv6 = ip.contains(':');
        e.fd = Some(Fd {
            num: 4,
            kind: if ipv6 { FdKind::Ipv6 } else { FdKind::Ipv4 },
            client: Some(endpoint(if ipv6 { "fd00::2" } else { "172.17.0.2" }, 40000)),
            server: Some(endpoint(ip, port)),
            l4proto: Some("tcp".to_string()),
            ..Fd::default()
        });
        e
    }

    fn listen(ts: u64, port: u16, c: &Container) -> RuntimeEvent {
        let mut e = event(ts, "listen", Some(c));
        e.fd = Some(Fd {
            num: 5,
            kind: FdKind::Ipv4,
            server: Some(endpoint("0.0.0.0", port)),
            is_server: true,
            ..Fd::default()
        });
        e
    }

    fn unix_listen(ts: u64, c: &Container) -> RuntimeEvent {
        let mut e = event(ts, "listen", Some(c));
        e.fd = Some(Fd {
            num: 6,
            kind: FdKind::Unix,
            name: "/run/app.sock".to_string(),
            ..Fd::default()
        });
        e
    }

    fn run(detector: &mut NetworkDetector, events: &[RuntimeEvent]) -> Vec<Alert> {
        let mut out = Vec::new();
        for event in events {
            detector.observe(event, &mut out);
        }
        out
    }

    #[test]
    fn allowed_destinations_raise_nothing() {
        let web = web();
        let alerts = run(
            &mut NetworkDetector::new(&config()),
            &[
                connect(1, "10.1.2.3", 443, 0, &web),
                connect(2, "192.168.1.5", 53, EINPROGRESS, &web),
                connect(3, "2001:db8::7", 8080, 0, &web),
                connect(4, "::ffff:10.0.0.9", 53, 0, &web),
                connect(5, "127.0.0.1", 9999, 0, &web),
                connect(6, "::1", 9999, 0, &web),
            ],
        );
        assert!(alerts.is_empty(), "{alerts:#?}");
    }

    #[test]
    fn disallowed_destinations_raise_an_alert_once_each() {
        let web = web();
        let alerts = run(
            &mut NetworkDetector::new(&config()),
            &[
                connect(1, "192.168.1.6", 443, 0, &web),
                connect(2, "10.1.2.3", 80, EINPROGRESS, &web),
                connect(3, "2001:db9::1", 443, 0, &web),
                connect(4, "192.168.1.6", 443, 0, &web),
                // Failed: no connection, no alert.
                connect(5, "8.8.8.8", 443, -111, &web),
            ],
        );
        let got: Vec<(String, u64)> = alerts
            .iter()
            .map(|a| {
                let ip = a.output_fields["fd.rip"].as_str().unwrap_or_default().to_string();
                (ip, a.output_fields["fd.rport"].as_u64().unwrap_or_default())
            })
            .collect();
        let want = [("192.168.1.6", 443), ("10.1.2.3", 80), ("2001:db9::1", 443)];
        assert_eq!(got, want.map(|(ip, port)| (ip.to_string(), port)));
        assert_eq!(alerts[0].rule, OUTBOUND_RULE);
        assert_eq!(alerts[0].priority, Priority::Notice);
        assert_eq!(alerts[0].output_fields["k8s.ns.name"], "shop");
        assert_eq!(alerts[0].output_fields["fd.l4proto"], "tcp");
    }

    #[test]
    fn workloads_without_an_entry_and_the_host_have_no_policy() {
        let other_ns = container("web2", "localhost/web:2");
        let batch = container("batch-1", "worker:1");
        let mut host = connect(1, "8.8.8.8", 25, 0, &other_ns);
        host.container = None;
        let alerts = run(
            &mut NetworkDetector::new(&config()),
            &[
                connect(1, "8.8.8.8", 25, 0, &other_ns),
                host,
                connect(2, "8.8.8.8", 443, 0, &batch),
            ],
        );
        assert!(alerts.is_empty(), "{alerts:#?}");
        let alerts = run(
            &mut NetworkDetector::new(&config()),
            &[connect(3, "8.8.8.8", 25, 0, &batch)],
        );
        assert_eq!(alerts.len(), 1, "batch is selected by name and limited to 443");
    }

    #[test]
    fn a_listener_after_the_grace_period_raises_once_per_port() {
        let web = web();
        let mut detector = NetworkDetector::new(&config());
        let alerts = run(
            &mut detector,
            &[
                event(100 * SECOND, "openat", Some(&web)),
                listen(110 * SECOND, 8080, &web),
                listen(131 * SECOND, 4444, &web),
                listen(132 * SECOND, 4444, &web),
                listen(140 * SECOND, 5555, &web),
                unix_listen(150 * SECOND, &web),
            ],
        );
        let ports: Vec<&Value> = alerts.iter().map(|a| &a.output_fields["fd.lport"]).collect();
        assert_eq!(ports, [4444, 5555]);
        assert_eq!(alerts[0].rule, LISTENER_RULE);
        assert_eq!(alerts[0].priority, Priority::Warning);
        assert_eq!(alerts[0].output_fields["listener.seconds_after_start"], 31);
    }

    #[test]
    fn the_container_start_time_counts_when_known() {
        let mut web = web();
        web.start_ts = Some(50 * SECOND);
        let alerts = run(
            &mut NetworkDetector::new(&config()),
            &[listen(90 * SECOND, 8080, &web)],
        );
        assert_eq!(alerts.len(), 1, "started 40s before its first event seen");
        web.start_ts = Some(80 * SECOND);
        let alerts = run(
            &mut NetworkDetector::new(&config()),
            &[listen(90 * SECOND, 8080, &web)],
        );
        assert!(alerts.is_empty());
    }
}
