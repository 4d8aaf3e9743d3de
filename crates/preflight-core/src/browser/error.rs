//! Verdicts: why a browser refuses a request, with Chromium's reason names.
//!
//! A CORS failure carries the name that Chromium's DevTools (and the DevTools
//! protocol's `corsErrorStatus.corsError`) shows, exactly. A failure that is not a
//! CORS failure (fetch() throwing before anything is sent, too many redirects)
//! carries the name a developer sees in the console instead (`TypeError`,
//! `net::ERR_TOO_MANY_REDIRECTS`).

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// Chromium's `network::mojom::CorsError`, named as DevTools reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorsError {
    DisallowedByMode,
    InvalidResponse,
    WildcardOriginNotAllowed,
    MissingAllowOriginHeader,
    MultipleAllowOriginValues,
    InvalidAllowOriginValue,
    AllowOriginMismatch,
    InvalidAllowCredentials,
    CorsDisabledScheme,
    PreflightInvalidStatus,
    PreflightDisallowedRedirect,
    PreflightWildcardOriginNotAllowed,
    PreflightMissingAllowOriginHeader,
    PreflightMultipleAllowOriginValues,
    PreflightInvalidAllowOriginValue,
    PreflightAllowOriginMismatch,
    PreflightInvalidAllowCredentials,
    PreflightMissingAllowExternal,
    PreflightInvalidAllowExternal,
    PreflightMissingAllowPrivateNetwork,
    PreflightInvalidAllowPrivateNetwork,
    InvalidAllowMethodsPreflightResponse,
    InvalidAllowHeadersPreflightResponse,
    MethodDisallowedByPreflightResponse,
    HeaderDisallowedByPreflightResponse,
    RedirectContainsCredentials,
    InsecurePrivateNetwork,
    InvalidPrivateNetworkAccess,
    UnexpectedPrivateNetworkAccess,
    NoCorsRedirectModeNotFollow,
    PreflightMissingPrivateNetworkAccessId,
    PreflightMissingPrivateNetworkAccessName,
    PrivateNetworkAccessPermissionUnavailable,
    PrivateNetworkAccessPermissionDenied,
    LocalNetworkAccessPermissionDenied,
}

impl CorsError {
    /// Every reason, in Chromium's declaration order.
    pub const ALL: [CorsError; 35] = [
        CorsError::DisallowedByMode,
        CorsError::InvalidResponse,
        CorsError::WildcardOriginNotAllowed,
        CorsError::MissingAllowOriginHeader,
        CorsError::MultipleAllowOriginValues,
        CorsError::InvalidAllowOriginValue,
        CorsError::AllowOriginMismatch,
        CorsError::InvalidAllowCredentials,
        CorsError::CorsDisabledScheme,
        CorsError::PreflightInvalidStatus,
        CorsError::PreflightDisallowedRedirect,
        CorsError::PreflightWildcardOriginNotAllowed,
        CorsError::PreflightMissingAllowOriginHeader,
        CorsError::PreflightMultipleAllowOriginValues,
        CorsError::PreflightInvalidAllowOriginValue,
        CorsError::PreflightAllowOriginMismatch,
        CorsError::PreflightInvalidAllowCredentials,
        CorsError::PreflightMissingAllowExternal,
        CorsError::PreflightInvalidAllowExternal,
        CorsError::PreflightMissingAllowPrivateNetwork,
        CorsError::PreflightInvalidAllowPrivateNetwork,
        CorsError::InvalidAllowMethodsPreflightResponse,
        CorsError::InvalidAllowHeadersPreflightResponse,
        CorsError::MethodDisallowedByPreflightResponse,
        CorsError::HeaderDisallowedByPreflightResponse,
        CorsError::RedirectContainsCredentials,
        CorsError::InsecurePrivateNetwork,
        CorsError::InvalidPrivateNetworkAccess,
        CorsError::UnexpectedPrivateNetworkAccess,
        CorsError::NoCorsRedirectModeNotFollow,
        CorsError::PreflightMissingPrivateNetworkAccessId,
        CorsError::PreflightMissingPrivateNetworkAccessName,
        CorsError::PrivateNetworkAccessPermissionUnavailable,
        CorsError::PrivateNetworkAccessPermissionDenied,
        CorsError::LocalNetworkAccessPermissionDenied,
    ];

