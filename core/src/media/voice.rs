//! One remote voice: the receive pipeline of one remote audio stream, from its RTP packets to
//! the 20 ms frames the mixer sums. Each stream a call receives has its own (a room's other
//! members, a publisher that re-published): its own jitter buffer and delay estimator, its
//! own Opus decoder, its own receive statistics (loss, RFC 3550 jitter, bytes, the path's
//! queue) and its own level. Created when its track's first packet arrives; a new offer that
//! no longer carries its stream ends it, after one faded frame (`media::mixer`). `Voices` is
//! the call's set of them, shared by the receive tasks (one per track), the playout clock and
//! the stats clock.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::media::codec::{self, Decoder};
use crate::media::jitter::{JitterBuffer, JitterStats, Playout};
use crate::media::link::{MediaStats, StreamStats};
use crate::media::{Frame, FRAME_MS, FRAME_SAMPLES};

/// What the receive path has seen: loss by sequence number, RFC 3550 jitter, payload bytes,
/// and the queue on the path (for the bitrate).
#[derive(Default)]
pub(crate) struct RxStats {
    received: u64,
    base_seq: Option<u16>,
    highest: u64,
    cycles: u64,
    last_seq: u16,
    bytes: u64,
    jitter: f64,
    last_transit: Option<f64>,
    /// The standing queue on the path from the far end (the bitrate's delay signal).
    queue: crate::media::bitrate::QueueDelay,
}

impl RxStats {
    /// RFC 3550 §6.4.1 interarrival jitter and sequence-based loss accounting.
    fn on_packet(&mut self, seq: u16, rtp_ts: u32, bytes: usize, arrival_ms: f64) {
        self.received += 1;
        self.bytes += bytes as u64;
        match self.base_seq {
            None => {
                self.base_seq = Some(seq);
                self.last_seq = seq;
            }
            Some(_) => {
                if seq < self.last_seq && self.last_seq.wrapping_sub(seq) > 0x8000 {
                    self.cycles += 1 << 16;
                }
                if (seq.wrapping_sub(self.last_seq) as i16) > 0 {
                    self.last_seq = seq;
                }
            }
        }
        let extended = self.cycles + self.last_seq as u64;
        self.highest = self.highest.max(extended);
        let arrival_ts = arrival_ms * 48.0;
        let transit = arrival_ts - rtp_ts as f64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
        self.queue.on_transit(transit / 48.0);
    }

    fn expected(&self) -> u64 {
        self.base_seq
            .map(|b| self.highest.saturating_sub(b as u64) + 1)
            .unwrap_or(0)
    }
}

/// What a voice gave the mixer for one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Not playing (nothing yet, or a stall): it adds nothing.
    Nothing,
    /// A frame of audio (decoded, rebuilt, concealed or comfort noise).
    Audio,
}

pub struct Voice {
    stream_id: String,
    /// Who publishes it (the offer's `streamMetadata`): participant id, alias.
    publisher: (Option<String>, Option<String>),
    jitter: JitterBuffer,
    decoder: Decoder,
    rx: RxStats,
    scratch: Frame,
    level: f32,
    /// Whether it is speaking, from its levels (`media::speech`).
    speech: crate::media::speech::Speech,
    /// Its stream is gone from the latest offer: one faded frame, then it is dropped.
    ending: bool,
    /// Loss figures at the stats clock's last look (for the interval's loss).
    last_counts: (u64, u64),
    /// Where arrival times are measured from.
    epoch: Instant,
}

impl Voice {
    pub fn new(stream_id: impl Into<String>) -> Result<Self, codec::CodecError> {
        Ok(Self {
            stream_id: stream_id.into(),
            publisher: (None, None),
            jitter: JitterBuffer::adaptive(),
            decoder: Decoder::new()?,
            rx: RxStats::default(),
            scratch: [0; FRAME_SAMPLES],
            level: 0.0,
            speech: Default::default(),
            ending: false,
            last_counts: (0, 0),
            epoch: Instant::now(),
        })
    }

