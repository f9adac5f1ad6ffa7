//! Opus encode/decode for 20 ms mono frames at 48 kHz, with buffers allocated once, so the
//! per-frame path allocates nothing.

use super::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// An Opus packet for 20 ms of voice is far below this; 1275 bytes is Opus's own maximum.
pub const MAX_PACKET: usize = 1275;

#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct CodecError(String);

impl From<opus::Error> for CodecError {
    fn from(e: opus::Error) -> Self {
        CodecError(e.to_string())
    }
}

pub struct Encoder {
    inner: opus::Encoder,
    out: Box<[u8; MAX_PACKET]>,
    loss_percent: u8,
    bitrate: u32,
    dtx: bool,
}

/// The expected loss the encoder never goes below (some FEC is always sent) and above.
pub const MIN_EXPECTED_LOSS: u8 = 5;
pub const MAX_EXPECTED_LOSS: u8 = 40;

/// The expected loss to give the encoder, from the loss the far end last reported (RTCP
/// `fractionLost`, 0.0–1.0) and the previous expectation: up at once when loss rises,
/// down by a fifth of the gap per report when it falls, within the bounds above.
pub fn next_expected_loss(previous: u8, reported_fraction: f64) -> u8 {
    let reported = (reported_fraction.clamp(0.0, 1.0) * 100.0).round() as u8;
    let next = if reported >= previous {
        reported
    } else {
        previous - (previous - reported).div_ceil(5)
    };
    next.clamp(MIN_EXPECTED_LOSS, MAX_EXPECTED_LOSS)
}

impl Encoder {
    pub fn new() -> Result<Self, CodecError> {
        let mut inner =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)?;
        // Forward error correction lets the receiver rebuild a lost frame from the next one.
        // It lives in the SILK layer, so the encoder is told it codes speech (left to itself
        // it may pick CELT for tonal signals, whose packets carry no FEC).
        inner.set_signal(opus::Signal::Voice)?;
        inner.set_inband_fec(true)?;
        inner.set_packet_loss_perc(MIN_EXPECTED_LOSS as i32)?;
        inner.set_bitrate(opus::Bitrate::Bits(super::bitrate::START_BPS as i32))?;
        Ok(Self {
            inner,
            out: Box::new([0; MAX_PACKET]),
            loss_percent: MIN_EXPECTED_LOSS,
            bitrate: super::bitrate::START_BPS,
            dtx: false,
        })
    }

    /// The share of packets the far end is expected to lose, in percent: Opus spends more of
    /// its bits on FEC the higher it is. Only calls the codec when the value changes.
    pub fn expect_loss(&mut self, percent: u8) {
        if self.loss_percent != percent && self.inner.set_packet_loss_perc(percent as i32).is_ok() {
            self.loss_percent = percent;
        }
    }

    /// The target bitrate in bit/s (`media::bitrate`). Only calls the codec when it changes.
    pub fn set_bitrate(&mut self, bps: u32) {
        if self.bitrate != bps
            && self
                .inner
                .set_bitrate(opus::Bitrate::Bits(bps as i32))
                .is_ok()
        {
            self.bitrate = bps;
        }
    }

    /// Discontinuous transmission: in silence the encoder makes DTX frames (at most 2
    /// bytes) and a comfort-noise update every 400 ms. Only calls the codec when it changes.
    pub fn set_dtx(&mut self, on: bool) {
        if self.dtx != on && self.inner.set_dtx(on).is_ok() {
            self.dtx = on;
        }
    }

    /// Encodes one frame; the returned slice is valid until the next call.
    pub fn encode(&mut self, pcm: &Frame) -> Result<&[u8], CodecError> {
        let n = self.inner.encode(pcm, &mut self.out[..])?;
        Ok(&self.out[..n])
    }
}

/// How a lost frame was rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovered {
    /// From the next packet's forward error correction data.
    Fec,
    /// Extrapolated by Opus's packet loss concealment.
    Concealed,
}

/// How long a splice cross-fades (5 ms).
pub const SPLICE_SAMPLES: usize = 240;

/// Cross-fades the start of `into` from `from`'s start, linearly over `SPLICE_SAMPLES`.
fn splice(from: &Frame, into: &mut Frame) {
    for i in 0..SPLICE_SAMPLES {
        let w = (i + 1) as i32;
        let mixed = (from[i] as i32 * (SPLICE_SAMPLES as i32 - w) + into[i] as i32 * w)
            / SPLICE_SAMPLES as i32;
        into[i] = mixed as i16;
    }
}

