//! What the server answers: [`Policy::decide`] and the one place that writes
//! CORS response headers ([`PreflightAllowed::write`], [`Decision::apply`]).

use std::fmt;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::fetch::is_tchar;
use crate::header_list::{self, HeaderListError, RequestedHeaders};
use crate::matcher::OriginMatch;
use crate::methods::MethodSet;
use crate::policy::{OnDisallowedOrigin, Policy};
use crate::vary::add_vary;

const WILDCARD: HeaderValue = HeaderValue::from_static("*");
const TRUE: HeaderValue = HeaderValue::from_static("true");
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");
const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
);
const VARY_PREFLIGHT_STATIC_ORIGIN: HeaderValue =
    HeaderValue::from_static("Access-Control-Request-Method, Access-Control-Request-Headers");
/// Private Network Access (docs/browser-model.md#private-network-access): an upstream's answer to it is removed like the
/// other `Access-Control-*` headers.
const ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");

/// The parts of a request the CORS decision reads, borrowed from it.
#[derive(Debug)]
pub struct CorsRequest<'a> {
    pub method: &'a Method,
    pub origin: Option<&'a HeaderValue>,
    pub request_method: Option<&'a HeaderValue>,
    pub request_headers: http::header::GetAll<'a, HeaderValue>,
}

impl<'a> CorsRequest<'a> {
    /// Read the CORS-relevant parts of a request: the first value of
    /// `Origin` and of `Access-Control-Request-Method`, every line of
    /// `Access-Control-Request-Headers`.
    pub fn new(method: &'a Method, headers: &'a HeaderMap) -> CorsRequest<'a> {
        let (origin, request_method) = if *method == Method::OPTIONS {
            origin_and_request_method(headers)
        } else {
            (
                headers.get(ORIGIN),
                headers.get(ACCESS_CONTROL_REQUEST_METHOD),
            )
        };
        CorsRequest {
            method,
            origin,
            request_method,
            request_headers: headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS),
        }
    }

    /// docs/behaviour.md: a preflight is `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`; any other `OPTIONS` is ordinary.
    pub fn is_preflight(&self) -> bool {
        *self.method == Method::OPTIONS && self.origin.is_some() && self.request_method.is_some()
    }
}

/// How many of a request's first header values [`origin_and_request_method`]
/// reads before it looks the two names up.
const PREFLIGHT_SCAN: usize = 12;

/// `Origin` and `Access-Control-Request-Method` of an `OPTIONS` request. A
/// browser writes both among a preflight's first headers (Chromium: 4th and
/// 6th of 13), and a walk over the map's first values, comparing each name
/// with two constants, costs less than the two hashed look-ups of
/// `HeaderMap` (BENCHMARKS.md, "preflight-core").
/// Entries are in insertion order, one per name, with its first value first:
/// the first value met is the one `HeaderMap::get` returns. A name not met in
/// the first [`PREFLIGHT_SCAN`] values of a longer map is looked up.
fn origin_and_request_method(headers: &HeaderMap) -> (Option<&HeaderValue>, Option<&HeaderValue>) {
    let (mut origin, mut request_method) = (None, None);
    for (name, value) in headers.iter().take(PREFLIGHT_SCAN) {
        if *name == ORIGIN {
            origin = origin.or(Some(value));
        } else if *name == ACCESS_CONTROL_REQUEST_METHOD {
            request_method = request_method.or(Some(value));
        }
        if origin.is_some() && request_method.is_some() {
            return (origin, request_method);
        }
    }
    // `len` counts values: all of them were read.
    if headers.len() <= PREFLIGHT_SCAN {
        return (origin, request_method);
    }
    (
        origin.or_else(|| headers.get(ORIGIN)),
        request_method.or_else(|| headers.get(ACCESS_CONTROL_REQUEST_METHOD)),
    )
}

