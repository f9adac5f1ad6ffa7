//! Rooms: group calls of up to 16 devices with presence (docs/extended-profile.md, "Rooms";
//! seed 002). Read in this order: `roster` keeps the member list from the server's snapshot
//! and numbered changes (pure); `speakers` says who speaks, loudest first, coalesced (pure);
//! `room` is one room, an actor that owns its media session (through `media::link`, like a
//! call) and reports to its subscribers. `Rooms`, here, is this device's table of rooms: it
//! routes the event channel's room events to the room they name. Rooms sit beside calls
//! (`calls/`), not inside them: a room has members and presence where a call has two parties
//! and a ring.

pub mod room;
pub mod roster;
pub mod speakers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use room::{
    InviteState, LeftReason, MemberLeftReason, Presence, RoomHandle, RoomMember, RoomPorts,
    RoomState, RoomUpdate, Source,
};

use crate::backend::rooms::RoomEvent;
use crate::calls::events::lock;
use crate::error::{Error, Result};

/// Every room of this device, by id (one at a time is in use: a device is in one call or
/// one room).
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<RoomHandle>>>,
    rt: tokio::runtime::Handle,
}

/// How long a dropped client's rooms get to leave before their tasks are stopped.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

impl Rooms {
    pub fn new(rt: tokio::runtime::Handle) -> Self {
        Rooms {
            rooms: Mutex::default(),
            rt,
        }
    }

    /// A room event from the channel, to the room it names (ignored when this device is not
    /// in it: a late event about a room it left).
    pub fn on_event(&self, ev: RoomEvent) {
        let room = lock(&self.rooms).get(ev.room_id()).cloned();
        if let Some(room) = room {
            room.deliver(ev);
        }
    }

    /// An invite's news, to the room it rings into (ignored when this device is not in it).
    pub fn on_invite(&self, room_id: &str, client_id: String, call_id: String, state: InviteState) {
        let room = lock(&self.rooms).get(room_id).cloned();
        if let Some(room) = room {
            room.deliver_invite(client_id, call_id, state);
        }
    }

    /// The room this device is in, if any.
    pub fn active(&self) -> Option<Arc<RoomHandle>> {
        lock(&self.rooms)
            .values()
            .find(|r| !matches!(r.state(), RoomState::Left(_)))
            .cloned()
    }

    /// Enters a room (`source`: by id, answering an invite or not, or a session's token)
    /// and returns once its media is joined. Fails when this device is already in a room.
    pub async fn enter(
        self: &Arc<Self>,
        ports: RoomPorts,
        source: Source<'_>,
    ) -> Result<Arc<RoomHandle>> {
        if let Some(r) = self.active() {
            return Err(Error::InvalidInput(format!(
                "this device is already in room {}: leave it first",
                r.id()
            )));
        }
        let me = Arc::downgrade(self);
        let table = self.clone();
        let result = room::enter(
            ports,
            source,
            |handle| {
                lock(&table.rooms).insert(handle.id().to_string(), handle);
            },
            move |id| {
                if let Some(rooms) = me.upgrade() {
                    lock(&rooms.rooms).remove(id);
                }
            },
        )
        .await;
        match result {
            Ok(handle) => Ok(handle),
            Err((e, handle)) => {
                let mut rooms = lock(&self.rooms);
                if rooms
                    .get(handle.id())
                    .is_some_and(|r| Arc::ptr_eq(r, &handle))
                {
                    rooms.remove(handle.id());
                }
                Err(match e {
                    room::EnterError::Rest(e) => e.into(),
                    room::EnterError::Media(why) => {
                        Error::Media(crate::media::link::MediaError::Negotiation(format!(
                            "the room's media could not be joined: {why}"
                        )))
                    }
                })
            }
        }
    }

    /// The client is going away: every room leaves (media, then `leaveRoom`), and what
    /// has not within the grace is stopped.
    pub fn shutdown(&self) {
        let rooms: Vec<_> = lock(&self.rooms).drain().map(|(_, r)| r).collect();
        if rooms.is_empty() {
            return;
        }
        let _rt = self.rt.enter();
        crate::task::spawn(async move {
            let all = futures_util::future::join_all(rooms.iter().map(|r| r.leave()));
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, all).await;
            for r in &rooms {
                r.abort();
            }
        });
    }
}
