//! The differential test's random cases: from a seed, a CORS policy, a route
//! and a page's request each, some with an upstream that redirects. One
//! gateway configuration holds one route per case (`/c/N/{*rest}`), and
//! [`upstream_answer`] is what the upstream behind every route answers, so
//! that the real upstream and explain's stand-in for it say the same.
//!
//! The seed is `PREFLIGHT_DIFF_SEED` when set, else the number of the UTC day
//! ([`seed`]): a run is reproducible on the day it ran and with the seed it
//! prints, and every day covers other cases.

use std::fmt;
use std::fmt::Write as _;

/// splitmix64: a small, well-mixed generator; the cases must be the same
/// for a seed on every machine, which no dependency's default generator
/// promises across versions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Each item kept `percent` times in a hundred, in order.
    pub fn subset<T: Clone>(&mut self, items: &[T], percent: u64) -> Vec<T> {
        items
            .iter()
            .filter(|_| self.chance(percent))
            .cloned()
            .collect()
    }
}

/// The seed: `PREFLIGHT_DIFF_SEED`, else the UTC day's number since 1970.
pub fn seed() -> Result<u64, String> {
    match std::env::var("PREFLIGHT_DIFF_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|e| format!("PREFLIGHT_DIFF_SEED={s:?}: {e}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 86_400)
            .map_err(|e| e.to_string()),
    }
}

/// A route's `cors` table.
#[derive(Debug, Clone)]
pub struct Policy {
    pub allow_origins: Vec<String>,
    pub allow_credentials: bool,
    /// `None`: left out (every method of the route).
    pub allow_methods: Option<Vec<String>>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<i64>,
}

/// The upstream answers the case's first request with `status` and a
/// `Location` on route `to`, on the gateway's first listener or its second
/// (another origin).
#[derive(Debug, Clone)]
pub struct Redirect {
    pub status: u16,
    pub to: usize,
    pub other_origin: bool,
}

/// One random case: a route with its policy and a page's `fetch()` to it.
#[derive(Debug, Clone)]
pub struct DiffCase {
    pub n: usize,
    pub route_methods: Vec<String>,
    pub policy: Policy,
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// `omit`, `same-origin` or `include`.
    pub credentials: &'static str,
    pub redirect: Option<Redirect>,
}

/// The headers the upstream puts on every `200`, for `expose_headers` to
/// expose or not.
pub const UPSTREAM_HEADERS: [(&str, &str); 3] = [("x-a", "1"), ("x-b", "2"), ("x-c", "3")];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// `count` cases from `rng`, for a page on `page_origin`.
pub fn generate(rng: &mut Rng, count: usize, page_origin: &str) -> Vec<DiffCase> {
    (0..count)
        .map(|n| one_case(rng, n, count, page_origin))
        .collect()
}

fn one_case(rng: &mut Rng, n: usize, count: usize, page: &str) -> DiffCase {
    let others = [
        "https://app.example.com",
        "http://localhost:*",
        "http://127.0.0.1:1",
        "https://*.example.com",
    ];
    // The request first, then a policy that mostly fits it, so that about
    // half of the cases are allowed.
    let method = match rng.below(10) {
        0 => "put".to_string(),
        1 => "patch".to_string(),
        2..=4 => "GET".to_string(),
        _ => rng.pick(&METHODS).to_string(),
    };
    let mut headers = Vec::new();
    let body_allowed = !matches!(method.as_str(), "GET" | "HEAD");
    match rng.below(6) {
        0 if body_allowed => headers.push(("content-type".into(), "text/plain".into())),
        1 if body_allowed => headers.push(("content-type".into(), "application/json".into())),
        _ => {}
    }
    for (name, value) in [("x-a", "1"), ("x-b", "2"), ("authorization", "Bearer t")] {
        if rng.chance(15) {
            headers.push((name.into(), value.into()));
        }
    }
    let allow_credentials = rng.chance(40);
    let allow_origins: Vec<String> = match rng.below(8) {
        0 | 1 if !allow_credentials => vec!["*".into()],
        0..=2 => vec![page.into()],
        3 => vec!["http://127.0.0.1:*".into()],
        4 => vec![rng.pick(&others).to_string(), page.into()],
        5 => vec![rng.pick(&others).to_string()],
        _ => {
            let a = rng.below(others.len());
            let b = (a + 1 + rng.below(others.len() - 1)) % others.len();
            vec![others[a].into(), others[b].into()]
        }
    };
    let mut route_methods: Vec<String> = METHODS
        .iter()
        .filter(|m| rng.chance(if **m == "GET" { 80 } else { 35 }))
        .map(|m| m.to_string())
        .collect();
    let upper = method.to_ascii_uppercase();
    if !route_methods.contains(&upper) && rng.chance(60) {
        route_methods.push(upper);
    }
    if route_methods.is_empty() {
        route_methods.push(rng.pick(&METHODS).to_string());
    }
    let allow_methods = if rng.chance(50) {
        None
    } else if rng.chance(15) {
        Some(vec!["*".to_string()])
    } else {
        let mut narrowed = rng.subset(&route_methods, 70);
        if narrowed.is_empty() {
            narrowed.push(rng.pick(&route_methods).clone());
        }
        Some(narrowed)
    };
    let allow_headers = if rng.chance(12) {
        let mut h = vec!["*".to_string()];
        if rng.chance(50) {
            h.push("authorization".into());
        }
        h
    } else {
        let mut names = Vec::new();
        for name in ["content-type", "x-a", "x-b", "authorization"] {
            let asked = headers.iter().any(|(k, _)| k == name);
            if rng.chance(if asked { 75 } else { 25 }) {
                names.push(name.to_string());
            }
        }
        names
    };
    // `*` with credentials is refused at load (docs/configuration.md#expose_headers).
    let expose_headers = if !allow_credentials && rng.chance(10) {
        vec!["*".to_string()]
    } else {
        rng.subset(&["x-a", "x-b"].map(String::from), 50)
    };
    let max_age = *rng.pick(&[None, None, Some(0), Some(600), Some(7200), Some(86_400)]);
    let credentials = *rng.pick(&["omit", "same-origin", "include"]);
    let redirect = rng.chance(35).then(|| Redirect {
        status: *rng.pick(&[301, 302, 303, 307, 308]),
        to: if rng.chance(30) { n } else { rng.below(count) },
        other_origin: rng.chance(40),
    });
    DiffCase {
        n,
        route_methods,
        policy: Policy {
            allow_origins,
            allow_credentials,
            allow_methods,
            allow_headers,
            expose_headers,
            max_age,
        },
        method,
        headers,
        credentials,
        redirect,
    }
}

