//! Which browser to imitate: the Fetch standard as written, or Chromium, Firefox
//! or WebKit (Safari's engine) as shipped (docs/browser-model.md#browser-profiles).
//!
//! Each difference from the standard is one method below, named after the rule,
//! with the engine versions it was observed in by the browser suite
//! (`crates/preflight-browser-tests`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The browser behaviour to simulate.
///
/// ```
/// use preflight_core::browser::Profile;
/// assert_eq!(Profile::default(), Profile::Chromium);
/// assert_eq!(Profile::Chromium.max_age_cap(), 7200);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Chromium (Chrome, Edge) as shipped: what most users run.
    #[default]
    Chromium,
    /// The WHATWG Fetch standard as written (fetch.bs at 586cd2a).
    Spec,
    /// Firefox as shipped (observed in Firefox ESR 153).
    Firefox,
    /// WebKit (Safari) as shipped (observed in WebKitGTK 2.50).
    #[serde(rename = "webkit")]
    WebKit,
}

impl Profile {
    /// The longest time, in seconds, a preflight result is reused (docs/browser-model.md#max-age).
    ///
    /// Chromium: 7200 s (`kMaxTimeout`, preflight_result.cc). Spec: the standard
    /// leaves the cap to the user agent; we use 86400 s, the largest cap a shipping
    /// engine applies (Firefox), so the spec profile never cuts a server's
    /// `Access-Control-Max-Age` shorter than some conforming browser would. It is
    /// also the upper bound of `max_age` in a preflight configuration.
    /// Firefox: 86400 s; WebKit: 600 s (the engines' own caps; the suite
    /// cannot wait that long, so it checks that a shorter `Access-Control-Max-Age`
    /// is honoured and expires).
    pub fn max_age_cap(self) -> u64 {
        match self {
            Profile::Chromium => 7200,
            Profile::Spec | Profile::Firefox => 86_400,
            Profile::WebKit => 600,
        }
    }

    /// How long a preflight result without `Access-Control-Max-Age` is reused
    /// (docs/browser-model.md#max-age): 5 s by the standard and in every
    /// engine (Firefox ESR 153: reused after 3.5 s, not after 6.5 s).
    pub fn default_max_age(self) -> u64 {
        5
    }

    /// How long a preflight result whose `Access-Control-Max-Age` is not a
    /// number of seconds (`ten`, `+60`, `5, 10`) is reused
    /// (docs/browser-model.md#max-age): the default by the standard, Chromium
    /// and WebKit; Firefox does not cache it (observed in Firefox ESR 153:
    /// `ten`, two fetches in a row, two preflights).
    pub fn invalid_max_age(self) -> u64 {
        match self {
            Profile::Firefox => 0,
            Profile::Chromium | Profile::Spec | Profile::WebKit => self.default_max_age(),
        }
    }

    /// Whether an empty `Access-Control-Max-Age` counts as a missing one
    /// ([`Profile::default_max_age`]) rather than an invalid one
    /// ([`Profile::invalid_max_age`]; docs/browser-model.md#max-age). Firefox
    /// reads an empty value as none (observed in Firefox ESR 153: two fetches
    /// in a row, one preflight, where `ten` gives two); the other engines use
    /// the same 5 s for both, so only Firefox tells them apart.
    pub fn empty_max_age_is_missing(self) -> bool {
        matches!(self, Profile::Firefox)
    }

    /// Whether a cached `*` (from `Access-Control-Allow-Methods: *` or
    /// `Access-Control-Allow-Headers: *` on a preflight without credentials)
    /// covers a later request's method or header names
    /// (docs/browser-model.md#preflight-cache). The standard, Chromium and
    /// WebKit: yes. Firefox compares the cached names literally, so a `*`
    /// entry covers nothing and the same request is preflighted again
    /// (observed in Firefox ESR 153: max-age 600, two fetches in a row, two
    /// preflights, for a method and for a header).
    pub fn cached_wildcard_covers(self) -> bool {
        !matches!(self, Profile::Firefox)
    }

    /// Whether `Access-Control-Allow-Headers: *` also covers `Authorization` on a
    /// request without credentials (docs/browser-model.md#authorization-must-be-listed). The standard says no; Chromium (and
    /// Firefox and Safari) still say yes, with a deprecation warning
    /// (`CorsNonWildcardRequestHeadersSupport` is off by default; whatwg/fetch#1919).
    pub fn wildcard_covers_authorization(self) -> bool {
        matches!(self, Profile::Chromium | Profile::Firefox | Profile::WebKit)
    }

    /// Whether the client-hint headers Chromium safelists (`DPR`, `Width`,
    /// `Save-Data: on`, `Intervention`, ...) need no preflight.
    pub fn safelists_client_hints(self) -> bool {
        matches!(self, Profile::Chromium)
    }

