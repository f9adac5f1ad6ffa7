//! The mock's rooms (docs/extended-profile.md, "Rooms"), with raw HTTP and WebSocket
//! requests: the REST actions and their errors, presence events in `seq` order on every
//! member's `/ws` (snapshot on connect, no gaps, ending equal to `getRoom`), presence that
//! follows the media participant (signaling `leave`, a socket lost past the grace, no socket
//! within the deadline), rooms counted by busy, `endCall` from a member leaving only its room,
//! and seed 002's own `/ws` actions. The seed profile has none of it.

use std::time::Duration;

use dialtone_mock::{MockConfig, MockServer, Profile};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::{api, Client, Ws};

async fn start_with(f: impl FnOnce(&mut MockConfig)) -> MockServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = MockConfig {
        signaling_grace: Duration::from_millis(300),
        room_media_deadline: Duration::from_secs(30),
        ..MockConfig::default()
    };
    f(&mut config);
    MockServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

async fn register(m: &MockServer) -> Client {
    let (s, v) = api(
        m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    Client {
        id: v["id"].as_str().unwrap().to_string(),
        secret: v["clientSecret"].as_str().unwrap_or_default().to_string(),
    }
}

async fn act(m: &MockServer, c: &Client, action: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"action": action, "clientId": c.id});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    api(m, Some(&c.secret), body).await
}

async fn create(m: &MockServer, c: &Client) -> String {
    let (s, v) = act(m, c, "createRoom", json!({})).await;
    assert_eq!(s, 200, "{v}");
    v["roomID"].as_str().unwrap().to_string()
}

