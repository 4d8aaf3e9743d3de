//! `preflight-gateway`: a reverse proxy that does, per route, what "Enable
//! CORS" does on a cloud API gateway (DESIGN.md).
//!
//! The gateway is a stack of small pieces: [`router`] finds the route, the
//! route's [`preflight_tower::CorsLayer`] answers preflights and writes the
//! CORS headers, and [`proxy`] forwards to the upstream. [`config`] reads and
//! validates the configuration file with diagnostics that point into it;
//! [`server`] listens (HTTP/1.1, h2c, TLS), reloads and shuts down gracefully;
//! [`admin`] serves health, metrics and the dashboard.
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

pub mod admin;
pub mod body;
pub mod config;
pub mod explain;
pub mod metrics;
pub mod openapi;
pub mod proxy;
pub mod reload;
pub mod router;
pub mod server;

pub use config::{Config, ConfigError, Problem, Severity};
pub use server::{start, Gateway, RunningGateway, ShutdownTrigger, StartError};
