//! The express lane (docs/behaviour.md, "The express lane"): an allowed
//! preflight over HTTP/1.1 answered from the request head's bytes, before
//! hyper takes the connection.
//!
//! A preflight is the one request the gateway answers without its upstream,
//! and the one browsers send most (one before each non-simple request whose
//! answer is not cached). Through hyper it costs a parsed request (a
//! `HeaderMap` of every field, a `Request`), the service stack and a
//! response map; here it costs one parse of the head with `httparse` (the
//! parser hyper itself uses), the route's look-up, the same CORS decision
//! (`Policy::decide` with the route layer's methods) and the route's
//! prebuilt answer written out, with no allocation per request.
//!
//! The lane takes only what it can answer exactly as the full path would,
//! and hands the connection to hyper, bytes and all, at the first request
//! that is anything else: not `OPTIONS`, not HTTP/1.1, a head that does not
//! parse or is not whole within [`MAX_HEAD`], a target that is not a plain
//! origin-form path (one [`crate::path::normalize`] leaves as it is), not
//! exactly one `Host`, `Origin` and `Access-Control-Request-Method`, a body
//! or an upgrade (`Content-Length`, `Transfer-Encoding`, `Upgrade`,
//! `Expect`), a `Connection` other than `keep-alive`, header fields over
//! `max_request_header_bytes`, a path without a route or a route without
//! CORS, and any decision but an allowed preflight answered `204`. From then
//! on hyper serves the connection as it serves every other. The watchdog
//! (`crate::conn`) times the lane as it times hyper: both read and write
//! through the same [`Watched`] stream and count requests alike.

use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http::header::ACCESS_CONTROL_REQUEST_HEADERS;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use preflight_core::{CorsRequest, Decision};
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::access_log::AccessLog;
use crate::config::Route;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::observe::{self, SeenRef};
use crate::watchdog::{Watched, DRAIN};

/// The longest request head the lane waits for; a longer one goes to hyper.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// The most header fields the lane parses; more go to hyper (its limit is 100).
const MAX_FIELDS: usize = 48;
/// The most answers written at once, for requests sent without waiting
/// (pipelined): the output buffer stays small.
const MAX_BATCH: usize = 32;
/// `Access-Control-Request-Headers` fields taken (a browser sends one).
const MAX_ACRH_FIELDS: usize = 4;

/// The lane for one client connection.
pub(crate) struct Lane {
    gateway: Gateway,
    remote: SocketAddr,
    /// The counters of the last route answered (kept with its route, so a
    /// reload's new route is never taken for it).
    counters: Option<(Arc<Route>, [Counter; 2])>,
}

impl Lane {
    pub(crate) fn new(gateway: Gateway, remote: SocketAddr) -> Lane {
        Lane {
            gateway,
            remote,
            counters: None,
        }
    }
}

/// What one look at the front of the buffer found.
enum Step {
    /// A request answered (its bytes consumed, its answer in the output).
    Answered,
    /// The head is not whole yet.
    NeedMore,
    /// Not the lane's: hyper answers from here (the bytes stay).
    Handoff,
    /// Not the lane's, found after its head was taken out of the buffer: it
    /// goes back in front of the rest for hyper.
    HandoffTaken(Bytes),
}

