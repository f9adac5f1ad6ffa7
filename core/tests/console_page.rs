//! The mock's console (`GET /` on dialtone-mock) in headless Chromium. While two Dialtone
//! phones call each other: the page loads with no console errors, lists both devices, shows
//! the call live with its time line, media charts and participants, sets a link, then shows
//! how it ended. And its browser phone (the page's own v3 signaling and WebRTC, Chromium's
//! fake microphone playing 660 Hz) calling a Dialtone phone (440 Hz) and called back by it:
//! a tone each way, mute, hang-up from either side. Screenshots taken during the calls are
//! kept as test artefacts (target/test-artifacts/).
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

/// The console of the mock at `origin` in headless Chromium (with `extra` flags), attached
/// over DevTools; every console message the page logs is collected as an error (the console
/// itself never logs).
async fn open_console(
    origin: &str,
    profile: &std::path::Path,
    extra: &[&str],
) -> (common::Browser, DevTools, Arc<Mutex<Vec<String>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    let page_origin = origin.to_string();
    let mut flags = vec!["--remote-debugging-port=0", "--window-size=1400,1100"];
    flags.extend_from_slice(extra);
    let browser = common::chromium_with(profile, &format!("{origin}/"), &flags, move |line| {
        if line.contains(":CONSOLE") && line.contains(&page_origin) {
            sink.lock().unwrap().push(line);
        }
    });
    let dt = DevTools::attach(profile).await;
    (browser, dt, errors)
}

