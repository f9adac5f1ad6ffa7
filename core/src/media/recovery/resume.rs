//! Bringing back a lost signaling socket, as a pure machine: when to start a resume attempt
//! (same token, same `uniqueId`), what a refusal means (renew the token or give up), how long
//! to back off after a quick failure, and when the budget is spent. `Resume::step(input, now)`
//! returns the actions; `signaling_link` connects, renews and waits as told, and decides
//! nothing. Its constants are the recovery's (`super`).
//!
//! Attempts overlap: during a blackout a TCP handshake waits for the kernel's SYN
//! retransmissions (1 s, 3 s, 7 s…), so one attempt at a time would notice the network's
//! return seconds late. A new attempt starts every `RESUME_ATTEMPT_EVERY` while fewer than
//! `RESUME_IN_FLIGHT` are pending, each with its own timeout; the first socket wins.

use std::time::{Duration, Instant};

use super::{
    RESUME_ATTEMPT_EVERY, RESUME_CONNECT_TIMEOUT, RESUME_FIRST_BACKOFF, RESUME_IN_FLIGHT,
    RESUME_MAX_BACKOFF, RESUME_MAX_RENEWALS,
};

/// How an attempt ended without a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The gateway answered the upgrade with this HTTP status.
    Refused(u16),
    /// No answer within the attempt's time (a blackout).
    TimedOut,
    /// Anything else quick: the connection refused or reset, TLS failed.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The time `wake_at` named has come.
    Due,
    /// An attempt ended without a socket; `jitter` in [0.5, 1] spreads a backoff.
    Failed { failure: Failure, jitter: f64 },
    /// The renewer gave a fresh token (the link put it in the URL).
    Renewed,
    /// The renewer failed, saying why.
    RenewFailed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start an attempt that may take this long.
    Attempt { timeout: Duration },
    /// The attempts in flight carry a refused token: drop them.
    DropAttempts,
    /// Fetch a fresh token for the same participant; answer `Renewed` or `RenewFailed`.
    RenewToken,
    /// Stop: the socket is not coming back, for this reason.
    GiveUp(String),
}

/// One outage's resume.
#[derive(Debug, Clone)]
pub struct Resume {
    budget: Duration,
    deadline: Instant,
    renewable: bool,
    renewals: u32,
    in_flight: usize,
    next_attempt: Instant,
    backoff: Duration,
    /// Waiting for a fresh token: no attempt starts meanwhile.
    renewing: Option<String>,
    over: bool,
}

impl Resume {
    /// The socket was lost at `now`; `renewable`: a refused token may be renewed (the
    /// extended backend's `renewToken`), else a refusal ends the session.
    pub fn start(now: Instant, budget: Duration, renewable: bool) -> Self {
        Self {
            budget,
            deadline: now + budget,
            renewable,
            renewals: 0,
            in_flight: 0,
            next_attempt: now,
            backoff: RESUME_FIRST_BACKOFF,
            renewing: None,
            over: false,
        }
    }

    /// When to feed `Due` next: the next attempt's time or the deadline, whichever is first.
    pub fn wake_at(&self) -> Instant {
        if self.renewing.is_none() && self.in_flight < RESUME_IN_FLIGHT {
            self.next_attempt.min(self.deadline)
        } else {
            self.deadline
        }
    }

