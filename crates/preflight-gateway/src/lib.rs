//! The preflight gateway.
