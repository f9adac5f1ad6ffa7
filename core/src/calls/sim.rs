//! The call scenarios against a simulated backend and media, on tokio's paused clock: the
//! whole call logic (manager, actor, machine, events) with no socket, in milliseconds.
//! The same scenarios run end to end against the mock in `core/tests/incoming_calls.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::actor::Ports;
use super::events::{lock, CallUpdate, Hub, UpdateKind};
use super::machine::{CallState, EndReason, Profile};
use super::manager::CallManager;
use super::platform::{CallBackend, OutgoingCall, Registration};
use super::{CallHandle, PushOutcome};
use crate::backend::event_channel::ServerEvent;
use crate::backend::rest::RestError;
use crate::error::{Error, Result};
use crate::media::link::{
    MediaConnector, MediaEnd, MediaError, MediaEvent, MediaEvents, MediaLink, SessionOwner, Timings,
};

/// What the simulated world saw, in order.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, s: impl Into<String>) {
        lock(&self.0).push(s.into());
    }
    fn all(&self) -> Vec<String> {
        lock(&self.0).clone()
    }
    fn has(&self, s: &str) -> bool {
        lock(&self.0).iter().any(|x| x == s)
    }
}

struct SimBackend {
    profile: Profile,
    log: Arc<Log>,
    /// The device's clientId now (a test registers again by changing it).
    client_id: Arc<Mutex<String>>,
    /// Each action with the clientId it acted as and the call it named: `endCall me -`.
    acted_as: Arc<Log>,
    callee_busy: bool,
    /// `answerCall` says the call is gone (answered elsewhere, cancelled).
    answer_gone: bool,
    initiate_delay: Duration,
}

impl SimBackend {
    fn acted(&self, action: &str, me: &Registration, call_id: Option<&str>) {
        self.acted_as.push(format!(
            "{action} {} {}",
            me.client_id,
            call_id.unwrap_or("-")
        ));
    }
}

#[async_trait]
impl CallBackend for SimBackend {
    fn registration(&self) -> Option<Registration> {
        Some(Registration {
            client_id: lock(&self.client_id).clone(),
            secret: (self.profile == Profile::Extended).then(|| "secret".into()),
        })
    }
    async fn initiate(&self, me: &Registration, callee: &str) -> Result<OutgoingCall> {
        self.acted("initiate", me, None);
        tokio::time::sleep(self.initiate_delay).await;
        self.log.push(format!("initiate {callee}"));
        if self.callee_busy {
            return Err(Error::Rest(RestError::Busy("BUSY".into())));
        }
        Ok(OutgoingCall {
            callee_client_id: callee.into(),
            call_id: (self.profile == Profile::Extended)
                .then(|| "0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d".into()),
            participant_token: "caller-token".into(),
            participant_id: None,
            session_id: None,
            expires_at_ms: None,
        })
    }
    async fn answer_call(&self, me: &Registration, call_id: &str) -> Result<String> {
        self.acted("answerCall", me, Some(call_id));
        self.log.push(format!("answerCall {call_id}"));
        if self.answer_gone {
            return Err(Error::Rest(RestError::CallGone {
                code: "CALL_ANSWERED".into(),
                message: "answered elsewhere".into(),
            }));
        }
        Ok("callee-token".into())
    }
    async fn decline_call(&self, me: &Registration, call_id: &str, busy: bool) -> Result<()> {
        self.acted("declineCall", me, Some(call_id));
        self.log.push(format!(
            "declineCall {call_id} {}",
            if busy { "busy" } else { "declined" }
        ));
        Ok(())
    }
    async fn cancel_call(&self, me: &Registration, call_id: &str) -> Result<()> {
        self.acted("cancelCall", me, Some(call_id));
        self.log.push(format!("cancelCall {call_id}"));
        Ok(())
    }
    async fn renew_token(&self, me: &Registration, call_id: &str) -> Result<String> {
        self.acted("renewToken", me, Some(call_id));
        self.log.push(format!("renewToken {call_id}"));
        Ok("renewed-token".into())
    }
    async fn end_call(&self, me: &Registration, call_id: Option<&str>) -> Result<()> {
        self.acted("endCall", me, call_id);
        self.log.push("endCall");
        Ok(())
    }
}

