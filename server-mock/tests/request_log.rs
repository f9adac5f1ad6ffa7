//! The mock's request log, from the binary as a developer runs it: every request, REST
//! action and recorded push reaches stderr (`RUST_LOG`, `info` by default), and no secret
//! does — not the push token, not the client secret, not a participant token, not the key.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_actions_and_pushes_are_logged_without_secrets() {
    // The process's TLS provider, named once (rustls finds none by itself with two built).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialtone-mock"))
        .args(["--listen", "127.0.0.1:0", "--exit-on-stdin-eof"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mock binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("dialtone-mock listening on ")
        .expect("the first line names the address")
        .to_string();
    let mut key_line = String::new();
    stdout.read_line(&mut key_line).unwrap();
    let api_key = key_line.trim().rsplit(' ').next().unwrap().to_string();

    let http = reqwest::Client::new();
    let api = format!("{base}/api");
    let register = |token: &'static str| {
        let http = http.clone();
        let api = api.clone();
        async move {
            let v: Value = http
                .post(&api)
                .json(&json!({"action": "register", "notifyType": "APNS", "deviceToken": token}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let alice = register("alice-device-token-SECRET1").await;
    let bob = register("bob-device-token-SECRET2").await;
    let secret = alice["clientSecret"].as_str().unwrap().to_string();
    let placed: Value = http
        .post(&api)
        .bearer_auth(&secret)
        .json(&json!({"action": "initiateCall", "callerId": alice["id"], "calleeId": bob["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let participant_token = placed["token"].as_str().unwrap().to_string();
    // A gateway connect carries the token in its query: the log shows the path only.
    let _ = http
        .get(format!("{base}/v3/?token={participant_token}"))
        .send()
        .await;

    // The event channel: opened with the client secret, then closed by the client.
    {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let ws_url = format!(
            "{}/ws?clientId={}",
            base.replacen("http", "ws", 1),
            alice["id"].as_str().unwrap()
        );
        let mut request = ws_url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {secret}").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let _ = ws.close(None).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    drop(child.stdin.take()); // the mock exits when its stdin closes
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let _ = child.wait();

    assert!(log.contains("POST /api 200"), "{log}");
    assert!(log.contains("action register"), "{log}");
    assert!(
        log.contains(&format!(
            "action initiateCall clientId {}",
            alice["id"].as_str().unwrap()
        )),
        "{log}"
    );
    assert!(log.contains("push recorded: APNS"), "{log}");
    assert!(log.contains("GET /v3/"), "{log}");
    assert!(
        log.contains(&format!(
            "event channel open: clientId {}",
            alice["id"].as_str().unwrap()
        )),
        "{log}"
    );
    assert!(log.contains("event channel closed: clientId"), "{log}");
    for secret in [
        "alice-device-token-SECRET1",
        "bob-device-token-SECRET2",
        secret.as_str(),
        participant_token.as_str(),
        api_key.as_str(),
    ] {
        assert!(
            !log.contains(secret),
            "a secret reached the log: {secret}\n{log}"
        );
    }
}
