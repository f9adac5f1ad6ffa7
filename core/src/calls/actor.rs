//! One call, owned by one task: its state machine, its ring timer, its media session and
//! its child tasks. Everything that can happen to the call (app actions, the ring timer,
//! media events, event-channel events, results of REST actions and joins) arrives through
//! its one inbox and is applied in order; the machine says what to do and the actor does
//! it. Long effects (REST, joining, leaving) run as child tasks whose results come back
//! through the inbox, never by recursion. When the call has ended and its last child task
//! is done, the task ends; dropping its handle aborts it and every child.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::events::{lock, CallUpdate, Hub, UpdateKind};
use super::machine::{CallState, Direction, Effect, Input, Machine, Profile, TokenSource};
use super::platform::{BoundBackend, CallBackend, OutgoingCall, Registration};
use crate::error::{Error, Result};
use crate::media::link::{
    MediaConnector, MediaEnd, MediaEvent, MediaEvents, MediaLink, SessionOwner, Timings,
    TokenRenewer,
};

/// Who is on the other end, as far as this device knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteParty {
    pub client_id: Option<String>,
    pub name: Option<String>,
    /// A room invite: the room it rings this device into (answered by entering the room).
    pub room_id: Option<String>,
}

/// What every holder of the call can read without asking the actor.
pub struct CallShared {
    pub id: String,
    pub direction: Direction,
    pub profile: Profile,
    pub remote: RemoteParty,
    state: Mutex<CallState>,
    /// The call's own mute: its session's send clock reads it (`SessionOwner`).
    muted: Arc<std::sync::atomic::AtomicBool>,
    outgoing: Mutex<Option<OutgoingCall>>,
    link: Mutex<Option<Arc<dyn MediaLink>>>,
}

impl CallShared {
    pub fn state(&self) -> CallState {
        lock(&self.state).clone()
    }

    pub fn outgoing(&self) -> Option<OutgoingCall> {
        lock(&self.outgoing).clone()
    }

    /// The backend's id for the call (extended profile), which event-channel events name.
    pub fn backend_id(&self) -> Option<String> {
        match self.direction {
            Direction::Incoming => Some(self.id.clone()),
            Direction::Outgoing => self.outgoing().and_then(|o| o.call_id),
        }
    }

    /// Setup milestones of the call's media (the setup benchmark reads them).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub fn timings(&self) -> Option<Timings> {
        lock(&self.link).as_ref().and_then(|l| l.timings())
    }

    /// Whether this call makes an invite busy: placed and accepted by the backend, or
    /// answered, and not ended. A call still dialing does not: in glare the backend's
    /// atomic session check decides which of the two calls exists, and the loser's
    /// `initiateCall` fails as busy while the winner's invite rings.
    pub fn engaged(&self) -> bool {
        match (self.direction, self.state()) {
            (_, CallState::Ended(_)) => false,
            (Direction::Outgoing, CallState::Dialing) => false,
            (Direction::Outgoing, _) => true,
            (Direction::Incoming, CallState::Ringing) => false,
            (Direction::Incoming, _) => true,
        }
    }

    /// Whether this call keeps the device from placing another: engaged, or dialing.
    pub fn holds_device(&self) -> bool {
        self.engaged()
            || (self.direction == Direction::Outgoing && self.state() == CallState::Dialing)
    }
}

/// What arrives in a call's inbox.
pub enum Msg {
    /// An input from the timer-less world (event channel, busy screening).
    Input(Input),
    /// An app action; the reply says when it is done (see `Actor::perform`).
    Action(Input, oneshot::Sender<Result<()>>),
    Initiated(Result<OutgoingCall>),
    Joined(Result<Arc<dyn MediaLink>>),
    /// The release effects (leave, REST) finished; the first error, if any.
    Released(Option<Error>),
    NetworkChanged,
    /// What the call's media session reports, in the order it happened.
    Media(MediaEvent),
}

/// What the actor needs from its manager.
#[derive(Clone)]
pub struct Ports {
    pub backend: Arc<dyn CallBackend>,
    pub media: Arc<dyn MediaConnector>,
    pub hub: Arc<Hub<CallUpdate>>,
}

