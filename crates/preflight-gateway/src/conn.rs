//! One client connection within the edge's limits (RELIABILITY.md,
//! "Connections, timeouts and memory"), and the cap on connections.
//!
//! hyper gives the HTTP/2 keep-alive pings and the stream cap. The rest is
//! timed here, by a watchdog beside each connection that reads its
//! [`ConnState`]:
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
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::body::BoxError;
use crate::limits::ConnLimits;

/// What the watchdog of one connection reads. Times are milliseconds since
/// the connection's start.
#[derive(Debug)]
pub(crate) struct ConnState {
    start: Instant,
    /// Requests whose response is not yet sent whole.
    active: AtomicUsize,
    /// Responses whose body is being sent.
    streaming: AtomicUsize,
    /// When `active` last fell to zero.
    idle_since: AtomicU64,
    /// When the first byte came after `idle_since` (plus one; 0: none).
    head_started: AtomicU64,
    /// When a byte was last written or a piece of body made.
    progress: AtomicU64,
    served: AtomicBool,
    h2: AtomicBool,
    first_read: AtomicBool,
    /// Asked to close when idle, to make room for a new connection.
    shed: AtomicBool,
    changed: Notify,
}

impl ConnState {
    pub(crate) fn new() -> Arc<ConnState> {
        Arc::new(ConnState {
            start: Instant::now(),
            active: AtomicUsize::new(0),
            streaming: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            progress: AtomicU64::new(0),
            served: AtomicBool::new(false),
            h2: AtomicBool::new(false),
            first_read: AtomicBool::new(true),
            shed: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// When the connection must close, and why; `None` while a request waits
    /// for its upstream (the upstream and body timeouts apply then).
    fn deadline(&self, l: &ConnLimits) -> Option<(Instant, &'static str)> {
        if !self.is_idle() {
            if self.streaming.load(Ordering::Acquire) == 0 {
                return None;
            }
            let at = self.at(self.progress.load(Ordering::Acquire)) + l.body_idle_timeout;
            return Some((at, "body_idle_timeout: the response did not move"));
        }
        if self.shed.load(Ordering::Acquire) {
            return Some((
                Instant::now(),
                "closed to make room: max_connections reached",
            ));
        }
        if !self.served.load(Ordering::Acquire) {
            return Some((
                self.start + l.header_read_timeout,
                "header_read_timeout: no request head",
            ));
        }
        let head = self.head_started.load(Ordering::Acquire);
        if head > 0 && !self.h2.load(Ordering::Acquire) {
            return Some((
                self.at(head - 1) + l.header_read_timeout,
                "header_read_timeout: the request head did not finish",
            ));
        }
        Some((
            self.at(self.idle_since.load(Ordering::Acquire)) + l.idle_timeout,
            "idle_timeout",
        ))
    }

    fn read(&self, bytes: &[u8]) {
        if self.first_read.swap(false, Ordering::AcqRel) && bytes.starts_with(b"PRI ") {
            self.h2.store(true, Ordering::Release);
        }
        if self.is_idle() && self.head_started.load(Ordering::Acquire) == 0 {
            self.head_started.store(self.now() + 1, Ordering::Release);
            self.changed.notify_one();
        }
    }

    fn moved(&self) {
        self.progress.store(self.now(), Ordering::Release);
    }
}

/// A request being answered, until its response is sent whole.
struct Active(Arc<ConnState>);

impl Active {
    fn new(state: Arc<ConnState>) -> Active {
        state.served.store(true, Ordering::Release);
        state.active.fetch_add(1, Ordering::AcqRel);
        state.changed.notify_one();
        Active(state)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let s = &self.0;
        if s.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            s.idle_since.store(s.now(), Ordering::Release);
            s.head_started.store(0, Ordering::Release);
        }
        s.changed.notify_one();
    }
}

/// A response body being sent.
struct Streaming(Arc<ConnState>);

impl Streaming {
    fn new(state: Arc<ConnState>) -> Streaming {
        state.moved();
        state.streaming.fetch_add(1, Ordering::AcqRel);
        state.changed.notify_one();
        Streaming(state)
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.0.streaming.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_one();
    }
}

pin_project! {
    /// A response body that tells the watchdog each piece it makes; the
    /// request counts as answered when it is dropped.
    struct Tracked<B> {
        #[pin]
        inner: B,
        streaming: Streaming,
        active: Active,
    }
}

impl<B: Body> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.streaming.0.moved();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The connection's bytes, seen by the watchdog.
    pub(crate) struct Watched<IO> {
        #[pin]
        io: IO,
        state: Arc<ConnState>,
    }
}

impl<IO> Watched<IO> {
    pub(crate) fn new(io: IO, state: Arc<ConnState>) -> Watched<IO> {
        Watched { io, state }
    }
}

impl<IO: AsyncRead> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.io.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.state.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<IO: AsyncWrite> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.io.poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            if *n > 0 {
                this.state.moved();
            }
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.io.poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &polled {
            if *n > 0 {
                this.state.moved();
            }
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

/// How a connection ends besides by itself.
pub(crate) struct Ending {
    /// Turns true when the listener drains: finish the requests in flight.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Turns true when the grace period is over: close now.
    pub(crate) force: Option<watch::Receiver<bool>>,
}

/// Serve one connection (HTTP/1.1 with upgrades, or HTTP/2) with `service`,
/// within `limits`, until it ends, is timed out, or `ending` says so.
pub(crate) async fn serve<IO, S, B>(
    io: Watched<IO>,
    service: S,
    limits: ConnLimits,
    remote: SocketAddr,
    ending: Ending,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let state = io.state.clone();
    let service = Arc::new(service);
    let tracked_state = state.clone();
    let tracked = hyper::service::service_fn(move |req: Request<Incoming>| {
        let active = Active::new(tracked_state.clone());
        let service = service.clone();
        let state = tracked_state.clone();
        async move {
            let res = service.call(req).await?;
            let streaming = Streaming::new(state);
            Ok::<_, S::Error>(res.map(|inner| Tracked {
                inner,
                streaming,
                active,
            }))
        }
    });
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
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), tracked);
    tokio::pin!(connection);
    let Ending {
        mut shutdown,
        mut force,
    } = ending;
    let mut draining = *shutdown.borrow();
    if draining {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = state.deadline(&limits);
        let timer = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let forced = async {
            match force.as_mut() {
                Some(f) => {
                    let _ = f.changed().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = connection.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = forced => return,
            _ = state.changed.notified() => {}
            _ = timer => {
                if let Some((at, why)) = state.deadline(&limits) {
                    if at <= Instant::now() {
                        tracing::debug!(%remote, why, "connection closed");
                        return;
                    }
                }
            }
        }
    }
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
        self.0.state.active.fetch_add(1, Ordering::AcqRel);
        TunnelHold(self.0.clone())
    }
}

/// A tunnel's hold on its connection's slot.
pub(crate) struct TunnelHold(Arc<Slot>);

impl Drop for TunnelHold {
    fn drop(&mut self) {
        self.0.state.active.fetch_sub(1, Ordering::AcqRel);
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

    /// Ask the connection idle the longest to close; false when none is idle.
    pub(crate) fn shed_idlest(&self) -> bool {
        let Ok(live) = self.live.lock() else {
            return false;
        };
        let idlest = live
            .values()
            .filter(|s| s.is_idle() && !s.shed.load(Ordering::Acquire))
            .min_by_key(|s| s.at(s.idle_since.load(Ordering::Acquire)));
        match idlest {
            Some(s) => {
                s.shed.store(true, Ordering::Release);
                s.changed.notify_one();
                true
            }
            None => false,
        }
    }
}