/// Below −40 dBFS RMS: a pause in speech (or comfort noise), where a skipped frame is
/// not heard.
pub fn is_quiet(frame: &Frame) -> bool {
    const LEVEL: i64 = 328; // 32768 · 10^(−40/20)
    let energy: i64 = frame.iter().map(|&s| (s as i64) * (s as i64)).sum();
    energy < LEVEL * LEVEL * frame.len() as i64
}

pub struct Decoder {
    inner: opus::Decoder,
}

impl Decoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            inner: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?,
        })
    }

    /// Rebuilds a lost frame into `out`: from the in-band FEC data of `next` (the packet
    /// after the lost one) when it is at hand and carries some, else by Opus's concealment.
    /// Says which it was.
    pub fn recover(
        &mut self,
        next: Option<&[u8]>,
        out: &mut Frame,
    ) -> Result<Recovered, CodecError> {
        if let Some(next) = next {
            if let Ok(n) = self.inner.decode(next, &mut out[..], true) {
                if n == FRAME_SAMPLES {
                    return Ok(Recovered::Fec);
                }
            }
        }
        self.decode(None, out)?;
        Ok(Recovered::Concealed)
    }

    /// Leaves out one frame to shorten the delay: decodes `skipped` into `scratch` (so the
    /// decoder's state follows the stream) and `packet` into `out`, then cross-fades the first
    /// `SPLICE_SAMPLES` of `out` from `skipped`'s, which continue what played last — a splice
    /// without a click.
    pub fn decode_skipping(
        &mut self,
        skipped: &[u8],
        packet: &[u8],
        scratch: &mut Frame,
        out: &mut Frame,
    ) -> Result<(), CodecError> {
        self.decode(Some(skipped), scratch)?;
        self.decode(Some(packet), out)?;
        splice(scratch, out);
        Ok(())
    }

    /// Decodes one packet into `out`; `None` asks Opus to conceal a lost frame.
    pub fn decode(&mut self, packet: Option<&[u8]>, out: &mut Frame) -> Result<(), CodecError> {
        let n = self
            .inner
            .decode(packet.unwrap_or(&[]), &mut out[..], false)?;
        if n != FRAME_SAMPLES {
            // A packet of another duration (the far end sent 10 or 40 ms): keep what fits.
            out[n.min(FRAME_SAMPLES)..].fill(0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{ToneDetector, ToneGenerator};

    #[test]
    fn a_tone_survives_encode_and_decode() {
        let mut enc = Encoder::new().unwrap();
        let mut dec = Decoder::new().unwrap();
        let mut gen = ToneGenerator::new(440.0, 0.5);
        let mut det = ToneDetector::new(&[440.0, 880.0]);
        let mut pcm = [0i16; FRAME_SAMPLES];
        let mut out = [0i16; FRAME_SAMPLES];
        for _ in 0..50 {
            gen.fill(&mut pcm);
            let packet = enc.encode(&pcm).unwrap().to_vec();
            assert!(!packet.is_empty() && packet.len() < 400);
            dec.decode(Some(&packet), &mut out).unwrap();
            det.push(&out);
        }
        assert_eq!(det.detected(), Some(440.0));
        // Concealment produces a frame rather than an error.
        dec.decode(None, &mut out).unwrap();
    }

    /// A 440 Hz tone turns into 880 Hz, and the first 880 Hz packet is lost. Concealment can
    /// only extend the 440 Hz it heard; the next packet's FEC data carries the lost 880 Hz
    /// frame itself.
    #[test]
    fn a_lost_frame_comes_back_from_the_next_packets_fec_not_from_concealment() {
        use crate::media::tone::relative_power;
        let mut enc = Encoder::new().unwrap();
        let mut pcm = [0i16; FRAME_SAMPLES];
        let mut packets = Vec::new();
        let mut low = ToneGenerator::new(440.0, 0.5);
        for _ in 0..30 {
            low.fill(&mut pcm);
            packets.push(enc.encode(&pcm).unwrap().to_vec());
        }
        let mut high = ToneGenerator::new(880.0, 0.5);
        for _ in 0..5 {
            high.fill(&mut pcm);
            packets.push(enc.encode(&pcm).unwrap().to_vec());
        }
        let lost = 30;
        let rebuilt = |use_next: bool| {
            let mut dec = Decoder::new().unwrap();
            let mut out = [0i16; FRAME_SAMPLES];
            for p in &packets[..lost] {
                dec.decode(Some(p), &mut out).unwrap();
            }
            let next = use_next.then(|| packets[lost + 1].as_slice());
            let how = dec.recover(next, &mut out).unwrap();
            (
                how,
                relative_power(&out, 880.0),
                relative_power(&out, 440.0),
            )
        };
        let (how, fec_880, fec_440) = rebuilt(true);
        assert_eq!(how, Recovered::Fec);
        let (how, plc_880, plc_440) = rebuilt(false);
        assert_eq!(how, Recovered::Concealed);
        assert!(
            fec_880 > fec_440 && plc_440 > plc_880,
            "FEC 880/440 {fec_880:.3}/{fec_440:.3}, PLC 880/440 {plc_880:.3}/{plc_440:.3}"
        );
    }

    /// Speech, then silence: with DTX the encoder soon makes only DTX frames (≤ 2 bytes)
    /// and a comfort-noise update now and then; the decoder takes them, and the tone comes
    /// back when speech resumes. Without DTX, silence is still a packet every frame.
    #[test]
    fn with_dtx_silence_becomes_dtx_frames_and_speech_comes_back() {
        let run = |dtx: bool| {
            let mut enc = Encoder::new().unwrap();
            enc.set_dtx(dtx);
            let mut dec = Decoder::new().unwrap();
            let mut gen = ToneGenerator::new(440.0, 0.5);
            let (mut pcm, mut out) = ([0i16; FRAME_SAMPLES], [0i16; FRAME_SAMPLES]);
            let mut sizes = Vec::new();
            for i in 0..150 {
                if (50..100).contains(&i) {
                    pcm.fill(0);
                } else {
                    gen.fill(&mut pcm);
                }
                let packet = enc.encode(&pcm).unwrap().to_vec();
                dec.decode(Some(&packet), &mut out).unwrap();
                sizes.push(packet.len());
            }
            let mut det = ToneDetector::new(&[440.0, 880.0]);
            det.push(&out);
            (sizes, det.detected())
        };
        let (sizes, tone_after) = run(true);
        let silent = &sizes[50..100];
        let dtx_frames = silent
            .iter()
            .filter(|n| **n <= crate::media::jitter::MAX_DTX_PAYLOAD)
            .count();
        assert!(dtx_frames >= 25, "{silent:?}");
        assert!(
            sizes[100..].iter().all(|n| *n > 2),
            "speech again: {:?}",
            &sizes[100..]
        );
        assert_eq!(tone_after, Some(440.0));
        let (sizes, _) = run(false);
        assert!(sizes.iter().all(|n| *n > 2), "no DTX: {sizes:?}");
    }

    #[test]
    fn a_skip_cross_fades_from_the_skipped_frame_into_the_next() {
        let from = [1000i16; FRAME_SAMPLES];
        let mut into = [-1000i16; FRAME_SAMPLES];
        splice(&from, &mut into);
        assert!(
            (into[0] - 1000).abs() <= 10,
            "starts where the skipped frame starts"
        );
        assert!(
            into[..SPLICE_SAMPLES].windows(2).all(|w| w[1] <= w[0]),
            "no jump"
        );
        assert!(into[SPLICE_SAMPLES - 1..].iter().all(|s| *s == -1000));
    }

    #[test]
    fn quiet_is_below_minus_40_dbfs() {
        let mut frame = [0i16; FRAME_SAMPLES];
        assert!(is_quiet(&frame));
        frame
            .iter_mut()
            .enumerate()
            .for_each(|(i, s)| *s = if i % 2 == 0 { 300 } else { -300 });
        assert!(is_quiet(&frame), "−40.8 dBFS");
        frame
            .iter_mut()
            .enumerate()
            .for_each(|(i, s)| *s = if i % 2 == 0 { 400 } else { -400 });
        assert!(!is_quiet(&frame), "−38.3 dBFS");
    }

    #[test]
    fn the_expected_loss_rises_at_once_falls_slowly_and_stays_in_bounds() {
        assert_eq!(next_expected_loss(5, 0.0), 5);
        assert_eq!(next_expected_loss(5, 0.2), 20);
        assert_eq!(next_expected_loss(20, 0.0), 16);
        assert_eq!(next_expected_loss(16, 0.0), 12);
        assert_eq!(next_expected_loss(5, 0.9), MAX_EXPECTED_LOSS);
        assert_eq!(next_expected_loss(6, 0.0), 5);
        let mut e = Encoder::new().unwrap();
        e.expect_loss(25);
        assert_eq!(e.inner.get_packet_loss_perc().unwrap(), 25);
    }

    #[test]
    fn garbage_packets_are_errors_not_panics() {
        let mut dec = Decoder::new().unwrap();
        let mut out = [0i16; FRAME_SAMPLES];
        let _ = dec.decode(Some(&[0xff; 3]), &mut out);
        let _ = dec.decode(Some(&[0u8; MAX_PACKET]), &mut out);
    }
}
