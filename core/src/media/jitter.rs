//! The receive-side jitter buffer: RTP packets arrive out of order and unevenly; the
//! playout clock takes one 20 ms frame at a time in sequence order. Slots are allocated
//! once (fixed capacity, payload buffers reused), so steady-state operation allocates nothing.
//! Its target delay adapts (`delay_estimator`): when it grows, playout holds back a frame
//! (a concealed one is played, nothing consumed) per frame of growth; when it shrinks, one
//! packet is skipped per frame, at most one per pop, and only while more than the target is
//! buffered. Running dry mid-call is concealed for up to `MAX_DRY_FRAMES` (a loss burst);
//! past that, playout stops and refills.

use super::codec::MAX_PACKET;

/// One second of 20 ms frames.
pub const CAPACITY: usize = 50;
/// A buffer that runs dry mid-call keeps its timeline and conceals for this many frames
/// (200 ms: a loss burst, or a late batch of packets), so the packets after the gap play at
/// their own time and the gap is heard as concealment. A longer silence is a stall or a
/// pause: playout stops and refills to the target.
pub const MAX_DRY_FRAMES: usize = 10;

/// What the playout clock gets for the next 20 ms.
#[derive(Debug, PartialEq)]
pub enum Playout<'a> {
    /// Still filling up to the target delay (or nothing ever arrived): play silence.
    Buffering,
    /// The next packet in sequence.
    Packet(&'a [u8]),
    /// The next packet is missing: rebuild it from `next` (the packet after it, if it is
    /// already here: its in-band FEC), or conceal it.
    Lost { next: Option<&'a [u8]> },
    /// The target delay grew: play a concealed frame and consume nothing.
    Stretch,
}

struct Slot {
    seq: u16,
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
}

impl JitterBuffer {
    /// `target_delay` frames are buffered before playout starts (2 = 40 ms).
    pub fn new(target_delay: usize) -> Self {
        let slots = (0..CAPACITY)
            .map(|_| Slot {
                seq: 0,
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
        }
    }

    /// A buffer whose target follows the arrival jitter (from `MIN_TARGET` frames up).
    pub fn adaptive() -> Self {
        let mut jb = Self::new(super::delay_estimator::MIN_TARGET);
        jb.estimator = Some(Default::default());
        jb
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
        self.push(seq, payload);
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

    pub fn push(&mut self, seq: u16, payload: &[u8]) {
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
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        slot.filled = true;
    }

    /// Called once per 20 ms by the playout clock.
    pub fn pop(&mut self) -> Playout<'_> {
        if !self.started {
            if self.buffered() < self.target_delay {
                return Playout::Buffering;
            }
            self.started = true;
        }
        let Some(next) = self.next else {
            return Playout::Buffering;
        };
        if self.buffered() == 0 {
            if self.dry < MAX_DRY_FRAMES {
                // A burst of loss: conceal the missing frame and keep the timeline.
                self.dry += 1;
                self.next = Some(next.wrapping_add(1));
                self.stats.lost += 1;
                return Playout::Lost { next: None };
            }
            // Dry for longer: the sender paused or the network stalled. Refill first.
            self.started = false;
            self.next = None;
            self.to_stretch = 0;
            self.to_skip = 0;
            self.dry = 0;
            return Playout::Buffering;
        }
        self.dry = 0;
        if self.to_stretch > 0 {
            self.to_stretch -= 1;
            self.stats.stretched += 1;
            return Playout::Stretch;
        }
        let mut next = next;
        if self.to_skip > 0 && self.buffered() > self.target_delay {
            self.to_skip -= 1;
            self.stats.skipped += 1;
            let idx = next as usize % CAPACITY;
            if self.slots[idx].seq == next {
                self.slots[idx].filled = false;
            }
            next = next.wrapping_add(1);
        }
        self.next = Some(next.wrapping_add(1));
        let idx = next as usize % CAPACITY;
        if self.slots[idx].filled && self.slots[idx].seq == next {
            self.slots[idx].filled = false;
            self.stats.played += 1;
            let slot = &self.slots[idx];
            Playout::Packet(&slot.data[..slot.len])
        } else {
            self.stats.lost += 1;
            let after = next.wrapping_add(1);
            let slot = &self.slots[after as usize % CAPACITY];
            Playout::Lost {
                next: (slot.filled && slot.seq == after).then(|| &slot.data[..slot.len]),
            }
        }
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
            Playout::Packet(p) => Some(p[0]),
            Playout::Lost { .. } | Playout::Stretch => Some(0),
            Playout::Buffering => None,
        }
    }

    #[test]
    fn reorders_and_waits_for_the_target_delay() {
        let mut jb = JitterBuffer::new(2);
        jb.push(11, &[11]);
        assert_eq!(take(&mut jb), None);
        jb.push(10, &[10]);
        jb.push(12, &[12]);
        assert_eq!(
            [take(&mut jb), take(&mut jb), take(&mut jb)],
            [Some(10), Some(11), Some(12)]
        );
    }

    #[test]
    fn gaps_are_lost_late_and_duplicates_are_dropped() {
        let mut jb = JitterBuffer::new(1);
        jb.push(1, &[1]);
        jb.push(3, &[3]);
        jb.push(3, &[3]);
        assert_eq!(take(&mut jb), Some(1));
        // 2 is missing, and 3 (whose FEC can rebuild it) is already here.
        assert_eq!(
            jb.pop(),
            Playout::Lost {
                next: Some(&[3][..])
            }
        );
        jb.push(2, &[2]);
        assert_eq!(take(&mut jb), Some(3));
        let s = jb.stats();
        assert_eq!((s.lost, s.late, s.duplicate, s.played), (1, 1, 1, 2));
    }

    #[test]
    fn a_lost_frame_comes_with_the_next_packet_only_when_it_is_here() {
        let mut jb = JitterBuffer::new(1);
        jb.push(1, &[1]);
        jb.push(4, &[4]);
        assert_eq!(take(&mut jb), Some(1));
        assert_eq!(jb.pop(), Playout::Lost { next: None }, "2 lost, 3 not here");
        assert_eq!(
            jb.pop(),
            Playout::Lost {
                next: Some(&[4][..])
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
            jb.push(seq, &[seq as u8]);
        }
        assert_eq!(take(&mut jb), Some(0));
        // Grows by two frames: two concealed frames, nothing consumed, then on in order.
        jb.set_target(4);
        assert_eq!(jb.pop(), Playout::Stretch);
        assert_eq!(jb.pop(), Playout::Stretch);
        assert_eq!(take(&mut jb), Some(1));
        for seq in 4..10u16 {
            jb.push(seq, &[seq as u8]);
        }
        // Shrinks by two: one packet skipped per pop while more than the target is held.
        jb.set_target(2);
        assert_eq!(take(&mut jb), Some(3), "2 skipped");
        assert_eq!(take(&mut jb), Some(5), "4 skipped");
        assert_eq!(take(&mut jb), Some(6));
        let s = jb.stats();
        assert_eq!((s.stretched, s.skipped, s.lost), (2, 2, 0));
    }

    #[test]
    fn an_adaptive_buffer_follows_the_arrival_jitter() {
        let mut jb = JitterBuffer::adaptive();
        assert_eq!(jb.target(), crate::media::delay_estimator::MIN_TARGET);
        for i in 0..60u16 {
            let late = if i % 3 == 0 { 70.0 } else { 0.0 };
            jb.push_timed(i, i as u32 * 960, 20.0 * i as f64 + late, &[1]);
        }
        assert_eq!(jb.target(), 5, "ceil(70 / 20) + 1");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut jb = JitterBuffer::new(1);
        for seq in [65534u16, 65535, 0, 1] {
            jb.push(seq, &[seq as u8]);
        }
        let got: Vec<_> = (0..4).filter_map(|_| take(&mut jb)).collect();
        assert_eq!(got, [254, 255, 0, 1]);
    }

    #[test]
    fn a_jump_far_ahead_resynchronises() {
        let mut jb = JitterBuffer::new(1);
        jb.push(5, &[5]);
        assert_eq!(take(&mut jb), Some(5));
        jb.push(5000, &[9]);
        assert_eq!(take(&mut jb), Some(9));
    }

    #[test]
    fn a_burst_that_empties_the_buffer_is_concealed_and_the_timeline_kept() {
        let mut jb = JitterBuffer::new(2);
        jb.push(1, &[1]);
        jb.push(2, &[2]);
        assert_eq!(take(&mut jb), Some(1));
        assert_eq!(take(&mut jb), Some(2));
        // Packets 3–6 lost in a burst: the buffer is empty; each pop conceals one of them.
        for _ in 3..=6 {
            assert_eq!(jb.pop(), Playout::Lost { next: None });
        }
        // 7 arrives after the burst and plays at once, in its own place.
        jb.push(7, &[7]);
        assert_eq!(take(&mut jb), Some(7));
        assert_eq!(jb.stats().lost, 4);
        // Silent for longer than a burst (a stall): playout stops, then refills.
        for _ in 0..MAX_DRY_FRAMES {
            assert!(matches!(jb.pop(), Playout::Lost { .. }));
        }
        assert_eq!(jb.pop(), Playout::Buffering);
        jb.push(40, &[40]);
        assert_eq!(jb.pop(), Playout::Buffering, "refilling to the target");
        jb.push(41, &[41]);
        assert_eq!(take(&mut jb), Some(40));
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