/// The engine's answer to one request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// No `Origin`: not a CORS request. `vary_origin` is true when the answer
    /// would have differed with one. `static_headers`, for a policy whose
    /// `Access-Control-Allow-Origin` is static (`*`): the headers every
    /// response of the route carries, CORS request or not, so that a cache
    /// never keeps a copy without them for the next cross-origin request
    /// (Fetch, "CORS protocol and HTTP caches").
    NotCors {
        vary_origin: bool,
        static_headers: Option<ActualAllowed>,
    },
    /// Answer the preflight with these headers and status.
    PreflightAllowed(PreflightAllowed),
    /// Answer the preflight with 403 and no CORS headers.
    PreflightRefused(Refusal),
    /// Pass the request on and add these headers to whatever comes back.
    ActualAllowed(ActualAllowed),
    /// The origin is not allowed: no CORS headers; forward or reject as the
    /// policy says.
    ActualDisallowed { on_disallowed: OnDisallowedOrigin },
}

/// An allowed preflight's answer.
#[derive(Debug, Clone)]
pub struct PreflightAllowed {
    pub status: StatusCode,
    pub allow_origin: HeaderValue,
    pub allow_credentials: bool,
    pub allow_methods: HeaderValue,
    pub allow_headers: Option<HeaderValue>,
    pub max_age: Option<HeaderValue>,
    pub vary: HeaderValue,
}

/// The headers added to an allowed actual request's response.
#[derive(Debug, Clone)]
pub struct ActualAllowed {
    pub allow_origin: HeaderValue,
    pub allow_credentials: bool,
    pub expose_headers: Option<HeaderValue>,
    pub vary_origin: bool,
}

/// Why a preflight (or, for `OriginNotAllowed`, an actual request) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The origin matches no pattern.
    OriginNotAllowed,
    /// The requested method is not one of the route's methods that the
    /// policy allows.
    MethodNotAllowed(String),
    /// `Access-Control-Request-Method` is not a method name.
    InvalidRequestMethod,
    /// A requested header is not allowed.
    HeaderNotAllowed(String),
    /// `Authorization` was requested and `allow_headers` only has `*` (docs/browser-model.md#authorization-must-be-listed).
    AuthorizationNotListed,
    /// `Access-Control-Request-Headers` is malformed or over its bounds.
    RequestHeaders(HeaderListError),
    /// The route has no CORS (`cors = false`).
    CorsDisabled,
}

impl Refusal {
    /// A short stable code, for metrics labels and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::OriginNotAllowed => "origin_not_allowed",
            Refusal::MethodNotAllowed(_) => "method_not_allowed",
            Refusal::InvalidRequestMethod => "invalid_request_method",
            Refusal::HeaderNotAllowed(_) => "header_not_allowed",
            Refusal::AuthorizationNotListed => "authorization_not_listed",
            Refusal::RequestHeaders(HeaderListError::TooLong(_)) => "request_headers_too_long",
            Refusal::RequestHeaders(HeaderListError::TooMany) => "request_headers_too_many",
            Refusal::RequestHeaders(HeaderListError::InvalidName) => "request_headers_invalid",
            Refusal::CorsDisabled => "cors_disabled",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OriginNotAllowed => f.write_str("the origin is not in allow_origins"),
            Refusal::MethodNotAllowed(m) => {
                write!(f, "the method {m} is not allowed on this route")
            }
            Refusal::InvalidRequestMethod => {
                f.write_str("Access-Control-Request-Method is not a method name")
            }
            Refusal::HeaderNotAllowed(h) => {
                write!(f, "the request header {h} is not in allow_headers")
            }
            Refusal::AuthorizationNotListed => f.write_str(
                "authorization must be listed by name in allow_headers; `*` never covers it",
            ),
            Refusal::RequestHeaders(e) => write!(f, "{e}"),
            Refusal::CorsDisabled => {
                f.write_str("cross-origin requests are disabled on this route")
            }
        }
    }
}

