//! Listening and serving: HTTP/1.1 and h2c (or TLS with ALPN `h2` and
//! `http/1.1`) on one or more addresses, the admin listener, and graceful
//! shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;
use crate::conn::{self, Connections, Ending, SharedSlot, Watched, DRAIN, FORCE};
use crate::express::Lane;
use crate::gateway::Gateway;
use crate::limits::{self, ConnLimits};
use crate::linger::Lingering;
use crate::listen::{bind, StartError};
use crate::proxy::ConnInfo;

/// A started gateway.
#[derive(Debug)]
pub struct RunningGateway {
    gateway: Gateway,
    addrs: Vec<SocketAddr>,
    admin: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    force: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Triggers a graceful shutdown from elsewhere (a signal handler).
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

/// Ends a shutdown under way at once, as the end of the grace period does:
/// the connections and tunnels left are closed (a second SIGTERM).
#[derive(Debug, Clone)]
pub struct ForceTrigger(watch::Sender<bool>);

impl ForceTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl RunningGateway {
    /// The gateway (for reloads).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }
    /// The bound addresses (useful with port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
    /// The admin listener's address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }
    /// A handle that starts the shutdown.
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        ShutdownTrigger(self.shutdown.clone())
    }
    /// A handle that ends a shutdown under way at once.
    pub fn force_trigger(&self) -> ForceTrigger {
        ForceTrigger(self.force.clone())
    }
    /// Stop accepting, let in-flight requests finish within the grace
    /// period, then return.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        let _ = self.task.await;
    }
    /// Wait until a shutdown (started by a trigger) has finished.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Bind every listen address (and the admin one) and start serving.
pub async fn start(gateway: Gateway) -> Result<RunningGateway, StartError> {
    let config = gateway.config();
    let tls = match &config.server.tls {
        Some(files) => Some(tls_acceptor(files)?),
        None => None,
    };
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for addr in &config.server.listen {
        let l = bind(*addr).await?;
        addrs.push(l.local_addr().unwrap_or(*addr));
        listeners.push(l);
    }
    let admin = match config.server.admin {
        Some(addr) => {
            let l = bind(addr).await?;
            Some((l.local_addr().unwrap_or(addr), l))
        }
        None => None,
    };
    let admin_addr = admin.as_ref().map(|(a, _)| *a);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (force_tx, _) = watch::channel(false);
    let task = tokio::spawn(serve(
        gateway.clone(),
        listeners,
        tls,
        admin.map(|(_, l)| l),
        shutdown_rx,
        force_tx.clone(),
    ));
    Ok(RunningGateway {
        gateway,
        addrs,
        admin: admin_addr,
        shutdown: shutdown_tx,
        force: force_tx,
        task,
    })
}

async fn serve(
    gateway: Gateway,
    listeners: Vec<TcpListener>,
    tls: Option<TlsAcceptor>,
    admin: Option<TcpListener>,
    mut shutdown: watch::Receiver<bool>,
    force_tx: watch::Sender<bool>,
) {
    // Every connection holds a sender; when all are dropped, all are done.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    // Turned true at the end of the grace period, or by a ForceTrigger.
    let force_rx = force_tx.subscribe();
    // One cap for every listen address, fixed at start.
    let (cap, warning) = limits::max_connections(&gateway.config().server);
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    tracing::info!(max_connections = cap, "connection cap");
    let conns = Connections::new(cap);
    // A ForceTrigger reaches the connections at once, whenever it comes.
    let force_relay = conns.relay(force_rx.clone(), FORCE);
    // The listeners and connections stop on this one, which follows
    // `shutdown` after `shutdown_delay`: readiness fails first.
    let (accepting_tx, accepting_rx) = watch::channel(false);
    let mut loops = Vec::new();
    for listener in listeners {
        loops.push(tokio::spawn(accept_loop(
            gateway.clone(),
            listener,
            tls.clone(),
            conns.clone(),
            accepting_rx.clone(),
            force_rx.clone(),
            done_tx.clone(),
        )));
    }
    // The admin listener stays up while draining, so that /readyz says 503.
    let (admin_stop_tx, admin_stop_rx) = watch::channel(false);
    let admin_loop =
        admin.map(|l| tokio::spawn(crate::admin::serve(gateway.clone(), l, admin_stop_rx)));
    drop(done_tx);

    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    gateway.stop_ready();
    let mut forced = force_tx.subscribe();
    let delay = gateway.config().server.shutdown_delay;
    if !delay.is_zero() {
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "shutting down: /readyz fails; still accepting for shutdown_delay"
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = forced.wait_for(|f| *f) => {}
        }
    }
    accepting_tx.send_replace(true);
    conns.tell_all(DRAIN);
    gateway.tunnels().go_away();
    for l in loops {
        let _ = l.await;
    }
    let grace = gateway.config().server.grace_period;
    tracing::info!(
        grace_ms = grace.as_millis() as u64,
        "shutting down: no new connections; finishing requests in flight"
    );
    let mut deadline = tokio::time::Instant::now() + grace;
    tokio::select! {
        r = tokio::time::timeout_at(deadline, done_rx.recv()) => {
            if r.is_err() {
                tracing::warn!("grace period over: closing the remaining connections");
                force_tx.send_replace(true);
                conns.tell_all(FORCE);
            }
        }
        _ = forced.wait_for(|f| *f) => {
            tracing::warn!("shutdown forced: closing the remaining connections");
            deadline = tokio::time::Instant::now();
        }
    }
    // WebSocket tunnels outlive their connections: closed by the same deadline.
    gateway.tunnels().close_by(deadline).await;
    admin_stop_tx.send_replace(true);
    if let Some(a) = admin_loop {
        let _ = a.await;
    }
    force_relay.abort();
}

