//! Bandwidth's own client against the mock: `@bandwidth/webrtc-browser` (0.12.0-beta.1, whose
//! v3 code speaks to the gateway through rpc-websockets) runs in headless Chromium and takes
//! a call from the Dialtone core through dialtone-mock's gateway and SFU. The browser sends
//! 660 Hz and must hear the core's 440 Hz; the core must hear 660 Hz; the browser's heartbeat
//! PONGs must reach the mock; hangup must tear the session down.
//!
//! Needs Chromium and the SDK bundle, so it is ignored in a plain `cargo test`;
//! `scripts/test-browser.sh` (part of `scripts/test`) prepares both and runs it inside a
//! network namespace that has nothing but loopback, so no WebRTC packet can reach another
//! address whatever the browser gathers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone::{AudioSource, BackendConfig, DialtoneClient, PushKind, PushToken};
use dialtone_mock::{MockConfig, Profile};
use serde_json::{json, Value};

mod common;
use common::eventually;

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url claims");
    serde_json::from_slice(&raw).expect("JSON claims")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and the Bandwidth SDK bundle: run by scripts/test-browser.sh"]
async fn bandwidths_browser_sdk_takes_a_call_through_the_mock() {
    let bundle = std::env::var("DIALTONE_BW_BUNDLE").expect("DIALTONE_BW_BUNDLE: the SDK bundle");
    if std::env::var_os("DIALTONE_DEBUG").is_some() {
        dialtone::init_logging(dialtone::LogLevel::Debug, None);
    }
    let m = common::start_mock(MockConfig {
        profile: Profile::Seed,
        heartbeat_interval: Duration::from_millis(300),
        ..MockConfig::default()
    })
    .await;

    // Bob is the browser: registered over REST, as the seed's web sample does.
    let reply = common::api(
        &m,
        json!({"action": "register", "notifyType": "GCM", "deviceToken": "browser-bob"}),
    )
    .await;
    let bob_id = reply["id"].as_str().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let alice = DialtoneClient::new(
        BackendConfig::mock(m.base_url(), None).unwrap(),
        dir.path().join("alice").display().to_string(),
    )
    .unwrap();
    alice
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "alice-fcm".into(),
        })
        .await
        .unwrap();
    alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 440.0,
    });
    alice.start_call(bob_id, None).await.unwrap();
    let token = common::push_token(&m, "browser-bob").await;
    let c = claims(&token);
    let (session, participant) = (
        c["tid"].as_str().unwrap().to_string(),
        c["p"].as_str().unwrap().to_string(),
    );

    let page_dir = dir.path().join("page");
    std::fs::create_dir_all(&page_dir).unwrap();
    std::fs::copy(&bundle, page_dir.join("bw.js")).expect("copy the SDK bundle");
    std::fs::write(
        page_dir.join("index.html"),
        include_str!("interop/bandwidth.html"),
    )
    .unwrap();
    let url = format!(
        "file://{}/index.html#token={token}&ws=ws://{}",
        page_dir.display(),
        m.addr()
    );
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let _browser = common::chromium(&dir.path().join("profile"), &url, "INTEROP ", move |msg| {
        println!("browser: {msg}");
        sink.lock().unwrap().push(msg);
    });
    let said = |what: &str| lines.lock().unwrap().iter().any(|l| l.starts_with(what));
    let check_no_error = || {
        let errors = common::browser_errors(&lines);
        assert!(errors.is_empty(), "the browser reported: {errors:?}");
    };

    eventually("the SDK to connect and publish", 30, || {
        check_no_error();
        said("published")
    })
    .await;
    eventually("the core to hear the browser's 660 Hz", 30, || {
        alice.detected_remote_tone(vec![440.0, 660.0, 880.0]) == Some(660.0)
    })
    .await;
    eventually("the browser to hear the core's 440 Hz", 30, || {
        check_no_error();
        said("heard 440")
    })
    .await;
    eventually("the browser's heartbeat PONGs", 10, || {
        m.heartbeat_pongs(&session, &participant).unwrap_or(0) > 0
    })
    .await;

    alice.end_call().await.unwrap();
    eventually("the mock to tear the session down", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    check_no_error();
}

