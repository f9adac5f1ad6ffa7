//! Recovery of a joined session, as a pure machine: what the session does when its media
//! path (the publishing connection: ICE and DTLS) or its signaling socket goes down and
//! comes back. `Recovery::step(input, now)` returns the actions; the session's driver
//! (`session.rs`) feeds it the connection's and the signaling link's events and performs
//! the actions, deciding nothing itself. Every constant of recovery lives here.
//!
//! The call is Reconnecting while either the media path or the signaling socket is down, and
//! Connected again once both are up. A failed media path is restarted (an ICE restart, a new
//! offer) at once and then with backoff, while the signaling socket is up, until the
//! recovery budget is spent; a signaling socket that comes back re-publishes when the media
//! went too or an offer went unanswered. The signaling socket's own return (resume with the
//! same token and `uniqueId`, token renewal, backoff, the budget) is the `resume` machine's,
//! which `signaling_link` performs; it reports `SignalingLost`, `SignalingRestored` or
//! `SignalingGaveUp` here.

pub mod resume;

use std::time::{Duration, Instant};

/// How long a lost signaling socket, or a failed media path, may take to come back before
/// the call ends, unless the app says otherwise (`DialtoneClient.setConnectionRecoveryBudget`).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);
/// The first ICE restart's backoff; it doubles up to `RESTART_MAX`.
pub const RESTART_FIRST: Duration = Duration::from_millis(250);
pub const RESTART_MAX: Duration = Duration::from_secs(2);
/// Never two ICE restarts closer than this.
pub const RESTART_MIN_GAP: Duration = Duration::from_millis(500);

// The signaling socket's liveness and resume (`signaling_link`).
/// WebSocket pings while connected; any frame from the gateway counts as life.
pub const KEEPALIVE: Duration = Duration::from_secs(2);
/// Silence after which the socket is declared lost.
pub const SILENCE: Duration = Duration::from_secs(6);
/// A probe ping (queued when the device's network changed) must be answered this soon, or
/// the socket is declared lost then rather than after `SILENCE`.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// One resume attempt's time to connect.
pub const RESUME_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The backoff after a quick refusal (the gateway restarting, 503): from the first, doubling
/// up to the max, each wait jittered to between half and all of it.
pub const RESUME_FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const RESUME_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// While attempts hang (a blackout drops the SYNs), another starts this often, up to this
/// many at once.
pub const RESUME_ATTEMPT_EVERY: Duration = Duration::from_millis(300);
pub const RESUME_IN_FLIGHT: usize = 6;
/// Fresh tokens tried per outage (extended `renewToken`) before the link gives up.
pub const RESUME_MAX_RENEWALS: u32 = 2;

/// Which parts of the session are down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Up,
    MediaDown,
    SignalingDown,
    BothDown,
    /// The budget ran out or the gateway refused to resume: the session ends.
    GaveUp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The publishing connection is connected (again).
    PathConnected,
    /// It lost its consent checks (it may come back by itself).
    PathDisconnected,
    /// It failed: only a restart brings it back.
    PathFailed,
    /// The signaling socket was lost (no Close frame, or silence).
    SignalingLost,
    /// It is back; `unanswered_offer`: an ICE restart's offer went out while it was down.
    SignalingRestored { unanswered_offer: bool },
    /// It did not come back within the budget, or the gateway refused it.
    SignalingGaveUp(String),
    /// The restart timer fired; `jitter` in [0.5, 1] spreads the next one.
    RestartDue { jitter: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Tell the call it is Reconnecting / Connected again.
    ReportReconnecting,
    ReportConnected,
    /// Whether the send clock may write (the media path is up).
    PathUp(bool),
    /// Restart ICE on the publishing connection now.
    RestartIce,
    /// Publish again: media preferences, then an ICE-restart offer.
    Republish,
    /// End the session as lost, saying why.
    GiveUp(String),
}

/// One session's recovery state.
#[derive(Debug, Clone)]
pub struct Recovery {
    health: Health,
    budget: Duration,
    failed_since: Option<Instant>,
    next_restart: Option<Instant>,
    restart_delay: Duration,
}