impl Lane {
    /// Answer the connection's preflights until a request is not the
    /// lane's, then give the stream back with the bytes read and not
    /// answered, for hyper. `None`: the connection ended (closed by the
    /// client, or an error), nothing left to serve.
    pub(crate) async fn run<IO>(mut self, mut io: Watched<IO>) -> Option<(Watched<IO>, Bytes)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut buf = BytesMut::with_capacity(4096);
        let mut out: Vec<u8> = Vec::with_capacity(1024);
        let mut scratch = HeaderMap::with_capacity(4);
        let state = io.state().clone();
        let mut drain = state.told(DRAIN);
        loop {
            let mut answered = 0;
            let mut handoff = None;
            while answered < MAX_BATCH && !buf.is_empty() {
                match self.step(&mut buf, &mut scratch, &mut out) {
                    Step::Answered => answered += 1,
                    Step::NeedMore => break,
                    Step::Handoff => {
                        handoff = Some(Bytes::new());
                        break;
                    }
                    Step::HandoffTaken(head) => {
                        handoff = Some(head);
                        break;
                    }
                }
            }
            if answered > 0 {
                let answering = io.state().request();
                // Most answers go out in one write, at once; the rest is timed
                // as a response being sent (body_idle_timeout: a client that
                // does not read), which costs the watchdog's clock.
                let sent = match io.write(&out).now_or_never() {
                    Some(Ok(n)) => n,
                    Some(Err(_)) => return None,
                    None => 0,
                };
                // Flushed too: a TLS stream may hold the records it made.
                let mut done = false;
                if sent == out.len() {
                    match io.flush().now_or_never() {
                        Some(Ok(())) => done = true,
                        Some(Err(_)) => return None,
                        None => {}
                    }
                }
                if !done {
                    let _answering = answering.streaming();
                    if io.write_all(&out[sent..]).await.is_err() || io.flush().await.is_err() {
                        return None;
                    }
                }
                out.clear();
            }
            if let Some(head) = handoff {
                return Some((io, rejoin(head, buf)));
            }
            if answered == MAX_BATCH {
                continue;
            }
            if buf.len() >= MAX_HEAD {
                return Some((io, buf.freeze()));
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(4096);
            }
            tokio::select! {
                biased;
                // Draining: hyper finishes what is under way and closes.
                _ = &mut drain => return Some((io, buf.freeze())),
                read = io.read_buf(&mut buf) => match read {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                },
            }
        }
    }

    /// Answer the request at the front of `buf` if it is the lane's.
    fn step(&mut self, buf: &mut BytesMut, scratch: &mut HeaderMap, out: &mut Vec<u8>) -> Step {
        let table = self.gateway.table();
        let config = &table.config.server;
        let Some(head) = Head::parse(buf, config.max_request_header_bytes) else {
            return Step::Handoff;
        };
        let head = match head {
            Parsed::Partial => return Step::NeedMore,
            Parsed::Whole(h) => h,
        };
        let Some(entry) = table.lookup(head.path(buf)) else {
            return Step::Handoff;
        };
        let layer = &entry.layer;
        let (Some(policy), Some(wire)) = (layer.policy(), entry.express.as_ref()) else {
            return Step::Handoff;
        };
        let access = self.gateway.access_log();
        let started = (!matches!(access, AccessLog::Off)).then(Instant::now);
        // The head's bytes, shared by the values the decision keeps.
        let taken = buf.split_to(head.len).freeze();
        let value = |r: (usize, usize)| HeaderValue::from_maybe_shared(taken.slice(r.0..r.1));
        let (Ok(origin), Ok(method)) = (value(head.origin), value(head.request_method)) else {
            return Step::HandoffTaken(taken);
        };
        // Only `Access-Control-Request-Headers` goes through a map (the
        // decision reads it as a field list); the rest as they are.
        scratch.clear();
        for r in &head.request_headers[..head.request_header_count] {
            let Ok(v) = value(*r) else {
                return Step::HandoffTaken(taken);
            };
            scratch.append(ACCESS_CONTROL_REQUEST_HEADERS, v);
        }
        let request = CorsRequest {
            method: &Method::OPTIONS,
            origin: Some(&origin),
            request_method: Some(&method),
            request_headers: scratch.get_all(ACCESS_CONTROL_REQUEST_HEADERS),
        };
        let decision = policy.decide(&request, layer.preflight_methods());
        // Nothing may keep the head's bytes past this request: the read
        // buffer is reused in place only when it is the bytes' one owner.
        scratch.clear();
        let Decision::PreflightAllowed(allowed) = decision else {
            return Step::HandoffTaken(taken);
        };
        if allowed.status != StatusCode::NO_CONTENT {
            // hyper writes `content-length: 0` for another status: its answer.
            return Step::HandoffTaken(taken);
        }
        wire.write(&allowed, out);
        http_date(out);
        out.extend_from_slice(b"\r\n\r\n");
        count(&mut self.counters, self.gateway.metrics(), &entry.route);
        if started.is_some() {
            let seen = SeenRef {
                method: "OPTIONS",
                path: head.path(&taken),
                origin: Some(&taken[head.origin.0..head.origin.1]),
                remote: self.remote,
                started,
            };
            observe::log(
                access,
                &seen,
                &entry.route.path,
                204,
                "preflight-allowed",
                "-",
            );
        }
        Step::Answered
    }
}

/// Count an allowed preflight of `route` as `observe::record` counts it,
/// with the counters of the connection's last route kept in `kept`.
fn count(kept: &mut Option<(Arc<Route>, [Counter; 2])>, metrics: &Metrics, route: &Arc<Route>) {
    let counters = match kept {
        Some((r, c)) if Arc::ptr_eq(r, route) => c,
        _ => {
            &kept
                .insert((
                    route.clone(),
                    metrics.allowed_preflight_counters(&route.path),
                ))
                .1
        }
    };
    for c in counters.iter() {
        c.inc();
    }
}

/// `head` (taken out of the buffer) in front of what follows it.
fn rejoin(head: Bytes, rest: BytesMut) -> Bytes {
    if head.is_empty() {
        return rest.freeze();
    }
    let mut all = BytesMut::with_capacity(head.len() + rest.len());
    all.extend_from_slice(&head);
    all.extend_from_slice(&rest);
    all.freeze()
}

enum Parsed {
    Partial,
    Whole(Head),
}

/// A preflight's head as the lane takes it: byte ranges into the buffer.
struct Head {
    len: usize,
    /// The request target's path (the query left out).
    path: (usize, usize),
    origin: (usize, usize),
    request_method: (usize, usize),
    request_headers: [(usize, usize); MAX_ACRH_FIELDS],
    request_header_count: usize,
}

