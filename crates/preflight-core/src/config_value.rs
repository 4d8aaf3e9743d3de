//! Header values written from the configuration (`Access-Control-Allow-Methods`,
//! `Access-Control-Max-Age`, `Access-Control-Expose-Headers`), which every
//! answer carries a copy of.
//!
//! A copy of a value made from a `String` counts a reference shared between
//! threads: an atomic increment, and an atomic decrement when the answer is
//! dropped. The pair costs about as much as the rest of a decision put
//! together (BENCHMARKS.md, "preflight-core"). A value kept for the life of
//! the process is copied as a pointer instead, so each distinct value is
//! kept once, process-wide. Bounded: past [`MAX_VALUES`] values or
//! [`MAX_BYTES`] bytes in all (a configuration holds a few dozen; a process
//! that loads many different configurations may reach it), a value is made
//! shared as before, so the cost comes back but memory does not grow.

use std::sync::Mutex;

use http::HeaderValue;

/// The most distinct values kept.
pub(crate) const MAX_VALUES: usize = 1024;
/// The most bytes of values kept, all together.
pub(crate) const MAX_BYTES: usize = 64 * 1024;

/// The values kept so far.
#[derive(Debug, Default)]
struct Kept {
    values: Vec<&'static str>,
    bytes: usize,
}

impl Kept {
    /// The kept copy of `s`, kept now if there is room.
    fn get(&mut self, s: &str) -> Option<&'static str> {
        if let Some(&kept) = self.values.iter().find(|&&v| v == s) {
            return Some(kept);
        }
        if self.values.len() >= MAX_VALUES || self.bytes + s.len() > MAX_BYTES {
            return None;
        }
        let kept: &'static str = Box::leak(s.into());
        self.values.push(kept);
        self.bytes += s.len();
        Some(kept)
    }
}

static KEPT: Mutex<Kept> = Mutex::new(Kept {
    values: Vec::new(),
    bytes: 0,
});

/// `s` as a header value whose copies cost no shared count: kept for the
/// process, or, past the bound, shared. `None` when `s` is not a header
/// value.
pub(crate) fn config_value(s: &str) -> Option<HeaderValue> {
    let value = HeaderValue::from_str(s).ok()?;
    // `from_static` takes visible ASCII only; anything else stays shared.
    if s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        let kept = KEPT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(s);
        if let Some(kept) = kept {
            return Some(HeaderValue::from_static(kept));
        }
    }
    Some(shared(value))
}

/// `from_str` copies into a fresh buffer; cloning it once turns the buffer
/// into a shared one, so that later clones only count references and never
/// allocate.
fn shared(value: HeaderValue) -> HeaderValue {
    let _promote = value.clone();
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_kept_once_and_the_bound_holds() {
        let mut kept = Kept::default();
        let a = kept.get("GET, PUT").unwrap();
        let b = kept.get("GET, PUT").unwrap();
        assert_eq!(a, "GET, PUT");
        assert!(std::ptr::eq(a, b), "the same copy");
        assert_eq!((kept.values.len(), kept.bytes), (1, 8));

        let mut full = Kept::default();
        for i in 0..MAX_VALUES {
            assert!(full.get(&i.to_string()).is_some(), "{i}");
        }
        assert_eq!(full.get("one more"), None);
        assert_eq!(full.get("7"), Some("7"), "a kept value is still found");
        assert_eq!(full.values.len(), MAX_VALUES);

        let mut big = Kept::default();
        let half = "a".repeat(MAX_BYTES / 2);
        assert!(big.get(&half).is_some());
        assert!(big.get(&"b".repeat(MAX_BYTES / 2)).is_some());
        assert_eq!(big.get("c"), None);
        assert_eq!(big.bytes, MAX_BYTES);
    }

    #[test]
    fn values_read_back_as_given() {
        for s in [
            "GET, HEAD, POST",
            "600",
            "x-request-id, x-total-count",
            "a\tb",
        ] {
            assert_eq!(config_value(s).unwrap(), s);
        }
        // Not visible ASCII: valid, shared, the same bytes.
        let obs = "caf\u{e9}";
        assert_eq!(config_value(obs).unwrap().as_bytes(), obs.as_bytes());
        assert!(config_value("a\nb").is_none());
    }
}
