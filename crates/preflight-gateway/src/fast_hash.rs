//! The hasher of the gateway's maps whose keys come from the configuration
//! (a route's labels, an upstream's host): a multiply per word (FxHash's
//! scheme) instead of the standard library's SipHash. Unkeyed on purpose: a
//! request only picks among keys the configuration made, so it can land on
//! a probe sequence the configuration made but never lengthen one.

use std::hash::{BuildHasherDefault, Hasher};

pub(crate) type FastHash = BuildHasherDefault<FastHasher>;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        // The length keeps ("ab", "c") and ("a", "bc") apart.
        self.add(u64::from_le_bytes(word) ^ ((bytes.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn split_points_and_lengths_hash_apart() {
        let h = |parts: &[&str]| {
            let mut s = FastHash::default().build_hasher();
            for p in parts {
                s.write(p.as_bytes());
            }
            s.finish()
        };
        assert_ne!(h(&["ab", "c"]), h(&["a", "bc"]));
        assert_ne!(h(&["ab"]), h(&["ab\0"]));
        assert_eq!(h(&["/api/users"]), h(&["/api/users"]));
    }
}
