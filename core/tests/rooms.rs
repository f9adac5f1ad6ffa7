//! Rooms end to end (issue 24), against the mock's extended profile: phones create and
//! enter a room, each sends its own tone and hears every other one, in its own stream and in
//! the mix, and never its own; presence (snapshot, later joiners, leavers) and who speaks
//! reach every member; a member that leaves is no longer heard; one call or one room per
//! device; the seed backend has no rooms.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{
    AudioSource, DialtoneClient, DialtoneError, MemberLeftReason, PushKind, PushToken, Room,
    RoomEvent, RoomLeftReason, RoomListener, RoomState,
};
use dialtone_mock::{MockConfig, Profile};
mod common;
use common::{eventually, phone};

/// 300–1900 Hz, at least 60 Hz apart, and off each other's 2nd and 3rd harmonics.
const TONES: [f32; 4] = [350.0, 530.0, 770.0, 1130.0];

#[derive(Default)]
struct RoomEvents(Mutex<Vec<RoomEvent>>);

impl RoomListener for RoomEvents {
    fn on_room_event(&self, event: RoomEvent) {
        let mut events = self.0.lock().unwrap();
        // Keep the last minute of periodic events only.
        let periodic =
            |e: &RoomEvent| matches!(e, RoomEvent::Levels { .. } | RoomEvent::Stats { .. });
        if periodic(&event) && events.iter().filter(|e| periodic(e)).count() >= 120 {
            if let Some(at) = events.iter().position(periodic) {
                events.remove(at);
            }
        }
        events.push(event);
    }
}

impl RoomEvents {
    fn all(&self) -> Vec<RoomEvent> {
        self.0.lock().unwrap().clone()
    }

    fn saw(&self, f: impl Fn(&RoomEvent) -> bool) -> bool {
        self.0.lock().unwrap().iter().any(f)
    }