    /// Whether a missing `Access-Control-Allow-Methods` counts as allowing the
    /// request's own method when the preflight was forced (docs/browser-model.md#missing-allow-methods). Chromium keeps
    /// an empty method list instead.
    pub fn missing_allow_methods_allows_forced_method(self) -> bool {
        matches!(self, Profile::Spec)
    }

    /// Whether a redirect of a request that was preflighted is preflighted
    /// again at every later hop, whatever its method and headers have become
    /// (docs/browser-model.md#preflight-after-a-redirect): as if the request's
    /// use-CORS-preflight flag were set from its first preflight on. The
    /// standard and Chromium plan each hop afresh, so a `PATCH` answered `303`
    /// goes on as a plain `GET`; Firefox (ESR 153) and WebKit (WebKitGTK 2.50)
    /// send that `GET` a preflight of its own (`Access-Control-Request-Method:
    /// GET`), found by the browser suite's differential test.
    pub fn preflight_survives_redirects(self) -> bool {
        matches!(self, Profile::Firefox | Profile::WebKit)
    }

    /// Whether the preflight of a redirect hop still names `Authorization`
    /// when the cross-origin redirect dropped it from the request
    /// (docs/browser-model.md#redirect-drops-authorization). Every engine sends
    /// the request that follows without the header; WebKit (WebKitGTK 2.50)
    /// still lists `authorization` in that hop's
    /// `Access-Control-Request-Headers`, so the hop's server must allow it,
    /// found by the browser suite's differential test.
    pub fn preflight_keeps_dropped_authorization(self) -> bool {
        matches!(self, Profile::WebKit)
    }

    /// Whether a preflight response is checked for an ok status before the
    /// CORS check (docs/browser-model.md#preflight-success), so that one
    /// failing both is refused for its status. The standard asks for both
    /// and names no order; Chromium and Firefox check the CORS headers first,
    /// WebKit (WebKitGTK 2.50) the status ("Preflight response is not
    /// successful. Status code: 403"), found by the browser suite reading
    /// WebKit's console messages.
    pub fn preflight_status_checked_first(self) -> bool {
        matches!(self, Profile::WebKit)
    }

    /// `chromium`, `spec`, `firefox` or `webkit`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Chromium => "chromium",
            Profile::Spec => "spec",
            Profile::Firefox => "firefox",
            Profile::WebKit => "webkit",
        }
    }

    /// The three browser engines, the profiles `--profile all` compares
    /// (`spec` is no browser anyone runs, so it is left out).
    pub const ENGINES: [Profile; 3] = [Profile::Chromium, Profile::Firefox, Profile::WebKit];

    /// Every profile.
    pub const ALL: [Profile; 4] = [
        Profile::Chromium,
        Profile::Spec,
        Profile::Firefox,
        Profile::WebKit,
    ];
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "chromium" | "chrome" | "web-reality" => Ok(Profile::Chromium),
            "spec" | "fetch" => Ok(Profile::Spec),
            "firefox" | "gecko" => Ok(Profile::Firefox),
            "webkit" | "safari" => Ok(Profile::WebKit),
            _ => Err(format!(
                "unknown browser profile `{s}`; use `chromium`, `firefox`, `webkit` or `spec`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules each engine was observed to follow (docs/browser-model.md#browser-profiles).
    #[test]
    fn each_engine_has_its_rules() {
        let caps: Vec<u64> = Profile::ALL.iter().map(|p| p.max_age_cap()).collect();
        assert_eq!(caps, [7200, 86_400, 86_400, 600]);
        let defaults: Vec<u64> = Profile::ALL.iter().map(|p| p.default_max_age()).collect();
        assert_eq!(defaults, [5, 5, 5, 5]);
        let invalid: Vec<u64> = Profile::ALL.iter().map(|p| p.invalid_max_age()).collect();
        assert_eq!(invalid, [5, 5, 0, 5]);
        for p in [Profile::Chromium, Profile::Firefox, Profile::WebKit] {
            assert!(p.wildcard_covers_authorization(), "{p}");
            assert!(!p.missing_allow_methods_allows_forced_method(), "{p}");
        }
        assert!(!Profile::Spec.wildcard_covers_authorization());
        let empty_missing: Vec<bool> = Profile::ALL
            .iter()
            .map(|p| p.empty_max_age_is_missing())
            .collect();
        assert_eq!(empty_missing, [false, false, true, false]);
        let wildcard: Vec<bool> = Profile::ALL
            .iter()
            .map(|p| p.cached_wildcard_covers())
            .collect();
        assert_eq!(wildcard, [true, true, false, true]);
    }

    #[test]
    fn names_round_trip() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>(), Ok(p));
        }
        assert_eq!("safari".parse::<Profile>(), Ok(Profile::WebKit));
        assert!("opera".parse::<Profile>().is_err());
    }
}
