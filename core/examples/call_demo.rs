//! The README's first command (`./scripts/demo`): a real call between two simulated phones
//! through the embedded mock.
//!
//! Starts the mock in-process on a free loopback port, makes Alice (Android, FCM) and Bob
//! (iOS, PushKit), registers both, saves their profiles, syncs, has Alice call Bob, fetches
//! Bob's push from the outbox as the OS would deliver it, joins Bob to the media session
//! with the token from that push, and lets them talk: Alice's core sends a 440 Hz tone and
//! Bob's an 880 Hz one, each side's detector reports what it hears. Then both hang up.
//! A timeline in milliseconds is printed throughout.

use std::time::Instant;

use dialtone::{AudioSource, BackendConfig, DialtoneClient, LogLevel, PushKind, PushToken};
use dialtone_mock::{MockConfig, MockServer};

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

    let mock = MockServer::start("127.0.0.1:0".parse()?, MockConfig::default()).await?;
    t.step(&format!("mock backend listening on {}", mock.base_url()));

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
    let call = alice.start_call(bob_id.clone()).await?;
    t.step(&format!(
        "Alice called Bob (initiateCall) and joined session {} (v3 signaling, WebRTC publish)",
        call.session_id.as_deref().unwrap_or("?")
    ));

    let url = format!(
        "{}/mock/pushes?deviceToken=demo-voip-token-bob&waitMs=5000",
        mock.base_url()
    );
    let outbox: serde_json::Value = reqwest::get(url).await?.json().await?;
    t.step("Bob's VoIP push fetched from the outbox, as PushKit would hand it over:");
    let shown = serde_json::to_string_pretty(&outbox["pushes"][0]["payload"])?;
    for line in dialtone::logging::redact(&shown).lines() {
        println!("              {line}");
    }

    let tok = outbox["pushes"][0]["payload"]["data"]["pinpoint"]["deeplink"]
        .as_str()
        .and_then(|l| l.split("tok=").nth(1))
        .ok_or("Bob's push carries no token")?
        .to_string();
    bob.join_call(tok).await?;
    t.step("Bob answered: joined the media session with the token from his push");

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

    alice.end_call().await?;
    t.step("Alice hung up (leave, then endCall)");
    bob.end_call().await?;
    t.step("Bob hung up (leave, then endCall)");

    drop(alice);
    drop(bob);
    mock.shutdown().await;
    t.step("done");
    Ok(())
}
