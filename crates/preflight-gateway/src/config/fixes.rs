//! The fix, in a line, for each refusal of a `[cors]` table by the core's
//! policy validation.

use preflight_core::PolicyErrorKind;

/// The fix for a `max_age` above Chromium's cap.
pub(crate) const MAX_AGE_HELP: &str = "lower max_age to 7200 or less";

/// The fix for each policy refusal, in a line.
pub(crate) fn policy_help(kind: &PolicyErrorKind) -> &'static str {
    match kind {
        PolicyErrorKind::MissingOrigins => "add allow_origins = [\"https://app.example.com\"]",
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
        PolicyErrorKind::MalformedOrigin(_) => {
            "write a serialized origin: scheme://host[:port], no path, no default port"
        }
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