impl DiffCase {
    /// The path the page fetches on the gateway.
    pub fn path(&self) -> String {
        format!("/c/{}/start", self.n)
    }

    /// Where a redirect points (`first` and `second` are the gateway's two
    /// origins).
    pub fn location(&self, first: &str, second: &str) -> Option<String> {
        self.redirect.as_ref().map(|r| {
            let base = if r.other_origin { second } else { first };
            format!("{base}/c/{}/from/{}", r.to, self.n)
        })
    }

    /// The `init` argument of `fetch()`, as JSON.
    pub fn init(&self) -> String {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect();
        serde_json::json!({
            "method": self.method,
            "headers": headers,
            "credentials": self.credentials,
            "cache": "no-store",
        })
        .to_string()
    }
}

impl fmt::Display for DiffCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "case {}: fetch {} {} headers {:?} credentials {}; route methods {:?}; policy {:?}",
            self.n,
            self.method,
            self.path(),
            self.headers,
            self.credentials,
            self.route_methods,
            self.policy
        )?;
        match &self.redirect {
            Some(r) => write!(
                f,
                "; the upstream answers {} to route {} on the {} origin",
                r.status,
                r.to,
                if r.other_origin {
                    "gateway's second"
                } else {
                    "same"
                }
            ),
            None => write!(f, "; no redirect"),
        }
    }
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The gateway's configuration: `listen` on both addresses, one route per
/// case, every route to `upstream` (`host:port`).
pub fn config(cases: &[DiffCase], listen: [&str; 2], upstream: &str) -> String {
    let mut out = format!("[server]\nlisten = [{:?}, {:?}]\n", listen[0], listen[1]);
    for c in cases {
        let p = &c.policy;
        let _ = write!(
            out,
            "\n[[routes]]\npath = \"/c/{}/{{*rest}}\"\nmethods = {}\nupstream = \"http://{upstream}\"\n\
             [routes.cors]\nallow_origins = {}\nallow_credentials = {}\nallow_headers = {}\nexpose_headers = {}\n",
            c.n,
            toml_list(&c.route_methods),
            toml_list(&p.allow_origins),
            p.allow_credentials,
            toml_list(&p.allow_headers),
            toml_list(&p.expose_headers),
        );
        if let Some(m) = &p.allow_methods {
            let _ = writeln!(out, "allow_methods = {}", toml_list(m));
        }
        if let Some(age) = p.max_age {
            let _ = writeln!(out, "max_age = {age}");
        }
    }
    out
}

/// What the upstream answers to `method path` (as the gateway forwards it):
/// a case's first request gets its redirect when it has one, everything else
/// `200` with [`UPSTREAM_HEADERS`].
pub fn upstream_answer(
    cases: &[DiffCase],
    origins: [&str; 2],
    path: &str,
) -> (u16, Vec<(String, String)>) {
    let path = path.split('?').next().unwrap_or_default();
    let mut parts = path.trim_start_matches('/').split('/');
    let case = match (parts.next(), parts.next(), parts.next()) {
        (Some("c"), Some(n), Some("start")) => n.parse::<usize>().ok().and_then(|n| cases.get(n)),
        _ => None,
    };
    if let Some(location) = case.and_then(|c| c.location(origins[0], origins[1])) {
        let status = case
            .and_then(|c| c.redirect.as_ref())
            .map_or(302, |r| r.status);
        return (status, vec![("location".into(), location)]);
    }
    let headers = UPSTREAM_HEADERS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (200, headers)
}
