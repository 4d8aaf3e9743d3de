//! Listening and serving: HTTP/1.1 and h2c (or TLS with ALPN `h2` and
//! `http/1.1`) on one or more addresses, the admin listener, reloads and
//! graceful shutdown.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::header::ORIGIN;
use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use preflight_tower::CorsOutcome;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::body::{self, GatewayResponse};
use crate::config::{Config, ConfigError, TlsFiles};
use crate::metrics::{Metrics, RefusedRequest};
use crate::proxy::{ConnInfo, ProxyTiming};
use crate::router::{Mode, Table, NO_ROUTE};

/// The gateway: the current routing table, the metrics, and where the
/// configuration came from. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gateway {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    table: ArcSwap<Table>,
    metrics: Metrics,
    config_path: Option<PathBuf>,
    ready: AtomicBool,
}

impl Gateway {
    /// A gateway serving this configuration. Reloads read `config.path`.
    pub fn new(config: Config) -> Gateway {
        let config_path = config.path.clone();
        Gateway {
            shared: Arc::new(Shared {
                table: ArcSwap::from_pointee(Table::new(config)),
                metrics: Metrics::new(),
                config_path,
                ready: AtomicBool::new(true),
            }),
        }
    }

    /// The routing table in use.
    pub fn table(&self) -> Arc<Table> {
        self.shared.table.load_full()
    }

    /// The configuration in use.
    pub fn config(&self) -> Arc<Config> {
        self.table().config.clone()
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// True until shutdown starts.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Relaxed)
    }

    /// Swap in a new configuration: requests already routed finish with the
    /// old table, new ones use the new one. Listen addresses and TLS files
    /// are read at start only.
    pub fn replace(&self, config: Config) {
        let old = self.config();
        if old.server.listen != config.server.listen
            || old.server.tls != config.server.tls
            || old.server.admin != config.server.admin
        {
            tracing::warn!("listen, admin and tls changes take effect at the next start");
        }
        self.shared.table.store(Arc::new(Table::new(config)));
    }

    /// Read the configuration file again. A bad file keeps the running
    /// configuration; the error is logged, counted and shown on the dashboard.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let Some(path) = &self.shared.config_path else {
            return Ok(());
        };
        match Config::load(path) {
            Ok(config) => {
                let routes = config.routes.len();
                for w in config.warnings() {
                    tracing::warn!("{w}");
                }
                self.replace(config);
                tracing::info!(file = %path.display(), routes, "configuration reloaded");
                self.metrics()
                    .reload(true, format!("{routes} route(s) loaded"));
                Ok(())
            }
            Err(e) => {
                tracing::error!(file = %path.display(), "reload refused, the running configuration stays: {e}");
                self.metrics().reload(false, e.to_string());
                Err(e)
            }
        }
    }

    /// Answer one request from a client connection.
    pub async fn handle(&self, req: Request<Incoming>, conn: ConnInfo) -> GatewayResponse {
        let started = Instant::now();
        let table = self.table();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let origin = req
            .headers()
            .get(ORIGIN)
            .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned());
        let _in_flight = InFlight::new(&self.shared.metrics);
        let (res, route) = table
            .dispatch(req.map(body::boxed), conn, Mode::Proxy)
            .await;
        let label = route
            .and_then(|i| table.routes().get(i))
            .map_or(NO_ROUTE, |e| e.route.path.as_str());
        let status = res.status().as_u16();
        let metrics = &self.shared.metrics;
        metrics.request(label, method.as_str(), status);
        if let Some(t) = res
            .extensions()
            .get::<ProxyTiming>()
            .and_then(|t| t.upstream)
        {
            metrics.upstream_latency(label, t);
        }
        let outcome = res.extensions().get::<CorsOutcome>();
        let refusal = match outcome {
            Some(CorsOutcome::Preflight { allowed, reason }) => {
                metrics.preflight(label, *allowed, reason.as_ref().map_or("", |r| r.code()));
                reason
                    .as_ref()
                    .map(|r| ("preflight", r.code().to_string(), r.to_string()))
            }
            Some(CorsOutcome::Actual { allowed: false }) => {
                let cors_on = route
                    .and_then(|i| table.routes().get(i))
                    .map_or(table.config.default_cors.is_some(), |e| {
                        e.layer.policy().is_some()
                    });
                Some(if cors_on {
                    (
                        "actual",
                        "origin_not_allowed".to_string(),
                        "the origin is not in allow_origins".to_string(),
                    )
                } else {
                    (
                        "actual",
                        "cors_disabled".to_string(),
                        "cross-origin requests are disabled on this route".to_string(),
                    )
                })
            }
            _ => None,
        };
        let cors = match outcome {
            Some(CorsOutcome::Preflight { allowed: true, .. }) => "preflight-allowed",
            Some(CorsOutcome::Preflight { allowed: false, .. }) => "preflight-refused",
            Some(CorsOutcome::Actual { allowed: true }) => "allowed",
            Some(CorsOutcome::Actual { allowed: false }) => "refused",
            _ => "none",
        };
        // DESIGN.md: a refusal says why, in the log too.
        let why = refusal.as_ref().map(|(_, _, reason)| reason.clone());
        if let Some((kind, code, reason)) = refusal {
            metrics.refused(RefusedRequest {
                at: std::time::SystemTime::now(),
                route: label.to_string(),
                method: method.to_string(),
                path: path.clone(),
                origin: origin.clone().unwrap_or_default(),
                kind,
                code,
                reason,
            });
        }
        tracing::info!(
            target: "preflight::access",
            remote = %conn.remote,
            method = %method,
            path = %path,
            status,
            route = label,
            origin = origin.as_deref().unwrap_or("-"),
            cors,
            why = why.as_deref().unwrap_or("-"),
            ms = started.elapsed().as_secs_f64() * 1000.0,
        );
        res
    }
}

