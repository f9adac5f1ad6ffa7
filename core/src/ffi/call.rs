//! The call surface: the `Call` object (one per call, placed or incoming) with its state,
//! actions and event stream; the client's call entry points (placing, the push path,
//! incoming calls, answering by id for CallKit / Telecom delegates); and the media
//! controls (mute, audio source, the PCM bridge the app's audio I/O feeds: capture pushed
//! in, playback pulled out, see docs/adr/0005).

use std::sync::Arc;

use super::client::{DialtoneClient, TaskHandle};
use super::error::DialtoneError;
use super::runtime::{guard, run_to_completion};
use super::types::OutgoingCall;
use crate::calls::events::deliver_on_thread;
use crate::calls::{self, CallHandle, CallUpdate, EndReason, UpdateKind};
use crate::engine::Engine;
use crate::media::audio_bridge::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CallEndReason {
    /// This device hung up.
    LocalHangup,
    /// The far end or the backend ended the session (the signaling gateway closed it).
    RemoteEnded,
    /// The connection could not be kept or restored, or joining failed.
    Failed,
    /// This device declined the incoming call, or the callee declined the placed one.
    Declined,
    /// The incoming call arrived during another call, or the callee was busy.
    Busy,
    /// The caller gave up before an answer.
    Cancelled,
    /// Nobody answered in time, or the push arrived too late to ring.
    Missed,
    /// Another device of this user answered.
    AnsweredElsewhere,
    /// The network went away and did not come back within the recovery budget
    /// (`DialtoneClient.set_connection_recovery_budget`), or the backend no longer knows the
    /// session (it restarted, or refused to resume it). `Call.end_detail()` says which.
    ConnectionLost,
}

impl From<EndReason> for CallEndReason {
    fn from(r: EndReason) -> Self {
        match r {
            EndReason::LocalHangup => CallEndReason::LocalHangup,
            EndReason::RemoteHangup => CallEndReason::RemoteEnded,
            EndReason::Declined => CallEndReason::Declined,
            EndReason::Busy => CallEndReason::Busy,
            EndReason::Cancelled => CallEndReason::Cancelled,
            EndReason::Missed => CallEndReason::Missed,
            EndReason::Failed(_) => CallEndReason::Failed,
            EndReason::AnsweredElsewhere => CallEndReason::AnsweredElsewhere,
            EndReason::ConnectionLost(_) => CallEndReason::ConnectionLost,
        }
    }
}

/// Where a call is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CallState {
    /// Placed; waiting for the backend to accept it.
    Dialing,
    /// Placed: the callee's phone rings. Incoming: this phone rings.
    Ringing,
    /// Answered; media is being set up.
    Connecting,
    /// Remote audio is arriving.
    Connected,
    /// The network path is being restored; audio resumes with `Connected`.
    Reconnecting,
    /// Over, for `reason`. The last state of every call.
    Ended { reason: CallEndReason },
}

