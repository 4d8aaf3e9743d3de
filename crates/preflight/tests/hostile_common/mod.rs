//! The pieces of `hostile_cli.rs`: `preflight serve` in its own directory,
//! what a row expects and what it got, a bounded HTTP/1.1 exchange, and
//! HTTP/2 by hand-built frames (RFC 9113 §4.1) or through hyper's client.

#![allow(dead_code)]

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::raw::request;
use preflight_test_kit::{Reply, Server};

pub const APP: &str = "https://app.example.com";
/// The longest a row may take to be answered or closed.
pub const ROW_DEADLINE: Duration = Duration::from_secs(15);

fn config_text(listen: u16, admin: u16, upstream: SocketAddr) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{listen}"
admin = "127.0.0.1:{admin}"
grace_period = "1s"
body_idle_timeout = "2s"

[cors]
allow_origins = ["{APP}"]
allow_headers = ["content-type"]
allow_credentials = true

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "PUT"]
upstream = "http://{upstream}"
"#
    )
}

/// `preflight serve` in front of a test upstream.
pub struct Gateway {
    pub child: Child,
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    pub upstream: Server,
    _dir: TempDir,
}

impl Gateway {
    pub fn start(name: &str) -> Gateway {
        let upstream = Server::start(|_| Reply::ok("from upstream")).expect("the upstream starts");
        let dir = TempDir::new(name);
        let ports = cli::free_ports(2);
        let file = dir.write(
            "preflight.toml",
            config_text(ports[0], ports[1], upstream.addr()),
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_preflight"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&file)
            .env("RUST_LOG", "info");
        let mut child = Child::spawn(&mut cmd);
        let admin = SocketAddr::from(([127, 0, 0, 1], ports[1]));
        cli::poll("the gateway to be ready", Duration::from_secs(20), || {
            child.assert_running();
            request(admin, "GET", "/readyz", &[])
                .ok()
                .filter(|r| r.status == 200)
        });
        Gateway {
            child,
            listen: SocketAddr::from(([127, 0, 0, 1], ports[0])),
            admin,
            upstream,
            _dir: dir,
        }
    }

    fn proc_status_kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("a {key} line"))
    }

    /// The gateway's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.proc_status_kib("VmRSS:")
    }

    /// The gateway's peak resident memory, in KiB.
    pub fn hwm_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM:")
    }

    /// An ordinary request is answered 200 (within the kit's 15 s deadline).
    pub fn still_serving(&self) -> Result<(), String> {
        match request(self.listen, "GET", "/api/after", &[("origin", APP)]) {
            Ok(r) if r.status == 200 => Ok(()),
            Ok(r) => Err(format!("the next request got {}", r.status)),
            Err(e) => Err(format!("the next request failed: {e}")),
        }
    }
}

/// What a row got.
#[derive(Debug, Clone)]
pub enum Outcome {
    Answered {
        status: u16,
        /// `Access-Control-Allow-Origin`, when the answer could be read whole
        /// enough to tell (`None` also when absent).
        allow_origin: Option<String>,
    },
    /// The connection ended without an answer; why, as seen.
    Closed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Answered {
                status,
                allow_origin: Some(_),
            } => write!(f, "{status} with CORS headers"),
            Outcome::Answered { status, .. } => write!(f, "{status}"),
            Outcome::Closed(why) => write!(f, "closed: {why}"),
        }
    }
}

/// What a row must get.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// This status, with `Access-Control-Allow-Origin` for the allowed origin.
    Allowed(u16),
    /// This status, without `Access-Control-Allow-Origin`.
    Refused(u16),
    /// This status (the request sends no `Origin`).
    Status(u16),
    /// 431, or the connection closed without an answer.
    TooLargeOrClosed,
    /// A 4xx, or the connection closed without an answer.
    ClientErrorOrClosed,
    /// The connection closed (for HTTP/2: a GOAWAY, or the end).
    Closed,
}

