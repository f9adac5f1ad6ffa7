//! The receive-side jitter buffer: RTP packets arrive out of order and unevenly; the
//! playout clock takes one 20 ms frame at a time in sequence order. Slots are allocated
//! once (fixed capacity, payload buffers reused), so steady-state operation allocates nothing.
//! Its target delay adapts (`delay_estimator`): when it grows, playout holds back a frame
//! (a concealed one is played, nothing consumed) per frame of growth; when it shrinks, one
//! packet is skipped per frame, at most one per pop, and only while more than the target is
//! buffered: preferably just after a quiet frame (a pause in speech), and always spliced into
//! the next one with a cross-fade (`Playout::Skip`), so a change of delay is not heard as a
//! click. Running dry mid-call is concealed for up to `MAX_DRY_FRAMES` (a loss burst);
//! past that, playout stops until the next packet. Playout starts (and restarts) with the
//! first packet that comes and builds the target delay behind it, a concealed frame at a
//! time, so a call is heard as soon as its first packet is here.
//!
//! Discontinuous transmission (Opus DTX, RFC 7587 §3.1.3): a sender that hears silence sends
//! one packet of at most 2 bytes and then nothing (or a comfort-noise update now and then)
//! until speech resumes. Sequence numbers stay contiguous but RTP timestamps jump, so the
//! buffer follows each packet's timestamp against its own playout timeline: after a DTX
//! packet, the time until the next packet is due is comfort noise (`Playout::Comfort`), not
//! loss, and delay changes are made there, where nobody can hear them.

use super::codec::MAX_PACKET;

/// One second of 20 ms frames.
pub const CAPACITY: usize = 50;
/// A buffer that runs dry mid-call keeps its timeline and conceals for this many frames
/// (200 ms: a loss burst, or a late batch of packets), so the packets after the gap play at
/// their own time and the gap is heard as concealment. A longer silence is a stall or a
/// pause: playout stops until the next packet comes.
pub const MAX_DRY_FRAMES: usize = 10;
/// A shrink waits this many frames (500 ms) for a quiet frame to follow before it splices
/// in the middle of speech anyway.
pub const SKIP_PATIENCE: u32 = 25;
/// 20 ms of 48 kHz in RTP timestamp units.
const FRAME_TS: u32 = 960;
/// A payload this short is a DTX frame (as libwebrtc tells them: `IsDtxPacket`).
pub const MAX_DTX_PAYLOAD: usize = 2;

