//! Media for calls. Calls see it through `link` (the events, stats, timings and errors of a
//! session). Read `session` next: one joined session (the v3 signaling socket, kept
//! alive through outages by `signaling_link`, and its JSON-RPC, publish and subscribe
//! negotiation), whose send, receive, playout and stats tasks are in `clocks`,
//! built on `signaling` (the protocol's messages), `peer` (webrtc-rs connections as a call
//! needs them) and `participant_token` (the token's claims). The samples: the fixed frame
//! format below, the Opus `codec`, the receive-side `jitter` buffer, the app's PCM in and
//! out (`audio_bridge`), and test `tone`s with a detector.

pub mod adapter;
pub mod audio_bridge;
pub mod bitrate;
pub mod clocks;
pub mod codec;
pub mod delay_estimator;
pub mod drift;
pub mod driver;
pub mod jitter;
pub mod link;
pub mod mixer;
pub mod participant_token;
pub mod peer;
pub mod recovery;
pub mod rpc;
pub mod session;
pub mod signaling;
pub mod signaling_link;
pub mod speech;
pub mod tone;
pub mod transport;
pub mod voice;

/// Opus at 48 kHz, mono, 20 ms frames: what Bandwidth's gateway and browsers negotiate.
pub const SAMPLE_RATE: u32 = 48_000;
pub const FRAME_MS: u32 = 20;
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE / 1000 * FRAME_MS) as usize;
/// RTP timestamp increment per frame (the Opus RTP clock is always 48 kHz).
pub const FRAME_TIMESTAMP_STEP: u32 = FRAME_SAMPLES as u32;

pub type Frame = [i16; FRAME_SAMPLES];

/// Root-mean-square level of a frame, 0.0 (silence) to 1.0 (full scale).
pub fn level(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return 0.0;
    }
    let sum: f64 = frame.iter().map(|&s| (s as f64) * (s as f64)).sum();
    ((sum / frame.len() as f64).sqrt() / i16::MAX as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_constants_and_level() {
        assert_eq!(FRAME_SAMPLES, 960);
        assert_eq!(level(&[0; 960]), 0.0);
        let full = [i16::MAX; 960];
        assert!((level(&full) - 1.0).abs() < 1e-4);
    }
}
