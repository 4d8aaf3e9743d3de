//! One client connection within the edge's limits (RELIABILITY.md,
//! "Connections, timeouts and memory"), and the cap on connections.
//!
//! hyper gives the HTTP/2 keep-alive pings and the stream cap. The rest is
//! timed here, by a watchdog beside each connection: one timer that reads
//! its [`ConnState`] (`crate::watchdog`) when it fires:
//!
//! - no request yet: the first request head must be in within
//!   `header_read_timeout` of the connection's start (a silent connection, a
//!   one-byte-per-second header, a partial HTTP/2 preface);
//! - between requests: `idle_timeout`, then, from the first byte of the next
//!   HTTP/1.1 request, `header_read_timeout` for its head;
//! - while a response is sent: `body_idle_timeout` without a byte written or
//!   a piece of body made (a slow upstream body, a client that reads slowly).
//!
//! A [`Connections`] holds the live connections of a listener: at its cap
//! the next connection waits in the kernel's queue while the connection
//! idle the longest is closed, and none is accepted while all are busy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::body::BoxError;
use crate::limits::ConnLimits;
use crate::rewind::Rewound;
use crate::watchdog::Tracked;
pub(crate) use crate::watchdog::{ConnState, Watched, DRAIN, FORCE, SHED};

/// How a connection ends besides by itself.
pub(crate) struct Ending {
    /// Turns true when the listener drains: finish the requests in flight.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Turns true when the grace period is over: close now.
    pub(crate) force: Option<watch::Receiver<bool>>,
}

impl Ending {
    /// Whether the listener drains already.
    pub(crate) fn draining(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// What the listener said before the connection began, as the bits
    /// `Connections::relay` sets later.
    pub(crate) fn tell(&self, state: &ConnState) {
        if self.draining() {
            state.tell(DRAIN);
        }
        if self.force.as_ref().is_some_and(|f| *f.borrow()) {
            state.tell(FORCE);
        }
    }
}

/// Run `work` on a connection under its watchdog (the timeouts, the cap's
/// request to make room, the end of the grace period), before `serve`
/// takes it: `None` when the watchdog closed it first. The express lane
/// runs so (`crate::express`), watching for the drain itself.
pub(crate) async fn guarded<F: std::future::Future>(
    state: &ConnState,
    limits: &ConnLimits,
    ending: &Ending,
    remote: SocketAddr,
    work: F,
) -> Option<F::Output> {
    ending.tell(state);
    let timer = tokio::time::sleep_until(state.next_check(limits, Instant::now()).into());
    tokio::pin!(timer);
    tokio::pin!(work);
    let mut told = state.told(SHED | FORCE);
    loop {
        tokio::select! {
            biased;
            out = work.as_mut() => return Some(out),
            bits = &mut told => {
                if bits & FORCE != 0 {
                    return None;
                }
                timer.as_mut().reset(tokio::time::Instant::now());
            }
            _ = &mut timer => {
                if !watch_on(state, limits, timer.as_mut(), remote) {
                    return None;
                }
            }
        }
    }
}

/// Serve one connection (HTTP/1.1 with upgrades, or HTTP/2) with `service`,
/// within `limits`, until it ends, is timed out, or `ending` says so.
/// `prefix`: bytes already read off it (by the express lane), read first.
pub(crate) async fn serve<IO, S, B>(
    io: Watched<IO>,
    service: S,
    limits: ConnLimits,
    remote: SocketAddr,
    ending: Ending,
    prefix: Bytes,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let state = io.state().clone();
    let service = Arc::new(service);
    let tracked_state = state.clone();
    let tracked = hyper::service::service_fn(move |req: Request<Incoming>| {
        let answering = tracked_state.request();
        let service = service.clone();
        async move {
            let res = service.call(req).await?;
            Ok::<_, S::Error>(res.map(|inner| Tracked::new(inner, answering)))
        }
    });
    ending.tell(&state);
    let shutdown = ending.shutdown;
    // Each future made once and polled again on every wake of the
    // connection: a wake costs a poll of each, not a new timer entry and new
    // channel registrations.
    let timer = tokio::time::sleep_until(state.next_check(&limits, Instant::now()).into());
    tokio::pin!(timer);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watchdog times the request head itself (hyper's header timeout
    // would also cut a kept-alive connection at the same length).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.h2_keepalive_interval)
        .keep_alive_timeout(limits.h2_keepalive_timeout)
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(limits.h2_max_header_list_size);
    let io = Rewound::new(prefix, io);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), tracked);
    tokio::pin!(connection);
    let mut draining = *shutdown.borrow();
    if draining {
        connection.as_mut().graceful_shutdown();
    }
    let mut told = state.told(SHED | FORCE | if draining { 0 } else { DRAIN });
    loop {
        tokio::select! {
            biased;
            r = connection.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            bits = &mut told => {
                if bits & FORCE != 0 {
                    return;
                }
                if bits & DRAIN != 0 && !draining {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
                if bits & SHED != 0 {
                    timer.as_mut().reset(tokio::time::Instant::now());
                }
            }
            _ = &mut timer => {
                if !watch_on(&state, &limits, timer.as_mut(), remote) {
                    return;
                }
            }
        }
    }
}

/// The watchdog's timer fired: false when the connection is past its
/// deadline (and is to close), else the timer is armed again.
fn watch_on(
    state: &ConnState,
    limits: &ConnLimits,
    timer: std::pin::Pin<&mut tokio::time::Sleep>,
    remote: SocketAddr,
) -> bool {
    // The deadline first: a connection asked to close has one of "now",
    // which must not fall after the `now` it is compared with.
    let deadline = state.deadline(limits);
    let now = Instant::now();
    if let Some((at, why)) = deadline {
        if at <= now {
            tracing::debug!(%remote, why, "connection closed");
            return false;
        }
    }
    timer.reset(state.next_check(limits, now).into());
    true
}

/// The live connections of a listener, at most `cap` at once.
#[derive(Debug)]
pub(crate) struct Connections {
    permits: Arc<Semaphore>,
    live: Mutex<HashMap<u64, Arc<ConnState>>>,
    next: AtomicU64,
}

/// Room for one connection, given back when dropped.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    set: Arc<Connections>,
    id: u64,
    pub(crate) state: Arc<ConnState>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut live) = self.set.live.lock() {
            live.remove(&self.id);
        }
    }
}

