//! The single-fetch cases every engine is judged on: what the page asks for,
//! and what the server answers to the preflight and to the actual request.
//! Names cite docs/browser-model.md sections.

use preflight_core::browser::CredentialsMode;

/// `{origin}` in a header value stands for the page's origin.
pub type Headers = &'static [(&'static str, &'static str)];

/// One fetch and the server's two answers.
pub struct Case {
    pub name: &'static str,
    pub method: &'static str,
    pub headers: Headers,
    pub credentials: &'static str,
    pub preflight: (u16, Headers),
    pub actual: (u16, Headers),
}

pub const ACAO: (&str, &str) = ("access-control-allow-origin", "{origin}");

pub const CASES: &[Case] = &[
    Case { name: "simple GET allowed (cors-check)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[ACAO]) },
    Case { name: "no ACAO (cors-check)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[]) },
    Case { name: "ACAO * with credentials include (cors-check)", method: "GET", headers: &[], credentials: "include",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "*")]) },
    Case { name: "ACAO * without credentials (cors-check)", method: "GET", headers: &[], credentials: "omit",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "*"), ("access-control-allow-credentials", "true")]) },
    Case { name: "ACAO another origin (cors-check)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "http://127.0.0.1:1")]) },
    Case { name: "ACAO trailing slash (A9)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "{origin}/")]) },
    Case { name: "ACAO null for a tuple origin (A12)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "null")]) },
    Case { name: "ACAO without scheme (A11)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "127.0.0.1")]) },
    Case { name: "two ACAO lines (A17)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[ACAO, ACAO]) },
    Case { name: "ACAO list in one line (A17)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "*, http://example.com")]) },
    Case { name: "credentials without ACAC (cors-check)", method: "GET", headers: &[], credentials: "include",
        preflight: (500, &[]), actual: (200, &[ACAO]) },
    Case { name: "ACAC True is not true (cors-check)", method: "GET", headers: &[], credentials: "include",
        preflight: (500, &[]), actual: (200, &[ACAO, ("access-control-allow-credentials", "True")]) },
    Case { name: "credentials with ACAC true (cors-check)", method: "GET", headers: &[], credentials: "include",
        preflight: (500, &[]), actual: (200, &[ACAO, ("access-control-allow-credentials", "true")]) },
    Case { name: "actual 500 is shared (actual-response-status)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (500, &[ACAO]) },
    Case { name: "POST text/plain needs no preflight (safelisted-request-header, #when-a-preflight-is-sent)", method: "POST", headers: &[("content-type", "text/plain;charset=utf-8")], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[ACAO]) },
    Case { name: "POST application/json is preflighted and allowed (when-a-preflight-is-sent)", method: "POST", headers: &[("content-type", "application/json")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "content-type")]), actual: (201, &[ACAO]) },
    Case { name: "PUT allowed by ACAM (method-allowed)", method: "PUT", headers: &[], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO]) },
    Case { name: "preflight 500 (preflight-success)", method: "PUT", headers: &[], credentials: "same-origin",
        preflight: (500, &[ACAO, ("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO]) },
    Case { name: "preflight 403 without headers (preflight-success)", method: "DELETE", headers: &[], credentials: "same-origin",
        preflight: (403, &[]), actual: (200, &[ACAO]) },
    Case { name: "preflight without ACAO (preflight-success)", method: "PUT", headers: &[], credentials: "same-origin",
        preflight: (204, &[("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO]) },
    Case { name: "preflight ACAO * with credentials (preflight-success)", method: "PUT", headers: &[], credentials: "include",
        preflight: (204, &[("access-control-allow-origin", "*"), ("access-control-allow-credentials", "true"), ("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO]) },
    Case { name: "preflight credentials without ACAC (preflight-success)", method: "PUT", headers: &[], credentials: "include",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO, ("access-control-allow-credentials", "true")]) },
    Case { name: "method not in ACAM (method-allowed)", method: "DELETE", headers: &[], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "GET, PUT")]), actual: (200, &[ACAO]) },
    Case { name: "ACAM is case-sensitive: patch vs PATCH (safelisted-method, #method-allowed)", method: "patch", headers: &[], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "PATCH")]), actual: (200, &[ACAO]) },
    Case { name: "put is normalized to PUT (safelisted-method)", method: "put", headers: &[], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO]) },
    Case { name: "ACAM * without credentials (method-allowed)", method: "PATCH", headers: &[], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "*")]), actual: (200, &[ACAO]) },
    Case { name: "ACAM * is literal with credentials (method-allowed)", method: "PATCH", headers: &[], credentials: "include",
        preflight: (204, &[ACAO, ("access-control-allow-credentials", "true"), ("access-control-allow-methods", "*")]), actual: (200, &[ACAO, ("access-control-allow-credentials", "true")]) },
    Case { name: "ACAM that does not parse (parsing-the-allow-lists, D5)", method: "PUT", headers: &[], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "Bad method name")]), actual: (200, &[ACAO]) },
    Case { name: "header not in ACAH (request-headers-allowed)", method: "GET", headers: &[("x-test", "1")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-other")]), actual: (200, &[ACAO]) },
    Case { name: "header in ACAH, other case (request-headers-allowed, D6)", method: "GET", headers: &[("X-Test", "1")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "get"), ("access-control-allow-headers", "X-TEST")]), actual: (200, &[ACAO]) },
    Case { name: "ACAH that does not parse (parsing-the-allow-lists)", method: "GET", headers: &[("x-a", "1")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-a, bad name")]), actual: (200, &[ACAO]) },
    Case { name: "ACAH * covers x-test without credentials (request-headers-allowed)", method: "GET", headers: &[("x-test", "1")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "*")]), actual: (200, &[ACAO]) },
    Case { name: "ACAH * is literal with credentials (request-headers-allowed, D11)", method: "GET", headers: &[("x-test", "1")], credentials: "include",
        preflight: (204, &[ACAO, ("access-control-allow-credentials", "true"), ("access-control-allow-headers", "*")]), actual: (200, &[ACAO, ("access-control-allow-credentials", "true")]) },
    Case { name: "Chromium: ACAH * still covers Authorization (§4, D17)", method: "POST", headers: &[("authorization", "123")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-methods", "*"), ("access-control-allow-headers", "*")]), actual: (200, &[ACAO]) },
    Case { name: "Authorization listed by name (authorization-must-be-listed, D18)", method: "POST", headers: &[("authorization", "123")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "*, Authorization")]), actual: (200, &[ACAO]) },
    Case { name: "Range bytes=-200 is not safelisted (safelisted-request-header, C11)", method: "GET", headers: &[("range", "bytes=-200")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-print")]), actual: (200, &[ACAO]) },
    Case { name: "Range bytes=100-200 is safelisted (safelisted-request-header, C10)", method: "GET", headers: &[("range", "bytes=100-200")], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[ACAO]) },
    Case { name: "Content-Type text /plain fails the MIME parse (safelisted-request-header, C5)", method: "POST", headers: &[("content-type", "text /plain")], credentials: "same-origin",
        preflight: (204, &[ACAO]), actual: (200, &[ACAO]) },
    Case { name: "Accept over 128 bytes is not safelisted (safelisted-request-header, C15)", method: "GET",
        headers: &[("accept", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")],
        credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "accept")]), actual: (200, &[ACAO]) },
    Case { name: "Chromium: DPR is safelisted (§4)", method: "GET", headers: &[("dpr", "2")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-none")]), actual: (200, &[ACAO]) },
    Case { name: "Chromium: Device-Memory is safelisted (§4)", method: "GET", headers: &[("device-memory", "0.5")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-none")]), actual: (200, &[ACAO]) },
    Case { name: "Chromium: Save-Data: on is safelisted (§4)", method: "GET", headers: &[("save-data", "on")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-none")]), actual: (200, &[ACAO]) },
    Case { name: "Chromium: Viewport-Width is safelisted (§4)", method: "GET", headers: &[("viewport-width", "800")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-none")]), actual: (200, &[ACAO]) },
    Case { name: "Chromium: Width with a non-integer is not (§4)", method: "GET", headers: &[("width", "wide")], credentials: "same-origin",
        preflight: (204, &[ACAO, ("access-control-allow-headers", "x-none")]), actual: (200, &[ACAO]) },
    Case { name: "Content-Language with @ is not safelisted (safelisted-request-header, C16)", method: "GET", headers: &[("content-language", "@")], credentials: "same-origin",
        preflight: (204, &[ACAO]), actual: (200, &[ACAO]) },
    Case { name: "preflight 3xx without Location (no-redirect-on-a-preflight)", method: "PUT", headers: &[], credentials: "same-origin",
        preflight: (302, &[ACAO, ("access-control-allow-methods", "PUT")]), actual: (200, &[ACAO]) },
    Case { name: "ACAO with the origin twice in one line (A17)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "{origin}, {origin}")]) },
    Case { name: "ACAO empty (A15)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "")]) },
    Case { name: "ACAO ** (A14)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]), actual: (200, &[("access-control-allow-origin", "**")]) },
    Case { name: "exposed headers: safelisted, ACEH, never Set-Cookie (safelisted-response-header-name, #exposed-headers, #forbidden-response-header-name)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]),
        actual: (200, &[ACAO, ("access-control-expose-headers", "x-request-id, set-cookie"), ("x-request-id", "7"), ("x-hidden", "1"), ("set-cookie", "a=1"), ("content-language", "en")]) },
    Case { name: "ACEH * exposes all without credentials (exposed-headers, B7)", method: "GET", headers: &[], credentials: "same-origin",
        preflight: (500, &[]),
        actual: (200, &[ACAO, ("access-control-expose-headers", "*"), ("x-request-id", "7"), ("x-other", "1")]) },
    Case { name: "ACEH * is literal with credentials (exposed-headers)", method: "GET", headers: &[], credentials: "include",
        preflight: (500, &[]),
        actual: (200, &[ACAO, ("access-control-allow-credentials", "true"), ("access-control-expose-headers", "*"), ("x-request-id", "7")]) },
];

pub fn fill(headers: Headers, origin: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.replace("{origin}", origin)))
        .collect()
}

pub fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

pub fn credentials_mode(s: &str) -> CredentialsMode {
    match s {
        "omit" => CredentialsMode::Omit,
        "include" => CredentialsMode::Include,
        _ => CredentialsMode::SameOrigin,
    }
}
