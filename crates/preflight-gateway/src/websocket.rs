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
//! way. On shutdown each side gets a Close frame (1001, "going away") at the
//! next boundary between frames, and the tunnel ends once both sides have
//! answered with theirs, or after [`CLOSE_WAIT`]; what is left at the end of
//! the grace period is cut ([`Tunnels`]).

use std::time::Duration;

use http::header::{CONNECTION, ORIGIN, UPGRADE};
use http::{HeaderMap, Method, StatusCode};
use preflight_core::matcher::OriginMatch;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::body::{error_response, GatewayBody};
use crate::config::{Route, RouteCorsPolicy};
use crate::websocket_frames::{close_to_client, close_to_upstream, Frames};

/// How long a tunnel told to go away waits for both sides' Close frames.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(1);

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

/// The open tunnels, across reloads: counted, told to go away when the
/// shutdown starts, and cut at the end of the grace period.
#[derive(Debug, Clone)]
pub(crate) struct Tunnels {
    open: watch::Sender<usize>,
    going_away: watch::Sender<bool>,
    close: watch::Sender<bool>,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels {
            open: watch::Sender::new(0),
            going_away: watch::Sender::new(false),
            close: watch::Sender::new(false),
        }
    }
}

/// One open tunnel; counted until dropped.
pub(crate) struct Open {
    open: watch::Sender<usize>,
    going_away: watch::Receiver<bool>,
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
            going_away: self.going_away.subscribe(),
            close: self.close.subscribe(),
        }
    }

    /// Shutdown started: every tunnel, open or opening, sends its sides a
    /// Close frame and ends.
    pub(crate) fn go_away(&self) {
        self.going_away.send_replace(true);
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
/// or shutdown closes the tunnel: told to go away, the tunnel passes each
/// direction on to the end of its current frame, sends a Close frame (1001)
/// there instead of what follows, and waits up to [`CLOSE_WAIT`] for both
/// sides' Close frames or ends of stream; then it ends both connections in
/// order (FIN, not a reset).
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
    // The frames each side sends.
    let (mut from_client, mut from_up) = (Frames::default(), Frames::default());
    let mut going_away = *open.going_away.borrow();
    // Our Close frame went to that side: nothing more is passed to it.
    let (mut client_told, mut up_told) = (false, false);
    let mut give_up: Option<Instant> = None;
    let quiet = tokio::time::sleep(idle);
    tokio::pin!(quiet);
    loop {
        if going_away {
            let until = *give_up.get_or_insert_with(|| Instant::now() + CLOSE_WAIT);
            if !client_told && from_up.at_boundary() {
                client_told = true;
                if !from_up.closed() {
                    let _ = tokio::time::timeout_at(until, client_w.write_all(&close_to_client()))
                        .await;
                }
            }
            if !up_told && from_client.at_boundary() {
                up_told = true;
                if !from_client.closed() {
                    let _ =
                        tokio::time::timeout_at(until, up_w.write_all(&close_to_upstream())).await;
                }
            }
            let client_done = !client_open || from_client.closed();
            let up_done = !up_open || from_up.closed();
            if client_told && up_told && client_done && up_done {
                break;
            }
        }
        if !client_open && !up_open {
            break;
        }
        let give_up_at = give_up.unwrap_or_else(|| Instant::now() + idle);
        tokio::select! {
            r = client_r.read(&mut to_up), if client_open => match r {
                Ok(0) | Err(_) => {
                    client_open = false;
                    if !up_told {
                        let _ = up_w.shutdown().await;
                    }
                }
                Ok(n) => {
                    // Going away: passed on only to the end of the frame.
                    let pass = if up_told { 0 } else { from_client.advance(&to_up[..n], going_away) };
                    from_client.advance(&to_up[pass..n], false);
                    if pass > 0 && !matches!(tokio::time::timeout(idle, up_w.write_all(&to_up[..pass])).await, Ok(Ok(()))) {
                        break;
                    }
                    quiet.as_mut().reset(Instant::now() + idle);
                }
            },
            r = up_r.read(&mut to_client), if up_open => match r {
                Ok(0) | Err(_) => {
                    up_open = false;
                    if !client_told {
                        let _ = client_w.shutdown().await;
                    }
                }
                Ok(n) => {
                    let pass = if client_told { 0 } else { from_up.advance(&to_client[..n], going_away) };
                    from_up.advance(&to_client[pass..n], false);
                    if pass > 0 && !matches!(tokio::time::timeout(idle, client_w.write_all(&to_client[..pass])).await, Ok(Ok(()))) {
                        break;
                    }
                    quiet.as_mut().reset(Instant::now() + idle);
                }
            },
            _ = &mut quiet => {
                tracing::debug!(idle_ms = idle.as_millis() as u64, "WebSocket tunnel idle: closed");
                break;
            }
            _ = open.going_away.changed(), if !going_away => going_away = true,
            _ = tokio::time::sleep_until(give_up_at), if give_up.is_some() => {
                tracing::debug!("WebSocket tunnel: no Close frame back in time");
                break;
            }
            _ = open.close.changed() => break,
        }
    }
    // An orderly end both ways.
    let _ = tokio::time::timeout(CLOSE_WAIT, client_w.shutdown()).await;
    let _ = tokio::time::timeout(CLOSE_WAIT, up_w.shutdown()).await;
}
