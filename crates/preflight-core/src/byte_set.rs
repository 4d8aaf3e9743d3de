//! A set of byte strings taken from the configuration (exact origins, header
//! names, the request lines a browser can send), which requests only look up.
//!
//! A few entries are compared one by one: the lengths differ for most of
//! them, so a miss costs a compare of two integers and a hit one `memcmp`,
//! where hashing the key first costs more than the whole scan. Past
//! [`SCAN_MAX`] entries a hash set ([`FastHash`]) keeps a look-up from growing
//! with their number.

use std::collections::HashSet;

use crate::fast_hash::FastHash;

/// The most entries looked up by a scan.
const SCAN_MAX: usize = 8;

#[derive(Debug, Clone)]
pub(crate) enum ByteSet {
    Few(Vec<Box<[u8]>>),
    Many(HashSet<Box<[u8]>, FastHash>),
}

impl Default for ByteSet {
    fn default() -> Self {
        ByteSet::Few(Vec::new())
    }
}

impl ByteSet {
    /// Add `key`; true when it was not there.
    pub(crate) fn insert(&mut self, key: Box<[u8]>) -> bool {
        if self.contains(&key) {
            return false;
        }
        match self {
            ByteSet::Few(keys) if keys.len() < SCAN_MAX => keys.push(key),
            ByteSet::Few(keys) => {
                let mut set: HashSet<Box<[u8]>, FastHash> =
                    std::mem::take(keys).into_iter().collect();
                set.insert(key);
                *self = ByteSet::Many(set);
            }
            ByteSet::Many(set) => {
                set.insert(key);
            }
        }
        true
    }

    #[inline]
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        match self {
            // Slices compare their lengths before their bytes.
            ByteSet::Few(keys) => keys.iter().any(|k| **k == *key),
            ByteSet::Many(set) => hashed_contains(set, key),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            ByteSet::Few(keys) => keys.len(),
            ByteSet::Many(set) => set.len(),
        }
    }

    /// The entries, in no particular order.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match self {
            ByteSet::Few(keys) => Box::new(keys.iter().map(|k| &k[..])),
            ByteSet::Many(set) => Box::new(set.iter().map(|k| &k[..])),
        }
    }
}

/// Out of line, so that the scan inlined into its callers stays small.
#[inline(never)]
fn hashed_contains(set: &HashSet<Box<[u8]>, FastHash>, key: &[u8]) -> bool {
    set.contains(key)
}

impl FromIterator<Box<[u8]>> for ByteSet {
    fn from_iter<I: IntoIterator<Item = Box<[u8]>>>(iter: I) -> Self {
        let mut set = ByteSet::default();
        for key in iter {
            set.insert(key);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Box<[u8]> {
        s.as_bytes().into()
    }

    #[test]
    fn the_same_members_scanned_and_hashed() {
        for n in [0, 1, SCAN_MAX - 1, SCAN_MAX, SCAN_MAX + 1, 3 * SCAN_MAX] {
            let keys: Vec<String> = (0..n).map(|i| format!("x-{i}")).collect();
            let mut set = ByteSet::default();
            for k in &keys {
                assert!(set.insert(key(k)), "{k} is new");
                assert!(!set.insert(key(k)), "{k} is there");
            }
            assert_eq!(set.len(), n);
            assert_eq!(matches!(set, ByteSet::Many(_)), n > SCAN_MAX, "{n}");
            for k in &keys {
                assert!(set.contains(k.as_bytes()), "{k}");
            }
            for miss in ["", "x-", "X-0", "x-0 ", "x-00", "y-1"] {
                assert!(!set.contains(miss.as_bytes()), "{miss} in {n}");
            }
            let mut listed: Vec<&[u8]> = set.iter().collect();
            listed.sort_unstable();
            let mut want: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            want.sort_unstable();
            assert_eq!(listed, want);
        }
    }
}
