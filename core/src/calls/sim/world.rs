//! The simulated world the call scenarios run in: a backend that records what it is told
//! and answers as each profile does, a media connector whose sessions report what a test
//! feeds them, and helpers to wait on tokio's paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::event_channel::ServerEvent;
use crate::backend::rest::RestError;
use crate::calls::actor::Ports;
use crate::calls::events::{lock, Hub};
use crate::calls::machine::{CallState, Profile};
use crate::calls::manager::CallManager;
use crate::calls::platform::{CallBackend, OutgoingCall, Registration};
use crate::calls::{CallHandle, PushOutcome};
use crate::error::{Error, Result};
use crate::media::link::{
    MediaConnector, MediaEnd, MediaError, MediaEvent, MediaEvents, MediaLink, SessionOwner, Timings,
};

/// What the simulated world saw, in order.
#[derive(Default)]
pub(super) struct Log(Mutex<Vec<String>>);

impl Log {
    pub(super) fn push(&self, s: impl Into<String>) {
        lock(&self.0).push(s.into());
    }
    pub(super) fn all(&self) -> Vec<String> {
        lock(&self.0).clone()
    }
    pub(super) fn has(&self, s: &str) -> bool {
        lock(&self.0).iter().any(|x| x == s)
    }
}

pub(super) struct SimBackend {
    pub(super) profile: Profile,
    pub(super) log: Arc<Log>,
    /// The device's clientId now (a test registers again by changing it).
    pub(super) client_id: Arc<Mutex<String>>,
    /// Each action with the clientId it acted as and the call it named: `endCall me -`.
    pub(super) acted_as: Arc<Log>,
    pub(super) callee_busy: bool,
    /// `answerCall` says the call is gone (answered elsewhere, cancelled).
    pub(super) answer_gone: bool,
    pub(super) initiate_delay: Duration,
}

impl SimBackend {
    pub(super) fn acted(&self, action: &str, me: &Registration, call_id: Option<&str>) {
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
pub(super) struct SimMedia {
    pub(super) log: Arc<Log>,
    /// The events sender of the last session joined, so a test can play the media's part.
    pub(super) last: Mutex<Option<MediaEvents>>,
    /// The token renewer the last session got (what its link calls on a refused resume).
    pub(super) renew: Mutex<Option<crate::media::link::TokenRenewer>>,
    pub(super) leave_delay: Duration,
    /// The session reports remote audio before its join has returned (a fast gateway).
    pub(super) connected_during_join: bool,
}

pub(super) struct SimLink {
    pub(super) log: Arc<Log>,
    pub(super) events: MediaEvents,
    pub(super) delay: Duration,
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

pub(super) struct World {
    pub(super) m: CallManager,
    pub(super) log: Arc<Log>,
    pub(super) client_id: Arc<Mutex<String>>,
    pub(super) acted_as: Arc<Log>,
    pub(super) media: Arc<SimMedia>,
    pub(super) profile: Profile,
}

pub(super) fn world_with(
    profile: Profile,
    tweak: impl FnOnce(&mut SimBackend, &mut SimMedia),
) -> World {
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

pub(super) fn world(profile: Profile) -> World {
    world_with(profile, |_, _| {})
}

pub(super) const CALL_ID: &str = "1b6f1c1e-8f1a-4c55-9d0e-2f4f7a1b2c3d";

impl World {
    /// A push as the profile's backend sends it.
    pub(super) fn push(&self, call_id: &str, sent_at_ms: i64) -> String {
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

    pub(super) fn invite(&self, seed_token_part: &str) -> Arc<CallHandle> {
        let (outcome, call) = self
            .m
            .handle_push(&self.push(seed_token_part, 1_000), 1_000)
            .unwrap();
        assert!(matches!(outcome, PushOutcome::Invite(_)), "{outcome:?}");
        call.unwrap()
    }

    pub(super) fn media_event(&self, ev: MediaEvent) {
        lock(&self.media.last).as_ref().unwrap().send(ev).unwrap();
    }

    pub(super) fn server(&self, ev: ServerEvent) {
        self.m.on_server_event(ev, "bob", 1_000);
    }
}

/// Waits (on the paused clock) until the call reaches `want`.
pub(super) async fn reach(call: &CallHandle, want: CallState) {
    for _ in 0..10_000 {
        if call.shared.state() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the call is {:?}, not {want:?}", call.shared.state());
}

pub(super) async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

pub(super) fn profiles() -> [Profile; 2] {
    [Profile::Seed, Profile::Extended]
}
