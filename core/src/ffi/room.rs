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
    /// A member's muted state or name changed.
    MemberChanged {
        member: RoomMember,
    },
    /// Participant ids of the members speaking, loudest first, this device included. At
    /// most one every 500 ms.
    ActiveSpeakers {
        participant_ids: Vec<String>,
    },
    /// Every member's level, once a second; coalesced (a slow listener gets the latest).
    Levels {
        levels: Vec<MemberLevel>,
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

    /// The room this device is in, if any.
    pub fn active_room(&self) -> Option<Arc<Room>> {
        self.engine
            .active_room()
            .map(|handle| Arc::new(Room { handle }))
    }
}
