//! A stream read first from bytes already taken off it: how the express
//! lane (`crate::express`) hands a connection to hyper with the bytes it
//! read and did not answer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pin_project! {
    /// A stream read first from bytes already taken off it: how the lane
    /// hands a connection to hyper.
    pub(crate) struct Rewound<IO> {
        prefix: Bytes,
        #[pin]
        io: IO,
    }
}

impl<IO> Rewound<IO> {
    pub(crate) fn new(prefix: Bytes, io: IO) -> Rewound<IO> {
        Rewound { prefix, io }
    }
}

impl<IO: AsyncRead> AsyncRead for Rewound<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        this.io.poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite> AsyncWrite for Rewound<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn rewound_reads_its_prefix_first() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (mut a, b) = tokio::io::duplex(64);
            a.write_all(b" world").await.expect("write");
            drop(a);
            let mut r = Rewound::new(Bytes::from_static(b"hello"), b);
            let mut all = Vec::new();
            r.read_to_end(&mut all).await.expect("read");
            assert_eq!(all, b"hello world");
        });
    }
}
