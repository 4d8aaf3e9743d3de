//! WebSocket handshakes and tunnels (`docs/behaviour.md`, "WebSockets").
//!
//! Browsers apply no CORS to WebSockets (Fetch, "WebSocket protocol
//! alterations": the handshake only carries `Origin`), so a gateway that
//! tunnels every cross-site handshake lets any page act on the user's
//! session. Only `Upgrade: websocket` is tunnelled, only on routes with
//! `websocket = true`, and a handshake whose `Origin` the route's CORS
//! origins do not allow is answered 403 before the upstream sees it. A
//! handshake without `Origin` is from a client that is not a browser
//! (browsers always send one, RFC 6455 §4.1) and is let through: it carries
//! no ambient credentials of a victim's browser.
//!
//! A tunnel is closed after `websocket_idle_timeout` without a byte either
//! way, and at the end of the grace period on shutdown ([`Tunnels`]).

use std::time::Duration;

use http::header::{CONNECTION, ORIGIN, UPGRADE};
use http::{HeaderMap, Method, StatusCode};
use preflight_core::matcher::OriginMatch;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::body::{error_response, GatewayBody};
use crate::config::{Route, RouteCorsPolicy};

/// Why a WebSocket handshake was refused, in the response's extensions for
/// the metrics and the dashboard.
#[derive(Debug, Clone)]
pub(crate) struct WebSocketRefused {
    /// `origin_not_allowed` or `websocket_not_enabled`.
    pub(crate) code: &'static str,
    pub(crate) reason: &'static str,
}

/// Is this a WebSocket handshake (RFC 6455 §4.1: a GET with
/// `Connection: upgrade` and `Upgrade: websocket`)? Any other `Upgrade` is
/// not tunnelled: the header is hop-by-hop and is dropped.
pub(crate) fn is_handshake(method: &Method, headers: &HeaderMap) -> bool {
    let tokens = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    *method == Method::GET
        && tokens(CONNECTION)
            .iter()
            .any(|t| t.eq_ignore_ascii_case("upgrade"))
        && tokens(UPGRADE)
            .iter()
            .any(|t| t.eq_ignore_ascii_case("websocket"))
}

/// May this handshake reach the route's upstream? `ambiguous_origin`: the
/// request had more than one origin (held back by the edge checks).
pub(crate) fn admit(
    route: &Route,
    headers: &HeaderMap,
    ambiguous_origin: bool,
) -> Result<(), WebSocketRefused> {
    if !route.websocket {
        return Err(WebSocketRefused {
            code: "websocket_not_enabled",
            reason: "WebSocket is not enabled on this route (websocket = true)",
        });
    }
    let refused = WebSocketRefused {
        code: "origin_not_allowed",
        reason: "the handshake's Origin is not among the route's allowed origins",
    };
    if ambiguous_origin {
        return Err(refused);
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    match &route.cors {
        RouteCorsPolicy::Enabled { policy, .. }
            if policy.matcher().matches(origin.as_bytes()) != OriginMatch::No =>
        {
            Ok(())
        }
        _ => Err(refused),
    }
}

/// The 403 of a refused handshake, marked for the metrics.
pub(crate) fn refusal_response(why: WebSocketRefused) -> http::Response<GatewayBody> {
    let mut res = error_response(StatusCode::FORBIDDEN, why.reason);
    res.extensions_mut().insert(why);
    res
}

/// The open tunnels, across reloads: counted, and told to close at the end
/// of the grace period.
#[derive(Debug, Clone)]
pub(crate) struct Tunnels {
    open: watch::Sender<usize>,
    close: watch::Sender<bool>,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels {
            open: watch::Sender::new(0),
            close: watch::Sender::new(false),
        }
    }
}

/// One open tunnel; counted until dropped.
pub(crate) struct Open {
    open: watch::Sender<usize>,
    close: watch::Receiver<bool>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Tunnels {
    /// Count a tunnel from now (before its 101 is sent, so that a shutdown
    /// starting meanwhile waits for it).
    pub(crate) fn open(&self) -> Open {
        self.open.send_modify(|n| *n += 1);
        Open {
            open: self.open.clone(),
            close: self.close.subscribe(),
        }
    }

    /// How many tunnels are open.
    pub(crate) fn count(&self) -> usize {
        *self.open.borrow()
    }

    /// Shutdown: let tunnels end by themselves until `deadline`, then close
    /// the rest and wait (briefly) until they are gone.
    pub(crate) async fn close_by(&self, deadline: Instant) {
        let mut open = self.open.subscribe();
        // The `Ref` wait_for returns is dropped at once: it holds the lock
        // that a closing tunnel takes.
        let timed_out = tokio::time::timeout_at(deadline, open.wait_for(|n| *n == 0))
            .await
            .is_err();
        if timed_out {
            tracing::warn!(
                tunnels = self.count(),
                "grace period over: closing the WebSocket tunnels"
            );
        }
        self.close.send_replace(true);
        let _ = tokio::time::timeout(Duration::from_secs(1), open.wait_for(|n| *n == 0))
            .await
            .is_ok();
    }
}

/// Copy both ways until both sides are done, `idle` passes without a byte,
/// or shutdown closes the tunnel.
pub(crate) async fn run<C, U>(client: C, upstream: U, idle: Duration, mut open: Open)
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    if *open.close.borrow() {
        return;
    }
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut up_r, mut up_w) = tokio::io::split(upstream);
    let mut to_up = vec![0u8; 16 * 1024];
    let mut to_client = vec![0u8; 16 * 1024];
    let (mut client_open, mut up_open) = (true, true);
    let quiet = tokio::time::sleep(idle);
    tokio::pin!(quiet);
    while client_open || up_open {
        tokio::select! {
            r = client_r.read(&mut to_up), if client_open => match r {
                Ok(0) | Err(_) => {
                    client_open = false;
                    let _ = up_w.shutdown().await;
                }
                Ok(n) => {
                    if !matches!(tokio::time::timeout(idle, up_w.write_all(&to_up[..n])).await, Ok(Ok(()))) {
                        break;
                    }
                    quiet.as_mut().reset(Instant::now() + idle);
                }
            },
            r = up_r.read(&mut to_client), if up_open => match r {
                Ok(0) | Err(_) => {
                    up_open = false;
                    let _ = client_w.shutdown().await;
                }
                Ok(n) => {
                    if !matches!(tokio::time::timeout(idle, client_w.write_all(&to_client[..n])).await, Ok(Ok(()))) {
                        break;
                    }
                    quiet.as_mut().reset(Instant::now() + idle);
                }
            },
            _ = &mut quiet => {
                tracing::debug!(idle_ms = idle.as_millis() as u64, "WebSocket tunnel idle: closed");
                break;
            }
            _ = open.close.changed() => break,
        }
    }
}