/// A connection's slot, shared with the WebSocket tunnel the connection may
/// become (docs/configuration.md, `max_connections`): the tunnel outlives
/// the HTTP connection, and its two descriptors stay under the cap until it
/// ends. Put in the extensions of a request that asks to upgrade.
#[derive(Clone)]
pub(crate) struct SharedSlot(pub(crate) Arc<Slot>);

impl SharedSlot {
    /// Hold the slot for a tunnel: busy (never closed to make room) until
    /// the hold is dropped.
    pub(crate) fn hold(&self) -> TunnelHold {
        self.0.state.hold_busy();
        TunnelHold(self.0.clone())
    }
}

/// A tunnel's hold on its connection's slot.
pub(crate) struct TunnelHold(Arc<Slot>);

impl Drop for TunnelHold {
    fn drop(&mut self) {
        self.0.state.release_busy();
    }
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Arc<Connections> {
        Arc::new(Connections {
            permits: Arc::new(Semaphore::new(cap.max(1))),
            live: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// Room for one more connection: at the cap, close the connection idle
    /// the longest, or wait for one to end when all are busy.
    pub(crate) async fn room(self: &Arc<Self>) -> Slot {
        loop {
            if let Ok(permit) = self.permits.clone().try_acquire_owned() {
                return self.slot(permit);
            }
            self.shed_idlest();
            let wait = self.permits.clone().acquire_owned();
            if let Ok(Ok(permit)) = tokio::time::timeout(Duration::from_millis(250), wait).await {
                return self.slot(permit);
            }
        }
    }

    fn slot(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Slot {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let state = ConnState::new();
        if let Ok(mut live) = self.live.lock() {
            live.insert(id, state.clone());
        }
        Slot {
            _permit: permit,
            set: self.clone(),
            id,
            state,
        }
    }

    /// Tell every live connection `bit` (`DRAIN`, `FORCE`).
    pub(crate) fn tell_all(&self, bit: u8) {
        if let Ok(live) = self.live.lock() {
            for state in live.values() {
                state.tell(bit);
            }
        }
    }

    /// Tell every live connection `bit` when `signal` turns true; a
    /// connection started after that reads the signal itself ([`serve`]).
    /// The task ends once it has told, or with the signal's sender.
    pub(crate) fn relay(
        self: &Arc<Self>,
        mut signal: watch::Receiver<bool>,
        bit: u8,
    ) -> tokio::task::JoinHandle<()> {
        let conns = self.clone();
        tokio::spawn(async move {
            loop {
                if *signal.borrow_and_update() {
                    conns.tell_all(bit);
                    return;
                }
                if signal.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    /// Ask the connection idle the longest to close; false when none is idle.
    pub(crate) fn shed_idlest(&self) -> bool {
        let Ok(live) = self.live.lock() else {
            return false;
        };
        let idlest = live
            .values()
            .filter(|s| s.is_idle() && !s.is_shed())
            .min_by_key(|s| s.idle_since());
        match idlest {
            Some(s) => {
                s.ask_to_close();
                true
            }
            None => false,
        }
    }
}
