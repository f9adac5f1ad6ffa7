//! WebSocket frames as a client sends and reads them (RFC 6455 §5), with no I/O: `encode`
//! writes one masked client frame, `decode` reads one server frame from the front of a
//! buffer or says it needs more bytes. `backend::websocket` runs the connection around it.
//!
//! No extension is ever negotiated, so every reserved bit must be clear; a server frame
//! must not be masked; control frames are short and whole. Anything else is a
//! [`FrameError`], and the connection is dropped.

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// One frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame with reserved bits set (no extension was negotiated)")]
    Reserved,
    #[error("a frame with the unknown opcode {0:#x}")]
    Opcode(u8),
    #[error("a masked frame from the server")]
    Masked,
    #[error("a control frame that is fragmented or longer than 125 bytes")]
    Control,
    #[error("a frame of {0} bytes, over the limit")]
    TooLarge(u64),
}

/// Appends one client frame (always masked with `mask`, RFC 6455 §5.3) to `out`.
pub fn encode(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0F));
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
}

/// Reads one frame from the front of `buf`: the frame and how many bytes it took, or `None`
/// when `buf` does not hold a whole frame yet. A frame longer than `max` is an error as soon
/// as its header shows it, before its payload arrives.
pub fn decode(buf: &[u8], max: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Reserved);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(FrameError::Opcode(opcode));
    }
    if b1 & 0x80 != 0 {
        return Err(FrameError::Masked);
    }
    let (len, header): (u64, usize) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                (u64::from_be_bytes(be), 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode >= CLOSE && (!fin || len > 125) {
        return Err(FrameError::Control);
    }
    if len > max as u64 {
        return Err(FrameError::TooLarge(len));
    }
    // `len` fits a usize now (it is at most `max`); the sum may not.
    let end = header
        .checked_add(len as usize)
        .ok_or(FrameError::TooLarge(len))?;
    let Some(payload) = buf.get(header..end) else {
        return Ok(None);
    };
    Ok(Some((
        Frame {
            fin,
            opcode,
            payload: payload.to_vec(),
        },
        end,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's (unmasked) frame.
    fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(fin, opcode, payload, [0; 4], &mut out);
        out[1] &= 0x7F; // clear the mask bit
        let key_at = out.len() - payload.len() - 4;
        out.drain(key_at..key_at + 4);
        out
    }

    #[test]
    fn client_frames_are_masked_with_the_three_length_forms() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = Vec::new();
        encode(true, TEXT, b"Hello", mask, &mut out);
        // RFC 6455 §5.7's masked "Hello".
        assert_eq!(
            out,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        for (len, header) in [(125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let mut out = Vec::new();
            encode(true, BINARY, &vec![7u8; len], mask, &mut out);
            assert_eq!(out.len(), header + 4 + len, "{len}");
            assert_eq!(out[1] & 0x80, 0x80);
        }
    }

    #[test]
    fn server_frames_decode_whole_or_wait_for_more() {
        let bytes = server_frame(true, TEXT, b"Hello");
        assert_eq!(bytes, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], 1024), Ok(None), "{cut}");
        }
        let mut two = bytes.clone();
        two.extend(server_frame(false, BINARY, &[1; 300]));
        let (first, used) = decode(&two, 1024).unwrap().unwrap();
        assert_eq!(first.payload, b"Hello");
        assert_eq!(used, 7);
        let (second, used2) = decode(&two[used..], 1024).unwrap().unwrap();
        assert!(!second.fin);
        assert_eq!((second.opcode, second.payload.len()), (BINARY, 300));
        assert_eq!(used + used2, two.len());
        let big = server_frame(true, BINARY, &vec![0; 70_000]);
        assert_eq!(
            decode(&big, 100_000).unwrap().unwrap().0.payload.len(),
            70_000
        );
    }

    #[test]
    fn protocol_violations_are_errors() {
        assert_eq!(decode(&[0xC1, 0x00], 10), Err(FrameError::Reserved));
        assert_eq!(decode(&[0x83, 0x00], 10), Err(FrameError::Opcode(3)));
        assert_eq!(
            decode(&[0x81, 0x80, 0, 0, 0, 0], 10),
            Err(FrameError::Masked)
        );
        assert_eq!(decode(&[0x09, 0x00], 10), Err(FrameError::Control));
        assert_eq!(decode(&[0x89, 126, 0, 126], 1000), Err(FrameError::Control));
        // Too large is known from the header alone.
        assert_eq!(
            decode(&[0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0], 1 << 20),
            Err(FrameError::TooLarge(1 << 32))
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic sweep standing in for the fuzzer: every 1..3-byte prefix
        // and lengths that overflow 32 bits.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = decode(&[a, b], 64);
                let _ = decode(&[a, b, 0xFF], 64);
            }
        }
        let _ = decode(
            &[0x82, 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            usize::MAX,
        );
    }
}