    /// The exact name DevTools shows (`AllowOriginMismatch`).
    pub fn name(self) -> &'static str {
        match self {
            CorsError::DisallowedByMode => "DisallowedByMode",
            CorsError::InvalidResponse => "InvalidResponse",
            CorsError::WildcardOriginNotAllowed => "WildcardOriginNotAllowed",
            CorsError::MissingAllowOriginHeader => "MissingAllowOriginHeader",
            CorsError::MultipleAllowOriginValues => "MultipleAllowOriginValues",
            CorsError::InvalidAllowOriginValue => "InvalidAllowOriginValue",
            CorsError::AllowOriginMismatch => "AllowOriginMismatch",
            CorsError::InvalidAllowCredentials => "InvalidAllowCredentials",
            CorsError::CorsDisabledScheme => "CorsDisabledScheme",
            CorsError::PreflightInvalidStatus => "PreflightInvalidStatus",
            CorsError::PreflightDisallowedRedirect => "PreflightDisallowedRedirect",
            CorsError::PreflightWildcardOriginNotAllowed => "PreflightWildcardOriginNotAllowed",
            CorsError::PreflightMissingAllowOriginHeader => "PreflightMissingAllowOriginHeader",
            CorsError::PreflightMultipleAllowOriginValues => "PreflightMultipleAllowOriginValues",
            CorsError::PreflightInvalidAllowOriginValue => "PreflightInvalidAllowOriginValue",
            CorsError::PreflightAllowOriginMismatch => "PreflightAllowOriginMismatch",
            CorsError::PreflightInvalidAllowCredentials => "PreflightInvalidAllowCredentials",
            CorsError::PreflightMissingAllowExternal => "PreflightMissingAllowExternal",
            CorsError::PreflightInvalidAllowExternal => "PreflightInvalidAllowExternal",
            CorsError::PreflightMissingAllowPrivateNetwork => "PreflightMissingAllowPrivateNetwork",
            CorsError::PreflightInvalidAllowPrivateNetwork => "PreflightInvalidAllowPrivateNetwork",
            CorsError::InvalidAllowMethodsPreflightResponse => {
                "InvalidAllowMethodsPreflightResponse"
            }
            CorsError::InvalidAllowHeadersPreflightResponse => {
                "InvalidAllowHeadersPreflightResponse"
            }
            CorsError::MethodDisallowedByPreflightResponse => "MethodDisallowedByPreflightResponse",
            CorsError::HeaderDisallowedByPreflightResponse => "HeaderDisallowedByPreflightResponse",
            CorsError::RedirectContainsCredentials => "RedirectContainsCredentials",
            CorsError::InsecurePrivateNetwork => "InsecurePrivateNetwork",
            CorsError::InvalidPrivateNetworkAccess => "InvalidPrivateNetworkAccess",
            CorsError::UnexpectedPrivateNetworkAccess => "UnexpectedPrivateNetworkAccess",
            CorsError::NoCorsRedirectModeNotFollow => "NoCorsRedirectModeNotFollow",
            CorsError::PreflightMissingPrivateNetworkAccessId => {
                "PreflightMissingPrivateNetworkAccessId"
            }
            CorsError::PreflightMissingPrivateNetworkAccessName => {
                "PreflightMissingPrivateNetworkAccessName"
            }
            CorsError::PrivateNetworkAccessPermissionUnavailable => {
                "PrivateNetworkAccessPermissionUnavailable"
            }
            CorsError::PrivateNetworkAccessPermissionDenied => {
                "PrivateNetworkAccessPermissionDenied"
            }
            CorsError::LocalNetworkAccessPermissionDenied => "LocalNetworkAccessPermissionDenied",
        }
    }

    /// The reason with this exact name.
    pub fn from_name(name: &str) -> Option<CorsError> {
        CorsError::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Chromium reports a failed CORS check on a preflight response with the
    /// `Preflight*` twin of the reason (preflight_controller.cc).
    pub(crate) fn for_preflight(self) -> CorsError {
        match self {
            CorsError::WildcardOriginNotAllowed => CorsError::PreflightWildcardOriginNotAllowed,
            CorsError::MissingAllowOriginHeader => CorsError::PreflightMissingAllowOriginHeader,
            CorsError::MultipleAllowOriginValues => CorsError::PreflightMultipleAllowOriginValues,
            CorsError::InvalidAllowOriginValue => CorsError::PreflightInvalidAllowOriginValue,
            CorsError::AllowOriginMismatch => CorsError::PreflightAllowOriginMismatch,
            CorsError::InvalidAllowCredentials => CorsError::PreflightInvalidAllowCredentials,
            other => other,
        }
    }
}

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for CorsError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A failure that is not a CORS failure: fetch() throws before sending, or the
/// network stack gives up on a redirect chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetError {
    /// fetch() throws a `TypeError` before anything is sent (forbidden method,
    /// invalid header, URL with credentials, no-cors with an unsafe method).
    TypeError,
    /// docs/browser-model.md#redirect-limit-and-schemes: more than 20 redirects.
    TooManyRedirects,
    /// docs/browser-model.md#redirect-limit-and-schemes: a `Location` whose scheme is not http or https.
    UnsafeRedirect,
    /// A `Location` that is not a URL, or more than one `Location`.
    InvalidRedirect,
    /// docs/browser-model.md#redirect-modes: redirect mode `error` and the response is a redirect.
    RedirectModeError,
}

