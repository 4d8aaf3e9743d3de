//! Each engine's own name for a refusal: Chromium's DevTools `corsError`,
//! Firefox's documented `CORS...` reason (the one its console message names),
//! and for WebKit, which documents no names, one for each of its console
//! messages (`OriginNotAllowed` for "Origin X is not allowed by
//! Access-Control-Allow-Origin."; docs/browser-model.md#webkit).

use super::{Blocked, CorsError, FetchOutcome, FetchTrace, Profile};

impl Profile {
    /// The name this engine gives `blocked`, or `None` where it reports no
    /// name (a failure that is not a CORS failure; for WebKit, one whose
    /// console message is not known).
    ///
    /// ```
    /// use preflight_core::browser::{Blocked, CorsError, Profile, Stage};
    /// let b = Blocked {
    ///     error: CorsError::MissingAllowOriginHeader.into(),
    ///     stage: Stage::Actual,
    ///     message: String::new(),
    ///     fix: String::new(),
    /// };
    /// assert_eq!(Profile::Chromium.reason_name(&b), Some("MissingAllowOriginHeader"));
    /// assert_eq!(Profile::Firefox.reason_name(&b), Some("CORSMissingAllowOrigin"));
    /// assert_eq!(Profile::WebKit.reason_name(&b), Some("OriginNotAllowed"));
    /// ```
    pub fn reason_name(self, blocked: &Blocked) -> Option<&'static str> {
        match self {
            Profile::Chromium | Profile::Spec => Some(blocked.name()),
            Profile::Firefox => blocked.cors_error().and_then(firefox_name),
            Profile::WebKit => blocked.cors_error().and_then(webkit_name),
        }
    }
}

impl FetchTrace {
    /// The name `profile`'s engine gives this fetch's refusal:
    /// [`Profile::reason_name`] of the blocked verdict. `None` when the fetch
    /// was not blocked or the engine gives no name. (Firefox names a
    /// credentialed request refused for `Access-Control-Allow-Origin: *`
    /// `CORSNotSupportingCredentials` on a redirect hop as on the final
    /// response; an earlier reading of `CORSDidNotSucceed` there was the
    /// browser suite missing Firefox's first console message, whose URL is in
    /// curly quotes.)
    pub fn reason_name(&self, profile: Profile) -> Option<&'static str> {
        let FetchOutcome::Blocked(blocked) = &self.outcome else {
            return None;
        };
        profile.reason_name(blocked)
    }
}

/// Firefox's reason for each refusal Chromium names (Firefox ESR 153, read
/// from its console messages by the browser suite).
fn firefox_name(e: CorsError) -> Option<&'static str> {
    use CorsError::*;
    Some(match e {
        MissingAllowOriginHeader | PreflightMissingAllowOriginHeader => "CORSMissingAllowOrigin",
        AllowOriginMismatch
        | PreflightAllowOriginMismatch
        | InvalidAllowOriginValue
        | PreflightInvalidAllowOriginValue => "CORSAllowOriginNotMatchingOrigin",
        // Firefox combines the lines and reports the combined value as a
        // mismatch ("does not match 'a, b'").
        MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => {
            "CORSAllowOriginNotMatchingOrigin"
        }
        WildcardOriginNotAllowed => "CORSNotSupportingCredentials",
        // A preflight answering `*` to a credentialed request: the same
        // reason as on an actual response (its first console message; the
        // "did not succeed" line that follows is the second).
        PreflightWildcardOriginNotAllowed => "CORSNotSupportingCredentials",
        InvalidAllowCredentials | PreflightInvalidAllowCredentials => "CORSMissingAllowCredentials",
        PreflightInvalidStatus => "CORSPreflightDidNotSucceed",
        // A preflight answered with a redirect (Location given).
        PreflightDisallowedRedirect => "CORSExternalRedirectNotAllowed",
        // A redirect to a URL with credentials, or to a scheme that is not
        // HTTP(S): Firefox logs only that the request did not succeed.
        RedirectContainsCredentials | CorsDisabledScheme => "CORSDidNotSucceed",
        InvalidAllowMethodsPreflightResponse => "CORSInvalidAllowMethod",
        InvalidAllowHeadersPreflightResponse => "CORSInvalidAllowHeader",
        MethodDisallowedByPreflightResponse => "CORSMethodNotFound",
        HeaderDisallowedByPreflightResponse => "CORSMissingAllowHeaderFromPreflight",
        _ => return None,
    })
}

