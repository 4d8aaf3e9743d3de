//! The hasher of the maps and sets whose keys come from the configuration:
//! the origin matcher's sets and the policy's header names here, and the
//! gateway's metric handles and per-host upstream permits. A multiply per
//! word (the scheme of rustc's FxHash) instead of SipHash, which was a third
//! of an allowed preflight's time. A request only looks these keys up, so a
//! keyed hash buys nothing: a request can land on a probe sequence the
//! configuration made, at the cost of one comparison a step, but never
//! lengthen one. Not for maps that requests fill.

use std::hash::{BuildHasherDefault, Hasher};

pub type FastHash = BuildHasherDefault<FastHasher>;

#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(Self::K);
    }
}

/// The 1 to 7 bytes of `rest` as a little-endian word, zero above them:
/// read as two overlapping loads of fixed size instead of a copy of variable
/// length (a call to `memcpy`). The overlapping bytes land on the same bits
/// from both loads, so the word is the plain packing of the bytes.
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let lo = u64::from(u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]));
        let hi = u64::from(u32::from_le_bytes([
            rest[n - 4],
            rest[n - 3],
            rest[n - 2],
            rest[n - 1],
        ]));
        lo | hi << ((n - 4) * 8)
    } else {
        u64::from(rest[0])
            | u64::from(rest[n / 2]) << (n / 2 * 8)
            | u64::from(rest[n - 1]) << ((n - 1) * 8)
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
        if !rest.is_empty() {
            // The length keeps `ab\0` and `ab` apart.
            self.add(tail_word(rest) ^ ((rest.len() as u64) << 59));
        }
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
        // The multiply leaves the high bits best mixed; hashbrown takes the
        // bucket from the low bits and the tag from the top seven.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn the_tail_word_packs_the_bytes() {
        let bytes = *b"\x01\x02\x03\x04\x05\x06\x07";
        for n in 1..=7 {
            let mut word = [0u8; 8];
            word[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                tail_word(&bytes[..n]),
                u64::from_le_bytes(word),
                "{n} bytes"
            );
        }
    }

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
