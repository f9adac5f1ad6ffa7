//! The mock's side of the wire contract (BACKEND.md) in the seed profile, checked with raw
//! HTTP and WebSocket requests: every REST action and GraphQL operation, their errors, and
//! bad input that must be refused without changing state. The extended profile's additions
//! are checked in `extended.rs`.

use std::time::Duration;

use dialtone_mock::{MockConfig, MockServer, Profile, DEFAULT_API_KEY, MAX_BODY_BYTES};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn start() -> MockServer {
    // The process's TLS provider, named once (the tests' TLS clients need one).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = MockConfig {
        keep_alive_interval: Duration::from_millis(200),
        profile: Profile::Seed,
        ..MockConfig::default()
    };
    MockServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

async fn api(m: &MockServer, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api", m.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn gql(m: &MockServer, key: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/graphql", m.base_url()))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn register(m: &MockServer, kind: &str, token: &str) -> String {
    let (s, v) = api(
        m,
        json!({"action": "register", "notifyType": kind, "deviceToken": token}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn pushes(m: &MockServer, token: &str, wait_ms: u64) -> Vec<Value> {
    let v: Value = reqwest::get(format!(
        "{}/mock/pushes?deviceToken={token}&waitMs={wait_ms}",
        m.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    v["pushes"].as_array().unwrap().clone()
}

const CREATE: &str = "mutation C($input: CreatePersonInput!) { createPerson(input: $input) { id firstName lastName clientId _version _deleted _lastChangedAt } }";

#[tokio::test]
async fn register_returns_the_device_row() {
    let m = start().await;
    let (s, v) = api(
        &m,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "fcm-1"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["notifyType"], "GCM");
    assert_eq!(v["deviceToken"], "fcm-1");
    assert_eq!(v["participantId"], Value::Null);
    assert_eq!(v["participantToken"], Value::Null);
    assert_eq!(v["id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn initiate_call_issues_v3_tokens_and_pushes_fcm_data() {
    let m = start().await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "GCM", "fcm-b").await;
    gql(
        &m,
        Some(DEFAULT_API_KEY),
        CREATE,
        json!({"input": {"firstName": "Alice", "lastName": "Smith", "clientId": a}}),
    )
    .await;
    let (s, v) = api(
        &m,
        json!({"action": "initiateCall", "callerId": a, "calleeId": b}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap();
    let claims = decode_jwt(token);
    assert_eq!(claims["v"], "v3");
    for k in ["a", "p", "exp", "tid", "iss"] {
        assert!(!claims[k].is_null(), "claim {k} missing");
    }
    let p = pushes(&m, "fcm-b", 0).await;
    assert_eq!(p.len(), 1);
    let data = &p[0]["data"];
    assert_eq!(data["pinpoint.notification.title"], "Incoming Call");
    assert_eq!(
        data["pinpoint.notification.body"],
        "Alice Smith is calling you"
    );
    let link = data["pinpoint.deeplink"].as_str().unwrap();
    let callee_token = link
        .strip_prefix("https://my.app.com/incomingCall?tok=")
        .unwrap();
    assert_eq!(decode_jwt(callee_token)["tid"], claims["tid"]);
    assert_ne!(decode_jwt(callee_token)["p"], claims["p"]);
    assert_eq!(p[0]["priority"], "normal");
    assert_eq!(p[0]["ttlSeconds"], 30);
    // Drained: a second read is empty.
    assert!(pushes(&m, "fcm-b", 0).await.is_empty());
}

#[tokio::test]
async fn apns_push_carries_the_deeplink_under_data_pinpoint() {
    let m = start().await;
    let a = register(&m, "GCM", "fcm-a").await;
    let b = register(&m, "APNS", "voip-b").await;
    let waiter = {
        let url = format!(
            "{}/mock/pushes?deviceToken=voip-b&waitMs=5000",
            m.base_url()
        );
        tokio::spawn(async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    api(
        &m,
        json!({"action": "initiateCall", "callerId": a, "calleeId": b}),
    )
    .await;
    let v = tokio::time::timeout(Duration::from_secs(3), waiter)
        .await
        .expect("long-poll wakes")
        .unwrap();
    let push = &v["pushes"][0];
    assert_eq!(push["apnsPushType"], "voip");
    assert_eq!(push["payload"]["aps"]["alert"]["title"], "Incoming Call");
    assert!(push["payload"]["data"]["pinpoint"]["deeplink"]
        .as_str()
        .unwrap()
        .contains("incomingCall?tok=ey"));
}

#[tokio::test]
async fn busy_caller_and_callee_are_refused_until_end_call() {
    let m = start().await;
    let a = register(&m, "GCM", "a").await;
    let b = register(&m, "GCM", "b").await;
    let c = register(&m, "GCM", "c").await;
    assert_eq!(
        api(
            &m,
            json!({"action": "initiateCall", "callerId": a, "calleeId": b})
        )
        .await
        .0,
        200
    );
    let (s, v) = api(
        &m,
        json!({"action": "initiateCall", "callerId": c, "calleeId": b}),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            500,
            json!({"message": "ERROR :: Callee already in a session!", "error": "BUSY"})
        )
    );
    let (s, v) = api(
        &m,
        json!({"action": "initiateCall", "callerId": a, "calleeId": c}),
    )
    .await;
    assert_eq!((s, v["error"].clone()), (500, json!("BUSY")));
    assert_eq!(v["message"], "ERROR :: Caller already in a session!");
    let (s, v) = api(&m, json!({"action": "endCall", "clientId": a})).await;
    assert_eq!(s, 200);
    assert_eq!(v["message"], "success");
    assert_eq!(v["result"]["sessionId"], "");
    assert_eq!(v["result"]["participantToken"], "");
    // The seed blanks only the caller's row: the callee stays busy until it ends its own leg.
    assert_eq!(
        api(
            &m,
            json!({"action": "initiateCall", "callerId": c, "calleeId": b})
        )
        .await
        .1["error"],
        "BUSY"
    );
    assert_eq!(
        api(
            &m,
            json!({"action": "initiateCall", "callerId": a, "calleeId": c})
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn delete_client_ids_removes_rows_and_keeps_persons() {
    let m = start().await;
    let a = register(&m, "GCM", "a").await;
    gql(
        &m,
        Some(DEFAULT_API_KEY),
        CREATE,
        json!({"input": {"firstName": "A", "lastName": "B", "clientId": a}}),
    )
    .await;
    let (s, v) = api(
        &m,
        json!({"action": "deleteClientIds", "clientIds": [a, "nope"]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v, json!({"deletedIds": [{"id": a}]}));
    assert_eq!(m.with_state(|s| (s.devices.len(), s.persons.len())), (0, 1));
    let (s, v) = api(&m, json!({"action": "endCall", "clientId": a})).await;
    assert_eq!(s, 500);
    assert_eq!(v["error"], json!({}));
}

#[tokio::test]
async fn bad_rest_input_gets_clear_errors_and_changes_nothing() {
    let m = start().await;
    let a = register(&m, "GCM", "a").await;
    let cases = [
        json!({"action": "frobnicate"}),
        json!({"notifyType": "GCM"}),
        json!({"action": "register", "notifyType": "SMS", "deviceToken": "x"}),
        json!({"action": "register", "notifyType": "GCM", "deviceToken": 7}),
        json!({"action": "register", "notifyType": "GCM"}),
        json!({"action": "initiateCall", "callerId": a}),
        json!({"action": "initiateCall", "callerId": a, "calleeId": "unknown"}),
        json!({"action": "initiateCall", "callerId": a, "calleeId": a}),
        json!({"action": "deleteClientIds", "clientIds": "a"}),
        json!({"action": "deleteClientIds", "clientIds": [1, 2]}),
        json!({"action": "deleteClientIds", "clientIds": vec!["x"; 101]}),
    ];
    for body in cases {
        let (s, v) = api(&m, body.clone()).await;
        assert_eq!(s, 500, "{body} → {v}");
        assert!(
            v["error"] != Value::Null && v["error"] != json!(false),
            "{body} → {v}"
        );
    }
    assert_eq!(
        api(&m, json!({"action": "nope"})).await.1,
        json!({"error": "ERROR :: Unknown action!"})
    );
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/api", m.base_url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert!(r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("JSON"));
    let big = format!(
        r#"{{"action":"register","notifyType":"GCM","deviceToken":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let r = client
        .post(format!("{}/api", m.base_url()))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(
        m.with_state(|s| (s.devices.len(), s.sessions.len())),
        (1, 0)
    );
    assert!(m.with_state(|s| s.outbox.is_empty()));
}

#[tokio::test]
async fn graphql_requires_the_api_key() {
    let m = start().await;
    for key in [None, Some("wrong")] {
        let (s, v) = gql(&m, key, "query { listPeople { items { id } } }", json!({})).await;
        assert_eq!(s, 401);
        assert_eq!(v["errors"][0]["errorType"], "UnauthorizedException");
        assert_eq!(
            v["errors"][0]["message"],
            "You are not authorized to make this call."
        );
    }
}

#[tokio::test]
async fn person_crud_with_version_conflicts() {
    let m = start().await;
    let k = Some(DEFAULT_API_KEY);
    let (_, v) = gql(
        &m,
        k,
        CREATE,
        json!({"input": {"id": "p1", "firstName": "A", "lastName": "B", "clientId": "c"}}),
    )
    .await;
    assert_eq!(v["data"]["createPerson"]["_version"], 1);
    assert_eq!(v["data"]["createPerson"]["_deleted"], Value::Null);
    let (_, v) = gql(
        &m,
        k,
        CREATE,
        json!({"input": {"id": "p1", "firstName": "A", "lastName": "B", "clientId": "c"}}),
    )
    .await;
    assert_eq!(
        v["errors"][0]["errorType"],
        "DynamoDB:ConditionalCheckFailedException"
    );

    let (_, v) = gql(
        &m,
        k,
        "query G($id: ID!) { getPerson(id: $id) { id firstName createdAt updatedAt } }",
        json!({"id": "p1"}),
    )
    .await;
    assert_eq!(v["data"]["getPerson"]["firstName"], "A");
    assert!(v["data"]["getPerson"]["createdAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let (_, v) = gql(&m, k, "query { getPerson(id: \"none\") { id } }", json!({})).await;
    assert_eq!(v["data"]["getPerson"], Value::Null);

    let upd =
        "mutation U($i: UpdatePersonInput!) { updatePerson(input: $i) { id firstName _version } }";
    let (_, v) = gql(
        &m,
        k,
        upd,
        json!({"i": {"id": "p1", "_version": 1, "firstName": "Z"}}),
    )
    .await;
    assert_eq!(
        v["data"]["updatePerson"],
        json!({"id": "p1", "firstName": "Z", "_version": 2})
    );
    let (_, v) = gql(
        &m,
        k,
        upd,
        json!({"i": {"id": "p1", "_version": 1, "firstName": "Y"}}),
    )
    .await;
    assert_eq!(v["errors"][0]["errorType"], "ConflictUnhandled");
    assert_eq!(v["errors"][0]["data"]["_version"], 2);
    let (_, v) = gql(&m, k, upd, json!({"i": {"id": "missing", "_version": 1}})).await;
    assert!(v["errors"][0]["errorType"]
        .as_str()
        .unwrap()
        .contains("ConditionalCheckFailed"));

    let del =
        "mutation D($i: DeletePersonInput!) { deletePerson(input: $i) { id _deleted _version } }";
    let (_, v) = gql(&m, k, del, json!({"i": {"id": "p1", "_version": 1}})).await;
    assert_eq!(v["errors"][0]["errorType"], "ConflictUnhandled");
    let (_, v) = gql(&m, k, del, json!({"i": {"id": "p1", "_version": 2}})).await;
    assert_eq!(
        v["data"]["deletePerson"],
        json!({"id": "p1", "_deleted": true, "_version": 3})
    );
    assert_eq!(m.with_state(|s| s.persons["p1"].first_name.clone()), "Z");
}

#[tokio::test]
async fn list_filters_by_client_id_and_pages() {
    let m = start().await;
    let k = Some(DEFAULT_API_KEY);
    for i in 0..7 {
        let client = if i < 3 { "mine" } else { "other" };
        gql(
            &m,
            k,
            CREATE,
            json!({"input": {"firstName": format!("n{i}"), "lastName": "x", "clientId": client}}),
        )
        .await;
    }
    let q = "query L($f: ModelPersonFilterInput, $t: String) { listPeople(filter: $f, limit: 2, nextToken: $t) { items { firstName clientId } nextToken startedAt } }";
    let mut seen = Vec::new();
    let mut token = Value::Null;
    loop {
        let (_, v) = gql(
            &m,
            k,
            q,
            json!({"f": {"clientId": {"eq": "mine"}}, "t": token}),
        )
        .await;
        let conn = &v["data"]["listPeople"];
        assert_eq!(conn["startedAt"], Value::Null);
        seen.extend(
            conn["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["firstName"].as_str().unwrap().to_string()),
        );
        token = conn["nextToken"].clone();
        if token.is_null() {
            break;
        }
    }
    assert_eq!(seen, ["n0", "n1", "n2"]);
    let (_, v) = gql(
        &m,
        k,
        "query { listPeople(nextToken: \"garbage\") { items { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(v["errors"][0]["errorType"], "InvalidNextTokenException");
    let (_, v) = gql(
        &m,
        k,
        "query { listPeople(limit: 0) { items { id } } }",
        json!({}),
    )
    .await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("limit"));
}

#[tokio::test]
async fn sync_people_delta_includes_tombstones() {
    let m = start().await;
    let k = Some(DEFAULT_API_KEY);
    let sync = "query S($l: AWSTimestamp) { syncPeople(lastSync: $l) { items { id _deleted } nextToken startedAt } }";
    gql(
        &m,
        k,
        CREATE,
        json!({"input": {"id": "old", "firstName": "A", "lastName": "B", "clientId": "c"}}),
    )
    .await;
    let (_, v) = gql(&m, k, sync, json!({"l": null})).await;
    let started = v["data"]["syncPeople"]["startedAt"].as_i64().unwrap();
    assert_eq!(
        v["data"]["syncPeople"]["items"].as_array().unwrap().len(),
        1
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    gql(
        &m,
        k,
        CREATE,
        json!({"input": {"id": "new", "firstName": "N", "lastName": "B", "clientId": "d"}}),
    )
    .await;
    gql(
        &m,
        k,
        "mutation { deletePerson(input: {id: \"old\", _version: 1}) { id } }",
        json!({}),
    )
    .await;
    let (_, v) = gql(&m, k, sync, json!({"l": started})).await;
    let mut items: Vec<(String, Value)> = v["data"]["syncPeople"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i["_deleted"].clone()))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        items,
        [
            ("new".to_string(), Value::Null),
            ("old".to_string(), json!(true))
        ]
    );
}

#[tokio::test]
async fn graphql_validation_and_malformed_requests() {
    let m = start().await;
    let k = Some(DEFAULT_API_KEY);
    let (s, v) = gql(
        &m,
        k,
        "query { getPerson(id: \"x\") { id nope } }",
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("FieldUndefined"));
    let (_, v) = gql(&m, k, "query { getPerson { id } }", json!({})).await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("MissingFieldArgument"));
    let (_, v) = gql(
        &m,
        k,
        "query { getDeviceInfo(id: \"x\") { id } }",
        json!({}),
    )
    .await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("FieldUndefined"));
    let (_, v) = gql(&m, k, "query {", json!({})).await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Invalid syntax"));
    let (_, v) = gql(
        &m,
        k,
        CREATE,
        json!({"input": {"firstName": "A", "lastName": 5, "clientId": "c"}}),
    )
    .await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("WrongType"));
    let (_, v) = gql(
        &m,
        k,
        CREATE,
        json!({"input": {"firstName": "x".repeat(300), "lastName": "L", "clientId": "c"}}),
    )
    .await;
    assert_eq!(v["errors"][0]["errorType"], "ValidationException");
    let r = reqwest::Client::new()
        .post(format!("{}/graphql", m.base_url()))
        .header("x-api-key", DEFAULT_API_KEY)
        .body("[1,2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["errorType"],
        "MalformedHttpRequestException"
    );
    assert!(m.with_state(|s| s.persons.is_empty()));
}

/// How a test's real-time client presents its authorization (BACKEND.md §3).
#[derive(Clone, Copy)]
enum RealtimeAuth {
    /// `?header=<base64>&payload=e30=`, the older form.
    Query,
    /// `Sec-WebSocket-Protocol: graphql-ws, header-<base64url>`, unpadded, as Amplify v6 sends it.
    Subprotocol,
    /// The same with base64url's `=` padding kept.
    PaddedSubprotocol,
}

async fn realtime(
    m: &MockServer,
    key: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    realtime_with(m, key, RealtimeAuth::Query).await
}

async fn realtime_with(
    m: &MockServer,
    key: &str,
    auth: RealtimeAuth,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let header = json!({"host": m.addr().to_string(), "x-api-key": key}).to_string();
    let (url, protocols) = match auth {
        RealtimeAuth::Query => (
            format!(
                "ws://{}/graphql/realtime?header={}&payload=e30%3D",
                m.addr(),
                urlencode(&STANDARD.encode(&header))
            ),
            "graphql-ws".to_string(),
        ),
        RealtimeAuth::Subprotocol => (
            format!("ws://{}/graphql/realtime", m.addr()),
            format!("graphql-ws, header-{}", URL_SAFE_NO_PAD.encode(&header)),
        ),
        RealtimeAuth::PaddedSubprotocol => (
            format!("ws://{}/graphql/realtime", m.addr()),
            format!("graphql-ws,header-{}", URL_SAFE.encode(&header)),
        ),
    };
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    // Only graphql-ws is chosen: the authorization subprotocol is never echoed back.
    assert_eq!(resp.headers()["sec-websocket-protocol"], "graphql-ws");
    ws
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn next_json<
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
>(
    ws: &mut S,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .expect("a message")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[tokio::test]
async fn realtime_protocol_delivers_subscribed_changes() {
    let m = start().await;
    let mut ws = realtime(&m, DEFAULT_API_KEY).await;
    ws.send(Message::text(
        json!({"type": "connection_init"}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "connection_ack", "payload": {"connectionTimeoutMs": 300000}})
    );
    let start = |id: &str, q: &str, key: &str| {
        json!({"id": id, "type": "start", "payload": {
            "data": json!({"query": q, "variables": {}}).to_string(),
            "extensions": {"authorization": {"host": "h", "x-api-key": key}}}})
        .to_string()
    };
    ws.send(Message::text(start(
        "s1",
        "subscription { onCreatePerson { id firstName } }",
        DEFAULT_API_KEY,
    )))
    .await
    .unwrap();
    let mut got = next_json(&mut ws).await;
    while got["type"] == "ka" {
        got = next_json(&mut ws).await;
    }
    assert_eq!(got, json!({"type": "start_ack", "id": "s1"}));
    ws.send(Message::text(start(
        "s2",
        "subscription { onCreatePerson { id } }",
        "bad-key",
    )))
    .await
    .unwrap();
    let mut got = next_json(&mut ws).await;
    while got["type"] == "ka" {
        got = next_json(&mut ws).await;
    }
    assert_eq!(got["type"], "error");
    assert_eq!(
        got["payload"]["errors"][0]["errorType"],
        "UnauthorizedException"
    );

    gql(
        &m,
        Some(DEFAULT_API_KEY),
        CREATE,
        json!({"input": {"id": "p9", "firstName": "Live", "lastName": "L", "clientId": "c"}}),
    )
    .await;
    let mut got = next_json(&mut ws).await;
    while got["type"] == "ka" {
        got = next_json(&mut ws).await;
    }
    assert_eq!(
        got,
        json!({"type": "data", "id": "s1", "payload": {"data": {"onCreatePerson": {"id": "p9", "firstName": "Live"}}}})
    );
    ws.send(Message::text(
        json!({"type": "stop", "id": "s1"}).to_string(),
    ))
    .await
    .unwrap();
    let mut got = next_json(&mut ws).await;
    while got["type"] == "ka" {
        got = next_json(&mut ws).await;
    }
    assert_eq!(got, json!({"type": "complete", "id": "s1"}));
    // Keep-alives keep coming.
    assert_eq!(next_json(&mut ws).await, json!({"type": "ka"}));
}

#[tokio::test]
async fn realtime_refuses_a_bad_key_at_connect_in_either_form() {
    let m = start().await;
    for auth in [
        RealtimeAuth::Query,
        RealtimeAuth::Subprotocol,
        RealtimeAuth::PaddedSubprotocol,
    ] {
        let mut ws = realtime_with(&m, "wrong", auth).await;
        let got = next_json(&mut ws).await;
        assert_eq!(got["type"], "connection_error");
        assert_eq!(
            got["payload"]["errors"][0]["errorType"],
            "UnauthorizedException"
        );
    }
}

#[tokio::test]
async fn realtime_accepts_the_key_in_either_form() {
    let m = start().await;
    for auth in [
        RealtimeAuth::Query,
        RealtimeAuth::Subprotocol,
        RealtimeAuth::PaddedSubprotocol,
    ] {
        let mut ws = realtime_with(&m, DEFAULT_API_KEY, auth).await;
        ws.send(Message::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await
        .unwrap();
        assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    }
    // A subprotocol that is not base64url JSON is no authorization at all.
    let mut req = format!("ws://{}/graphql/realtime", m.addr())
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-ws, header-!!".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connection_error");
}

#[tokio::test]
async fn health_and_outbox_argument_errors() {
    let m = start().await;
    let v: Value = reqwest::get(format!("{}/health", m.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok");
    let r = reqwest::get(format!("{}/mock/pushes", m.base_url()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = reqwest::get(format!(
        "{}/mock/pushes?deviceToken=x&waitMs=soon",
        m.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

fn decode_jwt(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn v3_gateway_speaks_json_rpc_as_bandwidths_clients_do() {
    let m = start().await;
    let a = register(&m, "GCM", "a").await;
    let b = register(&m, "GCM", "b").await;
    let (_, v) = api(
        &m,
        json!({"action": "initiateCall", "callerId": a, "calleeId": b}),
    )
    .await;
    let token = v["token"].as_str().unwrap().to_string();

    // A bad token is refused at the HTTP upgrade with a JSON reason.
    let refused = tokio_tungstenite::connect_async(format!(
        "ws://{}/v3/?token=nope&client=browser",
        m.addr()
    ))
    .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 401);
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
            assert!(body["error"].as_str().unwrap().contains("well-formed"));
        }
        other => panic!("expected a 401, got {other:?}"),
    }

    let url = format!(
        "ws://{}/v3/?token={token}&client=browser&sdkVersion=0.12.0&uniqueId=u1",
        m.addr()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // rpc-websockets: numeric ids, `call` with params, `notify` without an id.
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"setMediaPreferences","params":{"protocol":"WEBRTC"},"id":1}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws).await,
        json!({"jsonrpc": "2.0", "id": 1, "result": {}})
    );
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"ping","params":{},"id":2}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws).await,
        json!({"jsonrpc": "2.0", "id": 2, "result": {}})
    );
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"frobnicate","params":{},"id":3}"#,
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["error"]["code"], -32601);
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"offerSdp","params":{"sdpOffer":"not sdp"},"id":4}"#,
    ))
    .await
    .unwrap();
    let bad = next_json(&mut ws).await;
    assert_eq!(bad["id"], 4);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sdpOffer"),
        "{bad}"
    );
    ws.send(Message::text("{oops")).await.unwrap();
    assert_eq!(next_json(&mut ws).await["error"]["code"], -32700);
    assert_eq!(m.media_counts(), (1, 1));
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"deviceDiagnostics","params":{}}"#,
    ))
    .await
    .unwrap();
    ws.send(Message::text(r#"{"jsonrpc":"2.0","method":"leave"}"#))
        .await
        .unwrap();
    for _ in 0..100 {
        if m.media_counts() == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(m.media_counts(), (0, 0), "leave tears the participant down");
}