/// The name for WebKit's console message about each refusal Chromium names
/// (WebKitGTK 2.50, read over its remote Web Inspector by the browser suite;
/// the message's text in each comment, a method, header or status cut out).
/// WebKit logs the same text for a preflight as for an actual response.
fn webkit_name(e: CorsError) -> Option<&'static str> {
    use CorsError::*;
    Some(match e {
        // "Origin X is not allowed by Access-Control-Allow-Origin."
        MissingAllowOriginHeader
        | PreflightMissingAllowOriginHeader
        | AllowOriginMismatch
        | PreflightAllowOriginMismatch
        | InvalidAllowOriginValue
        | PreflightInvalidAllowOriginValue => "OriginNotAllowed",
        // "Access-Control-Allow-Origin cannot contain more than one origin."
        MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => "MultipleAllowOrigin",
        // "Cannot use wildcard in Access-Control-Allow-Origin when
        // credentials flag is true."
        WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => "WildcardWithCredentials",
        // "Credentials flag is true, but Access-Control-Allow-Credentials is
        // not "true"."
        InvalidAllowCredentials | PreflightInvalidAllowCredentials => "AllowCredentialsNotTrue",
        // "Preflight response is not successful. Status code: 403"; for a
        // preflight answered with a redirect too (its status is not ok).
        PreflightInvalidStatus | PreflightDisallowedRedirect => "PreflightNotSuccessful",
        // "Method X is not allowed by Access-Control-Allow-Methods."
        MethodDisallowedByPreflightResponse => "MethodNotAllowed",
        // "Request header field X is not allowed by Access-Control-Allow-Headers."
        HeaderDisallowedByPreflightResponse => "HeaderNotAllowed",
        // "Header Access-Control-Allow-Methods has an invalid value: X"
        InvalidAllowMethodsPreflightResponse => "InvalidAllowMethods",
        // "Header Access-Control-Allow-Headers has an invalid value: X"
        InvalidAllowHeadersPreflightResponse => "InvalidAllowHeaders",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::Stage;

    fn blocked(e: CorsError) -> Blocked {
        Blocked::new(e, Stage::Actual, "", "")
    }

    /// Observed in Firefox ESR 153 by the browser suite (the single-fetch
    /// cases named in each line).
    #[test]
    fn firefox_names_its_reasons() {
        let ff = Profile::Firefox;
        for (e, name) in [
            (
                CorsError::MissingAllowOriginHeader,
                "CORSMissingAllowOrigin",
            ),
            (
                CorsError::AllowOriginMismatch,
                "CORSAllowOriginNotMatchingOrigin",
            ),
            // "two ACAO lines", "ACAO list in one line"
            (
                CorsError::MultipleAllowOriginValues,
                "CORSAllowOriginNotMatchingOrigin",
            ),
            (
                CorsError::WildcardOriginNotAllowed,
                "CORSNotSupportingCredentials",
            ),
            (
                CorsError::InvalidAllowCredentials,
                "CORSMissingAllowCredentials",
            ),
            (
                CorsError::PreflightInvalidStatus,
                "CORSPreflightDidNotSucceed",
            ),
            // "preflight ACAO * with credentials"
            (
                CorsError::PreflightWildcardOriginNotAllowed,
                "CORSNotSupportingCredentials",
            ),
            (
                CorsError::MethodDisallowedByPreflightResponse,
                "CORSMethodNotFound",
            ),
            (
                CorsError::HeaderDisallowedByPreflightResponse,
                "CORSMissingAllowHeaderFromPreflight",
            ),
            (
                CorsError::InvalidAllowHeadersPreflightResponse,
                "CORSInvalidAllowHeader",
            ),
            (
                CorsError::InvalidAllowMethodsPreflightResponse,
                "CORSInvalidAllowMethod",
            ),
            // the redirect cases F14, F11 and "a Location that is not http(s)"
            (
                CorsError::PreflightDisallowedRedirect,
                "CORSExternalRedirectNotAllowed",
            ),
            (CorsError::RedirectContainsCredentials, "CORSDidNotSucceed"),
            (CorsError::CorsDisabledScheme, "CORSDidNotSucceed"),
        ] {
            assert_eq!(ff.reason_name(&blocked(e)), Some(name), "{e:?}");
        }
    }

    /// A credentialed GET answered with `Access-Control-Allow-Origin: *`, on
    /// a redirect and on the final response: Firefox ESR 153 names both
    /// `CORSNotSupportingCredentials` (its first console message; the browser
    /// suite's differential test, seed 3, cases 41 and 77).
    #[test]
    fn firefox_names_a_refused_redirect_by_where_it_happened() {
        use crate::browser::{
            simulate, BrowserRequest, CredentialsMode, PreflightCache, ServerResponse,
        };
        use crate::Origin;
        let trace = |status: u16, profile: Profile| {
            let req = BrowserRequest::new(
                Origin::parse_serialized("https://app.example").unwrap(),
                "https://api.example/r".parse().unwrap(),
            )
            .credentials(CredentialsMode::Include);
            simulate(
                &req,
                profile,
                &mut PreflightCache::new(profile),
                std::time::Duration::ZERO,
                |_| ServerResponse {
                    status,
                    headers: vec![
                        ("access-control-allow-origin".into(), "*".into()),
                        ("location".into(), "/next".into()),
                    ],
                },
            )
        };
        for (status, firefox) in [
            (302, "CORSNotSupportingCredentials"),
            (200, "CORSNotSupportingCredentials"),
        ] {
            assert_eq!(
                trace(status, Profile::Firefox).reason_name(Profile::Firefox),
                Some(firefox),
                "{status}"
            );
            assert_eq!(
                trace(status, Profile::Chromium).reason_name(Profile::Chromium),
                Some("WildcardOriginNotAllowed"),
                "{status}"
            );
            assert_eq!(
                trace(status, Profile::WebKit).reason_name(Profile::WebKit),
                Some("WildcardWithCredentials"),
                "{status}"
            );
        }
    }

    /// Observed in WebKitGTK 2.50 by the browser suite (the single-fetch
    /// cases named in each line); a refusal it logs no known message for has
    /// no name, and Chromium names every refusal its own way.
    #[test]
    fn webkit_names_its_console_messages_and_chromium_its_own() {
        let wk = Profile::WebKit;
        let named = [
            // "no ACAO", "ACAO another origin", "ACAO empty", "preflight without ACAO"
            (CorsError::MissingAllowOriginHeader, "OriginNotAllowed"),
            (CorsError::AllowOriginMismatch, "OriginNotAllowed"),
            (CorsError::InvalidAllowOriginValue, "OriginNotAllowed"),
            (
                CorsError::PreflightMissingAllowOriginHeader,
                "OriginNotAllowed",
            ),
            (CorsError::PreflightAllowOriginMismatch, "OriginNotAllowed"),
            (
                CorsError::PreflightInvalidAllowOriginValue,
                "OriginNotAllowed",
            ),
            // "two ACAO lines", "ACAO list in one line"
            (CorsError::MultipleAllowOriginValues, "MultipleAllowOrigin"),
            (
                CorsError::PreflightMultipleAllowOriginValues,
                "MultipleAllowOrigin",
            ),
            // "ACAO * with credentials include", "preflight ACAO * with credentials"
            (
                CorsError::WildcardOriginNotAllowed,
                "WildcardWithCredentials",
            ),
            (
                CorsError::PreflightWildcardOriginNotAllowed,
                "WildcardWithCredentials",
            ),
            // "credentials without ACAC", "preflight credentials without ACAC"
            (
                CorsError::InvalidAllowCredentials,
                "AllowCredentialsNotTrue",
            ),
            (
                CorsError::PreflightInvalidAllowCredentials,
                "AllowCredentialsNotTrue",
            ),
            // "preflight 500", "preflight 3xx without Location"
            (CorsError::PreflightInvalidStatus, "PreflightNotSuccessful"),
            // F14 "a preflight answered with a redirect"
            (
                CorsError::PreflightDisallowedRedirect,
                "PreflightNotSuccessful",
            ),
            (
                CorsError::MethodDisallowedByPreflightResponse,
                "MethodNotAllowed",
            ),
            (
                CorsError::HeaderDisallowedByPreflightResponse,
                "HeaderNotAllowed",
            ),
            (
                CorsError::InvalidAllowMethodsPreflightResponse,
                "InvalidAllowMethods",
            ),
            (
                CorsError::InvalidAllowHeadersPreflightResponse,
                "InvalidAllowHeaders",
            ),
        ];
        for (e, name) in named {
            assert_eq!(wk.reason_name(&blocked(e)), Some(name), "{e:?}");
        }
        for e in CorsError::ALL {
            assert_eq!(Profile::Chromium.reason_name(&blocked(e)), Some(e.name()));
            if named.iter().all(|(n, _)| *n != e) {
                assert_eq!(wk.reason_name(&blocked(e)), None, "{e:?}");
            }
        }
    }
}
