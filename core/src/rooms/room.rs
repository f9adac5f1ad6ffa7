//! One room this device is in: an actor with one inbox (the room's `/ws` events, its media
//! session's events, snapshot replies, and the app's requests), its state, its member list
//! (`roster`), who is speaking (`speakers`) and its media session, joined with the
//! participant token `enterRoom` gave. It reports to every subscriber through a hub, first a
//! snapshot and then each change in order. Leaving is idempotent and cancellation-safe: the
//! actor does it, whoever stops waiting.
//!
//! State: `Joining` (entered, media being joined) → `Joined` (published: a lone member hears
//! nobody yet) ⇄ `Reconnecting` → `Left(reason)`: `Local` (this device left), `ConnectionLost`
//! (the media session could not be kept, or the server says this member was lost),
//! `Removed` (its clientId was deleted), `Failed` (the media session could not be joined).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::roster::{Change, Roster};
use super::speakers::{ActiveSpeakers, Reading};
use crate::backend::rest::{RestClient, RestError};
use crate::backend::rooms::{Entry, LeaveReason, MemberRow, RoomEvent, Snapshot};
use crate::calls::events::{lock, Coalesce, Hub, Queue};
use crate::media::link::{
    MediaConnector, MediaEnd, MediaEvent, MediaEvents, MediaLink, MediaStats, SessionOwner,
    TokenRenewer,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomState {
    Joining,
    Joined,
    Reconnecting,
    Left(LeftReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftReason {
    Local,
    ConnectionLost,
    Removed,
    Failed(String),
}

/// Why another member left.
pub use crate::backend::rooms::LeaveReason as MemberLeftReason;

/// Where an invite into the room stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    Ringing,
    /// Answered: the client entered the room.
    Joined,
    Declined,
    Busy,
    Missed,
    Cancelled,
}

/// One member as the app sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomMember {
    pub participant_id: String,
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub is_local: bool,
    /// `None`: not known.
    pub muted: Option<bool>,
    pub speaking: bool,
    /// 0.0 to 1.0 (RMS of its last frame).
    pub audio_level: f32,
    pub joined_at_ms: Option<i64>,
    /// Its connection is lost and may come back (the server's presence says so).
    pub reconnecting: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RoomUpdate {
    /// The first item of every subscription: where the room stands.
    Snapshot {
        state: RoomState,
        members: Vec<RoomMember>,
        active_speakers: Vec<String>,
    },
    State(RoomState),
    /// A member that entered after this device (or after the last snapshot).
    MemberJoined(RoomMember),
    MemberLeft(RoomMember, MemberLeftReason),
    /// Its muted state, its connection (lost, back) or its name changed.
    MemberChanged(RoomMember),
    /// Participant ids of those speaking, loudest first, this device included.
    ActiveSpeakers(Vec<String>),
    /// Every member's level (participant id, 0.0 to 1.0), this device included.
    Levels(Vec<(String, f32)>),
    /// A client rung into the room: its invite's state now.
    InviteChanged {
        client_id: String,
        call_id: String,
        state: InviteState,
    },
    Stats(MediaStats),
}

impl Coalesce for RoomUpdate {
    fn replaces(&self, older: &Self) -> bool {
        matches!(
            (self, older),
            (RoomUpdate::Levels(_), RoomUpdate::Levels(_))
                | (RoomUpdate::Stats(_), RoomUpdate::Stats(_))
        )
    }
}

/// What a room needs from the rest of the core.
#[derive(Clone)]
pub struct RoomPorts {
    pub rest: RestClient,
    pub media: Arc<dyn MediaConnector>,
    /// This device's clientId (empty if unregistered: a session joined by token) and the
    /// extended backend's secret (empty on the seed).
    pub client_id: String,
    pub secret: String,
    pub presence: Presence,
}

/// Where a room's member list comes from.
#[derive(Clone)]
pub enum Presence {
    /// The backend's rooms (`enterRoom`, `/ws` events): names, mute, leave reasons.
    Server,
    /// The media session alone (a session an app's server made, joined by token, on any
    /// backend): a member is a stream the gateway names, its clientId the stream's alias,
    /// its name that Person's (`names`); mute unknown; it leaves when its stream goes.
    Media { names: Names },
}

/// A clientId's Person name, if this device knows it.
pub type Names = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl RoomPorts {
    fn server(&self) -> bool {
        matches!(self.presence, Presence::Server)
    }
}

/// How a room is entered.
pub enum Source<'a> {
    /// `enterRoom` (answering the invite with this call id, if any).
    Enter {
        room_id: &'a str,
        answering: Option<&'a str>,
    },
    /// A participant token for a session an app's own server made.
    Token(&'a str),
}

enum Msg {
    Channel(RoomEvent),
    Media(MediaEvent),
    Joined(Result<Arc<dyn MediaLink>, String>),
    Snapshot(Snapshot),
    Leave(oneshot::Sender<()>),
    SetMuted(bool, oneshot::Sender<Result<(), RestError>>),
    Invite {
        client_id: String,
        call_id: String,
        state: InviteState,
    },
}

/// What the handle and the actor share: read by `members`/`state` at any time.
struct Shared {
    id: String,
    state: Mutex<RoomState>,
    view: Mutex<View>,
    hub: Hub<RoomUpdate>,
    muted: Arc<AtomicBool>,
}

/// The member list with each member's levels, and this device's connection id.
#[derive(Default)]
struct View {
    local: String,
    roster: Roster,
    /// Levels and speaking by participant id (from the media session's stats).
    /// (participant id, level, speaking), this device's first.
    levels: Vec<(String, f32, bool)>,
    speakers: ActiveSpeakers,
    /// This device's last three 200 ms windows, voiced or not (newest in bit 0).
    local_windows: u8,
}

impl View {
    fn member(&self, row: &MemberRow) -> RoomMember {
        let (audio_level, speaking) = self.level(&row.connection_id);
        RoomMember {
            participant_id: row.connection_id.clone(),
            client_id: row.client_id.clone(),
            name: row.name.clone(),
            is_local: row.connection_id == self.local,
            muted: row.muted,
            speaking,
            audio_level,
            joined_at_ms: row.joined_at_ms,
            reconnecting: row.reconnecting,
        }
    }

    /// A member's level and whether it speaks (silent if unknown).
    fn level(&self, id: &str) -> (f32, bool) {
        self.levels
            .iter()
            .find(|(p, ..)| p == id)
            .map_or((0.0, false), |(_, l, s)| (*l, *s))
    }

    /// This device first, then by the order they entered.
    fn members(&self) -> Vec<RoomMember> {
        let mut list: Vec<RoomMember> = self
            .roster
            .members()
            .iter()
            .map(|m| self.member(m))
            .collect();
        list.sort_by_key(|m| !m.is_local);
        list
    }
}

pub struct RoomHandle {
    shared: Arc<Shared>,
    inbox: mpsc::UnboundedSender<Msg>,
    task: tokio::task::AbortHandle,
    ports: RoomPorts,
}

impl RoomHandle {
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    pub fn state(&self) -> RoomState {
        lock(&self.shared.state).clone()
    }

    pub fn members(&self) -> Vec<RoomMember> {
        lock(&self.shared.view).members()
    }

    pub fn is_muted(&self) -> bool {
        self.shared.muted.load(Ordering::SeqCst)
    }

    /// Updates from now on, starting with a snapshot.
    pub fn subscribe(&self) -> Arc<Queue<RoomUpdate>> {
        let shared = &self.shared;
        shared.hub.subscribe_with(|| {
            let view = lock(&shared.view);
            vec![RoomUpdate::Snapshot {
                state: lock(&shared.state).clone(),
                members: view.members(),
                active_speakers: view.speakers.current().to_vec(),
            }]
        })
    }

    /// A room event from the channel.
    pub(super) fn deliver(&self, ev: RoomEvent) {
        let _ = self.inbox.send(Msg::Channel(ev));
    }

    /// An invite's news from the channel.
    pub(super) fn deliver_invite(&self, client_id: String, call_id: String, state: InviteState) {
        let _ = self.inbox.send(Msg::Invite {
            client_id,
            call_id,
            state,
        });
    }

    /// Stops ringing one invite this device made (`cancelCall`): its callee's phone stops
    /// ringing (`Cancelled`). An invite that is over already is `CallUnavailable`.
    pub async fn cancel_ring(&self, call_id: &str) -> crate::error::Result<()> {
        let ports = &self.ports;
        if !ports.server() {
            return Err(RestError::RoomsUnavailable.into());
        }
        Ok(ports
            .rest
            .cancel_call(&ports.client_id, call_id, &ports.secret)
            .await?)
    }

    /// Rings `client_ids` into the room (their phones ring as for a call); each invite's
    /// fate comes as `InviteChanged`. Clients already in the room or already rung are
    /// skipped. The invites made: `(clientId, callId)`.
    pub async fn ring(&self, client_ids: &[String]) -> crate::error::Result<Vec<(String, String)>> {
        let ports = &self.ports;
        if !ports.server() {
            return Err(RestError::RoomsUnavailable.into());
        }
        Ok(ports
            .rest
            .ring_room(&ports.client_id, &ports.secret, &self.shared.id, client_ids)
            .await?)
    }

    /// Mutes or unmutes this device's microphone in the room (at once), and tells the
    /// others (`setMuted`).
    pub async fn set_muted(&self, muted: bool) -> crate::error::Result<()> {
        self.shared.muted.store(muted, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        if self.inbox.send(Msg::SetMuted(muted, tx)).is_err() {
            return Ok(());
        }
        match rx.await {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Ok(()),
        }
    }

    /// Leaves the room: media first, then `leaveRoom`. Idempotent; if the caller stops
    /// waiting, the room still leaves.
    pub async fn leave(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inbox.send(Msg::Leave(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops the room's task without leaving (the client is going away; the server's
    /// presence notices the media leaving).
    pub(super) fn abort(&self) {
        self.task.abort();
    }
}

/// Why entering failed.
pub enum EnterError {
    Rest(RestError),
    /// Entered, but its media could not be joined (the room was left again).
    Media(String),
}

/// Enters `room_id` (its `enterRoom`), starts the room and returns once its media is joined
/// (`Joined`); `on_end` runs when it is over. `register` is called with the handle before
/// `enterRoom` is sent, so channel events that race the reply are held, not lost.
pub async fn enter(
    ports: RoomPorts,
    source: Source<'_>,
    register: impl FnOnce(Arc<RoomHandle>),
    on_end: impl FnOnce(&str) + Send + 'static,
) -> Result<Arc<RoomHandle>, (EnterError, Arc<RoomHandle>)> {
    let room_id = match &source {
        Source::Enter { room_id, .. } => room_id.to_string(),
        Source::Token(token) => crate::media::link::decode_claims(token)
            .and_then(|c| c.tid)
            .unwrap_or_default(),
    };
    let room_id = room_id.as_str();
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        id: room_id.to_string(),
        state: Mutex::new(RoomState::Joining),
        view: Mutex::new(View::default()),
        hub: Hub::default(),
        muted: Arc::new(AtomicBool::new(false)),
    });
    let (entry_tx, entry_rx) = oneshot::channel::<Entry>();
    let (joined_tx, joined_rx) = oneshot::channel::<Result<(), String>>();
    let actor = Actor {
        shared: shared.clone(),
        inbox: tx.clone(),
        ports: ports.clone(),
        link: None,
        fetching: false,
        joined: Some(joined_tx),
    };
    let task = crate::task::spawn(async move {
        let Ok(entry) = entry_rx.await else { return };
        actor.run(rx, entry).await;
    });
    let handle = Arc::new(RoomHandle {
        shared,
        inbox: tx,
        task: task.abort_handle(),
        ports: ports.clone(),
    });
    register(handle.clone());
    let entered = match source {
        Source::Enter { answering, .. } => {
            ports
                .rest
                .enter_room(&ports.client_id, &ports.secret, room_id, answering)
                .await
        }
        Source::Token(token) => Ok(token_entry(token, room_id, &ports.client_id)),
    };
    let entry = match entered {
        Ok(e) => e,
        Err(e) => {
            task.abort();
            return Err((EnterError::Rest(e), handle));
        }
    };
    // The list is there before this returns: `members()` lists this device at once.
    {
        let mut view = lock(&handle.shared.view);
        view.local = entry.connection_id.clone();
        view.roster.snapshot(entry.snapshot.clone());
    }
    let _ = entry_tx.send(entry);
    let id = room_id.to_string();
    crate::task::spawn(async move {
        let _ = task.await;
        on_end(&id);
    });
    match joined_rx.await {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(why)) => Err((EnterError::Media(why), handle)),
        Err(_) => Err((EnterError::Media("the room was stopped".into()), handle)),
    }
}

fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A session joined by token: this device is its only known member until streams come.
fn token_entry(token: &str, room_id: &str, client_id: &str) -> Entry {
    let me = crate::media::link::decode_claims(token)
        .and_then(|c| c.p)
        .unwrap_or_else(|| "local".into());
    Entry {
        snapshot: Snapshot {
            room_id: room_id.to_string(),
            members: vec![MemberRow {
                connection_id: me.clone(),
                client_id: (!client_id.is_empty()).then(|| client_id.to_string()),
                name: None,
                muted: None,
                joined_at_ms: None,
                reconnecting: false,
            }],
            seq: 0,
        },
        token: token.to_string(),
        connection_id: me,
    }
}

struct Actor {
    shared: Arc<Shared>,
    inbox: mpsc::UnboundedSender<Msg>,
    ports: RoomPorts,
    link: Option<Arc<dyn MediaLink>>,
    /// A `getRoom` is on its way.
    fetching: bool,
    /// Told once the media is joined, or could not be.
    joined: Option<oneshot::Sender<Result<(), String>>>,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, entry: Entry) {
        let span = tracing::info_span!("room", room_id = %self.shared.id);
        let _enter = span.enter();
        // `enter` has taken the reply's snapshot; what the channel held for this room before
        // it (the entrant's own `enter` among them) is in the inbox, already in the snapshot
        // or following it.
        tracing::info!(target: "dialtone::rooms", "entered; joining its media");
        self.join(&entry.token);
        let mut leave_replies: Vec<oneshot::Sender<()>> = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Joined(Ok(link)) => {
                    if self.is_left() {
                        link.leave().await;
                        continue;
                    }
                    self.link = Some(link);
                    self.set_state(RoomState::Joined);
                    if let Some(j) = self.joined.take() {
                        let _ = j.send(Ok(()));
                    }
                }
                Msg::Joined(Err(why)) => {
                    if !self.is_left() {
                        tracing::warn!(target: "dialtone::rooms", "the room's media could not be joined: {why}");
                        self.end(LeftReason::Failed(why.clone()), true).await;
                    }
                    if let Some(j) = self.joined.take() {
                        let _ = j.send(Err(why));
                    }
                }
                Msg::Media(ev) => self.on_media(ev).await,
                Msg::Channel(ev) => {
                    let step = lock(&self.shared.view).roster.event(ev);
                    self.after_step(step).await;
                }
                Msg::Snapshot(snap) => {
                    self.fetching = false;
                    let step = lock(&self.shared.view).roster.snapshot(snap);
                    self.after_step(step).await;
                }
                Msg::SetMuted(muted, reply) => {
                    // Without server presence the others cannot be told (they hear silence).
                    let r = if self.is_left() || !self.ports.server() {
                        Ok(())
                    } else {
                        self.ports
                            .rest
                            .set_room_muted(
                                &self.ports.client_id,
                                &self.ports.secret,
                                &self.shared.id,
                                muted,
                            )
                            .await
                    };
                    let _ = reply.send(r);
                }
                Msg::Invite {
                    client_id,
                    call_id,
                    state,
                } => {
                    if !self.is_left() {
                        self.shared.hub.publish(RoomUpdate::InviteChanged {
                            client_id,
                            call_id,
                            state,
                        });
                    }
                }
                Msg::Leave(reply) => {
                    if !self.is_left() {
                        self.end(LeftReason::Local, true).await;
                    }
                    leave_replies.push(reply);
                }
            }
            if self.is_left() {
                for r in leave_replies.drain(..) {
                    let _ = r.send(());
                }
                // Later requests find the inbox closed: leave is done, mute changes nothing.
                rx.close();
                while let Some(msg) = rx.recv().await {
                    match msg {
                        Msg::Leave(r) => drop(r.send(())),
                        Msg::SetMuted(_, r) => drop(r.send(Ok(()))),
                        Msg::Joined(Ok(link)) => link.leave().await,
                        _ => {}
                    }
                }
                return;
            }
        }
    }

    fn is_left(&self) -> bool {
        matches!(*lock(&self.shared.state), RoomState::Left(_))
    }

    fn set_state(&self, state: RoomState) {
        let shared = &self.shared;
        shared.hub.publish_with(|| {
            *lock(&shared.state) = state.clone();
            RoomUpdate::State(state)
        });
    }

    fn join(&self, token: &str) {
        let inbox = self.inbox.clone();
        let events = MediaEvents::new(move |ev| inbox.send(Msg::Media(ev)).is_ok());
        let owner = SessionOwner {
            events,
            muted: self.shared.muted.clone(),
            alias: (!self.ports.client_id.is_empty()).then(|| self.ports.client_id.clone()),
        };
        let (rest, client_id, secret, room_id) = (
            self.ports.rest.clone(),
            self.ports.client_id.clone(),
            self.ports.secret.clone(),
            self.shared.id.clone(),
        );
        let server = self.ports.server();
        let renew: TokenRenewer = Arc::new(move || {
            let (rest, client_id, secret, room_id) = (
                rest.clone(),
                client_id.clone(),
                secret.clone(),
                room_id.clone(),
            );
            Box::pin(async move {
                rest.renew_room_token(&client_id, &secret, &room_id)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        let (media, token, inbox) = (
            self.ports.media.clone(),
            token.to_string(),
            self.inbox.clone(),
        );
        crate::task::spawn(async move {
            let r = media
                .join(&token, owner, server.then_some(renew))
                .await
                .map_err(|e| e.to_string());
            let _ = inbox.send(Msg::Joined(r));
        });
    }

    async fn on_media(&mut self, ev: MediaEvent) {
        if self.is_left() {
            return;
        }
        match ev {
            MediaEvent::Reconnecting => self.set_state(RoomState::Reconnecting),
            MediaEvent::Connected => {
                if *lock(&self.shared.state) == RoomState::Reconnecting {
                    self.set_state(RoomState::Joined);
                }
            }
            MediaEvent::Ended(MediaEnd::Left) | MediaEvent::Connecting => {}
            MediaEvent::Ended(end) => {
                tracing::info!(target: "dialtone::rooms", "the room's media ended: {end:?}");
                self.end(LeftReason::ConnectionLost, true).await;
            }
            // Calls' once-a-second levels; a room has `Levels` five times a second.
            MediaEvent::AudioLevel { .. } => {}
            MediaEvent::Levels { local, streams } => self.on_levels(local, &streams),
            MediaEvent::Stats(stats) => self.on_stats(stats),
        }
    }

    /// Without server presence, the members are the streams the gateway names: a snapshot
    /// of them (this device first) each time they change, so the roster says who came and
    /// who went.
    fn media_presence(&mut self, stats: &MediaStats) {
        let Presence::Media { names } = &self.ports.presence else {
            return;
        };
        let step = {
            let mut view = lock(&self.shared.view);
            let mut members: Vec<MemberRow> = view
                .roster
                .members()
                .iter()
                .filter(|m| m.connection_id == view.local)
                .cloned()
                .collect();
            for s in &stats.streams {
                let Some(p) = &s.participant_id else { continue };
                if members.iter().any(|m| &m.connection_id == p) {
                    continue;
                }
                // A member keeps what it had (its join time) if it was there already.
                let known = view.roster.get(p).cloned();
                members.push(known.unwrap_or_else(|| MemberRow {
                    connection_id: p.clone(),
                    client_id: s.alias.clone(),
                    name: s.alias.as_deref().and_then(|a| names(a)),
                    muted: None,
                    joined_at_ms: Some(epoch_ms()),
                    reconnecting: false,
                }));
            }
            let same = members.len() == view.roster.members().len()
                && members
                    .iter()
                    .all(|m| view.roster.get(&m.connection_id).is_some());
            if same {
                return;
            }
            let seq = view.roster.seq_or_zero() + 1;
            let room_id = self.shared.id.clone();
            view.roster.snapshot(Snapshot {
                room_id,
                members,
                seq,
            })
        };
        self.publish_changes(step.changes);
    }

    fn on_stats(&mut self, stats: MediaStats) {
        self.media_presence(&stats);
        self.shared.hub.publish(RoomUpdate::Stats(stats));
    }

    /// Every 200 ms: each member's level and speaking (this device's by the same rule as a
    /// stream's, from its level each window), the active speakers (reported at most every
    /// 500 ms) and the levels.
    fn on_levels(&mut self, local: f32, streams: &[crate::media::link::StreamLevel]) {
        let shared = &self.shared;
        let mut view = lock(&shared.view);
        let me = view.local.clone();
        let voiced = local > crate::media::link::SPEAKING_LEVEL;
        view.local_windows = (view.local_windows << 1 | u8::from(voiced)) & 0b111;
        let speaking = view.local_windows.count_ones() >= 2;
        view.levels.clear();
        view.levels.push((me, local, speaking));
        for s in streams {
            if let Some(p) = &s.participant_id {
                view.levels.push((p.clone(), s.level, s.speaking));
            }
        }
        let readings: Vec<(String, f32, bool)> = view
            .roster
            .members()
            .iter()
            .map(|m| {
                let (level, speaking) = view.level(&m.connection_id);
                (m.connection_id.clone(), level, speaking)
            })
            .collect();
        let list: Vec<Reading<'_>> = readings
            .iter()
            .map(|(id, level, speaking)| Reading {
                id,
                level: *level,
                speaking: *speaking,
            })
            .collect();
        let speakers = view.speakers.update(&list, Instant::now());
        drop(view);
        if let Some(list) = speakers {
            shared.hub.publish(RoomUpdate::ActiveSpeakers(list));
        }
        shared.hub.publish(RoomUpdate::Levels(
            readings.into_iter().map(|(id, l, _)| (id, l)).collect(),
        ));
    }

    async fn after_step(&mut self, step: super::roster::Step) {
        let local = lock(&self.shared.view).local.clone();
        let me_gone = step.changes.iter().find_map(|c| match c {
            Change::Left(m, reason) if m.connection_id == local => Some(*reason),
            _ => None,
        });
        self.publish_changes(step.changes);
        if step.need_snapshot && !self.fetching && self.ports.server() {
            self.fetching = true;
            let (rest, client_id, secret, room_id, inbox) = (
                self.ports.rest.clone(),
                self.ports.client_id.clone(),
                self.ports.secret.clone(),
                self.shared.id.clone(),
                self.inbox.clone(),
            );
            crate::task::spawn(async move {
                match rest.get_room(&client_id, &secret, &room_id).await {
                    Ok(s) => drop(inbox.send(Msg::Snapshot(s))),
                    Err(e) => {
                        tracing::info!(target: "dialtone::rooms", "getRoom after a gap failed: {e}")
                    }
                }
            });
        }
        if let Some(reason) = me_gone {
            if !self.is_left() {
                tracing::info!(target: "dialtone::rooms", "the server says this device left the room ({reason:?})");
                let reason = match reason {
                    LeaveReason::Removed => LeftReason::Removed,
                    LeaveReason::Lost => LeftReason::ConnectionLost,
                    LeaveReason::Left => LeftReason::Local,
                };
                // The server has already taken this member out.
                self.end(reason, false).await;
            }
        }
    }

    fn publish_changes(&self, changes: Vec<Change>) {
        let view = lock(&self.shared.view);
        for c in changes {
            let update = match c {
                Change::Joined(m) => RoomUpdate::MemberJoined(view.member(&m)),
                Change::Left(m, reason) => RoomUpdate::MemberLeft(view.member(&m), reason),
                Change::Changed(m) => RoomUpdate::MemberChanged(view.member(&m)),
            };
            self.shared.hub.publish(update);
        }
    }

    /// The room is over for this device: state first, then media, then (`tell_server`) the
    /// server, best effort: a member whose media is gone is taken out by the server anyway.
    async fn end(&mut self, reason: LeftReason, tell_server: bool) {
        if let Some(j) = self.joined.take() {
            let _ = j.send(Err(format!("the room ended while joining: {reason:?}")));
        }
        self.set_state(RoomState::Left(reason));
        if let Some(link) = self.link.take() {
            link.leave().await;
        }
        if tell_server && self.ports.server() {
            match self
                .ports
                .rest
                .leave_room(&self.ports.client_id, &self.ports.secret, &self.shared.id)
                .await
            {
                Ok(()) | Err(RestError::RoomGone(_) | RestError::Unauthorized { .. }) => {}
                Err(e) => tracing::info!(target: "dialtone::rooms", "leaveRoom failed: {e}"),
            }
        }
        self.shared.hub.close_all();
    }
}