impl From<calls::CallState> for CallState {
    fn from(s: calls::CallState) -> Self {
        match s {
            calls::CallState::Dialing => CallState::Dialing,
            calls::CallState::Ringing => CallState::Ringing,
            calls::CallState::Connecting => CallState::Connecting,
            calls::CallState::Connected => CallState::Connected,
            calls::CallState::Reconnecting => CallState::Reconnecting,
            calls::CallState::Ended(r) => CallState::Ended { reason: r.into() },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CallDirection {
    Outgoing,
    Incoming,
}

/// What happened to a call; every event names its call.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CallEvent {
    /// The call moved to `state`. Never dropped, never reordered.
    StateChanged { call_id: String, state: CallState },
    /// Levels from 0.0 (silence) to 1.0 (full scale), once a second. Coalesced: a slow
    /// listener gets the latest.
    AudioLevel {
        call_id: String,
        local: f32,
        remote: f32,
    },
    /// Once a second; coalesced like levels.
    Stats {
        call_id: String,
        rtt_ms: Option<f64>,
        jitter_ms: f64,
        packets_received: u64,
        packets_lost: u64,
        packet_loss: f32,
        /// Samples (48 kHz) of lost audio that was concealed (W3C `concealedSamples`).
        concealed_samples: u64,
        /// Samples (48 kHz) of lost audio rebuilt from the next packet's Opus in-band FEC.
        fec_recovered_samples: u64,
        /// The delay the adaptive jitter buffer aims for now, ms.
        jitter_buffer_target_ms: u32,
        /// Samples (48 kHz) played to grow the jitter buffer's delay, and left out (spliced)
        /// to shrink it (W3C `insertedSamplesForDeceleration`, `removedSamplesForAcceleration`).
        inserted_samples_for_deceleration: u64,
        removed_samples_for_acceleration: u64,
        /// Opus payload bytes sent and received so far (W3C `bytesSent`, `bytesReceived`):
        /// the difference between two events over their interval is the bitrate.
        bytes_sent: u64,
        bytes_received: u64,
        /// The bitrate the encoder aims for now, bit/s (W3C `targetBitrate`): it falls with
        /// loss and with a queue building on the path.
        target_bitrate_bps: u32,
        /// Each remote stream the call plays, with its own figures (a 1:1 call has one; a
        /// room has one per member who publishes). The figures above are over all of them.
        streams: Vec<RemoteStreamStats>,
    },
}

/// One remote stream of a call: what its own receive pipeline saw and played.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RemoteStreamStats {
    /// The stream's id (the msid the gateway's offer gives it).
    pub stream_id: String,
    /// Who publishes it: the Bandwidth participant id the gateway's `streamMetadata` names,
    /// and the alias the publisher gave its stream (null until an offer named them).
    pub participant_id: Option<String>,
    pub alias: Option<String>,
    pub packets_received: u64,
    pub packets_lost: u64,
    pub packet_loss: f32,
    pub jitter_ms: f64,
    pub bytes_received: u64,
    pub concealed_samples: u64,
    pub fec_recovered_samples: u64,
    pub jitter_buffer_target_ms: u32,
    pub inserted_samples_for_deceleration: u64,
    pub removed_samples_for_acceleration: u64,
    /// The level of its latest frame, 0.0 (silence) to 1.0 (full scale).
    pub audio_level: f32,
    /// Whether this stream's publisher is speaking now: over −45 dBFS in 2 of the last 3
    /// 200 ms windows of what it sent.
    pub speaking: bool,
}

impl From<crate::media::link::StreamStats> for RemoteStreamStats {
    fn from(r: crate::media::link::StreamStats) -> Self {
        RemoteStreamStats {
            stream_id: r.stream_id,
            participant_id: r.participant_id,
            alias: r.alias,
            packets_received: r.packets_received,
            packets_lost: r.packets_lost,
            packet_loss: r.packet_loss,
            jitter_ms: r.jitter_ms,
            bytes_received: r.bytes_received,
            concealed_samples: r.concealed_samples,
            fec_recovered_samples: r.fec_recovered_samples,
            jitter_buffer_target_ms: r.jitter_buffer_target_ms,
            inserted_samples_for_deceleration: r.inserted_samples_for_deceleration,
            removed_samples_for_acceleration: r.removed_samples_for_acceleration,
            audio_level: r.audio_level,
            speaking: r.speaking,
        }
    }
}

impl From<CallUpdate> for CallEvent {
    fn from(u: CallUpdate) -> Self {
        let call_id = u.call_id;
        match u.kind {
            UpdateKind::State(s) => CallEvent::StateChanged {
                call_id,
                state: s.into(),
            },
            UpdateKind::Level { local, remote } => CallEvent::AudioLevel {
                call_id,
                local,
                remote,
            },
            UpdateKind::Stats(s) => CallEvent::Stats {
                call_id,
                rtt_ms: s.rtt_ms,
                jitter_ms: s.jitter_ms,
                packets_received: s.packets_received,
                packets_lost: s.packets_lost,
                packet_loss: s.packet_loss,
                concealed_samples: s.concealed_samples,
                fec_recovered_samples: s.fec_recovered_samples,
                jitter_buffer_target_ms: s.jitter_buffer_target_ms,
                inserted_samples_for_deceleration: s.inserted_samples_for_deceleration,
                removed_samples_for_acceleration: s.removed_samples_for_acceleration,
                bytes_sent: s.bytes_sent,
                bytes_received: s.bytes_received,
                target_bitrate_bps: s.target_bitrate_bps,
                streams: s.streams.into_iter().map(Into::into).collect(),
            },
        }
    }
}

/// An incoming call, ready for CallKit (`reportNewIncomingCall`) or Android Telecom.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IncomingInvite {
    /// A UUID that stays the same for this call (CallKit's call UUID).
    pub call_id: String,
    pub caller_name: Option<String>,
    /// What to show as the caller's handle.
    pub handle: String,
    pub received_at_ms: i64,
    /// A room invite: the room this call rings the device into (answer it with `answer`,
    /// which enters the room, or `DialtoneClient.answer_room`), and how many were in it.
    pub room_id: Option<String>,
    pub member_count: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IgnoreReason {
    NotACallPush,
    /// The same call was already presented.
    Duplicate,
    /// Older than its TTL: recorded as missed, never rung.
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PushOutcome {
    Invite {
        invite: IncomingInvite,
    },
    Ignored {
        reason: IgnoreReason,
        call_id: Option<String>,
    },
}

impl From<calls::Invite> for IncomingInvite {
    fn from(i: calls::Invite) -> Self {
        IncomingInvite {
            call_id: i.call_id,
            caller_name: i.caller_name,
            handle: i.handle,
            received_at_ms: i.received_at_ms,
            room_id: i.room_id,
            member_count: i.member_count,
        }
    }
}

impl From<calls::PushOutcome> for PushOutcome {
    fn from(o: calls::PushOutcome) -> Self {
        match o {
            calls::PushOutcome::Invite(i) => PushOutcome::Invite { invite: i.into() },
            calls::PushOutcome::Ignored { reason, call_id } => PushOutcome::Ignored {
                reason: match reason {
                    calls::IgnoreReason::NotACallPush => IgnoreReason::NotACallPush,
                    calls::IgnoreReason::Duplicate => IgnoreReason::Duplicate,
                    calls::IgnoreReason::Expired => IgnoreReason::Expired,
                },
                call_id,
            },
        }
    }
}

/// Cancels a `start_call` without a race: create one, pass it, call `cancel()` when the
/// caller gives up (Swift: the Task's cancellation handler, since Swift cancellation does not
/// reach Rust; Kotlin: `placeCall` does it when its coroutine is cancelled). Fired while the
/// call is placed, it cancels it; fired after `start_call` placed the call but before the
/// caller took the result (a cancellation that lands in that instant), it hangs that call up,
/// so a call nobody holds never keeps ringing.
#[derive(uniffi::Object, Default)]
pub struct CancelSignal {
    fired: tokio::sync::watch::Sender<bool>,
    /// The call `start_call` placed with this signal, once it did.
    placed: std::sync::Mutex<Option<Arc<crate::calls::CallHandle>>>,
}

#[uniffi::export]
impl CancelSignal {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelSignal::default())
    }

