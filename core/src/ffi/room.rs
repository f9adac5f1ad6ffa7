//! The room surface: the `Room` object (state, members, mute, leave, events) and the
//! client's entry points (`create_room`, `enter_room`, `active_room`). Converts
//! `rooms::` types; no logic lives here.

use std::sync::Arc;

use super::call::RemoteStreamStats;
use super::client::{DialtoneClient, TaskHandle};
use super::error::DialtoneError;
use super::runtime::{guard, run_to_completion};
use crate::calls::events::deliver_on_thread;
use crate::rooms::{self, RoomHandle, RoomUpdate};

/// Where this device stands in a room.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RoomState {
    /// Entered; its media is being joined.
    Joining,
    /// Its audio is published: members who speak are heard (a lone member hears nobody).
    Joined,
    /// The connection dropped; it is being restored.
    Reconnecting,
    Left {
        reason: RoomLeftReason,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RoomLeftReason {
    /// This device left (`leave`, or the client closed).
    Local,
    /// The connection could not be kept, or the server lost this device.
    ConnectionLost,
    /// This device's clientId was deleted.
    Removed,
    /// The room's media could not be joined; `detail` says why.
    Failed { detail: String },
}

/// Why another member left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MemberLeftReason {
    Left,
    /// Its connection was lost and did not come back.
    Lost,
    /// Its clientId was deleted.
    Removed,
}

/// A member of a room, this device included.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RoomMember {
    /// Its media participant id: the key of its stream in `RemoteStreamStats`.
    pub participant_id: String,
    pub client_id: Option<String>,
    /// Its Person's name, when it has one.
    pub name: Option<String>,
    pub is_local: bool,
    /// Null: not known.
    pub muted: Option<bool>,
    pub speaking: bool,
    /// 0.0 (silence) to 1.0 (full scale).
    pub audio_level: f32,
    /// When it entered, epoch ms (as the server says).
    pub joined_at_ms: Option<i64>,
    /// Its connection was lost and may come back (it is not heard meanwhile).
    pub reconnecting: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum RoomEvent {
    /// The first event of every observation: where the room stands now.
    Snapshot {
        state: RoomState,
        members: Vec<RoomMember>,
        active_speakers: Vec<String>,
    },
    StateChanged {
        state: RoomState,
    },
    /// Someone entered after the snapshot.
    MemberJoined {
        member: RoomMember,
    },
    MemberLeft {
        member: RoomMember,
        reason: MemberLeftReason,
    },
    /// A member's muted state, its connection (lost, back) or its name changed.
    MemberChanged {
        member: RoomMember,
    },
    /// Participant ids of the members speaking, loudest first, this device included. At
    /// most one every 500 ms.
    ActiveSpeakers {
        participant_ids: Vec<String>,
    },
    /// Every member's level, five times a second; coalesced (a slow listener gets the latest).
    Levels {
        levels: Vec<MemberLevel>,
    },
    /// A client rung into the room (by any member): its invite's state now.
    InviteChanged {
        client_id: String,
        call_id: String,
        state: InviteState,
    },
    /// Once a second; coalesced.
    Stats {
        rtt_ms: Option<f64>,
        packet_loss: f32,
        bytes_sent: u64,
        bytes_received: u64,
        target_bitrate_bps: u32,
        streams: Vec<RemoteStreamStats>,
    },
}

/// Where an invite into the room stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum InviteState {
    Ringing,
    /// Answered: the client entered the room.
    Joined,
    Declined,
    /// The client was in a call or another room.
    Busy,
    /// Nobody answered within 45 s.
    Missed,
    /// The ringer cancelled it (or the room ended).
    Cancelled,
}

/// An invite `ring` made.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RoomInvite {
    pub client_id: String,
    /// The invite's call id: the one its callee's `IncomingInvite` carries.
    pub call_id: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MemberLevel {
    pub participant_id: String,
    pub audio_level: f32,
}

#[uniffi::export(foreign)]
pub trait RoomListener: Send + Sync {
    fn on_room_event(&self, event: RoomEvent);
}

