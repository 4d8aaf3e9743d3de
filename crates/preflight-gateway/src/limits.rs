//! The limits of the edge (RELIABILITY.md, "Connections, timeouts and
//! memory"): the connection timeouts and caps as one value, the process's
//! file limit they must fit in, and the bound on every string kept from a
//! request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ServerConfig;
use preflight_core::fast_hash::FastHash;

/// Descriptors kept aside for what is not a connection: the listeners, the
/// runtime, the log, the file watcher, the TLS and configuration files.
pub(crate) const RESERVED_FILES: u64 = 64;

/// The largest `max_connections` the gateway picks by itself.
pub(crate) const MAX_DEFAULT_CONNECTIONS: usize = 10_000;

/// How many connections the admin listener (and the demo's listeners) serve
/// at once: a few people and a metrics scraper.
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// The longest string kept from a request (a method, a path, an origin, a
/// refusal's words) in the refusal ring, the dashboard and the log, in bytes.
pub const KEPT_STRING_MAX: usize = 256;

/// The limits one connection is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// From the connection's start (or from the first byte of a later
    /// request) to the end of the request head.
    pub header_read_timeout: Duration,
    /// Between two requests on a kept-alive connection.
    pub idle_timeout: Duration,
    /// The longest wait for the next piece of a request or response body.
    pub body_idle_timeout: Duration,
    /// HTTP/2 PING interval (`None`: no pings) and how long to wait for the
    /// answer.
    pub h2_keepalive_interval: Option<Duration>,
    pub h2_keepalive_timeout: Duration,
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2), over which
    /// the HTTP/2 layer answers 431 itself: twice `max_request_header_bytes`,
    /// so that the gateway's own 431, with CORS headers, comes first.
    pub h2_max_header_list_size: u32,
}

impl ConnLimits {
    pub(crate) fn of(server: &ServerConfig) -> ConnLimits {
        ConnLimits {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            body_idle_timeout: server.body_idle_timeout,
            h2_keepalive_interval: (!server.h2_keepalive_interval.is_zero())
                .then_some(server.h2_keepalive_interval),
            h2_keepalive_timeout: server.h2_keepalive_timeout,
            h2_max_concurrent_streams: server.h2_max_concurrent_streams,
            h2_max_header_list_size: u32::try_from(server.max_request_header_bytes * 2)
                .unwrap_or(u32::MAX),
        }
    }
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits::of(&ServerConfig::default())
    }
}

/// The soft limit on open files of this process (`RLIMIT_NOFILE`), where the
/// system says it (`/proc/self/limits`).
pub fn file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => None,
        n => n.parse().ok(),
    }
}

/// The connection cap that fits a file limit: each client connection may
/// hold one upstream connection too, and [`RESERVED_FILES`] are kept aside.
pub(crate) fn connections_for(files: Option<u64>) -> usize {
    match files {
        None => MAX_DEFAULT_CONNECTIONS,
        Some(n) => {
            let fit = n.saturating_sub(RESERVED_FILES + ADMIN_MAX_CONNECTIONS as u64) / 2;
            (fit as usize).clamp(1, MAX_DEFAULT_CONNECTIONS)
        }
    }
}

/// The connection cap in force: the configured one, or the one that fits
/// the file limit; and a warning when the configured one does not fit.
pub(crate) fn max_connections(server: &ServerConfig) -> (usize, Option<String>) {
    let files = file_limit();
    match server.max_connections {
        None => (connections_for(files), None),
        Some(n) => {
            let fits = connections_for(files);
            let warning = (files.is_some() && n > fits).then(|| {
                format!(
                    "max_connections = {n} does not fit the file limit of {} (ulimit -n): \
                     at most {fits} connections fit; raise the limit or lower max_connections",
                    files.unwrap_or_default()
                )
            });
            (n, warning)
        }
    }
}

/// A string from a request, cut to [`KEPT_STRING_MAX`] bytes (at a character
/// boundary, with `…` when cut), to be kept.
pub(crate) fn clip(s: &str) -> String {
    if s.len() <= KEPT_STRING_MAX {
        return s.to_string();
    }
    let mut end = KEPT_STRING_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    out.push('…');
    out
}

/// The per-host cap on upstream connections: one semaphore per upstream
/// authority, made with the routing table.
#[derive(Debug)]
pub(crate) struct HostPermits {
    per_host: usize,
    /// Keyed by the routes' upstream hosts: hashed with [`FastHash`].
    hosts: Mutex<HashMap<String, Arc<Semaphore>, FastHash>>,
}

