//! What the load, reload-under-load and shutdown-under-load tests share
//! (RELIABILITY.md, "Load", "Reload under load", "Shutdown under load"): their
//! scale, the real binary in front of the test kit's server, a raw HTTP/1.1
//! client on tokio that tells a reset from a clean close, the file limit, the
//! gateway's memory, and percentiles.
//!
//! `PREFLIGHT_RELIABILITY=long` (set by `bench/reliability.sh`) runs the long
//! versions; anything else, the short ones that `cargo test` runs. Each test
//! prints its figures on lines starting with `figure:`.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::raw::request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const APP: &str = "https://app.example.com";

/// How long starting the gateway may take.
pub const START: Duration = Duration::from_secs(20);

/// The longest wait for one answer under load (10,000 requests sent at
/// once to a debug build on a busy machine took up to 20 s).
pub const ANSWER: Duration = Duration::from_secs(60);

/// The largest response head and body the client reads.
const HEAD_MAX: usize = 64 * 1024;
const BODY_MAX: usize = 64 * 1024 * 1024;

/// True for the long versions (`PREFLIGHT_RELIABILITY=long`).
pub fn long() -> bool {
    std::env::var("PREFLIGHT_RELIABILITY").is_ok_and(|v| v == "long")
}

/// `short` in `cargo test`, `long` under `bench/reliability.sh`.
pub fn scale<T>(short: T, long_value: T) -> T {
    if long() {
        long_value
    } else {
        short
    }
}

/// A multi-threaded runtime for the load client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the client's runtime")
}

/// Raise this process's soft limit on open files to `want` (at most the hard
/// limit), with prlimit(1) (util-linux) on our own pid: no unsafe code in the
/// tests. The gateway started afterwards inherits it. Returns the soft limit
/// in force; fails the test when `need` does not fit the hard limit.
pub fn raise_file_limit(want: u64, need: u64) -> u64 {
    let (_, hard) = file_limits();
    let target = want.min(hard);
    let out = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={target}:{hard}"))
        .output()
        .unwrap_or_else(|e| panic!("prlimit (util-linux) is needed for this test: {e}"));
    assert!(
        out.status.success(),
        "prlimit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (soft, hard) = file_limits();
    assert!(
        soft >= need,
        "this test needs {need} open files; the soft limit is {soft} (hard {hard}): raise `ulimit -Hn`"
    );
    soft
}

/// (soft, hard) limit on open files of this process.
pub fn file_limits() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut numbers = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .map(|n| {
            if n == "unlimited" {
                Ok(u64::MAX)
            } else {
                n.parse::<u64>()
            }
        });
    let soft = numbers.next().and_then(Result::ok).expect("the soft limit");
    let hard = numbers.next().and_then(Result::ok).expect("the hard limit");
    (soft, hard)
}

/// The resident memory of process `pid`, in KiB (`VmRSS` in /proc/PID/status).
pub fn rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    text.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("a VmRSS line")
}

/// The `p`-th percentile (0 to 100) of `xs`, nearest rank.
pub fn percentile(xs: &mut [Duration], p: f64) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    xs.sort();
    let rank = ((p / 100.0) * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

/// Milliseconds, for figures.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `preflight serve` with a configuration, ready; killed (by its pid) on drop.
pub struct Gateway {
    pub child: Child,
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    pub config: PathBuf,
    pub dir: TempDir,
}

/// The configuration's `[server]` listen and admin lines for these ports;
/// `body` is the rest of the file.
pub fn server_lines(listen: u16, admin: u16) -> String {
    format!("listen = \"127.0.0.1:{listen}\"\nadmin = \"127.0.0.1:{admin}\"\n")
}

impl Gateway {
    /// Start `preflight serve` with the text `make(listen_port, admin_port)`
    /// (pinned to the core in `PREFLIGHT_GATEWAY_CPU` when set, with taskset)
    /// and wait until `/readyz` says 200 and the listener accepts.
    pub fn start(name: &str, make: impl FnOnce(u16, u16) -> String) -> Gateway {
        let dir = TempDir::new(name);
        let ports = cli::free_ports(2);
        let listen = SocketAddr::from(([127, 0, 0, 1], ports[0]));
        let admin = SocketAddr::from(([127, 0, 0, 1], ports[1]));
        let config = dir.write("preflight.toml", make(ports[0], ports[1]));
        let bin = env!("CARGO_BIN_EXE_preflight");
        let mut cmd = match std::env::var("PREFLIGHT_GATEWAY_CPU") {
            Ok(cpu) if !cpu.is_empty() => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu).arg(bin);
                c
            }
            _ => Command::new(bin),
        };
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info");
        let mut child = Child::spawn(&mut cmd);
        cli::poll("the gateway to be ready", START, || {
            child.assert_running();
            let ready = request(admin, "GET", "/readyz", &[]).is_ok_and(|r| r.status == 200);
            (ready && std::net::TcpStream::connect(listen).is_ok()).then_some(())
        });
        Gateway {
            child,
            listen,
            admin,
            config,
            dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The admin listener's `/metrics` text.
    pub fn metrics(&self) -> String {
        request(self.admin, "GET", "/metrics", &[])
            .map(|r| r.body)
            .unwrap_or_default()
    }

    /// The value of the metric line starting with `prefix` (0 when absent).
    pub fn metric(&self, prefix: &str) -> f64 {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

/// How a request failed, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection was refused (nothing listens).
    Refused,
    /// The connection was reset (RST), before or during the answer.
    Reset,
    /// The peer closed the connection cleanly before any byte of an answer:
    /// what a client may retry on a new connection.
    ClosedBeforeAnswer,
    /// The peer closed the connection cleanly in the middle of an answer.
    ClosedMidAnswer,
    /// No answer in time.
    TimedOut,
    /// Anything else (a malformed answer, another I/O error).
    Other(String),
}

fn failure(e: std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::ConnectionRefused => Failure::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            Failure::Reset
        }
        _ => Failure::Other(e.to_string()),
    }
}

