//! A room's member list as this device knows it, kept from the server's snapshot and its
//! numbered changes (pure: no I/O, table-tested). A snapshot (`enterRoom`, `getRoom`, or a
//! `room` on connect) replaces the list and says which changes it already holds (its `seq`);
//! a change with the next `seq` is applied, older ones are dropped, and a newer one is held
//! until the gap before it is filled, while the room asks for a fresh snapshot. Changes that
//! arrive before the first snapshot are held the same way. Every applied step reports what it
//! changed, in the order the server made the changes.

use crate::backend::rooms::{LeaveReason, MemberRow, RoomEvent, Snapshot};

/// Changes held beyond this many mean the list is too far behind: drop them and wait for
/// the snapshot.
const MAX_HELD: usize = 64;

/// What one step changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Joined(MemberRow),
    Left(MemberRow, LeaveReason),
    /// A member's fields changed (muted, name).
    Changed(MemberRow),
}

/// What the room must do after a step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    pub changes: Vec<Change>,
    /// A change came after a gap: fetch a snapshot (`getRoom`).
    pub need_snapshot: bool,
}

#[derive(Debug, Default)]
pub struct Roster {
    /// The last applied `seq`; `None` before the first snapshot.
    seq: Option<u64>,
    /// In the order they entered.
    members: Vec<MemberRow>,
    /// Changes ahead of a gap, by `seq` (few: a plain list).
    held: Vec<(u64, RoomEvent)>,
}

impl Roster {
    pub fn members(&self) -> &[MemberRow] {
        &self.members
    }

    #[cfg(test)]
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The last applied `seq`, 0 before any.
    pub fn seq_or_zero(&self) -> u64 {
        self.seq.unwrap_or(0)
    }

    pub fn get(&self, connection_id: &str) -> Option<&MemberRow> {
        self.members
            .iter()
            .find(|m| m.connection_id == connection_id)
    }

    /// Takes a snapshot unless it is older than what is held. The first one reports no
    /// changes (it is the list the room starts with); a later one reports how it differs.
    pub fn snapshot(&mut self, snap: Snapshot) -> Step {
        if self.seq.is_some_and(|s| snap.seq < s) {
            return Step::default();
        }
        let mut step = Step::default();
        if self.seq.is_some() {
            for old in &self.members {
                if !snap
                    .members
                    .iter()
                    .any(|m| m.connection_id == old.connection_id)
                {
                    // A leave this device missed: the server no longer says why.
                    step.changes
                        .push(Change::Left(old.clone(), LeaveReason::Left));
                }
            }
            for new in &snap.members {
                match self.get(&new.connection_id) {
                    None => step.changes.push(Change::Joined(new.clone())),
                    Some(old) if old != new => step.changes.push(Change::Changed(new.clone())),
                    Some(_) => {}
                }
            }
        }
        self.seq = Some(snap.seq);
        self.members = snap.members;
        self.held.retain(|(seq, _)| *seq > snap.seq);
        step.changes.extend(self.drain());
        step.need_snapshot = !self.held.is_empty();
        step
    }

    /// One change from the channel.
    pub fn event(&mut self, ev: RoomEvent) -> Step {
        let seq = match &ev {
            RoomEvent::Snapshot(_) => {
                let RoomEvent::Snapshot(s) = ev else {
                    unreachable!()
                };
                return self.snapshot(s);
            }
            RoomEvent::Enter { seq, .. }
            | RoomEvent::Leave { seq, .. }
            | RoomEvent::Muted { seq, .. }
            | RoomEvent::Connection { seq, .. } => *seq,
        };
        let Some(current) = self.seq else {
            // Before the first snapshot: held, and the snapshot decides what is old.
            self.hold(seq, ev);
            return Step::default();
        };
        if seq <= current {
            return Step::default();
        }
        self.hold(seq, ev);
        let changes = self.drain();
        Step {
            changes,
            need_snapshot: !self.held.is_empty(),
        }
    }

    fn hold(&mut self, seq: u64, ev: RoomEvent) {
        if self.held.len() >= MAX_HELD {
            self.held.clear();
        }
        match self.held.iter_mut().find(|(s, _)| *s == seq) {
            Some(slot) => slot.1 = ev,
            None => self.held.push((seq, ev)),
        }
    }

    /// Applies held changes while the next one is there.
    fn drain(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        while let Some(current) = self.seq {
            let Some(at) = self.held.iter().position(|(s, _)| *s == current + 1) else {
                break;
            };
            let (_, ev) = self.held.swap_remove(at);
            self.seq = Some(current + 1);
            out.extend(self.apply(ev));
        }
        out
    }