/// What the playout clock gets for the next 20 ms.
#[derive(Debug, PartialEq)]
pub enum Playout<'a> {
    /// Not playing (nothing has come, or a stall stopped playout): play silence.
    Buffering,
    /// The next packet in sequence.
    Packet(&'a [u8]),
    /// The next packet is missing: rebuild it from `next` (the packet after it, if it is
    /// already here: its in-band FEC), or conceal it.
    Lost { next: Option<&'a [u8]> },
    /// The target delay grew: play a concealed frame and consume nothing.
    Stretch,
    /// The target delay shrank: `skipped` is left out. Decode it (the decoder's state must
    /// follow the stream) and cross-fade from it into `packet`, which plays.
    Skip { skipped: &'a [u8], packet: &'a [u8] },
    /// The far end is in a DTX pause: comfort noise (the decoder, told the frame is missing
    /// after a DTX frame, makes it). Not a loss.
    Comfort,
}

struct Slot {
    seq: u16,
    ts: u32,
    len: usize,
    filled: bool,
    data: Box<[u8; MAX_PACKET]>,
}

pub struct JitterBuffer {
    slots: Vec<Slot>,
    /// Sequence number the playout clock takes next, once started.
    next: Option<u16>,
    target_delay: usize,
    started: bool,
    stats: JitterStats,
    estimator: Option<super::delay_estimator::DelayEstimator>,
    /// Frames still to hold back (the target grew) or to skip (it shrank).
    to_stretch: usize,
    to_skip: usize,
    /// Frames concealed in a row since the buffer ran dry.
    dry: usize,
    /// The RTP timestamp the playout clock plays next (once a packet has played).
    play_ts: Option<u32>,
    /// The last packet played was a DTX frame: the far end is silent until the next one.
    in_dtx: bool,
    /// The playout clock's last frame was quiet (`note_output`): a good place to skip.
    quiet: bool,
    /// Pops since a shrink started waiting for a good place.
    skip_wait: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct JitterStats {
    pub received: u64,
    pub late: u64,
    pub duplicate: u64,
    pub lost: u64,
    pub played: u64,
    /// Lost frames rebuilt from the next packet's FEC, and those concealed instead.
    pub fec_recovered: u64,
    pub concealed: u64,
    /// Frames played to grow the delay, and packets skipped to shrink it.
    pub stretched: u64,
    pub skipped: u64,
    /// Frames of comfort noise played in the far end's DTX pauses.
    pub comfort: u64,
}

impl JitterBuffer {
    /// A buffer that aims to hold `target_delay` frames (2 = 40 ms).
    pub fn new(target_delay: usize) -> Self {
        let slots = (0..CAPACITY)
            .map(|_| Slot {
                seq: 0,
                ts: 0,
                len: 0,
                filled: false,
                data: Box::new([0; MAX_PACKET]),
            })
            .collect();
        Self {
            slots,
            next: None,
            target_delay: target_delay.clamp(1, CAPACITY - 1),
            started: false,
            stats: JitterStats::default(),
            estimator: None,
            to_stretch: 0,
            to_skip: 0,
            dry: 0,
            play_ts: None,
            in_dtx: false,
            quiet: false,
            skip_wait: 0,
        }
    }

    /// A buffer whose target follows the arrival jitter (from `MIN_TARGET` frames up).
    pub fn adaptive() -> Self {
        let mut jb = Self::new(super::delay_estimator::MIN_TARGET);
        jb.estimator = Some(Default::default());
        jb
    }

    /// Whether playout has started (and not stopped after a stall).
    pub fn is_playing(&self) -> bool {
        self.started
    }

    /// The target delay, in frames.
    pub fn target(&self) -> usize {
        self.target_delay
    }

    /// `push`, with when it arrived (ms, any fixed origin) and its RTP timestamp: an adaptive
    /// buffer moves its target.
    pub fn push_timed(&mut self, seq: u16, rtp_timestamp: u32, arrival_ms: f64, payload: &[u8]) {
        if let Some(e) = self.estimator.as_mut() {
            let target = e.on_packet(arrival_ms, rtp_timestamp);
            self.set_target(target);
        }
        self.push_at(seq, rtp_timestamp, payload);
    }

    fn set_target(&mut self, target: usize) {
        let target = target.clamp(1, CAPACITY - 1);
        if self.started {
            if target > self.target_delay {
                let grow = target - self.target_delay;
                let undo = grow.min(self.to_skip);
                self.to_skip -= undo;
                self.to_stretch += grow - undo;
            } else {
                let shrink = self.target_delay - target;
                let undo = shrink.min(self.to_stretch);
                self.to_stretch -= undo;
                self.to_skip += shrink - undo;
            }
        }
        self.target_delay = target;
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    fn buffered(&self) -> usize {
        self.slots.iter().filter(|s| s.filled).count()
    }

    /// A packet whose timestamp follows from its sequence number (20 ms each): for tests of
    /// the sequence logic.
    #[cfg(test)]
    pub fn push(&mut self, seq: u16, payload: &[u8]) {
        self.push_at(seq, seq as u32 * FRAME_TS, payload);
    }

    pub fn push_at(&mut self, seq: u16, ts: u32, payload: &[u8]) {
        if payload.is_empty() || payload.len() > MAX_PACKET {
            return;
        }
        self.stats.received += 1;
        let next = *self.next.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next) as i16;
        if ahead < 0 {
            if !self.started && (-ahead as usize) < CAPACITY {
                // Before playout starts, an earlier packet simply moves the start back.
                self.next = Some(seq);
            } else {
                self.stats.late += 1;
                return;
            }
        } else if ahead as usize >= CAPACITY {
            // Far ahead of the playout point (a long gap or a sender restart): resynchronise.
            self.slots.iter_mut().for_each(|s| s.filled = false);
            self.next = Some(seq);
        }
        let slot = &mut self.slots[seq as usize % CAPACITY];
        if slot.filled && slot.seq == seq {
            self.stats.duplicate += 1;
            return;
        }
        slot.seq = seq;
        slot.ts = ts;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        slot.filled = true;
    }

    /// Called once per 20 ms by the playout clock.
    pub fn pop(&mut self) -> Playout<'_> {
        let starting = !self.started;
        if starting {
            // Play the first packet at once and build the target delay behind it, a
            // concealed frame at a time: the call is heard a frame or two sooner, and after a
            // DTX pause or a refill (packets 400 ms apart) nothing waits for a count of them.
            let buffered = self.buffered();
            if buffered == 0 {
                return Playout::Buffering;
            }
            self.started = true;
            self.to_stretch = self.target_delay.saturating_sub(buffered);
            self.to_skip = 0;
        }
        let Some(next) = self.next else {
            return Playout::Buffering;
        };
        if self.in_dtx {
            if let Some(pause) = self.pause_left(next) {
                return self.comfort(pause);
            }
        }
        if self.to_stretch > 0 && !starting {
            // Holding back: nothing is consumed, so an empty buffer is no loss.
            self.to_stretch -= 1;
            self.stats.stretched += 1;
            return Playout::Stretch;
        }
        if self.buffered() == 0 {
            if self.dry < MAX_DRY_FRAMES {
                // A burst of loss: conceal the missing frame and keep the timeline.
                self.dry += 1;
                self.next = Some(next.wrapping_add(1));
                self.advance(1);
                self.stats.lost += 1;
                return Playout::Lost { next: None };
            }
            // Dry for longer: the sender paused or the network stalled. Stop until the next
            // packet comes.
            self.started = false;
            self.next = None;
            self.play_ts = None;
            self.in_dtx = false;
            self.to_stretch = 0;
            self.to_skip = 0;
            self.dry = 0;
            return Playout::Buffering;
        }
        self.dry = 0;
        if self.to_skip > 0 && self.buffered() > self.target_delay {
            let after = next.wrapping_add(1);
            let good_place = self.quiet || self.skip_wait >= SKIP_PATIENCE;
            if good_place && self.holds(next) && self.holds(after) {
                self.to_skip -= 1;
                self.skip_wait = 0;
                self.stats.skipped += 1;
                self.next = Some(after.wrapping_add(1));
                let a = next as usize % CAPACITY;
                self.slots[a].filled = false;
                let b = self.play(after);
                let (skipped, packet) = (&self.slots[a], &self.slots[b]);
                return Playout::Skip {
                    skipped: &skipped.data[..skipped.len],
                    packet: &packet.data[..packet.len],
                };
            }
            self.skip_wait += 1;
        }
        self.next = Some(next.wrapping_add(1));
        if self.holds(next) {
            let idx = self.play(next);
            let slot = &self.slots[idx];
            Playout::Packet(&slot.data[..slot.len])
        } else {
            self.stats.lost += 1;
            self.advance(1);
            self.in_dtx = false;
            let after = next.wrapping_add(1);
            let slot = &self.slots[after as usize % CAPACITY];
            Playout::Lost {
                next: self.holds(after).then(|| &slot.data[..slot.len]),
            }
        }
    }

    /// Takes the packet `seq` (which is here) out to play: the timeline moves to the frame
    /// after it, and a DTX frame starts a pause. Returns its slot.
    fn play(&mut self, seq: u16) -> usize {
        let idx = seq as usize % CAPACITY;
        let slot = &mut self.slots[idx];
        slot.filled = false;
        self.play_ts = Some(slot.ts.wrapping_add(FRAME_TS));
        self.in_dtx = slot.len <= MAX_DTX_PAYLOAD;
        self.stats.played += 1;
        idx
    }

    /// Whether the packet `seq` is here.
    fn holds(&self, seq: u16) -> bool {
        let slot = &self.slots[seq as usize % CAPACITY];
        slot.filled && slot.seq == seq
    }

    /// Moves the playout timeline on by `frames`.
    fn advance(&mut self, frames: u32) {
        if let Some(ts) = self.play_ts.as_mut() {
            *ts = ts.wrapping_add(frames * FRAME_TS);
        }
    }

    /// In a DTX pause: how many frames until the packet `next` is due (`u32::MAX` when
    /// nothing is here yet), or `None` when it is due now and plays. Its time is read from
    /// the earliest packet here, counted back by sequence (the first packet of a talk spurt
    /// may be the one lost).
    fn pause_left(&self, next: u16) -> Option<u32> {
        let play_ts = self.play_ts?;
        let earliest = self
            .slots
            .iter()
            .filter(|s| s.filled)
            .min_by_key(|s| s.seq.wrapping_sub(next));
        let Some(slot) = earliest else {
            return Some(u32::MAX);
        };
        let due_ts = slot
            .ts
            .wrapping_sub(u32::from(slot.seq.wrapping_sub(next)) * FRAME_TS);
        let ahead = due_ts.wrapping_sub(play_ts) as i32;
        (ahead > 0).then(|| (ahead as u32).div_ceil(FRAME_TS))
    }

    /// A frame of comfort noise in a DTX pause; delay changes are made here, unheard: a
    /// frame more of pause to grow, a frame less to shrink.
    fn comfort(&mut self, pause_left: u32) -> Playout<'static> {
        self.stats.comfort += 1;
        if self.to_stretch > 0 {
            self.to_stretch -= 1;
            self.stats.stretched += 1;
        } else if self.to_skip > 0 && pause_left >= 2 {
            self.to_skip -= 1;
            self.stats.skipped += 1;
            self.advance(2);
        } else {
            self.advance(1);
        }
        Playout::Comfort
    }

    /// The playout clock says whether the frame it just played was quiet (a pause in
    /// speech): a shrink of the delay prefers to skip the frame after such a one.
    pub fn note_output(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// The playout clock says how it rebuilt the last lost frame.
    pub fn note_recovery(&mut self, how: super::codec::Recovered) {
        match how {
            super::codec::Recovered::Fec => self.stats.fec_recovered += 1,
            super::codec::Recovered::Concealed => self.stats.concealed += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(jb: &mut JitterBuffer) -> Option<u8> {
        match jb.pop() {
            Playout::Packet(p) | Playout::Skip { packet: p, .. } => Some(p[0]),
            Playout::Lost { .. } | Playout::Stretch | Playout::Comfort => Some(0),
            Playout::Buffering => None,
        }
    }

    #[test]
    fn reorders_before_and_after_playout_starts() {
        let mut jb = JitterBuffer::new(2);
        assert_eq!(take(&mut jb), None);
        jb.push(11, &[11, 0, 0]);
        jb.push(10, &[10, 0, 0]);
        assert_eq!(take(&mut jb), Some(10), "the earlier one first");
        jb.push(13, &[13, 0, 0]);
        jb.push(12, &[12, 0, 0]);
        assert_eq!(
            [take(&mut jb), take(&mut jb), take(&mut jb)],
            [Some(11), Some(12), Some(13)]
        );
    }

    #[test]
    fn gaps_are_lost_late_and_duplicates_are_dropped() {
        let mut jb = JitterBuffer::new(1);
        jb.push(1, &[1, 0, 0]);
        jb.push(3, &[3, 0, 0]);
        jb.push(3, &[3, 0, 0]);
        assert_eq!(take(&mut jb), Some(1));
        // 2 is missing, and 3 (whose FEC can rebuild it) is already here.
        assert_eq!(
            jb.pop(),
            Playout::Lost {
                next: Some(&[3, 0, 0][..])
            }
        );
        jb.push(2, &[2, 0, 0]);
        assert_eq!(take(&mut jb), Some(3));
        let s = jb.stats();
        assert_eq!((s.lost, s.late, s.duplicate, s.played), (1, 1, 1, 2));
    }

    #[test]
    fn a_lost_frame_comes_with_the_next_packet_only_when_it_is_here() {
        let mut jb = JitterBuffer::new(1);
        jb.push(1, &[1, 0, 0]);
        jb.push(4, &[4, 0, 0]);
        assert_eq!(take(&mut jb), Some(1));
        assert_eq!(jb.pop(), Playout::Lost { next: None }, "2 lost, 3 not here");
        assert_eq!(
            jb.pop(),
            Playout::Lost {
                next: Some(&[4, 0, 0][..])
            },
            "3 lost, 4 here"
        );
        assert_eq!(take(&mut jb), Some(4));
        jb.note_recovery(crate::media::codec::Recovered::Concealed);
        jb.note_recovery(crate::media::codec::Recovered::Fec);
        let s = jb.stats();
        assert_eq!((s.lost, s.concealed, s.fec_recovered), (2, 1, 1));
    }

    #[test]
    fn a_growing_target_holds_frames_back_and_a_shrinking_one_skips_packets() {
        let mut jb = JitterBuffer::new(2);
        for seq in 0..4u16 {
            jb.push(seq, &[seq as u8, 0, 0]);
        }
        assert_eq!(take(&mut jb), Some(0));
        // Grows by two frames: two concealed frames, nothing consumed, then on in order.
        jb.set_target(4);
        assert_eq!(jb.pop(), Playout::Stretch);
        assert_eq!(jb.pop(), Playout::Stretch);
        assert_eq!(take(&mut jb), Some(1));
        for seq in 4..10u16 {
            jb.push(seq, &[seq as u8, 0, 0]);
        }
        // Shrinks by two: one packet skipped per pop while more than the target is held,
        // just after a quiet frame, spliced into the next.
        jb.set_target(2);
        jb.note_output(true);
        assert_eq!(
            jb.pop(),
            Playout::Skip {
                skipped: &[2, 0, 0],
                packet: &[3, 0, 0]
            }
        );
        assert_eq!(take(&mut jb), Some(5), "4 skipped");
        assert_eq!(take(&mut jb), Some(6));
        let s = jb.stats();
        assert_eq!((s.stretched, s.skipped, s.lost), (2, 2, 0));
    }

    #[test]
    fn a_shrink_waits_for_a_quiet_frame_but_not_for_ever() {
        let mut jb = JitterBuffer::new(1);
        for seq in 0..40u16 {
            jb.push(seq, &[seq as u8, 0, 0]);
        }
        jb.set_target(1);
        assert_eq!(take(&mut jb), Some(0));
        jb.to_skip = 1;
        jb.note_output(false);
        // Speech: nothing is skipped for SKIP_PATIENCE frames, then one is.
        let played: Vec<_> = (0..SKIP_PATIENCE as usize + 1)
            .filter_map(|_| take(&mut jb))
            .collect();
        let expected: Vec<u8> = (1..=SKIP_PATIENCE as u8)
            .chain([SKIP_PATIENCE as u8 + 2])
            .collect();
        assert_eq!(played, expected);
        assert_eq!(jb.stats().skipped, 1);
    }

    #[test]
    fn an_adaptive_buffer_follows_the_arrival_jitter() {
        let mut jb = JitterBuffer::adaptive();
        assert_eq!(jb.target(), crate::media::delay_estimator::MIN_TARGET);
        for i in 0..60u16 {
            let late = if i % 3 == 0 { 70.0 } else { 0.0 };
            jb.push_timed(i, i as u32 * 960, 20.0 * i as f64 + late, &[1, 0, 0]);
        }
        assert_eq!(jb.target(), 5, "ceil(70 / 20) + 1");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut jb = JitterBuffer::new(1);
        for seq in [65534u16, 65535, 0, 1] {
            jb.push(seq, &[seq as u8, 0, 0]);
        }
        let got: Vec<_> = (0..4).filter_map(|_| take(&mut jb)).collect();
        assert_eq!(got, [254, 255, 0, 1]);
    }

    #[test]
    fn a_jump_far_ahead_resynchronises() {
        let mut jb = JitterBuffer::new(1);
        jb.push(5, &[5, 0, 0]);
        assert_eq!(take(&mut jb), Some(5));
        jb.push(5000, &[9, 0, 0]);
        assert_eq!(take(&mut jb), Some(9));
    }

    #[test]
    fn a_burst_that_empties_the_buffer_is_concealed_and_the_timeline_kept() {
        let mut jb = JitterBuffer::new(2);
        jb.push(1, &[1, 0, 0]);
        jb.push(2, &[2, 0, 0]);
        assert_eq!(take(&mut jb), Some(1));
        assert_eq!(take(&mut jb), Some(2));
        // Packets 3–6 lost in a burst: the buffer is empty; each pop conceals one of them.
        for _ in 3..=6 {
            assert_eq!(jb.pop(), Playout::Lost { next: None });
        }
        // 7 arrives after the burst and plays at once, in its own place.
        jb.push(7, &[7, 0, 0]);
        assert_eq!(take(&mut jb), Some(7));
        assert_eq!(jb.stats().lost, 4);
        // Silent for longer than a burst (a stall): playout stops, then refills.
        for _ in 0..MAX_DRY_FRAMES {
            assert!(matches!(jb.pop(), Playout::Lost { .. }));
        }
        assert_eq!(jb.pop(), Playout::Buffering);
        assert_eq!(jb.pop(), Playout::Buffering, "stopped until a packet comes");
        jb.push(40, &[40, 0, 0]);
        jb.push(41, &[41, 0, 0]);
        assert_eq!(take(&mut jb), Some(40), "at once");
        assert_eq!(take(&mut jb), Some(41), "two were here: the target is met");
    }

    /// Packets of a talk spurt: (seq, timestamp in frames, payload).
    fn push_frames(jb: &mut JitterBuffer, packets: &[(u16, u32, &[u8])]) {
        for &(seq, frame, payload) in packets {
            jb.push_at(seq, frame * FRAME_TS, payload);
        }
    }

    #[test]
    fn a_dtx_pause_is_comfort_noise_until_the_next_packet_is_due() {
        let mut jb = JitterBuffer::new(1);
        // 0 and 1 speech, 2 a DTX frame, then nothing until 3 (sequence contiguous) ten
        // frames later; it is already here (it arrived early).
        push_frames(
            &mut jb,
            &[
                (0, 0, &[0, 0, 0]),
                (1, 1, &[1, 0, 0]),
                (2, 2, &[8]),
                (3, 12, &[3, 0, 0]),
            ],
        );
        assert_eq!([take(&mut jb), take(&mut jb)], [Some(0), Some(1)]);
        assert_eq!(jb.pop(), Playout::Packet(&[8]));
        for frame in 3..12 {
            assert_eq!(jb.pop(), Playout::Comfort, "frame {frame}");
        }
        assert_eq!(take(&mut jb), Some(3));
        let s = jb.stats();
        assert_eq!((s.lost, s.comfort, s.played), (0, 9, 4));
    }

    #[test]
    fn a_long_dtx_pause_never_runs_dry_and_speech_resumes_on_time() {
        let mut jb = JitterBuffer::new(1);
        push_frames(&mut jb, &[(0, 0, &[0, 0, 0]), (1, 1, &[1])]);
        take(&mut jb);
        take(&mut jb);
        for _ in 0..3 * MAX_DRY_FRAMES {
            assert_eq!(jb.pop(), Playout::Comfort);
        }
        // The next talk spurt, due 2 frames from now.
        let now = 2 + 3 * MAX_DRY_FRAMES as u32;
        push_frames(
            &mut jb,
            &[(2, now + 2, &[2, 0, 0]), (3, now + 3, &[3, 0, 0])],
        );
        assert_eq!(jb.pop(), Playout::Comfort);
        assert_eq!(jb.pop(), Playout::Comfort);
        assert_eq!([take(&mut jb), take(&mut jb)], [Some(2), Some(3)]);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn delay_changes_in_a_dtx_pause_lengthen_or_shorten_the_pause() {
        let pause_frames = |change: fn(&mut JitterBuffer)| {
            let mut jb = JitterBuffer::new(2);
            push_frames(
                &mut jb,
                &[(0, 0, &[0, 0, 0]), (1, 1, &[1]), (2, 11, &[2, 0, 0])],
            );
            take(&mut jb);
            take(&mut jb);
            change(&mut jb);
            let mut n = 0;
            while jb.pop() == Playout::Comfort {
                n += 1;
            }
            (n, jb.stats())
        };
        let (normal, _) = pause_frames(|_| {});
        assert_eq!(normal, 9);
        let (longer, s) = pause_frames(|jb| jb.set_target(4));
        assert_eq!((longer, s.stretched), (11, 2));
        let (shorter, s) = pause_frames(|jb| jb.set_target(1));
        assert_eq!((shorter, s.skipped), (8, 1));
    }

    #[test]
    fn the_first_packet_of_a_talk_spurt_lost_is_rebuilt_in_its_own_place() {
        let mut jb = JitterBuffer::new(1);
        // 1 (due at frame 9) is lost; 2 comes at frame 10.
        push_frames(&mut jb, &[(0, 0, &[0])]);
        assert_eq!(jb.pop(), Playout::Packet(&[0]));
        push_frames(&mut jb, &[(2, 10, &[2, 0, 0])]);
        for _ in 1..9 {
            assert_eq!(jb.pop(), Playout::Comfort);
        }
        assert_eq!(
            jb.pop(),
            Playout::Lost {
                next: Some(&[2, 0, 0][..])
            }
        );
        assert_eq!(take(&mut jb), Some(2));
    }

    /// Playout starts with the first packet and builds the target delay behind it: after
    /// a DTX pause the next packets come 400 ms apart, and waiting for a count of them would
    /// keep that delay for good.
    #[test]
    fn playout_starts_with_the_first_packet_and_builds_the_target_behind_it() {
        let mut jb = JitterBuffer::new(3);
        assert_eq!(jb.pop(), Playout::Buffering, "nothing here");
        jb.push(1, &[1, 0, 0]);
        assert_eq!(take(&mut jb), Some(1), "at once");
        jb.push(2, &[2, 0, 0]);
        assert_eq!(jb.pop(), Playout::Stretch);
        jb.push(3, &[3, 0, 0]);
        assert_eq!(jb.pop(), Playout::Stretch, "two frames of delay built");
        jb.push(4, &[4, 0, 0]);
        assert_eq!([take(&mut jb), take(&mut jb)], [Some(2), Some(3)]);
        let s = jb.stats();
        assert_eq!((s.stretched, s.lost), (2, 0));
    }

    /// A modelled call: speech 1.4 s, then 0.6 s of DTX (one DTX frame, a comfort-noise
    /// update 400 ms on and a DTX frame after it), over a path of 200–250 ms with 10 % loss,
    /// for a minute. The playout delay of speech stays where it started (within 60 ms):
    /// pauses neither add delay nor take the timeline back.
    #[test]
    fn a_dtx_call_over_a_jittery_lossy_path_keeps_its_delay() {
        let mut seed: u64 = 12345;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1_000_000) as f64 / 1e6
        };
        let mut arrivals: Vec<(f64, u16, u32, Vec<u8>)> = vec![];
        let (mut seq, mut in_dtx, mut since_dtx) = (0u16, false, 0);
        for frame in 0..3000u32 {
            let payload = if frame % 100 < 70 {
                in_dtx = false;
                vec![1; 60]
            } else if !in_dtx {
                (in_dtx, since_dtx) = (true, 0);
                vec![8]
            } else {
                since_dtx += 1;
                if since_dtx % 20 != 0 {
                    continue;
                }
                in_dtx = false;
                vec![2; 20]
            };
            if rnd() >= 0.1 {
                let delay = 200.0 + 25.0 * rnd() + 25.0 * rnd();
                arrivals.push((20.0 * frame as f64 + delay, seq, frame * 960, payload));
            }
            seq = seq.wrapping_add(1);
        }
        arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut jb = JitterBuffer::adaptive();
        let (mut k, mut delays) = (0, vec![]);
        for tick in 0..3100u32 {
            let now = 20.0 * tick as f64 + 7.0;
            while k < arrivals.len() && arrivals[k].0 <= now {
                let (at, seq, ts, ref payload) = arrivals[k];
                jb.push_timed(seq, ts, at, payload);
                k += 1;
            }
            let ts = jb.next.map(|n| jb.slots[n as usize % CAPACITY].ts);
            if matches!(jb.pop(), Playout::Packet(p) if p.len() == 60) {
                delays.push(now - ts.unwrap() as f64 / 48.0);
            }
            jb.note_output(false);
        }
        let first = delays[0];
        let (lo, hi) = delays
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
        assert!(
            lo >= 200.0 && hi - first <= 60.0,
            "{first} ms at first, then {lo}..{hi}"
        );
        assert!(jb.stats().comfort > 600, "{:?}", jb.stats());
    }

    #[test]
    fn oversized_or_empty_payloads_are_ignored() {
        let mut jb = JitterBuffer::new(1);
        jb.push(1, &[]);
        jb.push(2, &vec![0u8; MAX_PACKET + 1]);
        assert_eq!(jb.pop(), Playout::Buffering);
        assert_eq!(jb.stats().received, 0);
    }
}
