//! Joining a media session with a participant token, and leaving it: the v3 signaling
//! socket (`signaling_link` keeps it through outages; `rpc` is the JSON-RPC over it),
//! `setMediaPreferences`, the publishing connection (`transport`: its audio track and the
//! first `offerSdp` round), and the tasks a joined session runs: the send, playout and stats
//! clocks (`clocks`) and the `driver` (recovery, the SFU's subscribe offers, a voice per
//! remote stream). `leave` tears it all down. Call state (who, why it ended) is the caller's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::backend::websocket::Message;
use crate::media::audio_bridge::AudioBridge;
use crate::media::clocks::{playout_clock, send_clock, stats_clock, SendControl};
use crate::media::driver::{offer_publish, Driver};
use crate::media::link::{
    mark, MediaEnd, MediaError, MediaEvent, MediaEvents, SessionOwner, Timings,
};
use crate::media::peer::{self, IcePolicy};
use crate::media::rpc::Rpc;
use crate::media::signaling::{self, RevisionGate};
use crate::media::signaling_link::{self, LinkEvent};
use crate::media::transport::{PeerTransport, Role};
use crate::media::voice::Voices;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The v3 signaling gateway a session joins: its URL and the client's WebSocket connector
/// (TLS configuration, proxy rules).
#[derive(Clone)]
pub struct SignalingGateway {
    pub url: String,
    pub connector: crate::backend::websocket::Connector,
}

/// A joined media session. Dropping it aborts everything; `leave` does it politely.
pub struct MediaSession {
    rpc: Arc<Rpc>,
    publish: Arc<PeerTransport>,
    own: signaling::OwnStream,
    subscribe: Arc<tokio::sync::Mutex<Option<Arc<PeerTransport>>>>,
    tasks: Vec<AbortHandle>,
    events: MediaEvents,
    pub timings: Arc<Mutex<Timings>>,
    /// An ICE restart asked for by the app (network change) did not get its answer: the
    /// publishing connection holds an offer the gateway never saw, so the driver re-publishes
    /// once the socket is back.
    republish: Arc<std::sync::atomic::AtomicBool>,
}

impl MediaSession {
    /// `recovery_budget`: how long a lost signaling socket may take to come back before the
    /// session ends (`signaling_link::DEFAULT_BUDGET` unless the app set another).
    pub async fn join(
        gateway: &SignalingGateway,
        token: &str,
        ice: IcePolicy,
        bridge: Arc<AudioBridge>,
        owner: SessionOwner,
        recovery_budget: Duration,
        renew: Option<signaling_link::TokenRenewer>,
    ) -> Result<MediaSession, MediaError> {
        let timings = Arc::new(Mutex::new(Timings {
            started: Some(Instant::now()),
            ..Default::default()
        }));
        let SessionOwner {
            events,
            muted,
            alias,
        } = owner;
        let _ = events.send(MediaEvent::Connecting);
        let unique_id = uuid::Uuid::new_v4().to_string();
        let url = signaling::connect_url(&gateway.url, token, &unique_id)
            .map_err(MediaError::Signaling)?;
        use crate::backend::websocket::ConnectError;
        let ws = match gateway
            .connector
            .connect(&url, &[], CONNECT_TIMEOUT, true)
            .await
        {
            Ok(ws) => ws,
            Err(ConnectError::Timeout(_)) => {
                return Err(MediaError::Signaling(
                    "the signaling gateway did not answer in time".into(),
                ))
            }
            Err(ConnectError::Refused { status, body }) => {
                let message = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| body.trim().to_string());
                return Err(MediaError::TokenRefused { status, message });
            }
            Err(e) => return Err(MediaError::Connect(e)),
        };
        mark(&timings, |t| &mut t.socket_open);
        let (rpc, out_rx) = Rpc::new();
        let mut tasks = Vec::new();
        let (link_tx, link_rx) = mpsc::unbounded_channel::<LinkEvent>();
        let link = crate::task::spawn(signaling_link::run(
            ws,
            signaling_link::Gateway {
                url,
                connector: gateway.connector.clone(),
            },
            recovery_budget,
            renew,
            rpc.clone(),
            out_rx,
            link_tx,
        ));
        tasks.push(link.abort_handle());