    fn apply(&mut self, ev: RoomEvent) -> Option<Change> {
        match ev {
            RoomEvent::Snapshot(_) => None,
            RoomEvent::Enter { member, .. } => {
                // An id seen again is that member's new row (the server never reuses one).
                self.members
                    .retain(|m| m.connection_id != member.connection_id);
                self.members.push(member.clone());
                Some(Change::Joined(member))
            }
            RoomEvent::Leave {
                connection_id,
                reason,
                ..
            } => {
                let at = self
                    .members
                    .iter()
                    .position(|m| m.connection_id == connection_id)?;
                Some(Change::Left(self.members.remove(at), reason))
            }
            RoomEvent::Muted {
                connection_id,
                muted,
                ..
            } => {
                let m = self
                    .members
                    .iter_mut()
                    .find(|m| m.connection_id == connection_id)?;
                if m.muted == Some(muted) {
                    return None;
                }
                m.muted = Some(muted);
                Some(Change::Changed(m.clone()))
            }
            RoomEvent::Connection {
                connection_id,
                reconnecting,
                ..
            } => {
                let m = self
                    .members
                    .iter_mut()
                    .find(|m| m.connection_id == connection_id)?;
                if m.reconnecting == reconnecting {
                    return None;
                }
                m.reconnecting = reconnecting;
                Some(Change::Changed(m.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(c: &str) -> MemberRow {
        MemberRow {
            connection_id: c.into(),
            client_id: Some(format!("client-{c}")),
            name: None,
            muted: Some(false),
            joined_at_ms: None,
            reconnecting: false,
        }
    }

    fn snap(seq: u64, members: &[&str]) -> Snapshot {
        Snapshot {
            room_id: "r".into(),
            members: members.iter().map(|c| row(c)).collect(),
            seq,
        }
    }

    fn enter(seq: u64, c: &str) -> RoomEvent {
        RoomEvent::Enter {
            room_id: "r".into(),
            seq,
            member: row(c),
        }
    }

    fn leave(seq: u64, c: &str) -> RoomEvent {
        RoomEvent::Leave {
            room_id: "r".into(),
            seq,
            connection_id: c.into(),
            reason: LeaveReason::Lost,
        }
    }

    fn ids(r: &Roster) -> Vec<&str> {
        r.members()
            .iter()
            .map(|m| m.connection_id.as_str())
            .collect()
    }

    #[test]
    fn in_order_changes_apply_and_old_ones_drop() {
        let mut r = Roster::default();
        assert_eq!(r.snapshot(snap(2, &["a", "b"])), Step::default());
        assert_eq!(r.event(enter(2, "b")), Step::default(), "already held");
        let s = r.event(enter(3, "c"));
        assert_eq!(s.changes, [Change::Joined(row("c"))]);
        assert!(!s.need_snapshot);
        let s = r.event(leave(4, "a"));
        assert_eq!(s.changes, [Change::Left(row("a"), LeaveReason::Lost)]);
        let s = r.event(RoomEvent::Muted {
            room_id: "r".into(),
            seq: 5,
            connection_id: "b".into(),
            muted: true,
        });
        assert!(matches!(&s.changes[..], [Change::Changed(m)] if m.muted == Some(true)));
        assert_eq!(ids(&r), ["b", "c"]);
        assert_eq!(r.seq(), Some(5));
    }

    #[test]
    fn a_members_connection_lost_and_back_is_a_change_each_way() {
        let mut r = Roster::default();
        r.snapshot(snap(1, &["a", "b"]));
        let lost = |seq, reconnecting| RoomEvent::Connection {
            room_id: "r".into(),
            seq,
            connection_id: "b".into(),
            reconnecting,
        };
        let s = r.event(lost(2, true));
        assert!(matches!(&s.changes[..], [Change::Changed(m)] if m.reconnecting));
        let s = r.event(lost(3, false));
        assert!(matches!(&s.changes[..], [Change::Changed(m)] if !m.reconnecting));
        // The same state again (a repeat under a new seq) changes nothing.
        assert!(r.event(lost(4, false)).changes.is_empty());
    }

    #[test]
    fn a_gap_holds_later_changes_and_asks_for_a_snapshot() {
        let mut r = Roster::default();
        r.snapshot(snap(1, &["a"]));
        let s = r.event(enter(3, "c"));
        assert!(s.changes.is_empty());
        assert!(s.need_snapshot);
        // The missing change arrives: both apply, in order.
        let s = r.event(enter(2, "b"));
        assert_eq!(
            s.changes,
            [Change::Joined(row("b")), Change::Joined(row("c"))]
        );
        assert!(!s.need_snapshot);
        assert_eq!(ids(&r), ["a", "b", "c"]);
    }

    #[test]
    fn a_later_snapshot_reports_what_was_missed_and_applies_what_follows() {
        let mut r = Roster::default();
        r.snapshot(snap(1, &["a", "b"]));
        r.event(leave(5, "c"));
        // Missed: 2 enter c, 3 leave b, 4 enter d. The snapshot at 4 says so.
        let s = r.snapshot(snap(4, &["a", "c", "d"]));
        assert_eq!(
            s.changes,
            [
                Change::Left(row("b"), LeaveReason::Left),
                Change::Joined(row("c")),
                Change::Joined(row("d")),
                Change::Left(row("c"), LeaveReason::Lost),
            ]
        );
        assert_eq!(ids(&r), ["a", "d"]);
        assert!(!s.need_snapshot);
        // An older snapshot (a slow getRoom reply) changes nothing.
        assert_eq!(r.snapshot(snap(3, &["a"])), Step::default());
        assert_eq!(ids(&r), ["a", "d"]);
    }

    #[test]
    fn changes_before_the_first_snapshot_wait_for_it() {
        let mut r = Roster::default();
        assert_eq!(r.event(enter(2, "b")), Step::default());
        assert_eq!(r.event(enter(3, "c")), Step::default());
        let s = r.snapshot(snap(2, &["a", "b"]));
        assert_eq!(s.changes, [Change::Joined(row("c"))]);
        assert_eq!(ids(&r), ["a", "b", "c"]);
    }

    #[test]
    fn a_flood_of_held_changes_stays_bounded() {
        let mut r = Roster::default();
        r.snapshot(snap(1, &[]));
        for seq in 3..1_000 {
            r.event(enter(seq, &format!("m{seq}")));
        }
        assert!(r.held.len() <= MAX_HELD);
        let s = r.snapshot(snap(999, &["x"]));
        assert_eq!(ids(&r), ["x"]);
        assert!(!s.need_snapshot);
    }
}
