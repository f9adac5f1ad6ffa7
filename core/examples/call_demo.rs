//! The README's first command (`./scripts/demo`): a real call between two simulated phones
//! through the embedded mock.
//!
//! Starts the mock in-process on a free loopback port (its default, extended profile; pass
//! `seed` as the first argument for exactly the real backend's behaviour), makes Alice
//! (Android, FCM) and Bob (iOS, PushKit), registers both, saves their profiles, syncs, has
//! Alice call Bob, fetches Bob's VoIP push from the outbox as PushKit would deliver it, hands
//! it to `handle_push` (the invite CallKit would show), answers, and lets them talk: Alice's
//! core sends a 440 Hz tone and Bob's an 880 Hz one, each side's detector reports what it
//! hears. Then Bob hangs up and Alice hears the call end. A timeline in ms is printed.

use std::time::Instant;

use std::sync::{Arc, Mutex};

use dialtone::{
    AudioSource, BackendConfig, CallEvent, CallListener, CallState, DialtoneClient, LogLevel,
    PushKind, PushOutcome, PushToken,
};
use dialtone_mock::{MockConfig, Profile};

#[path = "../tests/common/mod.rs"]
mod common;

/// Keeps the call events a phone reports, for the timeline.
#[derive(Default)]
struct Heard(Mutex<Vec<CallEvent>>);

impl CallListener for Heard {
    fn on_call_event(&self, event: CallEvent) {
        self.0.lock().unwrap().push(event);
    }
}

struct Timeline {
    start: Instant,
    last: Instant,
}

