//! Rows where preflight is as exact as the strictest CORS middlewares: the
//! route's own methods under `allow_methods = ["*"]` or no key, a static
//! `Access-Control-Allow-Origin: *` on every response, `max_age = -1`,
//! `localhost.`, and the origins of browser extensions and hybrid apps.

use super::policies::*;

/// `allow_methods = ["*"]`: every method the route has.
const ANY_METHOD: Toml = r#"
allow_origins = ["https://app.example.com"]
allow_methods = ["*"]
allow_credentials = true
"#;

/// No `allow_methods`: the same as `["*"]`.
const NO_METHODS_KEY: Toml = r#"
allow_origins = ["https://app.example.com"]
"#;

/// A list narrows the route's methods.
const GET_ONLY: Toml = r#"
allow_origins = ["https://app.example.com"]
allow_methods = ["GET"]
"#;

/// A static `*` with exposed headers.
const STAR_EXPOSE: Toml = r#"
allow_origins = ["*"]
expose_headers = ["x-request-id"]
"#;

/// `*` next to a listed origin, without credentials: still a static answer.
const STAR_AND_LISTED: Toml = r#"
allow_origins = ["https://app.example.com", "*"]
"#;

const NO_CACHE: Toml = r#"
allow_origins = ["https://app.example.com"]
max_age = -1
"#;

const LOCALHOST_DOT: Toml = r#"
allow_origins = ["http://localhost.:*", "https://*.localhost."]
allow_credentials = true
"#;

const EXTENSIONS: Toml = r#"
allow_origins = [
    "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    "moz-extension://0b6e5f3c-8f8e-4a1e-9e38-0c7a3d1b2f44",
    "capacitor://localhost",
    "tauri://localhost",
]
allow_credentials = true
"#;

const CHROME_EXT: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";

pub(crate) fn rows() -> Vec<Row> {
    vec![
        Row {
            pins: "docs/behaviour.md: allow_methods = [\"*\"]: every method the route has, PURGE included; the answer lists the route's methods",
            policy: ANY_METHOD,
            route: Some(&["GET", "PURGE"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "PURGE")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, PURGE"),
                ("access-control-allow-origin", APP),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "docs/behaviour.md: allow_methods left out: every method the route has, REPORT and PROPFIND included",
            policy: NO_METHODS_KEY,
            route: Some(&["GET", "REPORT", "PROPFIND"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "PROPFIND")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-methods", "GET, REPORT, PROPFIND"),
                ("access-control-allow-origin", APP),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "docs/behaviour.md: allow_methods: a list narrows the route's methods",
            policy: GET_ONLY,
            route: Some(&["GET", "PURGE"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "PURGE")],
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "docs/behaviour.md: allow_methods = [\"*\"]: still only the route's methods",
            policy: ANY_METHOD,
            route: Some(&["GET", "PURGE"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "DELETE")],
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "Fetch 'CORS protocol and HTTP caches': static `*` and Expose-Headers on a request without Origin, the upstream's Vary kept, no Vary: Origin",
            policy: STAR_EXPOSE,
            route: None,
            method: "GET",
            request: vec![],
            upstream: vec![
                ("vary", "Accept-Encoding"),
                ("access-control-allow-origin", "https://stale.test"),
                ("cache-control", "max-age=60"),
            ],
            kind: "NotCors",
            status: None,
            headers: vec![
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "x-request-id"),
                ("cache-control", "max-age=60"),
                ("vary", "Accept-Encoding"),
            ],
        },
        Row {
            pins: "Fetch 'CORS protocol and HTTP caches': static `*` on a cross-origin request is the same answer as without Origin",
            policy: STAR_EXPOSE,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "https://any.test")],
            upstream: vec![("cache-control", "max-age=60")],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "x-request-id"),
                ("cache-control", "max-age=60"),
            ],
        },
        Row {
            pins: "Fetch 'CORS protocol and HTTP caches': `*` next to a listed origin, no credentials: one static answer for every origin",
            policy: STAR_AND_LISTED,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP)],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![("access-control-allow-origin", "*")],
        },
        Row {
            pins: "Fetch 'CORS protocol and HTTP caches': `*` next to a listed origin: static without Origin too",
            policy: STAR_AND_LISTED,
            route: None,
            method: "GET",
            request: vec![],
            upstream: vec![],
            kind: "NotCors",
            status: None,
            headers: vec![("access-control-allow-origin", "*")],
        },
        Row {
            pins: "docs/behaviour.md: max_age = -1: Access-Control-Max-Age: 0 (delta-seconds are never negative)",
            policy: NO_CACHE,
            route: Some(&["PUT"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "PUT")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "0"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "W3C Secure Contexts: `localhost.` is potentially trustworthy, allowed with credentials over http",
            policy: LOCALHOST_DOT,
            route: Some(&["PUT"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, "http://localhost.:5173"), (ACRM, "PUT")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-origin", "http://localhost.:5173"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "W3C Secure Contexts: `*.localhost.` matches a subdomain of `localhost.`",
            policy: LOCALHOST_DOT,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "https://foo.localhost.")],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", "https://foo.localhost."),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "docs/behaviour.md: extension origins: the origin passes, allow_headers still decides the header list",
            policy: EXTENSIONS,
            route: Some(&["GET", "POST"]),
            method: "OPTIONS",
            request: vec![
                (ORIGIN, CHROME_EXT),
                (ACRM, "POST"),
                (ACRH, "content-type"),
            ],
            upstream: vec![],
            kind: "PreflightRefused(header_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "docs/behaviour.md: extension origins: an exact chrome-extension:// origin is echoed, with credentials",
            policy: EXTENSIONS,
            route: Some(&["GET", "POST"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, CHROME_EXT), (ACRM, "POST")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST"),
                ("access-control-allow-origin", CHROME_EXT),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "docs/behaviour.md: hybrid-app origins: capacitor://localhost, exact, on an actual request",
            policy: EXTENSIONS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "capacitor://localhost")],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", "capacitor://localhost"),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "docs/behaviour.md: extension origins are exact: another extension's ID is not allowed",
            policy: EXTENSIONS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba")],
            upstream: vec![],
            kind: "ActualDisallowed(forward)",
            status: None,
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "docs/behaviour.md: extension origins are exact: byte for byte, no case folding",
            policy: EXTENSIONS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "Tauri://localhost")],
            upstream: vec![],
            kind: "ActualDisallowed(forward)",
            status: None,
            headers: vec![("vary", "Origin")],
        },
    ]
}
