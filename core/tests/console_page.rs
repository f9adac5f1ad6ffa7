//! The mock's console (`GET /` on dialtone-mock) in headless Chromium while two Dialtone
//! phones call each other: the page loads with no console errors, lists both devices, shows
//! the call live with its time line and media participants, then how it ended; a screenshot
//! taken during the call is kept as a test artefact (target/test-artifacts/).
//! Ignored by plain `cargo test`: scripts/test-browser.sh runs it in a loopback-only
//! network namespace.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::devtools::DevTools;
use dialtone_mock::Profile;
use serde_json::Value;

/// Waits until `expression` is true in the page, checking the browser's console as it goes.
async fn page_until(dt: &mut DevTools, errors: &Mutex<Vec<String>>, what: &str, expression: &str) {
    for _ in 0..100 {
        let found = errors.lock().unwrap().clone();
        assert!(found.is_empty(), "the console page logged: {found:?}");
        if dt.eval(expression).await == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = dt.eval("document.querySelector('main')?.innerText").await;
    panic!(
        "the console never showed {what}; it shows:\n{}",
        text.as_str().unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Chromium in a loopback-only namespace: scripts/test-browser.sh"]
async fn the_console_shows_the_devices_a_live_call_and_how_it_ended() {
    // What the mock logs feeds the page's log, as in the dialtone-mock binary.
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("dialtone_mock", tracing::Level::INFO),
            )
            .with(dialtone_mock::console::log::ConsoleLayer)
            .try_init();
    }
    let m = common::mock_on(Profile::Extended).await;
    let call = common::connected_call(&m).await;
    let alice_id = call.alice.client_id().unwrap().unwrap();
    let bob_id = call.bob.client_id().unwrap().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let origin = m.base_url();
    // Any console message from the page is a failure: the console itself never logs.
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    let page_origin = origin.clone();
    let _browser = common::chromium_with(
        &profile,
        &format!("{origin}/"),
        &["--remote-debugging-port=0", "--window-size=1400,1100"],
        move |line| {
            if line.contains(":CONSOLE") && line.contains(&page_origin) {
                sink.lock().unwrap().push(line);
            }
        },
    );
    let mut dt = DevTools::attach(&profile).await;

    page_until(
        &mut dt,
        &errors,
        "the live stream",
        "document.getElementById('connection')?.textContent === 'live'",
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "both devices",
        &format!(
            "[...document.querySelectorAll('#devices tbody tr')].map(r => r.innerText).join('\\n').includes('{alice_id}') && \
             [...document.querySelectorAll('#devices tbody tr')].map(r => r.innerText).join('\\n').includes('{bob_id}')"
        ),
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "the answered call with its time line and two media participants",
        "document.querySelector('#calls .call .state')?.textContent === 'answered' && \
         document.querySelector('#calls .call ol')?.innerText.includes('answerCall by') && \
         document.querySelectorAll('#media .participant').length === 2",
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "the push sent to Bob",
        "document.querySelectorAll('#pushes .push').length >= 1",
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "live media charts (kbit/s from each participant)",
        "[...document.querySelectorAll('#media [data-chart=fromKbps] .value')].filter(v => parseFloat(v.textContent) > 8).length === 2",
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "five seconds of media figures",
        "[...document.querySelectorAll('#media [data-chart=fromKbps] polyline')].every(l => l.getAttribute('points').split(' ').length >= 5)",
    )
    .await;
    // The link conditioner, from the page: Bob's link set to `moderate`.
    let media: Value = reqwest::get(format!("{origin}/mock/media"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = media[0]["participantId"].as_str().unwrap().to_string();
    dt.eval(&format!(
        "(() => {{ const s = document.querySelector('[data-participant=\"{first}\"] select');          s.value = 'moderate'; s.dispatchEvent(new Event('change')); return true; }})()"
    ))
    .await;
    let mut set = false;
    for _ in 0..25 {
        let link: Value = reqwest::get(format!("{origin}/mock/link"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if link["participants"][&first]["up"]["profile"] == "moderate" {
            set = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(set, "the page did not set the link");
    page_until(
        &mut dt,
        &errors,
        "the new link on the participant's card",
        &format!("document.querySelector('[data-participant=\"{first}\"] .head')?.innerText.includes('link up moderate, down moderate')"),
    )
    .await;
    let artefact = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-artifacts/console-during-call.png");
    dt.screenshot(&artefact).await;
    assert!(
        std::fs::metadata(&artefact).unwrap().len() > 10_000,
        "a blank screenshot"
    );
    println!("screenshot: {}", artefact.display());

    // Nothing secret on the page: no device token, client secret or participant token.
    let page_text = dt.eval("document.documentElement.outerHTML").await;
    let page_text = page_text.as_str().unwrap();
    for secret in ["alice-fcm", "bob-fcm"] {
        assert!(
            !page_text.contains(secret),
            "the page shows the device token {secret}"
        );
    }
    assert!(!page_text.contains("eyJ"), "the page shows a JWT");

    call.alice.end_call().await.unwrap();
    page_until(
        &mut dt,
        &errors,
        "how the call ended",
        &format!(
            "document.querySelector('#calls .call .state')?.textContent === 'ended' && \
             document.querySelector('#calls .call .end-reason')?.textContent.includes('ended by {alice_id}')"
        ),
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "the media gone",
        "document.querySelector('#media .empty') !== null",
    )
    .await;
}