impl From<rooms::RoomState> for RoomState {
    fn from(s: rooms::RoomState) -> Self {
        match s {
            rooms::RoomState::Joining => RoomState::Joining,
            rooms::RoomState::Joined => RoomState::Joined,
            rooms::RoomState::Reconnecting => RoomState::Reconnecting,
            rooms::RoomState::Left(r) => RoomState::Left {
                reason: match r {
                    rooms::LeftReason::Local => RoomLeftReason::Local,
                    rooms::LeftReason::ConnectionLost => RoomLeftReason::ConnectionLost,
                    rooms::LeftReason::Removed => RoomLeftReason::Removed,
                    rooms::LeftReason::Failed(detail) => RoomLeftReason::Failed {
                        detail: crate::logging::redact(&detail),
                    },
                },
            },
        }
    }
}

impl From<rooms::RoomMember> for RoomMember {
    fn from(m: rooms::RoomMember) -> Self {
        RoomMember {
            participant_id: m.participant_id,
            client_id: m.client_id,
            name: m.name,
            is_local: m.is_local,
            muted: m.muted,
            speaking: m.speaking,
            audio_level: m.audio_level,
            joined_at_ms: m.joined_at_ms,
            reconnecting: m.reconnecting,
        }
    }
}

impl From<rooms::MemberLeftReason> for MemberLeftReason {
    fn from(r: rooms::MemberLeftReason) -> Self {
        match r {
            rooms::MemberLeftReason::Left => MemberLeftReason::Left,
            rooms::MemberLeftReason::Lost => MemberLeftReason::Lost,
            rooms::MemberLeftReason::Removed => MemberLeftReason::Removed,
        }
    }
}

impl From<RoomUpdate> for RoomEvent {
    fn from(u: RoomUpdate) -> Self {
        match u {
            RoomUpdate::Snapshot {
                state,
                members,
                active_speakers,
            } => RoomEvent::Snapshot {
                state: state.into(),
                members: members.into_iter().map(Into::into).collect(),
                active_speakers,
            },
            RoomUpdate::State(s) => RoomEvent::StateChanged { state: s.into() },
            RoomUpdate::MemberJoined(m) => RoomEvent::MemberJoined { member: m.into() },
            RoomUpdate::MemberLeft(m, r) => RoomEvent::MemberLeft {
                member: m.into(),
                reason: r.into(),
            },
            RoomUpdate::MemberChanged(m) => RoomEvent::MemberChanged { member: m.into() },
            RoomUpdate::ActiveSpeakers(participant_ids) => {
                RoomEvent::ActiveSpeakers { participant_ids }
            }
            RoomUpdate::Levels(levels) => RoomEvent::Levels {
                levels: levels
                    .into_iter()
                    .map(|(participant_id, audio_level)| MemberLevel {
                        participant_id,
                        audio_level,
                    })
                    .collect(),
            },
            RoomUpdate::InviteChanged {
                client_id,
                call_id,
                state,
            } => RoomEvent::InviteChanged {
                client_id,
                call_id,
                state: match state {
                    rooms::InviteState::Ringing => InviteState::Ringing,
                    rooms::InviteState::Joined => InviteState::Joined,
                    rooms::InviteState::Declined => InviteState::Declined,
                    rooms::InviteState::Busy => InviteState::Busy,
                    rooms::InviteState::Missed => InviteState::Missed,
                    rooms::InviteState::Cancelled => InviteState::Cancelled,
                },
            },
            RoomUpdate::Stats(s) => RoomEvent::Stats {
                rtt_ms: s.rtt_ms,
                packet_loss: s.packet_loss,
                bytes_sent: s.bytes_sent,
                bytes_received: s.bytes_received,
                target_bitrate_bps: s.target_bitrate_bps,
                streams: s.streams.into_iter().map(Into::into).collect(),
            },
        }
    }
}

/// A room this device entered. Leaving is `leave()`; closing the client leaves too.
#[derive(uniffi::Object)]
pub struct Room {
    handle: Arc<RoomHandle>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("id", &self.handle.id())
            .field("state", &self.handle.state())
            .finish()
    }
}

#[uniffi::export]
impl Room {
    /// The room's id: give it to others so they can `enter_room` it.
    pub fn id(&self) -> String {
        self.handle.id().to_string()
    }

    pub fn state(&self) -> RoomState {
        self.handle.state().into()
    }

    /// The members now: this device first, then in the order they entered.
    pub fn members(&self) -> Vec<RoomMember> {
        self.handle.members().into_iter().map(Into::into).collect()
    }

    /// Mutes or unmutes this device in the room: silence is sent at once, and the other
    /// members are told.
    pub async fn set_muted(&self, muted: bool) -> Result<(), DialtoneError> {
        let handle = self.handle.clone();
        run_to_completion(async move { Ok(handle.set_muted(muted).await?) }).await
    }

