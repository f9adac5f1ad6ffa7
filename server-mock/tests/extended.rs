//! The mock's extended profile, checked with raw HTTP and WebSocket requests: client secrets
//! and Bearer auth (401 without, 403 when acting for another clientId), call ids and server
//! call state, token-free high-priority pushes, answerCall / declineCall / cancelCall, and the
//! `/ws` event channel (auth at connect or by `authorize`, fan-out to every connection of a
//! client, ping/pong, "not implemented", idle and unauthenticated sockets closed). Also: the
//! seed profile has none of it.

use std::time::Duration;

use dialtone_mock::{MockConfig, MockServer, Profile, DEFAULT_API_KEY};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::{api, Client, Ws};

async fn start(profile: Profile) -> MockServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = MockConfig {
        profile,
        ws_auth_timeout: Duration::from_millis(300),
        ws_idle_timeout: Duration::from_millis(800),
        ..MockConfig::default()
    };
    MockServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

async fn register(m: &MockServer, kind: &str, token: &str) -> Client {
    let (s, v) = api(
        m,
        None,
        json!({"action": "register", "notifyType": kind, "deviceToken": token}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let secret = v["clientSecret"]
        .as_str()
        .expect("a client secret")
        .to_string();
    assert!(secret.len() >= 40, "a secret of real strength");
    Client {
        id: v["id"].as_str().unwrap().to_string(),
        secret,
    }
}

async fn name(m: &MockServer, c: &Client, first: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/graphql", m.base_url()))
        .header("x-api-key", DEFAULT_API_KEY)
        .json(&json!({
            "query": "mutation C($input: CreatePersonInput!) { createPerson(input: $input) { id } }",
            "variables": {"input": {"firstName": first, "lastName": "Test", "clientId": c.id}},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
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

async fn connect(m: &MockServer, c: &Client) -> Ws {
    common::connect(m, c, Duration::from_secs(3)).await
}

async fn next(ws: &mut Ws) -> Value {
    common::next_within(ws, Duration::from_secs(3)).await
}

/// Reads until a close frame; returns its code.
async fn closed_with(ws: &mut Ws) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .expect("the server closes in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return f.code.into(),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

async fn call(m: &MockServer, a: &Client, b: &Client) -> (String, String) {
    let (s, v) = api(
        m,
        Some(&a.secret),
        json!({"action": "initiateCall", "callerId": a.id, "calleeId": b.id}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (
        v["callId"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn every_action_needs_the_clients_own_secret() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;
    let start_call = json!({"action": "initiateCall", "callerId": a.id, "calleeId": b.id});
    let (s, v) = api(&m, None, start_call.clone()).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("UNAUTHORIZED")));
    let (s, _) = api(&m, Some("not-a-secret"), start_call.clone()).await;
    assert_eq!(s, 401);
    // Spoofing: Bob's secret acting for Alice.
    let (s, v) = api(&m, Some(&b.secret), start_call.clone()).await;
    assert_eq!((s, v["error"].as_str()), (403, Some("FORBIDDEN")));
    let (s, _) = api(
        &m,
        Some(&b.secret),
        json!({"action": "endCall", "clientId": a.id}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = api(
        &m,
        Some(&b.secret),
        json!({"action": "deleteClientIds", "clientIds": [a.id]}),
    )
    .await;
    assert_eq!(s, 403);
    assert!(m.with_state(|st| st.sessions.is_empty() && st.devices.len() == 2));

    // Alice's real call: Bob cannot answer, decline or cancel it for someone else.
    let (call_id, _) = call(&m, &a, &b).await;
    for action in ["answerCall", "declineCall", "cancelCall"] {
        let (s, v) = api(
            &m,
            Some(&b.secret),
            json!({"action": action, "clientId": a.id, "callId": call_id}),
        )
        .await;
        assert_eq!(s, 403, "{action}: {v}");
    }
    // With his own id but the wrong role.
    let (s, v) = api(
        &m,
        Some(&b.secret),
        json!({"action": "cancelCall", "clientId": b.id, "callId": call_id}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = api(
        &m,
        Some(&a.secret),
        json!({"action": "answerCall", "clientId": a.id, "callId": call_id}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(m.with_state(|st| st.sessions.len()), 1);
}

#[tokio::test]
async fn the_push_carries_the_call_and_no_token_and_the_callee_fetches_its_own() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "APNS", "apns-b").await;
    name(&m, &a, "Alice").await;
    let (call_id, caller_token) = call(&m, &a, &b).await;
    let p = pushes(&m, "apns-b").await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["priority"], "high");
    assert_eq!(p[0]["apnsPushType"], "voip");
    let data = &p[0]["payload"]["data"];
    assert_eq!(data["callId"], call_id.as_str());
    assert_eq!(data["callerId"], a.id.as_str());
    assert_eq!(data["callerName"], "Alice Test");
    let sent_at: i64 = data["sentAt"].as_str().unwrap().parse().unwrap();
    assert!((sent_at - dialtone_mock::time::now_ms()).abs() < 10_000);
    assert!(
        !p[0].to_string().contains("tok="),
        "no bearer token in a push"
    );
    assert_eq!(
        p[0]["payload"]["aps"]["alert"]["body"],
        "Alice Test is calling you"
    );

    let answer = json!({"action": "answerCall", "clientId": b.id, "callId": call_id});
    let (s, _) = api(&m, None, answer.clone()).await;
    assert_eq!(s, 401);
    let (s, v) = api(&m, Some(&b.secret), answer.clone()).await;
    assert_eq!(s, 200, "{v}");
    let callee_token = v["token"].as_str().unwrap();
    assert_ne!(callee_token, caller_token);
    // Same session, another participant.
    let tid = |t: &str| t.split('.').nth(1).map(str::to_string);
    assert!(tid(callee_token).is_some());
    let (s, v) = api(&m, Some(&b.secret), answer).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("ALREADY_ANSWERED")));
    let (s, v) = api(
        &m,
        Some(&b.secret),
        json!({"action": "answerCall", "clientId": b.id, "callId": "nope"}),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (500, Some("CALL_NOT_FOUND")));
}

#[tokio::test]
async fn call_events_reach_every_connection_of_both_parties() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;
    let mut a_ws = connect(&m, &a).await;
    let mut b_phone = connect(&m, &b).await;
    let mut b_tablet = connect(&m, &b).await;
    assert_eq!(m.event_connections(&b.id), 2);

    let (call_id, _) = call(&m, &a, &b).await;
    for ws in [&mut a_ws, &mut b_phone, &mut b_tablet] {
        let ev = next(ws).await;
        assert_eq!(ev["type"], "ringing");
        assert_eq!(ev["callId"], call_id.as_str());
        assert_eq!(ev["callerId"], a.id.as_str());
        assert_eq!(ev["calleeId"], b.id.as_str());
    }
    // A connection opened while the call rings learns of it at once.
    let mut late = connect(&m, &b).await;
    assert_eq!(next(&mut late).await["callId"], call_id.as_str());

    let (s, _) = api(
        &m,
        Some(&b.secret),
        json!({"action": "answerCall", "clientId": b.id, "callId": call_id}),
    )
    .await;
    assert_eq!(s, 200);
    for ws in [&mut a_ws, &mut b_phone, &mut b_tablet, &mut late] {
        let ev = next(ws).await;
        assert_eq!(ev["type"], "answered", "{ev}");
        assert_eq!(ev["by"], b.id.as_str());
    }
    // Either side's endCall ends it for both: rows blanked, session gone, `ended` sent.
    let (s, _) = api(
        &m,
        Some(&a.secret),
        json!({"action": "endCall", "clientId": a.id}),
    )
    .await;
    assert_eq!(s, 200);
    for ws in [&mut a_ws, &mut b_phone] {
        assert_eq!(next(ws).await["type"], "ended");
    }
    assert!(
        m.with_state(|st| st.sessions.is_empty() && st.devices.values().all(|d| !d.in_session()))
    );
}

#[tokio::test]
async fn decline_busy_and_cancel_free_both_sides() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;
    let mut a_ws = connect(&m, &a).await;
    let mut b_ws = connect(&m, &b).await;

    for (action, who, reason, expect) in [
        ("declineCall", &b, None, "declined"),
        ("declineCall", &b, Some("busy"), "busy"),
        ("cancelCall", &a, None, "cancelled"),
    ] {
        let (call_id, _) = call(&m, &a, &b).await;
        assert_eq!(next(&mut a_ws).await["type"], "ringing");
        assert_eq!(next(&mut b_ws).await["type"], "ringing");
        let mut body = json!({"action": action, "clientId": who.id, "callId": call_id});
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        let (s, v) = api(&m, Some(&who.secret), body.clone()).await;
        assert_eq!(s, 200, "{v}");
        for ws in [&mut a_ws, &mut b_ws] {
            let ev = next(ws).await;
            assert_eq!(
                (ev["type"].as_str(), ev["callId"].as_str()),
                (Some(expect), Some(call_id.as_str()))
            );
        }
        assert!(m.with_state(
            |st| st.sessions.is_empty() && st.devices.values().all(|d| !d.in_session())
        ));
        // Too late for a second try.
        let (s, v) = api(&m, Some(&who.secret), body).await;
        assert_eq!((s, v["error"].as_str()), (500, Some("CALL_ENDED")));
    }
    let (call_id, _) = call(&m, &a, &b).await;
    let (s, v) = api(
        &m,
        Some(&b.secret),
        json!({"action": "declineCall", "clientId": b.id, "callId": call_id, "reason": "bored"}),
    )
    .await;
    assert_eq!(s, 500, "{v}");
    assert_eq!(
        m.with_state(|st| st.sessions.len()),
        1,
        "a refused decline changes nothing"
    );
}

/// A late endCall (the device was still leaving its last call when the next one began to
/// ring) names the call it meant, and the mock ends only that one.
#[tokio::test]
async fn an_end_call_naming_a_call_already_over_leaves_the_next_one_ringing() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;
    let mut b_ws = connect(&m, &b).await;
    let (first, _) = call(&m, &a, &b).await;
    assert_eq!(next(&mut b_ws).await["type"], "ringing");
    let (s, _) = api(
        &m,
        Some(&a.secret),
        json!({"action": "endCall", "clientId": a.id, "callId": first}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(next(&mut b_ws).await["type"], "cancelled");

    let (second, _) = call(&m, &a, &b).await;
    assert_eq!(next(&mut b_ws).await["type"], "ringing");
    let stale = json!({"action": "endCall", "clientId": b.id, "callId": first});
    let (s, v) = api(&m, Some(&b.secret), stale).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("CALL_ENDED")), "{v}");
    let phase = |id: &str| m.with_state(|st| st.calls.get(id).map(|c| c.phase));
    assert_eq!(
        phase(&second),
        Some(dialtone_mock::state::CallPhase::Ringing)
    );
    assert!(m.with_state(|st| st.devices.values().all(|d| d.in_session())));

    let wrong_type = json!({"action": "endCall", "clientId": b.id, "callId": 7});
    assert_eq!(api(&m, Some(&b.secret), wrong_type).await.0, 500);
    assert_eq!(
        phase(&second),
        Some(dialtone_mock::state::CallPhase::Ringing)
    );

    let current = json!({"action": "endCall", "clientId": b.id, "callId": second});
    assert_eq!(api(&m, Some(&b.secret), current).await.0, 200);
    assert_eq!(next(&mut b_ws).await["type"], "declined");
    assert_eq!(phase(&second), Some(dialtone_mock::state::CallPhase::Ended));
}

#[tokio::test]
async fn a_token_move_keeps_the_installation_and_may_delete_its_old_id() {
    let m = start(Profile::Extended).await;
    let old = register(&m, "GCM", "fcm-old").await;
    let other = register(&m, "GCM", "fcm-other").await;
    let (s, v) = api(
        &m,
        Some(&old.secret),
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-new"}),
    )
    .await;
    assert_eq!(s, 200);
    let new_secret = v["clientSecret"].as_str().unwrap();
    assert_ne!(new_secret, old.secret);
    let (s, _) = api(
        &m,
        Some(new_secret),
        json!({"action": "deleteClientIds", "clientIds": [other.id]}),
    )
    .await;
    assert_eq!(s, 403, "another installation's id");
    let (s, v) = api(
        &m,
        Some(new_secret),
        json!({"action": "deleteClientIds", "clientIds": [old.id, "unknown-id"]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["deletedIds"], json!([{"id": old.id}]));
}

#[tokio::test]
async fn the_event_channel_authenticates_answers_pings_and_closes_idle_sockets() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;

    // A wrong secret at connect is refused before the upgrade.
    let mut req = format!("ws://{}/ws?clientId={}", m.addr(), a.id)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", b.secret).parse().unwrap(),
    );
    assert!(tokio_tungstenite::connect_async(req).await.is_err());

    // Without a header the socket must authorize, or it is closed.
    let url = format!("ws://{}/ws", m.addr());
    let (mut silent, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    assert_eq!(closed_with(&mut silent).await, 4401);
    let (mut browser, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    browser
        .send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();
    assert!(next(&mut browser).await["message"]
        .as_str()
        .unwrap()
        .contains("authorize first"));
    browser
        .send(Message::text(
            json!({"action": "authorize", "clientId": a.id, "clientSecret": a.secret}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut browser).await["type"], "connected");
    let (mut forger, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    forger
        .send(Message::text(
            json!({"action": "authorize", "clientId": a.id, "clientSecret": b.secret}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut forger).await["type"], "error");
    assert_eq!(closed_with(&mut forger).await, 4401);

    let mut ws = connect(&m, &a).await;
    ws.send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await, json!({"type": "pong"}));
    ws.send(Message::text(r#"{"action":"sendmessage"}"#))
        .await
        .unwrap();
    let e = next(&mut ws).await;
    assert_eq!(e["type"], "error");
    assert!(e["message"].as_str().unwrap().contains("not implemented"));
    ws.send(Message::text("{oops")).await.unwrap();
    assert_eq!(next(&mut ws).await["type"], "error");
    // Oversized messages end the connection rather than being buffered.
    let _ = ws.send(Message::text("x".repeat(64 * 1024))).await;
    assert!(tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await
    .is_ok());

    // Idle: no message for longer than the idle timeout.
    let mut idle = connect(&m, &a).await;
    assert_eq!(closed_with(&mut idle).await, 4408);
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(browser);
    assert_eq!(
        m.event_connections(&a.id),
        0,
        "every idle or closed socket is gone"
    );
}

#[tokio::test]
async fn the_seed_profile_has_none_of_the_extensions() {
    let m = start(Profile::Seed).await;
    let (s, v) = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-a"}),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v.get("clientSecret").is_none());
    let a = v["id"].as_str().unwrap().to_string();
    let (_, v) = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-b"}),
    )
    .await;
    let b = v["id"].as_str().unwrap().to_string();
    let (s, v) = api(
        &m,
        None,
        json!({"action": "initiateCall", "callerId": a, "calleeId": b}),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v.get("callId").is_none());
    for action in ["declineCall", "cancelCall", "answerCall"] {
        let (s, v) = api(&m, None, json!({"action": action, "clientId": b})).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (500, Some("ERROR :: Unknown action!"))
        );
    }
    let p = pushes(&m, "fcm-b").await;
    assert_eq!(p[0]["priority"], "normal");
    assert!(p[0]["data"].get("callId").is_none());
    let r = reqwest::get(format!("{}/ws", m.base_url())).await.unwrap();
    assert_eq!(r.status(), 404);
}

/// The payload of a participant token (the tests read, not verify, it).
fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn renew_token_gives_a_party_a_fresh_token_for_the_same_participant() {
    let m = start(Profile::Extended).await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;
    let carol = register(&m, "GCM", "fcm-c").await;
    let (call_id, caller_token) = call(&m, &a, &b).await;
    let renew = |c: &Client| json!({"action": "renewToken", "clientId": c.id, "callId": call_id});

    // The caller, while it rings: same participant, same session.
    let (s, v) = api(&m, Some(&a.secret), renew(&a)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["callId"], call_id.as_str());
    let fresh = v["token"].as_str().unwrap();
    let (old, new) = (claims(&caller_token), claims(fresh));
    assert_eq!((&new["p"], &new["tid"]), (&old["p"], &old["tid"]));
    assert!(new["exp"].as_i64() >= old["exp"].as_i64());
    // The callee, before answering, has nothing to renew; nor has a stranger; nor anyone
    // without the secret.
    let (s, v) = api(&m, Some(&b.secret), renew(&b)).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("CALL_ENDED")), "{v}");
    let (s, _) = api(&m, Some(&carol.secret), renew(&carol)).await;
    assert_eq!(s, 403);
    let (s, _) = api(&m, None, renew(&a)).await;
    assert_eq!(s, 401);

    // Once answered, the callee can.
    let (s, v) = api(
        &m,
        Some(&b.secret),
        json!({"action": "answerCall", "clientId": b.id, "callId": call_id}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let callee = claims(v["token"].as_str().unwrap());
    let (s, v) = api(&m, Some(&b.secret), renew(&b)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(claims(v["token"].as_str().unwrap())["p"], callee["p"]);

    // After the end, nobody can.
    let (s, _) = api(
        &m,
        Some(&a.secret),
        json!({"action": "endCall", "clientId": a.id}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = api(&m, Some(&a.secret), renew(&a)).await;
    assert_eq!((s, v["error"].as_str()), (500, Some("CALL_ENDED")), "{v}");
}

#[tokio::test]
async fn the_seed_has_no_renew_token() {
    let m = start(Profile::Seed).await;
    let (s, v) = api(
        &m,
        None,
        json!({"action": "renewToken", "clientId": "x", "callId": "y"}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (500, Some("ERROR :: Unknown action!"))
    );
}
