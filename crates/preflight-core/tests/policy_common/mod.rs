//! What the policy tests share: building `[cors]` tables and asking
//! `Policy::new` for the one refusal, or the policy, they must give.
#![allow(dead_code)]

use preflight_core::{CorsConfig, Policy, PolicyError};

pub fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

pub fn origins(items: &[&str]) -> CorsConfig {
    CorsConfig {
        allow_origins: strings(items),
        ..CorsConfig::default()
    }
}

pub fn credentialed(items: &[&str]) -> CorsConfig {
    CorsConfig {
        allow_credentials: Some(true),
        ..origins(items)
    }
}

/// The one error a config must produce.
pub fn refused(config: &CorsConfig) -> PolicyError {
    match Policy::new(config) {
        Ok(_) => panic!("{config:?} was accepted"),
        Err(errors) => {
            assert_eq!(errors.len(), 1, "{errors:#?}");
            errors.into_iter().next().unwrap()
        }
    }
}

pub fn accepted(config: &CorsConfig) -> Policy {
    match Policy::new(config) {
        Ok(p) => p,
        Err(e) => panic!("{config:?} was refused: {e:#?}"),
    }
}
