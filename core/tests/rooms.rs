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

    /// Each stream's publisher and level, from the last stats.
    fn stream_levels(&self) -> Vec<(String, f32)> {
        self.all()
            .into_iter()
            .rev()
            .find_map(|e| match e {
                RoomEvent::Stats { streams, .. } => Some(
                    streams
                        .into_iter()
                        .filter_map(|s| s.participant_id.map(|p| (p, s.audio_level)))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .unwrap_or_default()
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
        frequency_hz: TONES[i % TONES.len()],
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
        // Routing: the silence is in phone 1's own stream, and only there (each stream is
        // its publisher's, named by its participant id).
        eventually(
            &format!("phone {i}'s stream from phone 1 to go quiet, and only it"),
            10,
            || {
                let levels = mb.events.stream_levels();
                levels.len() == 3
                    && levels.iter().all(|(p, level)| {
                        if *p == ids[1] {
                            *level < 0.01
                        } else {
                            *level > 0.02
                        }
                    })
            },
        )
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

/// The child half of `a_killed_member_is_lost_within_seconds_and_the_others_play_on`: with
/// `DIALTONE_ROOM_CHILD=<mock url> <room id> <data dir>` set, a phone enters that room with
/// the last tone, says so on stdout and stays until it is killed. Without it, nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by its parent test as a child process"]
async fn room_child_member() {
    let Ok(spec) = std::env::var("DIALTONE_ROOM_CHILD") else {
        return;
    };
    let mut parts = spec.split(' ');
    let (url, room_id, dir) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );
    let config = dialtone::BackendConfig::mock(url, None).unwrap();
    let p = DialtoneClient::new(config, dir).unwrap();
    p.register(PushToken {
        kind: PushKind::Fcm,
        token: "room-child".into(),
    })
    .await
    .unwrap();
    p.set_audio_source(AudioSource::Tone {
        frequency_hz: TONES[3],
    });
    let room = p.enter_room(room_id).await.unwrap();
    println!(
        "ENTERED {}",
        room.members()
            .into_iter()
            .find(|m| m.is_local)
            .unwrap()
            .participant_id
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_is_lost_within_seconds_and_the_others_play_on() {
    use std::io::BufRead;
    let m = common::start_mock(MockConfig {
        profile: Profile::Extended,
        signaling_grace: Duration::from_secs(2),
        ..MockConfig::default()
    })
    .await;
    let mut members: Vec<Member> = Vec::new();
    for i in 0..3 {
        let (p, dir) = registered(&m, i).await;
        let room = match members.first() {
            None => p.create_room().await.unwrap(),
            Some(first) => p.enter_room(first.room.id()).await.unwrap(),
        };
        members.push(member(p, dir, room).await);
    }
    let child_dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "room_child_member", "--ignored", "--nocapture"])
        .env(
            "DIALTONE_ROOM_CHILD",
            format!(
                "{} {} {}",
                m.base_url(),
                members[0].room.id(),
                child_dir.path().display()
            ),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child_id = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("ENTERED ").map(str::to_string))
    })
    .await
    .unwrap()
    .expect("the child entered the room");
    for (i, mb) in members.iter().enumerate() {
        eventually(&format!("phone {i} to hear all three others"), 20, || {
            mb.phone.heard_remote_tones(TONES.to_vec()).len() == 3
        })
        .await;
    }
    // SIGKILL: no leave, no Close; the kernel drops its sockets.
    child.kill().unwrap();
    let killed = std::time::Instant::now();
    child.wait().unwrap();
    // Every other member sees it lost within 3 s (the gateway's grace is 2 s); meanwhile the
    // living members' tones never stop.
    for (i, mb) in members.iter().enumerate() {
        let living: Vec<f32> = (0..3).filter(|j| *j != i).map(|j| TONES[j]).collect();
        loop {
            let heard = mb.phone.heard_remote_tones(TONES.to_vec());
            assert!(
                living.iter().all(|t| heard.contains(t)),
                "phone {i} stopped hearing a living member: {heard:?}"
            );
            let lost = mb.events.saw(|e| matches!(e, RoomEvent::MemberLeft { member, reason: MemberLeftReason::Lost } if member.participant_id == child_id));
            if lost {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(3),
                "phone {i} did not see the child lost within 3 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Its stream goes by a revision: the others stop hearing it and list two streams.
    for (i, mb) in members.iter().enumerate() {
        eventually(&format!("phone {i} to stop hearing the child"), 10, || {
            !mb.phone
                .heard_remote_tones(TONES.to_vec())
                .contains(&TONES[3])
        })
        .await;
        eventually(&format!("phone {i} to play two streams"), 5, || {
            mb.events.streams().len() == 2
        })
        .await;
        assert_eq!(mb.room.members().len(), 3);
    }
    for mb in &members {
        mb.room.leave().await.unwrap();
    }
    eventually("the SFU to forget the room", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_enter_and_leave_cycles_beside_three_members_leak_nothing() {
    let m = common::mock_on(Profile::Extended).await;
    let mut members: Vec<Member> = Vec::new();
    for i in 0..3 {
        let (p, dir) = registered(&m, i).await;
        let room = match members.first() {
            None => p.create_room().await.unwrap(),
            Some(first) => p.enter_room(first.room.id()).await.unwrap(),
        };
        members.push(member(p, dir, room).await);
    }
    let room_id = members[0].room.id();
    let session = m.room_session(&room_id).unwrap();
    let (churner, _dir) = registered(&m, 3).await;
    let ids: Vec<String> = members
        .iter()
        .map(|mb| {
            mb.room
                .members()
                .into_iter()
                .find(|x| x.is_local)
                .unwrap()
                .participant_id
        })
        .collect();
    async fn m_lines(m: &dialtone_mock::MockServer, session: &str, ids: &[String]) -> Vec<usize> {
        let mut out = Vec::new();
        for id in ids {
            out.push(m.subscriber_m_lines(session, id).await.unwrap_or(0));
        }
        out
    }
    eventually("each member to hear the two others", 20, || {
        members
            .iter()
            .all(|mb| mb.phone.heard_remote_tones(TONES.to_vec()).len() == 2)
    })
    .await;
    let lines_before = m_lines(&m, &session, &ids).await;
    let tasks_before = dialtone::runtime_alive_tasks();
    for cycle in 0..20 {
        let room = churner.enter_room(room_id.clone()).await.unwrap();
        if cycle % 5 == 0 {
            eventually(
                &format!("cycle {cycle}: the members to hear the churner"),
                10,
                || {
                    members.iter().all(|mb| {
                        mb.phone
                            .heard_remote_tones(TONES.to_vec())
                            .contains(&TONES[3])
                    })
                },
            )
            .await;
        }
        room.leave().await.unwrap();
    }
    for (i, mb) in members.iter().enumerate() {
        eventually(&format!("phone {i} to play two streams again"), 10, || {
            mb.events.streams().len() == 2
        })
        .await;
        eventually(
            &format!("phone {i} to hear exactly the two others"),
            10,
            || mb.phone.heard_remote_tones(TONES.to_vec()).len() == 2,
        )
        .await;
        assert_eq!(mb.room.members().len(), 3);
    }
    let lines_after = m_lines(&m, &session, &ids).await;
    eprintln!(
        "subscribing m-lines per member: {lines_before:?} before, {lines_after:?} after 20 cycles"
    );
    for (before, after) in lines_before.iter().zip(&lines_after) {
        assert!(
            *after <= before + 1,
            "m-lines pile up: {lines_before:?} before, {lines_after:?} after 20 cycles"
        );
    }
    eventually("the churner's tasks to be gone", 10, || {
        dialtone::runtime_alive_tasks() <= tasks_before
    })
    .await;
    assert_eq!(m.media_counts(), (1, 3), "one session, three participants");
    for mb in &members {
        mb.room.leave().await.unwrap();
    }
    eventually("the SFU to forget the room", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

/// Eight tones 300–1900 Hz, at least 60 Hz apart and off each other's 2nd and 3rd harmonics.
const TONES8: [f32; 8] = [490.0, 590.0, 880.0, 1260.0, 1390.0, 1610.0, 1700.0, 1900.0];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_phones_in_a_room_each_hear_the_seven_others() {
    let m = common::mock_on(Profile::Extended).await;
    let mut members: Vec<Member> = Vec::new();
    for (i, hz) in TONES8.iter().enumerate() {
        let (p, dir) = registered(&m, i).await;
        p.set_audio_source(AudioSource::Tone { frequency_hz: *hz });
        let room = match members.first() {
            None => p.create_room().await.unwrap(),
            Some(first) => p.enter_room(first.room.id()).await.unwrap(),
        };
        members.push(member(p, dir, room).await);
    }
    let last_enter = std::time::Instant::now();
    for (i, mb) in members.iter().enumerate() {
        let others: Vec<f32> = TONES8
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, f)| *f)
            .collect();
        eventually(&format!("phone {i} to hear {others:?}"), 30, || {
            mb.phone.heard_remote_tones(TONES8.to_vec()) == others
        })
        .await;
    }
    eprintln!(
        "eight phones: every one heard the seven others {} ms after the last enter",
        last_enter.elapsed().as_millis()
    );
    for (i, mb) in members.iter().enumerate() {
        assert_eq!(mb.room.members().len(), 8, "phone {i}");
        eventually(&format!("phone {i} to play seven streams"), 10, || {
            mb.events.streams().len() == 7
        })
        .await;
    }
    for mb in &members {
        mb.room.leave().await.unwrap();
    }
    eventually("the SFU to forget the room", 15, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

#[derive(Default)]
struct Incoming(Mutex<Vec<Arc<dialtone::Call>>>);

impl dialtone::IncomingCallListener for Incoming {
    fn on_incoming_call(&self, call: Arc<dialtone::Call>) {
        self.0.lock().unwrap().push(call);
    }
}

impl Incoming {
    fn get(&self) -> Option<Arc<dialtone::Call>> {
        self.0.lock().unwrap().last().cloned()
    }
}

fn invite_is(e: &RoomEvent, who: &str, want: dialtone::InviteState) -> bool {
    matches!(e, RoomEvent::InviteChanged { client_id, state, .. } if client_id == who && *state == want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_rings_others_into_the_room_who_answer_decline_or_are_cancelled() {
    use dialtone::InviteState;
    let m = common::mock_on(Profile::Extended).await;
    let (a, da) = registered(&m, 0).await;
    let room = a.create_room().await.unwrap();
    let ada = member(a, da, room).await;
    let mut phones = Vec::new();
    for i in 1..4 {
        let (p, dir) = registered(&m, i).await;
        let incoming = Arc::new(Incoming::default());
        let handle = p.observe_incoming_calls(incoming.clone()).unwrap();
        // The event channel must be up to hear the invite live.
        eventually(&format!("phone {i}'s event channel"), 5, || {
            p.is_event_channel_connected()
        })
        .await;
        phones.push((p, dir, incoming, handle));
    }
    let ids: Vec<String> = phones
        .iter()
        .map(|(p, ..)| p.client_id().unwrap().unwrap())
        .collect();
    let made = ada.room.ring(ids.clone()).await.unwrap();
    assert_eq!(made.len(), 3);
    for id in &ids {
        eventually(&format!("Ada to see {id} ringing"), 5, || {
            ada.events.saw(|e| invite_is(e, id, InviteState::Ringing))
        })
        .await;
    }
    // Each phone rings with an invite that names the room.
    let mut calls = Vec::new();
    for (i, (_, _, incoming, _)) in phones.iter().enumerate() {
        eventually(&format!("phone {} to ring", i + 1), 5, || {
            incoming.get().is_some()
        })
        .await;
        let call = incoming.get().unwrap();
        assert_eq!(call.room_id(), Some(ada.room.id()));
        assert_eq!(call.state(), dialtone::CallState::Ringing);
        calls.push(call);
    }
    // Phone 1 answers (Call.answer enters the room), phone 2 declines, Ada cancels phone 3.
    calls[0].answer().await.unwrap();
    let bob_room = phones[0]
        .0
        .active_room()
        .expect("answering entered the room");
    assert_eq!(bob_room.id(), ada.room.id());
    assert_eq!(bob_room.state(), RoomState::Joined);
    calls[1].decline().await.unwrap();
    let third = made.iter().find(|i| i.client_id == ids[2]).unwrap();
    ada.room.cancel_ring(third.call_id.clone()).await.unwrap();
    for (id, want) in [
        (&ids[0], InviteState::Joined),
        (&ids[1], InviteState::Declined),
        (&ids[2], InviteState::Cancelled),
    ] {
        eventually(&format!("Ada to see {id} {want:?}"), 5, || {
            ada.events.saw(|e| invite_is(e, id, want))
        })
        .await;
    }
    eventually("Ada to see phone 1 join", 5, || {
        ada.events.saw(|e| matches!(e, RoomEvent::MemberJoined { member } if member.client_id.as_deref() == Some(ids[0].as_str())))
    })
    .await;
    eventually("phone 3 to stop ringing", 5, || {
        matches!(
            calls[2].state(),
            dialtone::CallState::Ended {
                reason: dialtone::CallEndReason::Cancelled
            }
        )
    })
    .await;
    eventually("Ada and phone 1 to hear each other", 15, || {
        ada.phone.heard_remote_tones(TONES.to_vec()) == [TONES[1]]
            && phones[0].0.heard_remote_tones(TONES.to_vec()) == [TONES[0]]
    })
    .await;
    // While in the room, phone 1 is busy for a call.
    let (x, _dx) = registered(&m, 3).await;
    let e = x.start_call(ids[0].clone(), None).await;
    assert!(matches!(e, Err(DialtoneError::Busy { .. })), "{e:?}");
    bob_room.leave().await.unwrap();
    ada.room.leave().await.unwrap();
    eventually("the SFU to forget the room", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_session_makes_a_room_of_any_session_on_the_seed_backend() {
    let m = common::start_mock(MockConfig {
        profile: Profile::Seed,
        ..MockConfig::default()
    })
    .await;
    let body: serde_json::Value = common::control(&m)
        .post(format!("{}/mock/sessions", m.base_url()))
        .json(&serde_json::json!({"participants": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens: Vec<String> = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let mut phones = Vec::new();
    let names = ["Ada", "Bob", "Cy"];
    for (i, name) in names.iter().enumerate() {
        let (p, dir) = registered(&m, i).await;
        p.save_profile(name.to_string(), "Seed".into())
            .await
            .unwrap();
        phones.push((p, dir));
    }
    let ids: Vec<String> = phones
        .iter()
        .map(|(p, _)| p.client_id().unwrap().unwrap())
        .collect();
    let mut members = Vec::new();
    for ((p, dir), token) in phones.into_iter().zip(tokens) {
        p.sync_persons().await.unwrap();
        let room = p.join_session(token).await.unwrap();
        assert_eq!(room.state(), RoomState::Joined);
        members.push(member(p, dir, room).await);
    }
    for (i, mb) in members.iter().enumerate() {
        let others: Vec<f32> = (0..3).filter(|j| *j != i).map(|j| TONES[j]).collect();
        eventually(&format!("phone {i} to hear {others:?}"), 20, || {
            mb.phone.heard_remote_tones(TONES.to_vec()) == others
        })
        .await;
        // Members from the streams: each other phone, named by its stream's alias.
        eventually(&format!("phone {i} to list three members"), 5, || {
            mb.room.members().len() == 3
        })
        .await;
        let listed = mb.room.members();
        assert!(listed[0].is_local);
        for other in listed.iter().skip(1) {
            let j = ids
                .iter()
                .position(|id| Some(id) == other.client_id.as_ref())
                .expect("named by its clientId");
            assert_ne!(j, i);
            assert_eq!(
                other.name.as_deref(),
                Some(format!("{} Seed", names[j]).as_str())
            );
            assert_eq!(other.muted, None, "unknown without server presence");
        }
    }
    // Room-only actions are typed errors here.
    let e = members[0]
        .room
        .ring(vec![ids[1].clone()])
        .await
        .unwrap_err();
    assert!(matches!(e, DialtoneError::RoomsUnavailable { .. }), "{e:?}");
    // Cy leaves: the others see it go and still hear each other (no endCall ended the
    // session for everyone).
    members[2].room.leave().await.unwrap();
    for (i, mb) in members.iter().enumerate().take(2) {
        eventually(&format!("phone {i} to see Cy leave"), 10, || {
            mb.events.saw(|e| matches!(e, RoomEvent::MemberLeft { member, .. } if member.client_id.as_deref() == Some(ids[2].as_str())))
        })
        .await;
        eventually(&format!("phone {i} to hear only the other"), 10, || {
            mb.phone.heard_remote_tones(TONES.to_vec()) == [TONES[1 - i]]
        })
        .await;
    }
    for mb in members.iter().take(2) {
        mb.room.leave().await.unwrap();
    }
    eventually("the SFU to forget the session", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_room_is_a_typed_error_and_a_place_frees_when_a_member_leaves() {
    let m = common::start_mock(MockConfig {
        profile: Profile::Extended,
        room_cap: 2,
        ..MockConfig::default()
    })
    .await;
    let (a, _da) = registered(&m, 0).await;
    let (b, _db) = registered(&m, 1).await;
    let (c, _dc) = registered(&m, 2).await;
    let room = a.create_room().await.unwrap();
    let b_room = b.enter_room(room.id()).await.unwrap();
    let e = c.enter_room(room.id()).await.unwrap_err();
    assert!(matches!(e, DialtoneError::RoomFull { .. }), "{e:?}");
    assert!(
        c.active_room().is_none(),
        "nothing is left of a refused entry"
    );
    let e = room
        .ring(vec![c.client_id().unwrap().unwrap()])
        .await
        .unwrap_err();
    assert!(matches!(e, DialtoneError::RoomFull { .. }), "{e:?}");
    b_room.leave().await.unwrap();
    let c_room = c.enter_room(room.id()).await.unwrap();
    assert_eq!(c_room.members().len(), 2);
    c_room.leave().await.unwrap();
    room.leave().await.unwrap();
    // The room is gone with its last member.
    let e = c.enter_room(room.id()).await.unwrap_err();
    assert!(matches!(e, DialtoneError::RoomUnavailable { .. }), "{e:?}");
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_before_its_enter_plays_at_once_and_is_named_when_presence_catches_up() {
    let m = common::mock_on(Profile::Extended).await;
    let (a, da) = registered(&m, 0).await;
    let room = a.create_room().await.unwrap();
    let ada = member(a, da, room).await;
    // Ada's event channel goes down (and stays down): she will miss Bob's `enter`.
    m.set_live_channels_available(false);
    eventually("Ada's event channel to drop", 5, || {
        !ada.phone.is_event_channel_connected()
    })
    .await;
    let (b, _db) = registered(&m, 1).await;
    let bob = b.enter_room(ada.room.id()).await.unwrap();
    let bob_id = bob
        .members()
        .into_iter()
        .find(|x| x.is_local)
        .unwrap()
        .participant_id;
    // His stream plays at once, unnamed: he is not a member in her list yet.
    eventually("Ada to hear Bob", 15, || {
        ada.phone.heard_remote_tones(TONES.to_vec()) == [TONES[1]]
    })
    .await;
    assert_eq!(
        ada.room.members().len(),
        1,
        "Bob is not named before presence says so"
    );
    assert!(!ada
        .events
        .saw(|e| matches!(e, RoomEvent::MemberJoined { .. })));
    // The channel comes back: its `room` snapshot names him.
    m.set_live_channels_available(true);
    eventually("Ada to see Bob join", 30, || {
        ada.events.saw(
            |e| matches!(e, RoomEvent::MemberJoined { member } if member.participant_id == bob_id),
        )
    })
    .await;
    assert_eq!(ada.room.members().len(), 2);
    bob.leave().await.unwrap();
    eventually("Ada to see Bob leave", 10, || {
        ada.events.saw(|e| matches!(e, RoomEvent::MemberLeft { member, .. } if member.participant_id == bob_id))
    })
    .await;
    ada.room.leave().await.unwrap();
    eventually("the SFU to forget the room", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_invite_is_missed_on_both_sides() {
    use dialtone::InviteState;
    let m = common::start_mock(MockConfig {
        profile: Profile::Extended,
        invite_ttl: Duration::from_millis(800),
        ..MockConfig::default()
    })
    .await;
    let (a, da) = registered(&m, 0).await;
    let room = a.create_room().await.unwrap();
    let ada = member(a, da, room).await;
    let (b, _db) = registered(&m, 1).await;
    let incoming = Arc::new(Incoming::default());
    let _h = b.observe_incoming_calls(incoming.clone()).unwrap();
    eventually("Bob's event channel", 5, || b.is_event_channel_connected()).await;
    let b_id = b.client_id().unwrap().unwrap();
    ada.room.ring(vec![b_id.clone()]).await.unwrap();
    eventually("Bob to ring", 5, || incoming.get().is_some()).await;
    let call = incoming.get().unwrap();
    eventually("Bob's invite to end as missed", 10, || {
        matches!(
            call.state(),
            dialtone::CallState::Ended {
                reason: dialtone::CallEndReason::Missed
            }
        )
    })
    .await;
    eventually("Ada to see it missed", 5, || {
        ada.events.saw(|e| invite_is(e, &b_id, InviteState::Missed))
    })
    .await;
    // Answering it now is a clear error, and Bob is in no room.
    let e = call.answer().await.unwrap_err();
    assert!(matches!(e, DialtoneError::CallUnavailable { .. }), "{e:?}");
    assert!(b.active_room().is_none());
    ada.room.leave().await.unwrap();
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_lost_connection_is_a_member_change_and_so_is_its_return() {
    let m = common::mock_on(Profile::Extended).await;
    let (a, da) = registered(&m, 0).await;
    let room = a.create_room().await.unwrap();
    let ada = member(a, da, room).await;
    let (b, _db) = registered(&m, 1).await;
    let bob = b.enter_room(ada.room.id()).await.unwrap();
    let bob_id = bob
        .members()
        .into_iter()
        .find(|x| x.is_local)
        .unwrap()
        .participant_id;
    eventually("Ada to hear Bob", 15, || {
        ada.phone.heard_remote_tones(TONES.to_vec()) == [TONES[1]]
    })
    .await;
    // Every signaling socket drops without a Close (an outage); each phone resumes.
    m.cut_signaling();
    let changed = |reconnecting: bool| {
        ada.events.saw(|e| matches!(e, RoomEvent::MemberChanged { member } if member.participant_id == bob_id && member.reconnecting == reconnecting))
    };
    eventually("Ada to see Bob reconnecting", 10, || changed(true)).await;
    eventually("Ada to see Bob back", 15, || changed(false)).await;
    eventually("Bob listed as connected", 5, || {
        ada.room
            .members()
            .iter()
            .any(|x| x.participant_id == bob_id && !x.reconnecting)
    })
    .await;
    eventually("Ada to hear Bob again", 15, || {
        ada.phone.heard_remote_tones(TONES.to_vec()) == [TONES[1]]
    })
    .await;
    bob.leave().await.unwrap();
    ada.room.leave().await.unwrap();
    eventually("the SFU to forget the room", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    m.shutdown().await;
}
