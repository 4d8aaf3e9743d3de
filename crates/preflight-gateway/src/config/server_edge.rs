//! The `[server]` keys of the edge, validated: the timeouts and caps
//! (RELIABILITY.md) and the keys of "Requests at the edge"
//! (`docs/configuration.md`): forwarding, the admin `Host`, WebSocket tunnels.

use super::diagnostics::Seg;
use super::model::{Cidr, ServerConfig, MAX_REQUEST_HEADER_BYTES_RANGE};
use super::schema::{RawServer, SizeValue};
use super::validation::Validator;
use super::values::{parse_duration, parse_size};

impl Validator {
    /// The edge's timeouts and caps (RELIABILITY.md): false when one is
    /// refused.
    pub(super) fn edge_limits(&mut self, raw: &RawServer, s: &mut ServerConfig) -> bool {
        let mut ok = true;
        let durations = [
            (
                "header_read_timeout",
                &raw.header_read_timeout,
                &mut s.header_read_timeout,
                false,
            ),
            (
                "idle_timeout",
                &raw.idle_timeout,
                &mut s.idle_timeout,
                false,
            ),
            (
                "body_idle_timeout",
                &raw.body_idle_timeout,
                &mut s.body_idle_timeout,
                false,
            ),
            (
                "shutdown_delay",
                &raw.shutdown_delay,
                &mut s.shutdown_delay,
                true,
            ),
            (
                "h2_keepalive_interval",
                &raw.h2_keepalive_interval,
                &mut s.h2_keepalive_interval,
                true,
            ),
            (
                "h2_keepalive_timeout",
                &raw.h2_keepalive_timeout,
                &mut s.h2_keepalive_timeout,
                false,
            ),
        ];
        for (key, text, slot, zero_ok) in durations {
            let Some(text) = text else { continue };
            match parse_duration(text) {
                Some(d) if !d.is_zero() || zero_ok => *slot = d,
                Some(_) => {
                    self.error(
                        &[Seg::Key("server"), Seg::Key(key)],
                        format!("{key} = {text:?}: zero would close every connection at once"),
                        "leave the key out for the default, or write a positive duration like \"10s\"",
                    );
                    ok = false;
                }
                None => {
                    self.error(
                        &[Seg::Key("server"), Seg::Key(key)],
                        format!("{text:?} is not a duration"),
                        "write a number and a unit: \"500ms\", \"30s\", \"2m\", \"1h\"",
                    );
                    ok = false;
                }
            }
        }
        let counts = [
            (
                "h2_max_concurrent_streams",
                raw.h2_max_concurrent_streams,
                10_000,
            ),
            ("max_connections", raw.max_connections, 1_000_000),
            (
                "upstream_max_connections",
                raw.upstream_max_connections,
                100_000,
            ),
        ];
        for (key, value, max) in counts {
            let Some(n) = value else { continue };
            if !(1..=max).contains(&n) {
                self.error(
                    &[Seg::Key("server"), Seg::Key(key)],
                    format!("{key} = {n} is refused: it must be between 1 and {max}"),
                    "leave the key out for the default, or write a count in that range",
                );
                ok = false;
                continue;
            }
            match key {
                "h2_max_concurrent_streams" => s.h2_max_concurrent_streams = n as u32,
                "max_connections" => s.max_connections = Some(n as usize),
                _ => s.upstream_max_connections = n as usize,
            }
        }
        ok &= self.header_bytes(raw, s);
        ok
    }

    /// `max_request_header_bytes`: a size in the range the gateway can
    /// enforce (RELIABILITY.md, "Requests at the edge").
    fn header_bytes(&mut self, raw: &RawServer, s: &mut ServerConfig) -> bool {
        let Some(value) = &raw.max_request_header_bytes else {
            return true;
        };
        let (min, max) = MAX_REQUEST_HEADER_BYTES_RANGE;
        let parsed = match value {
            SizeValue::Bytes(n) => u64::try_from(*n).ok(),
            SizeValue::Text(t) => parse_size(t),
        };
        match parsed {
            Some(n) if (min as u64..=max as u64).contains(&n) => {
                s.max_request_header_bytes = n as usize;
                true
            }
            Some(n) => {
                self.error(
                    &[Seg::Key("server"), Seg::Key("max_request_header_bytes")],
                    format!("max_request_header_bytes = {n} is refused: it must be between 1KiB and 256KiB"),
                    "leave the key out for the default (64KiB), or write a size in that range",
                );
                false
            }
            None => {
                self.error(
                    &[Seg::Key("server"), Seg::Key("max_request_header_bytes")],
                    "not a size",
                    "write a number of bytes or a size: \"64KiB\", \"128KiB\"",
                );
                false
            }
        }
    }

    /// The `[server]` keys of the edge (`docs/configuration.md`, "Requests
    /// at the edge"): false when one is refused.
    pub(super) fn server_edge(&mut self, raw: &RawServer, s: &mut ServerConfig) -> bool {
        let mut ok = true;
        let key = |k: &'static str| [Seg::Key("server"), Seg::Key(k)];
        if let Some(admin) = s.admin {
            if !admin.ip().is_loopback() {
                self.warn(
                    &key("admin"),
                    format!("the admin listener on {admin} is reachable beyond this machine: it shows the routes, upstreams and refused origins"),
                    "listen on 127.0.0.1 (or [::1]) and reach it through an SSH tunnel or a private network",
                );
            }
        }
        for (i, text) in raw.trusted_proxies.iter().flatten().enumerate() {
            match Cidr::parse(text) {
                Ok(c) => s.trusted_proxies.push(c),
                Err(why) => {
                    self.error(
                        &[
                            Seg::Key("server"),
                            Seg::Key("trusted_proxies"),
                            Seg::Index(i),
                        ],
                        format!("{text:?} is not an address or a CIDR block: {why}"),
                        "write an address (\"10.0.0.7\") or a block (\"10.0.0.0/8\", \"fd00::/8\")",
                    );
                    ok = false;
                }
            }
        }
        for (i, text) in raw.admin_hosts.iter().flatten().enumerate() {
            let host = text.trim().to_ascii_lowercase();
            let valid = !host.is_empty()
                && host.parse::<http::uri::Authority>().is_ok()
                && !host.contains('@');
            if valid {
                s.admin_hosts.push(host);
            } else {
                self.error(
                    &[Seg::Key("server"), Seg::Key("admin_hosts"), Seg::Index(i)],
                    format!("{text:?} is not a host name (with an optional port)"),
                    "write a name the admin listener is reached by, like \"admin.internal\" or \"admin.internal:9901\"",
                );
                ok = false;
            }
        }
        if let Some(text) = &raw.websocket_idle_timeout {
            match parse_duration(text) {
                Some(d) if !d.is_zero() => s.websocket_idle_timeout = d,
                _ => {
                    self.error(
                        &key("websocket_idle_timeout"),
                        format!("{text:?} is not a duration above zero"),
                        "write a number and a unit: \"30s\", \"5m\"",
                    );
                    ok = false;
                }
            }
        }
        ok
    }
}
