//! What a [`crate::CorsLayer`] and the [`crate::Cors`] services it builds
//! share: the policy and the methods of the route it guards.

use preflight_core::{MethodSet, Policy, PreflightAnswer};

#[derive(Debug)]
pub(crate) struct State {
    /// `None` for a route without CORS (`cors = false`).
    pub(crate) policy: Option<Policy>,
    /// The methods a preflight may ask for: the route's methods that the
    /// policy allows, or the policy's methods when the route is not known.
    pub(crate) preflight_methods: MethodSet,
    /// The route's own methods, when known: they decide the answer to an
    /// ordinary `OPTIONS` (`204` with `Allow`).
    pub(crate) route_methods: Option<MethodSet>,
    /// The answer to an allowed preflight, built once for the policy and
    /// `preflight_methods`; `None` without CORS.
    pub(crate) preflight_answer: Option<PreflightAnswer>,
}

impl State {
    pub(crate) fn new(
        policy: Option<Policy>,
        preflight_methods: MethodSet,
        route_methods: Option<MethodSet>,
    ) -> State {
        let preflight_answer = policy
            .as_ref()
            .map(|p| p.preflight_answer(&preflight_methods));
        State {
            policy,
            preflight_methods,
            route_methods,
            preflight_answer,
        }
    }
}