    pub fn cancel(&self) {
        self.fired.send_replace(true);
        let placed = self.placed.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(call) = placed {
            tracing::debug!(target: "dialtone::calls", "cancelled after the call was placed: hanging up");
            call.hang_up_soon();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        *self.fired.borrow()
    }
}

impl CancelSignal {
    async fn fired(&self) {
        let mut rx = self.fired.subscribe();
        let _ = rx.wait_for(|f| *f).await;
    }

    /// Remembers the call placed under this signal; `false` (and the call hung up) if the
    /// signal fired meanwhile.
    fn adopt(&self, call: &Arc<crate::calls::CallHandle>) -> bool {
        let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_cancelled() {
            call.hang_up_soon();
            return false;
        }
        *placed = Some(call.clone());
        true
    }
}

/// What the call sends.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Enum)]
pub enum AudioSource {
    /// PCM the app pushes with `push_capture_pcm` (its microphone).
    Microphone,
    /// A generated sine wave: for tests, demos and "can you hear me" checks.
    Tone { frequency_hz: f32 },
}

/// Receives call events. Called on a thread of its own per subscription: a listener that
/// blocks delays only its own events, and loses none of them.
#[uniffi::export(foreign)]
pub trait CallListener: Send + Sync {
    fn on_call_event(&self, event: CallEvent);
}

/// Receives each new incoming call (from a push or the event channel), once.
#[uniffi::export(foreign)]
pub trait IncomingCallListener: Send + Sync {
    fn on_incoming_call(&self, call: Arc<Call>);
}

/// One call, placed or incoming. Its actions go to the call at once: an `answer`,
/// `decline` or `hangup` completes in the SDK even if the awaiting coroutine or Task is
/// cancelled (docs/adr/0001). Objects for the same call share its state.
#[derive(uniffi::Object)]
pub struct Call {
    handle: Arc<CallHandle>,
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("id", &self.handle.id())
            .field("direction", &self.handle.direction())
            .field("profile", &self.handle.profile())
            .field("state", &self.handle.state())
            .finish()
    }
}

