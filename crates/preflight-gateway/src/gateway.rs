//! [`Gateway`]: the state every connection shares (the current routing
//! table, the metrics, where the configuration came from), reloads, and the
//! answer to one request (`observe -> router -> cors layer -> method check ->
//! proxy`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::Request;
use hyper::body::Incoming;
use tower::{Layer, ServiceExt};

use crate::access_log::AccessLog;
use crate::body::{self, GatewayResponse};
use crate::config::{Config, ConfigError};
use crate::explain::{self, ExplainQuery, Explanation};
use crate::metrics::Metrics;
use crate::observe::ObserveLayer;
use crate::proxy::ConnInfo;
use crate::router::{infallible, Routes, Table};
use crate::websocket::Tunnels;

/// The gateway: the current routing table, the metrics, and where the
/// configuration came from. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    table: ArcSwap<Table>,
    metrics: Arc<Metrics>,
    config_path: Option<PathBuf>,
    ready: AtomicBool,
    tunnels: Tunnels,
    /// As configured at start (a reload does not move it).
    access_log: AccessLog,
}

impl Gateway {
    /// A gateway serving this configuration. Reloads read `config.path`.
    pub fn new(config: Config) -> Gateway {
        let config_path = config.path.clone();
        let access_log = AccessLog::new(&config.server.access_log);
        Gateway {
            shared: Arc::new(Shared {
                table: ArcSwap::from_pointee(Table::new(config)),
                metrics: Arc::new(Metrics::new()),
                config_path,
                ready: AtomicBool::new(true),
                tunnels: Tunnels::default(),
                access_log,
            }),
        }
    }

    /// The routing table in use.
    pub(crate) fn table(&self) -> Arc<Table> {
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
        self.handle_body(req.map(body::boxed), conn).await
    }

    /// Answer one request whose body is already a [`body::GatewayBody`]:
    /// the same path as [`Gateway::handle`] (edge checks, router, CORS layer,
    /// method check, proxy), for callers that make requests in process (the
    /// request-path fuzz target).
    pub async fn handle_body(
        &self,
        req: Request<body::GatewayBody>,
        conn: ConnInfo,
    ) -> GatewayResponse {
        let routes = Routes {
            table: self.table(),
            conn,
            tunnels: self.shared.tunnels.clone(),
        };
        let service = ObserveLayer::new(
            self.shared.metrics.clone(),
            conn.remote,
            self.shared.access_log.clone(),
        )
        .layer(routes);
        infallible(service.oneshot(req).await)
    }

    /// The gateway's own origin, as a page would address it: its first listen
    /// address.
    pub fn origin(&self) -> String {
        let config = self.config();
        let scheme = if config.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        match config.server.listen.first() {
            Some(addr) => format!("{scheme}://{addr}"),
            None => format!("{scheme}://127.0.0.1"),
        }
    }

    /// Run a page's request through the current table, as a browser would
    /// (the browser side is `preflight_core::browser`, the server side the
    /// gateway's real layers with a stand-in for the upstream). An `Err` is a
    /// query that cannot be run (a bad origin or path).
    pub async fn explain(&self, q: &ExplainQuery) -> Result<Explanation, String> {
        explain::explain(self.table(), &self.origin(), q, None).await
    }

    /// [`Gateway::explain`] with `upstream` standing in for every route's
    /// upstream: what it answers (a redirect, say) is what the gateway's
    /// layers then decorate and the browser side judges, hop after hop.
    pub async fn explain_with_upstream(
        &self,
        q: &ExplainQuery,
        upstream: explain::Upstream,
    ) -> Result<Explanation, String> {
        explain::explain(self.table(), &self.origin(), q, Some(upstream)).await
    }

    /// Write out the access log's pending lines (when it goes to a file),
    /// waiting at most `limit`: at shutdown.
    pub fn flush_access_log(&self, limit: std::time::Duration) {
        self.shared.access_log.flush(limit);
    }

    /// Where the access log goes.
    pub(crate) fn access_log(&self) -> &AccessLog {
        &self.shared.access_log
    }

    /// The open WebSocket tunnels.
    pub(crate) fn tunnels(&self) -> &Tunnels {
        &self.shared.tunnels
    }

    /// Shutdown started: `/readyz` answers 503 from now on.
    pub(crate) fn stop_ready(&self) {
        self.shared.ready.store(false, Ordering::Relaxed);
    }
}