    /// An RTP packet of this stream arrived now. Says whether playout was stopped (the
    /// playout clock may be waiting for it).
    pub fn on_packet(&mut self, seq: u16, rtp_timestamp: u32, payload: &[u8]) -> bool {
        self.on_packet_at(
            seq,
            rtp_timestamp,
            payload,
            self.epoch.elapsed().as_secs_f64() * 1e3,
        )
    }

    /// `on_packet` with its arrival time given (ms since the voice began): tests.
    pub fn on_packet_at(
        &mut self,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
        arrival_ms: f64,
    ) -> bool {
        self.rx
            .on_packet(seq, rtp_timestamp, payload.len(), arrival_ms);
        self.jitter
            .push_timed(seq, rtp_timestamp, arrival_ms, payload);
        !self.jitter.is_playing()
    }

    pub fn is_playing(&self) -> bool {
        self.jitter.is_playing()
    }

    /// Marks the voice as gone: its next frame is its last.
    pub fn end(&mut self) {
        self.ending = true;
    }

    /// The next 20 ms: the next packet decoded, a lost one rebuilt or concealed, a skip
    /// spliced, or comfort noise; `Nothing` while not playing.
    pub fn next_frame(&mut self, out: &mut Frame) -> Output {
        let decoded = match self.jitter.pop() {
            Playout::Buffering => false,
            Playout::Packet(p) => self.decoder.decode(Some(p), out).is_ok(),
            // The target delay grew: one more frame of concealment, nothing consumed.
            // In a DTX pause: comfort noise (Opus makes it after a DTX frame).
            Playout::Stretch | Playout::Comfort => self.decoder.decode(None, out).is_ok(),
            Playout::Skip { skipped, packet } => self
                .decoder
                .decode_skipping(skipped, packet, &mut self.scratch, out)
                .is_ok(),
            Playout::Lost { next } => match self.decoder.recover(next, out) {
                Ok(how) => {
                    self.jitter.note_recovery(how);
                    true
                }
                Err(_) => false,
            },
        };
        if !decoded {
            self.level = 0.0;
            self.speech.push(0.0);
            return Output::Nothing;
        }
        self.jitter.note_output(codec::is_quiet(out));
        self.level = crate::media::level(out);
        self.speech.push(self.level);
        Output::Audio
    }

    /// The loss in the interval since the last call (what the stats clock sizes FEC for),
    /// `None` when nothing was expected.
    pub(crate) fn interval_loss(&mut self) -> Option<f64> {
        let (expected, received) = (self.rx.expected(), self.rx.received);
        let (e0, r0) = std::mem::replace(&mut self.last_counts, (expected, received));
        let interval_expected = expected.saturating_sub(e0);
        (interval_expected > 0).then(|| {
            interval_expected.saturating_sub(received.saturating_sub(r0)) as f64
                / interval_expected as f64
        })
    }

    /// The standing queue on the path over the interval (the bitrate's delay signal).
    pub(crate) fn end_queue_interval(&mut self) -> Option<f64> {
        self.rx.queue.end_interval()
    }

    pub fn stats(&self) -> StreamStats {
        let played: JitterStats = self.jitter.stats();
        let expected = self.rx.expected();
        let lost = expected.saturating_sub(self.rx.received);
        StreamStats {
            stream_id: self.stream_id.clone(),
            participant_id: self.publisher.0.clone(),
            alias: self.publisher.1.clone(),
            packets_received: self.rx.received,
            packets_lost: lost,
            packet_loss: if expected > 0 {
                lost as f32 / expected as f32
            } else {
                0.0
            },
            jitter_ms: self.rx.jitter / 48.0,
            bytes_received: self.rx.bytes,
            concealed_samples: played.concealed * FRAME_SAMPLES as u64,
            fec_recovered_samples: played.fec_recovered * FRAME_SAMPLES as u64,
            jitter_buffer_target_ms: (self.jitter.target() * FRAME_MS as usize) as u32,
            inserted_samples_for_deceleration: played.stretched * FRAME_SAMPLES as u64,
            removed_samples_for_acceleration: played.skipped * FRAME_SAMPLES as u64,
            audio_level: self.level,
            speaking: self.speech.is_speaking(),
        }
    }
}

