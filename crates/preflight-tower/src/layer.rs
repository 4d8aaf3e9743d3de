//! [`CorsLayer`]: a validated policy plus, optionally, the methods of the route
//! it guards.

use std::sync::Arc;

use preflight_core::{CorsConfig, MethodSet, Policy, PolicyError, PreflightAnswer};
use tower::Layer;

use crate::service::Cors;
use crate::state::State;

/// The CORS layer. Cheap to clone: the policy is shared.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    pub(crate) state: Arc<State>,
}

impl CorsLayer {
    /// A layer for a validated policy; the policy's methods apply. The route's
    /// methods are not known here, so `allow_methods` left out or `*` means
    /// `GET, HEAD, POST, PUT, PATCH, DELETE`; [`CorsLayer::with_methods`]
    /// makes it every method of the route (docs/configuration.md).
    pub fn new(policy: Policy) -> CorsLayer {
        let preflight_methods = policy.methods().clone();
        CorsLayer {
            state: Arc::new(State::new(Some(policy), preflight_methods, None)),
        }
    }

    /// Validate a `[cors]` table and build the layer. Every refused setting is
    /// returned; nothing panics later.
    pub fn from_config(config: &CorsConfig) -> Result<CorsLayer, Vec<PolicyError>> {
        Policy::new(config).map(CorsLayer::new)
    }

    /// A layer for a route without cross-origin access: preflights are refused
    /// with 403, and any `Access-Control-*` header the inner service writes is
    /// removed.
    pub fn disabled() -> CorsLayer {
        CorsLayer {
            state: Arc::new(State::new(None, MethodSet::empty(), None)),
        }
    }

    /// Tell the layer which methods the route has. A preflight for a method
    /// the route lacks is then refused, and an ordinary `OPTIONS` on a route
    /// without `OPTIONS` is answered `204` with `Allow`.
    pub fn with_methods(self, route: MethodSet) -> CorsLayer {
        let preflight_methods = match &self.state.policy {
            Some(policy) => policy.methods_for_route(&route),
            None => self.state.preflight_methods.clone(),
        };
        CorsLayer {
            state: Arc::new(State::new(
                self.state.policy.clone(),
                preflight_methods,
                Some(route),
            )),
        }
    }

    /// The policy, when CORS is enabled.
    pub fn policy(&self) -> Option<&Policy> {
        self.state.policy.as_ref()
    }

    /// The methods preflights may ask for.
    pub fn preflight_methods(&self) -> &MethodSet {
        &self.state.preflight_methods
    }

    /// The prebuilt answer the layer gives an allowed preflight (its
    /// policy's [`Policy::preflight_answer`] for [`CorsLayer::preflight_methods`]),
    /// when CORS is enabled: for a server that decides with
    /// [`CorsLayer::policy`] and writes the answer itself.
    pub fn preflight_answer(&self) -> Option<&PreflightAnswer> {
        self.state.preflight_answer.as_ref()
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors::new(inner, self.state.clone())
    }
}
