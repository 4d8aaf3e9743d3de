//! Binding a listen address, and serving plain HTTP (HTTP/1.1 and h2c) on
//! it: the admin listener and the demo's servers.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http::Request;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body;
use crate::conn::{self, Connections, Ending, Watched};
use crate::limits::{ConnLimits, ADMIN_MAX_CONNECTIONS};

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
/// h2c) until `shutdown` turns true, within the default connection limits
/// and at most [`ADMIN_MAX_CONNECTIONS`] at once (RELIABILITY.md). Used by
/// the admin listener and the demo's servers.
pub async fn serve_plain<S, B>(listener: TcpListener, shutdown: watch::Receiver<bool>, service: S)
where
    S: hyper::service::Service<Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<body::BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<body::BoxError>,
{
    serve_plain_within(listener, shutdown, service, ConnLimits::default()).await
}

/// [`serve_plain`] with these limits.
pub async fn serve_plain_within<S, B>(
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
    service: S,
    limits: ConnLimits,
) where
    S: hyper::service::Service<Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<body::BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<body::BoxError>,
{
    let conns = Connections::new(ADMIN_MAX_CONNECTIONS);
    // Ends by itself once it has told the connections to drain.
    drop(conns.relay(shutdown.clone(), conn::DRAIN));
    let stop = shutdown.clone();
    crate::accept::accept_loop(listener, conns, stop, move |stream, remote, slot| {
        let service = service.clone();
        let ending = Ending {
            shutdown: shutdown.clone(),
            force: None,
        };
        tokio::spawn(async move {
            let io = Watched::new(stream, slot.state.clone());
            conn::serve(io, service, limits, remote, ending, bytes::Bytes::new()).await;
            drop(slot);
        });
    })
    .await;
}
