//! The console's JSON API (`/mock/state`, `/mock/log`, `/mock/stream`) and page: the shapes
//! README documents, for both profiles, and that nothing secret leaves the mock through it.

use std::time::Duration;

use dialtone_mock::{MockConfig, MockServer, Profile, DEFAULT_API_KEY};
use serde_json::{json, Value};

async fn start(profile: Profile) -> MockServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = MockConfig {
        profile,
        ..MockConfig::default()
    };
    MockServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

async fn api(m: &MockServer, secret: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api", m.base_url()))
        .json(&body);
    if let Some(s) = secret {
        req = req.header("Authorization", format!("Bearer {s}"));
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

async fn create_person(m: &MockServer, client_id: &str, first: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/graphql", m.base_url()))
        .header("x-api-key", DEFAULT_API_KEY)
        .json(&json!({
            "query": "mutation C($input: CreatePersonInput!) { createPerson(input: $input) { id } }",
            "variables": {"input": {"firstName": first, "lastName": "L", "clientId": client_id}},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

async fn state_text(m: &MockServer) -> String {
    reqwest::get(format!("{}/mock/state", m.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn assert_no_secret(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !text.contains(s),
            "the console shows the secret {s}: {text}"
        );
    }
    assert!(!text.contains("eyJ"), "the console shows a JWT: {text}");
}

#[tokio::test]
async fn seed_state_shows_devices_persons_the_call_its_time_line_and_the_push() {
    let m = start(Profile::Seed).await;
    let caller = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-secret-caller"}),
    )
    .await;
    let callee = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "APNS", "deviceToken": "apns-secret-callee"}),
    )
    .await;
    let (caller, callee) = (
        caller["id"].as_str().unwrap(),
        callee["id"].as_str().unwrap(),
    );
    create_person(&m, caller, "Ada").await;
    let placed = api(
        &m,
        None,
        json!({"action": "initiateCall", "callerId": caller, "calleeId": callee}),
    )
    .await;
    let token = placed["token"].as_str().unwrap().to_string();

    let text = state_text(&m).await;
    assert_no_secret(
        &text,
        &[
            "fcm-secret-caller",
            "apns-secret-callee",
            &token,
            DEFAULT_API_KEY,
        ],
    );
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["profile"], "seed");
    let devices = s["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["clientId"], caller, "oldest registration first");
    assert_eq!(devices[0]["name"], "Ada L");
    assert_eq!(devices[0]["pushKind"], "FCM");
    assert_eq!(devices[1]["pushKind"], "APNs");
    assert!(devices[0]["deviceToken"].as_str().unwrap().starts_with('#'));
    assert!(devices[0]["registeredAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        devices[0]["features"],
        json!([]),
        "the seed has no extended features"
    );
    assert!(devices[0]["sessionId"].is_string(), "in a call");
    assert_eq!(s["persons"][0]["firstName"], "Ada");
    let call = &s["calls"][0];
    assert_eq!(
        (call["caller"].as_str(), call["callee"].as_str()),
        (Some(caller), Some(callee))
    );
    assert_eq!(call["state"], "ringing");
    assert!(call["callId"].is_null(), "the seed has no call ids");
    let timeline: Vec<&str> = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            format!("initiateCall by {caller}"),
            format!("push sent to {callee} (APNS)")
        ]
    );
    let push = &s["pushes"][0];
    assert_eq!(push["clientId"], callee);
    assert_eq!(push["pushKind"], "APNs");
    assert_eq!(push["priority"], "normal");
    assert!(push["payload"].is_object(), "{push}");

    api(&m, None, json!({"action": "endCall", "clientId": caller})).await;
    let s: Value = serde_json::from_str(&state_text(&m).await).unwrap();
    assert_eq!(s["calls"][0]["state"], "ended");
    assert_eq!(s["calls"][0]["endReason"], format!("ended by {caller}"));
    // The outbox drained by a device stays on the console.
    let _ = reqwest::get(format!(
        "{}/mock/pushes?deviceToken=apns-secret-callee",
        m.base_url()
    ))
    .await
    .unwrap();
    let s: Value = serde_json::from_str(&state_text(&m).await).unwrap();
    assert_eq!(s["pushes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn extended_state_shows_features_call_ids_and_a_decline_without_secrets() {
    let m = start(Profile::Extended).await;
    let a = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-a"}),
    )
    .await;
    let b = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-b"}),
    )
    .await;
    let (a_id, a_secret) = (
        a["id"].as_str().unwrap(),
        a["clientSecret"].as_str().unwrap(),
    );
    let (b_id, b_secret) = (
        b["id"].as_str().unwrap(),
        b["clientSecret"].as_str().unwrap(),
    );
    let placed = api(
        &m,
        Some(a_secret),
        json!({"action": "initiateCall", "callerId": a_id, "calleeId": b_id}),
    )
    .await;
    let call_id = placed["callId"].as_str().unwrap();
    api(
        &m,
        Some(b_secret),
        json!({"action": "declineCall", "clientId": b_id, "callId": call_id}),
    )
    .await;

    let text = state_text(&m).await;
    assert_no_secret(
        &text,
        &[
            a_secret,
            b_secret,
            "fcm-a\"",
            "fcm-b\"",
            placed["token"].as_str().unwrap(),
        ],
    );
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["profile"], "extended");
    assert_eq!(
        s["devices"][0]["features"],
        json!(["clientSecret", "callIds"])
    );
    let call = &s["calls"][0];
    assert_eq!(call["callId"], call_id);
    assert_eq!(call["state"], "ended");
    assert_eq!(call["endReason"], format!("declined by {b_id}"));
    let timeline = call["timeline"].to_string();
    assert!(
        timeline.contains("event ringing to both parties"),
        "{timeline}"
    );
    assert!(
        timeline.contains(&format!("declined by {b_id}")),
        "{timeline}"
    );
    assert_eq!(s["pushes"][0]["priority"], "high");
    assert_eq!(s["pushes"][0]["payload"]["callId"], call_id);
    assert_eq!(s["media"], json!([]));
    assert_eq!(s["linkProfiles"][0], "perfect");
    let media: Value = reqwest::get(format!("{}/mock/media", m.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(media, json!([]));
    assert_eq!(s["realtimeConnections"], 0);
    assert!(s["link"]["default"].is_object());
}

/// Reads server-sent events until one of type `kind` whose data contains `needle`.
async fn next_event(
    resp: &mut reqwest::Response,
    buf: &mut String,
    kind: &str,
    needle: &str,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("");
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            if event == kind && data.contains(needle) {
                return if kind == "state" {
                    serde_json::from_str(&data).unwrap()
                } else {
                    Value::String(data)
                };
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event with {needle:?}"))
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn the_stream_sends_the_state_at_once_and_again_after_a_change() {
    let m = start(Profile::Extended).await;
    let mut resp = reqwest::get(format!("{}/mock/stream", m.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut buf = String::new();
    let first = next_event(&mut resp, &mut buf, "state", "").await;
    assert_eq!(first["devices"], json!([]));
    let r = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-live"}),
    )
    .await;
    let id = r["id"].as_str().unwrap();
    let next = next_event(&mut resp, &mut buf, "state", id).await;
    assert_eq!(next["devices"][0]["clientId"], id);

    let log: Value = reqwest::get(format!("{}/mock/log", m.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log["lines"].is_array());
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary() {
    let m = start(Profile::Seed).await;
    let page = reqwest::get(format!("{}/", m.base_url())).await.unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/console/console.js") && html.contains("/console/console.css"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched from elsewhere"
    );
    for (path, kind) in [
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/phone.js", "text/javascript"),
    ] {
        let r = reqwest::get(format!("{}{path}", m.base_url()))
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(kind));
        // The SVG namespace is a name, not an address; anything else would be a fetch.
        let body = r
            .text()
            .await
            .unwrap()
            .replace("http://www.w3.org/2000/svg", "");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} names another host"
        );
    }
}

#[tokio::test]
async fn the_phone_creates_its_own_person_with_its_secret_only() {
    let m = start(Profile::Extended).await;
    let a = api(
        &m,
        None,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "browser-1"}),
    )
    .await;
    let (id, secret) = (
        a["id"].as_str().unwrap(),
        a["clientSecret"].as_str().unwrap(),
    );
    let post = |auth: Option<String>| {
        let mut req = reqwest::Client::new()
            .post(format!("{}/mock/phone/person", m.base_url()))
            .json(&json!({"clientId": id, "firstName": "Web", "lastName": "Phone"}));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    assert_eq!(post(None).await.unwrap().status().as_u16(), 403);
    assert_eq!(
        post(Some("Bearer wrong".into()))
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert!(
        m.with_state(|s| s.persons.is_empty()),
        "a refused request creates nothing"
    );
    let r = post(Some(format!("Bearer {secret}"))).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let person_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s: Value = serde_json::from_str(&state_text(&m).await).unwrap();
    assert_eq!(s["persons"][0]["id"], person_id);
    assert_eq!(s["devices"][0]["name"], "Web Phone");
}
