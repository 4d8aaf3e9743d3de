//! What a [`crate::CorsLayer`] and the [`crate::Cors`] services it builds
//! share: the policy and the methods of the route it guards.

use preflight_core::{MethodSet, Policy};

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
}
