//! What happens on the wire during one fetch, as data: the requests the
//! browser sends ([`SentRequest`]), what the server (or the transport) does
//! with each ([`ServerResponse`], [`Delivery`]), and the [`FetchTrace`] that
//! [`simulate`](super::simulate) and [`drive`](super::drive) both return.
//! Notes are structured ([`ExchangeNote`]); turning them into words is the
//! caller's.

use serde::Serialize;
use url::Url;

use super::actual::ActualOk;
use super::error::Blocked;
use super::headers::get_header;
use super::plan::{PreflightReason, RequestPlan};
use super::request::ser_url;

/// Which request of the fetch this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeKind {
    Preflight,
    Actual,
}

/// A request as the browser sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentRequest {
    pub kind: ExchangeKind,
    pub method: String,
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// The headers the CORS algorithm controls, in order.
    pub headers: Vec<(String, String)>,
    /// Whether cookies and HTTP authentication go along (docs/browser-model.md#credentials; never on a preflight).
    pub credentials: bool,
}

impl SentRequest {
    /// The combined value of a header of this request.
    pub fn header(&self, name: &str) -> Option<String> {
        get_header(&self.headers, name)
    }
}

/// A server's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl ServerResponse {
    /// A response with this status and these headers.
    pub fn new(status: u16, headers: &[(&str, &str)]) -> ServerResponse {
        ServerResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// What the transport of [`drive`](super::drive) did with a request.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Sent, and this came back.
    Answered(ServerResponse),
    /// Not sent, for this reason (shown to the user as it is).
    Withheld(String),
}

/// Why an exchange happened the way it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExchangeNote {
    /// A preflight, sent first for these reasons (the plan's).
    Preflight { reasons: Vec<PreflightReason> },
    /// The response redirects the fetch to this URL.
    Redirect {
        #[serde(serialize_with = "ser_url")]
        location: Url,
    },
    /// The transport did not send the request, for this reason.
    Withheld { reason: String },
}

/// One request of a fetch and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub request: SentRequest,
    /// `None` when the transport withheld the request.
    pub response: Option<ServerResponse>,
    pub note: Option<ExchangeNote>,
}

/// How a fetch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum FetchOutcome {
    /// Script can read the response.
    Allowed(ActualOk),
    /// Everything before the withheld request passed; the transport did not
    /// send it, so the fetch has no verdict on what came after.
    Withheld,
    /// The browser blocks the request.
    Blocked(Blocked),
}

impl FetchOutcome {
    /// The response script reads, when the fetch was allowed.
    pub fn allowed(&self) -> Option<&ActualOk> {
        match self {
            FetchOutcome::Allowed(ok) => Some(ok),
            _ => None,
        }
    }

    /// Why the browser blocks the request, when it does.
    pub fn blocked(&self) -> Option<&Blocked> {
        match self {
            FetchOutcome::Blocked(b) => Some(b),
            _ => None,
        }
    }

    /// True when script can read the response.
    pub fn is_allowed(&self) -> bool {
        matches!(self, FetchOutcome::Allowed(_))
    }

    /// True when the browser blocks the request.
    pub fn is_blocked(&self) -> bool {
        matches!(self, FetchOutcome::Blocked(_))
    }
}

/// Everything that happened in one fetch, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchTrace {
    /// Every request, in order (redirect hops included).
    pub exchanges: Vec<Exchange>,
    pub outcome: FetchOutcome,
    /// The plan of the first request (preflight needed, unsafe headers, ...);
    /// `None` when fetch() refused the request before planning it.
    pub plan: Option<RequestPlan>,
    /// Preflights skipped because the cache covered them.
    pub cache_hits: usize,
}

impl FetchTrace {
    /// How many preflights were sent.
    pub fn preflights(&self) -> usize {
        self.exchanges
            .iter()
            .filter(|e| e.request.kind == ExchangeKind::Preflight)
            .count()
    }

    /// The last request the browser sent.
    pub fn last_request(&self) -> Option<&SentRequest> {
        self.exchanges.last().map(|e| &e.request)
    }
}