async fn accept_loop(
    gateway: Gateway,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    conns: Arc<Connections>,
    shutdown: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let stop = shutdown.clone();
    crate::accept::accept_loop(listener, conns, stop, move |stream, remote, slot| {
        let gateway = gateway.clone();
        let tls = tls.clone();
        let ending = Ending {
            shutdown: shutdown.clone(),
            force: Some(force.clone()),
        };
        let done = done.clone();
        // Closed while draining, the connection lingers (crate::linger).
        let stream = Lingering::new(stream, shutdown.clone(), done.clone());
        tokio::spawn(async move {
            let _done = done;
            // New connections take the limits of the configuration in force.
            let limits = ConnLimits::of(&gateway.config().server);
            let state = slot.state.clone();
            // A tunnel this connection becomes keeps the slot (conn::SharedSlot).
            let slot = SharedSlot(Arc::new(slot));
            match tls {
                None => {
                    let conn = ConnInfo { remote, tls: false };
                    let io = Watched::new(stream, state);
                    let service = gateway_service(gateway.clone(), conn, slot.clone());
                    if let Some((io, prefix)) =
                        express(&gateway, io, &limits, &ending, remote).await
                    {
                        conn::serve(io, service, limits, remote, ending, prefix).await;
                    }
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await;
                    match handshake {
                        Ok(Ok(tls_stream)) => {
                            let conn = ConnInfo { remote, tls: true };
                            let io = Watched::new(tls_stream, state);
                            let service = gateway_service(gateway.clone(), conn, slot.clone());
                            if let Some((io, prefix)) =
                                express(&gateway, io, &limits, &ending, remote).await
                            {
                                conn::serve(io, service, limits, remote, ending, prefix).await;
                            }
                        }
                        Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    })
    .await;
}

/// The express lane first (crate::express), under the connection's
/// watchdog; the connection and the bytes it read but did not answer for
/// hyper, or `None` when it ended there. Not while draining: hyper answers
/// and closes.
async fn express<IO>(
    gateway: &Gateway,
    io: Watched<IO>,
    limits: &ConnLimits,
    ending: &Ending,
    remote: SocketAddr,
) -> Option<(Watched<IO>, bytes::Bytes)>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if ending.draining() {
        return Some((io, bytes::Bytes::new()));
    }
    let state = io.state().clone();
    let lane = Lane::new(gateway.clone(), remote);
    conn::guarded(&state, limits, ending, remote, lane.run(io))
        .await
        .flatten()
}

fn gateway_service(
    gateway: Gateway,
    conn: ConnInfo,
    slot: SharedSlot,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = crate::body::GatewayResponse,
    Error = Infallible,
    Future = impl Send,
> + Send
       + Sync
       + 'static {
    service_fn(move |mut req: Request<Incoming>| {
        let gateway = gateway.clone();
        if req.headers().contains_key(http::header::UPGRADE) {
            req.extensions_mut().insert(slot.clone());
        }
        async move { Ok::<_, Infallible>(gateway.handle(req, conn).await) }
    })
}

/// A TLS acceptor that offers `h2` and `http/1.1` by ALPN, with the
/// certificate and key reloaded when their files change (docs/deploying.md, "TLS").
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, StartError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = crate::tls::Rotating::new(files, provider.clone()).map_err(StartError::Tls)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