impl Timeline {
    fn step(&mut self, what: &str) {
        let now = Instant::now();
        println!(
            "{:>8.1} ms  (+{:>6.1} ms)  {what}",
            (now - self.start).as_secs_f64() * 1e3,
            (now - self.last).as_secs_f64() * 1e3
        );
        self.last = now;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    dialtone::init_logging(LogLevel::Warn, None);
    let now = Instant::now();
    let mut t = Timeline {
        start: now,
        last: now,
    };

    let profile = match std::env::args().nth(1).as_deref() {
        Some("seed") => Profile::Seed,
        None | Some("extended") => Profile::Extended,
        Some(other) => return Err(format!("unknown profile {other:?}: seed or extended").into()),
    };
    let config = MockConfig {
        profile,
        ..MockConfig::default()
    };
    let mock = common::start_mock(config).await;
    t.step(&format!(
        "mock backend ({profile:?} profile) listening on {}",
        mock.base_url()
    ));

    let dir = tempfile::tempdir()?;
    let phone = |name: &str| -> Result<std::sync::Arc<DialtoneClient>, dialtone::DialtoneError> {
        let data_dir = dir.path().join(name);
        DialtoneClient::new(
            BackendConfig::mock(mock.base_url(), None)?,
            data_dir.display().to_string(),
        )
    };
    let alice = phone("alice")?;
    let bob = phone("bob")?;
    t.step("two phones created: Alice (Android, FCM) and Bob (iOS, PushKit)");

    let alice_id = alice
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "demo-fcm-token-alice".into(),
        })
        .await?;
    t.step(&format!("Alice registered, clientId {alice_id}"));
    let bob_id = bob
        .register(PushToken {
            kind: PushKind::ApnsVoip,
            token: "demo-voip-token-bob".into(),
        })
        .await?;
    t.step(&format!("Bob registered, clientId {bob_id}"));

    alice.save_profile("Alice".into(), "Archer".into()).await?;
    bob.save_profile("Bob".into(), "Baker".into()).await?;
    t.step("profiles saved (AppSync createPerson)");

    let seen_by_alice = alice.sync_persons().await?;
    bob.sync_persons().await?;
    t.step("both synced their Person lists (syncPeople), live updates on");
    for p in &seen_by_alice {
        println!(
            "              Alice sees: {} {}{}",
            p.first_name,
            p.last_name,
            if p.is_self { " (me)" } else { "" }
        );
    }

    alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 440.0,
    });
    bob.set_audio_source(AudioSource::Tone {
        frequency_hz: 880.0,
    });
    let alice_heard = Arc::new(Heard::default());
    let call = alice.start_call(bob_id.clone(), None).await?;
    let _alice_events = call.observe(alice_heard.clone())?;
    let placed = call
        .outgoing()
        .ok_or("a placed call has what initiateCall returned")?;
    t.step(&format!(
        "Alice called Bob (initiateCall{}) and joined session {} (v3 signaling, WebRTC publish): {:?}",
        placed
            .call_id
            .as_deref()
            .map(|c| format!(", callId {c}"))
            .unwrap_or_default(),
        placed.session_id.as_deref().unwrap_or("?"),
        call.state()
    ));

    let url = format!(
        "{}/mock/pushes?deviceToken=demo-voip-token-bob&waitMs=5000",
        mock.base_url()
    );
    let outbox: serde_json::Value = reqwest::get(url).await?.json().await?;
    t.step("Bob's VoIP push fetched from the outbox, as PushKit would hand it over:");
    let shown = serde_json::to_string_pretty(&outbox["pushes"][0]["payload"])?;
    for line in dialtone::testing::redact(&shown).lines() {
        println!("              {line}");
    }

    let payload = outbox["pushes"][0]["payload"].to_string();
    // What the app does inside PushKit's callback: no network, an answer in microseconds.
    let call_id = match bob.handle_push(payload)? {
        PushOutcome::Invite { invite } => {
            t.step(&format!(
                "Bob's push → invite for CallKit: {} ({})",
                invite.caller_name.as_deref().unwrap_or("?"),
                invite.call_id
            ));
            invite.call_id
        }
        // The extended backend's event channel may have announced the call first.
        PushOutcome::Ignored {
            reason,
            call_id: Some(id),
        } => {
            t.step(&format!(
                "Bob's push → {reason:?}: the event channel announced call {id} first"
            ));
            id
        }
        other => return Err(format!("Bob's push gave no invite: {other:?}").into()),
    };
    let bobs_call = bob.call(call_id).ok_or("Bob's invite is a call")?;
    bobs_call.answer().await?;
    t.step(&format!(
        "Bob answered: joined the media session ({})",
        if profile == Profile::Seed {
            "token from his push"
        } else {
            "token from answerCall"
        }
    ));

    let tones = vec![440.0, 880.0];
    let (mut bob_hears, mut alice_hears) = (None, None);
    for _ in 0..500 {
        bob_hears = bob_hears.or(bob.detected_remote_tone(tones.clone()));
        alice_hears = alice_hears.or(alice.detected_remote_tone(tones.clone()));
        if bob_hears.is_some() && alice_hears.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    t.step("two-way audio established");
    let show = |f: Option<f32>| {
        f.map(|f| format!("{f:.0} Hz"))
            .unwrap_or_else(|| "nothing".into())
    };
    println!(
        "              Bob hears:   {} (Alice sends 440 Hz)",
        show(bob_hears)
    );
    println!(
        "              Alice hears: {} (Bob sends 880 Hz)",
        show(alice_hears)
    );
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    t.step("talked for a second");
    if bob_hears != Some(440.0) || alice_hears != Some(880.0) {
        return Err("the tones did not cross the call".into());
    }

    bobs_call.hangup().await?;
    t.step("Bob hung up (leave, then endCall)");
    for _ in 0..300 {
        if alice_heard.0.lock().unwrap().iter().any(is_end) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let alice_end = alice_heard
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|e| is_end(e))
        .cloned()
        .ok_or("Alice never heard the call end")?;
    t.step(&format!("Alice's call ended: {alice_end:?}"));

    drop(alice);
    drop(bob);
    mock.shutdown().await;
    t.step("done");
    Ok(())
}

fn is_end(e: &CallEvent) -> bool {
    matches!(
        e,
        CallEvent::StateChanged {
            state: CallState::Ended { .. },
            ..
        }
    )
}
