//! HTTP-redirect fetch (docs/browser-model.md#redirects): what a 3xx does to the request.

use serde::Serialize;
use url::Url;

use super::check::cors_check_blocked;
use super::error::{Blocked, CorsError, NetError, Stage};
use super::plan::{build_plan, Hop, RequestPlan};
use super::request::{ser_url, RedirectMode, RequestMode, Tainting};
use crate::origin::Origin;

/// docs/browser-model.md#redirect-limit-and-schemes: the most redirects a fetch follows.
pub const MAX_REDIRECTS: u32 = 20;

/// What a response does to the fetch, seen as a possible redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RedirectOutcome {
    /// Not a redirect status (301, 302, 303, 307, 308), or no `Location`: the
    /// response is the final response; check it with
    /// [`check_actual`](super::check_actual).
    NotARedirect,
    /// docs/browser-model.md#redirect-modes: redirect mode `manual`: the page gets an `opaqueredirect` response.
    OpaqueRedirect,
    /// The browser follows the redirect.
    Follow(Box<RedirectHop>),
}

/// The next hop of a followed redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedirectHop {
    /// The URL the browser requests next.
    #[serde(serialize_with = "ser_url")]
    pub location: Url,
    /// The request at the new URL, planned again (docs/browser-model.md#preflight-after-a-redirect): method, headers, taint,
    /// whether it needs a (new) preflight.
    pub next: RequestPlan,
    /// docs/browser-model.md#redirect-method-rewriting: the method became `GET` and the body was dropped.
    pub method_rewritten: bool,
    /// Header names removed on this hop (docs/browser-model.md#redirect-method-rewriting body headers, docs/browser-model.md#redirect-drops-authorization `Authorization`).
    pub removed_headers: Vec<String>,
    /// docs/browser-model.md#redirect-taint: the request is redirect-tainted; `Origin: null` from now on.
    pub origin_null: bool,
    /// docs/browser-model.md#preflight-after-a-redirect: the next URL needs a preflight (before consulting a cache).
    pub needs_preflight: bool,
}

/// A redirect status (Fetch, "redirect status"): 301, 302, 303, 307 or 308.
pub(crate) fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn net_error(error: NetError, message: String, fix: &str) -> Blocked {
    Blocked::new(error, Stage::Actual, message, fix)
}

