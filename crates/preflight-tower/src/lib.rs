//! The preflight CORS engine as a tower layer.