/// A REST action with a client's bearer secret (the extended profile).
async fn act(m: &dialtone_mock::MockServer, secret: &str, body: Value) -> Value {
    common::control(m)
        .post(format!("{}/api", m.base_url()))
        .header("Authorization", format!("Bearer {secret}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and the Bandwidth SDK bundle: run by scripts/test-browser.sh"]
async fn bandwidths_browser_sdk_sees_a_rooms_streams_come_and_go() {
    let bundle = std::env::var("DIALTONE_BW_BUNDLE").expect("DIALTONE_BW_BUNDLE: the SDK bundle");
    let m = common::start_mock(MockConfig {
        profile: Profile::Extended,
        heartbeat_interval: Duration::from_millis(300),
        ..MockConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let alice = DialtoneClient::new(
        BackendConfig::mock(m.base_url(), None).unwrap(),
        dir.path().join("alice").display().to_string(),
    )
    .unwrap();
    let alice_id = alice
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "room-alice".into(),
        })
        .await
        .unwrap();
    alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 440.0,
    });
    let room = alice.create_room().await.unwrap();
    let alice_conn = room
        .members()
        .into_iter()
        .find(|x| x.is_local)
        .unwrap()
        .participant_id;

    // Two browsers, each a client of its own that entered the room over REST, publishing
    // its tone under its clientId.
    let page_dir = dir.path().join("page");
    std::fs::create_dir_all(&page_dir).unwrap();
    std::fs::copy(&bundle, page_dir.join("bw.js")).expect("copy the SDK bundle");
    std::fs::write(
        page_dir.join("index.html"),
        include_str!("interop/bandwidth.html"),
    )
    .unwrap();
    let mut pages = Vec::new();
    for (i, tone) in [550.0f32, 660.0].into_iter().enumerate() {
        let reply = common::api(
            &m,
            json!({"action": "register", "notifyType": "GCM", "deviceToken": format!("room-page-{i}")}),
        )
        .await;
        let (id, secret) = (
            reply["id"].as_str().unwrap().to_string(),
            reply["clientSecret"].as_str().unwrap().to_string(),
        );
        let entered = act(
            &m,
            &secret,
            json!({"action": "enterRoom", "clientId": id, "roomID": room.id()}),
        )
        .await;
        let token = entered["token"].as_str().expect("a token").to_string();
        let url = format!(
            "file://{}/index.html#token={token}&ws=ws://{}&tone={tone}&hear=440&alias={id}",
            page_dir.display(),
            m.addr()
        );
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let browser = common::chromium(
            &dir.path().join(format!("profile-{i}")),
            &url,
            "INTEROP ",
            move |msg| {
                println!("browser {i}: {msg}");
                sink.lock().unwrap().push(msg);
            },
        );
        pages.push((id, lines, browser));
    }
    let said = |i: usize, what: &str| {
        pages[i]
            .1
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with(what))
    };
    for (i, page) in pages.iter().enumerate() {
        eventually(&format!("browser {i} to publish"), 30, || {
            let errors = common::browser_errors(&page.1);
            assert!(errors.is_empty(), "browser {i} reported: {errors:?}");
            said(i, "published")
        })
        .await;
    }
    // Each browser is offered the core's stream, named by its participant and alias, and
    // the other browser's; and hears the core.
    for i in 0..2 {
        eventually(
            &format!("browser {i} to be offered the core's stream"),
            30,
            || {
                pages[i].1.lock().unwrap().iter().any(|l| {
                    l.starts_with("stream-available")
                        && l.contains(&alice_conn)
                        && l.contains(&alice_id)
                })
            },
        )
        .await;
        let other = &pages[1 - i].0;
        eventually(
            &format!("browser {i} to be offered the other browser's stream"),
            30,
            || {
                pages[i]
                    .1
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|l| l.starts_with("stream-available") && l.ends_with(other.as_str()))
            },
        )
        .await;
        eventually(
            &format!("browser {i} to hear the core's 440 Hz"),
            30,
            || said(i, "heard 440"),
        )
        .await;
    }
    eventually("the core to hear both browsers", 30, || {
        alice.heard_remote_tones(vec![440.0, 550.0, 660.0]) == [550.0, 660.0]
    })
    .await;
    eventually("the core to list both browsers as members", 10, || {
        room.members().len() == 3
    })
    .await;
    // The core leaves: each browser is told its stream is gone (a new revision).
    room.leave().await.unwrap();
    for (i, page) in pages.iter().enumerate() {
        eventually(
            &format!("browser {i} to see the core's stream go"),
            30,
            || said(i, "stream-unavailable"),
        )
        .await;
        let errors = common::browser_errors(&page.1);
        assert!(errors.is_empty(), "browser {i} reported: {errors:?}");
    }
}
