//! The actual response: the CORS check (docs/browser-model.md#cors-check, #actual-response-status) and what script can read
//! (docs/browser-model.md#forbidden-response-header-name, #safelisted-response-header-name, #exposed-headers).

use serde::Serialize;

use super::check::{basic_exposed_headers, cors_check_blocked, cors_exposed_headers};
use super::error::{Blocked, Stage};
use super::headers::get_header;
use super::plan::RequestPlan;
use super::request::Tainting;

/// The type of the response script sees (`Response.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseType {
    Basic,
    Cors,
    Opaque,
    #[serde(rename = "opaqueredirect")]
    OpaqueRedirect,
}

/// An actual response the page may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActualOk {
    pub response_type: ResponseType,
    /// The status script sees: 0 for an opaque response.
    pub status: u16,
    /// Lower-case names script can read, sorted.
    pub exposed_headers: Vec<String>,
    /// Lower-case names present but hidden from script, sorted.
    pub hidden_headers: Vec<String>,
    /// Advice that does not change the verdict (docs/browser-model.md#vary-origin, #wildcard-origin-safety).
    pub notes: Vec<String>,
}

impl ActualOk {
    /// docs/browser-model.md#redirect-modes: redirect mode `manual` and the response is a redirect: the page
    /// gets an `opaqueredirect` response (status 0, no headers).
    pub(crate) fn opaque_redirect() -> ActualOk {
        ActualOk {
            response_type: ResponseType::OpaqueRedirect,
            status: 0,
            exposed_headers: Vec::new(),
            hidden_headers: Vec::new(),
            notes: vec!["redirect mode `manual`: the page gets an opaque-redirect response".into()],
        }
    }
}

/// Check the final response to the actual request of `plan` (not a redirect to
/// follow: see [`follow_redirect`](super::follow_redirect)).
///
/// docs/browser-model.md#actual-response-status: any status may be shared; only the preflight needs a 2xx.
///
/// ```
/// use preflight_core::browser::{check_actual, plan, BrowserRequest, Profile};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example").unwrap(),
///     "https://api.example/x".parse().unwrap(),
/// );
/// let p = plan(&req, Profile::Chromium).unwrap();
/// let h = vec![
///     ("Access-Control-Allow-Origin".to_string(), "*".to_string()),
///     ("X-Request-Id".to_string(), "1".to_string()),
///     ("Content-Type".to_string(), "text/plain".to_string()),
/// ];
/// let ok = check_actual(&p, 500, &h).unwrap();
/// assert_eq!(ok.exposed_headers, vec!["content-type"]);
/// assert_eq!(ok.hidden_headers, vec!["access-control-allow-origin", "x-request-id"]);
/// ```
pub fn check_actual(
    plan: &RequestPlan,
    status: u16,
    headers: &[(String, String)],
) -> Result<ActualOk, Blocked> {
    match plan.tainting {
        Tainting::Opaque => {
            // docs/browser-model.md#no-cors-mode: an opaque filtered response: status 0, no headers, no body.
            let mut hidden: Vec<String> = headers
                .iter()
                .map(|(n, _)| n.to_ascii_lowercase())
                .collect();
            hidden.sort_unstable();
            hidden.dedup();
            Ok(ActualOk {
                response_type: ResponseType::Opaque,
                status: 0,
                exposed_headers: Vec::new(),
                hidden_headers: hidden,
                notes: vec![
                    "mode `no-cors`: the page gets an opaque response (status 0, no headers, no body); CORS headers are not read.".to_string(),
                ],
            })
        }
        Tainting::Basic => {
            let exposure = basic_exposed_headers(headers);
            Ok(ActualOk {
                response_type: ResponseType::Basic,
                status,
                exposed_headers: exposure.exposed,
                hidden_headers: exposure.hidden,
                notes: Vec::new(),
            })
        }
        Tainting::Cors => {
            // docs/browser-model.md#cors-check on the final response; docs/browser-model.md#actual-response-status: whatever its status.
            cors_check_blocked(
                headers,
                plan.serialized_origin(),
                plan.include_credentials(),
                Stage::Actual,
            )?;
            let exposure = cors_exposed_headers(headers, plan.include_credentials());
            Ok(ActualOk {
                response_type: ResponseType::Cors,
                status,
                exposed_headers: exposure.exposed,
                hidden_headers: exposure.hidden,
                notes: advice(headers),
            })
        }
    }
}

fn advice(headers: &[(String, String)]) -> Vec<String> {
    let mut notes = Vec::new();
    let acao = get_header(headers, "access-control-allow-origin").unwrap_or_default();
    if acao == "*" {
        // docs/browser-model.md#wildcard-origin-safety.
        notes.push("`Access-Control-Allow-Origin: *` lets every site read this response: fine for public data, unsafe for a resource protected only by its network location (intranet, IP allow-list).".to_string());
    } else {
        // docs/browser-model.md#vary-origin.
        let varies = get_header(headers, "vary").is_some_and(|v| {
            v.split(',')
                .any(|p| matches!(p.trim(), "*") || p.trim().eq_ignore_ascii_case("origin"))
        });
        if !varies {
            notes.push(format!("`Access-Control-Allow-Origin: {acao}` comes without `Vary: Origin`: if the server picks this value per request, add `Vary: Origin` so shared caches do not serve it to other origins."));
        }
    }
    notes
}
