//! One HTTP/1.1 GET over a Unix socket, for the container runtime's API.
//!
//! Hand-rolled over `httparse` rather than taken from an HTTP client: the agent asks from a
//! blocking thread, one request per newly seen container, so an async client and its runtime
//! would be all cost; and ureq 2 cannot connect to a Unix socket. `Connection: close` keeps
//! the exchange to one request and lets a body without a length end at end of stream.

use std::io::{BufRead, BufReader, Cursor, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::RuntimeApiError;

/// The largest response body read (an inspect document is a few KiB).
pub(crate) const MAX_BODY: usize = 8 << 20;
/// The largest response head read.
const MAX_HEAD: usize = 64 << 10;
/// The most header fields a response head may have.
const MAX_HEADERS: usize = 64;
/// The longest chunk-size or trailer line of a chunked body.
const MAX_LINE: u64 = 1024;
/// Read and write timeout of the socket.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A response: its status code and whole body.
#[derive(Debug)]
pub(crate) struct Response {
    /// Status code (`200`, `404`).
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// How the body's end is found.
#[derive(Debug, PartialEq)]
enum Framing {
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// `GET path` on the API at `socket`, with the body capped at [`MAX_BODY`].
pub(crate) fn get(socket: &Path, path: &str) -> Result<Response, RuntimeApiError> {
    get_capped(socket, path, MAX_BODY)
}

/// `GET path` on the API at `socket`, with the body capped at `max_body` bytes.
pub(crate) fn get_capped(socket: &Path, path: &str, max_body: usize) -> Result<Response, RuntimeApiError> {
    let connect_error = |error| RuntimeApiError::Connect {
        socket: socket.to_path_buf(),
        error,
    };
    let mut stream = UnixStream::connect(socket).map_err(connect_error)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(connect_error)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(connect_error)?;
    exchange(&mut stream, path, max_body).map_err(|message| RuntimeApiError::Protocol {
        socket: socket.to_path_buf(),
        request: format!("GET {path}"),
        message,
    })
}

/// Sends the request and reads the response.
fn exchange(stream: &mut UnixStream, path: &str, max_body: usize) -> Result<Response, String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: moat\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending the request: {e}"))?;
    let (status, framing, rest) = read_head(stream)?;
    let mut reader = BufReader::new(Cursor::new(rest).chain(stream));
    let body = read_body(&mut reader, &framing, max_body)?;
    Ok(Response { status, body })
}

/// Reads until the response head is complete: its status, body framing and the bytes read
/// past it.
fn read_head(stream: &mut impl Read) -> Result<(u16, Framing, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = read_some(stream, &mut chunk)?;
        if n == 0 {
            return Err("the connection closed before the end of the response head".to_string());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = response.code.unwrap_or_default();
                let framing = framing(status, response.headers)?;
                return Ok((status, framing, buf[head_len..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(format!("the response head is longer than {MAX_HEAD} bytes"));
            }
            Ok(httparse::Status::Partial) => {}
            Err(error) => return Err(format!("malformed response head: {error}")),
        }
    }
}

/// One `read`, retried when interrupted by a signal.
fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> Result<usize, String> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            result => return result.map_err(|e| format!("reading the response: {e}")),
        }
    }
}

/// How the body of a response with `status` and `headers` ends (RFC 9112 section 6.3).
fn framing(status: u16, headers: &[httparse::Header<'_>]) -> Result<Framing, String> {
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Framing::Length(0));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    if let Some(coding) = header("Transfer-Encoding") {
        let last = coding.rsplit(',').next().unwrap_or_default().trim();
        if last.eq_ignore_ascii_case("chunked") {
            return Ok(Framing::Chunked);
        }
        return Err(format!("unsupported Transfer-Encoding {coding:?}"));
    }
    match header("Content-Length") {
        Some(length) => length
            .parse()
            .map(Framing::Length)
            .map_err(|_| format!("bad Content-Length {length:?}")),
        None => Ok(Framing::UntilClose),
    }
}

/// The error for a body over the limit.
fn too_large(max_body: usize) -> String {
    if max_body == MAX_BODY {
        format!(
            "the response body is larger than the {} MiB limit",
            MAX_BODY >> 20
        )
    } else {
        format!("the response body is larger than the {max_body} byte limit")
    }
}

/// Reads the body as `framing` says, refusing more than `max_body` bytes.
fn read_body(reader: &mut impl BufRead, framing: &Framing, max_body: usize) -> Result<Vec<u8>, String> {
    match *framing {
        Framing::Length(length) => {
            if length > max_body as u64 {
                return Err(too_large(max_body));
            }
            let mut body = Vec::new();
            read_exactly(reader, length, &mut body)?;
            Ok(body)
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            reader
                .take(max_body as u64 + 1)
                .read_to_end(&mut body)
                .map_err(|e| format!("reading the body: {e}"))?;
            if body.len() > max_body {
                return Err(too_large(max_body));
            }
            Ok(body)
        }
        Framing::Chunked => read_chunked(reader, max_body),
    }
}

/// Appends exactly `length` bytes to `body`.
fn read_exactly(reader: &mut impl BufRead, length: u64, body: &mut Vec<u8>) -> Result<(), String> {
    let before = body.len();
    reader
        .take(length)
        .read_to_end(body)
        .map_err(|e| format!("reading the body: {e}"))?;
    let got = body.len() - before;
    if (got as u64) < length {
        return Err(format!("the body ended after {got} of {length} bytes"));
    }
    Ok(())
}

