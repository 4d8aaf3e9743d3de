//! The scenario table shared by the engine's tests (`preflight-core/tests/scenarios.rs`)
//! and the tower layer's (`preflight-tower/tests/scenarios.rs`): (policy, route
//! methods, request) -> the whole answer, each row naming the rule of
//! CORS-RULES.md (`R14`) or the DESIGN.md behaviour it pins.
#![allow(dead_code)]

use http::{HeaderMap, HeaderName, HeaderValue};
use preflight_core::{CorsConfig, Policy};

/// A policy, written as its `[cors]` table.
pub type Toml = &'static str;

pub const CREDS: Toml = r#"
allow_origins = ["https://app.example.com", "https://*.example.com"]
allow_headers = ["content-type", "x-custom"]
expose_headers = ["x-request-id"]
allow_credentials = true
max_age = 600
"#;

pub const STAR: Toml = r#"
allow_origins = ["*"]
allow_headers = ["Content-Type"]
"#;

pub const STAR_HEADERS_CREDS: Toml = r#"
allow_origins = ["https://app.example.com"]
allow_headers = ["*"]
allow_credentials = true
"#;

pub const STAR_HEADERS_AUTH: Toml = r#"
allow_origins = ["https://app.example.com"]
allow_headers = ["*", "Authorization"]
"#;

pub const LOWER_PATCH: Toml = r#"
allow_origins = ["https://app.example.com"]
allow_methods = ["GET", "patch"]
"#;

pub const REJECT: Toml = r#"
allow_origins = ["https://app.example.com"]
on_disallowed_origin = "reject"
"#;

pub const OK_200: Toml = r#"
allow_origins = ["https://app.example.com"]
preflight_status = 200
max_age = 0
"#;

pub const EXPOSE: Toml = r#"
allow_origins = ["https://app.example.com"]
expose_headers = ["x-request-id", "X-Total-Count"]
"#;

pub const APP: &str = "https://app.example.com";
pub const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
pub const ORIGIN: &str = "origin";
pub const ACRM: &str = "access-control-request-method";
pub const ACRH: &str = "access-control-request-headers";

pub struct Row {
    pub pins: &'static str,
    pub policy: Toml,
    /// The route's methods; `None`: the policy's own methods.
    pub route: Option<&'static [&'static str]>,
    pub method: &'static str,
    pub request: Vec<(&'static str, &'static str)>,
    /// The headers the upstream (or inner service) already put on the response.
    pub upstream: Vec<(&'static str, &'static str)>,
    pub kind: &'static str,
    pub status: Option<u16>,
    pub headers: Vec<(&'static str, &'static str)>,
}

pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub fn rows() -> Vec<Row> {
    let creds_preflight = |acrm: &'static str, acrh: Option<&'static str>| {
        let mut r = vec![(ORIGIN, APP), (ACRM, acrm)];
        if let Some(h) = acrh {
            r.push((ACRH, h));
        }
        r
    };
    let names_64 = leak(vec!["x-custom"; 64].join(","));
    let names_65 = leak(vec!["x-custom"; 65].join(","));
    let other_65 = leak(vec!["x-other"; 65].join(","));
    let bytes_4096 = leak("x".repeat(4096));
    let bytes_4097 = leak("x".repeat(4097));
    let half_4k = leak("x".repeat(2100));
    vec![
        // --- allowed preflights -------------------------------------------------
        Row {
            pins: "R18 R14 DESIGN 'Preflight allowed': credentialed preflight echoes the origin, ACAC true, the route's methods, the requested headers, max-age, Vary",
            policy: CREDS,
            route: Some(&["GET", "PUT", "DELETE"]),
            method: "OPTIONS",
            request: creds_preflight("PUT", Some("content-type")),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "content-type"),
                ("access-control-allow-methods", "GET, PUT, DELETE"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "DESIGN subdomain pattern; no ACRH means no ACAH",
            policy: CREDS,
            route: Some(&["GET", "DELETE"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, "https://a.b.example.com"), (ACRM, "DELETE")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, DELETE"),
                ("access-control-allow-origin", "https://a.b.example.com"),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "R14 step 3, R37: `*` without credentials answers `*` and does not vary on Origin",
            policy: STAR,
            route: Some(&["GET", "POST"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, "https://any.test"), (ACRM, "POST"), (ACRH, "content-type")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-headers", "content-type"),
                ("access-control-allow-methods", "GET, POST"),
                ("access-control-allow-origin", "*"),
                ("vary", "Access-Control-Request-Method, Access-Control-Request-Headers"),
            ],
        },
        Row {
            pins: "R23 R14: with credentials the answer never holds `*`: allow_headers `*` echoes the names, ACAO echoes the origin",
            policy: STAR_HEADERS_CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some("x-a,x-b")),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "x-a,x-b"),
                ("access-control-allow-methods", "GET, HEAD, POST, PUT, PATCH, DELETE"),
                ("access-control-allow-origin", APP),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "R22: Authorization listed by name next to `*` is allowed",
            policy: STAR_HEADERS_AUTH,
            route: Some(&["GET"]),
            method: "OPTIONS",
            request: creds_preflight("GET", Some("authorization,x-a")),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-headers", "authorization,x-a"),
                ("access-control-allow-methods", "GET"),
                ("access-control-allow-origin", APP),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "R23 R13: requested names are compared case-insensitively and echoed lower-cased",
            policy: CREDS,
            route: Some(&["POST"]),
            method: "OPTIONS",
            request: creds_preflight("POST", Some("X-Custom,Content-Type")),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "x-custom,content-type"),
                ("access-control-allow-methods", "POST"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "R23 a name listed upper-case in the config matches a lower-case request",
            policy: STAR,
            route: Some(&["POST"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "POST"), (ACRH, "content-type")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-headers", "content-type"),
                ("access-control-allow-methods", "POST"),
                ("access-control-allow-origin", "*"),
                ("vary", "Access-Control-Request-Method, Access-Control-Request-Headers"),
            ],
        },
        Row {
            pins: "R21 R1: methods compare byte-exactly: PATCH is allowed where the route has PATCH",
            policy: CREDS,
            route: Some(&["GET", "PATCH"]),
            method: "OPTIONS",
            request: creds_preflight("PATCH", None),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, PATCH"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "R21 R1: a lower-case `patch` route and policy allow `patch`",
            policy: LOWER_PATCH,
            route: Some(&["GET", "patch"]),
            method: "OPTIONS",
            request: creds_preflight("patch", None),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-methods", "GET, patch"),
                ("access-control-allow-origin", APP),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "DESIGN tolerant ACRH: case, spaces, tabs, empty items",
            policy: CREDS,
            route: Some(&["PUT"]),
            method: "OPTIONS",
            request: creds_preflight("PUT", Some("\tContent-Type , ,x-custom,, ")),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "content-type,x-custom"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "DESIGN tolerant ACRH: two header lines are one list",
            policy: CREDS,
            route: Some(&["PUT"]),
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "PUT"), (ACRH, "content-type"), (ACRH, "X-Custom")],
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "content-type,x-custom"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "DESIGN ACRH bounds: 64 names is still within them",
            policy: CREDS,
            route: Some(&["PUT"]),
            method: "OPTIONS",
            request: creds_preflight("PUT", Some(names_64)),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(204),
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", names_64),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "600"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "DESIGN preflight_status = 200 for old clients; max_age 0 is written",
            policy: OK_200,
            route: Some(&["DELETE"]),
            method: "OPTIONS",
            request: creds_preflight("DELETE", None),
            upstream: vec![],
            kind: "PreflightAllowed",
            status: Some(200),
            headers: vec![
                ("access-control-allow-methods", "DELETE"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "0"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        Row {
            pins: "DESIGN 'upstream Access-Control-* removed and replaced' also for a preflight answer",
            policy: OK_200,
            route: Some(&["DELETE"]),
            method: "OPTIONS",
            request: creds_preflight("DELETE", None),
            upstream: vec![
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "*"),
                ("access-control-allow-headers", "*"),
            ],
            kind: "PreflightAllowed",
            status: Some(200),
            headers: vec![
                ("access-control-allow-methods", "DELETE"),
                ("access-control-allow-origin", APP),
                ("access-control-max-age", "0"),
                ("vary", VARY_PREFLIGHT),
            ],
        },
        // --- refused preflights ---------------------------------------------------
        Row {
            pins: "R22: `*` in allow_headers never covers Authorization",
            policy: STAR_HEADERS_CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("GET", Some("authorization")),
            upstream: vec![],
            kind: "PreflightRefused(authorization_not_listed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "R22: Authorization among other names, any case, still refused under `*`",
            policy: STAR_HEADERS_CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("GET", Some("x-a, Authorization")),
            upstream: vec![],
            kind: "PreflightRefused(authorization_not_listed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "R23: a name not listed is refused",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("GET", Some("content-type,x-other")),
            upstream: vec![],
            kind: "PreflightRefused(header_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "R22 R23: Authorization not listed, no `*`",
            policy: STAR,
            route: None,
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "GET"), (ACRH, "authorization")],
            upstream: vec![],
            kind: "PreflightRefused(header_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "R21: `patch` is not `PATCH`",
            policy: CREDS,
            route: Some(&["GET", "PATCH"]),
            method: "OPTIONS",
            request: creds_preflight("patch", None),
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "R21: `PATCH` is not `patch`",
            policy: LOWER_PATCH,
            route: Some(&["GET", "patch"]),
            method: "OPTIONS",
            request: creds_preflight("PATCH", None),
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN: only methods the route really has; a method not on the route is refused",
            policy: CREDS,
            route: Some(&["GET"]),
            method: "OPTIONS",
            request: creds_preflight("DELETE", None),
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN: even a safelisted method (R1) must be on the route",
            policy: CREDS,
            route: Some(&["PUT"]),
            method: "OPTIONS",
            request: creds_preflight("GET", None),
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN: a method on the route that the policy does not allow is refused",
            policy: LOWER_PATCH,
            route: Some(&["GET", "DELETE"]),
            method: "OPTIONS",
            request: creds_preflight("DELETE", None),
            upstream: vec![],
            kind: "PreflightRefused(method_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "ACRM must be a method name (token)",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("GE T", None),
            upstream: vec![],
            kind: "PreflightRefused(invalid_request_method)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "ACRM empty is not a method",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("", None),
            upstream: vec![],
            kind: "PreflightRefused(invalid_request_method)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN ACRH bounds: over 64 names is refused with its own reason",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some(names_65)),
            upstream: vec![],
            kind: "PreflightRefused(request_headers_too_many)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN ACRH bounds: 4096 bytes are read (and this name is not allowed)",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some(bytes_4096)),
            upstream: vec![],
            kind: "PreflightRefused(header_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN ACRH bounds: over 4 KiB is refused with its own reason",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some(bytes_4097)),
            upstream: vec![],
            kind: "PreflightRefused(request_headers_too_long)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN ACRH bounds: the 4 KiB count spans all lines",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: vec![(ORIGIN, APP), (ACRM, "PUT"), (ACRH, half_4k), (ACRH, half_4k)],
            upstream: vec![],
            kind: "PreflightRefused(request_headers_too_long)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "ACRH that holds something other than names is refused",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some("x-custom;q=1")),
            upstream: vec![],
            kind: "PreflightRefused(request_headers_invalid)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "a malformed list is refused as malformed even after a name that is not allowed",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some("x-other, bad name")),
            upstream: vec![],
            kind: "PreflightRefused(request_headers_invalid)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN ACRH bounds: over 64 names wins over a name that is not allowed",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: creds_preflight("PUT", Some(other_65)),
            upstream: vec![],
            kind: "PreflightRefused(request_headers_too_many)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN 'Preflight refused': disallowed origin, 403, no CORS headers (upstream ones stripped)",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: vec![(ORIGIN, "https://evil.com"), (ACRM, "GET")],
            upstream: vec![("access-control-allow-origin", "https://evil.com")],
            kind: "PreflightRefused(origin_not_allowed)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        // --- not a preflight -------------------------------------------------------
        Row {
            pins: "DESIGN: OPTIONS without ACRM is not a preflight but an actual request",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: vec![(ORIGIN, APP)],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id"),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "DESIGN: OPTIONS with ACRM but no Origin is not CORS; R37 Vary: Origin as the answer depends on it",
            policy: CREDS,
            route: None,
            method: "OPTIONS",
            request: vec![(ACRM, "PUT")],
            upstream: vec![],
            kind: "NotCors",
            status: None,
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN: a GET carrying ACRM is an actual request",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP), (ACRM, "PUT")],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id"),
                ("vary", "Origin"),
            ],
        },
        // --- actual requests ----------------------------------------------------
        Row {
            pins: "R14 R17 R27 DESIGN 'Actual request': ACAO, ACAC, ACEH, Vary: Origin",
            policy: CREDS,
            route: None,
            method: "POST",
            request: vec![(ORIGIN, "https://a.example.com")],
            upstream: vec![("content-type", "application/json")],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", "https://a.example.com"),
                ("access-control-expose-headers", "x-request-id"),
                ("content-type", "application/json"),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "R14 step 3, R37: `*` without credentials, static answer, no Vary",
            policy: STAR,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "https://any.test")],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![("access-control-allow-origin", "*")],
        },
        Row {
            pins: "R37: `*` policy, no Origin: nothing varies, nothing written",
            policy: STAR,
            route: None,
            method: "GET",
            request: vec![],
            upstream: vec![],
            kind: "NotCors",
            status: None,
            headers: vec![],
        },
        Row {
            pins: "R37: listed origins, no Origin: the answer would differ with one, so Vary: Origin",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![],
            upstream: vec![("vary", "Accept-Encoding")],
            kind: "NotCors",
            status: None,
            headers: vec![("vary", "Accept-Encoding"), ("vary", "Origin")],
        },
        Row {
            pins: "R37 DESIGN: Vary merged with the upstream's Vary",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP)],
            upstream: vec![("vary", "Accept-Encoding")],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id"),
                ("vary", "Accept-Encoding"),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "R37 DESIGN: Vary never duplicated (any case, inside a list)",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP)],
            upstream: vec![("vary", "accept-encoding, ORIGIN")],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id"),
                ("vary", "accept-encoding, ORIGIN"),
            ],
        },
        Row {
            pins: "R37: Vary: * already covers Origin",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP)],
            upstream: vec![("vary", "*")],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id"),
                ("vary", "*"),
            ],
        },
        Row {
            pins: "DESIGN: the upstream's Access-Control-* headers are removed and replaced (never two ACAO)",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP)],
            upstream: vec![
                ("access-control-allow-origin", "*"),
                ("access-control-allow-origin", "https://other.test"),
                ("access-control-allow-credentials", "false"),
                ("access-control-allow-methods", "*"),
                ("access-control-allow-headers", "*"),
                ("access-control-expose-headers", "set-cookie"),
                ("access-control-max-age", "86400"),
                ("access-control-allow-private-network", "true"),
                ("cache-control", "no-store"),
            ],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id"),
                ("cache-control", "no-store"),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "R27: expose_headers written as configured",
            policy: EXPOSE,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, APP)],
            upstream: vec![],
            kind: "ActualAllowed",
            status: None,
            headers: vec![
                ("access-control-allow-origin", APP),
                ("access-control-expose-headers", "x-request-id, X-Total-Count"),
                ("vary", "Origin"),
            ],
        },
        Row {
            pins: "DESIGN on_disallowed_origin = forward: no CORS headers (upstream ones stripped), Vary: Origin, forwarded",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "https://evil.com")],
            upstream: vec![
                ("access-control-allow-origin", "https://evil.com"),
                ("access-control-allow-credentials", "true"),
            ],
            kind: "ActualDisallowed(forward)",
            status: None,
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "DESIGN on_disallowed_origin = reject: 403",
            policy: REJECT,
            route: None,
            method: "DELETE",
            request: vec![(ORIGIN, "https://evil.com")],
            upstream: vec![],
            kind: "ActualDisallowed(reject)",
            status: Some(403),
            headers: vec![("vary", "Origin")],
        },
        Row {
            pins: "R15: `null` is refused unless listed",
            policy: CREDS,
            route: None,
            method: "GET",
            request: vec![(ORIGIN, "null")],
            upstream: vec![],
            kind: "ActualDisallowed(forward)",
            status: None,
            headers: vec![("vary", "Origin")],
        },
    ]
}

pub fn policy(toml_text: &str) -> Policy {
    let config: CorsConfig = toml::from_str(toml_text).expect("policy table parses");
    Policy::new(&config).expect("policy table is valid")
}

pub fn header_map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("a valid header value in the table"),
        );
    }
    map
}

/// Every (name, value), names in order, values in the order written.
pub fn listing(map: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = map
        .keys()
        .flat_map(|name| {
            map.get_all(name).iter().map(move |v| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
