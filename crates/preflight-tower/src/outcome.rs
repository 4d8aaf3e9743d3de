//! [`CorsOutcome`]: what the layer decided, for the application behind it.

use preflight_core::Refusal;

/// What the layer decided, put in the response's extensions so that an
/// application (the gateway's metrics, logs and dashboard) can see it. A
/// refusal carries its [`Refusal`], whose `code()` and text are the ones to
/// report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOutcome {
    /// No `Origin`: not a CORS request.
    NotCors,
    /// A preflight, answered by the layer.
    Preflight {
        allowed: bool,
        reason: Option<Refusal>,
    },
    /// An actual CORS request: refused because the origin is not allowed
    /// ([`Refusal::OriginNotAllowed`]) or the route has no CORS
    /// ([`Refusal::CorsDisabled`]).
    Actual {
        allowed: bool,
        reason: Option<Refusal>,
    },
}

impl CorsOutcome {
    /// An actual request that was allowed.
    pub(crate) const ACTUAL_ALLOWED: CorsOutcome = CorsOutcome::Actual {
        allowed: true,
        reason: None,
    };

    /// An actual request refused for `reason`.
    pub(crate) fn actual_refused(reason: Refusal) -> CorsOutcome {
        CorsOutcome::Actual {
            allowed: false,
            reason: Some(reason),
        }
    }

    /// The refusal, when the layer refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            CorsOutcome::NotCors => None,
            CorsOutcome::Preflight { reason, .. } | CorsOutcome::Actual { reason, .. } => {
                reason.as_ref()
            }
        }
    }
}