    fn joined(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                RoomEvent::MemberJoined { member } => Some(member.participant_id),
                _ => None,
            })
            .collect()
    }

    /// Participant ids of the streams in the last stats.
    fn streams(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .rev()
            .find_map(|e| match e {
                RoomEvent::Stats { streams, .. } => Some(
                    streams
                        .into_iter()
                        .filter_map(|s| s.participant_id)
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }
}

struct Member {
    phone: Arc<DialtoneClient>,
    room: Arc<Room>,
    events: Arc<RoomEvents>,
    _handle: Arc<dialtone::TaskHandle>,
    _dir: tempfile::TempDir,
}

async fn registered(
    m: &dialtone_mock::MockServer,
    i: usize,
) -> (Arc<DialtoneClient>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = phone(m, &dir);
    p.register(PushToken {
        kind: PushKind::Fcm,
        token: format!("room-phone-{i}"),
    })
    .await
    .unwrap();
    p.set_audio_source(AudioSource::Tone {
        frequency_hz: TONES[i],
    });
    (p, dir)
}

async fn member(p: Arc<DialtoneClient>, dir: tempfile::TempDir, room: Arc<Room>) -> Member {
    let events = Arc::new(RoomEvents::default());
    let handle = room.observe(events.clone()).unwrap();
    Member {
        phone: p,
        room,
        events,
        _handle: handle,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_phones_in_a_room_hear_each_other_and_see_who_comes_and_goes() {
    let m = common::mock_on(Profile::Extended).await;
    let mut members: Vec<Member> = Vec::new();
    for i in 0..TONES.len() {
        let (p, dir) = registered(&m, i).await;
        let room = match members.first() {
            None => p.create_room().await.unwrap(),
            Some(first) => p.enter_room(first.room.id()).await.unwrap(),
        };
        members.push(member(p, dir, room).await);
    }
    let ids: Vec<String> = members
        .iter()
        .map(|mb| {
            mb.room
                .members()
                .into_iter()
                .find(|x| x.is_local)
                .expect("the local member is listed")
                .participant_id
        })
        .collect();
    // Every phone hears every other tone in the mix, and never its own.
    for (i, mb) in members.iter().enumerate() {
        let others: Vec<f32> = TONES
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, f)| *f)
            .collect();
        eventually(&format!("phone {i} to hear {others:?}"), 20, || {
            mb.phone.heard_remote_tones(TONES.to_vec()) == others
        })
        .await;
    }
    for (i, mb) in members.iter().enumerate() {
        // Presence: everyone lists all four, this device first, then by entry.
        let listed: Vec<String> = mb
            .room
            .members()
            .into_iter()
            .map(|x| x.participant_id)
            .collect();
        let mut expected = vec![ids[i].clone()];
        expected.extend(ids.iter().filter(|x| **x != ids[i]).cloned());
        assert_eq!(listed, expected, "phone {i}'s member list");
        // The snapshot came first; later joiners each joined once.
        let all = mb.events.all();
        assert!(
            matches!(all.first(), Some(RoomEvent::Snapshot { .. })),
            "phone {i}: {:?}",
            all.first()
        );
        assert_eq!(
            mb.events.joined(),
            ids[i + 1..].to_vec(),
            "phone {i}'s MemberJoined"
        );
        // Each other member's stream is its own, named by its participant id.
        eventually(
            &format!("phone {i}'s stats to name three streams"),
            5,
            || {
                let mut s = mb.events.streams();
                s.sort();
                let mut want: Vec<String> = ids.iter().filter(|x| **x != ids[i]).cloned().collect();
                want.sort();
                s == want
            },
        )
        .await;
        eventually(&format!("phone {i} to see the others speak"), 5, || {
            mb.events.saw(|e| matches!(e, RoomEvent::ActiveSpeakers { participant_ids } if participant_ids.len() >= 3))
        })
        .await;
        assert_eq!(mb.room.state(), RoomState::Joined);
    }
    // A mute reaches the others as a member change, and silences that phone.
    members[1].room.set_muted(true).await.unwrap();
    for (i, mb) in members.iter().enumerate().filter(|(i, _)| *i != 1) {
        eventually(&format!("phone {i} to see phone 1 muted"), 5, || {
            mb.events.saw(|e| matches!(e, RoomEvent::MemberChanged { member } if member.participant_id == ids[1] && member.muted == Some(true)))
        })
        .await;
        eventually(&format!("phone {i} to stop hearing phone 1"), 10, || {
            !mb.phone
                .heard_remote_tones(TONES.to_vec())
                .contains(&TONES[1])
        })
        .await;
    }
    // Phone 2 leaves: the others see it go and stop hearing it.
    members[2].room.leave().await.unwrap();
    members[2].room.leave().await.unwrap();
    assert_eq!(
        members[2].room.state(),
        RoomState::Left {
            reason: RoomLeftReason::Local
        }
    );
    for (i, mb) in members.iter().enumerate().filter(|(i, _)| *i != 2) {
        eventually(&format!("phone {i} to see phone 2 leave"), 5, || {
            mb.events.saw(|e| matches!(e, RoomEvent::MemberLeft { member, reason: MemberLeftReason::Left } if member.participant_id == ids[2]))
        })
        .await;
        eventually(&format!("phone {i} to stop hearing phone 2"), 10, || {
            !mb.phone
                .heard_remote_tones(TONES.to_vec())
                .contains(&TONES[2])
        })
        .await;
        assert_eq!(mb.room.members().len(), 3);
    }
    for mb in &members {
        mb.room.leave().await.unwrap();
        assert!(mb.phone.active_room().is_none());
    }
    eventually("the SFU to forget the room", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_or_one_room_and_clear_errors() {
    let m = common::mock_on(Profile::Extended).await;
    let (a, _da) = registered(&m, 0).await;
    let (b, _db) = registered(&m, 1).await;
    let room = a.create_room().await.unwrap();
    let b_id = b.client_id().unwrap().unwrap();
    // In a room, this device cannot place a call, nor enter another room.
    let e = a.start_call(b_id.clone(), None).await.unwrap_err();
    assert!(matches!(e, DialtoneError::Busy { .. }), "{e:?}");
    let e = a.enter_room(room.id()).await.unwrap_err();
    assert!(matches!(e, DialtoneError::InvalidInput { .. }), "{e:?}");
    // Unknown rooms and bad ids are clear errors.
    let e = b.enter_room("no-such-room".into()).await.unwrap_err();
    assert!(matches!(e, DialtoneError::RoomUnavailable { .. }), "{e:?}");
    let e = b.enter_room("  ".into()).await.unwrap_err();
    assert!(matches!(e, DialtoneError::InvalidInput { .. }), "{e:?}");
    // A member is busy for a caller.
    let e = b
        .start_call(a.client_id().unwrap().unwrap(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, DialtoneError::Busy { .. }), "{e:?}");
    room.leave().await.unwrap();
    // Once out, a call goes through.
    let call = a.start_call(b_id, None).await.unwrap();
    call.hangup().await.unwrap();
    m.shutdown().await;

    let seed = common::start_mock(MockConfig {
        profile: Profile::Seed,
        ..MockConfig::default()
    })
    .await;
    let (s, _ds) = registered(&seed, 2).await;
    let e = s.create_room().await.unwrap_err();
    assert!(matches!(e, DialtoneError::RoomsUnavailable { .. }), "{e:?}");
    let e = s.enter_room("r".into()).await.unwrap_err();
    assert!(matches!(e, DialtoneError::RoomsUnavailable { .. }), "{e:?}");
    seed.shutdown().await;
    let _ = Duration::ZERO;
}