/// A call as the rest of the core holds it: what it is (`id`, `direction`, `remote`,
/// `state`, `outgoing`) and what can be asked of it (`answer` goes through the manager,
/// which checks the device is free; `decline`, `hangup`, `hang_up_soon`). Its machine's
/// inputs and shared state are the call layer's own.
pub struct CallHandle {
    pub(super) shared: Arc<CallShared>,
    /// `None` once the call is over and its task done: an ended call kept for lookups holds
    /// no channel.
    inbox: Mutex<Option<mpsc::UnboundedSender<Msg>>>,
    task: AbortHandle,
    /// Its sender lives in the task's future: it is dropped when the task ends, however it
    /// ends (finished, aborted, panicked), which is what `finished` waits for.
    done: watch::Receiver<()>,
}

impl CallHandle {
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    pub fn direction(&self) -> Direction {
        self.shared.direction
    }

    pub fn profile(&self) -> Profile {
        self.shared.profile
    }

    pub fn remote(&self) -> &RemoteParty {
        &self.shared.remote
    }

    pub fn state(&self) -> CallState {
        self.shared.state()
    }

    /// A placed call's participant token, ids and expiry, once `initiateCall` returned.
    pub fn outgoing(&self) -> Option<OutgoingCall> {
        self.shared.outgoing()
    }