impl HostPermits {
    pub(crate) fn new(per_host: usize) -> HostPermits {
        HostPermits {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::default()),
        }
    }

    /// Wait for a connection slot to `authority`.
    pub(crate) async fn acquire(&self, authority: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut hosts = self.hosts.lock().ok()?;
            // Looked up by `&str` first: the key is copied once per host,
            // not once per request.
            match hosts.get(authority) {
                Some(s) => s.clone(),
                None => hosts
                    .entry(authority.to_string())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                    .clone(),
            }
        };
        semaphore.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_strings_and_cuts_long_ones_at_a_char() {
        assert_eq!(clip("GET"), "GET");
        let long = "é".repeat(1000);
        let cut = clip(&long);
        assert!(cut.len() <= KEPT_STRING_MAX + 3, "{}", cut.len());
        assert!(cut.ends_with('…'));
    }

    fn parse(text: &str) -> Result<crate::Config, crate::ConfigError> {
        crate::Config::parse(
            text,
            std::path::Path::new("preflight.toml"),
            std::path::Path::new("."),
        )
    }

    #[test]
    fn the_limits_are_read_and_refused_with_their_line() {
        let c = parse("[server]\nheader_read_timeout = \"2s\"\nh2_keepalive_interval = \"0s\"\nmax_connections = 7\n").unwrap();
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(2));
        assert_eq!(c.server.idle_timeout, Duration::from_secs(60));
        assert_eq!(ConnLimits::of(&c.server).h2_keepalive_interval, None);
        assert_eq!(c.server.max_connections, Some(7));
        for (line, key) in [
            ("idle_timeout = \"0s\"", "server.idle_timeout"),
            ("body_idle_timeout = \"soon\"", "server.body_idle_timeout"),
            (
                "h2_max_concurrent_streams = 0",
                "server.h2_max_concurrent_streams",
            ),
            ("max_connections = -1", "server.max_connections"),
            (
                "upstream_max_connections = 0",
                "server.upstream_max_connections",
            ),
        ] {
            let text = format!("[server]\nlisten = \"127.0.0.1:1\"\n{line}\n");
            let e = parse(&text)
                .err()
                .unwrap_or_else(|| panic!("{line} accepted"));
            let p = e.problems.iter().find(|p| p.is_error()).expect("an error");
            assert_eq!(p.key, key, "{p}");
            assert_eq!(p.line_col().map(|(l, _)| l), Some(3), "{p}");
        }
    }

    #[test]
    fn max_request_header_bytes_is_read_and_refused_with_its_line() {
        let c = parse("[server]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        assert_eq!(c.server.max_request_header_bytes, 64 * 1024);
        assert_eq!(
            ConnLimits::of(&c.server).h2_max_header_list_size,
            128 * 1024
        );
        for (value, bytes) in [
            ("\"16KiB\"", 16 * 1024),
            ("2048", 2048),
            ("\"256KiB\"", 256 * 1024),
        ] {
            let c = parse(&format!("[server]\nmax_request_header_bytes = {value}\n")).unwrap();
            assert_eq!(c.server.max_request_header_bytes, bytes, "{value}");
        }
        for value in ["1023", "\"257KiB\"", "-1", "\"lots\"", "0"] {
            let text =
                format!("[server]\nlisten = \"127.0.0.1:1\"\nmax_request_header_bytes = {value}\n");
            let e = parse(&text)
                .err()
                .unwrap_or_else(|| panic!("{value} accepted"));
            let p = e.problems.iter().find(|p| p.is_error()).expect("an error");
            assert_eq!(p.key, "server.max_request_header_bytes", "{p}");
            assert_eq!(p.line_col().map(|(l, _)| l), Some(3), "{p}");
        }
    }

    #[test]
    fn the_default_cap_fits_the_file_limit() {
        assert_eq!(connections_for(Some(256)), 64);
        assert_eq!(connections_for(Some(1024)), 448);
        assert_eq!(connections_for(Some(10)), 1);
        assert_eq!(connections_for(None), MAX_DEFAULT_CONNECTIONS);
        if cfg!(target_os = "linux") {
            assert!(file_limit().is_some_and(|n| n > 0));
        }
    }
}
