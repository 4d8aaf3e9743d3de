//! Binding a listen address, and serving plain HTTP (HTTP/1.1 and h2c) on
//! it: the admin listener and the demo's servers.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body;

/// Why the gateway could not start.
#[derive(Debug)]
pub enum StartError {
    /// A listen address could not be bound.
    Bind { addr: SocketAddr, source: io::Error },
    /// The TLS certificate or key could not be used.
    Tls(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind { addr, source } if source.kind() == io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {addr}: the address is already in use (another program, or another preflight, holds it); stop it or choose another port"
            ),
            StartError::Bind { addr, source } if source.kind() == io::ErrorKind::PermissionDenied => {
                write!(f, "cannot listen on {addr}: permission denied (ports below 1024 need privileges); choose a port above 1024")
            }
            StartError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            StartError::Tls(m) => write!(f, "TLS: {m}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Bind a TCP listener, with a clear error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Accept plain TCP connections and serve them with `service` (HTTP/1.1 and
/// h2c) until `shutdown` turns true. Used by the admin listener and the
/// demo's servers.
pub async fn serve_plain<S, B>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    service: S,
) where
    S: hyper::service::Service<Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<body::BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<body::BoxError>,
{
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let service = service.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
