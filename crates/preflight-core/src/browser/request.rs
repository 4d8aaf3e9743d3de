//! What the page asks for ([`BrowserRequest`]): `fetch(url, init)` with its
//! credentials, mode and redirect options.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use url::Url;

use crate::origin::Origin;

/// The request's credentials mode (fetch's `credentials` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialsMode {
    /// Never send cookies or HTTP authentication.
    Omit,
    /// Send them only to the page's own origin (fetch()'s default).
    #[default]
    SameOrigin,
    /// Always send them (`credentials: "include"`, XHR `withCredentials`).
    Include,
}

impl FromStr for CredentialsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "omit" => Ok(CredentialsMode::Omit),
            "same-origin" => Ok(CredentialsMode::SameOrigin),
            "include" => Ok(CredentialsMode::Include),
            _ => Err(format!(
                "unknown credentials mode `{s}`; use omit, same-origin or include"
            )),
        }
    }
}

impl fmt::Display for CredentialsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialsMode::Omit => "omit",
            CredentialsMode::SameOrigin => "same-origin",
            CredentialsMode::Include => "include",
        })
    }
}

/// The request's mode (fetch's `mode` option). Navigations are not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestMode {
    /// fetch()'s default for cross-origin calls.
    #[default]
    Cors,
    /// docs/browser-model.md#no-cors-mode: opaque response, no CORS headers needed or read.
    NoCors,
    /// Cross-origin is a network error.
    SameOrigin,
}

/// The request's redirect mode (fetch's `redirect` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedirectMode {
    #[default]
    Follow,
    /// docs/browser-model.md#redirect-modes: a redirect is a network error.
    Error,
    /// docs/browser-model.md#redirect-modes: a redirect yields an `opaqueredirect` response.
    Manual,
}

/// The response tainting of a request (Fetch §"Main fetch").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tainting {
    /// Same-origin: no CORS.
    Basic,
    /// Cross-origin in cors mode: the CORS protocol applies.
    Cors,
    /// Cross-origin in no-cors mode: the page gets an opaque response.
    Opaque,
}

/// What the page asks for: `fetch(url, {method, headers, credentials, mode})`
/// run by a page whose origin is `origin`.
///
/// ```
/// use preflight_core::browser::{BrowserRequest, CredentialsMode};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example.com").unwrap(),
///     "https://api.example.com/users/1".parse().unwrap(),
/// )
/// .method("PUT")
/// .header("Content-Type", "application/json")
/// .credentials(CredentialsMode::Include);
/// assert_eq!(req.method, "PUT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrowserRequest {
    /// The page's origin.
    #[serde(serialize_with = "ser_origin")]
    pub origin: Origin,
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// As the page wrote it; normalized by [`plan`](super::plan) (docs/browser-model.md#safelisted-method).
    pub method: String,
    /// As the page set them, in order.
    pub headers: Vec<(String, String)>,
    pub credentials: CredentialsMode,
    pub mode: RequestMode,
    pub redirect: RedirectMode,
    /// The use-CORS-preflight flag (docs/browser-model.md#when-a-preflight-is-sent): set by XHR upload listeners and by a
    /// `ReadableStream` body.
    pub force_preflight: bool,
}

impl BrowserRequest {
    /// A `GET` with no headers, credentials `same-origin`, mode `cors`, redirect
    /// `follow`: what `fetch(url)` does.
    pub fn new(origin: Origin, url: Url) -> BrowserRequest {
        BrowserRequest {
            origin,
            url,
            method: "GET".to_string(),
            headers: Vec::new(),
            credentials: CredentialsMode::default(),
            mode: RequestMode::default(),
            redirect: RedirectMode::default(),
            force_preflight: false,
        }
    }

    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Append a header, as `Headers.append` does.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn credentials(mut self, credentials: CredentialsMode) -> Self {
        self.credentials = credentials;
        self
    }

    pub fn mode(mut self, mode: RequestMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn redirect(mut self, redirect: RedirectMode) -> Self {
        self.redirect = redirect;
        self
    }

    pub fn force_preflight(mut self, force: bool) -> Self {
        self.force_preflight = force;
        self
    }
}

pub(crate) fn ser_url<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str())
}

pub(crate) fn ser_origin<S: Serializer>(origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(origin.serialize())
}
