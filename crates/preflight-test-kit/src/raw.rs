//! A client that writes hand-made HTTP/1.1 bytes and reads the answer as it
//! came on the wire: header lines in their order and case, repeated lines kept.
//! Blocking; one request per connection (`connection: close`), every read
//! bounded by a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a read or a write may block.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// An answer as read from the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header lines in wire order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// Every value of the header `name` (any case), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }

    /// Parse what a server sent: a status line, header lines, the rest as body.
    pub fn parse(raw: &[u8]) -> std::io::Result<Response> {
        let raw = String::from_utf8_lossy(raw).into_owned();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
        let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Response {
            status,
            headers,
            body: body.to_string(),
        })
    }
}

/// Write `bytes` to `addr` and read until the server closes.
pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    stream.set_write_timeout(Some(DEADLINE))?;
    stream.write_all(bytes)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(raw)
}

/// `METHOD path HTTP/1.1` with `host`, `connection: close` and `headers`, no
/// body; the answer parsed.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    Response::parse(&exchange(addr, req.as_bytes())?)
}
