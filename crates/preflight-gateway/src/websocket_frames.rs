//! Where the frames of a WebSocket tunnel begin and end (RFC 6455 §5.2), so
//! that on shutdown the gateway can put a Close frame between two frames
//! (RFC 6455 §5.5.1; a control frame may come between the fragments of a
//! message, §5.4) instead of cutting the connection (docs/behaviour.md,
//! "WebSockets").

/// Status 1001, "going away": the server is going down (RFC 6455 §7.4.1).
const GOING_AWAY: [u8; 2] = 1001u16.to_be_bytes();

/// The Close frame the gateway sends to the client: unmasked, as a server's
/// frames are (RFC 6455 §5.1).
pub(crate) fn close_to_client() -> [u8; 4] {
    [0x88, 0x02, GOING_AWAY[0], GOING_AWAY[1]]
}

/// The Close frame the gateway sends to the upstream: masked, as a client's
/// frames must be (RFC 6455 §5.3), with a key that differs from frame to
/// frame.
pub(crate) fn close_to_upstream() -> [u8; 8] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0x5a5a_5a5a);
    let key = (nanos ^ 0x9e37_79b9).to_be_bytes();
    [
        0x88,
        0x82,
        key[0],
        key[1],
        key[2],
        key[3],
        GOING_AWAY[0] ^ key[0],
        GOING_AWAY[1] ^ key[1],
    ]
}

/// Follows one direction of a tunnel, fed its bytes in order.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    /// The head of the frame being read (at most 14 bytes: 2, 8 of length,
    /// 4 of masking key).
    head: [u8; 14],
    head_len: usize,
    /// Payload bytes still to come of the current frame.
    payload_left: u64,
    /// A Close frame went by.
    closed: bool,
}

impl Frames {
    /// Between two frames.
    pub(crate) fn at_boundary(&self) -> bool {
        self.head_len == 0 && self.payload_left == 0
    }

    /// A Close frame went by in this direction.
    pub(crate) fn closed(&self) -> bool {
        self.closed
    }

    /// Feed `bytes`; with `stop_at_boundary`, stop at the first boundary
    /// between frames (at once when already at one). Returns how many bytes
    /// were taken.
    pub(crate) fn advance(&mut self, bytes: &[u8], stop_at_boundary: bool) -> usize {
        let mut taken = 0;
        while taken < bytes.len() {
            if stop_at_boundary && self.at_boundary() {
                break;
            }
            if self.payload_left > 0 {
                let n = (bytes.len() - taken)
                    .min(usize::try_from(self.payload_left).unwrap_or(usize::MAX));
                self.payload_left -= n as u64;
                taken += n;
                continue;
            }
            self.head[self.head_len] = bytes[taken];
            self.head_len += 1;
            taken += 1;
            self.end_of_head();
        }
        taken
    }

    /// When the head is whole: the payload's length, and whether it is a
    /// Close frame (opcode 8).
    fn end_of_head(&mut self) {
        if self.head_len < 2 {
            return;
        }
        let len7 = self.head[1] & 0x7f;
        let extended = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let masked = if self.head[1] & 0x80 != 0 { 4 } else { 0 };
        if self.head_len < 2 + extended + masked {
            return;
        }
        self.payload_left = match extended {
            0 => u64::from(len7),
            2 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
            _ => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&self.head[2..10]);
                u64::from_be_bytes(n)
            }
        };
        if self.head[0] & 0x0f == 0x8 {
            self.closed = true;
        }
        self.head_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x80 | opcode];
        let m = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n <= 0xffff => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            f.extend_from_slice(&[1, 2, 3, 4]);
        }
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn boundaries_are_found_across_pieces_and_lengths() {
        let mut stream = frame(0x1, false, b"hello");
        stream.extend(frame(0x2, true, &[7u8; 300]));
        stream.extend(frame(0x2, false, &vec![9u8; 70_000]));
        let ends = [7, 7 + 2 + 2 + 4 + 300, stream.len()];
        // Fed one byte at a time, the cursor is at a boundary exactly at
        // the ends of the frames.
        let mut f = Frames::default();
        let mut at = Vec::new();
        for (i, b) in stream.iter().enumerate() {
            f.advance(std::slice::from_ref(b), false);
            if f.at_boundary() {
                at.push(i + 1);
            }
        }
        assert_eq!(at, ends);
        assert!(!f.closed());
        // Fed in pieces that straddle frames, stopping at each boundary.
        let mut f = Frames::default();
        let first = f.advance(&stream[..20], false);
        assert_eq!(first, 20);
        assert!(!f.at_boundary());
        let to_end = f.advance(&stream[20..], true);
        assert_eq!(20 + to_end, ends[1]);
        assert!(f.at_boundary());
        assert_eq!(f.advance(&stream[ends[1]..], true), 0);
    }

    #[test]
    fn a_close_frame_is_seen_and_ours_are_well_formed() {
        let mut f = Frames::default();
        f.advance(&close_to_client(), false);
        assert!(f.closed() && f.at_boundary());
        let mut f = Frames::default();
        let up = close_to_upstream();
        f.advance(&up, false);
        assert!(f.closed() && f.at_boundary());
        let code = [up[6] ^ up[2], up[7] ^ up[3]];
        assert_eq!(u16::from_be_bytes(code), 1001);
    }
}
