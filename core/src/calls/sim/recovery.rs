//! The second simulated seam: a simulated session whose peer and socket events go through
//! the real recovery machines (`media::recovery`, and its `resume` for the signaling socket),
//! and whose actions become the media events the call sees, on tokio's paused clock (as
//! RingRTC's `inject_ice_failed`).

use std::sync::Arc;
use std::time::Duration;

use super::world::*;
use crate::calls::events::lock;
use crate::calls::machine::{CallState, EndReason, Profile};
use crate::calls::CallHandle;
use crate::media::link::{MediaEnd, MediaEvent, MediaEvents};

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