impl Policy {
    /// Decide what to answer. `methods` is the set of methods allowed where the
    /// request goes: [`Policy::methods_for_route`] of the route, or
    /// [`Policy::methods`] when routes are not known.
    ///
    /// The actual-request path never allocates (the policy's header values
    /// are kept for the process or shared, so a clone copies a pointer or
    /// counts a reference); the preflight path allocates only when it must
    /// re-write the requested header list.
    pub fn decide(&self, req: &CorsRequest<'_>, methods: &MethodSet) -> Decision {
        let Some(origin) = req.origin else {
            let is_static = self.is_static_wildcard();
            return Decision::NotCors {
                vary_origin: !is_static,
                static_headers: is_static.then(|| ActualAllowed {
                    allow_origin: WILDCARD,
                    allow_credentials: false,
                    expose_headers: self.expose.clone(),
                    vary_origin: false,
                }),
            };
        };
        let matched = self.matcher.matches(origin.as_bytes());
        if req.is_preflight() {
            // The answer is built once, in place, from what the checks allow.
            return match self.preflight_allow_headers(req, matched, methods) {
                Ok(allow_headers) => Decision::PreflightAllowed(self.preflight_allowed(
                    origin,
                    matched,
                    methods,
                    allow_headers,
                )),
                Err(refusal) => Decision::PreflightRefused(refusal),
            };
        }
        match matched {
            OriginMatch::No => Decision::ActualDisallowed {
                on_disallowed: self.on_disallowed,
            },
            _ => {
                let (allow_origin, vary_origin) = self.allow_origin_value(origin, matched);
                Decision::ActualAllowed(ActualAllowed {
                    allow_origin,
                    allow_credentials: self.credentials,
                    expose_headers: self.expose.clone(),
                    vary_origin,
                })
            }
        }
    }

    /// `*` when every origin is allowed without credentials, to a listed
    /// origin too: one static answer (Fetch, "CORS protocol and HTTP
    /// caches"). Otherwise the request's own origin, which makes the answer
    /// vary (Fetch, "CORS check": byte-equal).
    fn allow_origin_value(
        &self,
        origin: &HeaderValue,
        matched: OriginMatch,
    ) -> (HeaderValue, bool) {
        if matched != OriginMatch::No && self.is_static_wildcard() {
            (WILDCARD, false)
        } else {
            (origin.clone(), true)
        }
    }

    /// The checks of a preflight; when it is allowed, its
    /// `Access-Control-Allow-Headers` value.
    #[inline]
    fn preflight_allow_headers(
        &self,
        req: &CorsRequest<'_>,
        matched: OriginMatch,
        methods: &MethodSet,
    ) -> Result<Option<HeaderValue>, Refusal> {
        if matched == OriginMatch::No {
            return Err(Refusal::OriginNotAllowed);
        }
        let requested = req
            .request_method
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        // docs/browser-model.md#method-allowed: methods compare byte for byte; `patch` is not `PATCH`.
        // A member is a method name, so only a miss needs the name checked.
        if !methods.contains_bytes(requested) {
            return Err(method_refusal(requested));
        }
        // A browser writes one line, sorted and lower case (docs/browser-model.md#unsafe-request-header-names, #preflight-request): when the
        // allow list is short every such line is known, and one look-up
        // decides (the line can then be echoed as it is).
        let mut lines = req.request_headers.iter();
        if let (Some(line), None) = (lines.next(), lines.next()) {
            // The length first: a hostile megabyte is never hashed.
            if line.len() <= self.allow_headers.longest_line
                && self.allow_headers.lines.contains(line.as_bytes())
            {
                return Ok(Some(line.clone()));
            }
        }
        self.scan_request_headers(req)
    }

    /// A requested header list that is not one of the precomputed lines:
    /// parsed, each name checked.
    #[inline(never)]
    fn scan_request_headers(&self, req: &CorsRequest<'_>) -> Result<Option<HeaderValue>, Refusal> {
        // Check each name as the parser meets it, so that the hot path holds no
        // list of names; a malformed list still wins over a refused name.
        let mut refused = None;
        let scanned = header_list::scan(&req.request_headers, |name| {
            if refused.is_none() {
                refused = self.check_request_header(name).err();
            }
        })
        .map_err(Refusal::RequestHeaders)?;
        if let Some(refusal) = refused {
            return Err(refusal);
        }
        let allow_headers = if scanned.len == 0 {
            None
        } else if let Some(line) = scanned.canonical_line {
            Some(line.clone())
        } else {
            // The names are tokens, so their lower-case list is a valid value.
            RequestedHeaders::parse(&req.request_headers)
                .ok()
                .and_then(|headers| HeaderValue::from_str(&headers.to_lowercase_list()).ok())
        };
        Ok(allow_headers)
    }