impl Head {
    fn path<'a>(&self, buf: &'a [u8]) -> &'a str {
        // Checked to be ASCII in `parse`.
        std::str::from_utf8(&buf[self.path.0..self.path.1]).unwrap_or("")
    }

    /// The head at the front of `buf`, when it is a preflight the lane
    /// takes (`None`: hyper's), or `Partial` while it may still become one.
    fn parse(buf: &[u8], max_header_bytes: usize) -> Option<Parsed> {
        let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
        let mut req = httparse::Request::new(&mut []);
        let len = match req.parse_with_uninit_headers(buf, &mut fields) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                // A head that cannot be the lane's is handed over at once.
                let plausible = buf.len() < MAX_HEAD
                    && req.method.is_none_or(|m| m == "OPTIONS")
                    && req.version.is_none_or(|v| v == 1);
                return plausible.then_some(Parsed::Partial);
            }
            Err(_) => return None,
        };
        if req.method != Some("OPTIONS") || req.version != Some(1) {
            return None;
        }
        let path = plain_path(req.path?)?;
        let at = |s: &[u8]| {
            let start = (s.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
            (start, start + s.len())
        };
        let mut head = Head {
            len,
            path: at(path.as_bytes()),
            origin: (0, 0),
            request_method: (0, 0),
            request_headers: [(0, 0); MAX_ACRH_FIELDS],
            request_header_count: 0,
        };
        let (mut hosts, mut origins, mut methods) = (0, 0, 0);
        let mut header_bytes = 0;
        for field in req.headers.iter() {
            let name = field.name.as_bytes();
            let value = field.value;
            // As `edge::header_bytes` counts them.
            header_bytes += name.len() + value.len() + 4;
            // The names that matter have lengths of their own: most fields
            // are passed over on their length alone.
            let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
            match name.len() {
                4 if is(b"host") => hosts += 1,
                6 if is(b"origin") => {
                    // More than one origin is the full path's to refuse.
                    if value.iter().any(|b| *b == b',' || b.is_ascii_whitespace()) {
                        return None;
                    }
                    origins += 1;
                    head.origin = at(value);
                }
                29 if is(b"access-control-request-method") => {
                    methods += 1;
                    head.request_method = at(value);
                }
                30 if is(b"access-control-request-headers") => {
                    if head.request_header_count == MAX_ACRH_FIELDS {
                        return None;
                    }
                    head.request_headers[head.request_header_count] = at(value);
                    head.request_header_count += 1;
                }
                // `keep-alive` is what HTTP/1.1 does anyway; any other is hyper's.
                10 if is(b"connection") && !value.eq_ignore_ascii_case(b"keep-alive") => {
                    return None
                }
                // A body, an upgrade: the full path's.
                14 if is(b"content-length") => return None,
                17 if is(b"transfer-encoding") => return None,
                7 if is(b"upgrade") => return None,
                6 if is(b"expect") => return None,
                _ => {}
            }
        }
        if hosts != 1 || origins != 1 || methods != 1 || header_bytes > max_header_bytes {
            return None;
        }
        Some(Parsed::Whole(head))
    }
}

/// The path of `target` when the lane takes it: origin-form, only bytes
/// every parser takes as they are (RFC 3986 §3.3, §3.4: unreserved,
/// sub-delims, `:`, `@`, `/`, and `?` before the query), and one that
/// [`crate::path::normalize`] leaves as it is: no escape (`%`), no `//`, no
/// dot segment start (`/.`), within its length.
fn plain_path(target: &str) -> Option<&str> {
    let bytes = target.as_bytes();
    if bytes.first() != Some(&b'/') {
        return None;
    }
    let mut prev = 0u8;
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'?' {
            end = i;
            break;
        }
        if !PLAIN[usize::from(b)] || (prev == b'/' && (b == b'/' || b == b'.')) {
            return None;
        }
        prev = b;
    }
    // The query is forwarded as it is: its bytes need only be plain.
    if !bytes[end..]
        .iter()
        .all(|&b| PLAIN[usize::from(b)] || b == b'?' || b == b'%')
    {
        return None;
    }
    (end <= crate::path::MAX_PATH).then(|| &target[..end])
}

/// The bytes of a plain path (see [`plain_path`]), by value.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')'
            )
            || matches!(c, b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' | b'/');
        b += 1;
    }
    t
};

thread_local! {
    /// The `Date` of this second, made once a second per thread as hyper
    /// makes its own (RFC 9110 §6.6.1: one-second resolution).
    static DATE: std::cell::RefCell<(u64, [u8; 29])> = const { std::cell::RefCell::new((u64::MAX, [0; 29])) };
}

/// Write the current `Date` value (RFC 9110 §5.6.7, IMF-fixdate).
fn http_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == 29 {
                cached.1.copy_from_slice(text.as_bytes());
                cached.0 = secs;
            } else {
                // Not a four-digit year: written as made, not cached.
                out.extend_from_slice(text.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&cached.1);
    });
}

#[cfg(test)]
mod tests;
