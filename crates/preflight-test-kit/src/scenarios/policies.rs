//! The policies the rows are written against (each as its `[cors]` table),
//! the names the rows use, and the row type itself.

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

/// One scenario: the policy, the route, the request and what the upstream
/// answered; then the decision's kind, the status sent and every header.
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

/// A credentialed preflight from [`APP`]: `Origin`, the method and, when
/// given, the header list.
pub(crate) fn creds_preflight(
    acrm: &'static str,
    acrh: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut r = vec![(ORIGIN, APP), (ACRM, acrm)];
    if let Some(h) = acrh {
        r.push((ACRH, h));
    }
    r
}
