//! The pure call state machine: one table for every call, outgoing or incoming, on either
//! backend profile. `step(profile, direction, state, input)` returns the next state and the
//! effects to perform; the call actor (`calls::actor`) performs them and decides nothing
//! itself. Timers, media events, event-channel events and the results of REST actions are
//! inputs too, so every transition is a row of the table, illegal ones included.

/// Which backend the call runs against (docs/adr/0006): the seed has only `endCall` and the
/// media session; the extended profile has call ids, `answerCall`, `declineCall`,
/// `cancelCall` and the `/ws` event channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Seed,
    Extended,
}

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
    /// The connection went down and did not come back within the recovery budget, or the
    /// backend no longer knows the session (a refused resume, a restarted backend).
    ConnectionLost(String),
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
    /// The media path is being restored (ICE restart); audio resumes with `Connected`.
    Reconnecting,
    Ended(EndReason),
}

impl CallState {
    pub fn is_ended(&self) -> bool {
        matches!(self, CallState::Ended(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The backend accepted the outgoing call (`initiateCall` returned a token).
    Dialed,
    /// `initiateCall` failed; `busy` when the backend said the callee is in a call.
    DialFailed {
        busy: bool,
        detail: String,
    },
    Answer,
    Decline,
    Hangup,
    /// The event channel's `answered` (extended profile).
    RemoteAnswered,
    RemoteDeclined,
    RemoteCancelled,
    /// The remote party or the backend ended the call (`ended`, or the media session closed).
    RemoteHangup,
    RemoteBusy,
    /// An incoming call while this device is in another call.
    LocalBusy,
    MediaConnected,
    /// The media path is lost and being restored.
    MediaReconnecting,
    MediaFailed(String),
    /// The media session's connection was lost past recovery (see `EndReason::ConnectionLost`).
    ConnectionLost(String),
    RingTimeout,
}

/// Where the participant token for joining comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `initiateCall`'s result (the caller).
    Initiated,
    /// The push's deep link (seed callee).
    Push,
    /// `answerCall` (extended callee: the push carries no token).
    AnswerCall,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// REST `initiateCall`; its result comes back as `Dialed` or `DialFailed`.
    Initiate,
    /// Join the media session; the result comes back as `MediaFailed` or, once remote audio
    /// arrives, `MediaConnected`. `renewable`: a refused resume of the signaling socket may
    /// ask the backend for a fresh token (extended `renewToken`); otherwise it ends the call.
    Join {
        source: TokenSource,
        renewable: bool,
    },
    Leave,
    /// REST `endCall` for this device's leg; `names_call`: with the call's id (the extended
    /// backend ends only that call; the seed's names a client).
    EndCall {
        names_call: bool,
    },
    /// Extended `declineCall` (`reason=busy` when `busy`).
    DeclineCall {
        busy: bool,
    },
    /// Extended `cancelCall`.
    CancelCall,
    StartRingTimer,
    StopRingTimer,
    /// Tell the app the new state (added by `Machine::apply` for every change).
    Emit(CallState),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not possible while the call is {state:?}")]
pub struct Illegal {
    pub state: CallState,
    pub input: Input,
}

/// One call's machine: its profile and direction are fixed, its state moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub profile: Profile,
    pub direction: Direction,
    pub state: CallState,
}

impl Machine {
    /// A call this device places: dialing, with `Initiate` to perform.
    pub fn outgoing(profile: Profile) -> (Self, Vec<Effect>) {
        (
            Machine {
                profile,
                direction: Direction::Outgoing,
                state: CallState::Dialing,
            },
            vec![Effect::Initiate],
        )
    }

    /// An invite rings at once (CallKit has already been told), with its ring timer.
    pub fn incoming(profile: Profile) -> (Self, Vec<Effect>) {
        (
            Machine {
                profile,
                direction: Direction::Incoming,
                state: CallState::Ringing,
            },
            vec![Effect::StartRingTimer],
        )
    }

    /// Applies `input`; on success the call is in the new state and the effects are
    /// returned, ending with `Emit` when the state changed.
    pub fn apply(&mut self, input: Input) -> Result<Vec<Effect>, Illegal> {
        let (next, mut effects) = step(self.profile, self.direction, &self.state, &input)
            .ok_or_else(|| Illegal {
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
pub fn step(
    profile: Profile,
    dir: Direction,
    state: &CallState,
    input: &Input,
) -> Option<(CallState, Vec<Effect>)> {
    use CallState::*;
    use Direction::*;
    use Effect::*;
    use Input as I;
    use Profile::*;
    // What the backend offers this profile: renewing a token, endCall naming its call.
    let extended = profile == Extended;
    let end_call = || EndCall {
        names_call: extended,
    };
    let join = |source| Join {
        source,
        renewable: extended,
    };
    // How this profile tells the backend that this device gives up a call it placed, or
    // declines one it was offered (the seed has only `endCall`).
    let cancel = match profile {
        Seed => end_call(),
        Extended => CancelCall,
    };
    let decline = match profile {
        Seed => end_call(),
        Extended => DeclineCall { busy: false },
    };
    Some(match (dir, state, input) {
        (_, Ended(_), _) => return None,

        (Outgoing, Dialing, I::Dialed) => {
            (Ringing, vec![StartRingTimer, join(TokenSource::Initiated)])
        }
        (Outgoing, Dialing, I::DialFailed { busy: true, .. }) => (ended(EndReason::Busy), vec![]),
        (Outgoing, Dialing, I::DialFailed { detail, .. }) => {
            (ended(EndReason::Failed(detail.clone())), vec![])
        }
        // Given up while `initiateCall` is in flight: the actor cancels once it knows the call.
        (Outgoing, Dialing, I::Hangup) => (ended(EndReason::Cancelled), vec![cancel]),

        // The extended backend says when the callee answered; the seed only shows remote audio.
        (Outgoing, Ringing, I::RemoteAnswered) => (Connecting, vec![StopRingTimer]),
        (Outgoing, Ringing, I::MediaConnected) => (Connected, vec![StopRingTimer]),
        (Outgoing, Ringing, I::RemoteDeclined) => (
            ended(EndReason::Declined),
            vec![StopRingTimer, Leave, end_call()],
        ),
        (Outgoing, Ringing, I::RemoteBusy) => (
            ended(EndReason::Busy),
            vec![StopRingTimer, Leave, end_call()],
        ),
        (Outgoing, Ringing, I::RingTimeout) => (ended(EndReason::Missed), vec![Leave, cancel]),
        (Outgoing, Ringing, I::Hangup) => (
            ended(EndReason::Cancelled),
            vec![StopRingTimer, Leave, cancel],
        ),
        // Seed profile: the session ending while the callee rings (a decline or its timeout
        // released it) is all the caller learns.
        (Outgoing, Ringing, I::RemoteHangup) => (
            ended(EndReason::RemoteHangup),
            vec![StopRingTimer, Leave, end_call()],
        ),
        (Outgoing, Ringing, I::MediaFailed(e)) => (
            ended(EndReason::Failed(e.clone())),
            vec![StopRingTimer, Leave, end_call()],
        ),
        (Outgoing, Ringing, I::ConnectionLost(e)) => (
            ended(EndReason::ConnectionLost(e.clone())),
            vec![StopRingTimer, Leave, end_call()],
        ),
        (Outgoing, Ringing, I::MediaReconnecting) => (Ringing, vec![]),

        (Incoming, Ringing, I::Answer) => {
            let token = match profile {
                Seed => TokenSource::Push,
                Extended => TokenSource::AnswerCall,
            };
            (Connecting, vec![StopRingTimer, join(token)])
        }
        (Incoming, Ringing, I::Decline) => {
            (ended(EndReason::Declined), vec![StopRingTimer, decline])
        }
        // Seed: declining would be `endCall` on our own row, which ends the call we are in;
        // the caller's ring timeout ends this one instead.
        (Incoming, Ringing, I::LocalBusy) => match profile {
            Seed => (ended(EndReason::Busy), vec![StopRingTimer]),
            Extended => (
                ended(EndReason::Busy),
                vec![StopRingTimer, DeclineCall { busy: true }],
            ),
        },
        (Incoming, Ringing, I::RemoteCancelled) => {
            (ended(EndReason::Cancelled), vec![StopRingTimer])
        }
        // Extended: the caller hears `ended` when it gives up; for a call still ringing here
        // that is a cancel.
        (Incoming, Ringing, I::RemoteHangup) => (ended(EndReason::Cancelled), vec![StopRingTimer]),
        // Extended: the callee's timeout is not a decline; the caller's own timer ends it there
        // as missed. Seed: `endCall` releases the session so the caller hears the end.
        (Incoming, Ringing, I::RingTimeout) => match profile {
            Seed => (ended(EndReason::Missed), vec![end_call()]),
            Extended => (ended(EndReason::Missed), vec![]),
        },
        // Another device of this user declined, was busy, or answered.
        (Incoming, Ringing, I::RemoteDeclined) => (ended(EndReason::Declined), vec![StopRingTimer]),
        (Incoming, Ringing, I::RemoteBusy) => (ended(EndReason::Busy), vec![StopRingTimer]),
        (Incoming, Ringing, I::RemoteAnswered) => {
            (ended(EndReason::AnsweredElsewhere), vec![StopRingTimer])
        }

        (_, Connecting, I::MediaConnected) => (Connected, vec![]),
        (_, Connecting | Connected | Reconnecting, I::RemoteAnswered) => (state.clone(), vec![]),
        (_, Connecting | Reconnecting, I::MediaReconnecting) => (state.clone(), vec![]),
        (_, Connected, I::MediaReconnecting) => (Reconnecting, vec![]),
        (_, Connected | Reconnecting, I::MediaConnected) => (Connected, vec![]),
        (_, Connecting | Connected | Reconnecting, I::Hangup) => {
            (ended(EndReason::LocalHangup), vec![Leave, end_call()])
        }
        (_, Connecting | Connected | Reconnecting, I::RemoteHangup | I::RemoteCancelled) => {
            (ended(EndReason::RemoteHangup), vec![Leave, end_call()])
        }
        (_, Connecting | Connected | Reconnecting, I::MediaFailed(e)) => {
            (ended(EndReason::Failed(e.clone())), vec![Leave, end_call()])
        }
        (_, Connecting | Connected | Reconnecting, I::ConnectionLost(e)) => (
            ended(EndReason::ConnectionLost(e.clone())),
            vec![Leave, end_call()],
        ),

        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallState::*;
    use Direction::*;
    use Profile::*;

    fn all_inputs() -> Vec<Input> {
        vec![
            Input::Dialed,
            Input::DialFailed {
                busy: false,
                detail: "x".into(),
            },
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
            Input::MediaReconnecting,
            Input::MediaFailed("x".into()),
            Input::ConnectionLost("x".into()),
            Input::RingTimeout,
        ]
    }

    fn all_states() -> Vec<CallState> {
        vec![
            Dialing,
            Ringing,
            Connecting,
            Connected,
            Reconnecting,
            Ended(EndReason::LocalHangup),
            Ended(EndReason::Cancelled),
        ]
    }

    type Row = (Direction, CallState, Input, CallState);

    /// Every legal transition that is the same on both profiles, one row each.
    fn common_rows() -> Vec<Row> {
        let f = || Input::MediaFailed("ice".into());
        let failed = || Ended(EndReason::Failed("ice".into()));
        let lost = || Input::ConnectionLost("gone".into());
        let ended_lost = || Ended(EndReason::ConnectionLost("gone".into()));
        let mut rows = vec![
            (Outgoing, Dialing, Input::Dialed, Ringing),
            (
                Outgoing,
                Dialing,
                Input::DialFailed {
                    busy: true,
                    detail: "BUSY".into(),
                },
                Ended(EndReason::Busy),
            ),
            (
                Outgoing,
                Dialing,
                Input::Hangup,
                Ended(EndReason::Cancelled),
            ),
            (Outgoing, Ringing, Input::RemoteAnswered, Connecting),
            (Outgoing, Ringing, Input::MediaConnected, Connected),
            (Outgoing, Ringing, Input::MediaReconnecting, Ringing),
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
            (Outgoing, Ringing, lost(), ended_lost()),
            (Incoming, Ringing, Input::Answer, Connecting),
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
                Input::RemoteHangup,
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
                Input::RemoteDeclined,
                Ended(EndReason::Declined),
            ),
            (Incoming, Ringing, Input::RemoteBusy, Ended(EndReason::Busy)),
            (
                Incoming,
                Ringing,
                Input::RemoteAnswered,
                Ended(EndReason::AnsweredElsewhere),
            ),
        ];
        // `DialFailed` that is not busy is a failure with the backend's detail.
        rows.push((
            Outgoing,
            Dialing,
            Input::DialFailed {
                busy: false,
                detail: "ice".into(),
            },
            failed(),
        ));
        for dir in [Outgoing, Incoming] {
            rows.push((dir, Connecting, Input::MediaConnected, Connected));
            rows.push((dir, Connected, Input::MediaReconnecting, Reconnecting));
            rows.push((dir, Connected, Input::MediaConnected, Connected));
            rows.push((dir, Reconnecting, Input::MediaConnected, Connected));
            for s in [Connecting, Reconnecting] {
                rows.push((dir, s.clone(), Input::MediaReconnecting, s));
            }
            for s in [Connecting, Connected, Reconnecting] {
                rows.extend([
                    (dir, s.clone(), Input::RemoteAnswered, s.clone()),
                    (dir, s.clone(), Input::Hangup, Ended(EndReason::LocalHangup)),
                    (
                        dir,
                        s.clone(),
                        Input::RemoteHangup,
                        Ended(EndReason::RemoteHangup),
                    ),
                    (
                        dir,
                        s.clone(),
                        Input::RemoteCancelled,
                        Ended(EndReason::RemoteHangup),
                    ),
                    (dir, s.clone(), f(), failed()),
                    (dir, s.clone(), lost(), ended_lost()),
                ]);
            }
        }
        rows
    }

    #[test]
    fn every_row_of_the_table_holds_on_both_profiles() {
        for profile in [Seed, Extended] {
            for (dir, from, input, to) in common_rows() {
                let (next, _) = step(profile, dir, &from, &input)
                    .unwrap_or_else(|| panic!("{profile:?} {dir:?} {from:?} {input:?} is legal"));
                assert_eq!(next, to, "{profile:?} {dir:?} {from:?} {input:?}");
            }
        }
    }

    fn name<T: std::fmt::Debug>(x: &T) -> String {
        let d = format!("{x:?}");
        d.split(['(', ' ', '{'])
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The table as Mermaid transitions: `From --> To : dir Input`, `To` being `Ended` with
    /// the reason after a slash.
    fn diagram_lines() -> Vec<String> {
        let mut lines: Vec<(String, String, String, Vec<Direction>)> = Vec::new();
        for (dir, from, input, to) in common_rows() {
            let target = match &to {
                Ended(r) => format!("Ended : {{dir}} {} / {}", name(&input), name(r)),
                other => format!("{} : {{dir}} {}", name(other), name(&input)),
            };
            let key = (name(&from), target.clone(), name(&input));
            match lines
                .iter_mut()
                .find(|l| (l.0.clone(), l.1.clone(), l.2.clone()) == key)
            {
                Some(l) => l.3.push(dir),
                None => lines.push((key.0, key.1, key.2, vec![dir])),
            }
        }
        let mut out: Vec<String> = lines
            .into_iter()
            .map(|(from, target, _, dirs)| {
                let dir = match (dirs.contains(&Outgoing), dirs.contains(&Incoming)) {
                    (true, true) => "both",
                    (true, false) => "out",
                    _ => "in",
                };
                format!("{from} --> {}", target.replace("{dir}", dir))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn the_state_diagram_in_architecture_md_is_the_table() {
        // The call diagram is the first one (it starts calls at `Dialing`).
        let drawn = crate::diagrams::drawn_transitions("[*] --> Dialing");
        let table = diagram_lines();
        assert_eq!(
            drawn,
            table,
            "the diagram differs from the table; the table says:\n{}",
            table.join("\n")
        );
    }

    #[test]
    fn everything_not_in_the_table_is_illegal() {
        let table = common_rows();
        for profile in [Seed, Extended] {
            for dir in [Outgoing, Incoming] {
                for state in all_states() {
                    for input in all_inputs() {
                        let listed = table.iter().any(|(d, s, i, _)| {
                            *d == dir
                                && *s == state
                                && std::mem::discriminant(i) == std::mem::discriminant(&input)
                        });
                        assert_eq!(
                            step(profile, dir, &state, &input).is_some(),
                            listed,
                            "{profile:?} {dir:?} {state:?} {input:?}"
                        );
                    }
                }
            }
        }
    }

    fn effects(profile: Profile, dir: Direction, from: CallState, input: Input) -> Vec<Effect> {
        step(profile, dir, &from, &input).unwrap().1
    }

    /// The rows whose effects differ by profile: the machine, not the performer, decides.
    #[test]
    fn the_profile_decides_the_backend_actions() {
        use Effect::*;
        // Answering: the seed's push carries the token; the extended callee asks answerCall.
        assert_eq!(
            effects(Seed, Incoming, Ringing, Input::Answer),
            vec![
                StopRingTimer,
                Join {
                    source: TokenSource::Push,
                    renewable: false
                }
            ]
        );
        assert_eq!(
            effects(Extended, Incoming, Ringing, Input::Answer),
            vec![
                StopRingTimer,
                Join {
                    source: TokenSource::AnswerCall,
                    renewable: true
                }
            ]
        );
        // Declining: endCall (seed) or declineCall (extended).
        assert_eq!(
            effects(Seed, Incoming, Ringing, Input::Decline),
            vec![StopRingTimer, EndCall { names_call: false }]
        );
        assert_eq!(
            effects(Extended, Incoming, Ringing, Input::Decline),
            vec![StopRingTimer, DeclineCall { busy: false }]
        );
        // Busy: nothing on the seed (endCall would end the call in progress).
        assert_eq!(
            effects(Seed, Incoming, Ringing, Input::LocalBusy),
            vec![StopRingTimer]
        );
        assert_eq!(
            effects(Extended, Incoming, Ringing, Input::LocalBusy),
            vec![StopRingTimer, DeclineCall { busy: true }]
        );
        // The callee's ring timeout: seed releases the session; extended leaves it to the caller.
        assert_eq!(
            effects(Seed, Incoming, Ringing, Input::RingTimeout),
            vec![EndCall { names_call: false }]
        );
        assert_eq!(
            effects(Extended, Incoming, Ringing, Input::RingTimeout),
            vec![]
        );
        // Giving up a placed call: endCall (seed) or cancelCall (extended).
        assert_eq!(
            effects(Seed, Outgoing, Ringing, Input::Hangup),
            vec![StopRingTimer, Leave, EndCall { names_call: false }]
        );
        assert_eq!(
            effects(Extended, Outgoing, Ringing, Input::Hangup),
            vec![StopRingTimer, Leave, CancelCall]
        );
        assert_eq!(
            effects(Extended, Outgoing, Ringing, Input::RingTimeout),
            vec![Leave, CancelCall]
        );
        assert_eq!(
            effects(Seed, Outgoing, Dialing, Input::Hangup),
            vec![EndCall { names_call: false }]
        );
        // The effects carry what the performer would otherwise read off the profile: whether
        // endCall names the call, whether a refused resume may renew the token.
        for (p, extended) in [(Seed, false), (Extended, true)] {
            assert_eq!(
                effects(p, Outgoing, Connected, Input::Hangup),
                vec![
                    Leave,
                    EndCall {
                        names_call: extended
                    }
                ]
            );
            assert_eq!(
                effects(p, Outgoing, Dialing, Input::Dialed),
                vec![
                    StartRingTimer,
                    Join {
                        source: TokenSource::Initiated,
                        renewable: extended
                    }
                ]
            );
        }
    }

    #[test]
    fn answer_after_cancel_and_hangup_twice_are_illegal() {
        let (mut call, _) = Machine::incoming(Extended);
        call.apply(Input::RemoteCancelled).unwrap();
        assert_eq!(
            call.apply(Input::Answer),
            Err(Illegal {
                state: Ended(EndReason::Cancelled),
                input: Input::Answer
            })
        );
        let (mut call, first) = Machine::outgoing(Seed);
        assert_eq!(first, vec![Effect::Initiate]);
        call.apply(Input::Dialed).unwrap();
        call.apply(Input::MediaConnected).unwrap();
        call.apply(Input::Hangup).unwrap();
        assert!(call.apply(Input::Hangup).is_err());
        assert_eq!(call.state, Ended(EndReason::LocalHangup));
    }

    #[test]
    fn effects_say_what_to_do_and_emit_each_change_once() {
        let (mut call, _) = Machine::outgoing(Seed);
        assert_eq!(
            call.apply(Input::Dialed).unwrap(),
            vec![
                Effect::StartRingTimer,
                Effect::Join {
                    source: TokenSource::Initiated,
                    renewable: false
                },
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
            call.apply(Input::MediaReconnecting).unwrap(),
            vec![Effect::Emit(Reconnecting)]
        );
        assert_eq!(
            call.apply(Input::MediaConnected).unwrap(),
            vec![Effect::Emit(Connected)]
        );
        assert_eq!(
            call.apply(Input::Hangup).unwrap(),
            vec![
                Effect::Leave,
                Effect::EndCall { names_call: false },
                Effect::Emit(Ended(EndReason::LocalHangup))
            ]
        );
    }
}
