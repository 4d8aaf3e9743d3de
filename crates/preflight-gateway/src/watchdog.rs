//! What the watchdog of one connection reads (RELIABILITY.md, "Connections,
//! timeouts and memory"): a [`ConnState`] that the connection's bytes
//! ([`Watched`]) and its requests ([`Tracked`] answers) keep with plain
//! atomic stores, and that [`crate::conn::serve`] reads when its one timer
//! fires.
//!
//! Nothing here wakes the watchdog on a read, a write or a request: the
//! timer is armed no later than the earliest deadline any later event could
//! set ([`ConnState::next_check`]), re-checks the state when it fires, and
//! either closes the connection or arms again. Only a request to make room
//! ([`ConnState::ask_to_close`]) wakes it at once.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::limits::ConnLimits;

/// The state of one connection. Times are milliseconds since its start.
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
    /// What the connection was told ([`SHED`], [`DRAIN`], [`FORCE`]), as
    /// bits that are only ever set.
    told: AtomicU8,
    /// Turned idle while [`SHED`] was set.
    shed_idle: AtomicBool,
    /// The connection's task, woken when a bit is set (or when it turns idle
    /// while asked to make room): one atomic check per wake of the task,
    /// where a channel or `Notify` for each would cost a lock each.
    wake: AtomicWaker,
}

/// Close when idle, to make room for a new connection.
pub(crate) const SHED: u8 = 1;
/// The listener drains: finish the requests in flight.
pub(crate) const DRAIN: u8 = 2;
/// The grace period is over: close now.
pub(crate) const FORCE: u8 = 4;

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
            told: AtomicU8::new(0),
            shed_idle: AtomicBool::new(false),
            wake: AtomicWaker::new(),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// When the connection last turned idle.
    pub(crate) fn idle_since(&self) -> Instant {
        self.at(self.idle_since.load(Ordering::Acquire))
    }

    pub(crate) fn is_shed(&self) -> bool {
        self.told.load(Ordering::Acquire) & SHED != 0
    }

    /// Close this connection as soon as it is idle, to make room.
    pub(crate) fn ask_to_close(&self) {
        self.tell(SHED);
    }

    /// Set `bits` ([`SHED`], [`DRAIN`], [`FORCE`]) and wake the connection.
    pub(crate) fn tell(&self, bits: u8) {
        self.told.fetch_or(bits, Ordering::AcqRel);
        self.wake.wake();
    }

    /// What the connection is told from now on, among `mask`.
    pub(crate) fn told(&self, mask: u8) -> Told<'_> {
        Told {
            state: self,
            mask,
            seen: 0,
        }
    }

    /// When the connection must close, and why; `None` while a request waits
    /// for its upstream (the upstream and body timeouts apply then).
    pub(crate) fn deadline(&self, l: &ConnLimits) -> Option<(Instant, &'static str)> {
        if !self.is_idle() {
            if self.streaming.load(Ordering::Acquire) == 0 {
                return None;
            }
            let at = self.at(self.progress.load(Ordering::Acquire)) + l.body_idle_timeout;
            return Some((at, "body_idle_timeout: the response did not move"));
        }
        if self.is_shed() {
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

    /// When the watchdog looks next, from `now`: at the deadline, and no
    /// later than the shortest timeout from now. Every deadline is an event
    /// (a byte read, a request ended, a piece of body sent) plus one of the
    /// timeouts, and an event to come happens after `now`, so no deadline
    /// it sets can fall before this check: the events need not wake the
    /// watchdog.
    pub(crate) fn next_check(&self, l: &ConnLimits, now: Instant) -> Instant {
        // At least the state's resolution (a millisecond): a zero timeout
        // (a `ConnLimits` made in code; the configuration refuses it) must not
        // make the timer fire without end while a request waits.
        let shortest = l
            .header_read_timeout
            .min(l.idle_timeout)
            .min(l.body_idle_timeout)
            .max(Duration::from_millis(1));
        let latest = now + shortest;
        match self.deadline(l) {
            Some((at, _)) => at.min(latest),
            None => latest,
        }
    }

    fn read(&self, bytes: &[u8]) {
        // One reader per connection: a load and a store, not a swap.
        if self.first_read.load(Ordering::Relaxed) {
            self.first_read.store(false, Ordering::Relaxed);
            if bytes.starts_with(b"PRI ") {
                self.h2.store(true, Ordering::Release);
            }
        }
        if self.is_idle() && self.head_started.load(Ordering::Acquire) == 0 {
            self.head_started.store(self.now() + 1, Ordering::Release);
        }
    }

    /// A byte written: progress, when a response body is being sent (the
    /// only time `progress` is read).
    fn wrote(&self) {
        if self.streaming.load(Ordering::Acquire) > 0 {
            self.moved();
        }
    }

    fn moved(&self) {
        self.progress.store(self.now(), Ordering::Release);
    }

    /// Count the connection busy (never idle, never closed to make room)
    /// until [`ConnState::release_busy`]: a WebSocket tunnel holds its
    /// connection's slot so (`crate::conn::SharedSlot`).
    pub(crate) fn hold_busy(&self) {
        self.active.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn release_busy(&self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
    }

    /// A request begins.
    pub(crate) fn request(self: &Arc<Self>) -> Answering {
        self.served.store(true, Ordering::Release);
        self.active.fetch_add(1, Ordering::AcqRel);
        Answering {
            state: self.clone(),
            streaming: false,
        }
    }
}

/// Completes with the bits among its mask set since it last completed (or
/// since it was made), and again at the next bit: poll it again after each.
pub(crate) struct Told<'a> {
    state: &'a ConnState,
    mask: u8,
    seen: u8,
}

impl std::future::Future for Told<'_> {
    type Output = u8;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        let state = self.state;
        // Registered first, then read: a bit set in between wakes the task.
        state.wake.register(cx.waker());
        let new = state.told.load(Ordering::Acquire) & self.mask & !self.seen;
        if new != 0 {
            self.seen |= new;
            return Poll::Ready(new);
        }
        // Asked to make room while busy, and idle since: told again.
        if self.mask & SHED != 0
            && state.shed_idle.load(Ordering::Acquire)
            && state.shed_idle.swap(false, Ordering::AcqRel)
        {
            return Poll::Ready(SHED);
        }
        Poll::Pending
    }
}