/// An answer as read off the wire.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when the answer says the connection closes after it.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// One client connection, kept alive between requests.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    addr: SocketAddr,
}

/// A request's head for `addr`: `method path`, then `headers`.
pub fn head(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut h = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n");
    for (n, v) in headers {
        h.push_str(&format!("{n}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

impl Conn {
    /// Connect, within `ANSWER`.
    pub async fn open(addr: SocketAddr) -> Result<Conn, Failure> {
        match tokio::time::timeout(ANSWER, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(Conn {
                    stream,
                    buf: Vec::new(),
                    addr,
                })
            }
            Ok(Err(e)) => Err(failure(e)),
            Err(_) => Err(Failure::TimedOut),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Send `head` then `body` (written in `pieces`, `pause` apart) and read
    /// the answer.
    pub async fn send_slowly(
        &mut self,
        head: &[u8],
        body: &[u8],
        pieces: usize,
        pause: Duration,
    ) -> Result<Answer, Failure> {
        self.stream.write_all(head).await.map_err(failure)?;
        let piece = body.len().div_ceil(pieces.max(1)).max(1);
        for (i, chunk) in body.chunks(piece).enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            self.stream.write_all(chunk).await.map_err(failure)?;
        }
        self.read_answer(head.starts_with(b"HEAD ")).await
    }

    /// Send a request (head and body at once) and read its answer.
    pub async fn send(&mut self, head: &[u8], body: &[u8]) -> Result<Answer, Failure> {
        self.send_slowly(head, body, 1, Duration::ZERO).await
    }

    /// Read one answer, within `ANSWER`.
    pub async fn read_answer(&mut self, head_only: bool) -> Result<Answer, Failure> {
        match tokio::time::timeout(ANSWER, self.read_answer_now(head_only)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::TimedOut),
        }
    }

    /// Read more into the buffer; a clean end is `ClosedBeforeAnswer` when
    /// nothing of the answer came yet.
    async fn fill(&mut self, started: bool) -> Result<(), Failure> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await.map_err(failure)?;
        if n == 0 {
            return Err(if started || !self.buf.is_empty() {
                Failure::ClosedMidAnswer
            } else {
                Failure::ClosedBeforeAnswer
            });
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn read_answer_now(&mut self, head_only: bool) -> Result<Answer, Failure> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > HEAD_MAX {
                return Err(Failure::Other("answer head too long".into()));
            }
            self.fill(false).await?;
        };
        let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end);
        let mut lines = text.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Failure::Other(format!("not an answer: {text:?}")))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(answer);
        }
        let chunked = answer
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            answer.body = self.read_chunked().await?;
        } else if let Some(len) = answer.header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| Failure::Other(format!("content-length {len:?}")))?;
            if len > BODY_MAX {
                return Err(Failure::Other(format!("a body of {len} bytes")));
            }
            while self.buf.len() < len {
                self.fill(true).await?;
            }
            answer.body = self.buf.drain(..len).collect();
        } else {
            // Delimited by the end of the connection.
            loop {
                match self.fill(true).await {
                    Ok(()) if self.buf.len() <= BODY_MAX => {}
                    Ok(()) => return Err(Failure::Other("body too long".into())),
                    Err(Failure::ClosedMidAnswer) => break,
                    Err(e) => return Err(e),
                }
            }
            answer.body = std::mem::take(&mut self.buf);
        }
        Ok(answer)
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.buf.len() > HEAD_MAX {
                    return Err(Failure::Other("chunk size line too long".into()));
                }
                self.fill(true).await?;
            };
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| Failure::Other(format!("chunk size {line:?}")))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        self.buf.drain(..i + 2);
                        if i == 0 {
                            return Ok(body);
                        }
                        continue;
                    }
                    self.fill(true).await?;
                }
            }
            if body.len() + size > BODY_MAX {
                return Err(Failure::Other("body too long".into()));
            }
            while self.buf.len() < size + 2 {
                self.fill(true).await?;
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }

    /// Wait (at most `within`) for the peer to end the connection: `Ok` for
    /// a clean end (bytes read before it are discarded), `Err(Reset)` for a
    /// reset, `Err(TimedOut)` if it stays open.
    pub async fn closed_within(&mut self, within: Duration) -> Result<(), Failure> {
        let deadline = Instant::now() + within;
        let mut chunk = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => return Err(failure(e)),
                Err(_) => return Err(Failure::TimedOut),
            }
        }
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}