#[derive(Default)]
struct SimMedia {
    log: Arc<Log>,
    /// The events sender of the last session joined, so a test can play the media's part.
    last: Mutex<Option<MediaEvents>>,
    /// The token renewer the last session got (what its link calls on a refused resume).
    renew: Mutex<Option<crate::media::link::TokenRenewer>>,
    leave_delay: Duration,
    /// The session reports remote audio before its join has returned (a fast gateway).
    connected_during_join: bool,
}

struct SimLink {
    log: Arc<Log>,
    events: MediaEvents,
    delay: Duration,
}

#[async_trait]
impl MediaConnector for SimMedia {
    async fn join(
        &self,
        token: &str,
        owner: SessionOwner,
        renew: Option<crate::media::link::TokenRenewer>,
    ) -> std::result::Result<Arc<dyn MediaLink>, MediaError> {
        let events = owner.events;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.log.push(format!("join {token}"));
        *lock(&self.renew) = renew;
        *lock(&self.last) = Some(events.clone());
        if self.connected_during_join {
            let _ = events.send(MediaEvent::Connected);
        }
        Ok(Arc::new(SimLink {
            log: self.log.clone(),
            events,
            delay: self.leave_delay,
        }))
    }
}

#[async_trait]
impl MediaLink for SimLink {
    async fn leave(&self) {
        tokio::time::sleep(self.delay).await;
        self.log.push("leave");
        let _ = self.events.send(MediaEvent::Ended(MediaEnd::Left));
    }
    async fn restart_ice(&self) -> std::result::Result<(), MediaError> {
        self.log.push("restartIce");
        Ok(())
    }
    fn timings(&self) -> Option<Timings> {
        None
    }
}

struct World {
    m: CallManager,
    log: Arc<Log>,
    client_id: Arc<Mutex<String>>,
    acted_as: Arc<Log>,
    media: Arc<SimMedia>,
    profile: Profile,
}

fn world_with(profile: Profile, tweak: impl FnOnce(&mut SimBackend, &mut SimMedia)) -> World {
    let log = Arc::new(Log::default());
    let client_id = Arc::new(Mutex::new("me".to_string()));
    let acted_as = Arc::new(Log::default());
    let mut backend = SimBackend {
        profile,
        log: log.clone(),
        client_id: client_id.clone(),
        acted_as: acted_as.clone(),
        callee_busy: false,
        answer_gone: false,
        initiate_delay: Duration::from_millis(30),
    };
    let mut media = SimMedia {
        log: log.clone(),
        ..Default::default()
    };
    tweak(&mut backend, &mut media);
    let media = Arc::new(media);
    let m = CallManager::new(
        Ports {
            backend: Arc::new(backend),
            media: media.clone(),
            hub: Arc::new(Hub::default()),
        },
        tokio::runtime::Handle::current(),
    );
    World {
        m,
        log,
        client_id,
        acted_as,
        media,
        profile,
    }
}

fn world(profile: Profile) -> World {
    world_with(profile, |_, _| {})
}

const CALL_ID: &str = "1b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";

impl World {
    /// A push as the profile's backend sends it.
    fn push(&self, call_id: &str, sent_at_ms: i64) -> String {
        match self.profile {
            Profile::Extended => serde_json::json!({
                "callId": call_id, "callerId": "alice", "callerName": "Ann Lee",
                "sentAt": sent_at_ms.to_string(),
            })
            .to_string(),
            Profile::Seed => serde_json::json!({
                "pinpoint.notification.body": "Ann Lee is calling you",
                "pinpoint.deeplink": format!("https://my.app.com/incomingCall?tok=h.{call_id}.s"),
            })
            .to_string(),
        }
    }

    fn invite(&self, seed_token_part: &str) -> Arc<CallHandle> {
        let (outcome, call) = self
            .m
            .handle_push(&self.push(seed_token_part, 1_000), 1_000)
            .unwrap();
        assert!(matches!(outcome, PushOutcome::Invite(_)), "{outcome:?}");
        call.unwrap()
    }

