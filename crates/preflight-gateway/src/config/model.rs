//! The validated configuration: what a [`Config`] holds once it loaded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use preflight_core::{CorsConfig, MethodSet, Policy};

use super::diagnostics::{Document, Problem, SourceFile};
pub use crate::forwarded::Cidr;

/// Defaults of the `[server]` table.
pub(crate) const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_BODY_LIMIT: u64 = 10 * 1024 * 1024;
pub(crate) const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_WEBSOCKET_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
// The edge's limits (RELIABILITY.md).
pub(crate) const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_H2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
pub(crate) const DEFAULT_H2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
pub(crate) const DEFAULT_H2_MAX_CONCURRENT_STREAMS: u32 = 100;
pub(crate) const DEFAULT_UPSTREAM_MAX_CONNECTIONS: usize = 256;
pub(crate) const DEFAULT_MAX_REQUEST_HEADER_BYTES: usize = 64 * 1024;
/// The range `max_request_header_bytes` may take: below 1 KiB a browser's
/// ordinary request would be refused; above 256 KiB it would pass hyper's
/// HTTP/1.1 read buffer (about 400 KB), which then answers first.
pub(crate) const MAX_REQUEST_HEADER_BYTES_RANGE: (usize, usize) = (1024, 256 * 1024);

/// The `[server]` table, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    pub admin: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    pub upstream_timeout: Duration,
    pub connect_timeout: Duration,
    pub body_limit: u64,
    pub grace_period: Duration,
    /// The edge (`docs/configuration.md`, "Requests at the edge"): peers
    /// whose forwarding headers are kept, the names the admin listener
    /// answers to besides its address, and how long a WebSocket tunnel may
    /// carry nothing.
    pub trusted_proxies: Vec<Cidr>,
    pub admin_hosts: Vec<String>,
    pub websocket_idle_timeout: Duration,
    // The edge's limits (RELIABILITY.md).
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_idle_timeout: Duration,
    /// Zero: no HTTP/2 pings.
    pub h2_keepalive_interval: Duration,
    /// After SIGTERM: how long the listeners keep accepting while `/readyz`
    /// already fails, so that a load balancer that polls readiness stops
    /// sending first (docs/deploying.md). Zero: close at once.
    pub shutdown_delay: Duration,
    pub h2_keepalive_timeout: Duration,
    pub h2_max_concurrent_streams: u32,
    /// `None`: what fits the process's file limit, found at start.
    pub max_connections: Option<usize>,
    pub upstream_max_connections: usize,
    /// The most a request's header fields may hold (each counted as
    /// `name: value` and CRLF, as on the HTTP/1.1 wire): above it, 431.
    pub max_request_header_bytes: usize,
    /// Where each request's line goes (docs/configuration.md, "Access log").
    pub access_log: AccessLogTarget,
}

/// `[server] access_log`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// An event of the `preflight::access` target, written with the other
    /// messages (`RUST_LOG`, `--log-format`).
    #[default]
    Stderr,
    /// None.
    Off,
    /// Lines appended to this file (resolved against the configuration
    /// file's directory), formatted and written in batches by the gateway.
    File(PathBuf),
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8080))],
            admin: None,
            tls: None,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            body_limit: DEFAULT_BODY_LIMIT,
            grace_period: DEFAULT_GRACE_PERIOD,
            trusted_proxies: Vec::new(),
            admin_hosts: Vec::new(),
            websocket_idle_timeout: DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            h2_keepalive_interval: DEFAULT_H2_KEEPALIVE_INTERVAL,
            shutdown_delay: Duration::ZERO,
            h2_keepalive_timeout: DEFAULT_H2_KEEPALIVE_TIMEOUT,
            h2_max_concurrent_streams: DEFAULT_H2_MAX_CONCURRENT_STREAMS,
            max_connections: None,
            upstream_max_connections: DEFAULT_UPSTREAM_MAX_CONNECTIONS,
            max_request_header_bytes: DEFAULT_MAX_REQUEST_HEADER_BYTES,
            access_log: AccessLogTarget::Stderr,
        }
    }
}

/// Certificate chain and private key, PEM files (paths resolved against the
/// configuration file's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where a route sends its requests: `http://host:port` and an optional path
/// prefix.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub scheme: Scheme,
    pub authority: Authority,
    /// Path prefix without a trailing `/` (empty for none).
    pub base_path: String,
    /// As written.
    pub raw: String,
}

/// The CORS behaviour of one route, resolved.
#[derive(Debug, Clone)]
pub enum RouteCorsPolicy {
    /// The effective policy: the route's table over the default.
    Enabled {
        policy: Arc<Policy>,
        config: CorsConfig,
    },
    /// `cors = false`.
    Disabled,
}

/// Where a route came from, for the dashboard and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSource {
    /// `[[routes]]` number N (0-based).
    Routes(usize),
    /// `[[openapi]]` number N, from this file.
    OpenApi(usize, PathBuf),
}

/// One validated route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The matchit pattern (`/api/users/{id}`).
    pub path: String,
    pub methods: MethodSet,
    pub upstream: Upstream,
    pub strip_prefix: Option<String>,
    pub cors: RouteCorsPolicy,
    pub source: RouteSource,
    /// `allow_encoded_slashes = true`: `%2F` and `%5C` in the path are passed on.
    pub allow_encoded_slashes: bool,
    /// `websocket = true`: WebSocket handshakes are tunnelled.
    pub websocket: bool,
}

/// A loaded, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    /// The default policy (`[cors]`), used by routes without their own table
    /// and for the 404 answer. `None` when there is no `[cors]` table.
    pub default_cors: Option<(Arc<Policy>, CorsConfig)>,
    pub routes: Vec<Route>,
    /// The file it was read from, when it came from a file.
    pub path: Option<PathBuf>,
    /// The text it was read from, and the name used in messages.
    pub source: Arc<SourceFile>,
    /// Warnings found while loading.
    pub warnings: Vec<Problem>,
    /// The parsed text, for the place of each key.
    pub(crate) document: Arc<Document>,
}

impl Config {
    /// Warnings found while loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// Where a dotted key (`routes[2].cors.allow_origins`) stands in the
    /// file: its 1-based line and column, or those of the deepest part that
    /// exists.
    pub(crate) fn locate(&self, key: &str) -> Option<(usize, usize)> {
        self.document.locate(key)
    }

    /// True when the file writes the dotted key itself (`routes[0].cors.max_age`).
    pub(crate) fn sets(&self, key: &str) -> bool {
        self.document.contains(key)
    }
}
