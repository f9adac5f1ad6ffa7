//! The `CallManager`: every call of this device, by id, each one an actor
//! (`calls::actor`). It admits invites (pushes and event-channel `ringing`), places calls,
//! routes event-channel events to the call they name, and decides busy from its own table:
//! a device is busy while one of its calls is placed (accepted by the backend) or answered,
//! and not ended. A call that is being torn down has already ended, so an invite arriving
//! then rings; so does one arriving while this device's own call is still dialing (glare:
//! the backend lets one of the two calls through).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::actor::{self, CallHandle, Ports, RemoteParty, Spawn};
use super::admission::{Admission, Admissions, PushOutcome};
use super::events::{lock, CallUpdate, Coalesce, Hub, Queue};
use super::machine::{Direction, Input, Machine, Profile};
use crate::backend::event_channel::ServerEvent;
use crate::error::{Error, Result};

/// How many calls (live and recently ended) the table keeps.
const TABLE_CAPACITY: usize = 16;
/// How many invites may ring at once.
const MAX_RINGING: usize = 8;
pub const DEFAULT_RING_TIMEOUT: Duration = Duration::from_secs(45);
/// How long a new call waits for the last one to finish telling the backend.
const RELEASE_WAIT: Duration = Duration::from_secs(5);
/// How long a dropped client's calls get to hang up before their tasks are aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
pub const MAX_CLIENT_ID_LEN: usize = 4_096;
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A new incoming call, for the app's incoming-call stream.
#[derive(Clone)]
pub struct NewCall(pub Arc<CallHandle>);

impl Coalesce for NewCall {
    fn replaces(&self, _: &Self) -> bool {
        false
    }
}