    fn give_up(&mut self, why: String) -> Vec<Action> {
        self.over = true;
        vec![Action::GiveUp(why)]
    }

    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Action> {
        if self.over {
            return Vec::new();
        }
        match input {
            Input::Due => {
                if now >= self.deadline {
                    return self.give_up(format!(
                        "the signaling connection did not come back within {:?}",
                        self.budget
                    ));
                }
                if self.renewing.is_some()
                    || self.in_flight >= RESUME_IN_FLIGHT
                    || now < self.next_attempt
                {
                    return Vec::new();
                }
                self.in_flight += 1;
                self.next_attempt = now + RESUME_ATTEMPT_EVERY;
                vec![Action::Attempt {
                    timeout: RESUME_CONNECT_TIMEOUT.min(self.deadline - now),
                }]
            }
            Input::Failed { failure, jitter } => {
                self.in_flight = self.in_flight.saturating_sub(1);
                match failure {
                    Failure::Refused(status @ (401 | 403)) => {
                        let refused =
                            format!("the gateway refused to resume the session (HTTP {status})");
                        if !self.renewable || self.renewals >= RESUME_MAX_RENEWALS {
                            return self.give_up(refused);
                        }
                        self.renewals += 1;
                        self.in_flight = 0;
                        self.renewing = Some(refused);
                        vec![Action::DropAttempts, Action::RenewToken]
                    }
                    // A blackout: the attempt's time is spent; the others overlap it.
                    Failure::TimedOut => Vec::new(),
                    // A quick refusal (the gateway restarting, 503): back off before the next.
                    Failure::Refused(_) | Failure::Other => {
                        let wait = self.backoff.mul_f64(jitter.clamp(0.5, 1.0));
                        self.next_attempt = self.next_attempt.max(now + wait);
                        self.backoff = (self.backoff * 2).min(RESUME_MAX_BACKOFF);
                        Vec::new()
                    }
                }
            }
            Input::Renewed => {
                if self.renewing.take().is_some() {
                    self.next_attempt = now;
                }
                Vec::new()
            }
            Input::RenewFailed(why) => match self.renewing.take() {
                Some(refused) => {
                    self.give_up(format!("{refused}, and no fresh token could be had: {why}"))
                }
                None => Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_secs(30);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn attempt(timeout: Duration) -> Vec<Action> {
        vec![Action::Attempt { timeout }]
    }

    fn failed(failure: Failure) -> Input {
        Input::Failed {
            failure,
            jitter: 1.0,
        }
    }

    /// Every input in every phase of a resume: idle with room for attempts, full of
    /// attempts, renewing, past the deadline, over.
    #[test]
    fn the_table() {
        let t0 = Instant::now();
        let at = |d: Duration| t0 + d;
        type Case = (
            &'static str,
            fn(Instant) -> Resume,
            Input,
            Duration,
            Vec<Action>,
        );
        let fresh: fn(Instant) -> Resume = |t0| Resume::start(t0, BUDGET, true);
        let seed: fn(Instant) -> Resume = |t0| Resume::start(t0, BUDGET, false);
        let full: fn(Instant) -> Resume = |t0| {
            let mut r = Resume::start(t0, BUDGET, true);
            r.in_flight = RESUME_IN_FLIGHT;
            r
        };
        let renewing: fn(Instant) -> Resume = |t0| {
            let mut r = Resume::start(t0, BUDGET, true);
            r.renewing = Some("refused".into());
            r.renewals = 1;
            r
        };
        let renewed_out: fn(Instant) -> Resume = |t0| {
            let mut r = Resume::start(t0, BUDGET, true);
            r.renewals = RESUME_MAX_RENEWALS;
            r.in_flight = 1;
            r
        };
        let one_in_flight: fn(Instant) -> Resume = |t0| {
            let mut r = Resume::start(t0, BUDGET, true);
            r.in_flight = 1;
            r.next_attempt = t0 + RESUME_ATTEMPT_EVERY;
            r
        };
        let over: fn(Instant) -> Resume = |t0| {
            let mut r = Resume::start(t0, BUDGET, true);
            r.over = true;
            r
        };
        let refused = |s: u16| format!("the gateway refused to resume the session (HTTP {s})");
        let cases: Vec<Case> = vec![
            (
                "an attempt at once",
                fresh,
                Input::Due,
                ms(0),
                attempt(RESUME_CONNECT_TIMEOUT),
            ),
            (
                "no attempt before its time",
                one_in_flight,
                Input::Due,
                ms(100),
                vec![],
            ),
            (
                "another while the first hangs",
                one_in_flight,
                Input::Due,
                ms(300),
                attempt(RESUME_CONNECT_TIMEOUT),
            ),
            (
                "none past the most in flight",
                full,
                Input::Due,
                ms(300),
                vec![],
            ),
            ("none while renewing", renewing, Input::Due, ms(300), vec![]),
            (
                "an attempt never outlives the budget",
                fresh,
                Input::Due,
                BUDGET - ms(1000),
                attempt(ms(1000)),
            ),
            (
                "the budget spent",
                fresh,
                Input::Due,
                BUDGET,
                vec![Action::GiveUp(format!(
                    "the signaling connection did not come back within {BUDGET:?}"
                ))],
            ),
            (
                "the budget spent while renewing",
                renewing,
                Input::Due,
                BUDGET,
                vec![Action::GiveUp(format!(
                    "the signaling connection did not come back within {BUDGET:?}"
                ))],
            ),
            (
                "401 renews",
                one_in_flight,
                failed(Failure::Refused(401)),
                ms(10),
                vec![Action::DropAttempts, Action::RenewToken],
            ),
            (
                "403 renews",
                one_in_flight,
                failed(Failure::Refused(403)),
                ms(10),
                vec![Action::DropAttempts, Action::RenewToken],
            ),
            (
                "401 without a renewer gives up",
                seed,
                failed(Failure::Refused(401)),
                ms(10),
                vec![Action::GiveUp(refused(401))],
            ),
            (
                "401 past the renewals gives up",
                renewed_out,
                failed(Failure::Refused(401)),
                ms(10),
                vec![Action::GiveUp(refused(401))],
            ),
            (
                "503 backs off",
                one_in_flight,
                failed(Failure::Refused(503)),
                ms(10),
                vec![],
            ),
            (
                "a reset backs off",
                one_in_flight,
                failed(Failure::Other),
                ms(10),
                vec![],
            ),
            (
                "a timeout waits for the others",
                one_in_flight,
                failed(Failure::TimedOut),
                ms(10),
                vec![],
            ),
            (
                "a fresh token: attempts again",
                renewing,
                Input::Renewed,
                ms(10),
                vec![],
            ),
            (
                "no token: gives up saying both",
                renewing,
                Input::RenewFailed("offline".into()),
                ms(10),
                vec![Action::GiveUp(format!(
                    "{}, and no fresh token could be had: offline",
                    "refused"
                ))],
            ),
            (
                "a late renewal answer is ignored",
                fresh,
                Input::RenewFailed("late".into()),
                ms(10),
                vec![],
            ),
            ("over is over", over, Input::Due, BUDGET, vec![]),
            (
                "over ignores failures",
                over,
                failed(Failure::Refused(401)),
                ms(0),
                vec![],
            ),
        ];
        for (what, make, input, after, expect) in cases {
            let mut r = make(t0);
            assert_eq!(r.step(input, at(after)), expect, "{what}");
        }
    }

    #[test]
    fn quick_failures_back_off_doubling_to_the_cap_and_renewal_resumes_at_once() {
        let t0 = Instant::now();
        let mut r = Resume::start(t0, BUDGET, true);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            assert_eq!(r.step(Input::Due, now), attempt(RESUME_CONNECT_TIMEOUT));
            r.step(failed(Failure::Other), now);
            waits.push(r.wake_at() - now);
            now = r.wake_at();
        }
        // The first backoff (250 ms) is shorter than the attempts' own pace (300 ms).
        assert_eq!(
            waits,
            [ms(300), ms(500), ms(1000), ms(2000), ms(2000), ms(2000)]
        );
        // Jitter shortens a wait to no less than half.
        r.step(Input::Due, now);
        r.step(
            Input::Failed {
                failure: Failure::Other,
                jitter: 0.1,
            },
            now,
        );
        assert_eq!(r.wake_at() - now, ms(1000));
        // A refusal with a renewer: nothing starts until the token comes, then at once.
        now = r.wake_at();
        r.step(Input::Due, now);
        r.step(failed(Failure::Refused(401)), now);
        assert_eq!(r.wake_at(), t0 + BUDGET, "only the deadline while renewing");
        r.step(Input::Renewed, now + ms(40));
        assert_eq!(r.wake_at(), now + ms(40));
    }

    #[test]
    fn attempts_overlap_up_to_the_most_in_flight() {
        let t0 = Instant::now();
        let mut r = Resume::start(t0, BUDGET, false);
        let mut started = 0;
        let mut now = t0;
        while now < t0 + ms(5_000) {
            if r.wake_at() <= now {
                started += r.step(Input::Due, now).len();
            }
            now += ms(10);
        }
        assert_eq!(
            started, RESUME_IN_FLIGHT,
            "no answer from any: six hang at once"
        );
        r.step(failed(Failure::TimedOut), now);
        assert_eq!(r.step(Input::Due, now), attempt(RESUME_CONNECT_TIMEOUT));
    }
}