    #[inline(always)]
    pub(crate) fn preflight_allowed(
        &self,
        origin: &HeaderValue,
        matched: OriginMatch,
        methods: &MethodSet,
        allow_headers: Option<HeaderValue>,
    ) -> PreflightAllowed {
        let (allow_origin, vary_origin) = self.allow_origin_value(origin, matched);
        PreflightAllowed {
            status: self.preflight_status,
            allow_origin,
            allow_credentials: self.credentials,
            allow_methods: methods.header_value().clone(),
            allow_headers,
            max_age: self.max_age.clone(),
            vary: if vary_origin {
                VARY_PREFLIGHT
            } else {
                VARY_PREFLIGHT_STATIC_ORIGIN
            },
        }
    }

    fn check_request_header(&self, name: &[u8]) -> Result<(), Refusal> {
        // Browsers send the names lower case (docs/browser-model.md#unsafe-request-header-names): look those up as they are.
        let listed = if !name.iter().any(u8::is_ascii_uppercase) {
            self.allow_headers.names.contains(name)
        } else if name.len() <= 128 {
            let mut buf = [0u8; 128];
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.allow_headers.names.contains(&*lower)
        } else {
            self.allow_headers
                .names
                .contains(name.to_ascii_lowercase().as_slice())
        };
        if listed {
            return Ok(());
        }
        // docs/browser-model.md#authorization-must-be-listed: `*` never covers Authorization; it must be listed by name.
        if name.eq_ignore_ascii_case(b"authorization") {
            return Err(if self.allow_headers.any {
                Refusal::AuthorizationNotListed
            } else {
                Refusal::HeaderNotAllowed("authorization".into())
            });
        }
        if self.allow_headers.any {
            return Ok(());
        }
        Err(Refusal::HeaderNotAllowed(
            String::from_utf8_lossy(name).to_ascii_lowercase(),
        ))
    }
}

/// Why `requested`, in no set, is refused: not a method name at all, or
/// not one of the route's.
#[cold]
fn method_refusal(requested: &[u8]) -> Refusal {
    if requested.is_empty() || !requested.iter().all(|&b| is_tchar(b)) {
        Refusal::InvalidRequestMethod
    } else {
        Refusal::MethodNotAllowed(String::from_utf8_lossy(requested).into_owned())
    }
}

/// Remove every CORS response header an inner service or upstream wrote, so
/// that a browser never sees two `Access-Control-Allow-Origin` values.
pub fn strip_cors_headers(headers: &mut HeaderMap) {
    // A fresh response (a preflight answer) has nothing to strip: skip seven lookups.
    if headers.is_empty() {
        return;
    }
    for name in [
        ACCESS_CONTROL_ALLOW_ORIGIN,
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        ACCESS_CONTROL_ALLOW_METHODS,
        ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_EXPOSE_HEADERS,
        ACCESS_CONTROL_MAX_AGE,
        ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
    ] {
        headers.remove(name);
    }
}

impl PreflightAllowed {
    /// Write the preflight answer's headers into an empty response.
    pub fn write(&self, headers: &mut HeaderMap) {
        strip_cors_headers(headers);
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin.clone());
        if self.allow_credentials {
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
        if let Some(h) = &self.allow_headers {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, h.clone());
        }
        if let Some(m) = &self.max_age {
            headers.insert(ACCESS_CONTROL_MAX_AGE, m.clone());
        }
        headers.insert(VARY, self.vary.clone());
    }
}

/// The answer to every allowed preflight of one policy and one set of
/// methods, built once (when a route's layer is made): the headers
/// [`PreflightAllowed::write`] writes, in its order, of which only those that
/// depend on the request are set per request (`Access-Control-Allow-Origin`
/// when it echoes the origin, `Access-Control-Allow-Headers`). Cloning the
/// prebuilt map costs less than inserting its headers one by one.
#[derive(Debug, Clone)]
pub struct PreflightAnswer {
    /// With `Access-Control-Allow-Headers` (placeholder value).
    with_allow_headers: HeaderMap,
    /// Without it: a preflight that asks for no header.
    without_allow_headers: HeaderMap,
}