/// What the mock logs feeds the page's log, as in the dialtone-mock binary (once per
/// process; both tests' mocks write to it, and a failure prints the page with its log).
fn console_log() {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Chromium in a loopback-only namespace: scripts/test-browser.sh"]
async fn the_console_shows_the_devices_a_live_call_and_how_it_ended() {
    console_log();
    let m = common::mock_on(Profile::Extended).await;
    let call = common::connected_call(&m).await;
    let alice_id = call.alice.client_id().unwrap().unwrap();
    let bob_id = call.bob.client_id().unwrap().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let origin = m.base_url();
    let (_browser, mut dt, errors) = open_console(&origin, &profile, &[]).await;

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
    page_until(
        &mut dt,
        &errors,
        "the packet counts",
        "[...document.querySelectorAll('#media .packets')].every(p => /packets from it [1-9]\\d* \\(lost \\d+\\), to it [1-9]/.test(p.textContent))",
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

/// A mono 16-bit WAV of a `hz` sine, for Chromium's fake microphone (it loops the file).
fn tone_wav(path: &std::path::Path, hz: f32) {
    let rate = 48_000u32;
    let samples: Vec<i16> = (0..rate)
        .map(|i| ((i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 12_000.0) as i16)
        .collect();
    common::write_wav(path, rate, &samples);
}

/// Clicks a button of the page by id, once it is enabled (a disabled button ignores the
/// click, which would make the test wait for something that never comes).
async fn click(dt: &mut DevTools, id: &str) {
    let expression = format!(
        "(b => b && !b.disabled ? (b.click(), true) : false)(document.getElementById('{id}'))"
    );
    for _ in 0..50 {
        if dt.eval(&expression).await == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the button {id} was never there and enabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Chromium in a loopback-only namespace: scripts/test-browser.sh"]
async fn the_browser_phone_calls_a_dialtone_phone_and_is_called_back_with_a_tone_each_way() {
    console_log();
    let m = common::mock_on(Profile::Extended).await;
    let dirs = tempfile::tempdir().unwrap();
    let dana = common::phone(&m, &dirs);
    let dana_id = dana
        .register(dialtone::PushToken {
            kind: dialtone::PushKind::Fcm,
            token: "dana-fcm".into(),
        })
        .await
        .unwrap();
    dana.save_profile("Dana".into(), "D".into()).await.unwrap();
    dana.set_audio_source(dialtone::AudioSource::Tone {
        frequency_hz: 440.0,
    });
    let dana_events = Arc::new(common::Events::default());
    let _handle = dana.observe_call(dana_events.clone()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("660.wav");
    tone_wav(&wav, 660.0);
    let profile = dir.path().join("profile");
    let origin = m.base_url();
    let fake_mic = format!("--use-file-for-fake-audio-capture={}", wav.display());
    let (_browser, mut dt, errors) = open_console(
        &origin,
        &profile,
        &[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            &fake_mic,
        ],
    )
    .await;
    page_until(
        &mut dt,
        &errors,
        "the page with its scripts run",
        // The button is parsed before phone.js (at the end of the body) attaches its
        // handler: a click in between is lost, so wait for the script's own state.
        "document.readyState === 'complete' && window.dialtonePhone?.status === 'not registered'",
    )
    .await;
    dt.eval("document.getElementById('phone-name').value = 'Web Ada', true")
        .await;
    click(&mut dt, "phone-register").await;
    page_until(
        &mut dt,
        &errors,
        "the phone registered",
        "window.dialtonePhone?.status === 'ready'",
    )
    .await;
    let web_id = dt
        .eval("window.dialtonePhone.clientId")
        .await
        .as_str()
        .unwrap()
        .to_string();
    page_until(
        &mut dt,
        &errors,
        "Dana in the callee menu",
        &format!("[...document.getElementById('phone-callee').options].some(o => o.value === '{dana_id}')"),
    )
    .await;
    // Its Person is a Person like any other: Dana's sync lists it.
    let persons = dana.sync_persons().await.unwrap();
    assert!(
        persons
            .iter()
            .any(|p| p.client_id == web_id && p.first_name == "Web"),
        "{persons:?}"
    );

    // 1. The browser calls Dana; Dana answers her push.
    dt.eval(&format!(
        "document.getElementById('phone-callee').value = '{dana_id}', true"
    ))
    .await;
    click(&mut dt, "phone-call").await;
    common::answer_next_push(&m, &dana, "dana-fcm").await;
    common::eventually("Dana to hear the browser's 660 Hz", 30, || {
        dana.detected_remote_tone(vec![440.0, 660.0, 880.0]) == Some(660.0)
    })
    .await;
    page_until(
        &mut dt,
        &errors,
        "the browser to hear Dana's 440 Hz",
        "Math.abs((window.dialtonePhone.remoteToneHz ?? 0) - 440) < 30 && window.dialtonePhone.status === 'in call'",
    )
    .await;
    let artefact = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-artifacts/console-browser-phone-call.png");
    dt.screenshot(&artefact).await;
    println!("screenshot: {}", artefact.display());
    // Mute: Dana stops hearing the browser.
    click(&mut dt, "phone-mute").await;
    common::eventually("Dana to hear silence from the muted browser", 10, || {
        dana.detected_remote_tone(vec![440.0, 660.0, 880.0])
            .is_none()
    })
    .await;
    click(&mut dt, "phone-mute").await;
    click(&mut dt, "phone-hangup").await;
    common::eventually("Dana's call to end", 10, || {
        dana_events.saw(common::state_is_ended)
    })
    .await;
    let state: Value = reqwest::get(format!("{origin}/mock/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["calls"][0]["endReason"], format!("ended by {web_id}"));

    // 2. Dana calls the browser back; it rings on /ws, the browser answers, Dana hangs up.
    common::eventually("the media of the first call to go", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    dana.start_call(web_id.clone(), None).await.unwrap();
    page_until(
        &mut dt,
        &errors,
        "the incoming call",
        "window.dialtonePhone.status.startsWith('incoming call from Dana')",
    )
    .await;
    click(&mut dt, "phone-answer").await;
    page_until(
        &mut dt,
        &errors,
        "the browser to hear Dana's 440 Hz on the second call",
        "Math.abs((window.dialtonePhone.remoteToneHz ?? 0) - 440) < 30 && window.dialtonePhone.status === 'in call'",
    )
    .await;
    common::eventually("Dana to hear the browser on the second call", 30, || {
        dana.detected_remote_tone(vec![440.0, 660.0, 880.0]) == Some(660.0)
    })
    .await;
    dana.end_call().await.unwrap();
    page_until(
        &mut dt,
        &errors,
        "the browser to hear the call ended",
        "window.dialtonePhone.status.includes('ended by the other side') && window.dialtonePhone.call === null",
    )
    .await;

    // 3. Dana calls again; the browser declines: Dana's call ends Declined.
    common::eventually("the media of the second call to go", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
    let third = dana.start_call(web_id.clone(), None).await.unwrap();
    page_until(
        &mut dt,
        &errors,
        "the third call ringing",
        "window.dialtonePhone.status.startsWith('incoming call from Dana')",
    )
    .await;
    click(&mut dt, "phone-decline").await;
    common::eventually("Dana's third call to end Declined", 10, || {
        dana_events.saw(common::call_ended(
            &third.id(),
            dialtone::CallEndReason::Declined,
        ))
    })
    .await;
}