impl Recovery {
    pub fn new(budget: Duration) -> Self {
        Recovery {
            health: Health::Up,
            budget,
            failed_since: None,
            next_restart: None,
            restart_delay: RESTART_FIRST,
        }
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub fn health(&self) -> Health {
        self.health
    }

    /// When to deliver `RestartDue`: a failed path's next restart, never while the
    /// signaling socket is down (the restart's offer needs it).
    pub fn restart_at(&self) -> Option<Instant> {
        match self.health {
            Health::MediaDown => self.next_restart,
            _ => None,
        }
    }

    fn media_down(&self) -> bool {
        matches!(self.health, Health::MediaDown | Health::BothDown)
    }

    fn signaling_down(&self) -> bool {
        matches!(self.health, Health::SignalingDown | Health::BothDown)
    }

    fn set(&mut self, media_down: bool, signaling_down: bool) {
        self.health = match (media_down, signaling_down) {
            (false, false) => Health::Up,
            (true, false) => Health::MediaDown,
            (false, true) => Health::SignalingDown,
            (true, true) => Health::BothDown,
        };
    }

    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Action> {
        use Action::*;
        if self.health == Health::GaveUp {
            return Vec::new();
        }
        let (media, signaling) = (self.media_down(), self.signaling_down());
        let mut out = Vec::new();
        match input {
            Input::PathConnected => {
                out.push(PathUp(true));
                self.failed_since = None;
                self.next_restart = None;
                self.restart_delay = RESTART_FIRST;
                if media && !signaling {
                    out.push(ReportConnected);
                }
                self.set(false, signaling);
            }
            Input::PathDisconnected | Input::PathFailed => {
                out.push(PathUp(false));
                if !media && !signaling {
                    out.push(ReportReconnecting);
                }
                if input == Input::PathFailed {
                    self.failed_since.get_or_insert(now);
                    // Restart now, then with backoff while it keeps failing.
                    self.next_restart.get_or_insert(now);
                }
                self.set(true, signaling);
            }
            Input::SignalingLost => {
                if !media && !signaling {
                    out.push(ReportReconnecting);
                }
                self.set(media, true);
            }
            Input::SignalingRestored { unanswered_offer } => {
                if media || unanswered_offer {
                    // The media path went too, or holds an offer the gateway never saw.
                    out.push(Republish);
                }
                if !media {
                    out.push(ReportConnected);
                }
                self.set(media, false);
            }
            Input::SignalingGaveUp(why) => {
                self.health = Health::GaveUp;
                out.push(GiveUp(why));
            }
            Input::RestartDue { jitter } => {
                if !media || signaling {
                    return out;
                }
                let since = *self.failed_since.get_or_insert(now);
                if now.saturating_duration_since(since) > self.budget {
                    self.health = Health::GaveUp;
                    out.push(GiveUp(format!(
                        "the media connection did not come back within {:?}",
                        self.budget
                    )));
                    return out;
                }
                out.push(RestartIce);
                let spread = self.restart_delay.mul_f64(jitter.clamp(0.5, 1.0));
                self.next_restart = Some(now + spread.max(RESTART_MIN_GAP));
                self.restart_delay = (self.restart_delay * 2).min(RESTART_MAX);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::Health::*;
    use super::*;

    fn inputs() -> Vec<Input> {
        vec![
            Input::PathConnected,
            Input::PathDisconnected,
            Input::PathFailed,
            Input::SignalingLost,
            Input::SignalingRestored {
                unanswered_offer: false,
            },
            Input::SignalingRestored {
                unanswered_offer: true,
            },
            Input::SignalingGaveUp("refused".into()),
            Input::RestartDue { jitter: 1.0 },
        ]
    }

    /// A machine in `health` (a failed path for the media-down states, so a restart is due).
    fn in_state(health: Health, now: Instant) -> Recovery {
        let mut r = Recovery::new(DEFAULT_BUDGET);
        match health {
            Up => {}
            MediaDown => {
                r.step(Input::PathFailed, now);
            }
            SignalingDown => {
                r.step(Input::SignalingLost, now);
            }
            BothDown => {
                r.step(Input::PathFailed, now);
                r.step(Input::SignalingLost, now);
            }
            GaveUp => {
                r.step(Input::SignalingGaveUp("x".into()), now);
            }
        }
        assert_eq!(r.health(), health);
        r
    }

    /// Every state × every input: the next state and the actions.
    fn table() -> Vec<(Health, Input, Health, Vec<Action>)> {
        let restored = |u| Input::SignalingRestored {
            unanswered_offer: u,
        };
        let gave_up = || GiveUp("refused".into());
        let due = || Input::RestartDue { jitter: 1.0 };
        vec![
            (Up, Input::PathConnected, Up, vec![PathUp(true)]),
            (
                Up,
                Input::PathDisconnected,
                MediaDown,
                vec![PathUp(false), ReportReconnecting],
            ),
            (
                Up,
                Input::PathFailed,
                MediaDown,
                vec![PathUp(false), ReportReconnecting],
            ),
            (
                Up,
                Input::SignalingLost,
                SignalingDown,
                vec![ReportReconnecting],
            ),
            (Up, restored(false), Up, vec![ReportConnected]),
            (Up, restored(true), Up, vec![Republish, ReportConnected]),
            (
                Up,
                Input::SignalingGaveUp("refused".into()),
                GaveUp,
                vec![gave_up()],
            ),
            (Up, due(), Up, vec![]),
            (
                MediaDown,
                Input::PathConnected,
                Up,
                vec![PathUp(true), ReportConnected],
            ),
            (
                MediaDown,
                Input::PathDisconnected,
                MediaDown,
                vec![PathUp(false)],
            ),
            (MediaDown, Input::PathFailed, MediaDown, vec![PathUp(false)]),
            (MediaDown, Input::SignalingLost, BothDown, vec![]),
            (MediaDown, restored(false), MediaDown, vec![Republish]),
            (MediaDown, restored(true), MediaDown, vec![Republish]),
            (
                MediaDown,
                Input::SignalingGaveUp("refused".into()),
                GaveUp,
                vec![gave_up()],
            ),
            (MediaDown, due(), MediaDown, vec![RestartIce]),
            (
                SignalingDown,
                Input::PathConnected,
                SignalingDown,
                vec![PathUp(true)],
            ),
            (
                SignalingDown,
                Input::PathDisconnected,
                BothDown,
                vec![PathUp(false)],
            ),
            (
                SignalingDown,
                Input::PathFailed,
                BothDown,
                vec![PathUp(false)],
            ),
            (SignalingDown, Input::SignalingLost, SignalingDown, vec![]),
            (SignalingDown, restored(false), Up, vec![ReportConnected]),
            (
                SignalingDown,
                restored(true),
                Up,
                vec![Republish, ReportConnected],
            ),
            (
                SignalingDown,
                Input::SignalingGaveUp("refused".into()),
                GaveUp,
                vec![gave_up()],
            ),
            (SignalingDown, due(), SignalingDown, vec![]),
            (
                BothDown,
                Input::PathConnected,
                SignalingDown,
                vec![PathUp(true)],
            ),
            (
                BothDown,
                Input::PathDisconnected,
                BothDown,
                vec![PathUp(false)],
            ),
            (BothDown, Input::PathFailed, BothDown, vec![PathUp(false)]),
            (BothDown, Input::SignalingLost, BothDown, vec![]),
            (BothDown, restored(false), MediaDown, vec![Republish]),
            (BothDown, restored(true), MediaDown, vec![Republish]),
            (
                BothDown,
                Input::SignalingGaveUp("refused".into()),
                GaveUp,
                vec![gave_up()],
            ),
            (BothDown, due(), BothDown, vec![]),
        ]
        .into_iter()
        .chain(inputs().into_iter().map(|i| (GaveUp, i, GaveUp, vec![])))
        .collect()
    }

    #[test]
    fn every_state_and_input_is_in_the_table() {
        let now = Instant::now();
        let table = table();
        for state in [Up, MediaDown, SignalingDown, BothDown, GaveUp] {
            for input in inputs() {
                let row = table
                    .iter()
                    .find(|(s, i, _, _)| *s == state && *i == input)
                    .unwrap_or_else(|| panic!("no row for {state:?} {input:?}"));
                let mut r = in_state(state, now);
                let actions = r.step(input.clone(), now);
                assert_eq!(
                    (r.health(), actions),
                    (row.2, row.3.clone()),
                    "{state:?} {input:?}"
                );
            }
        }
    }

    #[test]
    fn restarts_back_off_and_the_budget_ends_a_failed_path() {
        let t0 = Instant::now();
        let mut r = Recovery::new(Duration::from_secs(5));
        r.step(Input::PathFailed, t0);
        assert_eq!(r.restart_at(), Some(t0), "the first restart is at once");
        let mut now = t0;
        let mut gaps = Vec::new();
        while let Some(at) = r.restart_at() {
            now = at;
            let actions = r.step(Input::RestartDue { jitter: 1.0 }, now);
            if actions.contains(&RestartIce) {
                if let Some(next) = r.restart_at() {
                    gaps.push(next - now);
                }
            } else {
                assert!(
                    matches!(actions.as_slice(), [GiveUp(m)] if m.contains("did not come back"))
                );
                break;
            }
        }
        assert_eq!(r.health(), GaveUp);
        assert!(now - t0 > Duration::from_secs(5) && now - t0 < Duration::from_secs(8));
        assert_eq!(
            gaps[0], RESTART_MIN_GAP,
            "250 ms is raised to the minimum gap"
        );
        assert_eq!(gaps[1], RESTART_MIN_GAP);
        assert_eq!(gaps[2], Duration::from_secs(1));
        assert!(gaps[3..].iter().all(|g| *g == RESTART_MAX), "{gaps:?}");
        // A connection that comes back resets the backoff and the budget.
        let mut r = Recovery::new(Duration::from_secs(5));
        r.step(Input::PathFailed, t0);
        r.step(Input::RestartDue { jitter: 1.0 }, t0);
        r.step(Input::PathConnected, t0 + Duration::from_secs(4));
        assert_eq!(r.restart_at(), None);
        r.step(Input::PathFailed, t0 + Duration::from_secs(6));
        assert_eq!(r.restart_at(), Some(t0 + Duration::from_secs(6)));
        let a = r.step(
            Input::RestartDue { jitter: 0.5 },
            t0 + Duration::from_secs(10),
        );
        assert_eq!(
            a,
            vec![RestartIce],
            "the budget counts from the new failure"
        );
    }

    #[test]
    fn no_restart_is_due_while_the_signaling_socket_is_down() {
        let now = Instant::now();
        let r = in_state(BothDown, now);
        assert_eq!(r.restart_at(), None);
        let mut r = in_state(MediaDown, now);
        assert_eq!(r.restart_at(), Some(now));
        r.step(Input::SignalingLost, now);
        assert_eq!(r.restart_at(), None);
        r.step(
            Input::SignalingRestored {
                unanswered_offer: false,
            },
            now,
        );
        assert_eq!(r.restart_at(), Some(now), "due again once it is back");
    }

    /// The recovery diagram in ARCHITECTURE.md is this table: its state changes, and the
    /// restart timer's two outcomes.
    #[test]
    fn the_recovery_diagram_in_architecture_md_is_the_table() {
        let drawn = crate::diagrams::drawn_transitions("%% media recovery");
        let name = |i: &Input| match i {
            Input::SignalingRestored { .. } => "SignalingRestored".to_string(),
            Input::SignalingGaveUp(_) => "SignalingGaveUp".to_string(),
            Input::RestartDue { .. } => "RestartDue".to_string(),
            other => format!("{other:?}"),
        };
        let mut table: Vec<String> = table()
            .iter()
            .filter(|(from, _, to, _)| from != to)
            .map(|(from, input, to, _)| format!("{from:?} --> {to:?} : {}", name(input)))
            .collect();
        // The restart timer: a restart, or the budget spent (past the table's `now`).
        table.push("MediaDown --> MediaDown : RestartDue".into());
        table.push("MediaDown --> GaveUp : RestartDue".into());
        table.sort();
        table.dedup();
        assert_eq!(
            drawn,
            table,
            "the diagram differs from the table; the table says:\n{}",
            table.join("\n")
        );
    }
}