    pub fn is_muted(&self) -> bool {
        self.handle.is_muted()
    }

    /// Rings `client_ids` into the room: their phones ring as for a call (push, CallKit /
    /// Telecom), and they answer by entering. Clients already in the room or already rung
    /// are skipped; each invite's fate comes as `InviteChanged`. `RoomFull` when ringing
    /// invites would take more places than are left.
    pub async fn ring(&self, client_ids: Vec<String>) -> Result<Vec<RoomInvite>, DialtoneError> {
        if client_ids.is_empty()
            || client_ids.len() > 16
            || client_ids
                .iter()
                .any(|c| c.trim().is_empty() || c.len() > 4_096)
        {
            return Err(DialtoneError::InvalidInput {
                detail: "give 1 to 16 non-empty clientIds".into(),
            });
        }
        let handle = self.handle.clone();
        super::runtime::run(async move {
            let made = handle.ring(&client_ids).await?;
            Ok(made
                .into_iter()
                .map(|(client_id, call_id)| RoomInvite { client_id, call_id })
                .collect())
        })
        .await
    }

    /// Stops ringing an invite this device made with `ring` (its `call_id`): the callee's
    /// phone stops ringing. `CallUnavailable` when the invite is already over.
    pub async fn cancel_ring(&self, call_id: String) -> Result<(), DialtoneError> {
        let handle = self.handle.clone();
        run_to_completion(async move { Ok(handle.cancel_ring(&call_id).await?) }).await
    }

    /// Leaves the room (media, then the server). Idempotent; cancelling the caller does not
    /// stop it.
    pub async fn leave(&self) -> Result<(), DialtoneError> {
        let handle = self.handle.clone();
        run_to_completion(async move {
            handle.leave().await;
            Ok(())
        })
        .await
    }

    /// The room's events, starting with a snapshot; the observation ends after `Left`, or
    /// when the handle is cancelled or dropped.
    pub fn observe(
        &self,
        listener: Arc<dyn RoomListener>,
    ) -> Result<Arc<TaskHandle>, DialtoneError> {
        guard(|| {
            let queue = self.handle.subscribe();
            let thread = deliver_on_thread(
                "dialtone-room-events",
                queue.clone(),
                move |u: RoomUpdate| {
                    let last = matches!(u, RoomUpdate::State(rooms::RoomState::Left(_)));
                    listener.on_room_event(u.into());
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
    /// Makes a room and enters it. `RoomsUnavailable` on a backend without rooms (the seed);
    /// `Busy` while this device is in a call.
    pub async fn create_room(&self) -> Result<Arc<Room>, DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run(async move {
            let handle = engine.create_room().await?;
            Ok(Arc::new(Room { handle }))
        })
        .await
    }

    /// Enters a room by id. `RoomUnavailable` when it is over or unknown, `RoomFull`,
    /// `Busy` while this device is in a call.
    pub async fn enter_room(&self, room_id: String) -> Result<Arc<Room>, DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run(async move {
            let handle = engine.enter_room(&room_id).await?;
            Ok(Arc::new(Room { handle }))
        })
        .await
    }

    /// Answers a room invite (an incoming call whose `IncomingInvite.room_id` is set): enters
    /// that room and returns once joined. The invite's `Call` then ends (answered here, into
    /// the room). `Call.answer()` on a room invite does the same; the room is then
    /// `active_room()`.
    pub async fn answer_room(&self, call_id: String) -> Result<Arc<Room>, DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run_to_completion(async move {
            let handle = engine.answer_room(&call_id).await?;
            Ok(Arc::new(Room { handle }))
        })
        .await
    }

    /// Joins the N-party media session a participant token admits to (one an app's own
    /// server made, on any backend, the seed's included) as a room: every stream is mixed,
    /// and the members are the streams the gateway names (each publisher's clientId from
    /// its stream's alias, its name from the Person list); muted is unknown. `leave()` sends
    /// the gateway's `leave` and closes; it never ends the session for the others.
    pub async fn join_session(
        &self,
        participant_token: String,
    ) -> Result<Arc<Room>, DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run(async move {
            let handle = engine.join_session(&participant_token).await?;
            Ok(Arc::new(Room { handle }))
        })
        .await
    }

    /// The room this device is in, if any.
    pub fn active_room(&self) -> Option<Arc<Room>> {
        self.engine
            .active_room()
            .map(|handle| Arc::new(Room { handle }))
    }
}