async fn enter(m: &MockServer, c: &Client, room: &str) -> Value {
    let (s, v) = act(m, c, "enterRoom", json!({"roomID": room})).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn connect(m: &MockServer, c: &Client) -> Ws {
    common::connect(m, c, Duration::from_secs(5)).await
}

async fn next(ws: &mut Ws) -> Value {
    common::next_within(ws, Duration::from_secs(5)).await
}

/// The next message of `kind`, skipping others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

async fn signaling(m: &MockServer, token: &str) -> Ws {
    let url = format!("ws://{}/v3?token={token}&uniqueId=u1", m.addr());
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

fn connection_ids(members: &Value) -> Vec<String> {
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["connectionID"].as_str().unwrap().to_string())
        .collect()
}

/// A member's view, built as a client builds it: the snapshot, then every event after it.
#[derive(Default, Debug)]
struct View {
    seq: u64,
    members: Vec<String>,
    /// Every connection that entered and every one that left, in the order seen.
    entered: Vec<String>,
    left: Vec<String>,
}

impl View {
    fn apply(&mut self, ev: &Value) {
        let seq = ev["seq"].as_u64().expect("every room event has a seq");
        match ev["type"].as_str().unwrap() {
            "room" => {
                self.seq = seq;
                self.members = connection_ids(&ev["members"]);
                return;
            }
            _ => assert_eq!(seq, self.seq + 1, "no gap and no repeat: {ev}"),
        }
        self.seq = seq;
        let conn = ev["connectionID"].as_str().unwrap().to_string();
        match ev["type"].as_str().unwrap() {
            "enter" => {
                assert!(!self.left.contains(&conn), "enter after leave: {ev}");
                self.entered.push(conn.clone());
                self.members.push(conn);
            }
            "leave" => {
                assert!(
                    self.entered.contains(&conn) || self.members.contains(&conn),
                    "leave of a connection never seen: {ev}"
                );
                self.members.retain(|c| *c != conn);
                self.left.push(conn);
            }
            "muted" | "connection" => {}
            other => panic!("not a room event: {other}"),
        }
    }
}

#[tokio::test]
async fn presence_reaches_every_member_in_seq_order_and_ends_equal_to_get_room() {
    let m = start_with(|_| {}).await;
    let [a, b, c, d, e] = [
        register(&m).await,
        register(&m).await,
        register(&m).await,
        register(&m).await,
        register(&m).await,
    ];
    let mut wa = connect(&m, &a).await;
    let room = create(&m, &a).await;
    let ra = enter(&m, &a, &room).await;
    assert_eq!(ra["seq"], 1);
    assert_eq!(
        connection_ids(&ra["members"]),
        [ra["connectionID"].as_str().unwrap()]
    );
    let mut va = View {
        seq: 1,
        members: connection_ids(&ra["members"]),
        ..View::default()
    };
    // A's own enter reaches it too.
    va.seq = 0;
    va.members.clear();
    va.apply(&next_of(&mut wa, "enter").await);
    enter(&m, &b, &room).await;
    let mut wb = connect(&m, &b).await;
    let mut vb = View::default();
    vb.apply(&next_of(&mut wb, "room").await);
    let rc = enter(&m, &c, &room).await;
    enter(&m, &d, &room).await;
    let (s, _) = act(&m, &c, "leaveRoom", json!({"roomID": room})).await;
    assert_eq!(s, 200);
    let (s, muted) = act(&m, &d, "setMuted", json!({"roomID": room, "muted": true})).await;
    assert_eq!(s, 200, "{muted}");
    enter(&m, &e, &room).await;
    let (s, got) = act(&m, &a, "getRoom", json!({"roomID": room})).await;
    assert_eq!(s, 200, "{got}");
    let last = got["seq"].as_u64().unwrap();
    assert_eq!(last, 7, "4 enters, a leave, a mute, an enter: {got}");
    for (ws, view) in [(&mut wa, &mut va), (&mut wb, &mut vb)] {
        while view.seq < last {
            view.apply(&next(ws).await);
        }
        assert_eq!(view.members, connection_ids(&got["members"]));
    }
    assert!(va
        .left
        .contains(&rc["connectionID"].as_str().unwrap().to_string()));
    let dm = &got["members"].as_array().unwrap()[2];
    assert_eq!(dm["clientId"], d.id.as_str());
    assert_eq!(dm["muted"], true);
    assert_eq!(got["invites"], json!([]));
    // The one who left may no longer look, and is no longer in the room.
    let (s, _) = act(&m, &c, "getRoom", json!({"roomID": room})).await;
    assert_eq!(s, 403);
    // The console shows the room: its members and its presence time line.
    let state: Value = reqwest::get(format!("{}/mock/state", m.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = state["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roomId"] == room.as_str())
        .expect("the room on the console");
    assert_eq!(shown["members"].as_array().unwrap().len(), 4, "{shown}");
    let lines: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap())
        .collect();
    assert!(lines[0].starts_with("created by"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{} left (left)", c.id))),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(&format!("{} muted", d.id))),
        "{lines:?}"
    );
    m.shutdown().await;
}

#[tokio::test]
async fn errors_full_busy_not_found_and_the_seed_profile() {
    let m = start_with(|c| c.room_cap = 2).await;
    let [a, b, c, d] = [
        register(&m).await,
        register(&m).await,
        register(&m).await,
        register(&m).await,
    ];
    let room = create(&m, &a).await;
    enter(&m, &a, &room).await;
    enter(&m, &b, &room).await;
    let (s, v) = act(&m, &c, "enterRoom", json!({"roomID": room})).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("ROOM_FULL")), "{v}");
    let (s, v) = act(&m, &c, "enterRoom", json!({"roomID": "nope"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (500, Some("ROOM_NOT_FOUND")),
        "{v}"
    );
    let (s, v) = act(&m, &c, "getRoom", json!({"roomID": room})).await;
    assert_eq!(s, 403, "{v}");
    // A member is busy for calls, both ways; a party to a call cannot enter a room.
    let (s, v) = api(
        &m,
        Some(&c.secret),
        json!({"action": "initiateCall", "callerId": c.id, "calleeId": a.id}),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (500, Some("BUSY")), "{v}");
    let (s, v) = api(
        &m,
        Some(&a.secret),
        json!({"action": "initiateCall", "callerId": a.id, "calleeId": c.id}),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (500, Some("BUSY")), "{v}");
    let (s, v) = api(
        &m,
        Some(&c.secret),
        json!({"action": "initiateCall", "callerId": c.id, "calleeId": d.id}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let other = create(&m, &d).await;
    let (s, v) = act(&m, &c, "enterRoom", json!({"roomID": other})).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("BUSY")), "{v}");
    // Bad input: a clear error, nothing changed.
    let (s, v) = act(&m, &a, "setMuted", json!({"roomID": room, "muted": "yes"})).await;
    assert_eq!(s, 500);
    assert!(v["message"].as_str().unwrap().contains("muted"), "{v}");
    let (s, v) = api(
        &m,
        Some(&b.secret),
        json!({"action": "enterRoom", "clientId": a.id, "roomID": room}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    // endCall from a member leaves its room only: the room and the other member stay.
    let (s, _) = api(
        &m,
        Some(&a.secret),
        json!({"action": "endCall", "clientId": a.id}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = act(&m, &b, "getRoom", json!({"roomID": room})).await;
    assert_eq!(s, 200);
    assert_eq!(v["members"].as_array().unwrap().len(), 1, "{v}");
    m.shutdown().await;

    let seed = start_with(|c| c.profile = Profile::Seed).await;
    let a = register(&seed).await;
    assert!(a.secret.is_empty());
    let (s, v) = api(
        &seed,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "t"}),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v.get("features").is_none(), "{v}");
    let (s, v) = api(
        &seed,
        None,
        json!({"action": "createRoom", "clientId": a.id}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (500, Some("ERROR :: Unknown action!"))
    );
    seed.shutdown().await;
}

#[tokio::test]
async fn presence_follows_the_media_participant() {
    let m = start_with(|c| c.room_media_deadline = Duration::from_millis(500)).await;
    let [a, b, c, d] = [
        register(&m).await,
        register(&m).await,
        register(&m).await,
        register(&m).await,
    ];
    let (_, v) = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "x"}),
    )
    .await;
    assert_eq!(v["features"], json!(["rooms"]));
    let room = create(&m, &a).await;
    let ra = enter(&m, &a, &room).await;
    let _sa = signaling(&m, ra["token"].as_str().unwrap()).await;
    let mut wa = connect(&m, &a).await;
    assert_eq!(next(&mut wa).await["type"], "room");

    // B's signaling socket says `leave`: B left.
    let rb = enter(&m, &b, &room).await;
    assert_eq!(next_of(&mut wa, "enter").await["clientId"], b.id.as_str());
    let mut sb = signaling(&m, rb["token"].as_str().unwrap()).await;
    sb.send(Message::Text(
        r#"{"jsonrpc":"2.0","method":"leave","params":{}}"#.into(),
    ))
    .await
    .unwrap();
    let ev = next_of(&mut wa, "leave").await;
    assert_eq!(
        (ev["clientId"].as_str(), ev["reason"].as_str()),
        (Some(b.id.as_str()), Some("left"))
    );

    // C's socket drops without a Close: C is reconnecting; it comes back (same uniqueId):
    // connected; it drops again and does not come back within the grace: lost.
    let rc = enter(&m, &c, &room).await;
    next_of(&mut wa, "enter").await;
    let token = rc["token"].as_str().unwrap();
    let sc = signaling(&m, token).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(sc.into_inner());
    let ev = next_of(&mut wa, "connection").await;
    assert_eq!(
        (ev["connectionID"].as_str(), ev["state"].as_str()),
        (rc["connectionID"].as_str(), Some("reconnecting")),
        "{ev}"
    );
    let sc = signaling(&m, token).await;
    let ev = next_of(&mut wa, "connection").await;
    assert_eq!(ev["state"], "connected", "{ev}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(sc.into_inner());
    assert_eq!(
        next_of(&mut wa, "connection").await["state"],
        "reconnecting"
    );
    let ev = next_of(&mut wa, "leave").await;
    assert_eq!(
        (ev["clientId"].as_str(), ev["reason"].as_str()),
        (Some(c.id.as_str()), Some("lost"))
    );

    // D never opens its socket: lost after the deadline. Its token no longer works.
    let rd = enter(&m, &d, &room).await;
    next_of(&mut wa, "enter").await;
    let ev = next_of(&mut wa, "leave").await;
    assert_eq!(
        (ev["clientId"].as_str(), ev["reason"].as_str()),
        (Some(d.id.as_str()), Some("lost"))
    );
    let url = format!(
        "ws://{}/v3?token={}",
        m.addr(),
        rd["token"].as_str().unwrap()
    );
    assert!(tokio_tungstenite::connect_async(url).await.is_err());

    // A deleted member is removed; with the last member gone, the room is.
    let (s, _) = api(
        &m,
        Some(&a.secret),
        json!({"action": "deleteClientIds", "clientIds": [a.id]}),
    )
    .await;
    assert_eq!(s, 200);
    let ev = next_of(&mut wa, "leave").await;
    assert_eq!(ev["reason"], "removed");
    let (s, v) = act(&m, &b, "enterRoom", json!({"roomID": room})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (500, Some("ROOM_NOT_FOUND")),
        "{v}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(m.media_counts(), (0, 0), "no media session left behind");
    m.shutdown().await;
}

#[tokio::test]
async fn seed_002s_own_websocket_session_message_for_message() {
    let m = start_with(|_| {}).await;
    let [a, b] = [register(&m).await, register(&m).await];
    let mut wa = connect(&m, &a).await;
    wa.send(Message::Text(r#"{"action":"createroom"}"#.into()))
        .await
        .unwrap();
    let created = next(&mut wa).await;
    assert_eq!(created["type"], "room-created", "{created}");
    let room = created["body"].as_str().unwrap().to_string();
    wa.send(Message::Text(
        json!({"action": "enterroom", "roomID": room})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // The entrant hears `enter` (fan-out) and `entered` (its reply), in either order.
    let (x, y) = (next(&mut wa).await, next(&mut wa).await);
    let mut kinds = [x["type"].as_str().unwrap(), y["type"].as_str().unwrap()];
    kinds.sort();
    assert_eq!(kinds, ["enter", "entered"], "{x} {y}");
    let entered = if x["type"] == "entered" { &x } else { &y };
    assert!(entered["token"].is_string());
    let mut wb = connect(&m, &b).await;
    wb.send(Message::Text(
        json!({"action": "enterroom", "roomID": room})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_of(&mut wa, "enter").await["clientId"], b.id.as_str());
    wb.send(Message::Text(r#"{"action":"enterroom"}"#.into()))
        .await
        .unwrap();
    // B's own messages: its enter, its entered, then the clear error.
    let err = next_of(&mut wb, "error").await;
    assert!(err["message"].as_str().unwrap().contains("roomID"), "{err}");
    // Closing the connection is seed 002's $disconnect: leave.
    wb.close(None).await.unwrap();
    let ev = next_of(&mut wa, "leave").await;
    assert_eq!(
        (ev["clientId"].as_str(), ev["reason"].as_str()),
        (Some(b.id.as_str()), Some("left"))
    );
    // Other actions are still not implemented.
    wa.send(Message::Text(r#"{"action":"sendmessage"}"#.into()))
        .await
        .unwrap();
    assert!(next_of(&mut wa, "error").await["message"]
        .as_str()
        .unwrap()
        .contains("not implemented"));
    m.shutdown().await;
}

async fn pushes(m: &MockServer, token: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!(
        "{}/mock/pushes?deviceToken={token}&waitMs=2000",
        m.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    v["pushes"].as_array().unwrap().clone()
}

/// A client registered with a known device token (for its pushes).
async fn register_with(m: &MockServer, token: &str) -> Client {
    let (s, v) = api(
        m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": token}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    Client {
        id: v["id"].as_str().unwrap().to_string(),
        secret: v["clientSecret"].as_str().unwrap().to_string(),
    }
}

#[tokio::test]
async fn group_ringing_answer_decline_cancel_missed_busy_and_full() {
    let m = start_with(|c| {
        c.invite_ttl = Duration::from_millis(600);
        c.room_cap = 4;
    })
    .await;
    let a = register(&m).await;
    let b = register_with(&m, "tok-b").await;
    let c = register_with(&m, "tok-c").await;
    let d = register_with(&m, "tok-d").await;
    let e = register_with(&m, "tok-e").await;
    let room = create(&m, &a).await;
    enter(&m, &a, &room).await;
    let mut wa = connect(&m, &a).await;
    assert_eq!(next(&mut wa).await["type"], "room");
    let mut wb = connect(&m, &b).await;

    // A rings B, C and D: each gets a push naming the room, and /ws ringing (A too).
    let (s, v) = act(
        &m,
        &a,
        "ringRoom",
        json!({"roomID": room, "calleeIds": [b.id, c.id, d.id, a.id]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let invites = v["invites"].as_array().unwrap().clone();
    assert_eq!(invites.len(), 3, "the ringer itself is skipped: {v}");
    let invite_of = |who: &Client| {
        invites
            .iter()
            .find(|i| i["calleeId"] == who.id.as_str())
            .unwrap()["callId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ib, ic, id) = (invite_of(&b), invite_of(&c), invite_of(&d));
    let push = &pushes(&m, "tok-b").await[0];
    let data = &push["data"];
    assert_eq!(data["roomID"], room.as_str(), "{push}");
    assert_eq!(data["memberCount"], "1");
    assert_eq!(data["callId"], ib.as_str());
    let ev = next_of(&mut wb, "ringing").await;
    assert_eq!(
        (ev["roomID"].as_str(), ev["callId"].as_str()),
        (Some(room.as_str()), Some(ib.as_str()))
    );
    for _ in 0..3 {
        assert_eq!(next_of(&mut wa, "ringing").await["roomID"], room.as_str());
    }
    // Ringing again does not ring twice; one more than the cap leaves is refused.
    let (s, v) = act(
        &m,
        &a,
        "ringRoom",
        json!({"roomID": room, "calleeIds": [b.id]}),
    )
    .await;
    assert_eq!(
        (s, v["invites"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
    let (s, v) = act(
        &m,
        &a,
        "ringRoom",
        json!({"roomID": room, "calleeIds": [e.id]}),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (500, Some("ROOM_FULL")), "{v}");
    // An invitee may look before answering; a stranger may not.
    let (s, v) = act(&m, &b, "getRoom", json!({"roomID": room})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["invites"].as_array().unwrap().len(), 3);
    let (s, _) = act(&m, &e, "getRoom", json!({"roomID": room})).await;
    assert_eq!(s, 403);
    // A room invite is not answered with answerCall.
    let (s, _) = act(&m, &b, "answerCall", json!({"callId": ib})).await;
    assert_eq!(s, 500);

    // B answers by entering with the invite's callId: `answered` to the members.
    let (s, v) = act(&m, &b, "enterRoom", json!({"roomID": room, "callId": ib})).await;
    assert_eq!(s, 200, "{v}");
    let ev = next_of(&mut wa, "answered").await;
    assert_eq!(
        (ev["callId"].as_str(), ev["by"].as_str()),
        (Some(ib.as_str()), Some(b.id.as_str()))
    );
    // C declines: the room goes on.
    let (s, _) = act(&m, &c, "declineCall", json!({"callId": ic})).await;
    assert_eq!(s, 200);
    let ev = next_of(&mut wa, "declined").await;
    assert_eq!(
        (ev["roomID"].as_str(), ev["calleeId"].as_str()),
        (Some(room.as_str()), Some(c.id.as_str()))
    );
    // Nobody answers D: missed.
    let ev = next_of(&mut wa, "missed").await;
    assert_eq!(ev["callId"], id.as_str());
    let (s, v) = act(&m, &d, "enterRoom", json!({"roomID": room, "callId": id})).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("CALL_ENDED")), "{v}");
    // A callee in a call is busy at once; a cancelled invite tells its callee.
    let (s, _) = api(
        &m,
        Some(&e.secret),
        json!({"action": "initiateCall", "callerId": e.id, "calleeId": d.id}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = act(
        &m,
        &a,
        "ringRoom",
        json!({"roomID": room, "calleeIds": [d.id, c.id]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(next_of(&mut wa, "busy").await["calleeId"], d.id.as_str());
    let ic2 = v["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["calleeId"] == c.id.as_str())
        .unwrap()["callId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut wc = connect(&m, &c).await;
    assert_eq!(
        next_of(&mut wc, "ringing").await["callId"],
        ic2.as_str(),
        "replayed on connect"
    );
    let (s, _) = act(&m, &b, "cancelCall", json!({"callId": ic2})).await;
    assert_eq!(s, 403, "only the ringer cancels");
    let (s, _) = act(&m, &a, "cancelCall", json!({"callId": ic2})).await;
    assert_eq!(s, 200);
    assert_eq!(next_of(&mut wc, "cancelled").await["roomID"], room.as_str());
    let (s, v) = act(&m, &a, "getRoom", json!({"roomID": room})).await;
    assert_eq!((s, v["members"].as_array().unwrap().len()), (200, 2), "{v}");
    assert_eq!(v["invites"], json!([]));
    m.shutdown().await;
}