/// A request being answered, until its response is sent whole.
pub(crate) struct Answering {
    state: Arc<ConnState>,
    streaming: bool,
}

impl Answering {
    /// The response's body begins to be sent.
    pub(crate) fn streaming(mut self) -> Answering {
        self.state.moved();
        self.state.streaming.fetch_add(1, Ordering::AcqRel);
        self.streaming = true;
        self
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let s = &self.state;
        if self.streaming {
            s.streaming.fetch_sub(1, Ordering::AcqRel);
        }
        if s.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            s.idle_since.store(s.now(), Ordering::Release);
            s.head_started.store(0, Ordering::Release);
            if s.is_shed() {
                s.shed_idle.store(true, Ordering::Release);
                s.wake.wake();
            }
        }
    }
}

pin_project! {
    /// A response body that tells the watchdog each piece it makes; the
    /// request counts as answered when it is dropped.
    pub(crate) struct Tracked<B> {
        #[pin]
        inner: B,
        answering: Answering,
    }
}

impl<B> Tracked<B> {
    pub(crate) fn new(inner: B, answering: Answering) -> Tracked<B> {
        Tracked {
            inner,
            answering: answering.streaming(),
        }
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
            this.answering.state.moved();
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

    pub(crate) fn state(&self) -> &Arc<ConnState> {
        &self.state
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
                this.state.wrote();
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
                this.state.wrote();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_idle_timeout: Duration::from_secs(30),
            ..ConnLimits::default()
        }
    }

    #[test]
    fn the_check_comes_no_later_than_any_deadline_a_later_event_sets() {
        let l = limits();
        let s = ConnState::new();
        let t0 = Instant::now();
        // A new connection: its header deadline, 10 s from its start.
        let first = s.next_check(&l, t0);
        assert!(first <= s.start + l.header_read_timeout);
        // Served and idle: the idle deadline is 60 s away, but the first
        // byte of a next head (any time from now) sets one 10 s after it,
        // so the watchdog looks again within 10 s.
        drop(s.request());
        let now = Instant::now();
        let check = s.next_check(&l, now);
        assert!(check <= now + l.header_read_timeout, "{:?}", check - now);
        // A request waiting for its upstream has no deadline of its own:
        // the check still comes, within the shortest timeout.
        let waiting = s.request();
        assert!(s.deadline(&l).is_none());
        assert!(s.next_check(&l, now) <= now + l.header_read_timeout);
        drop(waiting);
    }

    #[test]
    fn a_zero_timeout_still_arms_the_timer_ahead() {
        let l = ConnLimits {
            header_read_timeout: Duration::ZERO,
            idle_timeout: Duration::ZERO,
            body_idle_timeout: Duration::ZERO,
            ..ConnLimits::default()
        };
        let s = ConnState::new();
        let waiting = s.request();
        let now = Instant::now();
        assert!(s.next_check(&l, now) > now);
        drop(waiting);
    }

    #[test]
    fn asking_to_close_an_idle_connection_wakes_its_watchdog() {
        let s = ConnState::new();
        let asked = s.told(SHED);
        s.ask_to_close();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), asked)
                .await
                .expect("woken");
        });
        let (at, why) = s.deadline(&ConnLimits::default()).expect("a deadline");
        assert!(at <= Instant::now());
        assert!(why.contains("max_connections"), "{why}");
    }

    #[test]
    fn a_connection_is_told_once_per_bit_and_again_when_asked_to_make_room_and_idle() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let s = ConnState::new();
            let busy = s.request();
            let mut told = s.told(SHED | DRAIN);
            let wait = Duration::from_secs(5);
            assert!(tokio::time::timeout(Duration::from_millis(20), &mut told)
                .await
                .is_err());
            // Set while the task waits: it is woken.
            let s2 = s.clone();
            let asker = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                s2.ask_to_close();
            });
            assert_eq!(tokio::time::timeout(wait, &mut told).await, Ok(SHED));
            asker.await.expect("the asker");
            // Busy when asked: told again when it turns idle, and only then.
            assert!(tokio::time::timeout(Duration::from_millis(20), &mut told)
                .await
                .is_err());
            drop(busy);
            assert_eq!(tokio::time::timeout(wait, &mut told).await, Ok(SHED));
            s.tell(DRAIN | FORCE);
            assert_eq!(tokio::time::timeout(wait, &mut told).await, Ok(DRAIN));
            assert!(tokio::time::timeout(Duration::from_millis(20), &mut told)
                .await
                .is_err());
        });
    }
}