impl Expect {
    pub fn check(&self, got: &Outcome) -> Result<(), String> {
        match (self, got) {
            (
                Expect::Allowed(want),
                Outcome::Answered {
                    status,
                    allow_origin,
                },
            ) if status == want => match allow_origin.as_deref() {
                Some(APP) => Ok(()),
                other => Err(format!("Access-Control-Allow-Origin {other:?}, not {APP}")),
            },
            (
                Expect::Refused(want),
                Outcome::Answered {
                    status,
                    allow_origin,
                },
            ) if status == want => match allow_origin {
                None => Ok(()),
                Some(o) => Err(format!("Access-Control-Allow-Origin {o:?} on a refusal")),
            },
            (Expect::Status(want), Outcome::Answered { status, .. }) if status == want => Ok(()),
            (Expect::TooLargeOrClosed, Outcome::Answered { status: 431, .. }) => Ok(()),
            (Expect::TooLargeOrClosed | Expect::ClientErrorOrClosed, Outcome::Closed(_)) => Ok(()),
            (Expect::ClientErrorOrClosed, Outcome::Answered { status, .. })
                if (400..500).contains(status) =>
            {
                Ok(())
            }
            (Expect::Closed, Outcome::Closed(_)) => Ok(()),
            _ => Err(format!("expected {self:?}")),
        }
    }
}

/// Write `bytes` from a thread (a server that answers early may stop
/// reading; its errors end the writing) while reading the answer here,
/// until the server closes or [`ROW_DEADLINE`] passes.
fn write_and_read(
    addr: SocketAddr,
    bytes: &[u8],
    read: impl FnOnce(&mut TcpStream) -> Outcome,
) -> Outcome {
    let mut stream = match TcpStream::connect_timeout(&addr, ROW_DEADLINE) {
        Ok(s) => s,
        Err(e) => return Outcome::Closed(format!("connect failed: {e}")),
    };
    let _ = stream.set_read_timeout(Some(ROW_DEADLINE));
    let _ = stream.set_write_timeout(Some(ROW_DEADLINE));
    let Ok(mut writer) = stream.try_clone() else {
        return Outcome::Closed("the socket cannot be cloned".into());
    };
    let bytes = bytes.to_vec();
    let written = std::thread::spawn(move || {
        let mut n = 0usize;
        for piece in bytes.chunks(64 * 1024) {
            if writer.write_all(piece).is_err() {
                break;
            }
            n += piece.len();
        }
        n
    });
    let outcome = read(&mut stream);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let n = written.join().unwrap_or(0);
    match outcome {
        Outcome::Closed(why) => Outcome::Closed(format!("{why} after {} KiB written", n / 1024)),
        answered => answered,
    }
}

pub mod h1 {
    use super::*;

    /// Send raw HTTP/1.1 bytes; the answer's status line and headers, or how
    /// the connection ended.
    pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> Outcome {
        write_and_read(addr, bytes, |stream| {
            let started = Instant::now();
            let mut raw = Vec::new();
            let mut buf = [0u8; 16 * 1024];
            let end = loop {
                if started.elapsed() > ROW_DEADLINE {
                    break "no answer within the deadline".to_string();
                }
                match stream.read(&mut buf) {
                    Ok(0) => break "closed without an answer".to_string(),
                    Ok(n) => {
                        raw.extend_from_slice(&buf[..n]);
                        if raw.len() > 1 << 20 {
                            break "an answer over 1 MiB".to_string();
                        }
                    }
                    Err(e) => break format!("read error: {e}"),
                }
            };
            match preflight_test_kit::raw::Response::parse(&raw) {
                Ok(r) => Outcome::Answered {
                    status: r.status,
                    allow_origin: r.header("access-control-allow-origin").map(str::to_string),
                },
                Err(_) if raw.is_empty() => Outcome::Closed(end),
                Err(_) => Outcome::Closed(format!(
                    "{end}; {} bytes that are not an answer: {:?}",
                    raw.len(),
                    String::from_utf8_lossy(&raw[..raw.len().min(80)])
                )),
            }
        })
    }
}

pub mod h2 {
    //! HTTP/2 by hand (RFC 9113) for the floods, and through hyper's client
    //! for requests that should be answered.

    use super::*;

    const DATA: u8 = 0x0;
    const HEADERS: u8 = 0x1;
    const RST_STREAM: u8 = 0x3;
    const SETTINGS: u8 = 0x4;
    const GOAWAY: u8 = 0x7;
    const CONTINUATION: u8 = 0x9;
    const END_STREAM: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;
    /// RFC 9113 §7.
    const CANCEL: u32 = 0x8;

