//! The call scenarios against a simulated backend and media, on tokio's paused clock: the
//! whole call logic (manager, actor, machine, events) with no socket, in milliseconds.
//! The same scenarios run end to end against the mock in `core/tests/incoming_calls.rs`.

//!
//! `world` is the simulated backend and media; `recovery` runs calls through the real
//! recovery machines.

mod recovery;
mod world;

use std::time::Duration;

use super::events::{lock, CallUpdate, UpdateKind};
use super::machine::{CallState, EndReason, Profile};
use super::PushOutcome;
use crate::backend::event_channel::{CallEnd, ServerEvent};
use crate::backend::rest::RestError;
use crate::error::Error;
use crate::media::link::{MediaEnd, MediaEvent};

use world::*;

#[tokio::test(start_paused = true)]
async fn placed_call_answered_then_hung_up() {
    for p in profiles() {
        let w = world(p);
        let states = w.m.subscribe();
        let call = w.m.start_call("bob").await.unwrap();
        assert_eq!(call.shared.state(), CallState::Ringing);
        assert!(w.log.has("join caller-token"));
        if p == Profile::Extended {
            w.server(ServerEvent::Answered(CallEnd {
                call_id: "0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d".into(),
                ..CallEnd::default()
            }));
            reach(&call, CallState::Connecting).await;
        }
        w.media_event(MediaEvent::Connected);
        reach(&call, CallState::Connected).await;
        call.act(super::machine::Input::Hangup).await.unwrap();
        assert_eq!(
            call.shared.state(),
            CallState::Ended(EndReason::LocalHangup)
        );
        assert_eq!(
            w.log.all(),
            vec!["initiate bob", "join caller-token", "leave", "endCall"],
            "{p:?}"
        );
        let mut seen = Vec::new();
        while let Some(u) = states.pop_now() {
            if let UpdateKind::State(s) = u.kind {
                seen.push(s);
            }
        }
        let mut want = vec![CallState::Dialing, CallState::Ringing];
        if p == Profile::Extended {
            want.push(CallState::Connecting);
        }
        want.extend([
            CallState::Connected,
            CallState::Ended(EndReason::LocalHangup),
        ]);
        assert_eq!(seen, want, "{p:?}");
        settle().await;
        assert_eq!(w.m.running(), 0, "the call's task ended");
    }
}