impl Policy {
    /// The prebuilt answer to this policy's allowed preflights where the
    /// methods are `methods` (as given to [`Policy::decide`]).
    pub fn preflight_answer(&self, methods: &MethodSet) -> PreflightAnswer {
        // Any listed origin: the answer echoes it, or says `*` for every one.
        let placeholder = HeaderValue::from_static("null");
        let with = self.preflight_allowed(
            &placeholder,
            OriginMatch::Listed,
            methods,
            Some(placeholder.clone()),
        );
        let without = PreflightAllowed {
            allow_headers: None,
            ..with.clone()
        };
        PreflightAnswer {
            with_allow_headers: with.to_headers(),
            without_allow_headers: without.to_headers(),
        }
    }
}

impl PreflightAnswer {
    /// The headers of `allowed`'s answer: the same, in the same order, as
    /// [`PreflightAllowed::write`] writes into an empty map, when `allowed`
    /// was decided by the policy and methods this answer was built from.
    pub fn headers(&self, allowed: PreflightAllowed) -> HeaderMap {
        let PreflightAllowed {
            allow_origin,
            allow_headers,
            ..
        } = allowed;
        let (mut headers, mut allow_headers) = match allow_headers {
            Some(h) => (self.with_allow_headers.clone(), Some(h)),
            None => (self.without_allow_headers.clone(), None),
        };
        let mut allow_origin = Some(allow_origin);
        // A walk over the few entries, in insertion order: no name is hashed.
        for (name, value) in headers.iter_mut() {
            if name == ACCESS_CONTROL_ALLOW_ORIGIN {
                if let Some(v) = allow_origin.take() {
                    *value = v;
                }
            } else if name == ACCESS_CONTROL_ALLOW_HEADERS {
                if let Some(v) = allow_headers.take() {
                    *value = v;
                }
            }
        }
        headers
    }
}

impl PreflightAnswer {
    /// The fields of `allowed`'s answer one by one, in the order and with the
    /// values [`PreflightAnswer::headers`] gives, without building a map: for
    /// a server that writes the response head itself (the gateway's HTTP/1.1
    /// express lane).
    pub fn for_each_field(
        &self,
        allowed: &PreflightAllowed,
        mut field: impl FnMut(&HeaderName, &HeaderValue),
    ) {
        let template = match allowed.allow_headers {
            Some(_) => &self.with_allow_headers,
            None => &self.without_allow_headers,
        };
        let mut allow_origin = Some(&allowed.allow_origin);
        let mut allow_headers = allowed.allow_headers.as_ref();
        for (name, value) in template.iter() {
            let value = if name == ACCESS_CONTROL_ALLOW_ORIGIN {
                allow_origin.take().unwrap_or(value)
            } else if name == ACCESS_CONTROL_ALLOW_HEADERS {
                allow_headers.take().unwrap_or(value)
            } else {
                value
            };
            field(name, value);
        }
    }
}

impl PreflightAllowed {
    /// The answer's headers in a map of their own, with room for no more.
    fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(8);
        self.write(&mut headers);
        let mut exact = HeaderMap::with_capacity(headers.len());
        for (name, value) in &headers {
            exact.append(name.clone(), value.clone());
        }
        exact
    }
}

impl ActualAllowed {
    fn write(&self, headers: &mut HeaderMap) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin.clone());
        if self.allow_credentials {
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        if let Some(e) = &self.expose_headers {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, e.clone());
        }
        if self.vary_origin {
            add_vary(headers, "origin", &VARY_ORIGIN);
        }
    }
}

impl Decision {
    /// Put the CORS headers of a non-preflight answer on a response, whatever its
    /// status (docs/browser-model.md#actual-response-status): remove the inner ones, add ours, merge `Vary`. For a
    /// refused preflight, only `Vary: Origin` is written.
    pub fn apply(&self, headers: &mut HeaderMap) {
        strip_cors_headers(headers);
        match self {
            Decision::NotCors {
                vary_origin,
                static_headers,
            } => {
                if let Some(a) = static_headers {
                    a.write(headers);
                }
                if *vary_origin {
                    add_vary(headers, "origin", &VARY_ORIGIN);
                }
            }
            Decision::ActualAllowed(a) => a.write(headers),
            Decision::ActualDisallowed { .. } | Decision::PreflightRefused(_) => {
                add_vary(headers, "origin", &VARY_ORIGIN);
            }
            Decision::PreflightAllowed(p) => p.write(headers),
        }
    }
}
