//! Two phones really talk: through the mock's v3 gateway and SFU, over loopback WebRTC,
//! Alice's core sends 440 Hz and Bob's detects it, Bob sends 880 Hz and Alice detects it;
//! mute silences; bad tokens are refused clearly; a dropped gateway ends the call cleanly.

use std::time::Duration;

use dialtone::{AudioSource, CallEndReason, CallEvent, CallState, DialtoneError};
use dialtone_mock::tokens::Claims;
use dialtone_mock::{MockConfig, MockServer, Profile};
mod common;
use common::{connected_call, connected_call_with, ended, eventually, phone, Events};

const TONES: [f32; 2] = [440.0, 880.0];

async fn mock() -> MockServer {
    common::start_mock(MockConfig {
        heartbeat_interval: Duration::from_millis(200),
        profile: Profile::Seed,
        ..MockConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_and_bob_hear_each_others_tones_and_mute_silences() {
    let m = mock().await;
    let c = connected_call(&m).await;
    eventually("Bob to hear 440 Hz", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    eventually("Alice to hear 880 Hz", 15, || {
        c.alice.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
    // The caller's call dials, rings, then connects; the callee's (answered with its
    // token) rings, connects; each state once, in order.
    assert_eq!(
        c.alice_events.states()[..3],
        [CallState::Dialing, CallState::Ringing, CallState::Connected]
    );
    assert_eq!(
        c.bob_events.states()[..3],
        [
            CallState::Ringing,
            CallState::Connecting,
            CallState::Connected
        ]
    );
    eventually("stats", 5, || {
        c.bob_events.saw(|e| {
            matches!(e, CallEvent::Stats {
                packets_received,
                bytes_received,
                bytes_sent,
                target_bitrate_bps,
                ..
            } if *packets_received > 0
                && *bytes_received > *packets_received * 3
                && *bytes_sent > 0
                && (12_000..=40_000).contains(target_bitrate_bps))
        })
    })
    .await;
    eventually("levels", 5, || {
        c.bob_events
            .saw(|e| matches!(e, CallEvent::AudioLevel { remote, .. } if *remote > 0.05))
    })
    .await;

    let bob_hears_alice_speaking = || {
        c.bob_events.last(|e| match e {
            CallEvent::Stats { streams, .. } => streams.first().map(|s| s.speaking),
            _ => None,
        })
    };
    eventually("Bob's stats to say Alice speaks", 5, || {
        bob_hears_alice_speaking() == Some(true)
    })
    .await;
    c.alice.set_muted(true);
    assert!(c.alice.is_muted());
    eventually("Bob to stop hearing Alice", 5, || {
        c.bob.detected_remote_tone(TONES.to_vec()).is_none()
    })
    .await;
    eventually("Bob's stats to say Alice is silent", 5, || {
        bob_hears_alice_speaking() == Some(false)
    })
    .await;
    // Bob still hears nothing new from a muted Alice, but Alice still hears Bob.
    assert_eq!(c.alice.detected_remote_tone(TONES.to_vec()), Some(880.0));
    // Muted, Alice's encoder hears silence; the SFU's answer asks for DTX (`usedtx=1`), so
    // she sends a DTX frame and then only Opus's comfort-noise updates (one per 400 ms)
    // instead of 50 packets a second, and Bob plays comfort noise, not loss.
    let bob_received = || {
        c.bob_events
            .last(|e| match e {
                CallEvent::Stats {
                    packets_received, ..
                } => Some(*packets_received),
                _ => None,
            })
            .unwrap_or(0)
    };
    let bob_lost = || {
        c.bob_events
            .last(|e| match e {
                CallEvent::Stats { packets_lost, .. } => Some(*packets_lost),
                _ => None,
            })
            .unwrap_or(0)
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (received, lost) = (bob_received(), bob_lost());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let in_silence = bob_received() - received;
    assert!(
        in_silence < 40,
        "{in_silence} packets in 3 s of silence (150 without DTX)"
    );
    assert_eq!(bob_lost(), lost, "a DTX pause is not loss");
    // With DTX turned off, silence goes out as a packet every 20 ms again.
    c.alice.set_dtx_enabled(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = bob_received();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let in_silence = bob_received() - received;
    assert!(in_silence > 80, "{in_silence} packets in 2 s without DTX");
    c.alice.set_dtx_enabled(true);
    c.alice.set_muted(false);
    eventually("Bob to hear Alice again", 5, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;

    // The gateway's heartbeat PINGs are answered, by each phone.
    let participants = m.with_state(|s| s.sessions[&c.session_id].participants.clone());
    assert_eq!(participants.len(), 2);
    for (_, p) in &participants {
        let pongs = m.heartbeat_pongs(&c.session_id, p).unwrap_or(0);
        assert!(pongs > 0, "participant {p} answered no heartbeat PING");
    }

    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
    eventually("the SFU to forget the session", 5, || {
        m.media_counts() == (0, 0)
    })
    .await;
    assert!(c.alice_events.saw(ended(CallEndReason::LocalHangup)));
}

/// The call owns its mute: muting call 1 silences it, and call 2 (same phones) starts
/// unmuted and is heard, on both profiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calls_mute_ends_with_it_and_the_next_call_is_heard() {
    for profile in [Profile::Seed, Profile::Extended] {
        let m = common::mock_on(profile).await;
        let c = connected_call(&m).await;
        common::hears(&c).await;
        c.alice_call.set_muted(true);
        assert!(c.alice_call.is_muted() && c.alice.is_muted());
        eventually("Bob to stop hearing Alice", 5, || {
            c.bob.detected_remote_tone(TONES.to_vec()).is_none()
        })
        .await;
        c.alice_call.hangup().await.unwrap();
        eventually("Bob's call to end", 15, || {
            c.bob_events.saw(common::state_is_ended)
        })
        .await;
        // Both legs released at the backend (Bob's endCall may still be on its way; the
        // seed's Lambda leaves an empty session id).
        eventually("the backend to free both phones", 15, || {
            m.with_state(|s| {
                s.devices
                    .values()
                    .all(|d| d.session_id.as_deref().is_none_or(str::is_empty))
            })
        })
        .await;
        assert!(c.alice_call.is_muted(), "the ended call keeps its mute");
        assert!(!c.alice.is_muted(), "no active call: nothing is muted");

        let bob_id = c.alice_call.outgoing().unwrap().callee_client_id;
        let second = c.alice.start_call(bob_id, None).await.unwrap();
        assert!(!second.is_muted(), "{profile:?}: a new call starts unmuted");
        common::answer_next_push(&m, &c.bob, "bob-fcm").await;
        eventually("Bob to hear Alice on the second call", 15, || {
            c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
        })
        .await;
        second.hangup().await.unwrap();
    }
}

/// One call receives two remote streams at once: Carol joins Alice and Bob's session with a
/// participant token of her own (the mock adds her, as an app server would with Bandwidth's
/// `addParticipantToSession`) and sends 660 Hz. Bob's call plays each stream through its own
/// pipeline and hears both tones, distinctly, in the mix, with figures per stream. When Carol
/// leaves, the SFU's next offer no longer sends her stream: Bob's call ends her voice and
/// keeps hearing Alice, alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_hears_two_remote_streams_apart_and_keeps_the_first_when_the_second_goes() {
    const THREE: [f32; 3] = [440.0, 660.0, 880.0];
    let m = mock().await;
    let c = connected_call(&m).await;
    eventually("Bob to hear Alice alone", 15, || {
        c.bob.heard_remote_tones(THREE.to_vec()) == [440.0]
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let carol = phone(&m, &dir);
    let carol_id = carol
        .register(dialtone::PushToken {
            kind: dialtone::PushKind::Fcm,
            token: "carol-fcm".into(),
        })
        .await
        .unwrap();
    carol.set_audio_source(AudioSource::Tone {
        frequency_hz: 660.0,
    });
    let token = m
        .add_participant(&c.session_id, &carol_id)
        .expect("the session is live");
    let carol_participant = dialtone::testing::parsers::participant_token(&token)
        .and_then(|c| c.p)
        .expect("a participant id in the token");
    let carol_call = carol.join_call(token).await.unwrap();
    eventually("Bob to hear Alice and Carol, both", 20, || {
        c.bob.heard_remote_tones(THREE.to_vec()) == [440.0, 660.0]
    })
    .await;
    let streams = |events: &Events| {
        events
            .last(|e| match e {
                CallEvent::Stats { streams, .. } => Some(streams.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    eventually(
        "Bob's stats to show two streams, each heard and speaking",
        5,
        || {
            let s = streams(&c.bob_events);
            s.len() == 2
                && s.iter()
                    .all(|s| s.packets_received > 25 && s.audio_level > 0.05 && s.speaking)
        },
    )
    .await;
    let both = streams(&c.bob_events);
    assert_ne!(both[0].stream_id, both[1].stream_id);
    // Each stream is named by the offer's streamMetadata: one is Carol's participant.
    assert!(both.iter().all(|s| s.participant_id.is_some()), "{both:?}");
    assert_ne!(both[0].participant_id, both[1].participant_id);
    assert!(
        both.iter()
            .any(|s| s.participant_id.as_deref() == Some(carol_participant.as_str())),
        "{both:?}"
    );
    // Alice hears Bob and Carol too.
    eventually("Alice to hear Bob and Carol", 15, || {
        c.alice.heard_remote_tones(THREE.to_vec()) == [660.0, 880.0]
    })
    .await;

    carol_call.hangup().await.unwrap();
    eventually("Bob to hear Alice alone again", 15, || {
        c.bob.heard_remote_tones(THREE.to_vec()) == [440.0]
    })
    .await;
    eventually("Bob's stats to show one stream", 5, || {
        streams(&c.bob_events).len() == 1
    })
    .await;
    // Still Alice's, and still playing; the call's totals keep Carol's packets.
    let mut left = streams(&c.bob_events);
    let alice_stream = left.pop().unwrap();
    assert!(both.iter().any(|s| s.stream_id == alice_stream.stream_id));
    assert_ne!(
        alice_stream.participant_id.as_deref(),
        Some(carol_participant.as_str()),
        "the stream left is not Carol's"
    );
    let received_before = alice_stream.packets_received;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now = streams(&c.bob_events);
    assert!(now[0].packets_received > received_before + 25, "{now:?}");
    let total = c
        .bob_events
        .last(|e| match e {
            CallEvent::Stats {
                packets_received, ..
            } => Some(*packets_received),
            _ => None,
        })
        .unwrap();
    assert!(
        total > now[0].packets_received + 25,
        "Carol's packets still count"
    );
    assert!(
        c.bob_events.states().last() == Some(&CallState::Connected),
        "a stream leaving is not a change of the call's state"
    );
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
    eventually("the SFU to forget the session", 5, || {
        m.media_counts() == (0, 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_expired_and_wrong_version_tokens_are_refused_clearly() {
    let m = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let c = phone(&m, &dir);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = |v: &str, exp: i64| Claims {
        a: "acct".into(),
        p: "p".into(),
        v: v.into(),
        exp,
        tid: "s".into(),
        iss: "mock:00".into(),
    };
    let cases = [
        ("not-a-jwt".to_string(), "well-formed"),
        (m.issue_token(&claims("v3", now - 10)), "expired"),
        (m.issue_token(&claims("v2", now + 600)), "v3"),
    ];
    for (token, expect) in cases {
        match tokio::time::timeout(Duration::from_secs(10), c.join_call(token))
            .await
            .expect("no hang")
        {
            Err(DialtoneError::TokenRefused { detail }) => {
                assert!(detail.contains(expect), "{detail}")
            }
            other => panic!("expected TokenRefused mentioning {expect}, got {other:?}"),
        }
    }
    // A valid signature for a session that does not exist is refused too.
    match c.join_call(m.issue_token(&claims("v3", now + 600))).await {
        Err(DialtoneError::TokenRefused { detail }) => {
            assert!(detail.contains("ended"), "{detail}")
        }
        other => panic!("expected TokenRefused, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_drops_the_socket_ends_the_call_with_a_clear_event() {
    let m = mock().await;
    let c = connected_call(&m).await;
    eventually("Bob to hear Alice", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    m.drop_media_session(&c.session_id).await;
    eventually("Alice to see the call end", 5, || {
        c.alice_events.saw(ended(CallEndReason::RemoteEnded))
    })
    .await;
    eventually("Bob to see the call end", 5, || {
        c.bob_events.saw(ended(CallEndReason::RemoteEnded))
    })
    .await;
    // Hanging up after the gateway is gone still completes.
    tokio::time::timeout(Duration::from_secs(5), c.alice.end_call())
        .await
        .expect("no hang")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_reoffer_keeps_the_audio_flowing() {
    let m = mock().await;
    let c = connected_call(&m).await;
    eventually("Bob to hear Alice", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    // Alice re-offers with new ICE credentials (what a failed publishing connection does).
    c.alice.network_changed().await.unwrap();
    c.alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 880.0,
    });
    eventually("Bob to hear Alice's new tone after the restart", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(880.0)
    })
    .await;
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}

/// Alice re-offers (an ICE restart, as on a network change) and changes her tone: Bob hears
/// the new one only if the re-offer went through the resumed signaling socket.
async fn reoffer_through_the_resumed_socket(c: &common::TwoPhoneCall) {
    c.alice.network_changed().await.unwrap();
    c.alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 880.0,
    });
    eventually(
        "Bob to hear Alice's new tone through the resumed session",
        15,
        || c.bob.detected_remote_tone(TONES.to_vec()) == Some(880.0),
    )
    .await;
}

/// Every state the phone's call went through, for the recovery tests.
fn reconnected(events: &Events) -> bool {
    let states = events.states();
    let at = states.iter().position(|s| *s == CallState::Reconnecting);
    at.is_some_and(|i| states[i..].contains(&CallState::Connected))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_signaling_socket_comes_back_and_the_audio_never_stops() {
    let m = mock().await;
    let c = connected_call(&m).await;
    eventually("Bob to hear Alice", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    // Both signaling sockets drop without a Close frame, as in a network outage. The
    // media path is untouched: audio keeps flowing while the sockets reconnect.
    m.cut_signaling();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            c.bob.detected_remote_tone(TONES.to_vec()),
            Some(440.0),
            "audio kept flowing"
        );
    }
    eventually(
        "Alice's call to show Reconnecting, then Connected",
        10,
        || reconnected(&c.alice_events),
    )
    .await;
    eventually(
        "Bob's call to show Reconnecting, then Connected",
        10,
        || reconnected(&c.bob_events),
    )
    .await;
    assert!(!c.alice_events.saw(|e| matches!(
        e,
        CallEvent::StateChanged {
            state: CallState::Ended { .. },
            ..
        }
    )));
    // The resumed socket works: a re-offer (ICE restart) goes through it.
    reoffer_through_the_resumed_socket(&c).await;
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
    eventually("the SFU to forget the session", 5, || {
        m.media_counts() == (0, 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_cannot_come_back_within_the_budget_ends_the_call_once_as_connection_lost() {
    let m = mock().await;
    let c = connected_call_with(&m, Some(2)).await;
    eventually("Bob to hear Alice", 15, || {
        c.bob.detected_remote_tone(TONES.to_vec()) == Some(440.0)
    })
    .await;
    // The gateway goes down (the sockets cut, every reconnect answered 503): with a 2 s
    // budget, each call ends soon after it, once, as connection lost.
    let cut_at = std::time::Instant::now();
    m.set_signaling_available(false);
    m.cut_signaling();
    for _ in 0..100 {
        if c.alice_events.saw(ended(CallEndReason::ConnectionLost)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        c.alice_events.saw(ended(CallEndReason::ConnectionLost)),
        "Alice's call ends as connection lost: {:?}",
        c.alice_events.states()
    );
    let took = cut_at.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "ended after {took:?}"
    );
    assert!(c.alice_events.states().contains(&CallState::Reconnecting));
    let ends = c
        .alice_events
        .states()
        .iter()
        .filter(|s| matches!(s, CallState::Ended { .. }))
        .count();
    assert_eq!(ends, 1, "the call ends once");
    let detail = c.alice_call.end_detail().unwrap_or_default();
    assert!(detail.contains("did not come back within"), "{detail}");
    eventually("Bob's call to end as connection lost", 10, || {
        c.bob_events.saw(ended(CallEndReason::ConnectionLost))
    })
    .await;
    // The mock keeps the participants for its grace period; ending the calls releases
    // the backend's session.
    m.set_signaling_available(true);
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}

/// The participant tokens expire mid-call (the mock issues them for 3 s here), then both
/// signaling sockets drop: the gateway refuses to resume with the expired tokens. On the
/// extended profile each phone asks `renewToken` for a fresh token for the same participant
/// and resumes with it: the call shows Reconnecting, then Connected, and the audio never
/// stops. The seed has no such action, so there the calls end as connection lost.
async fn expired_tokens_on_resume(profile: Profile) {
    let m = common::start_mock(MockConfig {
        profile,
        participant_token_lifetime: Duration::from_secs(3),
        ..MockConfig::default()
    })
    .await;
    let c = connected_call(&m).await;
    common::hears(&c).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    m.cut_signaling();
    if profile == Profile::Seed {
        for (who, events) in [("Alice", &c.alice_events), ("Bob", &c.bob_events)] {
            eventually(
                &format!("{who}'s call to end as connection lost"),
                10,
                || events.saw(ended(CallEndReason::ConnectionLost)),
            )
            .await;
        }
        let detail = c.alice_call.end_detail().unwrap_or_default();
        assert!(detail.contains("refused to resume"), "{detail}");
        return;
    }
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            c.bob.detected_remote_tone(TONES.to_vec()),
            Some(440.0),
            "audio kept flowing"
        );
    }
    for (who, events) in [("Alice", &c.alice_events), ("Bob", &c.bob_events)] {
        eventually(
            &format!("{who}'s call to show Reconnecting, then Connected"),
            10,
            || reconnected(events),
        )
        .await;
        assert!(
            !events
                .states()
                .iter()
                .any(|s| matches!(s, CallState::Ended { .. })),
            "{who}: {:?}",
            events.states()
        );
    }
    // The resumed socket carries the renewed token: a re-offer goes through it.
    reoffer_through_the_resumed_socket(&c).await;
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_an_expired_token_is_renewed_on_resume_and_the_call_goes_on() {
    expired_tokens_on_resume(Profile::Extended).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_an_expired_token_on_resume_ends_the_call_as_connection_lost() {
    expired_tokens_on_resume(Profile::Seed).await;
}

/// The mock's link conditioner on a real call: on `moderate` (100 ms delay, 25 ms jitter, 5 %
/// loss both ways) the tones still cross; a link set `down` through the control API silences
/// the call; set back to `perfect`, the audio returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_conditioner_impairs_a_call_and_can_be_changed_mid_call() {
    let m = mock().await;
    let c = connected_call(&m).await;
    common::hears(&c).await;
    m.set_link(&serde_json::json!({"profile": "moderate"}))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    common::hears(&c).await;
    // Lost packets are rebuilt from the next packet's Opus FEC (the 40 ms buffer usually
    // holds it already).
    eventually("Bob's stats to show frames rebuilt from FEC", 10, || {
        c.bob_events.saw(|e| {
            matches!(e, CallEvent::Stats { fec_recovered_samples, .. } if *fec_recovered_samples > 0)
        })
    })
    .await;
    // The jitter (0–25 ms, and 5 % of packets skipping the delay) makes the buffer aim higher
    // than its 40 ms minimum.
    let target = |c: &common::TwoPhoneCall| {
        c.bob_events.last(|e| match e {
            CallEvent::Stats {
                jitter_buffer_target_ms,
                ..
            } => Some(*jitter_buffer_target_ms),
            _ => None,
        })
    };
    eventually("Bob's jitter buffer to aim above 40 ms", 10, || {
        target(&c).is_some_and(|t| t > 40)
    })
    .await;
    m.set_link(&serde_json::json!({"params": {"down": true}}))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = m.forwarding();
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(
        c.bob.detected_remote_tone(TONES.to_vec()),
        None,
        "a link that is down carries nothing"
    );
    let during = m.forwarding();
    assert_eq!(
        during.copies_expected, before.copies_expected,
        "the conditioner dropped every copy"
    );
    m.set_link(&serde_json::json!({"profile": "perfect"}))
        .unwrap();
    common::hears(&c).await;
    // A smooth link again: the target comes back down (a frame a second, after the 2 s
    // window forgets the jitter).
    eventually("Bob's jitter buffer to come back to 40 ms", 20, || {
        target(&c) == Some(40)
    })
    .await;
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}

/// A 50 kbit/s cap with a 100 ms queue (`limited-50`) both ways: the sender at 40 kbit/s of
/// Opus (about 60 on the wire) overruns it, the queue builds, and the bitrate falls well
/// under its start within seconds (`media::bitrate`), while both tones still cross.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_link_brings_the_bitrate_down() {
    let m = mock().await;
    let c = connected_call(&m).await;
    common::hears(&c).await;
    m.set_link(&serde_json::json!({"profile": "limited-50"}))
        .unwrap();
    let rate = |events: &Events| {
        events.last(|e| match e {
            CallEvent::Stats {
                target_bitrate_bps, ..
            } => Some(*target_bitrate_bps),
            _ => None,
        })
    };
    eventually("both senders to fall under 32 kbit/s", 15, || {
        rate(&c.alice_events).is_some_and(|r| r < 32_000)
            && rate(&c.bob_events).is_some_and(|r| r < 32_000)
    })
    .await;
    common::hears(&c).await;
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}

/// A call over the mock's `international` link both ways (250 ms delay, up to 100 ms jitter,
/// Gilbert–Elliott loss ≈ 10.7 % in bursts of 4, 2 % duplicates, 5 % reordered, 300 kbit/s):
/// both tones still cross, and over 4 s of playout the share of frames concealed stays under
/// 20 %. The bound: each direction crosses the link twice (publisher → SFU, SFU →
/// subscriber), so 1 − 0.893² ≈ 20 % of packets are lost; FEC rebuilds a lost frame whenever
/// the next packet is there (lone losses, the last frame of a burst), so concealment must
/// stay below the raw loss. Measured: 14.5 % concealed, 11.5 % rebuilt from FEC (the excess
/// over 20 % is packets too late even for the 240 ms cap). Seeded: the same every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_international_link_still_carries_both_tones_with_bounded_concealment() {
    let m = common::start_mock(MockConfig {
        link: Some("international".into()),
        ..MockConfig::default()
    })
    .await;
    let c = connected_call(&m).await;
    common::hears(&c).await;
    let counts = |c: &common::TwoPhoneCall| {
        c.bob_events.last(|e| match e {
            CallEvent::Stats {
                packets_received,
                concealed_samples,
                fec_recovered_samples,
                jitter_buffer_target_ms,
                ..
            } => Some((
                *packets_received,
                *concealed_samples,
                *fec_recovered_samples,
                *jitter_buffer_target_ms,
            )),
            _ => None,
        })
    };
    eventually("Bob's first stats", 5, || counts(&c).is_some()).await;
    let (p0, c0, f0, _) = counts(&c).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (p1, c1, f1, target) = counts(&c).unwrap();
    // The playout clock plays 50 frames a second, whatever arrived.
    let frames = 4.0 * 50.0;
    assert!(p1 > p0, "packets kept arriving");
    let concealed = (c1 - c0) as f64 / 960.0 / frames;
    let fec = (f1 - f0) as f64 / 960.0 / frames;
    eprintln!(
        "international: {:.1} % of frames concealed, {:.1} % rebuilt from FEC over 4 s; target {target} ms",
        concealed * 100.0,
        fec * 100.0
    );
    assert!(concealed < 0.20, "{:.1} % concealed", concealed * 100.0);
    assert_eq!(
        c.bob.detected_remote_tone(TONES.to_vec()),
        Some(440.0),
        "Bob still hears Alice"
    );
    c.alice.end_call().await.unwrap();
    c.bob.end_call().await.unwrap();
}

/// An N-party session an app's own server made (the mock's test hook, as Bandwidth's
/// `createSession` + `addParticipantToSession`), joined on the seed path with
/// `join_call(token)`: each of three phones hears the other two tones in its mix, never its
/// own, and has a stream per other participant; one leaving takes its stream off the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_phones_in_one_session_each_hear_the_other_two() {
    const TONES3: [f32; 3] = [440.0, 660.0, 880.0];
    let m = mock().await;
    let body: serde_json::Value = common::control(&m)
        .post(format!("{}/mock/sessions", m.base_url()))
        .json(&serde_json::json!({"participants": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens: Vec<String> = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 3, "{body}");
    for bad in [
        serde_json::json!({"participants": 0}),
        serde_json::json!({"participants": 21}),
        serde_json::json!({}),
    ] {
        let status = common::control(&m)
            .post(format!("{}/mock/sessions", m.base_url()))
            .json(&bad)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 400, "{bad}");
    }
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut phones = Vec::new();
    let mut calls = Vec::new();
    let mut events = Vec::new();
    let mut handles = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let p = phone(&m, &dirs[i]);
        // Hanging up a joined call still ends this device's leg at the backend (`endCall`,
        // which needs a registration; it ends nothing here, as the device made no call).
        p.register(dialtone::PushToken {
            kind: dialtone::PushKind::Fcm,
            token: format!("phone-{i}"),
        })
        .await
        .unwrap();
        p.set_audio_source(AudioSource::Tone {
            frequency_hz: TONES3[i],
        });
        let e = std::sync::Arc::new(Events::default());
        handles.push(p.observe_call(e.clone()).unwrap());
        calls.push(p.join_call(token).await.unwrap());
        phones.push(p);
        events.push(e);
    }
    for (i, p) in phones.iter().enumerate() {
        let others: Vec<f32> = TONES3
            .iter()
            .copied()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, f)| f)
            .collect();
        eventually(&format!("phone {i} to hear {others:?}"), 20, || {
            p.heard_remote_tones(TONES3.to_vec()) == others
        })
        .await;
    }
    let streams = |e: &Events| {
        e.last(|e| match e {
            CallEvent::Stats { streams, .. } => Some(streams.len()),
            _ => None,
        })
        .unwrap_or(0)
    };
    for (i, e) in events.iter().enumerate() {
        eventually(&format!("phone {i} to count two streams"), 5, || {
            streams(e) == 2
        })
        .await;
    }
    calls[2].hangup().await.unwrap();
    for i in 0..2 {
        let other = TONES3[1 - i];
        eventually(&format!("phone {i} to hear only {other}"), 15, || {
            phones[i].heard_remote_tones(TONES3.to_vec()) == [other]
        })
        .await;
        eventually(&format!("phone {i} to count one stream"), 5, || {
            streams(&events[i]) == 1
        })
        .await;
    }
    for c in &calls[..2] {
        c.hangup().await.unwrap();
    }
    eventually("the SFU to forget the session", 10, || {
        m.media_counts() == (0, 0)
    })
    .await;
}
