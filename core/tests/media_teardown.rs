//! Hangup leaves nothing behind: both peer connections closed, the mock's media session
//! gone, no task left on the SDK's runtime, no socket left open in the process. A file of
//! its own, so no other test's tasks or sockets are counted.

use std::time::Duration;

use dialtone::{AudioSource, DialtoneClient, PushKind, PushToken};
use dialtone_mock::Profile;
mod common;

fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hangup_tears_down_both_connections_the_session_every_task_and_socket() {
    let m = common::mock_on(Profile::Seed).await;
    let tasks_at_start = dialtone::runtime_alive_tasks();
    let sockets_at_start = open_sockets();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = common::phone(&m, &da);
    let bob = common::phone(&m, &db);
    alice
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "a".into(),
        })
        .await
        .unwrap();
    let bob_id = bob
        .register(PushToken {
            kind: PushKind::Fcm,
            token: "b".into(),
        })
        .await
        .unwrap();
    alice.set_audio_source(AudioSource::Tone {
        frequency_hz: 440.0,
    });
    bob.set_audio_source(AudioSource::Tone {
        frequency_hz: 880.0,
    });

    // Warm up the HTTP clients' pools and the runtime, then take the baseline.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let tasks_before = dialtone::runtime_alive_tasks();
    let sockets_before = open_sockets();

    alice.start_call(bob_id, None).await.unwrap();
    let token = common::push_token(&m, "b").await;
    bob.join_call(token).await.unwrap();
    for _ in 0..750 {
        if bob.detected_remote_tone(vec![440.0, 880.0]) == Some(440.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        bob.detected_remote_tone(vec![440.0, 880.0]),
        Some(440.0),
        "the call carried audio"
    );
    assert!(dialtone::runtime_alive_tasks() > tasks_before);
    assert_eq!(m.media_counts(), (1, 2));

    alice.end_call().await.unwrap();
    bob.end_call().await.unwrap();
    let mut settled = false;
    for _ in 0..250 {
        if m.media_counts() == (0, 0)
            && dialtone::runtime_alive_tasks() <= tasks_before
            && open_sockets() <= sockets_before
        {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        settled,
        "left over: media {:?}, tasks {} (before {tasks_before}), sockets {} (before {sockets_before})",
        m.media_counts(),
        dialtone::runtime_alive_tasks(),
        open_sockets()
    );

    // Dropping the clients in the middle of a call (the app killed its client) stops every
    // task of theirs, media included, and closes every socket.
    alice
        .start_call(bob_id_again(&alice, &bob).await, None)
        .await
        .unwrap();
    let token = common::push_token(&m, "b").await;
    bob.join_call(token).await.unwrap();
    assert!(dialtone::runtime_alive_tasks() > tasks_before);
    drop(alice);
    drop(bob);
    let mut settled = false;
    for _ in 0..250 {
        if dialtone::runtime_alive_tasks() <= tasks_at_start && open_sockets() <= sockets_at_start {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        settled,
        "left over after the clients were dropped: tasks {} (at start {tasks_at_start}), sockets {} (at start {sockets_at_start})",
        dialtone::runtime_alive_tasks(),
        open_sockets()
    );
}

async fn bob_id_again(_alice: &DialtoneClient, bob: &DialtoneClient) -> String {
    bob.client_id().unwrap().expect("Bob is registered")
}