struct InFlight<'a>(&'a Metrics);

impl<'a> InFlight<'a> {
    fn new(m: &'a Metrics) -> Self {
        m.in_flight().inc();
        InFlight(m)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight().dec();
    }
}

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

/// A started gateway.
#[derive(Debug)]
pub struct RunningGateway {
    gateway: Gateway,
    addrs: Vec<SocketAddr>,
    admin: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
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
    let task = tokio::spawn(serve(
        gateway.clone(),
        listeners,
        tls,
        admin.map(|(_, l)| l),
        shutdown_rx,
    ));
    Ok(RunningGateway {
        gateway,
        addrs,
        admin: admin_addr,
        shutdown: shutdown_tx,
        task,
    })
}

async fn serve(
    gateway: Gateway,
    listeners: Vec<TcpListener>,
    tls: Option<TlsAcceptor>,
    admin: Option<TcpListener>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Every connection holds a sender; when all are dropped, all are done.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let (force_tx, force_rx) = watch::channel(false);
    let mut loops = Vec::new();
    for listener in listeners {
        loops.push(tokio::spawn(accept_loop(
            gateway.clone(),
            listener,
            tls.clone(),
            shutdown.clone(),
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
    gateway.shared.ready.store(false, Ordering::Relaxed);
    for l in loops {
        let _ = l.await;
    }
    let grace = gateway.config().server.grace_period;
    tracing::info!(
        grace_ms = grace.as_millis() as u64,
        "shutting down: no new connections; finishing requests in flight"
    );
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        tracing::warn!("grace period over: closing the remaining connections");
        force_tx.send_replace(true);
    }
    admin_stop_tx.send_replace(true);
    if let Some(a) = admin_loop {
        let _ = a.await;
    }
}

async fn accept_loop(
    gateway: Gateway,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        let force = force.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let _done = done;
            match tls {
                None => {
                    let conn = ConnInfo { remote, tls: false };
                    serve_connection(gateway, stream, conn, shutdown, force).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await;
                    match handshake {
                        Ok(Ok(tls_stream)) => {
                            let conn = ConnInfo { remote, tls: true };
                            serve_connection(gateway, tls_stream, conn, shutdown, force).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve_connection<IO>(
    gateway: Gateway,
    io: IO,
    conn: ConnInfo,
    mut shutdown: watch::Receiver<bool>,
    mut force: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let gateway = gateway.clone();
        async move { Ok::<_, Infallible>(gateway.handle(req, conn).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    let mut draining = *shutdown.borrow();
    if draining {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = connection.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(remote = %conn.remote, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = force.changed() => return,
        }
    }
}

/// A TLS acceptor that offers `h2` and `http/1.1` by ALPN.
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, StartError> {
    use std::fs::File;
    use std::io::BufReader;
    let open = |p: &PathBuf| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| StartError::Tls(format!("cannot read {}: {e}", p.display())))
    };
    let certs = rustls_pemfile::certs(&mut open(&files.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            StartError::Tls(format!(
                "{}: not a PEM certificate chain: {e}",
                files.cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(StartError::Tls(format!(
            "{}: no certificate found",
            files.cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut open(&files.key)?)
        .map_err(|e| {
            StartError::Tls(format!(
                "{}: not a PEM private key: {e}",
                files.key.display()
            ))
        })?
        .ok_or_else(|| StartError::Tls(format!("{}: no private key found", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError::Tls(format!("the certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
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