    fn media_event(&self, ev: MediaEvent) {
        lock(&self.media.last).as_ref().unwrap().send(ev).unwrap();
    }

    fn server(&self, ev: ServerEvent) {
        self.m.on_server_event(ev, "bob", 1_000);
    }
}

/// Waits (on the paused clock) until the call reaches `want`.
async fn reach(call: &CallHandle, want: CallState) {
    for _ in 0..10_000 {
        if call.shared.state() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the call is {:?}, not {want:?}", call.shared.state());
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn profiles() -> [Profile; 2] {
    [Profile::Seed, Profile::Extended]
}

#[tokio::test(start_paused = true)]
async fn placed_call_answered_then_hung_up() {
    for p in profiles() {
        let w = world(p);
        let states = w.m.subscribe();
        let call = w.m.start_call("bob").await.unwrap();
        assert_eq!(call.shared.state(), CallState::Ringing);
        assert!(w.log.has("join caller-token"));
        if p == Profile::Extended {
            w.server(ServerEvent::Answered {
                call_id: "0b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d".into(),
                by: None,
            });
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
            Profile::Extended => w.server(ServerEvent::Cancelled {
                call_id: CALL_ID.into(),
            }),
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
    w.server(ServerEvent::Answered {
        call_id: CALL_ID.into(),
        by: Some("bob-tablet".into()),
    });
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

/// The second simulated seam: a simulated session whose peer and socket events go through
/// the real recovery machine (`media::recovery`), and whose actions become the media events
/// the call sees, on tokio's paused clock (as RingRTC's `inject_ice_failed`).
struct SimSession {
    recovery: crate::media::link::recovery::Recovery,
    events: MediaEvents,
    log: Arc<Log>,
}

impl SimSession {
    fn of(w: &World) -> SimSession {
        SimSession {
            recovery: crate::media::link::recovery::Recovery::new(
                crate::media::link::recovery::DEFAULT_BUDGET,
            ),
            events: lock(&w.media.last).clone().expect("a joined session"),
            log: w.log.clone(),
        }
    }

    fn feed(&mut self, input: crate::media::link::recovery::Input) {
        use crate::media::link::recovery::Action;
        let now = tokio::time::Instant::now().into_std();
        for action in self.recovery.step(input, now) {
            let _ = match action {
                Action::ReportReconnecting => self.events.send(MediaEvent::Reconnecting),
                Action::ReportConnected => self.events.send(MediaEvent::Connected),
                Action::GiveUp(why) => self
                    .events
                    .send(MediaEvent::Ended(MediaEnd::ConnectionLost(why))),
                Action::RestartIce => {
                    self.log.push("session restartIce");
                    Ok(())
                }
                Action::Republish => {
                    self.log.push("session republish");
                    Ok(())
                }
                Action::PathUp(_) => Ok(()),
            };
        }
    }

    /// Runs the restart timer until none is due (the path came back or the budget ran out).
    async fn run_restarts(&mut self) {
        while let Some(at) = self.recovery.restart_at() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
            self.feed(crate::media::link::recovery::Input::RestartDue { jitter: 1.0 });
        }
    }
}

/// A placed call of `p` Connected through a `SimSession` whose path is up.
async fn connected_through_the_machine(p: Profile) -> (World, Arc<CallHandle>, SimSession) {
    let w = world(p);
    let call = w.m.start_call("bob").await.unwrap();
    let mut s = SimSession::of(&w);
    s.feed(crate::media::link::recovery::Input::PathConnected);
    w.media_event(MediaEvent::Connected);
    reach(&call, CallState::Connected).await;
    (w, call, s)
}

#[tokio::test(start_paused = true)]
async fn through_the_recovery_machine_a_lost_path_or_socket_reconnects() {
    use crate::media::link::recovery::Input as R;
    for p in profiles() {
        let (w, call, mut s) = connected_through_the_machine(p).await;
        // The media path drops and comes back by itself.
        s.feed(R::PathDisconnected);
        reach(&call, CallState::Reconnecting).await;
        s.feed(R::PathConnected);
        reach(&call, CallState::Connected).await;
        // It fails, a restart brings it back.
        s.feed(R::PathFailed);
        reach(&call, CallState::Reconnecting).await;
        s.feed(R::RestartDue { jitter: 1.0 });
        assert!(w.log.has("session restartIce"));
        s.feed(R::PathConnected);
        reach(&call, CallState::Connected).await;
        // The signaling socket drops and is resumed.
        s.feed(R::SignalingLost);
        reach(&call, CallState::Reconnecting).await;
        s.feed(R::SignalingRestored {
            unanswered_offer: false,
        });
        reach(&call, CallState::Connected).await;
        assert!(
            !w.log.has("session republish"),
            "{p:?}: nothing to re-publish"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn through_the_recovery_machine_a_path_that_stays_failed_ends_at_the_budget() {
    use crate::media::link::recovery::Input as R;
    let (w, call, mut s) = connected_through_the_machine(Profile::Seed).await;
    let failed_at = tokio::time::Instant::now();
    s.feed(R::PathFailed);
    reach(&call, CallState::Reconnecting).await;
    s.run_restarts().await;
    let lasted = failed_at.elapsed();
    assert!(
        lasted > crate::media::link::recovery::DEFAULT_BUDGET
            && lasted < crate::media::link::recovery::DEFAULT_BUDGET + Duration::from_secs(3),
        "{lasted:?}"
    );
    let want = format!(
        "the media connection did not come back within {:?}",
        crate::media::link::recovery::DEFAULT_BUDGET
    );
    reach(&call, CallState::Ended(EndReason::ConnectionLost(want))).await;
    // About one restart every 2 s once backed off.
    let restarts = w
        .log
        .all()
        .iter()
        .filter(|l| *l == "session restartIce")
        .count();
    assert!((14..=20).contains(&restarts), "{restarts} restarts");
    settle().await;
    assert!(w.log.has("endCall"), "the leg is released");
}

/// A resume the gateway refuses, through both real machines (the socket's resume and the
/// session's recovery): the extended call renews its token (through the renewer the call
/// gave its session) and comes back; the seed has none, and the call ends saying why.
#[tokio::test(start_paused = true)]
async fn through_the_recovery_machine_a_refused_resume_is_renewed_on_extended_and_fatal_on_seed() {
    use crate::media::link::recovery::resume::{Action as A, Failure, Input as I, Resume};
    use crate::media::link::recovery::Input as R;
    for p in profiles() {
        let (w, call, mut s) = connected_through_the_machine(p).await;
        s.feed(R::SignalingLost);
        reach(&call, CallState::Reconnecting).await;
        let renew = lock(&w.media.renew).clone();
        let now = || tokio::time::Instant::now().into_std();
        let mut resume = Resume::start(
            now(),
            crate::media::link::recovery::DEFAULT_BUDGET,
            renew.is_some(),
        );
        assert!(matches!(
            resume.step(I::Due, now())[..],
            [A::Attempt { .. }]
        ));
        // The gateway refuses the old token (401).
        let refused = I::Failed {
            failure: Failure::Refused(401),
            jitter: 1.0,
        };
        match resume.step(refused, now())[..] {
            [A::DropAttempts, A::RenewToken] => {
                assert_eq!(p, Profile::Extended);
                let renew = renew.expect("a renewer");
                assert_eq!(renew().await.unwrap(), "renewed-token");
                assert!(resume.step(I::Renewed, now()).is_empty());
                assert!(matches!(
                    resume.step(I::Due, now())[..],
                    [A::Attempt { .. }]
                ));
                // That attempt connects.
                s.feed(R::SignalingRestored {
                    unanswered_offer: false,
                });
                reach(&call, CallState::Connected).await;
            }
            [A::GiveUp(ref why)] => {
                assert_eq!(p, Profile::Seed);
                assert_eq!(why, "the gateway refused to resume the session (HTTP 401)");
                s.feed(R::SignalingGaveUp(why.clone()));
                reach(
                    &call,
                    CallState::Ended(EndReason::ConnectionLost(why.clone())),
                )
                .await;
            }
            ref other => panic!("{p:?}: {other:?}"),
        }
    }
}
