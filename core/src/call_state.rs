//! One state machine for every call, outgoing or incoming: explicit states, inputs and end
//! reasons, and a pure `step` that maps (call, input) to the new state and the effects the
//! async layer must perform (REST actions, joining or leaving media, ring timers, events).
//! Timers are inputs too, so every transition is a table row, illegal ones included.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Outgoing,
    Incoming,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    LocalHangup,
    RemoteHangup,
    Declined,
    Busy,
    /// The caller gave up before an answer.
    Cancelled,
    /// Nobody answered before the ring timeout, or the push came too late.
    Missed,
    Failed(String),
    AnsweredElsewhere,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing: waiting for the backend to accept `initiateCall`.
    Dialing,
    /// Outgoing: the callee's phone rings. Incoming: this phone rings.
    Ringing,
    /// Answered; media is being set up.
    Connecting,
    /// Remote audio arrives.
    Connected,
    Ended(EndReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The backend accepted the outgoing call.
    Dialed,
    Answer,
    Decline,
    Hangup,
    RemoteAnswered,
    RemoteDeclined,
    RemoteCancelled,
    RemoteHangup,
    RemoteBusy,
    /// An incoming call while this device is in another call.
    LocalBusy,
    MediaConnected,
    MediaFailed(String),
    RingTimeout,
    AnsweredElsewhere,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    JoinMedia,
    LeaveMedia,
    /// REST `endCall` for this device's leg.
    EndCall,
    /// Extended profile `declineCall` (seed: `endCall` for the decliner).
    DeclineCall,
    /// Extended profile `cancelCall` (seed: `endCall` for the caller).
    CancelCall,
    StartRingTimer,
    StopRingTimer,
    /// Tell the app the new state.
    Emit(CallState),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not possible while the call is {state:?}")]
pub struct Illegal {
    pub state: CallState,
    pub input: Input,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub direction: Direction,
    pub state: CallState,
}

impl Call {
    pub fn outgoing() -> Self {
        Call {
            direction: Direction::Outgoing,
            state: CallState::Dialing,
        }
    }

    /// An incoming call starts ringing at once (CallKit has already been told).
    pub fn incoming() -> Self {
        Call {
            direction: Direction::Incoming,
            state: CallState::Ringing,
        }
    }

    /// Applies `input`; on success the call is in the new state and the effects are returned.
    pub fn apply(&mut self, input: Input) -> Result<Vec<Effect>, Illegal> {
        let (next, mut effects) =
            step(self.direction, &self.state, &input).ok_or_else(|| Illegal {
                state: self.state.clone(),
                input: input.clone(),
            })?;
        if next != self.state {
            effects.push(Effect::Emit(next.clone()));
        }
        self.state = next;
        Ok(effects)
    }
}

fn ended(reason: EndReason) -> CallState {
    CallState::Ended(reason)
}

/// The transition table. `None` is an illegal input for that state.
pub fn step(dir: Direction, state: &CallState, input: &Input) -> Option<(CallState, Vec<Effect>)> {
    use CallState::*;
    use Direction::*;
    use Effect::*;
    use Input as I;
    Some(match (dir, state, input) {
        (_, Ended(_), _) => return None,

        (Outgoing, Dialing, I::Dialed) => (Ringing, vec![StartRingTimer, JoinMedia]),
        (Outgoing, Dialing, I::RemoteBusy) => (ended(EndReason::Busy), vec![]),
        (Outgoing, Dialing, I::Hangup) => (ended(EndReason::Cancelled), vec![CancelCall]),
        (Outgoing, Dialing, I::MediaFailed(e)) => {
            (ended(EndReason::Failed(e.clone())), vec![EndCall])
        }

        // Seed profile: remote audio arriving is the only sign of an answer.
        (Outgoing, Ringing, I::RemoteAnswered) => (Connecting, vec![StopRingTimer]),
        (Outgoing, Ringing, I::MediaConnected) => (Connected, vec![StopRingTimer]),
        (Outgoing, Ringing, I::RemoteDeclined) => (
            ended(EndReason::Declined),
            vec![StopRingTimer, LeaveMedia, EndCall],
        ),
        (Outgoing, Ringing, I::RemoteBusy) => (
            ended(EndReason::Busy),
            vec![StopRingTimer, LeaveMedia, EndCall],
        ),
        (Outgoing, Ringing, I::RingTimeout) => {
            (ended(EndReason::Missed), vec![LeaveMedia, CancelCall])
        }
        (Outgoing, Ringing, I::Hangup) => (
            ended(EndReason::Cancelled),
            vec![StopRingTimer, LeaveMedia, CancelCall],
        ),
        // Seed profile: the session ending while the callee rings (a decline or its timeout
        // released it) is all the caller learns.
        (Outgoing, Ringing, I::RemoteHangup) => (
            ended(EndReason::RemoteHangup),
            vec![StopRingTimer, LeaveMedia, EndCall],
        ),
        (Outgoing, Ringing, I::MediaFailed(e)) => (
            ended(EndReason::Failed(e.clone())),
            vec![StopRingTimer, LeaveMedia, EndCall],
        ),

        (Incoming, Ringing, I::Answer) => (Connecting, vec![StopRingTimer, JoinMedia]),
        (Incoming, Ringing, I::Decline) => {
            (ended(EndReason::Declined), vec![StopRingTimer, DeclineCall])
        }
        (Incoming, Ringing, I::LocalBusy) => {
            (ended(EndReason::Busy), vec![StopRingTimer, DeclineCall])
        }
        (Incoming, Ringing, I::RemoteCancelled) => {
            (ended(EndReason::Cancelled), vec![StopRingTimer])
        }
        (Incoming, Ringing, I::RingTimeout) => (ended(EndReason::Missed), vec![DeclineCall]),
        // Another device of this user declined, or was busy.
        (Incoming, Ringing, I::RemoteDeclined) => (ended(EndReason::Declined), vec![StopRingTimer]),
        (Incoming, Ringing, I::RemoteBusy) => (ended(EndReason::Busy), vec![StopRingTimer]),
        (Incoming, Ringing, I::AnsweredElsewhere) => {
            (ended(EndReason::AnsweredElsewhere), vec![StopRingTimer])
        }

        (_, Connecting, I::MediaConnected) => (Connected, vec![]),
        (_, Connecting, I::RemoteAnswered) => (Connecting, vec![]),
        (_, Connecting, I::Hangup) => (ended(EndReason::LocalHangup), vec![LeaveMedia, EndCall]),
        (_, Connecting, I::RemoteHangup | I::RemoteCancelled) => {
            (ended(EndReason::RemoteHangup), vec![LeaveMedia, EndCall])
        }
        (_, Connecting, I::MediaFailed(e)) => (
            ended(EndReason::Failed(e.clone())),
            vec![LeaveMedia, EndCall],
        ),

        (_, Connected, I::MediaConnected | I::RemoteAnswered) => (Connected, vec![]),
        (_, Connected, I::Hangup) => (ended(EndReason::LocalHangup), vec![LeaveMedia, EndCall]),
        (_, Connected, I::RemoteHangup) => {
            (ended(EndReason::RemoteHangup), vec![LeaveMedia, EndCall])
        }
        (_, Connected, I::MediaFailed(e)) => (
            ended(EndReason::Failed(e.clone())),
            vec![LeaveMedia, EndCall],
        ),

        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallState::*;
    use Direction::*;

    fn all_inputs() -> Vec<Input> {
        vec![
            Input::Dialed,
            Input::Answer,
            Input::Decline,
            Input::Hangup,
            Input::RemoteAnswered,
            Input::RemoteDeclined,
            Input::RemoteCancelled,
            Input::RemoteHangup,
            Input::RemoteBusy,
            Input::LocalBusy,
            Input::MediaConnected,
            Input::MediaFailed("x".into()),
            Input::RingTimeout,
            Input::AnsweredElsewhere,
        ]
    }

    /// (direction, from, input, to) — every legal transition, one row each.
    fn table() -> Vec<(Direction, CallState, Input, CallState)> {
        let f = || Input::MediaFailed("ice".into());
        let failed = || Ended(EndReason::Failed("ice".into()));
        let mut rows = vec![
            (Outgoing, Dialing, Input::Dialed, Ringing),
            (Outgoing, Dialing, Input::RemoteBusy, Ended(EndReason::Busy)),
            (
                Outgoing,
                Dialing,
                Input::Hangup,
                Ended(EndReason::Cancelled),
            ),
            (Outgoing, Dialing, f(), failed()),
            (Outgoing, Ringing, Input::RemoteAnswered, Connecting),
            (Outgoing, Ringing, Input::MediaConnected, Connected),
            (
                Outgoing,
                Ringing,
                Input::RemoteDeclined,
                Ended(EndReason::Declined),
            ),
            (Outgoing, Ringing, Input::RemoteBusy, Ended(EndReason::Busy)),
            (
                Outgoing,
                Ringing,
                Input::RingTimeout,
                Ended(EndReason::Missed),
            ),
            (
                Outgoing,
                Ringing,
                Input::Hangup,
                Ended(EndReason::Cancelled),
            ),
            (
                Outgoing,
                Ringing,
                Input::RemoteHangup,
                Ended(EndReason::RemoteHangup),
            ),
            (Outgoing, Ringing, f(), failed()),
            (Incoming, Ringing, Input::Answer, Connecting),
            (
                Incoming,
                Ringing,
                Input::RemoteDeclined,
                Ended(EndReason::Declined),
            ),
            (Incoming, Ringing, Input::RemoteBusy, Ended(EndReason::Busy)),
            (
                Incoming,
                Ringing,
                Input::Decline,
                Ended(EndReason::Declined),
            ),
            (Incoming, Ringing, Input::LocalBusy, Ended(EndReason::Busy)),
            (
                Incoming,
                Ringing,
                Input::RemoteCancelled,
                Ended(EndReason::Cancelled),
            ),
            (
                Incoming,
                Ringing,
                Input::RingTimeout,
                Ended(EndReason::Missed),
            ),
            (
                Incoming,
                Ringing,
                Input::AnsweredElsewhere,
                Ended(EndReason::AnsweredElsewhere),
            ),
        ];
        for dir in [Outgoing, Incoming] {
            rows.extend([
                (dir, Connecting, Input::MediaConnected, Connected),
                (dir, Connecting, Input::RemoteAnswered, Connecting),
                (
                    dir,
                    Connecting,
                    Input::Hangup,
                    Ended(EndReason::LocalHangup),
                ),
                (
                    dir,
                    Connecting,
                    Input::RemoteHangup,
                    Ended(EndReason::RemoteHangup),
                ),
                (
                    dir,
                    Connecting,
                    Input::RemoteCancelled,
                    Ended(EndReason::RemoteHangup),
                ),
                (dir, Connecting, f(), failed()),
                (dir, Connected, Input::MediaConnected, Connected),
                (dir, Connected, Input::RemoteAnswered, Connected),
                (dir, Connected, Input::Hangup, Ended(EndReason::LocalHangup)),
                (
                    dir,
                    Connected,
                    Input::RemoteHangup,
                    Ended(EndReason::RemoteHangup),
                ),
                (dir, Connected, f(), failed()),
            ]);
        }
        rows
    }

    #[test]
    fn every_row_of_the_table_holds() {
        for (dir, from, input, to) in table() {
            let (next, _) = step(dir, &from, &input)
                .unwrap_or_else(|| panic!("{dir:?} {from:?} {input:?} is legal"));
            assert_eq!(next, to, "{dir:?} {from:?} {input:?}");
        }
    }

    #[test]
    fn everything_not_in_the_table_is_illegal() {
        let states = [
            Dialing,
            Ringing,
            Connecting,
            Connected,
            Ended(EndReason::LocalHangup),
            Ended(EndReason::Cancelled),
        ];
        let table = table();
        for dir in [Outgoing, Incoming] {
            for state in &states {
                for input in all_inputs() {
                    let listed = table.iter().any(|(d, s, i, _)| {
                        *d == dir && s == state && {
                            std::mem::discriminant(i) == std::mem::discriminant(&input)
                        }
                    });
                    assert_eq!(
                        step(dir, state, &input).is_some(),
                        listed,
                        "{dir:?} {state:?} {input:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn answer_after_cancel_and_hangup_twice_are_illegal() {
        let mut call = Call::incoming();
        call.apply(Input::RemoteCancelled).unwrap();
        assert_eq!(
            call.apply(Input::Answer),
            Err(Illegal {
                state: Ended(EndReason::Cancelled),
                input: Input::Answer
            })
        );
        let mut call = Call::outgoing();
        call.apply(Input::Dialed).unwrap();
        call.apply(Input::MediaConnected).unwrap();
        call.apply(Input::Hangup).unwrap();
        assert!(call.apply(Input::Hangup).is_err());
        assert_eq!(call.state, Ended(EndReason::LocalHangup));
    }

    #[test]
    fn effects_say_what_to_do_and_emit_each_change_once() {
        let mut call = Call::outgoing();
        assert_eq!(
            call.apply(Input::Dialed).unwrap(),
            vec![
                Effect::StartRingTimer,
                Effect::JoinMedia,
                Effect::Emit(Ringing)
            ]
        );
        assert_eq!(
            call.apply(Input::MediaConnected).unwrap(),
            vec![Effect::StopRingTimer, Effect::Emit(Connected)]
        );
        assert_eq!(
            call.apply(Input::MediaConnected).unwrap(),
            vec![],
            "no change, no event"
        );
        assert_eq!(
            call.apply(Input::Hangup).unwrap(),
            vec![
                Effect::LeaveMedia,
                Effect::EndCall,
                Effect::Emit(Ended(EndReason::LocalHangup))
            ]
        );
        let mut call = Call::incoming();
        assert_eq!(
            call.apply(Input::LocalBusy).unwrap(),
            vec![
                Effect::StopRingTimer,
                Effect::DeclineCall,
                Effect::Emit(Ended(EndReason::Busy))
            ]
        );
    }
}