        let setup = async {
            rpc.call("setMediaPreferences", json!({"protocol": "WEBRTC"}))
                .await?;
            let (publish, pub_events) = PeerTransport::new(&ice, Role::Publish).await?;
            let stream_id = uuid::Uuid::new_v4().to_string();
            let ssrc = (uuid::Uuid::new_v4().as_u128() & 0xffff_ffff) as u32;
            let track = peer::audio_track(&stream_id, ssrc);
            publish.add_track(track.clone()).await?;
            let own = signaling::OwnStream {
                id: stream_id.clone(),
                alias: alias.clone(),
            };
            let dtx = offer_publish(&publish, &rpc, &own, false).await?;
            mark(&timings, |t| &mut t.published);
            Ok::<_, MediaError>((publish, pub_events, track, ssrc, own, dtx))
        };
        let (publish, pub_events, track, ssrc, own, dtx) = match setup.await {
            Ok(v) => v,
            Err(e) => {
                for t in &tasks {
                    t.abort();
                }
                return Err(e);
            }
        };
        // From the loss the SFU reports for what we publish: the encoder's FEC and bitrate.
        let send_control = Arc::new(SendControl::for_call(muted));
        send_control.set_dtx(dtx);
        tasks.push(
            crate::task::spawn(send_clock(
                bridge.clone(),
                track,
                ssrc,
                send_control.clone(),
            ))
            .abort_handle(),
        );

        let voices = Arc::new(Voices::default());
        let wake_playout = Arc::new(tokio::sync::Notify::new());
        bridge.reset_remote();
        tasks.push(
            crate::task::spawn(playout_clock(
                bridge.clone(),
                voices.clone(),
                wake_playout.clone(),
                events.clone(),
                timings.clone(),
            ))
            .abort_handle(),
        );

        let subscribe: Arc<tokio::sync::Mutex<Option<Arc<PeerTransport>>>> = Arc::default();
        let republish = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let driver = Driver {
            rpc: rpc.clone(),
            ice,
            publish: publish.clone(),
            subscribe: subscribe.clone(),
            gate: RevisionGate::default(),
            voices: voices.clone(),
            receivers: HashMap::new(),
            publishers: Vec::new(),
            wake_playout,
            events: events.clone(),
            timings: timings.clone(),
            own: own.clone(),
            children: Vec::new(),
            recovery_budget,
            republish: republish.clone(),
            send: send_control.clone(),
        };
        tasks.push(crate::task::spawn(driver.run(link_rx, pub_events)).abort_handle());
        tasks.push(
            crate::task::spawn(stats_clock(
                bridge,
                publish.peer().clone(),
                voices,
                send_control,
                events.clone(),
            ))
            .abort_handle(),
        );
        Ok(MediaSession {
            rpc,
            publish,
            own,
            subscribe,
            tasks,
            events,
            timings,
            republish,
        })
    }

    /// Restarts ICE on the publishing connection now (the app saw the network change).
    /// The device's network changed: probe the signaling socket (a socket left on the old
    /// network is declared lost within `signaling_link::PROBE_TIMEOUT` and reconnected) and
    /// restart ICE.
    pub async fn restart_ice(&self) -> Result<(), MediaError> {
        self.rpc
            .send_frame(Message::Ping(signaling_link::PROBE.to_vec()));
        let r = offer_publish(&self.publish, &self.rpc, &self.own, true)
            .await
            .map(|_| ());
        if r.is_err() {
            self.republish
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        r
    }

    /// Hangup: `leave`, close the socket and both peer connections, stop every task.
    pub async fn leave(mut self) {
        self.rpc.notify("leave", json!({}));
        self.rpc.send_frame(Message::Close(Some(
            crate::backend::websocket::CloseFrame::NORMAL,
        )));
        // Give the writer a moment to flush `leave` before it is aborted.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.shutdown().await;
        let _ = self.events.send(MediaEvent::Ended(MediaEnd::Left));
    }

    async fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.publish.close().await;
        if let Some(sub) = self.subscribe.lock().await.take() {
            sub.close().await;
        }
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