pub struct CallManager {
    ports: Ports,
    incoming: Hub<NewCall>,
    calls: Mutex<VecDeque<Arc<CallHandle>>>,
    admissions: Admissions,
    ring_timeout: Mutex<Duration>,
    rt: tokio::runtime::Handle,
    /// Whether the device is taken by something that is not a call (a room).
    elsewhere: std::sync::OnceLock<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl CallManager {
    pub fn new(ports: Ports, rt: tokio::runtime::Handle) -> Self {
        CallManager {
            ports,
            incoming: Hub::default(),
            calls: Mutex::new(VecDeque::new()),
            admissions: Admissions::default(),
            ring_timeout: Mutex::new(DEFAULT_RING_TIMEOUT),
            rt,
            elsewhere: std::sync::OnceLock::new(),
        }
    }

    /// What else makes the device busy for an invite (the engine: being in a room). Set once.
    pub fn set_busy_elsewhere(&self, f: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.elsewhere.set(Box::new(f));
    }

    fn busy_elsewhere(&self) -> bool {
        self.elsewhere.get().is_some_and(|f| f())
    }

    pub fn set_ring_timeout(&self, timeout: Duration) {
        *lock(&self.ring_timeout) = timeout;
    }

    pub fn ring_timeout(&self) -> Duration {
        *lock(&self.ring_timeout)
    }

    /// Every update of every call from now on.
    pub fn subscribe(&self) -> Arc<Queue<CallUpdate>> {
        self.ports.hub.subscribe()
    }

    /// One call's updates, starting with its current state. Queued under the hub's lock, so
    /// the first item is the state at subscription and nothing after it is missed.
    pub fn subscribe_call(&self, call: &CallHandle) -> Arc<Queue<CallUpdate>> {
        let shared = call.shared.clone();
        self.ports.hub.subscribe_with(move || {
            vec![CallUpdate {
                call_id: shared.id.clone(),
                kind: super::events::UpdateKind::State(shared.state()),
            }]
        })
    }

    /// New incoming calls from now on.
    pub fn subscribe_incoming(&self) -> Arc<Queue<NewCall>> {
        self.incoming.subscribe()
    }

    pub fn get(&self, id: &str) -> Option<Arc<CallHandle>> {
        lock(&self.calls)
            .iter()
            .find(|c| c.shared.id == id)
            .cloned()
    }

    /// The call that holds the device (placed or answered, not ended), if any.
    pub fn active(&self) -> Option<Arc<CallHandle>> {
        lock(&self.calls)
            .iter()
            .rev()
            .find(|c| c.shared.holds_device())
            .cloned()
    }

    /// Calls whose task still runs (ended calls finish their release first).
    #[cfg(test)]
    pub fn running(&self) -> usize {
        lock(&self.calls).iter().filter(|c| c.is_running()).count()
    }

    fn insert(&self, calls: &mut VecDeque<Arc<CallHandle>>, call: Arc<CallHandle>) {
        for c in calls.iter() {
            c.retire();
        }
        if calls.len() >= TABLE_CAPACITY {
            // Forget the oldest call that is over (it finishes its release on its own); live
            // calls are never dropped.
            if let Some(pos) = calls.iter().position(|c| c.shared.state().is_ended()) {
                calls.remove(pos);
            }
        }
        calls.push_back(call);
    }

    fn spawn(&self, s: Spawn) -> Arc<CallHandle> {
        let _rt = self.rt.enter();
        Arc::new(actor::spawn(self.ports.clone(), s))
    }

    /// Starts a call this device asked for (placed, or joined with a token): after the last
    /// call's release, and only while no other call holds the device. The call is in the
    /// table from the first moment.
    async fn start_own(&self, spawn: Spawn) -> Result<Arc<CallHandle>> {
        self.settle_previous().await;
        let mut calls = lock(&self.calls);
        if calls.iter().any(|c| c.shared.holds_device()) {
            return Err(Error::InvalidInput(
                "this device is already in a call: end it first".into(),
            ));
        }
        let call = self.spawn(spawn);
        self.insert(&mut calls, call.clone());
        Ok(call)
    }

    /// Places a call and joins its media session. The call is in the table (and the device
    /// busy) from the first moment; if the caller stops waiting, the call is hung up.
    pub async fn start_call(&self, callee: &str) -> Result<Arc<CallHandle>> {
        let callee = callee.trim();
        if callee.is_empty() || callee.len() > MAX_CLIENT_ID_LEN {
            return Err(Error::InvalidInput(
                "the callee clientId is empty or too long".into(),
            ));
        }
        let (placed_tx, placed_rx) = oneshot::channel();
        let registration = self.ports.backend.registration();
        let (machine, first_effects) = Machine::outgoing(profile_of(&registration));
        let call = self
            .start_own(Spawn {
                id: uuid::Uuid::new_v4().to_string(),
                machine,
                first_effects,
                remote: RemoteParty {
                    client_id: Some(callee.to_string()),
                    name: None,
                    room_id: None,
                },
                callee: Some(callee.to_string()),
                pushed_token: None,
                ring_timeout: self.ring_timeout(),
                first_inputs: Vec::new(),
                placed: Some(placed_tx),
                registration,
            })
            .await?;
        // Hangs the call up if this future is dropped before the call is placed.
        struct CancelOnDrop(Option<Arc<CallHandle>>);
        impl Drop for CancelOnDrop {
            fn drop(&mut self) {
                if let Some(c) = self.0.take() {
                    tracing::debug!(target: "dialtone::calls", "start_call cancelled: hanging up");
                    c.send(Input::Hangup);
                }
            }
        }
        let mut guard = CancelOnDrop(Some(call.clone()));
        let placed = placed_rx.await.unwrap_or_else(|_| {
            Err(Error::CallUnavailable(
                "the call ended while it was placed".into(),
            ))
        });
        guard.0 = None;
        placed.map(|_| call)
    }

    /// The push path: parse, dedupe, check staleness, and start the invite's call at once.
    /// No network; returns before anything is sent anywhere. An invite that arrives while
    /// the device is busy still returns (iOS must report it to CallKit) and ends as busy.
    pub fn handle_push(
        &self,
        raw: &str,
        now_ms: i64,
    ) -> Result<(PushOutcome, Option<Arc<CallHandle>>)> {
        let admission = self
            .admissions
            .handle(raw, now_ms)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let call = self.ring(&admission);
        Ok((admission.outcome(), call))
    }

    fn ring(&self, admission: &Admission) -> Option<Arc<CallHandle>> {
        let Admission::Ring(admitted) = admission else {
            return None;
        };
        let call = {
            let mut calls = lock(&self.calls);
            let busy = calls.iter().any(|c| c.shared.engaged()) || self.busy_elsewhere();
            // A flood of invites (a misbehaving backend, a replayed outbox) cannot pile up:
            // past `MAX_RINGING` at once, the oldest stops ringing as missed.
            let ringing: Vec<_> = calls
                .iter()
                .filter(|c| {
                    c.shared.direction == super::machine::Direction::Incoming
                        && c.shared.state() == super::machine::CallState::Ringing
                })
                .collect();
            for oldest in ringing
                .iter()
                .take((ringing.len() + 1).saturating_sub(MAX_RINGING))
            {
                oldest.send(Input::RingTimeout);
            }
            let registration = self.ports.backend.registration();
            let (machine, first_effects) = Machine::incoming(profile_of(&registration));
            let call = self.spawn(Spawn {
                id: admitted.invite.call_id.clone(),
                machine,
                first_effects,
                remote: RemoteParty {
                    client_id: admitted.invite.caller_id.clone(),
                    name: admitted.invite.caller_name.clone(),
                    room_id: admitted.invite.room_id.clone(),
                },
                callee: None,
                pushed_token: admitted.push.token.clone(),
                ring_timeout: self.ring_timeout(),
                first_inputs: if busy {
                    vec![(Input::LocalBusy, None)]
                } else {
                    Vec::new()
                },
                placed: None,
                registration,
            });
            self.insert(&mut calls, call.clone());
            call
        };
        self.incoming.publish(NewCall(call.clone()));
        Some(call)
    }

    /// Joins a media session with a token the app got elsewhere: a call answered at once,
    /// ended with `endCall` like a seed callee's.
    pub async fn join_with_token(&self, token: &str) -> Result<Arc<CallHandle>> {
        if token.trim().is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidInput(
                "the participant token is empty or too long".into(),
            ));
        }
        let (tx, rx) = oneshot::channel();
        let (machine, first_effects) = Machine::incoming(Profile::Seed);
        let call = self
            .start_own(Spawn {
                id: uuid::Uuid::new_v4().to_string(),
                machine,
                first_effects,
                remote: RemoteParty::default(),
                callee: None,
                pushed_token: Some(token.to_string()),
                ring_timeout: self.ring_timeout(),
                first_inputs: vec![(Input::Answer, Some(tx))],
                placed: None,
                registration: self.ports.backend.registration(),
            })
            .await?;
        rx.await.unwrap_or_else(|_| {
            Err(Error::CallUnavailable(
                "the call ended while joining".into(),
            ))
        })?;
        Ok(call)
    }

    /// Answers the invite `id`; `CallUnavailable` if it is not ringing here any more, and
    /// `InvalidInput` while another call holds the device.
    pub async fn answer(&self, id: &str) -> Result<()> {
        let call = self.require(id)?;
        if self.active().is_some_and(|a| a.shared.id != id) {
            return Err(Error::InvalidInput(
                "this device is already in a call: end it first".into(),
            ));
        }
        self.settle_previous().await;
        call.act(Input::Answer).await
    }

    pub fn require(&self, id: &str) -> Result<Arc<CallHandle>> {
        self.get(id)
            .ok_or_else(|| Error::CallUnavailable(format!("no call {id} on this device")))
    }

    /// An event from the extended backend's `/ws` channel.
    pub fn on_server_event(&self, ev: ServerEvent, me: &str, now_ms: i64) {
        let (call_id, input) = match ev {
            ServerEvent::Ringing {
                call_id,
                caller_id,
                callee_id,
                caller_name,
                sent_at_ms,
                room,
            } => {
                if callee_id.as_deref() != Some(me) {
                    return; // our own call ringing on the other side
                }
                let ring = self.ring_timeout().as_millis() as i64;
                if sent_at_ms.is_some_and(|t| now_ms - t > ring) {
                    return;
                }
                let admission = self.admissions.handle_ringing(
                    &call_id,
                    caller_id,
                    caller_name,
                    sent_at_ms,
                    room,
                    now_ms,
                );
                self.ring(&admission);
                return;
            }
            ServerEvent::Answered(e) => (e.call_id, Input::RemoteAnswered),
            ServerEvent::Declined(e) => (e.call_id, Input::RemoteDeclined),
            ServerEvent::Busy(e) => (e.call_id, Input::RemoteBusy),
            ServerEvent::Cancelled(e) => (e.call_id, Input::RemoteCancelled),
            ServerEvent::Ended(e) => (e.call_id, Input::RemoteHangup),
            // A room invite the server ended unanswered: as the callee's own ring timeout.
            ServerEvent::Missed(e) => (e.call_id, Input::RingTimeout),
            other => {
                tracing::debug!(target: "dialtone::calls", "ignoring event {other:?}");
                return;
            }
        };
        let target = lock(&self.calls)
            .iter()
            .rev()
            .find(|c| c.shared.backend_id().as_deref() == Some(call_id.as_str()))
            .cloned();
        match target {
            Some(call) => call.send(input),
            None => tracing::debug!(target: "dialtone::calls", "event for an unknown call"),
        }
    }

    /// Waits (up to `RELEASE_WAIT`) until calls that have ended have finished telling the
    /// backend. On the seed backend `endCall` names a client, not a call: a late one would
    /// end the next call, so a new call starts only after the last one's release.
    async fn settle_previous(&self) {
        let releasing: Vec<_> = lock(&self.calls)
            .iter()
            .filter(|c| c.shared.state().is_ended() && c.is_running())
            .cloned()
            .collect();
        let all = futures_util::future::join_all(releasing.iter().map(|c| c.finished()));
        let _ = tokio::time::timeout(RELEASE_WAIT, all).await;
    }

    /// Hangs up every call that holds the device, and waits for those already ending to
    /// finish; `false` when there was none.
    pub async fn hangup_all(&self) -> Result<bool> {
        let calls: Vec<_> = lock(&self.calls)
            .iter()
            .filter(|c| c.shared.holds_device() || (c.shared.state().is_ended() && c.is_running()))
            .cloned()
            .collect();
        let mut first_error = None;
        for c in &calls {
            if let Err(e) = c.hangup().await {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(!calls.is_empty()),
        }
    }

    /// The network changed: every call with media restarts ICE now.
    pub fn network_changed(&self) {
        for c in lock(&self.calls).iter() {
            c.network_changed();
        }
    }

    /// The client is going away: every live call is hung up (media left politely, the
    /// backend told), then its task ends on its own; a watchdog aborts what is still running
    /// after `SHUTDOWN_GRACE`. Subscriptions end at once.
    ///
    /// An incoming call still ringing is declined, as CallKit's end action and Telecom's
    /// reject do for an unanswered call: nobody can answer it once the client is gone, and
    /// the caller should hear so now rather than ring on until its timeout. It is sent
    /// Decline and then Hangup, so whichever its state is when the inbox is read (it may
    /// have been answered meanwhile) the one that applies ends it and the other is dropped
    /// as illegal.
    pub fn shutdown(&self) {
        let calls: Vec<_> = lock(&self.calls).drain(..).collect();
        let live: Vec<_> = calls
            .into_iter()
            .filter(|c| c.is_running())
            .inspect(|c| {
                if c.shared.direction == Direction::Incoming {
                    c.send(Input::Decline);
                }
                c.send(Input::Hangup);
            })
            .collect();
        if !live.is_empty() {
            let _rt = self.rt.enter();
            crate::task::spawn(async move {
                let all = futures_util::future::join_all(live.iter().map(|c| c.finished()));
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, all).await;
                for c in &live {
                    c.abort();
                }
            });
        }
        self.ports.hub.close_all();
        self.incoming.close_all();
    }
}

/// The profile a new call runs: the registration's, or the seed's before one.
fn profile_of(registration: &Option<super::platform::Registration>) -> Profile {
    registration
        .as_ref()
        .map_or(Profile::Seed, super::platform::Registration::profile)
}
