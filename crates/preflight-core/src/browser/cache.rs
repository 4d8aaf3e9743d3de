//! The CORS-preflight cache (docs/browser-model.md#preflight-cache), with an explicit clock.

use std::time::Duration;

use serde::Serialize;

use super::plan::RequestPlan;
use super::preflight::PreflightOk;
use super::profile::Profile;
use crate::fetch::is_cors_safelisted_method;

/// What one cache entry allows: a method or a header name (either may be `*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum CacheItem {
    Method(String),
    /// Lower case.
    Header(String),
}

/// One entry of the preflight cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheEntry {
    /// The byte-serialized request origin (`null` when tainted).
    pub origin: String,
    pub url: String,
    /// Valid while `now < expires_at`.
    pub expires_at: Duration,
    /// Whether the preflight was made for a request with credentials mode
    /// `include`.
    pub credentials: bool,
    pub item: CacheItem,
}

/// The preflight cache of one network partition (one top-level site): use one
/// cache per partition key. Time is whatever clock the caller keeps; pass the
/// same clock to every call.
///
/// ```
/// use std::time::Duration;
/// use preflight_core::browser::{evaluate_preflight, plan, BrowserRequest, PreflightCache, Profile};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example").unwrap(),
///     "https://api.example/x".parse().unwrap(),
/// )
/// .method("DELETE");
/// let p = plan(&req, Profile::Chromium).unwrap();
/// let h = vec![
///     ("Access-Control-Allow-Origin".to_string(), "*".to_string()),
///     ("Access-Control-Allow-Methods".to_string(), "DELETE".to_string()),
///     ("Access-Control-Max-Age".to_string(), "60".to_string()),
/// ];
/// let ok = evaluate_preflight(&p, 204, &h).unwrap();
/// let mut cache = PreflightCache::new(Profile::Chromium);
/// let t0 = Duration::ZERO;
/// assert!(!cache.covers(&p, t0));
/// cache.store(&p, &ok, t0);
/// assert!(cache.covers(&p, Duration::from_secs(59)));
/// assert!(!cache.covers(&p, Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightCache {
    profile: Profile,
    entries: Vec<CacheEntry>,
}

impl PreflightCache {
    pub fn new(profile: Profile) -> PreflightCache {
        PreflightCache {
            profile,
            entries: Vec::new(),
        }
    }

    /// The entries, live or expired.
    pub fn entries(&self) -> &[CacheEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drop the entries that have expired at `now`.
    pub fn purge_expired(&mut self, now: Duration) {
        self.entries.retain(|e| now < e.expires_at);
    }

    /// docs/browser-model.md#preflight-cache "cache entry match": same origin and URL, alive, and either made
    /// with credentials or the request has none.
    fn entry_match(e: &CacheEntry, plan: &RequestPlan, now: Duration) -> bool {
        e.origin == plan.serialized_origin()
            && e.url == plan.url.as_str()
            && now < e.expires_at
            && (e.credentials || !plan.include_credentials())
    }

    /// A `*` entry is a wildcard only for a request without credentials: with
    /// credentials the preflight check read `*` literally (docs/browser-model.md#method-allowed, #request-headers-allowed), and the
    /// cache keeps that meaning (the standard's cache text would let a `*`
    /// stored from a credentialed preflight match anything; Chromium does not).
    /// Firefox's cache never reads `*` as a wildcard
    /// ([`Profile::cached_wildcard_covers`]).
    fn method_match(&self, e: &CacheEntry, plan: &RequestPlan) -> bool {
        match &e.item {
            CacheItem::Method(m) => {
                *m == plan.method
                    || (m == "*"
                        && !plan.include_credentials()
                        && self.profile.cached_wildcard_covers())
            }
            CacheItem::Header(_) => false,
        }
    }

    fn header_match(&self, e: &CacheEntry, plan: &RequestPlan, name: &str) -> bool {
        match &e.item {
            CacheItem::Header(h) => {
                h.eq_ignore_ascii_case(name)
                    || (h == "*"
                        && !plan.include_credentials()
                        && self.profile.cached_wildcard_covers()
                        // docs/browser-model.md#preflight-cache: `*` never matches Authorization (Chromium: it still does).
                        && (!name.eq_ignore_ascii_case("authorization")
                            || self.profile.wildcard_covers_authorization()))
            }
            CacheItem::Method(_) => false,
        }
    }

    /// Whether cached preflight results cover `plan` at `now`, so that no
    /// preflight is sent (docs/browser-model.md#when-a-preflight-is-sent): the method (unless safelisted and not forced)
    /// and every unsafe header name (docs/browser-model.md#unsafe-request-header-names) have a matching live entry.
    pub fn covers(&self, plan: &RequestPlan, now: Duration) -> bool {
        if !plan.needs_preflight {
            return true;
        }
        let live = || {
            self.entries
                .iter()
                .filter(move |e| Self::entry_match(e, plan, now))
        };
        let method_ok = (is_cors_safelisted_method(&plan.method) && !plan.force_preflight)
            || live().any(|e| self.method_match(e, plan));
        method_ok
            && plan
                .unsafe_headers
                .iter()
                .all(|name| live().any(|e| self.header_match(e, plan, name)))
    }

    /// Record a successful preflight for `plan` at `now` (docs/browser-model.md#preflight-cache): one entry per
    /// allowed method and header name, refreshed when it already exists.
    pub fn store(&mut self, plan: &RequestPlan, ok: &PreflightOk, now: Duration) {
        self.purge_expired(now);
        let expires_at = now.saturating_add(Duration::from_secs(ok.max_age.seconds));
        let credentials = plan.include_credentials();
        let items = ok
            .allow_methods
            .iter()
            .map(|m| CacheItem::Method(m.clone()))
            .chain(
                ok.allow_headers
                    .iter()
                    .map(|h| CacheItem::Header(h.to_ascii_lowercase())),
            );
        for item in items {
            let existing = self.entries.iter_mut().find(|e| {
                e.origin == plan.serialized_origin()
                    && e.url == plan.url.as_str()
                    && e.credentials == credentials
                    && e.item == item
            });
            match existing {
                Some(e) => e.expires_at = expires_at,
                None => self.entries.push(CacheEntry {
                    origin: plan.serialized_origin().to_string(),
                    url: plan.url.as_str().to_string(),
                    expires_at,
                    credentials,
                    item,
                }),
            }
        }
        self.purge_expired(now);
    }

    /// docs/browser-model.md#preflight-cache: a preflighted fetch ended in a network error: forget everything
    /// cached for its origin and URL.
    pub fn clear(&mut self, plan: &RequestPlan) {
        self.entries
            .retain(|e| !(e.origin == plan.serialized_origin() && e.url == plan.url.as_str()));
    }
}