/// Decodes a chunked body: `<hex size>[;ext]CRLF <data> CRLF` … `0 CRLF [trailers] CRLF`.
fn read_chunked(reader: &mut impl BufRead, max_body: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size line {line:?}"))?;
        if size == 0 {
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() as u64 + size > max_body as u64 {
            return Err(too_large(max_body));
        }
        read_exactly(reader, size, &mut body)?;
        let end = read_line(reader)?;
        if !end.is_empty() {
            return Err(format!("chunk data not followed by CRLF but {end:?}"));
        }
    }
}

/// One line of a chunked body without its line end; an error at end of stream.
fn read_line(reader: &mut impl BufRead) -> Result<String, String> {
    let mut line = Vec::new();
    reader
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("reading the chunked body: {e}"))?;
    if line.last() != Some(&b'\n') {
        return Err("the chunked body ended early or has an over-long line".to_string());
    }
    let text = String::from_utf8_lossy(&line);
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;
    use std::thread::JoinHandle;

    /// A Unix socket in a tempdir that answers one connection with `parts`, written one
    /// after the other (so that a head split over reads is exercised), and returns the
    /// request it read.
    pub(crate) struct CannedServer {
        _dir: tempfile::TempDir,
        pub socket: PathBuf,
        thread: Option<JoinHandle<String>>,
    }

    impl CannedServer {
        pub(crate) fn serve(parts: Vec<Vec<u8>>) -> CannedServer {
            Self::serve_many(vec![parts])
        }

        /// Answers one connection per entry of `responses`, in order.
        pub(crate) fn serve_many(responses: Vec<Vec<Vec<u8>>>) -> CannedServer {
            let dir = tempfile::tempdir().expect("tempdir");
            let socket = dir.path().join("api.sock");
            let listener = UnixListener::bind(&socket).expect("bind");
            let thread = std::thread::spawn(move || {
                let mut requests = String::new();
                for parts in responses {
                    let (mut conn, _) = listener.accept().expect("accept");
                    requests.push_str(&read_request(&mut conn));
                    for part in parts {
                        // The client may hang up early (a refused body); that is its right.
                        if conn.write_all(&part).and_then(|()| conn.flush()).is_err() {
                            break;
                        }
                    }
                }
                requests
            });
            CannedServer {
                _dir: dir,
                socket,
                thread: Some(thread),
            }
        }

        /// The requests the server read, once it has answered them all.
        pub(crate) fn requests(mut self) -> String {
            self.thread.take().expect("thread").join().expect("server thread")
        }
    }

    fn read_request(conn: &mut UnixStream) -> String {
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && conn.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
            request.push(byte[0]);
        }
        String::from_utf8_lossy(&request).into_owned()
    }

    fn text(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_content_length_body_is_read_and_the_request_is_well_formed() {
        let server = CannedServer::serve(text(&[
            "HTTP/1.1 200 OK\r\nContent-Ty",
            "pe: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":",
            "\"bcd\"}",
        ]));
        let response = get(&server.socket, "/containers/x/json").expect("response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"a\":\"bcd\"}");
        let request = server.requests();
        assert!(
            request.starts_with("GET /containers/x/json HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("\r\nConnection: close\r\n"), "{request}");
        assert!(request.contains("\r\nHost: localhost\r\n"), "{request}");
    }

    #[test]
    fn a_chunked_body_is_decoded() {
        let server = CannedServer::serve(text(&[
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "5;ext=1\r\nhello\r\n",
            "7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        ]));
        let response = get(&server.socket, "/version").expect("response");
        assert_eq!(response.body, b"hello, world");
    }

    #[test]
    fn a_body_without_length_runs_to_the_end_of_the_stream() {
        let server = CannedServer::serve(text(&["HTTP/1.1 200 OK\r\n\r\nall of it"]));
        assert_eq!(get(&server.socket, "/").expect("response").body, b"all of it");
    }

    #[test]
    fn bodies_over_the_cap_are_refused_naming_the_limit() {
        let declared = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        let server = CannedServer::serve(text(&[&declared]));
        let error = get(&server.socket, "/").unwrap_err().to_string();
        assert!(error.contains("larger than the 8 MiB limit"), "{error}");

        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n";
        let server = CannedServer::serve(text(&[chunked]));
        let error = get_capped(&server.socket, "/", 12).unwrap_err().to_string();
        assert!(error.contains("larger than the 12 byte limit"), "{error}");

        let server = CannedServer::serve(text(&["HTTP/1.1 200 OK\r\n\r\n0123456789abc"]));
        let error = get_capped(&server.socket, "/", 12).unwrap_err().to_string();
        assert!(error.contains("larger than the 12 byte limit"), "{error}");
    }

    #[test]
    fn truncated_and_malformed_responses_are_errors_naming_the_request() {
        let cases = [
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                "ended after 5 of 10 bytes",
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Le",
                "closed before the end of the response head",
            ),
            ("SMTP ready\r\n\r\n", "malformed response head"),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
                "bad Content-Length",
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                "unsupported Transfer-Encoding",
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "bad chunk size line",
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
                "ended early",
            ),
        ];
        for (canned, expected) in cases {
            let server = CannedServer::serve(text(&[canned]));
            let error = get(&server.socket, "/version").unwrap_err().to_string();
            assert!(error.contains(expected), "{canned:?}: {error}");
            assert!(error.contains("GET /version"), "{error}");
            assert!(error.contains("api.sock"), "{error}");
        }
    }

    #[test]
    fn a_missing_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = get(&dir.path().join("none.sock"), "/version").unwrap_err();
        assert!(matches!(error, RuntimeApiError::Connect { .. }), "{error}");
        assert!(error.to_string().contains("none.sock"), "{error}");
    }
}
