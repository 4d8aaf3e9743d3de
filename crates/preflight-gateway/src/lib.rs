//! `preflight-gateway`: a reverse proxy that does, per route, what "Enable
//! CORS" does on a cloud API gateway (docs/behaviour.md).
//!
//! The gateway is a stack of small pieces: an observing layer counts and logs
//! each request, the router finds the route, the route's
//! [`preflight_tower::CorsLayer`] answers preflights and writes the CORS
//! headers, a method check answers methods the route lacks, and the proxy
//! forwards to the upstream. Before routing, the edge checks (`Host`, the
//! request target, the path normalized, one `Origin`) refuse what the
//! router must not see; forwarding headers are believed only from trusted
//! proxies, and WebSocket handshakes are checked against the route's origins
//! (`docs/behaviour.md`, "Requests at the edge"). [`config`] reads and validates the configuration
//! file with diagnostics that point into it; [`Gateway`] holds the running
//! configuration and reloads it; [`server`] listens (HTTP/1.1, h2c, TLS) and
//! shuts down gracefully, every connection within the [`limits`] of the edge
//! (timeouts, caps, bounded strings: RELIABILITY.md) that `conn` enforces,
//! allowed HTTP/1.1 preflights answered by an express lane before hyper
//! parses a request (`express`, the same decision on fewer instructions);
//! [`admin`] serves health, metrics and the dashboard;
//! [`explain`] runs a page's request through the same layers.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use preflight_gateway::{Config, Gateway};
//! let config = Config::load("preflight.toml".as_ref())?;
//! let running = preflight_gateway::start(Gateway::new(config)).await?;
//! println!("listening on {:?}", running.local_addrs());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod accept;
mod access_log;
pub mod admin;
mod admin_host;
pub mod body;
pub mod config;
mod conn;
mod edge;
pub mod explain;
mod express;
mod express_wire;
mod forwarded;
mod gateway;
pub mod limits;
mod linger;
pub mod listen;
pub mod metrics;
mod observe;
mod openapi;
mod path;
mod proxy;
pub mod reload;
mod rewind;
mod router;
pub mod server;
mod tls;
mod watchdog;
mod websocket;
mod websocket_frames;

pub use config::{Config, ConfigError, Problem, Severity};
pub use gateway::Gateway;
pub use listen::StartError;
pub use proxy::ConnInfo;
pub use server::{start, ForceTrigger, RunningGateway, ShutdownTrigger};
