//! Each engine's own name for a refusal: Chromium's DevTools `corsError`,
//! Firefox's documented `CORS...` reason (the one its console message names);
//! WebKit reports none to page script or WebDriver
//! (docs/browser-model.md#browser-profiles).

use super::{Blocked, CorsError, FetchOutcome, FetchTrace, Profile};

impl Profile {
    /// The name this engine gives `blocked`, or `None` where it reports no
    /// name (WebKit; a failure that is not a CORS failure).
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
    /// assert_eq!(Profile::WebKit.reason_name(&b), None);
    /// ```
    pub fn reason_name(self, blocked: &Blocked) -> Option<&'static str> {
        match self {
            Profile::Chromium | Profile::Spec => Some(blocked.name()),
            Profile::Firefox => blocked.cors_error().and_then(firefox_name),
            Profile::WebKit => None,
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
                None
            );
        }
    }

    #[test]
    fn webkit_reports_no_name_and_chromium_its_own() {
        for e in CorsError::ALL {
            assert_eq!(Profile::WebKit.reason_name(&blocked(e)), None);
            assert_eq!(Profile::Chromium.reason_name(&blocked(e)), Some(e.name()));
        }
    }
}
