//! What the gateway counts: Prometheus metrics, the last refused cross-origin
//! requests, and the state of the last reload.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use preflight_core::fast_hash::FastHasher;

/// How many refused requests the dashboard keeps.
pub const REFUSALS_KEPT: usize = 100;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PreflightLabels {
    route: String,
    verdict: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebSocketLabels {
    route: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~32 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// A refused cross-origin request, for the dashboard.
#[derive(Debug, Clone)]
pub struct RefusedRequest {
    pub at: SystemTime,
    pub route: String,
    pub method: String,
    pub path: String,
    pub origin: String,
    /// `preflight`, `actual` or `websocket`.
    pub kind: &'static str,
    /// The refusal's code (`origin_not_allowed`) and its words.
    pub code: String,
    pub reason: String,
}

/// The outcome of the last reload.
#[derive(Debug, Clone)]
pub struct ReloadStatus {
    pub at: SystemTime,
    pub ok: bool,
    pub message: String,
}

/// The gateway's counters. One per gateway; shared by every connection.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    preflights: Family<PreflightLabels, Counter>,
    cross_origin_refused: Family<RouteLabels, Counter>,
    websocket_refused: Family<WebSocketLabels, Counter>,
    upstream_latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    reloads: Family<ResultLabels, Counter>,
    in_flight: Gauge,
    refusals: Mutex<VecDeque<RefusedRequest>>,
    last_reload: Mutex<Option<ReloadStatus>>,
    request_handles: Handles<Counter>,
    preflight_handles: Handles<Counter>,
    latency_handles: Handles<Histogram>,
}

/// Metric handles already resolved, found by their labels without building
/// a label set: `Family::get_or_create` takes an owned label set, so each
/// request would otherwise allocate its label strings and hash them twice.
/// Keyed by a hash of (route, text, number); a bucket holds every entry of
/// that hash and each is compared in full, so a collision costs a compare,
/// never a wrong count. As bounded as the families themselves: routes come
/// from the configuration, the texts and numbers from fixed sets.
struct Handles<V> {
    map: RwLock<HashMap<u64, Bucket<V>, BuildHasherDefault<KeyHasher>>>,
}

/// The key of (route, text, number), hashed with [`FastHasher`] (SipHash
/// was twice per request before); the map uses it as it is.
fn key(route: &str, text: &str, n: u16) -> u64 {
    let mut h = FastHasher::default();
    h.write(route.as_bytes());
    h.write(text.as_bytes());
    h.write_u16(n);
    h.finish()
}

/// The map of [`Handles`] is keyed by [`key`]'s hash already: used as it is.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The handles of one hash: (route, text, number, handle).
type Bucket<V> = Vec<(Box<str>, &'static str, u16, V)>;

impl<V: Clone> Handles<V> {
    fn new() -> Self {
        Handles {
            map: RwLock::new(HashMap::default()),
        }
    }

    fn get(&self, route: &str, text: &'static str, n: u16, make: impl FnOnce() -> V) -> V {
        let key = key(route, text, n);
        let found = |bucket: &Bucket<V>| {
            bucket
                .iter()
                .find(|(r, t, m, _)| &**r == route && *t == text && *m == n)
                .map(|(_, _, _, v)| v.clone())
        };
        if let Ok(map) = self.map.read() {
            if let Some(v) = map.get(&key).and_then(found) {
                return v;
            }
        }
        let v = make();
        if let Ok(mut map) = self.map.write() {
            let bucket = map.entry(key).or_default();
            if found(bucket).is_none() {
                bucket.push((route.into(), text, n, v.clone()));
            }
        }
        v
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("preflight");
        let requests = Family::<RequestLabels, Counter>::default();
        let preflights = Family::<PreflightLabels, Counter>::default();
        let cross_origin_refused = Family::<RouteLabels, Counter>::default();
        let websocket_refused = Family::<WebSocketLabels, Counter>::default();
        let upstream_latency =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let reloads = Family::<ResultLabels, Counter>::default();
        let in_flight = Gauge::default();
        registry.register(
            "requests",
            "Requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "preflights",
            "Preflights answered, by route, verdict and refusal reason",
            preflights.clone(),
        );
        registry.register(
            "actual_refused",
            "Actual cross-origin requests from an origin that is not allowed",
            cross_origin_refused.clone(),
        );
        registry.register(
            "websocket_refused",
            "WebSocket handshakes refused, by route and reason",
            websocket_refused.clone(),
        );
        registry.register(
            "upstream_latency_seconds",
            "Time to the upstream's response headers",
            upstream_latency.clone(),
        );
        registry.register(
            "reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        registry.register(
            "in_flight_requests",
            "Requests being answered",
            in_flight.clone(),
        );
        Metrics {
            registry,
            requests,
            preflights,
            cross_origin_refused,
            websocket_refused,
            upstream_latency,
            reloads,
            in_flight,
            refusals: Mutex::new(VecDeque::with_capacity(REFUSALS_KEPT)),
            last_reload: Mutex::new(None),
            request_handles: Handles::new(),
            preflight_handles: Handles::new(),
            latency_handles: Handles::new(),
        }
    }

    pub(crate) fn request(&self, route: &str, method: &str, status: u16) {
        // Clients choose the method: keep the label set bounded.
        const KNOWN: [&str; 9] = [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
        ];
        let method: &'static str = KNOWN
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("other");
        self.request_handles
            .get(route, method, status, || {
                self.requests
                    .get_or_create(&RequestLabels {
                        route: route.to_string(),
                        method: method.to_string(),
                        status,
                    })
                    .clone()
            })
            .inc();
    }

    pub(crate) fn preflight(&self, route: &str, allowed: bool, reason: &'static str) {
        self.preflight_handles
            .get(route, reason, u16::from(allowed), || {
                self.preflights
                    .get_or_create(&PreflightLabels {
                        route: route.to_string(),
                        verdict: if allowed { "allowed" } else { "refused" }.to_string(),
                        reason: reason.to_string(),
                    })
                    .clone()
            })
            .inc();
    }

    /// The two counters an allowed preflight of `route` answered `204`
    /// moves, as [`Metrics::request`] and [`Metrics::preflight`] find them:
    /// for a caller that keeps them (the express lane, per connection).
    pub(crate) fn allowed_preflight_counters(&self, route: &str) -> [Counter; 2] {
        let request = self.request_handles.get(route, "OPTIONS", 204, || {
            self.requests
                .get_or_create(&RequestLabels {
                    route: route.to_string(),
                    method: "OPTIONS".to_string(),
                    status: 204,
                })
                .clone()
        });
        let preflight = self.preflight_handles.get(route, "", 1, || {
            self.preflights
                .get_or_create(&PreflightLabels {
                    route: route.to_string(),
                    verdict: "allowed".to_string(),
                    reason: String::new(),
                })
                .clone()
        });
        [request, preflight]
    }

    pub(crate) fn upstream_latency(&self, route: &str, elapsed: Duration) {
        self.latency_handles
            .get(route, "", 0, || {
                self.upstream_latency
                    .get_or_create(&RouteLabels {
                        route: route.to_string(),
                    })
                    .clone()
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn refused(&self, mut r: RefusedRequest) {
        // What a client sent is kept short: the ring holds 100 of them
        // (RELIABILITY.md, bounded memory).
        for field in [&mut r.method, &mut r.origin, &mut r.path, &mut r.reason] {
            if field.len() > crate::limits::KEPT_STRING_MAX {
                *field = crate::limits::clip(field);
            }
        }
        if r.kind == "websocket" {
            self.websocket_refused
                .get_or_create(&WebSocketLabels {
                    route: r.route.clone(),
                    reason: r.code.clone(),
                })
                .inc();
        }
        if r.kind == "actual" {
            self.cross_origin_refused
                .get_or_create(&RouteLabels {
                    route: r.route.clone(),
                })
                .inc();
        }
        if let Ok(mut ring) = self.refusals.lock() {
            if ring.len() == REFUSALS_KEPT {
                ring.pop_front();
            }
            ring.push_back(r);
        }
    }

    /// The refused requests kept, newest first.
    pub fn recent_refusals(&self) -> Vec<RefusedRequest> {
        self.refusals
            .lock()
            .map(|ring| ring.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn reload(&self, ok: bool, message: String) {
        self.reloads
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "failed" }.to_string(),
            })
            .inc();
        if let Ok(mut last) = self.last_reload.lock() {
            *last = Some(ReloadStatus {
                at: SystemTime::now(),
                ok,
                message,
            });
        }
    }

    pub fn last_reload(&self) -> Option<ReloadStatus> {
        self.last_reload.lock().ok().and_then(|l| l.clone())
    }

    pub(crate) fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// Totals for the dashboard: (requests, preflights allowed, preflights
    /// refused, actual refused).
    pub fn totals(&self) -> (u64, u64, u64) {
        let text = self.encode();
        let mut requests = 0;
        let mut allowed = 0;
        let mut refused = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0) as u64;
            if line.starts_with("preflight_requests_total") {
                requests += value;
            } else if line.starts_with("preflight_preflights_total") {
                if line.contains("verdict=\"allowed\"") {
                    allowed += value;
                } else {
                    refused += value;
                }
            }
        }
        (requests, allowed, refused)
    }

    /// WebSocket handshakes refused, all routes and reasons.
    pub fn websocket_refused_total(&self) -> u64 {
        self.encode()
            .lines()
            .filter(|l| l.starts_with("preflight_websocket_refused_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