/// The counters of voices that ended, kept so the call's totals never go down.
#[derive(Debug, Default, Clone, Copy)]
struct Retired {
    packets_received: u64,
    packets_lost: u64,
    bytes_received: u64,
    concealed_samples: u64,
    fec_recovered_samples: u64,
    inserted: u64,
    removed: u64,
}

/// A call's remote voices. The playout clock locks the set, then each voice; a receive task
/// locks only its own voice.
#[derive(Default)]
pub struct Voices {
    list: Mutex<Vec<Arc<Mutex<Voice>>>>,
    retired: Mutex<Retired>,
}

impl Voices {
    /// A new voice for `stream_id`. A voice already there for the same stream (its publisher
    /// re-published it) ends: two pipelines never share a stream.
    pub fn add(&self, stream_id: &str) -> Result<Arc<Mutex<Voice>>, codec::CodecError> {
        let voice = Arc::new(Mutex::new(Voice::new(stream_id)?));
        let mut list = crate::sync::lock(&self.list);
        for v in list.iter() {
            let mut v = crate::sync::lock(v);
            if v.stream_id == stream_id {
                v.end();
            }
        }
        list.push(voice.clone());
        Ok(voice)
    }

    /// Ends every voice whose stream is not in `live` (the streams the latest offer sends).
    /// Returns the stream ids ended.
    pub fn keep_only(&self, live: &[String]) -> Vec<String> {
        let list = crate::sync::lock(&self.list);
        let mut ended = Vec::new();
        for v in list.iter() {
            let mut v = crate::sync::lock(v);
            if !v.ending && !live.iter().any(|s| *s == v.stream_id) {
                v.end();
                ended.push(v.stream_id.clone());
            }
        }
        ended
    }

    /// Names each voice's publisher from an offer's `streamMetadata` (stream id →
    /// participant id, alias); voices it does not list keep what they had.
    pub fn name_publishers(&self, publishers: &[(String, String, Option<String>)]) {
        for v in crate::sync::lock(&self.list).iter() {
            let mut v = crate::sync::lock(v);
            if let Some((_, participant, alias)) = publishers
                .iter()
                .find(|(stream, ..)| *stream == v.stream_id)
            {
                v.publisher = (Some(participant.clone()), alias.clone());
            }
        }
    }

    /// The streams being played (ending ones excluded).
    #[cfg(test)]
    pub fn stream_ids(&self) -> Vec<String> {
        crate::sync::lock(&self.list)
            .iter()
            .filter_map(|v| {
                let v = crate::sync::lock(v);
                (!v.ending).then(|| v.stream_id.clone())
            })
            .collect()
    }

    /// Whether any voice is playing (the playout clock's tick is theirs to keep).
    pub fn any_playing(&self) -> bool {
        crate::sync::lock(&self.list)
            .iter()
            .any(|v| crate::sync::lock(v).is_playing())
    }

    /// One tick: each voice's next frame into `mixer` (an ending voice faded, then dropped).
    /// `frame` is scratch room. Allocates nothing.
    pub fn mix_into(&self, mixer: &mut crate::media::mixer::Mixer, frame: &mut Frame) {
        mixer.start();
        let mut list = crate::sync::lock(&self.list);
        let mut retired = None;
        list.retain(|v| {
            let mut v = crate::sync::lock(v);
            let audio = v.next_frame(frame) == Output::Audio;
            if v.ending {
                if audio {
                    mixer.add_fading_out(frame);
                }
                let s = v.stats();
                let r = retired.get_or_insert_with(|| *crate::sync::lock(&self.retired));
                r.packets_received += s.packets_received;
                r.packets_lost += s.packets_lost;
                r.bytes_received += s.bytes_received;
                r.concealed_samples += s.concealed_samples;
                r.fec_recovered_samples += s.fec_recovered_samples;
                r.inserted += s.inserted_samples_for_deceleration;
                r.removed += s.removed_samples_for_acceleration;
                false
            } else {
                if audio {
                    mixer.add(frame);
                }
                true
            }
        });
        drop(list);
        if let Some(r) = retired {
            *crate::sync::lock(&self.retired) = r;
        }
    }