    /// One frame: a 3-byte length, the type, the flags, a 4-byte stream id.
    pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = Vec::with_capacity(9 + payload.len());
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.push(kind);
        out.push(flags);
        out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// An HPACK string without Huffman coding (RFC 7541 §5.2); the length
    /// as a 7-bit prefix integer (§5.1).
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        integer(out, 0x00, 7, s.len());
        out.extend_from_slice(s);
    }

    fn integer(out: &mut Vec<u8>, flags: u8, prefix: u8, mut n: usize) {
        let max = (1usize << prefix) - 1;
        if n < max {
            out.push(flags | n as u8);
            return;
        }
        out.push(flags | max as u8);
        n -= max;
        while n >= 128 {
            out.push((n % 128 + 128) as u8);
            n /= 128;
        }
        out.push(n as u8);
    }

    /// The header block of `GET path` (RFC 7541 Appendix A: index 2 is
    /// `:method: GET`, 6 `:scheme: http`, 4 `:path`, 1 `:authority`), then
    /// `headers` as literals without indexing.
    pub fn block(path: &str, authority: &str, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut b = vec![0x82, 0x86];
        b.push(0x04);
        string(&mut b, path.as_bytes());
        b.push(0x01);
        string(&mut b, authority.as_bytes());
        for (k, v) in headers {
            b.push(0x00);
            string(&mut b, k.as_bytes());
            string(&mut b, v.as_bytes());
        }
        b
    }

    /// A GET on `stream`: HEADERS and, past 16 KiB (the default
    /// SETTINGS_MAX_FRAME_SIZE), CONTINUATION frames.
    pub fn get(stream: u32, path: &str, authority: &str, headers: &[(&str, &str)]) -> Vec<u8> {
        let b = block(path, authority, headers);
        let pieces: Vec<&[u8]> = b.chunks(16 * 1024).collect();
        let mut out = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let last = i + 1 == pieces.len();
            let end_headers = if last { END_HEADERS } else { 0 };
            if i == 0 {
                out.extend(frame(HEADERS, END_STREAM | end_headers, stream, piece));
            } else {
                out.extend(frame(CONTINUATION, end_headers, stream, piece));
            }
        }
        out
    }

    /// `count` streams, each opened by a complete GET and at once cancelled
    /// with RST_STREAM (CVE-2023-44487).
    pub fn rapid_reset(count: u32, authority: &str) -> Vec<u8> {
        let b = block("/api/x", authority, &[]);
        let mut out = Vec::new();
        for i in 0..count {
            let id = 2 * i + 1;
            out.extend(frame(HEADERS, END_STREAM | END_HEADERS, id, &b));
            out.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
        }
        out
    }

    /// A HEADERS frame without END_HEADERS followed by `total` bytes of
    /// CONTINUATION frames, none of them ending the block (the CONTINUATION
    /// flood of April 2024): each 16 KiB of small literal fields.
    pub fn continuation_flood(stream: u32, total: usize, authority: &str) -> Vec<u8> {
        let mut out = frame(
            HEADERS,
            END_STREAM,
            stream,
            &block("/api/x", authority, &[]),
        );
        let mut piece = Vec::new();
        while piece.len() + 8 <= 16 * 1024 {
            piece.push(0x00);
            string(&mut piece, b"x-a");
            string(&mut piece, b"b");
        }
        let mut sent = 0;
        while sent < total {
            out.extend(frame(CONTINUATION, 0, stream, &piece));
            sent += piece.len();
        }
        out
    }

    /// The client preface and an empty SETTINGS, then `frames`.
    pub fn connection(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        out.extend(frame(SETTINGS, 0, 0, &[]));
        for f in frames {
            out.extend_from_slice(f);
        }
        out
    }

    fn error_name(code: u32) -> String {
        match code {
            0x0 => "NO_ERROR".into(),
            0x1 => "PROTOCOL_ERROR".into(),
            0x2 => "INTERNAL_ERROR".into(),
            0x6 => "FRAME_SIZE_ERROR".into(),
            0x9 => "COMPRESSION_ERROR".into(),
            0xb => "ENHANCE_YOUR_CALM".into(),
            n => format!("error {n:#x}"),
        }
    }

    /// The `:status` of a response header block when it is its first field
    /// (as h2 writes it): indexed (RFC 7541 Appendix A, 8 to 14) or a literal
    /// with the indexed name 8, Huffman-coded digits or not.
    fn status_of(block: &[u8]) -> Option<u16> {
        let first = *block.first()?;
        let statuses = [200, 204, 206, 304, 400, 404, 500];
        if (0x88..=0x8e).contains(&first) {
            return Some(statuses[(first - 0x88) as usize]);
        }
        if first & 0x0f != 8 || !matches!(first & 0xf0, 0x00 | 0x10 | 0x40) {
            return None;
        }
        let head = *block.get(1)?;
        let len = (head & 0x7f) as usize;
        let value = block.get(2..2 + len)?;
        let text = if head & 0x80 != 0 {
            huffman_digits(value)?
        } else {
            String::from_utf8(value.to_vec()).ok()?
        };
        text.parse().ok()
    }

    /// Huffman-coded decimal digits (RFC 7541 Appendix B: `0`-`2` are 5-bit
    /// codes 0-2, `3`-`9` 6-bit codes 0x19-0x1f), padded with ones.
    fn huffman_digits(bytes: &[u8]) -> Option<String> {
        let mut bits: Vec<u8> = Vec::new();
        for b in bytes {
            for i in (0..8).rev() {
                bits.push((b >> i) & 1);
            }
        }
        let mut out = String::new();
        let mut i = 0;
        while i < bits.len() {
            if bits[i..].iter().all(|b| *b == 1) && bits.len() - i < 8 {
                return Some(out);
            }
            let take = |n: usize| -> Option<u32> {
                bits.get(i..i + n)
                    .map(|s| s.iter().fold(0u32, |a, b| a * 2 + *b as u32))
            };
            match take(5)? {
                c @ 0..=2 => {
                    out.push(char::from(b'0' + c as u8));
                    i += 5;
                }
                _ => match take(6)? {
                    c @ 0x19..=0x1f => {
                        out.push(char::from(b'3' + (c - 0x19) as u8));
                        i += 6;
                    }
                    _ => return None,
                },
            }
        }
        Some(out)
    }

    /// Send raw HTTP/2 bytes; read frames until a GOAWAY, the end of the
    /// connection, or the deadline. A response HEADERS on a stream is the
    /// answer; otherwise the connection's end is.
    pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> Outcome {
        write_and_read(addr, bytes, |stream| {
            let started = Instant::now();
            let mut answered: Option<u16> = None;
            let mut reset = 0usize;
            let mut head = [0u8; 9];
            let end = loop {
                if started.elapsed() > ROW_DEADLINE {
                    break "still open at the deadline".to_string();
                }
                if let Err(e) = stream.read_exact(&mut head) {
                    break format!("ended ({})", e.kind());
                }
                let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
                if len > 1 << 24 {
                    break "a frame over 16 MiB".to_string();
                }
                let mut payload = vec![0u8; len];
                if let Err(e) = stream.read_exact(&mut payload) {
                    break format!("ended in a frame ({})", e.kind());
                }
                match head[3] {
                    HEADERS if answered.is_none() => answered = status_of(&payload),
                    RST_STREAM => reset += 1,
                    GOAWAY if payload.len() >= 8 => {
                        let code =
                            u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
                        break format!("GOAWAY {}", error_name(code));
                    }
                    DATA | SETTINGS => {}
                    _ => {}
                }
                if answered.is_some() {
                    break String::new();
                }
            };
            match answered {
                Some(status) => Outcome::Answered {
                    status,
                    allow_origin: None,
                },
                None => Outcome::Closed(format!("{end}, {reset} RST_STREAM seen")),
            }
        })
    }

    /// A GET through hyper's HTTP/2 client (prior knowledge): the status and
    /// `Access-Control-Allow-Origin`, or how it failed.
    pub fn client_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Outcome {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => return Outcome::Closed(format!("no runtime: {e}")),
        };
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let path = path.to_string();
        runtime.block_on(async move {
            let go = async {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                let (mut sender, conn) = hyper::client::conn::http2::handshake(
                    hyper_util::rt::TokioExecutor::new(),
                    hyper_util::rt::TokioIo::new(stream),
                )
                .await
                .map_err(|e| format!("handshake: {e}"))?;
                tokio::spawn(conn);
                let mut b = http::Request::get(format!("http://{addr}{path}"));
                for (k, v) in &headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                let req = b
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .map_err(|e| format!("request: {e}"))?;
                let res = sender
                    .send_request(req)
                    .await
                    .map_err(|e| format!("send: {e}"))?;
                Ok::<_, String>(Outcome::Answered {
                    status: res.status().as_u16(),
                    allow_origin: res
                        .headers()
                        .get("access-control-allow-origin")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                })
            };
            match tokio::time::timeout(ROW_DEADLINE, go).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(why)) => Outcome::Closed(why),
                Err(_) => Outcome::Closed("no answer within the deadline".into()),
            }
        })
    }
}