/// Handle a response to the actual request of `plan` as a possible redirect.
///
/// ```
/// use preflight_core::browser::{follow_redirect, plan, BrowserRequest, Profile, RedirectOutcome};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example").unwrap(),
///     "https://api.example/old".parse().unwrap(),
/// );
/// let p = plan(&req, Profile::Chromium).unwrap();
/// let h = vec![
///     ("Location".to_string(), "https://cdn.example/new".to_string()),
///     ("Access-Control-Allow-Origin".to_string(), "*".to_string()),
/// ];
/// let RedirectOutcome::Follow(hop) = follow_redirect(&p, 302, &h).unwrap() else { panic!() };
/// assert!(hop.origin_null); // api.example -> cdn.example, neither is the page's origin
/// assert_eq!(hop.next.origin_header.as_deref(), Some("null"));
/// ```
pub fn follow_redirect(
    plan: &RequestPlan,
    status: u16,
    headers: &[(String, String)],
) -> Result<RedirectOutcome, Blocked> {
    if !is_redirect_status(status) {
        return Ok(RedirectOutcome::NotARedirect);
    }
    // docs/browser-model.md#cors-check-on-redirects: with CORS tainting, the 3xx itself must pass the CORS check.
    if plan.tainting == Tainting::Cors {
        cors_check_blocked(
            headers,
            plan.serialized_origin(),
            plan.include_credentials(),
            Stage::Actual,
        )?;
    }
    // docs/browser-model.md#redirect-modes.
    match plan.redirect {
        RedirectMode::Error => {
            return Err(net_error(
                NetError::RedirectModeError,
                format!("The request's redirect mode is `error` and the response is a {status} redirect."),
                "Request the final URL directly, or use redirect mode `follow`.",
            ));
        }
        RedirectMode::Manual => return Ok(RedirectOutcome::OpaqueRedirect),
        RedirectMode::Follow => {}
    }

    let locations: Vec<&String> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v)
        .collect();
    let location = match locations.as_slice() {
        [] => return Ok(RedirectOutcome::NotARedirect),
        [one] => one.trim_matches(|c| matches!(c, '\n' | '\r' | '\t' | ' ')),
        _ => {
            return Err(net_error(
                NetError::InvalidRedirect,
                format!("The {status} response has {} `Location` headers; a redirect needs exactly one.", locations.len()),
                "Send a single `Location` header.",
            ));
        }
    };
    let mut next_url = match plan.url.join(location) {
        Ok(u) => u,
        Err(e) => {
            return Err(net_error(
                NetError::InvalidRedirect,
                format!("`Location: {location}` is not a valid URL ({e})."),
                "Send an absolute http(s) URL, or a valid relative reference, in `Location`.",
            ));
        }
    };
    if next_url.fragment().is_none() {
        next_url.set_fragment(plan.url.fragment());
    }
    // docs/browser-model.md#redirect-limit-and-schemes. Chromium names this refusal for a CORS request `CorsDisabledScheme`
    // (the browser suite shows it for a redirect to ftp:).
    if !matches!(next_url.scheme(), "http" | "https") && plan.mode == RequestMode::Cors {
        return Err(Blocked::new(
            CorsError::CorsDisabledScheme,
            Stage::Actual,
            format!("The redirect goes to `{next_url}`, which is not an http(s) URL; cross-origin requests only support http and https."),
            "Redirect only to http or https URLs.",
        ));
    }
    if !matches!(next_url.scheme(), "http" | "https") {
        return Err(net_error(
            NetError::UnsafeRedirect,
            format!("The redirect goes to `{next_url}`, which is not an http(s) URL."),
            "Redirect only to http or https URLs.",
        ));
    }
    if plan.redirect_count >= MAX_REDIRECTS {
        return Err(net_error(
            NetError::TooManyRedirects,
            format!("More than {MAX_REDIRECTS} redirects; the browser gives up."),
            "Break the redirect loop: check where each hop's `Location` points.",
        ));
    }

    // docs/browser-model.md#userinfo-in-location.
    let next_origin = Origin::of_url(&next_url);
    let has_userinfo = !next_url.username().is_empty() || next_url.password().is_some();
    if has_userinfo
        && ((plan.mode == RequestMode::Cors && !plan.origin.same_origin(&next_origin))
            || plan.tainting == Tainting::Cors)
    {
        return Err(Blocked::new(
            CorsError::RedirectContainsCredentials,
            Stage::Actual,
            format!("The redirect target `{next_url}` carries a user name or password, which a cross-origin request may not follow."),
            "Redirect to a URL without `user:password@`; send credentials in an `Authorization` header instead.",
        ));
    }

    // docs/browser-model.md#redirect-method-rewriting.
    let mut method = plan.method.clone();
    let mut headers_next = plan.headers.clone();
    let mut removed = Vec::new();
    let rewrite = (matches!(status, 301 | 302) && method == "POST")
        || (status == 303 && !matches!(method.as_str(), "GET" | "HEAD"));
    if rewrite {
        method = "GET".to_string();
        const BODY_HEADERS: [&str; 4] = [
            "content-encoding",
            "content-language",
            "content-location",
            "content-type",
        ];
        headers_next.retain(|(n, _)| {
            let body = BODY_HEADERS.iter().any(|b| b.eq_ignore_ascii_case(n));
            if body {
                removed.push(n.to_ascii_lowercase());
            }
            !body
        });
    }

    // docs/browser-model.md#redirect-taint: a hop through a third origin taints the request origin.
    let current_origin = Origin::of_url(&plan.url);
    let tainted_origin = plan.tainted_origin
        || (!next_origin.same_origin(&current_origin) && !plan.origin.same_origin(&current_origin));

    // docs/browser-model.md#redirect-drops-authorization: a cross-origin hop drops `Authorization`
    // (WebKit's preflight for the hop still asks for it: the headers before the drop).
    let preflighted_headers = plan
        .profile
        .preflight_keeps_dropped_authorization()
        .then(|| headers_next.clone());
    if !next_origin.same_origin(&current_origin) {
        headers_next.retain(|(n, _)| {
            let auth = n.eq_ignore_ascii_case("authorization");
            if auth {
                removed.push("authorization".to_string());
            }
            !auth
        });
    }
    removed.sort_unstable();
    removed.dedup();

    // docs/browser-model.md#preflight-after-a-redirect: main fetch runs again for the new URL.
    let sent_headers = headers_next.clone();
    let mut next = build_plan(Hop {
        profile: plan.profile,
        origin: plan.origin.clone(),
        url: next_url.clone(),
        method,
        headers: preflighted_headers.unwrap_or(headers_next),
        dropped_headers: plan.dropped_headers.clone(),
        credentials: plan.credentials,
        mode: plan.mode,
        redirect: plan.redirect,
        // docs/browser-model.md#preflight-after-a-redirect: Firefox and
        // WebKit keep preflighting once a request was preflighted.
        force_preflight: plan.force_preflight
            || (plan.needs_preflight && plan.profile.preflight_survives_redirects()),
        tainting: plan.tainting,
        tainted_origin,
        redirect_count: plan.redirect_count + 1,
    })
    .map_err(|mut b| {
        b.stage = Stage::Actual;
        b
    })?;
    next.headers = sent_headers;
    Ok(RedirectOutcome::Follow(Box::new(RedirectHop {
        location: next_url,
        method_rewritten: rewrite,
        removed_headers: removed,
        origin_null: next.tainted_origin,
        needs_preflight: next.needs_preflight,
        next,
    })))
}
