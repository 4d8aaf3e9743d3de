//! The fix, in a line, for each refusal of a `[cors]` table by the core's
//! policy validation.

use preflight_core::origin::OriginError;
use preflight_core::policy::PolicyWarningKind;
use preflight_core::{PatternError, PolicyErrorKind};

/// The fix for a `max_age` above Chromium's cap.
pub(crate) const MAX_AGE_HELP: &str = "lower max_age to 7200 or less";

/// The fix for each policy refusal, in a line.
pub(crate) fn policy_help(kind: &PolicyErrorKind) -> &'static str {
    match kind {
        PolicyErrorKind::MissingOrigins => "add allow_origins = [\"https://app.example.com\"]",
        PolicyErrorKind::EmptyOrigins => {
            "list the origins that may call this API, or write cors = false to turn cross-origin access off"
        }
        PolicyErrorKind::ResponseHeaderInAllowHeaders(name) => response_header_help(name),
        PolicyErrorKind::RequestHeaderInExposeHeaders(name) => request_header_help(name),
        PolicyErrorKind::WildcardWithCredentials => {
            "list the origins by name, or set allow_credentials = false"
        }
        PolicyErrorKind::NullOrigin => {
            "remove \"null\" (or set dangerously_allow_null_origin = true if you really mean it)"
        }
        PolicyErrorKind::PublicSuffixWildcard(_) => {
            "name your own domain, like \"https://*.app.example.com\""
        }
        PolicyErrorKind::InsecureOriginWithCredentials => "use the https:// origin",
        PolicyErrorKind::MalformedOrigin(e) => pattern_help(e),
        PolicyErrorKind::Method(_) => "remove it or fix the method name",
        PolicyErrorKind::InvalidHeaderName(_) => "write a header name without spaces or separators",
        PolicyErrorKind::ForbiddenHeader(_) => "remove it: browsers set it themselves",
        PolicyErrorKind::WildcardExposeWithCredentials => {
            "list the response headers to expose by name"
        }
        PolicyErrorKind::ExposeSetCookie => "remove set-cookie from expose_headers",
        PolicyErrorKind::MaxAgeOutOfRange => {
            "use a value between -1 and 86400 (7200 is Chromium's cap)"
        }
        PolicyErrorKind::InvalidPreflightStatus => "use 204 (or 200 for old clients)",
        PolicyErrorKind::EmptyMethods => {
            "list the methods, or remove the key to allow the route's methods"
        }
    }
}

/// What a CORS response header listed in `allow_headers` is for.
fn response_header_help(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "access-control-allow-origin" => "remove it: Access-Control-Allow-Origin is the server's answer naming the origin allowed to read the response; preflight writes it from allow_origins",
        "access-control-allow-credentials" => "remove it: Access-Control-Allow-Credentials is the server's answer allowing cookies; preflight writes it from allow_credentials",
        "access-control-allow-methods" => "remove it: Access-Control-Allow-Methods is the preflight answer naming the methods allowed; preflight writes it from allow_methods and the route's methods",
        "access-control-allow-headers" => "remove it: Access-Control-Allow-Headers is the preflight answer naming the request headers allowed; it is written from this very list",
        "access-control-expose-headers" => "remove it: Access-Control-Expose-Headers is the server's answer naming the response headers a script may read; preflight writes it from expose_headers",
        "access-control-max-age" => "remove it: Access-Control-Max-Age is the preflight answer saying how long a browser may cache it; preflight writes it from max_age",
        _ => "remove it: Access-Control-Allow-* headers are the server's answers, which preflight writes itself; allow_headers lists request headers such as content-type or authorization",
    }
}

/// What a CORS request header listed in `expose_headers` is for.
fn request_header_help(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "origin" => "remove it: Origin is sent by the browser to say who is asking, and is checked against allow_origins; it is never in a response",
        "access-control-request-method" => "remove it: Access-Control-Request-Method is sent by the browser in a preflight to ask for a method; allow_methods answers it",
        "access-control-request-headers" => "remove it: Access-Control-Request-Headers is sent by the browser in a preflight to ask for request headers; allow_headers answers it",
        _ => "remove it: Access-Control-Request-* headers are the browser's questions in a preflight; expose_headers lists response headers such as x-request-id",
    }
}

/// The fix for each policy warning, in a line.
pub(crate) fn warning_help(kind: &PolicyWarningKind) -> &'static str {
    match kind {
        PolicyWarningKind::MaxAgeAboveChromiumCap => MAX_AGE_HELP,
        PolicyWarningKind::SafelistedExposeHeader(_) => "remove it: Cache-Control, Content-Language, Content-Length, Content-Type, Expires, Last-Modified and Pragma are CORS-safelisted, readable by scripts without being exposed",
    }
}

/// The fix for an origin pattern refused on its own.
fn pattern_help(e: &PatternError) -> &'static str {
    match e {
        PatternError::NonWebWildcard(_) | PatternError::NonWebOrigin(_) => {
            "write the whole origin of the extension or app, like \"chrome-extension://<id>\" or \"capacitor://localhost\""
        }
        PatternError::FileOrigin => {
            "serve the page from http://localhost:<port> and list that origin"
        }
        PatternError::Origin(
            OriginError::PortZero
            | OriginError::HostTooLong(_)
            | OriginError::EmptyLabel
            | OriginError::Ipv4MappedIpv6(_),
        ) => "write the origin a browser sends, as its developer tools show it in the Origin header",
        _ => "write a serialized origin: scheme://host[:port], no path, no default port",
    }
}
