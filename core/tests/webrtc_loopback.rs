//! Two bare webrtc-rs peers on loopback, built with `dialtone::peer`: negotiated data
//! channels and one Opus track carrying a real encoded tone that the far side decodes and
//! detects. Proves the transport layer the call is built on, without signaling.
// Tests spawn directly; the core spawns through its `task` module (core/clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use dialtone::testing::codec::{Decoder, Encoder};
use dialtone::testing::peer::{self, IcePolicy, PeerEvent, OPUS_PAYLOAD_TYPE};
use dialtone::testing::tone::{ToneDetector, ToneGenerator};
use dialtone::testing::{FRAME_SAMPLES, FRAME_TIMESTAMP_STEP};
use rtc::data_channel::RTCDataChannelInit;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp;
use webrtc::data_channel::DataChannelEvent;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemoteEvent;

async fn wait_gathered(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<PeerEvent>,
    pending: &mut Vec<PeerEvent>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("gathering completes")
            .unwrap()
        {
            PeerEvent::GatheringComplete => return,
            other => pending.push(other),
        }
    }
}

fn negotiated(id: u16) -> Option<RTCDataChannelInit> {
    Some(RTCDataChannelInit {
        negotiated: Some(id),
        ordered: true,
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_tone_and_heartbeat_cross_a_loopback_connection() {
    let started = Instant::now();
    let (a, mut a_rx) = peer::build_with(&IcePolicy::loopback(), false)
        .await
        .unwrap();
    // B answers passive, as the subscribing side of Bandwidth's SDKs does.
    let (b, mut b_rx) = peer::build_with(&IcePolicy::loopback(), true)
        .await
        .unwrap();
    let a_hb = a
        .create_data_channel("__heartbeat__", negotiated(0))
        .await
        .unwrap();
    let b_hb = b
        .create_data_channel("__heartbeat__", negotiated(0))
        .await
        .unwrap();
    let track = peer::audio_track("alice", 0x0102_0304);
    a.add_track(track.clone()).await.unwrap();

    let (mut a_pending, mut b_pending) = (Vec::new(), Vec::new());
    let offer = a.create_offer(None).await.unwrap();
    a.set_local_description(offer).await.unwrap();
    wait_gathered(&mut a_rx, &mut a_pending).await;
    let offer = a.local_description().await.unwrap();
    assert!(
        offer.sdp.contains("127.0.0.1"),
        "a loopback host candidate is offered"
    );
    for line in offer.sdp.lines().filter(|l| l.starts_with("a=candidate")) {
        assert!(
            line.contains(" 127.0.0.1 "),
            "only loopback candidates: {line}"
        );
    }
    b.set_remote_description(RTCSessionDescription::offer(offer.sdp).unwrap())
        .await
        .unwrap();
    let answer = b.create_answer(None).await.unwrap();
    b.set_local_description(answer).await.unwrap();
    wait_gathered(&mut b_rx, &mut b_pending).await;
    let answer = b.local_description().await.unwrap();
    assert!(answer.sdp.contains("a=setup:passive"), "B answers passive");
    a.set_remote_description(RTCSessionDescription::answer(answer.sdp).unwrap())
        .await
        .unwrap();

    // Heartbeat: B answers PING with PONG, as Bandwidth's SDK does.
    let b_hb2 = b_hb.clone();
    tokio::spawn(async move {
        while let Some(ev) = b_hb2.poll().await {
            if let DataChannelEvent::OnMessage(m) = ev {
                if &m.data[..] == b"PING" {
                    let _ = b_hb2.send_text("PONG").await;
                }
            }
        }
    });

    // Sender: 440 Hz, Opus-encoded, 20 ms apart.
    let sender = tokio::spawn(async move {
        let mut enc = Encoder::new().unwrap();
        let mut gen = ToneGenerator::new(440.0, 0.4);
        let mut pcm = [0i16; FRAME_SAMPLES];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for i in 0..150u32 {
            tick.tick().await;
            gen.fill(&mut pcm);
            let payload = Bytes::copy_from_slice(enc.encode(&pcm).unwrap());
            let packet = rtp::Packet {
                header: rtp::Header {
                    version: 2,
                    payload_type: OPUS_PAYLOAD_TYPE,
                    sequence_number: i as u16,
                    timestamp: i * FRAME_TIMESTAMP_STEP,
                    ssrc: 0x0102_0304,
                    marker: i == 0,
                    ..Default::default()
                },
                payload,
            };
            let _ = track.write_rtp(packet).await;
        }
    });

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let remote = loop {
        if let Some(pos) = b_pending
            .iter()
            .position(|e| matches!(e, PeerEvent::Track(_)))
        {
            let PeerEvent::Track(t) = b_pending.remove(pos) else {
                unreachable!()
            };
            break t;
        }
        let ev = tokio::time::timeout_at(deadline, b_rx.recv())
            .await
            .expect("B gets a track")
            .unwrap();
        b_pending.push(ev);
    };
    let mut dec = Decoder::new().unwrap();
    let mut det = ToneDetector::new(&[440.0, 880.0]);
    let mut out = [0i16; FRAME_SAMPLES];
    let mut first_audio = None;
    while det.frames() < 25 {
        match tokio::time::timeout_at(deadline, remote.poll())
            .await
            .expect("RTP arrives")
        {
            Some(TrackRemoteEvent::OnRtpPacket(p)) => {
                first_audio.get_or_insert_with(|| started.elapsed());
                dec.decode(Some(&p.payload), &mut out).unwrap();
                det.push(&out);
            }
            Some(_) => {}
            None => panic!("track ended early"),
        }
    }
    assert_eq!(det.detected(), Some(440.0));
    eprintln!("first decoded audio after {:?}", first_audio.unwrap());

    a_hb.send_text("PING").await.unwrap();
    let pong = loop {
        match tokio::time::timeout_at(deadline, a_hb.poll())
            .await
            .expect("PONG arrives")
        {
            Some(DataChannelEvent::OnMessage(m)) => break m.data,
            Some(_) => continue,
            None => panic!("channel closed"),
        }
    };
    assert_eq!(&pong[..], b"PONG");
    sender.abort();
    a.close().await.unwrap();
    b.close().await.unwrap();
}