    /// The loss to size the encoder's FEC for from what we receive (the worst voice's loss in
    /// the interval), and the worst standing queue on the paths to us.
    pub(crate) fn end_interval(&self) -> (Option<f64>, Option<f64>) {
        let list = crate::sync::lock(&self.list);
        let (mut loss, mut queue): (Option<f64>, Option<f64>) = (None, None);
        for v in list.iter() {
            let mut v = crate::sync::lock(v);
            if let Some(l) = v.interval_loss() {
                loss = Some(loss.map_or(l, |x| x.max(l)));
            }
            if let Some(q) = v.end_queue_interval() {
                queue = Some(queue.map_or(q, |x| x.max(q)));
            }
        }
        (loss, queue)
    }

    /// The call's receive figures over its voices, into `stats`: sums (ended voices
    /// included, so no total ever goes down), the worst jitter and target, and each live
    /// stream. The send side's figures are the stats clock's.
    /// Each live stream's publisher, level and speaking (cheap: no statistics).
    pub fn levels(&self) -> Vec<crate::media::link::StreamLevel> {
        crate::sync::lock(&self.list)
            .iter()
            .map(|v| {
                let v = crate::sync::lock(v);
                crate::media::link::StreamLevel {
                    participant_id: v.publisher.0.clone(),
                    level: v.level,
                    speaking: v.speech.is_speaking(),
                }
            })
            .collect()
    }

    pub fn receive_stats(&self, stats: &mut MediaStats) {
        let streams: Vec<StreamStats> = crate::sync::lock(&self.list)
            .iter()
            .map(|v| crate::sync::lock(v).stats())
            .collect();
        let r = *crate::sync::lock(&self.retired);
        stats.packets_received = r.packets_received;
        stats.packets_lost = r.packets_lost;
        stats.bytes_received = r.bytes_received;
        stats.concealed_samples = r.concealed_samples;
        stats.fec_recovered_samples = r.fec_recovered_samples;
        stats.inserted_samples_for_deceleration = r.inserted;
        stats.removed_samples_for_acceleration = r.removed;
        stats.jitter_ms = 0.0;
        stats.jitter_buffer_target_ms = 0;
        for s in &streams {
            stats.packets_received += s.packets_received;
            stats.packets_lost += s.packets_lost;
            stats.bytes_received += s.bytes_received;
            stats.concealed_samples += s.concealed_samples;
            stats.fec_recovered_samples += s.fec_recovered_samples;
            stats.inserted_samples_for_deceleration += s.inserted_samples_for_deceleration;
            stats.removed_samples_for_acceleration += s.removed_samples_for_acceleration;
            stats.jitter_ms = stats.jitter_ms.max(s.jitter_ms);
            stats.jitter_buffer_target_ms =
                stats.jitter_buffer_target_ms.max(s.jitter_buffer_target_ms);
        }
        let expected = stats.packets_received + stats.packets_lost;
        stats.packet_loss = if expected > 0 {
            stats.packets_lost as f32 / expected as f32
        } else {
            0.0
        };
        stats.streams = streams;
    }