impl Call {
    pub(crate) fn new(handle: Arc<CallHandle>, engine: Arc<Engine>) -> Arc<Self> {
        Arc::new(Call { handle, engine })
    }
}

#[uniffi::export]
impl Call {
    /// A UUID for the call: for an incoming call the same as its push's (CallKit's UUID).
    pub fn id(&self) -> String {
        self.handle.id().to_string()
    }

    pub fn direction(&self) -> CallDirection {
        match self.handle.direction() {
            calls::Direction::Outgoing => CallDirection::Outgoing,
            calls::Direction::Incoming => CallDirection::Incoming,
        }
    }

    /// The other party's clientId, when known (placed calls; extended-profile invites).
    pub fn remote_client_id(&self) -> Option<String> {
        self.handle.remote().client_id.clone()
    }

    /// The other party's name, when the push carried it.
    pub fn remote_name(&self) -> Option<String> {
        self.handle.remote().name.clone()
    }

    /// For a room invite: the room it rings this device into.
    pub fn room_id(&self) -> Option<String> {
        self.handle.remote().room_id.clone()
    }

    pub fn state(&self) -> CallState {
        self.handle.state().into()
    }

    /// Why an ended call failed, in words (for `Failed` and `ConnectionLost`); `None` while
    /// the call goes on or when it ended for any other reason.
    pub fn end_detail(&self) -> Option<String> {
        match self.handle.state() {
            calls::CallState::Ended(
                calls::EndReason::Failed(d) | calls::EndReason::ConnectionLost(d),
            ) => Some(d),
            _ => None,
        }
    }

    /// For a placed call: what the backend returned (participant token included).
    pub fn outgoing(&self) -> Option<OutgoingCall> {
        self.handle.outgoing().map(Into::into)
    }

    /// Answers an incoming call and joins its media; returns once joined.
    /// `CallUnavailable` when the call is over or another device took it.
    pub async fn answer(&self) -> Result<(), DialtoneError> {
        let id = self.id();
        let engine = self.engine.clone();
        if self.handle.remote().room_id.is_some() {
            // A room invite is answered by entering its room (`active_room()` then).
            return run_to_completion(async move {
                engine.answer_room(&id).await?;
                Ok(())
            })
            .await;
        }
        let done = {
            let calls = engine.calls().clone();
            async move { calls.answer(&id).await }
        };
        run_to_completion(async move { Ok(done.await?) }).await
    }

    /// Declines a ringing incoming call.
    pub async fn decline(&self) -> Result<(), DialtoneError> {
        // Queued before the first await: cancellation of the caller cannot undo it.
        let done = self.handle.decline();
        run_to_completion(async move { Ok(done.await?) }).await
    }

    /// Ends the call: cancels it while it rings at the callee, hangs up once answered.
    /// Idempotent: a call already over stays over, without an error.
    pub async fn hangup(&self) -> Result<(), DialtoneError> {
        let done = self.handle.hangup();
        run_to_completion(async move { Ok(done.await?) }).await
    }

