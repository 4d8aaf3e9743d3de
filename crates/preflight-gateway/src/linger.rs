//! A lingering close while shutting down (docs/behaviour.md, "Reload and
//! graceful shutdown"). When the gateway closes a kept-alive connection, a
//! client may already have sent its next request; a socket closed with such
//! bytes unread makes the kernel answer with a reset (RFC 1122 §4.2.2.13),
//! which can destroy the client's read of the last answer and tells it
//! nothing it can act on. A connection closed while the gateway drains
//! therefore ends as RFC 9112 §9.6 ("Tear-down") asks: a FIN, then what still
//! comes is read and discarded for at most [`LINGER`] (and [`LINGER_BYTES`]).
//! The client sees the end of the stream before any answer, a request it may
//! send again on another connection (RFC 9112 §9.3.1).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// The longest a closed connection is read after its FIN.
pub(crate) const LINGER: Duration = Duration::from_secs(1);

/// The most bytes read (and discarded) after the FIN.
pub(crate) const LINGER_BYTES: usize = 1 << 20;

/// A client connection that lingers when dropped while `draining` is true.
pub(crate) struct Lingering {
    stream: Option<TcpStream>,
    draining: watch::Receiver<bool>,
    /// Held until the lingering ends, so that the shutdown waits for it.
    done: Option<mpsc::Sender<()>>,
}

impl Lingering {
    pub(crate) fn new(
        stream: TcpStream,
        draining: watch::Receiver<bool>,
        done: mpsc::Sender<()>,
    ) -> Lingering {
        Lingering {
            stream: Some(stream),
            draining,
            done: Some(done),
        }
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        if !*self.draining.borrow() {
            return;
        }
        let (Some(stream), Ok(runtime)) =
            (self.stream.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let done = self.done.take();
        runtime.spawn(async move {
            let _done = done;
            linger(stream).await;
        });
    }
}

async fn linger(mut stream: TcpStream) {
    let until = tokio::time::Instant::now() + LINGER;
    let _ = tokio::time::timeout_at(until, stream.shutdown()).await;
    let mut buf = [0u8; 4096];
    let mut read = 0usize;
    while read < LINGER_BYTES {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => read += n,
            _ => break,
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