    /// `receive_stats` on their own.
    #[cfg(test)]
    fn totals(&self) -> MediaStats {
        let mut stats = MediaStats::default();
        self.receive_stats(&mut stats);
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::Encoder;
    use crate::media::mixer::Mixer;
    use crate::media::tone::{relative_power, ToneGenerator};
    use crate::media::FRAME_TIMESTAMP_STEP;

    #[test]
    fn rx_stats_count_loss_and_wraps() {
        let mut s = RxStats::default();
        for seq in [65533u16, 65534, 0, 1, 3] {
            s.on_packet(seq, seq as u32 * 960, 3, 0.0);
        }
        // 65533..=3 is 7 packets (65535 and 2 lost).
        assert_eq!(s.expected(), 7);
        assert_eq!(s.received, 5);
    }

    /// A sender of one tone: Opus packets with their sequence numbers and timestamps.
    struct Sender {
        enc: Encoder,
        tone: ToneGenerator,
        seq: u16,
        ts: u32,
    }

    impl Sender {
        fn new(freq: f32, seq: u16) -> Self {
            Self {
                enc: Encoder::new().unwrap(),
                tone: ToneGenerator::new(freq, 0.3),
                seq,
                ts: seq as u32 * 7,
            }
        }

        fn next(&mut self) -> (u16, u32, Vec<u8>) {
            let mut pcm = [0; FRAME_SAMPLES];
            self.tone.fill(&mut pcm);
            let payload = self.enc.encode(&pcm).unwrap().to_vec();
            let out = (self.seq, self.ts, payload);
            self.seq = self.seq.wrapping_add(1);
            self.ts = self.ts.wrapping_add(FRAME_TIMESTAMP_STEP);
            out
        }
    }

    /// Two streams with their own sequence numbers and timestamps, in one call: each is
    /// buffered and decoded on its own and both are heard in the mix. With one shared
    /// buffer (the old design) their packets interleave, and one stream's sequence numbers
    /// read as the other's losses.
    #[test]
    fn two_streams_are_decoded_apart_and_both_heard_in_the_mix() {
        let voices = Voices::default();
        let a = voices.add("a").unwrap();
        let b = voices.add("b").unwrap();
        let (mut sa, mut sb) = (Sender::new(440.0, 100), Sender::new(880.0, 40_000));
        let mut mixer = Mixer::default();
        let (mut scratch, mut out) = ([0; FRAME_SAMPLES], [0; FRAME_SAMPLES]);
        for i in 0..60 {
            let at = i as f64 * 20.0;
            let (seq, ts, p) = sa.next();
            crate::sync::lock(&a).on_packet_at(seq, ts, &p, at);
            let (seq, ts, p) = sb.next();
            crate::sync::lock(&b).on_packet_at(seq, ts, &p, at + 3.0);
            voices.mix_into(&mut mixer, &mut scratch);
            mixer.finish(&mut out);
        }
        let (p440, p880) = (relative_power(&out, 440.0), relative_power(&out, 880.0));
        assert!(
            p440 > 0.15 && p880 > 0.15,
            "both tones in the mix: {p440} {p880}"
        );
        let t = voices.totals();
        assert_eq!(t.streams.len(), 2);
        for s in &t.streams {
            assert_eq!(s.packets_received, 60, "{s:?}");
            assert_eq!(s.packets_lost, 0, "{s:?}");
            assert_eq!(s.concealed_samples, 0, "{s:?}");
            assert!(s.audio_level > 0.1, "{s:?}");
        }
        assert_eq!(t.packets_received, 120);
    }

    /// A stream the latest offer no longer carries ends after one faded frame; the other
    /// plays on, and the call's totals keep what the ended one received.
    #[test]
    fn a_removed_stream_fades_out_and_the_other_plays_on() {
        let voices = Voices::default();
        let a = voices.add("a").unwrap();
        let b = voices.add("b").unwrap();
        let (mut sa, mut sb) = (Sender::new(440.0, 1), Sender::new(880.0, 9));
        let mut mixer = Mixer::default();
        let (mut scratch, mut out) = ([0; FRAME_SAMPLES], [0; FRAME_SAMPLES]);
        let mut at = 0.0;
        let mut feed = |n: usize, with_b: bool, out: &mut Frame| {
            for _ in 0..n {
                at += 20.0;
                let (seq, ts, p) = sa.next();
                crate::sync::lock(&a).on_packet_at(seq, ts, &p, at);
                if with_b {
                    let (seq, ts, p) = sb.next();
                    crate::sync::lock(&b).on_packet_at(seq, ts, &p, at);
                }
                voices.mix_into(&mut mixer, &mut scratch);
                mixer.finish(out);
            }
        };
        feed(20, true, &mut out);
        assert_eq!(voices.keep_only(&["a".to_string()]), ["b"]);
        assert_eq!(voices.stream_ids(), ["a"]);
        // The tick that ends b: its last frame fades to nothing.
        feed(1, false, &mut out);
        assert_eq!(voices.totals().streams.len(), 1);
        feed(10, false, &mut out);
        assert!(relative_power(&out, 440.0) > 0.4);
        assert!(relative_power(&out, 880.0) < 0.01);
        let t = voices.totals();
        assert_eq!(t.packets_received, 31 + 20, "b's packets still count");
        // Adding a stream that is already there replaces it.
        voices.add("a").unwrap();
        assert_eq!(voices.stream_ids(), ["a"]);
    }
}