/// One inbox: what the session reported before its join returned is read before the join's
/// result, so the answer that waits for the join finds the call already Connected (with a
/// second channel under an unbiased select, either could come first).
#[tokio::test(start_paused = true)]
async fn media_events_and_the_join_are_read_in_the_order_they_happened() {
    for p in profiles() {
        for _ in 0..20 {
            let w = world_with(p, |_, media| media.connected_during_join = true);
            let call = w.invite(CALL_ID);
            w.m.answer(&call.shared.id).await.unwrap();
            assert_eq!(call.shared.state(), CallState::Connected, "{p:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn invite_answered_joins_with_the_profiles_token() {
    for p in profiles() {
        let w = world(p);
        let call = w.invite(CALL_ID);
        assert_eq!(call.shared.state(), CallState::Ringing);
        w.m.answer(&call.shared.id).await.unwrap();
        assert_eq!(call.shared.state(), CallState::Connecting);
        let want_join = match p {
            Profile::Seed => format!("join h.{CALL_ID}.s"),
            Profile::Extended => "join callee-token".into(),
        };
        assert!(w.log.has(&want_join), "{p:?}: {:?}", w.log.all());
        assert_eq!(
            w.log.has(&format!("answerCall {CALL_ID}")),
            p == Profile::Extended
        );
        w.media_event(MediaEvent::Connected);
        reach(&call, CallState::Connected).await;
        // The far end hangs up: the session closes.
        w.media_event(MediaEvent::Ended(MediaEnd::SignalingClosed));
        reach(&call, CallState::Ended(EndReason::RemoteHangup)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn invite_declined_tells_the_backend_the_profiles_way() {
    for p in profiles() {
        let w = world(p);
        let call = w.invite(CALL_ID);
        call.act(super::machine::Input::Decline).await.unwrap();
        assert_eq!(call.shared.state(), CallState::Ended(EndReason::Declined));
        let want = match p {
            Profile::Seed => "endCall".to_string(),
            Profile::Extended => format!("declineCall {CALL_ID} declined"),
        };
        assert_eq!(w.log.all(), vec![want], "{p:?}");
        // Answering after the decline is refused and changes nothing.
        let err = w.m.answer(&call.shared.id).await.unwrap_err();
        assert!(
            matches!(err, Error::Illegal(_) | Error::CallUnavailable(_)),
            "{err:?}"
        );
    }
}

/// Closing the client with an invite still ringing declines it (the caller hears so at
/// once instead of ringing on); a call answered before the close is hung up as usual.
#[tokio::test(start_paused = true)]
async fn closing_the_client_declines_a_ringing_invite_and_hangs_up_an_answered_call() {
    for p in profiles() {
        let w = world(p);
        let ringing = w.invite(CALL_ID);
        w.m.shutdown();
        reach(&ringing, CallState::Ended(EndReason::Declined)).await;
        let want = match p {
            Profile::Seed => "endCall".to_string(),
            Profile::Extended => format!("declineCall {CALL_ID} declined"),
        };
        assert_eq!(w.log.all(), vec![want], "{p:?}");

        let w = world(p);
        let answered = w.invite(CALL_ID);
        w.m.answer(&answered.shared.id).await.unwrap();
        w.media_event(MediaEvent::Connected);
        reach(&answered, CallState::Connected).await;
        w.m.shutdown();
        reach(&answered, CallState::Ended(EndReason::LocalHangup)).await;
        settle().await;
        let log = w.log.all();
        assert!(w.log.has("leave") && w.log.has("endCall"), "{p:?}: {log:?}");
        assert!(
            !log.iter().any(|l| l.starts_with("declineCall")),
            "{p:?}: {log:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn caller_gives_up_while_ringing() {
    for p in profiles() {
        let w = world(p);
        let call = w.m.start_call("bob").await.unwrap();
        call.act(super::machine::Input::Hangup).await.unwrap();
        assert_eq!(call.shared.state(), CallState::Ended(EndReason::Cancelled));
        let cancel = match p {
            Profile::Seed => "endCall".to_string(),
            Profile::Extended => "cancelCall 0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d".into(),
        };
        assert_eq!(
            w.log.all(),
            vec![
                "initiate bob".into(),
                "join caller-token".into(),
                "leave".into(),
                cancel
            ]
        );
        // On the callee's side the invite ends as cancelled.
        let w = world(p);
        let invite = w.invite(CALL_ID);
        match p {
            Profile::Extended => w.server(ServerEvent::Cancelled(CallEnd {
                call_id: CALL_ID.into(),
                ..CallEnd::default()
            })),
            Profile::Seed => invite.send(super::machine::Input::RemoteCancelled),
        }
        reach(&invite, CallState::Ended(EndReason::Cancelled)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn ring_timeouts_on_both_sides() {
    for p in profiles() {
        let caller = world(p);
        let callee = world(p);
        caller.m.set_ring_timeout(Duration::from_secs(30));
        callee.m.set_ring_timeout(Duration::from_secs(30));
        let call = caller.m.start_call("bob").await.unwrap();
        let invite = callee.invite(CALL_ID);
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert_eq!(call.shared.state(), CallState::Ringing);
        assert_eq!(invite.shared.state(), CallState::Ringing);
        reach(&call, CallState::Ended(EndReason::Missed)).await;
        reach(&invite, CallState::Ended(EndReason::Missed)).await;
        settle().await;
        // The caller gives up the profile's way; the callee's timeout is endCall on the seed
        // and nothing on the extended backend (the caller's own timer ends it there).
        match p {
            Profile::Seed => {
                assert_eq!(
                    caller.log.all(),
                    vec!["initiate bob", "join caller-token", "leave", "endCall"]
                );
                assert_eq!(callee.log.all(), vec!["endCall"]);
            }
            Profile::Extended => {
                assert!(caller
                    .log
                    .has("cancelCall 0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d"));
                assert!(callee.log.all().is_empty(), "{:?}", callee.log.all());
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn busy_both_ways() {
    for p in profiles() {
        // The callee is busy: the placed call ends as busy and start_call says why.
        let w = world_with(p, |b, _| b.callee_busy = true);
        let err = w.m.start_call("bob").await.err().unwrap();
        assert!(matches!(err, Error::Rest(RestError::Busy(_))), "{err:?}");
        assert!(w.m.active().is_none());
        // This device is busy: an invite during a call ends as busy at once.
        let w = world(p);
        let call = w.m.start_call("carol").await.unwrap();
        let invite = w.invite(CALL_ID);
        reach(&invite, CallState::Ended(EndReason::Busy)).await;
        settle().await;
        assert_eq!(
            call.shared.state(),
            CallState::Ringing,
            "the call in progress goes on"
        );
        assert_eq!(
            w.log.has(&format!("declineCall {CALL_ID} busy")),
            p == Profile::Extended
        );
        assert!(
            !w.log.has("endCall"),
            "seed: no endCall, it would end our own call"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_invite_during_the_last_calls_teardown_rings() {
    for p in profiles() {
        // Leaving takes 2 s here (a slow network); the next invite comes in meanwhile.
        let w = world_with(p, |_, m| m.leave_delay = Duration::from_secs(2));
        let call = w.m.start_call("carol").await.unwrap();
        w.media_event(MediaEvent::Connected);
        reach(&call, CallState::Connected).await;
        let hangup = call.act(super::machine::Input::Hangup);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!w.log.has("leave"), "still tearing down");
        let invite = w.invite(CALL_ID);
        settle().await;
        assert_eq!(invite.shared.state(), CallState::Ringing, "{p:?}: not busy");
        hangup.await.unwrap();
        w.m.answer(&invite.shared.id).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_release_acts_for_the_registration_its_call_was_made_under() {
    for p in profiles() {
        // Leaving takes 2 s; the device registers again meanwhile (the backend had forgotten
        // it, or its push token moved). The call's endCall still goes out as the clientId
        // the call was made under (on the extended backend naming the call), never as the
        // new one, whose next call it would end.
        let w = world_with(p, |_, m| m.leave_delay = Duration::from_secs(2));
        let invite = w.invite(CALL_ID);
        w.m.answer(&invite.shared.id).await.unwrap();
        w.media_event(MediaEvent::Connected);
        reach(&invite, CallState::Connected).await;
        let hangup = invite.act(super::machine::Input::Hangup);
        tokio::time::sleep(Duration::from_millis(100)).await;
        *lock(&w.client_id) = "me-2".into();
        hangup.await.unwrap();
        let named = match p {
            Profile::Extended => invite.shared.id.clone(),
            Profile::Seed => "-".into(),
        };
        let acted = w.acted_as.all();
        assert!(
            acted.contains(&format!("endCall me {named}")),
            "{p:?}: {acted:?}"
        );
        assert!(
            !acted.iter().any(|a| a.contains("me-2")),
            "{p:?}: {acted:?}"
        );

        // The next call is the new registration's.
        let call = w.m.start_call("carol").await.unwrap();
        assert!(
            w.acted_as.has("initiate me-2 -"),
            "{p:?}: {:?}",
            w.acted_as.all()
        );
        call.hangup().await.unwrap();
        let acted = w.acted_as.all();
        let last = acted.last().unwrap();
        assert!(
            last.starts_with("endCall me-2 ") || last.starts_with("cancelCall me-2 "),
            "{p:?}: {acted:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn glare_while_dialing_the_invite_rings_and_the_backend_decides() {
    for p in profiles() {
        // Our initiateCall is in flight when the other side's invite arrives: the invite
        // rings (not busy), and our call ends as busy when the backend refuses it.
        let w = world_with(p, |b, _| {
            b.initiate_delay = Duration::from_millis(300);
            b.callee_busy = true;
        });
        let start = w.m.start_call("bob");
        tokio::pin!(start);
        assert!(tokio::time::timeout(Duration::from_millis(100), &mut start)
            .await
            .is_err());
        let invite = w.invite(CALL_ID);
        let lost = start.await.err().unwrap();
        assert!(matches!(lost, Error::Rest(RestError::Busy(_))), "{lost:?}");
        assert_eq!(invite.shared.state(), CallState::Ringing, "{p:?}");
        w.m.answer(&invite.shared.id).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn glare_each_side_sees_the_other_busy() {
    for p in profiles() {
        // Both place a call at the same moment: each device's own call holds it, so each
        // invite that arrives ends as busy, and neither placed call is disturbed.
        let w = world(p);
        let call = w.m.start_call("bob").await.unwrap();
        let invite = w.invite(CALL_ID);
        reach(&invite, CallState::Ended(EndReason::Busy)).await;
        assert_eq!(call.shared.state(), CallState::Ringing);
    }
}

#[tokio::test(start_paused = true)]
async fn duplicate_stale_and_ended_pushes() {
    for p in profiles() {
        let w = world(p);
        let call = w.invite(CALL_ID);
        let (again, none) = w.m.handle_push(&w.push(CALL_ID, 1_000), 1_200).unwrap();
        assert!(matches!(
            again,
            PushOutcome::Ignored {
                reason: super::IgnoreReason::Duplicate,
                ..
            }
        ));
        assert!(none.is_none());
        call.act(super::machine::Input::Decline).await.unwrap();
        // The push of a call already over is a duplicate too, and rings nothing.
        let (late, _) = w.m.handle_push(&w.push(CALL_ID, 1_000), 5_000).unwrap();
        assert!(matches!(late, PushOutcome::Ignored { .. }));
        if p == Profile::Extended {
            let other = "2b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";
            let (stale, none) = w.m.handle_push(&w.push(other, 0), 60_000).unwrap();
            assert!(matches!(
                stale,
                PushOutcome::Ignored {
                    reason: super::IgnoreReason::Expired,
                    ..
                }
            ));
            assert!(none.is_none());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn answered_elsewhere() {
    // Extended: another device of the user answers; this one stops ringing.
    let w = world(Profile::Extended);
    let call = w.invite(CALL_ID);
    w.server(ServerEvent::Answered(CallEnd {
        call_id: CALL_ID.into(),
        by: Some("bob-tablet".into()),
        ..CallEnd::default()
    }));
    reach(&call, CallState::Ended(EndReason::AnsweredElsewhere)).await;
    // And answering a call the backend gave to another device fails, typed.
    let w = world_with(Profile::Extended, |b, _| b.answer_gone = true);
    let call = w.invite(CALL_ID);
    let err = w.m.answer(&call.shared.id).await.unwrap_err();
    assert!(
        matches!(err, Error::Rest(RestError::CallGone { .. })),
        "{err:?}"
    );
    reach(&call, CallState::Ended(EndReason::Failed(err.to_string()))).await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_start_call_cancels_the_call() {
    for p in profiles() {
        let w = world_with(p, |b, _| b.initiate_delay = Duration::from_millis(300));
        let start = w.m.start_call("bob");
        // The app stops waiting while initiateCall is in flight.
        assert!(tokio::time::timeout(Duration::from_millis(100), start)
            .await
            .is_err());
        settle().await;
        let cancel = match p {
            Profile::Seed => "endCall".to_string(),
            Profile::Extended => "cancelCall 0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d".into(),
        };
        assert_eq!(
            w.log.all(),
            vec!["initiate bob".to_string(), cancel],
            "{p:?}"
        );
        assert!(w.m.active().is_none());
        assert_eq!(w.m.running(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn an_awaited_hangup_completes_when_the_waiter_is_dropped() {
    let w = world_with(Profile::Seed, |_, m| m.leave_delay = Duration::from_secs(1));
    let call = w.m.start_call("bob").await.unwrap();
    drop(call.act(super::machine::Input::Hangup));
    settle().await;
    settle().await;
    settle().await;
    assert_eq!(
        w.log.all(),
        vec!["initiate bob", "join caller-token", "leave", "endCall"]
    );
}

#[tokio::test(start_paused = true)]
async fn reconnecting_and_network_change() {
    let w = world(Profile::Seed);
    let call = w.m.start_call("bob").await.unwrap();
    w.media_event(MediaEvent::Connected);
    reach(&call, CallState::Connected).await;
    w.media_event(MediaEvent::Reconnecting);
    reach(&call, CallState::Reconnecting).await;
    w.m.network_changed();
    settle().await;
    assert!(w.log.has("restartIce"));
    w.media_event(MediaEvent::Connected);
    reach(&call, CallState::Connected).await;
    w.media_event(MediaEvent::Ended(MediaEnd::ConnectionFailed));
    reach(
        &call,
        CallState::Ended(EndReason::Failed("the media connection was lost".into())),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn only_an_extended_call_can_renew_its_token_and_it_names_its_call() {
    for profile in [Profile::Seed, Profile::Extended] {
        let w = world(profile);
        let _call = w.m.start_call("bob").await.unwrap();
        let renew = lock(&w.media.renew).clone();
        match profile {
            Profile::Seed => assert!(renew.is_none(), "the seed has no renewToken"),
            Profile::Extended => {
                let fresh = renew.expect("a renewer")().await.unwrap();
                assert_eq!(fresh, "renewed-token");
                assert!(w.log.has("renewToken 0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d"));
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_connection_lost_past_recovery_ends_the_call_as_connection_lost_with_its_cause() {
    let w = world(Profile::Seed);
    let call = w.m.start_call("bob").await.unwrap();
    w.media_event(MediaEvent::Connected);
    reach(&call, CallState::Connected).await;
    w.media_event(MediaEvent::Reconnecting);
    reach(&call, CallState::Reconnecting).await;
    w.media_event(MediaEvent::Ended(MediaEnd::ConnectionLost(
        "the signaling connection did not come back within 30s".into(),
    )));
    reach(
        &call,
        CallState::Ended(EndReason::ConnectionLost(
            "the signaling connection did not come back within 30s".into(),
        )),
    )
    .await;
    // Its leg is released at the backend like any other end.
    settle().await;
    assert!(w.log.has("endCall"));
}

#[tokio::test(start_paused = true)]
async fn every_subscriber_gets_every_state_even_a_late_one_starts_with_the_current() {
    let w = world(Profile::Seed);
    let call = w.m.start_call("bob").await.unwrap();
    let late = w.m.subscribe_call(&call);
    w.media_event(MediaEvent::Connected);
    for i in 0..100 {
        w.media_event(MediaEvent::AudioLevel {
            local: i as f32,
            remote: 0.0,
        });
    }
    reach(&call, CallState::Connected).await;
    call.act(super::machine::Input::Hangup).await.unwrap();
    let got: Vec<CallUpdate> = std::iter::from_fn(|| late.pop_now()).collect();
    let states: Vec<_> = got
        .iter()
        .filter_map(|u| match &u.kind {
            UpdateKind::State(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            CallState::Ringing,
            CallState::Connected,
            CallState::Ended(EndReason::LocalHangup)
        ]
    );
    let levels = got
        .iter()
        .filter(|u| matches!(u.kind, UpdateKind::Level { .. }))
        .count();
    assert!(levels <= 1, "levels are coalesced: {levels}");
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_invites_rings_at_most_eight_at_once() {
    let w = world(Profile::Extended);
    let mut calls = Vec::new();
    for i in 0..20 {
        let id = format!("4b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c{i:02}");
        calls.push(w.invite(&id));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    settle().await;
    let ringing = calls
        .iter()
        .filter(|c| c.shared.state() == CallState::Ringing)
        .count();
    assert_eq!(ringing, 8, "the newest eight ring");
    assert_eq!(calls[0].shared.state(), CallState::Ended(EndReason::Missed));
    assert_eq!(calls[19].shared.state(), CallState::Ringing);
}

#[tokio::test(start_paused = true)]
async fn an_ended_call_forgotten_by_the_table_still_finishes_its_release() {
    // Leaving takes a second; meanwhile 70 other calls push it out of the table.
    let w = world_with(Profile::Seed, |_, m| m.leave_delay = Duration::from_secs(1));
    let call = w.m.start_call("bob").await.unwrap();
    let id = call.shared.id.clone();
    drop(call.act(super::machine::Input::Hangup));
    drop(call);
    tokio::time::sleep(Duration::from_millis(10)).await;
    for i in 0..70 {
        let other = format!("5b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2{i:03}");
        let c = w.invite(&other);
        c.act(super::machine::Input::Decline).await.unwrap();
    }
    assert!(w.m.get(&id).is_none(), "pushed out of the table");
    settle().await;
    settle().await;
    assert!(w.log.has("leave"));
    let ends = w.log.all().iter().filter(|l| *l == "endCall").count();
    assert_eq!(ends, 71, "the hangup's endCall and the 70 declines");
}

#[tokio::test(start_paused = true)]
async fn a_hangup_racing_a_remote_end_returns_when_the_release_is_done() {
    let w = world_with(Profile::Seed, |_, m| m.leave_delay = Duration::from_secs(1));
    let call = w.m.start_call("bob").await.unwrap();
    w.media_event(MediaEvent::Connected);
    reach(&call, CallState::Connected).await;
    // The far end hangs up and, a moment later, so does the app.
    w.media_event(MediaEvent::Ended(MediaEnd::SignalingClosed));
    tokio::time::sleep(Duration::from_millis(5)).await;
    call.hangup().await.unwrap();
    assert_eq!(
        call.shared.state(),
        CallState::Ended(EndReason::RemoteHangup)
    );
    assert!(
        w.log.has("endCall"),
        "the backend was told before hangup returned"
    );
}
