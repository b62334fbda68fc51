//! Alerts POSTed as JSON to an HTTP endpoint.

use super::{RespondError, Sink};
use crate::replay::Alert;
use std::time::Duration;
use url::{Host, Url};

/// POSTs each alert's JSON (`Content-Type: application/json`) to a URL. Any answer but 2xx
/// is an error; redirects are not followed.
///
/// The sink is named after the URL's origin only (`webhook https://hooks.example.com`):
/// webhook paths and queries often carry the credential, and names end up in logs.
#[derive(Debug)]
pub struct WebhookSink {
    name: String,
    url: Url,
    agent: ureq::Agent,
}

impl WebhookSink {
    /// A sink POSTing to `url` (`http` or `https`), each request given at most `timeout`.
    /// Proxies from the environment are used, except for loopback hosts.
    pub fn new(url: &str, timeout: Duration) -> Result<WebhookSink, RespondError> {
        let parsed = Url::parse(url).map_err(|error| RespondError::Config {
            sink: "webhook".to_string(),
            message: format!("invalid URL: {error}"),
        })?;
        let name = format!("webhook {}", parsed.origin().ascii_serialization());
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(RespondError::Config {
                sink: name,
                message: "the URL must be http:// or https:// with a host".to_string(),
            });
        }
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .user_agent(concat!("moat/", env!("CARGO_PKG_VERSION")))
            // ureq 2 ignores NO_PROXY: never send loopback traffic through a proxy.
            .try_proxy_from_env(!is_loopback(&parsed))
            .build();
        Ok(WebhookSink {
            name,
            url: parsed,
            agent,
        })
    }

    /// The error of a failed request, without the URL's path and query.
    fn transport_error(&self, transport: &ureq::Transport) -> RespondError {
        let mut message = transport.kind().to_string();
        if let Some(detail) = transport.message() {
            message = format!("{message}: {detail}");
        }
        if let Some(source) = std::error::Error::source(transport) {
            message = format!("{message}: {source}");
        }
        RespondError::HttpTransport {
            sink: self.name.clone(),
            message,
        }
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn send(&mut self, alert: &Alert) -> Result<(), RespondError> {
        let body = serde_json::to_string(alert).map_err(|source| RespondError::Encode {
            sink: self.name.clone(),
            source,
        })?;
        let answer = self
            .agent
            .post(self.url.as_str())
            .set("Content-Type", "application/json")
            .send_string(&body);
        let status = match answer {
            Ok(response) => response.status(),
            Err(ureq::Error::Status(status, _)) => status,
            Err(ureq::Error::Transport(transport)) => return Err(self.transport_error(&transport)),
        };
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(RespondError::HttpStatus {
                sink: self.name.clone(),
                status,
            })
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::sample_alert;
    use serde_json::Value;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    /// One request as the server saw it.
    struct Request {
        head: Vec<String>,
        body: Vec<u8>,
    }

    /// Serves one request on a loopback port, answering `status`; returns the base URL and
    /// the request it got.
    fn serve_once(status: &'static str) -> (String, JoinHandle<Request>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            // Only so that a broken client cannot hang the test forever.
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            let mut reader = BufReader::new(stream);
            let head = read_head(&mut reader);
            let length = content_length(&head);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            reader.get_mut().write_all(answer.as_bytes()).expect("answer");
            Request { head, body }
        });
        (url, server)
    }

    fn read_head(reader: &mut impl BufRead) -> Vec<String> {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("head line");
            let line = line.trim_end().to_string();
            if line.is_empty() {
                return head;
            }
            head.push(line);
        }
    }

    fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
        head.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn content_length(head: &[String]) -> usize {
        header(head, "content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn posts_the_alert_as_json() {
        let (base, server) = serve_once("200 OK");
        let mut sink = WebhookSink::new(&format!("{base}/hooks/abc?token=s3cret"), Duration::from_secs(30))
            .expect("sink");
        assert_eq!(sink.name(), format!("webhook {base}"));
        sink.send(&sample_alert()).expect("send");
        let request = server.join().expect("server");
        assert_eq!(request.head[0], "POST /hooks/abc?token=s3cret HTTP/1.1");
        assert_eq!(header(&request.head, "content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(body, serde_json::to_value(sample_alert()).expect("JSON"));
        assert_eq!(body["rule"], "Shell in container");
    }

    #[test]
    fn a_server_error_names_the_webhook_and_the_status_but_not_the_token() {
        let (base, server) = serve_once("500 Internal Server Error");
        let mut sink = WebhookSink::new(&format!("{base}/hooks/abc?token=s3cret"), Duration::from_secs(30))
            .expect("sink");
        let error = sink.send(&sample_alert()).expect_err("500");
        server.join().expect("server");
        assert!(matches!(error, RespondError::HttpStatus { status: 500, .. }));
        assert_eq!(
            error.to_string(),
            format!("webhook {base}: the server answered HTTP 500")
        );
    }

    #[test]
    fn a_refused_connection_is_a_transport_error() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        drop(listener);
        let mut sink =
            WebhookSink::new(&format!("{base}/hooks/s3cret"), Duration::from_secs(30)).expect("sink");
        let error = sink.send(&sample_alert()).expect_err("nobody listens");
        let text = error.to_string();
        assert!(matches!(error, RespondError::HttpTransport { .. }), "{text}");
        assert!(
            text.starts_with(&format!("webhook {base}: request failed: ")),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn only_http_urls_with_a_host_are_accepted() {
        let timeout = Duration::from_secs(1);
        let error = WebhookSink::new("not a url", timeout).expect_err("invalid");
        assert!(error.to_string().starts_with("webhook: invalid URL: "), "{error}");
        let error = WebhookSink::new("ftp://files.example/drop", timeout).expect_err("ftp");
        assert!(matches!(error, RespondError::Config { .. }), "{error}");
        assert!(WebhookSink::new("https://hooks.example/x", timeout).is_ok());
    }
}
