//! The configuration file as serde reads it: the raw tables, before any
//! validation (see `docs/configuration.md`).

use std::fmt;
use std::path::PathBuf;

use preflight_core::CorsConfig;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default)]
    pub(crate) server: RawServer,
    pub(crate) cors: Option<CorsConfig>,
    #[serde(default)]
    pub(crate) routes: Vec<RawRoute>,
    #[serde(default)]
    pub(crate) openapi: Vec<RawOpenApi>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) listen: Option<OneOrMany>,
    pub(crate) admin: Option<String>,
    pub(crate) tls: Option<RawTls>,
    pub(crate) upstream_timeout: Option<String>,
    pub(crate) connect_timeout: Option<String>,
    pub(crate) body_limit: Option<SizeValue>,
    pub(crate) grace_period: Option<String>,
    // The edge: forwarding headers, admin Host, WebSocket tunnels.
    pub(crate) trusted_proxies: Option<Vec<String>>,
    pub(crate) admin_hosts: Option<Vec<String>>,
    pub(crate) websocket_idle_timeout: Option<String>,
    // The edge's limits (RELIABILITY.md).
    pub(crate) header_read_timeout: Option<String>,
    pub(crate) idle_timeout: Option<String>,
    pub(crate) body_idle_timeout: Option<String>,
    pub(crate) h2_keepalive_interval: Option<String>,
    pub(crate) shutdown_delay: Option<String>,
    pub(crate) h2_keepalive_timeout: Option<String>,
    pub(crate) h2_max_concurrent_streams: Option<i64>,
    pub(crate) max_connections: Option<i64>,
    pub(crate) upstream_max_connections: Option<i64>,
    pub(crate) max_request_header_bytes: Option<SizeValue>,
    pub(crate) access_log: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum SizeValue {
    Bytes(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) methods: Vec<String>,
    pub(crate) upstream: String,
    pub(crate) strip_prefix: Option<String>,
    #[serde(default)]
    pub(crate) cors: RouteCors,
    // The edge (`docs/configuration.md`, "Requests at the edge").
    #[serde(default)]
    pub(crate) allow_encoded_slashes: bool,
    #[serde(default)]
    pub(crate) websocket: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOpenApi {
    pub(crate) file: PathBuf,
    pub(crate) upstream: String,
    pub(crate) prefix: Option<String>,
    pub(crate) strip_prefix: Option<String>,
    #[serde(default)]
    pub(crate) cors: RouteCors,
    // The edge (`docs/configuration.md`, "Requests at the edge").
    #[serde(default)]
    pub(crate) allow_encoded_slashes: bool,
    #[serde(default)]
    pub(crate) websocket: bool,
}

/// A route's `cors` key: absent or `true` (the default table), a table laid
/// over the default key by key, or `false` (no cross-origin access).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum RouteCors {
    #[default]
    Default,
    Override(CorsConfig),
    Disabled,
}

impl<'de> Deserialize<'de> for RouteCors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RouteCors;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`false`, `true` or a table of [cors] keys")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RouteCors, E> {
                Ok(if v {
                    RouteCors::Default
                } else {
                    RouteCors::Disabled
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RouteCors, A::Error> {
                CorsConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RouteCors::Override)
            }
        }
        d.deserialize_any(V)
    }
}