    /// Mutes or unmutes this call: it sends silence while muted. Only this call: another
    /// call, and the next one, start unmuted.
    pub fn set_muted(&self, muted: bool) {
        self.handle.set_muted(muted);
    }

    pub fn is_muted(&self) -> bool {
        self.handle.is_muted()
    }

    /// This call's events, starting with its current state; the subscription ends after
    /// the `Ended` state, or when the handle is cancelled or dropped.
    pub fn observe(
        &self,
        listener: Arc<dyn CallListener>,
    ) -> Result<Arc<TaskHandle>, DialtoneError> {
        guard(|| {
            let queue = self.engine.calls().subscribe_call(&self.handle);
            let id = self.id();
            let thread = deliver_on_thread(
                "dialtone-call-events",
                queue.clone(),
                move |u: CallUpdate| {
                    if u.call_id != id {
                        return true;
                    }
                    let last = matches!(u.kind, UpdateKind::State(calls::CallState::Ended(_)));
                    listener.on_call_event(u.into());
                    !last
                },
            )
            .map_err(|e| DialtoneError::Internal {
                detail: format!("cannot start the event thread: {e}"),
            })?;
            Ok(TaskHandle::delivery(queue, thread))
        })
    }
}

#[uniffi::export]
impl DialtoneClient {
    /// Calls the Person with `callee_client_id`: returns the call once the backend placed it
    /// and its media is joined (it rings at the callee). If `cancel` fires, the call is
    /// cancelled too (this returns `Cancelled`), even when it fires just after the call was
    /// placed. Without a signal, cancelling the awaiting coroutine cancels the call while it
    /// is being placed; a cancellation that lands in the instant after placement leaves the
    /// call to `active_call()` (the generated code drops the result), which is why the
    /// idiomatic `placeCall` (Kotlin and Swift) always passes a signal.
    #[uniffi::method(default(cancel = None))]
    pub async fn start_call(
        &self,
        callee_client_id: String,
        cancel: Option<Arc<CancelSignal>>,
    ) -> Result<Arc<Call>, DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run(async move {
            let start = engine.start_call(&callee_client_id);
            let cancelled = || DialtoneError::Cancelled {
                detail: "start_call was cancelled; the call was hung up".into(),
            };
            let handle = match cancel {
                None => start.await?,
                Some(signal) => {
                    let handle = tokio::select! {
                        placed = start => placed?,
                        _ = signal.fired() => return Err(cancelled()),
                    };
                    if !signal.adopt(&handle) {
                        return Err(cancelled());
                    }
                    handle
                }
            };
            Ok(Call::new(handle, engine))
        })
        .await
    }

    /// Joins the media session a participant token admits to (a token the app got
    /// elsewhere); the returned call hangs up with `endCall`.
    pub async fn join_call(&self, participant_token: String) -> Result<Arc<Call>, DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run(async move {
            let handle = engine.join_call(&participant_token).await?;
            Ok(Call::new(handle, engine))
        })
        .await
    }

    /// Hands a push to the SDK exactly as the OS delivered it: the FCM data map as a JSON
    /// object of strings (`RemoteMessage.data`), or the APNs / PushKit dictionary as JSON.
    /// Synchronous and without network: report the invite to CallKit / Telecom at once; the
    /// call itself is `call(invite.call_id)`. Malformed or oversized payloads are
    /// `InvalidInput`.
    pub fn handle_push(&self, payload: String) -> Result<PushOutcome, DialtoneError> {
        guard(|| {
            let (outcome, _call) = self.engine.handle_push(&payload)?;
            Ok(outcome.into())
        })
    }

    /// Hands an FCM data message to the SDK as Android delivers it (`RemoteMessage.data`),
    /// exactly as `handle_push` does with its JSON form: no hand-written escaping on the
    /// app's side.
    pub fn handle_fcm_push(
        &self,
        data: std::collections::HashMap<String, String>,
    ) -> Result<PushOutcome, DialtoneError> {
        guard(|| {
            let payload =
                serde_json::to_string(&data).map_err(|e| DialtoneError::InvalidInput {
                    detail: format!("push data cannot be read: {e}"),
                })?;
            let (outcome, _call) = self.engine.handle_push(&payload)?;
            Ok(outcome.into())
        })
    }

    /// How long a call may take to recover its lost signaling connection (a blackout, a
    /// network switch, a gateway restart) before it ends as failed: 30 s unless set. Audio
    /// keeps flowing meanwhile wherever the media path still works. Applies to calls joined
    /// from now on.
    pub fn set_connection_recovery_budget(&self, seconds: u32) {
        self.engine
            .set_recovery_budget(std::time::Duration::from_secs(u64::from(seconds)));
    }

    /// Whether silence is sent as Opus DTX (one small frame, then a comfort-noise update
    /// every 400 ms instead of 50 packets a second) when the far end asks for it: on unless
    /// set. Turn it off for audio that is not speech (music, tones): Opus's voice detector can
    /// take a steady tone for silence and clip it. Applies at once, to live calls too.
    pub fn set_dtx_enabled(&self, enabled: bool) {
        self.engine.audio().set_dtx_allowed(enabled);
    }

    /// The call with this id (placed or incoming, live or recently ended).
    pub fn call(&self, call_id: String) -> Option<Arc<Call>> {
        self.engine
            .calls()
            .get(&call_id)
            .map(|h| Call::new(h, self.engine.clone()))
    }

    /// The call that holds the device (placed or answered, not ended), if any.
    pub fn active_call(&self) -> Option<Arc<Call>> {
        self.engine
            .calls()
            .active()
            .map(|h| Call::new(h, self.engine.clone()))
    }

    /// Each new incoming call, from a push or the event channel, until the handle is
    /// cancelled or dropped.
    pub fn observe_incoming_calls(
        &self,
        listener: Arc<dyn IncomingCallListener>,
    ) -> Result<Arc<TaskHandle>, DialtoneError> {
        guard(|| {
            let queue = self.engine.calls().subscribe_incoming();
            let engine = self.engine.clone();
            let thread = deliver_on_thread(
                "dialtone-incoming",
                queue.clone(),
                move |c: calls::manager::NewCall| {
                    listener.on_incoming_call(Call::new(c.0, engine.clone()));
                    true
                },
            )
            .map_err(|e| DialtoneError::Internal {
                detail: format!("cannot start the event thread: {e}"),
            })?;
            Ok(TaskHandle::delivery(queue, thread))
        })
    }

    /// Every event of every call from now on, until the handle is cancelled or dropped.
    pub fn observe_call(
        &self,
        listener: Arc<dyn CallListener>,
    ) -> Result<Arc<TaskHandle>, DialtoneError> {
        guard(|| {
            let queue = self.engine.calls().subscribe();
            let thread = deliver_on_thread(
                "dialtone-call-events",
                queue.clone(),
                move |u: CallUpdate| {
                    listener.on_call_event(u.into());
                    true
                },
            )
            .map_err(|e| DialtoneError::Internal {
                detail: format!("cannot start the event thread: {e}"),
            })?;
            Ok(TaskHandle::delivery(queue, thread))
        })
    }

    /// Answers the incoming call `call_id` (for CallKit / Telecom delegates, which know the
    /// id) and returns it; see `Call.answer`.
    pub async fn answer(&self, call_id: String) -> Result<Arc<Call>, DialtoneError> {
        let engine = self.engine.clone();
        run_to_completion(async move {
            let call = engine.calls().require(&call_id)?;
            if call.remote().room_id.is_some() {
                // A room invite: entering its room answers it (`active_room()` then).
                engine.answer_room(&call_id).await?;
            } else {
                engine.calls().answer(&call_id).await?;
            }
            Ok(Call::new(call, engine))
        })
        .await
    }

    /// Declines the incoming call `call_id`; see `Call.decline`.
    pub async fn decline(&self, call_id: String) -> Result<(), DialtoneError> {
        let done = match self.engine.calls().require(&call_id) {
            Ok(call) => call.decline(),
            Err(e) => return Err(e.into()),
        };
        run_to_completion(async move { Ok(done.await?) }).await
    }

    /// Tell the SDK the network changed (Wi-Fi ↔ cellular, say): calls probe their signaling
    /// socket and restart ICE at once instead of waiting for the connection to fail, and the
    /// event channel and the live Person subscription reconnect.
    pub async fn network_changed(&self) -> Result<(), DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run(async move {
            engine.network_changed();
            Ok(())
        })
        .await
    }

    /// How long a call rings (default 45 s): an incoming one then ends as missed, an outgoing
    /// one is given up (cancelled at the backend) and ends as missed.
    pub fn set_ring_timeout_ms(&self, timeout_ms: u64) {
        self.engine
            .calls()
            .set_ring_timeout(std::time::Duration::from_millis(timeout_ms.max(1)));
    }

    /// Whether the extended backend's call-event channel is connected (never on the seed).
    pub fn is_event_channel_connected(&self) -> bool {
        self.engine.event_channel_connected()
    }

    /// Mutes or unmutes the active call (the one holding the device: placed, ringing out,
    /// answered), as `Call.set_muted` does; with no active call it does nothing. A new call
    /// starts unmuted (ADR 0005).
    pub fn set_muted(&self, muted: bool) {
        if let Some(call) = self.engine.calls().active() {
            call.set_muted(muted);
        }
    }

    /// Whether the active call is muted; `false` with no active call.
    pub fn is_muted(&self) -> bool {
        self.engine.calls().active().is_some_and(|c| c.is_muted())
    }

    pub fn set_audio_source(&self, source: AudioSource) {
        self.engine.audio().set_source(match source {
            AudioSource::Microphone => Source::App,
            AudioSource::Tone { frequency_hz } => Source::Tone(frequency_hz),
        });
    }

    /// Microphone samples: 48 kHz, mono, 16-bit, any number at a time.
    pub fn push_capture(&self, samples: Vec<i16>) {
        self.engine.audio().push_capture(&samples);
    }

    /// Up to `count` samples to play (48 kHz mono); silence where none has arrived.
    pub fn pull_playback(&self, count: u32) -> Vec<i16> {
        let mut out = vec![0i16; count.min(48_000) as usize];
        self.engine.audio().pull_playback(&mut out);
        out
    }

    /// Microphone PCM as bytes: 16-bit little-endian, 48 kHz mono (what Android's
    /// `AudioRecord.read(ByteBuffer)` fills). Borrowed for the call, not copied: from the
    /// app's audio thread it takes no lock and allocates nothing. An odd trailing byte is
    /// ignored.
    pub fn push_capture_pcm(&self, pcm: &[u8]) {
        let mut samples = [0i16; 960];
        for chunk in pcm.chunks(960 * 2) {
            let n = chunk.len() / 2;
            for (s, b) in samples.iter_mut().zip(chunk.chunks_exact(2)) {
                *s = i16::from_le_bytes([b[0], b[1]]);
            }
            self.engine.audio().push_capture(&samples[..n]);
        }
    }

    /// Up to `count` samples to play as 16-bit little-endian bytes (48 kHz mono); silence
    /// where none has arrived.
    pub fn pull_playback_pcm(&self, count: u32) -> Vec<u8> {
        // Called every 20 ms: the returned buffer is the only allocation.
        let mut left = count.min(48_000) as usize;
        let mut bytes = Vec::with_capacity(left * 2);
        let mut frame = [0i16; 960];
        while left > 0 {
            let n = left.min(frame.len());
            self.engine.audio().pull_playback(&mut frame[..n]);
            bytes.extend(frame[..n].iter().flat_map(|s| s.to_le_bytes()));
            left -= n;
        }
        bytes
    }

    /// Which of `candidates_hz` dominates the last half second of received audio, if any.
    pub fn detected_remote_tone(&self, candidates_hz: Vec<f32>) -> Option<f32> {
        self.engine
            .audio()
            .dominant_remote_frequency(&candidates_hz)
    }

    /// Every one of `candidates_hz` clearly present in the last half second of received
    /// audio (a call mixing several remote voices hears several), in the order given.
    pub fn heard_remote_tones(&self, candidates_hz: Vec<f32>) -> Vec<f32> {
        self.engine.audio().remote_frequencies(&candidates_hz)
    }
}