    /// Setup milestones of the call's media (the setup benchmark and fault tests read them).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub fn timings(&self) -> Option<Timings> {
        self.shared.timings()
    }

    /// Mutes or unmutes this call only (a new call starts unmuted).
    pub fn set_muted(&self, muted: bool) {
        self.shared
            .muted
            .store(muted, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_muted(&self) -> bool {
        self.shared.muted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Declines a ringing incoming call; returns once the backend was told.
    pub fn decline(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.act(Input::Decline)
    }

    /// Queues a hang-up without waiting for it (a cancelled placement, a closing client).
    pub fn hang_up_soon(&self) {
        self.send(Input::Hangup);
    }

    /// Queues an input; illegal ones are logged and dropped by the actor.
    pub(super) fn send(&self, input: Input) {
        self.post(Msg::Input(input));
    }

    /// Hangs up; a call that is already over (it ended on its own meanwhile) is not an
    /// error: hanging up is idempotent.
    pub fn hangup(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        let done = self.act(Input::Hangup);
        let shared = self.shared.clone();
        async move {
            match done.await {
                Err(Error::Illegal(_) | Error::CallUnavailable(_)) if shared.state().is_ended() => {
                    Ok(())
                }
                other => other,
            }
        }
    }

    pub fn network_changed(&self) {
        self.post(Msg::NetworkChanged);
    }

    /// Queues an app action at once (so it completes even if the caller stops waiting) and
    /// returns the wait for its result.
    pub(super) fn act(&self, input: Input) -> impl std::future::Future<Output = Result<()>> + Send {
        let (tx, rx) = oneshot::channel();
        let sent = self.post(Msg::Action(input.clone(), tx));
        let state = self.shared.state();
        async move {
            if !sent {
                return Err(Error::CallUnavailable(format!(
                    "{input:?} is not possible: the call is over ({state:?})"
                )));
            }
            rx.await.unwrap_or_else(|_| {
                Err(Error::CallUnavailable(
                    "the call ended before the action completed".into(),
                ))
            })
        }
    }

    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Resolves once the call's task has ended (at once if it has).
    pub fn finished(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut done = self.done.clone();
        async move { while done.changed().await.is_ok() {} }
    }

    fn post(&self, msg: Msg) -> bool {
        lock(&self.inbox)
            .as_ref()
            .is_some_and(|tx| tx.send(msg).is_ok())
    }

    /// Frees the inbox of a call whose task is done (what it buffered goes with it).
    pub fn retire(&self) {
        if !self.is_running() {
            lock(&self.inbox).take();
        }
    }

    /// Stops the call's task and every child at once. Dropping a handle does not: a call
    /// that has ended finishes its release (leave, the REST action) on its own.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Everything a new call starts with.
pub struct Spawn {
    pub id: String,
    pub machine: Machine,
    pub first_effects: Vec<Effect>,
    pub remote: RemoteParty,
    /// Outgoing: the callee.
    pub callee: Option<String>,
    /// Seed callee: the participant token from the push.
    pub pushed_token: Option<String>,
    pub ring_timeout: Duration,
    /// Inputs to apply before anything else (an invite during another call: `LocalBusy`;
    /// `join_call`: `Answer`).
    pub first_inputs: Vec<(Input, Option<oneshot::Sender<Result<()>>>)>,
    /// Outgoing: told when the call is placed and joined, or why not.
    pub placed: Option<oneshot::Sender<Result<()>>>,
    /// The registration the call acts as, all its life (`CallBackend::registration` when
    /// it began).
    pub registration: Option<Registration>,
}

pub fn spawn(ports: Ports, s: Spawn) -> CallHandle {
    let shared = Arc::new(CallShared {
        id: s.id.clone(),
        direction: s.machine.direction,
        profile: s.machine.profile,
        remote: s.remote,
        state: Mutex::new(s.machine.state.clone()),
        muted: Arc::default(),
        outgoing: Mutex::new(None),
        link: Mutex::new(None),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let actor = Actor {
        backend: BoundBackend::new(ports.backend.clone(), s.registration),
        ports,
        shared: shared.clone(),
        machine: s.machine,
        inbox_tx: tx.clone(),
        callee: s.callee,
        pushed_token: s.pushed_token,
        ring_timeout: s.ring_timeout,
        ring_deadline: None,
        children: JoinSet::new(),
        join_waiters: s.placed.into_iter().collect(),
        release_waiters: Vec::new(),
        releasing: false,
        awaiting_call: Vec::new(),
    };
    // Every call's stream begins with its first state, published before anyone can hold
    // the call (so a later subscription's snapshot never repeats it).
    actor.ports.hub.publish(CallUpdate {
        call_id: shared.id.clone(),
        kind: UpdateKind::State(actor.machine.state.clone()),
    });
    let first_effects = s.first_effects;
    let first_inputs = s.first_inputs;
    let (done_tx, done) = watch::channel(());
    // Everything the call does, and every task it starts, logs under `call{id=…}`.
    let span = tracing::info_span!(target: "dialtone::calls", "call", id = %shared.id);
    let task = crate::task::spawn(tracing::Instrument::instrument(
        async move {
            let _done = done_tx;
            actor.run(rx, first_effects, first_inputs).await
        },
        span,
    ));
    CallHandle {
        shared,
        inbox: Mutex::new(Some(tx)),
        task: task.abort_handle(),
        done,
    }
}

struct Actor {
    ports: Ports,
    /// The backend as the registration this call was made under.
    backend: BoundBackend,
    shared: Arc<CallShared>,
    machine: Machine,
    inbox_tx: mpsc::UnboundedSender<Msg>,
    callee: Option<String>,
    pushed_token: Option<String>,
    ring_timeout: Duration,
    ring_deadline: Option<Instant>,
    children: JoinSet<()>,
    /// Told when the media join completes (placing the call, answering it).
    join_waiters: Vec<oneshot::Sender<Result<()>>>,
    /// Told when the release effects complete (hangup, decline).
    release_waiters: Vec<oneshot::Sender<Result<()>>>,
    releasing: bool,
    /// Release effects the machine chose while `initiateCall` was in flight: they need the
    /// call `initiateCall` returns, and run once it does.
    awaiting_call: Vec<Effect>,
}

impl Actor {
    async fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<Msg>,
        first_effects: Vec<Effect>,
        first_inputs: Vec<(Input, Option<oneshot::Sender<Result<()>>>)>,
    ) {
        tracing::debug!(target: "dialtone::calls", "call {} starts {:?}", self.shared.id, self.machine.state);
        self.perform(first_effects, None);
        for (input, reply) in first_inputs {
            self.apply(input, reply);
        }
        loop {
            if self.machine.state.is_ended() && self.children.is_empty() {
                // What the last children sent is still applied before the call goes away.
                let mut drained = false;
                while let Ok(m) = inbox.try_recv() {
                    self.on_msg(m);
                    drained = true;
                }
                if !drained && self.children.is_empty() {
                    break;
                }
                continue;
            }
            let deadline = self.ring_deadline;
            tokio::select! {
                msg = inbox.recv() => match msg {
                    Some(m) => self.on_msg(m),
                    None => break,
                },
                _ = sleep_until(deadline) => {
                    self.ring_deadline = None;
                    self.apply(Input::RingTimeout, None);
                }
                Some(done) = self.children.join_next(), if !self.children.is_empty() => {
                    if let Err(e) = done {
                        if e.is_panic() {
                            tracing::error!(target: "dialtone::calls", "a call task panicked");
                        }
                    }
                }
            }
        }
        // Anyone still waiting hears that the call is over.
        let state = self.machine.state.clone();
        for w in self
            .join_waiters
            .drain(..)
            .chain(self.release_waiters.drain(..))
        {
            let _ = w.send(Err(Error::CallUnavailable(format!(
                "the call ended ({state:?})"
            ))));
        }
        tracing::debug!(target: "dialtone::calls", "call {} done: {state:?}", self.shared.id);
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Input(input) => self.apply(input, None),
            Msg::Action(input, reply) => self.apply(input, Some(reply)),
            Msg::Initiated(Ok(info)) => {
                *lock(&self.shared.outgoing) = Some(info);
                if self.machine.state.is_ended() {
                    // Given up while dialing: now the call can be released.
                    let deferred = std::mem::take(&mut self.awaiting_call);
                    if !deferred.is_empty() {
                        self.release(deferred, None);
                    }
                } else {
                    self.apply(Input::Dialed, None);
                }
            }
            Msg::Initiated(Err(e)) => {
                let busy = matches!(e, Error::Rest(crate::backend::rest::RestError::Busy(_)));
                let detail = e.to_string();
                self.answer_join_waiters(Err(e));
                self.apply(Input::DialFailed { busy, detail }, None);
            }
            Msg::Joined(Ok(link)) => {
                if self.machine.state.is_ended() {
                    // Ended while joining: leave at once.
                    crate::task::spawn_child(&mut self.children, async move { link.leave().await });
                    self.answer_join_waiters(Err(Error::CallUnavailable(
                        "the call ended while joining".into(),
                    )));
                } else {
                    *lock(&self.shared.link) = Some(link);
                    self.answer_join_waiters(Ok(()));
                }
            }
            Msg::Joined(Err(e)) => {
                // The call ends first, then its waiters hear the typed error: whoever awaited
                // the join finds the device free (a join right after a refused one is not
                // "already in a call").
                let detail = e.to_string();
                let waiters = std::mem::take(&mut self.join_waiters);
                self.apply(Input::MediaFailed(detail), None);
                self.join_waiters = waiters;
                self.answer_join_waiters(Err(e));
            }
            Msg::Released(error) => {
                self.releasing = false;
                let mut waiters = std::mem::take(&mut self.release_waiters).into_iter();
                if let Some(first) = waiters.next() {
                    let _ = first.send(match error {
                        Some(e) => Err(e),
                        None => Ok(()),
                    });
                }
                for w in waiters {
                    let _ = w.send(Ok(()));
                }
            }
            Msg::Media(ev) => self.on_media(ev),
            Msg::NetworkChanged => {
                if let Some(link) = lock(&self.shared.link).clone() {
                    crate::task::spawn_child(&mut self.children, async move {
                        if let Err(e) = link.restart_ice().await {
                            tracing::warn!(target: "dialtone::calls", "ICE restart failed: {e}");
                        }
                    });
                }
            }
        }
    }

    fn on_media(&mut self, ev: MediaEvent) {
        let id = self.shared.id.clone();
        let input = match ev {
            MediaEvent::Connecting | MediaEvent::Ended(MediaEnd::Left) => return,
            // A call reports its levels once a second (`AudioLevel`); these are for rooms.
            MediaEvent::Levels { .. } => return,
            MediaEvent::Connected => Input::MediaConnected,
            MediaEvent::Reconnecting => Input::MediaReconnecting,
            MediaEvent::Ended(MediaEnd::SignalingClosed) => Input::RemoteHangup,
            MediaEvent::Ended(MediaEnd::ConnectionFailed) => {
                Input::MediaFailed("the media connection was lost".into())
            }
            MediaEvent::Ended(MediaEnd::ConnectionLost(why)) => Input::ConnectionLost(why),
            MediaEvent::AudioLevel { local, remote } => {
                self.ports.hub.publish(CallUpdate {
                    call_id: id,
                    kind: UpdateKind::Level { local, remote },
                });
                return;
            }
            MediaEvent::Stats(s) => {
                self.ports.hub.publish(CallUpdate {
                    call_id: id,
                    kind: UpdateKind::Stats(s),
                });
                return;
            }
        };
        self.apply(input, None);
    }

    fn answer_join_waiters(&mut self, result: Result<()>) {
        let mut waiters = std::mem::take(&mut self.join_waiters).into_iter();
        match result {
            Ok(()) => waiters.for_each(|w| {
                let _ = w.send(Ok(()));
            }),
            Err(e) => {
                // The first waiter gets the typed error; others (rare) its text.
                if let Some(first) = waiters.next() {
                    let text = e.to_string();
                    let _ = first.send(Err(e));
                    for w in waiters {
                        let _ = w.send(Err(Error::CallUnavailable(text.clone())));
                    }
                }
            }
        }
    }

    /// Feeds one input to the machine and performs its effects. An illegal input changes
    /// nothing: an app action gets `CallUnavailable`, anything else is logged.
    fn apply(&mut self, input: Input, reply: Option<oneshot::Sender<Result<()>>>) {
        match self.machine.apply(input.clone()) {
            Ok(effects) => self.perform(effects, reply),
            Err(illegal) => {
                tracing::debug!(target: "dialtone::calls", "call {}: {illegal}", self.shared.id);
                match reply {
                    // Hanging up a call that is already ending: done when its release is.
                    Some(r) if input == Input::Hangup && self.releasing => {
                        self.release_waiters.push(r)
                    }
                    Some(r) => {
                        let _ = r.send(Err(Error::Illegal(illegal)));
                    }
                    None => {}
                }
            }
        }
    }

    /// Performs effects in order. The reply of an app action is sent when what it started
    /// is done: a join (answer) when the join completes, release effects (hangup, decline)
    /// when they complete, anything else at once.
    fn perform(&mut self, effects: Vec<Effect>, reply: Option<oneshot::Sender<Result<()>>>) {
        let mut reply = reply;
        let mut release = Vec::new();
        for effect in effects {
            match effect {
                Effect::Initiate => {
                    let backend = self.backend.clone();
                    let callee = self.callee.clone().unwrap_or_default();
                    let tx = self.inbox_tx.clone();
                    crate::task::spawn_child(&mut self.children, async move {
                        let _ = tx.send(Msg::Initiated(backend.initiate(&callee).await));
                    });
                }
                Effect::Join { source, renewable } => {
                    if let Some(r) = reply.take() {
                        self.join_waiters.push(r);
                    }
                    self.join(source, renewable);
                }
                Effect::StartRingTimer => {
                    self.ring_deadline = Some(Instant::now() + self.ring_timeout);
                }
                Effect::StopRingTimer => self.ring_deadline = None,
                Effect::Emit(state) => {
                    let shared = self.shared.clone();
                    let published = state.clone();
                    self.ports.hub.publish_with(move || {
                        *lock(&shared.state) = state;
                        CallUpdate {
                            call_id: shared.id.clone(),
                            kind: UpdateKind::State(published),
                        }
                    });
                }
                e @ (Effect::CancelCall | Effect::EndCall { .. })
                    if self.machine.direction == Direction::Outgoing
                        && self.shared.outgoing().is_none() =>
                {
                    // Still dialing: the machine's choice runs once `initiateCall` answers.
                    self.awaiting_call.push(e);
                }
                e @ (Effect::Leave
                | Effect::EndCall { .. }
                | Effect::DeclineCall { .. }
                | Effect::CancelCall) => release.push(e),
            }
        }
        if !release.is_empty() {
            self.release(release, reply.take());
        }
        if let Some(r) = reply {
            if self.releasing {
                self.release_waiters.push(r);
            } else {
                let _ = r.send(Ok(()));
            }
        }
        // Ended with a join in flight: its waiters hear it now, not when the join returns.
        if self.machine.state.is_ended() && !self.join_waiters.is_empty() {
            let state = self.machine.state.clone();
            self.answer_join_waiters(Err(Error::CallUnavailable(format!(
                "the call ended ({state:?})"
            ))));
        }
    }

    fn join(&mut self, source: TokenSource, renewable: bool) {
        let backend = self.backend.clone();
        let media = self.ports.media.clone();
        let tx = self.inbox_tx.clone();
        // The session's events join the one inbox, behind whatever the call already holds.
        let inbox = self.inbox_tx.clone();
        let owner = SessionOwner {
            events: MediaEvents::new(move |ev| inbox.send(Msg::Media(ev)).is_ok()),
            muted: self.shared.muted.clone(),
            alias: self.backend.client_id().map(str::to_string),
        };
        let call_id = self.shared.id.clone();
        // Where the machine says so (extended): a refused resume asks the backend for a fresh
        // token for this call.
        let renew = self.shared.backend_id().filter(|_| renewable).map(|id| {
            let backend = backend.clone();
            let renew: TokenRenewer = Arc::new(move || {
                let (backend, id) = (backend.clone(), id.clone());
                Box::pin(async move { backend.renew_token(&id).await.map_err(|e| e.to_string()) })
            });
            renew
        });
        let token = match source {
            TokenSource::Initiated => self.shared.outgoing().map(|o| o.participant_token),
            TokenSource::Push => self.pushed_token.clone(),
            TokenSource::AnswerCall => None,
        };
        crate::task::spawn_child(&mut self.children, async move {
            let token = match (source, token) {
                (TokenSource::AnswerCall, _) => backend.answer_call(&call_id).await,
                (_, Some(t)) if !t.is_empty() => Ok(t),
                _ => Err(Error::InvalidInput(
                    "the invite carries no participant token and the backend has no answerCall"
                        .into(),
                )),
            };
            let joined = match token {
                Ok(t) => media.join(&t, owner, renew).await.map_err(Error::from),
                Err(e) => Err(e),
            };
            let _ = tx.send(Msg::Joined(joined));
        });
    }

    /// Runs release effects (leave, then the REST action) in order as one child task.
    fn release(&mut self, effects: Vec<Effect>, reply: Option<oneshot::Sender<Result<()>>>) {
        let link = lock(&self.shared.link).take();
        let backend = self.backend.clone();
        let backend_id = self.shared.backend_id();
        let tx = self.inbox_tx.clone();
        self.releasing = true;
        if let Some(r) = reply {
            self.release_waiters.push(r);
        }
        crate::task::spawn_child(&mut self.children, async move {
            let mut first_error: Option<Error> = None;
            for effect in effects {
                let result = match (effect, backend_id.as_deref()) {
                    (Effect::Leave, _) => {
                        if let Some(l) = &link {
                            l.leave().await;
                        }
                        Ok(())
                    }
                    // The machine says whether endCall names the call (the seed's names a
                    // client only).
                    (Effect::EndCall { names_call }, id) => {
                        backend.end_call(id.filter(|_| names_call)).await
                    }
                    (Effect::DeclineCall { busy }, Some(id)) => {
                        backend.decline_call(id, busy).await
                    }
                    (Effect::CancelCall, Some(id)) => backend.cancel_call(id).await,
                    (e, None) => Err(Error::InvalidInput(format!(
                        "{e:?} needs the backend's call id, which this call does not have"
                    ))),
                    (e, _) => Err(Error::InvalidInput(format!(
                        "{e:?} is not a release effect"
                    ))),
                };
                if let Err(e) = result {
                    tracing::warn!(target: "dialtone::calls", "call effect failed: {e}");
                    first_error.get_or_insert(e);
                }
            }
            let _ = tx.send(Msg::Released(first_error));
        });
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