impl NetError {
    /// The name the console shows.
    pub fn name(self) -> &'static str {
        match self {
            NetError::TypeError => "TypeError",
            NetError::TooManyRedirects => "net::ERR_TOO_MANY_REDIRECTS",
            NetError::UnsafeRedirect => "net::ERR_UNSAFE_REDIRECT",
            NetError::InvalidRedirect => "net::ERR_INVALID_REDIRECT",
            NetError::RedirectModeError => "net::ERR_FAILED",
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a request is blocked: a CORS reason (almost always) or another failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Cors(CorsError),
    Net(NetError),
}

impl Reason {
    /// `AllowOriginMismatch`, `TypeError`, `net::ERR_TOO_MANY_REDIRECTS`, ...
    pub fn name(self) -> &'static str {
        match self {
            Reason::Cors(e) => e.name(),
            Reason::Net(e) => e.name(),
        }
    }

    /// The CORS reason, when it is one.
    pub fn cors(self) -> Option<CorsError> {
        match self {
            Reason::Cors(e) => Some(e),
            Reason::Net(_) => None,
        }
    }
}

impl From<CorsError> for Reason {
    fn from(e: CorsError) -> Self {
        Reason::Cors(e)
    }
}

impl From<NetError> for Reason {
    fn from(e: NetError) -> Self {
        Reason::Net(e)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Where in the fetch the browser gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// fetch() refused before sending anything.
    Request,
    /// The CORS-preflight request (`OPTIONS`) or its response.
    Preflight,
    /// The actual request, its response, or a redirect on its way.
    Actual,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Request => "request",
            Stage::Preflight => "preflight",
            Stage::Actual => "actual",
        })
    }
}

/// A blocked verdict: the reason, the stage, what happened and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Error)]
#[error("{stage}: {error}: {message}")]
pub struct Blocked {
    /// The reason's name as the browser reports it.
    pub error: Reason,
    pub stage: Stage,
    /// One line, in our own words.
    pub message: String,
    /// What to change, usually on the server.
    pub fix: String,
}

impl Blocked {
    pub(crate) fn new(
        error: impl Into<Reason>,
        stage: Stage,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Blocked {
        Blocked {
            error: error.into(),
            stage,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The reason's name (`AllowOriginMismatch`).
    pub fn name(&self) -> &'static str {
        self.error.name()
    }

    /// The CORS reason, when the block is a CORS failure.
    pub fn cors_error(&self) -> Option<CorsError> {
        self.error.cors()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = CorsError::ALL.iter().map(|e| e.name()).collect();
        for e in CorsError::ALL {
            assert_eq!(CorsError::from_name(e.name()), Some(e));
            assert_eq!(format!("{e:?}"), e.name());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CorsError::ALL.len());
    }

    #[test]
    fn preflight_twins() {
        assert_eq!(
            CorsError::AllowOriginMismatch.for_preflight(),
            CorsError::PreflightAllowOriginMismatch
        );
        assert_eq!(
            CorsError::PreflightInvalidStatus.for_preflight(),
            CorsError::PreflightInvalidStatus
        );
    }
}
