//! The mock's media plane: it terminates WebRTC for every participant with webrtc-rs (a
//! publishing connection that answers the participant's offers, a subscribing connection
//! that the SFU offers to), and forwards each published Opus stream's RTP to every other
//! participant of the session, announcing it with a new `sdpRevision`. It sends heartbeat
//! PINGs, and tears participants and sessions down on leave, socket close and endCall.
//!
//! Its parts: this module (participants, publications, negotiation rounds, teardown),
//! `peer` (how each peer connection is built and what it reports) and `forward` (copying
//! RTP to subscribers through the link conditioner).
//!
//! Written independently of the client core on purpose (see lib.rs).

mod forward;
mod peer;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{RTCPeerConnectionState, RTCStatsReportEntry, StatsSelector};
use webrtc::rtp_transceiver::RtpSender;

use forward::{forward, rand_ssrc, Sink};
use peer::{negotiated_channels, new_peer, opus, wait_local_candidates, PcEvent, Peer};

const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the socket task of a participant is told to do.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    /// The session ended: close the socket with a Close frame.
    Close,
    /// Drop the socket without a Close frame (the outage hook): the participant waits.
    Cut,
}

struct Publication {
    stream_id: String,
    endpoint_id: String,
    /// The `alias` its publisher gave (`offerSdp`'s `mediaMetadata`), forwarded in
    /// `streamMetadata`.
    alias: Option<String>,
    /// Forwarding tracks on other participants' subscribing connections.
    sinks: Arc<Mutex<Vec<Sink>>>,
}

struct Subscribe {
    pc: Peer,
    endpoint_id: String,
    revision: u64,
    /// The streams (by stream id) already added to this connection. A stream is offered
    /// once: `ready` (the newcomer's catch-up) and `published` (the publisher's fan-out) can
    /// both ask for the same one when a publication lands between a participant's attach
    /// and its `setMediaPreferences`, and a second track with the same msid makes browsers
    /// refuse the whole offer ("Duplicate a=msid lines"). Each with its sender (removed when
    /// its publisher leaves) and its `streamMetadata` entry: every offer lists every stream
    /// on the connection, as the wire contract says.
    offered: HashMap<String, Offered>,
}

struct Offered {
    sender: Arc<dyn RtpSender>,
    metadata: Value,
}

impl Subscribe {
    /// `streamMetadata` for an offer on this connection: every stream it carries.
    fn metadata(&self) -> Value {
        Value::Object(
            self.offered
                .iter()
                .map(|(id, o)| (id.clone(), o.metadata.clone()))
                .collect(),
        )
    }
}

pub struct Participant {
    pub id: String,
    pub session_id: String,
    /// The connection instance (`uniqueId`): a reconnect with the same one resumes.
    pub unique_id: String,
    /// The current socket's queue; replaced when the participant reconnects.
    out: Mutex<mpsc::UnboundedSender<Outbound>>,
    /// Bumped on every (re)attach: a grace timer only ends the attachment it was set for.
    attachment: std::sync::atomic::AtomicU64,
    /// The subscribing connection failed and is being restarted (`watch_subscriber`).
    subscriber_failing: std::sync::atomic::AtomicBool,
    /// Its subscribing connection has come up (ICE and DTLS): until it has, nothing is
    /// forwarded to it (an RTP packet before the SRTP keys exist is only an error on the
    /// SFU's side). Shared with its sinks.
    subscriber_up: Arc<std::sync::atomic::AtomicBool>,
    /// It sent `setMediaPreferences`: from then on it is offered what others publish.
    /// Before, no `sdpOffer` is sent to it (a client registers for offers once it has
    /// chosen its protocol; an offer ahead of that reply was dropped by the console phone).
    ready: std::sync::atomic::AtomicBool,
    publish: tokio::sync::Mutex<Option<(Peer, String)>>,
    subscribe: tokio::sync::Mutex<Option<Subscribe>>,
    /// Serialises offer → answer rounds on the subscribing connection.
    negotiation: tokio::sync::Mutex<()>,
    pending_answer: Mutex<Option<oneshot::Sender<String>>>,
    pongs: std::sync::atomic::AtomicU64,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The `alias` of its latest `offerSdp`'s media stream, if it gave one.
    alias: Mutex<Option<String>>,
    /// The link conditioner on what this participant publishes, and on what it receives.
    uplink: crate::link::LinkSlot,
    downlink: crate::link::LinkSlot,
}

impl Participant {
    pub fn pongs(&self) -> u64 {
        self.pongs.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn send(&self, msg: Outbound) {
        let _ = self.out.lock().expect("out lock").send(msg);
    }

    fn notify(&self, method: &str, params: Value) {
        self.send(Outbound::Text(
            json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string(),
        ));
    }

    fn track(&self, handle: tokio::task::JoinHandle<()>) {
        self.tasks
            .lock()
            .expect("tasks lock")
            .push(handle.abort_handle());
    }
}

#[derive(Default)]
struct SessionMedia {
    participants: HashMap<String, Arc<Participant>>,
    publications: HashMap<String, Publication>,
}

pub struct Sfu {
    ice_ip: IpAddr,
    heartbeat_interval: Duration,
    sessions: Mutex<HashMap<String, SessionMedia>>,
    /// Every forwarded copy's outcome and delay (the load tool reads it).
    pub forwarding: Arc<crate::forwarding::ForwardingStats>,
    /// The link conditioner's settings (`POST /mock/link`, `--link`).
    links: Mutex<crate::link::Links>,
    /// Told when participants come and go, for the console.
    changes: crate::console::Changes,
    /// Told of every participant whose socket is lost, comes back, or that leaves for good
    /// (rooms' presence follows it).
    departures: Mutex<Option<mpsc::UnboundedSender<Departure>>>,
}

/// A participant's connection changed: its session, its id, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    pub session_id: String,
    pub participant_id: String,
    pub what: Connection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Its socket dropped; it keeps its media for the grace.
    Reconnecting,
    /// It resumed within the grace.
    Back,
    /// It left or its socket closed: gone.
    Left,
    /// Its socket did not come back within the grace: gone.
    Lost,
}

impl Sfu {
    pub fn new(
        ice_ip: IpAddr,
        heartbeat_interval: Duration,
        changes: crate::console::Changes,
    ) -> Arc<Self> {
        Arc::new(Self {
            ice_ip,
            heartbeat_interval,
            sessions: Mutex::new(HashMap::new()),
            forwarding: Arc::default(),
            links: Mutex::default(),
            changes,
            departures: Mutex::new(None),
        })
    }

    /// Where departures are told from now on.
    pub fn on_departure(&self, tx: mpsc::UnboundedSender<Departure>) {
        *self.departures.lock().expect("departures lock") = Some(tx);
    }

    fn tell(&self, p: &Participant, what: Connection) {
        if let Some(tx) = self.departures.lock().expect("departures lock").as_ref() {
            let _ = tx.send(Departure {
                session_id: p.session_id.clone(),
                participant_id: p.id.clone(),
                what,
            });
        }
    }

    /// Applies a link setting: to the participant named (or, with none, as the default for
    /// every participant), in the directions asked, from now on, live links included.
    pub fn set_link(&self, req: &crate::link::Request) {
        use crate::link::Direction;
        let now = std::time::Instant::now();
        let mut links = self.links.lock().expect("links lock");
        for d in &req.directions {
            match &req.participant {
                Some(p) => links.set_for(p, *d, req.setting.clone()),
                None => links.set_default(*d, req.setting.clone()),
            }
        }
        let sessions = self.sessions.lock().expect("sfu lock");
        for p in sessions.values().flat_map(|m| m.participants.values()) {
            if req.participant.as_ref().is_some_and(|id| *id != p.id) {
                continue;
            }
            for d in &req.directions {
                let slot = match d {
                    Direction::Up => &p.uplink,
                    Direction::Down => &p.downlink,
                };
                *slot.lock().expect("link lock") =
                    links.setting(&p.id, *d).and_then(|s| s.start(now));
            }
        }
    }

    pub fn links_json(&self) -> Value {
        self.links.lock().expect("links lock").to_json()
    }

    fn new_link(&self, participant: &str, d: crate::link::Direction) -> crate::link::LinkSlot {
        let links = self.links.lock().expect("links lock");
        Arc::new(Mutex::new(
            links
                .setting(participant, d)
                .and_then(|s| s.start(std::time::Instant::now())),
        ))
    }

    /// Every participant with media state, for the console: session, participant, whether
    /// its signaling socket is attached, heartbeats answered, and its link settings.
    pub fn participants_json(&self) -> Value {
        use crate::link::Direction;
        // The same lock order as `set_link`: links, then sessions.
        let links = self.links.lock().expect("links lock");
        let sessions = self.sessions.lock().expect("sfu lock");
        let mut out: Vec<Value> = sessions
            .values()
            .flat_map(|m| m.participants.values())
            .map(|p| {
                let link = |d| links.setting(&p.id, d).map(|s| s.name.clone());
                json!({
                    "sessionId": p.session_id,
                    "participantId": p.id,
                    "heartbeatsAnswered": p.pongs(),
                    "uplink": link(Direction::Up),
                    "downlink": link(Direction::Down),
                })
            })
            .collect();
        out.sort_by(|a, b| a["sessionId"].as_str().cmp(&b["sessionId"].as_str()));
        Value::Array(out)
    }

    /// What the SFU sees of each participant's media, for the console's charts: from its
    /// publishing connection, what arrived from it (packets, bytes, loss, jitter); from its
    /// subscribing connection, what went to it (packets, bytes) and what it reported back
    /// (loss, RTT from RTCP); and the ICE round trip.
    pub async fn media_stats(&self) -> Value {
        let participants: Vec<Arc<Participant>> = {
            let sessions = self.sessions.lock().expect("sfu lock");
            sessions
                .values()
                .flat_map(|m| m.participants.values().cloned())
                .collect()
        };
        // A connection being negotiated or closed holds its locks: its figures are skipped
        // for this sample rather than holding up the console's stream.
        const WAIT: Duration = Duration::from_millis(100);
        async fn stats(pc: Option<Peer>) -> Option<webrtc::peer_connection::RTCStatsReport> {
            let pc = pc?;
            tokio::time::timeout(
                WAIT,
                pc.get_stats(std::time::Instant::now(), StatsSelector::None),
            )
            .await
            .ok()
        }
        let mut out = Vec::with_capacity(participants.len());
        for p in participants {
            let publish = match tokio::time::timeout(WAIT, p.publish.lock()).await {
                Ok(g) => g.as_ref().map(|(pc, _)| pc.clone()),
                Err(_) => None,
            };
            let subscribe = match tokio::time::timeout(WAIT, p.subscribe.lock()).await {
                Ok(g) => g.as_ref().map(|s| s.pc.clone()),
                Err(_) => None,
            };
            let mut v = json!({"sessionId": p.session_id, "participantId": p.id});
            if let Some(report) = stats(publish).await {
                for e in report.iter() {
                    match e {
                        RTCStatsReportEntry::InboundRtp(r) => {
                            let rx = &r.received_rtp_stream_stats;
                            v["fromParticipant"] = json!({
                                "packets": rx.packets_received,
                                "bytes": r.bytes_received,
                                "lost": rx.packets_lost,
                                "jitterMs": jitter_ms(rx.jitter),
                            });
                        }
                        RTCStatsReportEntry::IceCandidatePair(c)
                            if c.current_round_trip_time > 0.0 =>
                        {
                            v["iceRttMs"] = json!(c.current_round_trip_time * 1000.0);
                        }
                        _ => {}
                    }
                }
            }
            if let Some(report) = stats(subscribe).await {
                let mut to = json!({});
                for e in report.iter() {
                    match e {
                        RTCStatsReportEntry::OutboundRtp(r) => {
                            to["packets"] = json!(r.sent_rtp_stream_stats.packets_sent);
                            to["bytes"] = json!(r.sent_rtp_stream_stats.bytes_sent);
                        }
                        RTCStatsReportEntry::RemoteInboundRtp(r) => {
                            to["fractionLost"] = json!(r.fraction_lost);
                            to["jitterMs"] = json!(jitter_ms(r.received_rtp_stream_stats.jitter));
                            if r.round_trip_time > 0.0 {
                                to["rttMs"] = json!(r.round_trip_time * 1000.0);
                            }
                        }
                        _ => {}
                    }
                }
                v["toParticipant"] = to;
            }
            out.push(v);
        }
        out.sort_by(|a, b| {
            (a["sessionId"].as_str(), a["participantId"].as_str())
                .cmp(&(b["sessionId"].as_str(), b["participantId"].as_str()))
        });
        Value::Array(out)
    }

    /// (sessions, participants) with live media state: what a hangup must bring to zero.
    pub fn counts(&self) -> (usize, usize) {
        let s = self.sessions.lock().expect("sfu lock");
        (s.len(), s.values().map(|m| m.participants.len()).sum())
    }

    pub fn participant(&self, session_id: &str, participant_id: &str) -> Option<Arc<Participant>> {
        self.sessions
            .lock()
            .expect("sfu lock")
            .get(session_id)?
            .participants
            .get(participant_id)
            .cloned()
    }

    /// A participant's socket opened. With the `uniqueId` of a participant already here, it
    /// is that participant reconnecting: it keeps its media and gets the new socket (the
    /// second value is true). Otherwise it is a new participant, which replaces one with the
    /// same id (an app restarted on the device).
    pub fn attach(
        self: &Arc<Self>,
        session_id: &str,
        participant_id: &str,
        unique_id: &str,
        out: mpsc::UnboundedSender<Outbound>,
    ) -> (Arc<Participant>, bool) {
        let mut sessions = self.sessions.lock().expect("sfu lock");
        let media = sessions.entry(session_id.to_string()).or_default();
        if let Some(p) = media.participants.get(participant_id) {
            if !unique_id.is_empty() && p.unique_id == unique_id {
                let p = p.clone();
                drop(sessions);
                let old = std::mem::replace(&mut *p.out.lock().expect("out lock"), out);
                let _ = old.send(Outbound::Cut);
                p.attachment
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // An offer sent while the socket was down never arrived: stop waiting for
                // its answer, and restart a failed subscribing connection now, through the
                // new socket, instead of after the answer's timeout.
                drop(p.pending_answer.lock().expect("answer lock").take());
                if p.subscriber_failing
                    .load(std::sync::atomic::Ordering::SeqCst)
                {
                    let (sfu, to) = (self.clone(), p.clone());
                    tokio::spawn(async move { sfu.restart_subscriber(&to).await });
                }
                self.tell(&p, Connection::Back);
                return (p, true);
            }
        }
        let (uplink, downlink) = (
            self.new_link(participant_id, crate::link::Direction::Up),
            self.new_link(participant_id, crate::link::Direction::Down),
        );
        let p = Arc::new(Participant {
            uplink,
            downlink,
            id: participant_id.to_string(),
            session_id: session_id.to_string(),
            unique_id: unique_id.to_string(),
            out: Mutex::new(out),
            attachment: Default::default(),
            subscriber_failing: Default::default(),
            subscriber_up: Default::default(),
            ready: Default::default(),
            publish: tokio::sync::Mutex::new(None),
            subscribe: tokio::sync::Mutex::new(None),
            negotiation: tokio::sync::Mutex::new(()),
            pending_answer: Mutex::new(None),
            pongs: Default::default(),
            tasks: Mutex::new(Vec::new()),
            alias: Mutex::new(None),
        });
        let old = media
            .participants
            .insert(participant_id.to_string(), p.clone());
        drop(sessions);
        if let Some(old) = old {
            old.send(Outbound::Close);
            tokio::spawn(close_participant(old));
        }
        (p, false)
    }

    /// The participant's socket was lost (no `leave`, no Close frame): it keeps its media for
    /// `grace`, and leaves then unless it reconnected meanwhile.
    pub fn detach(self: &Arc<Self>, p: &Arc<Participant>, grace: Duration) {
        let attachment = p.attachment.load(std::sync::atomic::Ordering::SeqCst);
        self.tell(p, Connection::Reconnecting);
        let sfu = self.clone();
        let p = p.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if p.attachment.load(std::sync::atomic::Ordering::SeqCst) == attachment {
                tracing::info!(target: "dialtone_mock::ws", "participant {} did not come back within {grace:?}", p.id);
                sfu.depart(&p, true).await;
            }
        });
    }

    /// The outage hook: every socket dropped without a Close frame.
    pub fn cut_all(&self) {
        for media in self.sessions.lock().expect("sfu lock").values() {
            for p in media.participants.values() {
                p.send(Outbound::Cut);
            }
        }
    }

    /// After `setMediaPreferences`: offer the participant every stream already published.
    /// The flag is set before the publications are read, under the same lock `published`
    /// reads the flags under: a publication landing meanwhile is offered by one or the
    /// other (or both; `offer_streams` offers a stream once).
    pub fn ready(self: &Arc<Self>, p: &Arc<Participant>) {
        p.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        let sources: Vec<String> = {
            let s = self.sessions.lock().expect("sfu lock");
            s.get(&p.session_id)
                .map(|m| {
                    m.publications
                        .keys()
                        .filter(|k| **k != p.id)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        };
        let (sfu, to) = (self.clone(), p.clone());
        p.track(tokio::spawn(async move {
            sfu.offer_streams(&to, &sources).await
        }));
    }

    /// `offerSdp` from a participant: answer it on its publishing connection.
    pub async fn offer_sdp(
        self: &Arc<Self>,
        p: &Arc<Participant>,
        sdp_offer: &str,
        alias: Option<String>,
    ) -> Result<Value, String> {
        if alias.is_some() {
            *p.alias.lock().expect("alias lock") = alias;
        }
        let mut publish = p.publish.lock().await;
        let fresh = publish.is_none();
        if fresh {
            let (pc, rx) = new_peer(self.ice_ip).await.map_err(|e| e.to_string())?;
            let heartbeat = negotiated_channels(&pc).await.map_err(|e| e.to_string())?;
            *publish = Some((pc, uuid::Uuid::new_v4().to_string()));
            p.track(tokio::spawn(run_heartbeat(
                p.clone(),
                heartbeat,
                self.heartbeat_interval,
            )));
            let (sfu, part) = (self.clone(), p.clone());
            p.track(tokio::spawn(
                async move { sfu.publish_events(part, rx).await },
            ));
        }
        let (pc, endpoint_id) = publish.clone().expect("set above");
        let offer = RTCSessionDescription::offer(sdp_offer.to_string())
            .map_err(|e| format!("bad sdpOffer: {e}"))?;
        pc.set_remote_description(offer)
            .await
            .map_err(|e| format!("bad sdpOffer: {e}"))?;
        let answer = pc.create_answer(None).await.map_err(|e| e.to_string())?;
        pc.set_local_description(answer)
            .await
            .map_err(|e| e.to_string())?;
        wait_local_candidates(&pc).await;
        let sdp = pc
            .local_description()
            .await
            .ok_or("no local description")?
            .sdp;
        Ok(json!({"endpointId": endpoint_id, "sdpAnswer": sdp, "streamMetadata": {}}))
    }

    /// `answerSdp` from a participant: completes the pending subscribe offer.
    pub fn answer_sdp(&self, p: &Participant, sdp_answer: &str) -> Result<(), String> {
        match p.pending_answer.lock().expect("answer lock").take() {
            Some(tx) => tx
                .send(sdp_answer.to_string())
                .map_err(|_| "the offer was withdrawn".to_string()),
            None => Err("no subscribe offer is waiting for an answer".to_string()),
        }
    }

    async fn publish_events(
        self: Arc<Self>,
        p: Arc<Participant>,
        mut rx: mpsc::UnboundedReceiver<PcEvent>,
    ) {
        while let Some(ev) = rx.recv().await {
            match ev {
                PcEvent::Track(track) => self.published(&p, track).await,
                PcEvent::State(s) => tracing::debug!("publishing connection of {}: {s}", p.id),
                PcEvent::Gathered => {}
            }
        }
    }

    async fn published(self: &Arc<Self>, p: &Arc<Participant>, track: Arc<dyn TrackRemote>) {
        let stream_id = uuid::Uuid::new_v4().to_string();
        let endpoint_id = p
            .publish
            .lock()
            .await
            .as_ref()
            .map(|(_, e)| e.clone())
            .unwrap_or_default();
        let sinks: Arc<Mutex<Vec<Sink>>> = Arc::default();
        let others: Vec<Arc<Participant>> = {
            let mut s = self.sessions.lock().expect("sfu lock");
            let Some(m) = s.get_mut(&p.session_id) else {
                return;
            };
            m.publications.insert(
                p.id.clone(),
                Publication {
                    stream_id,
                    endpoint_id,
                    alias: p.alias.lock().expect("alias lock").clone(),
                    sinks: sinks.clone(),
                },
            );
            fan_out_targets(m, &p.id)
        };
        p.track(tokio::spawn(forward(
            track,
            sinks,
            p.uplink.clone(),
            self.forwarding.clone(),
        )));
        for other in others {
            let (sfu, other, source) = (self.clone(), other.clone(), p.id.clone());
            other.clone().track(tokio::spawn(async move {
                sfu.offer_streams(&other, &[source]).await
            }));
        }
    }

    /// Adds `sources`' streams to `to`'s subscribing connection and offers them in one new
    /// revision (a newcomer's catch-up gets every stream already published in one offer, as
    /// Bandwidth's gateway does, not one revision per stream). Streams already offered, or
    /// whose publisher is gone, are skipped; with none left, no offer is made.
    async fn offer_streams(self: &Arc<Self>, to: &Arc<Participant>, sources: &[String]) {
        let _round = to.negotiation.lock().await;
        // (publisher, stream id, its endpoint, its alias, its sinks)
        type Source = (
            String,
            String,
            String,
            Option<String>,
            Arc<Mutex<Vec<Sink>>>,
        );
        let publications: Vec<Source> = {
            let s = self.sessions.lock().expect("sfu lock");
            let Some(m) = s.get(&to.session_id) else {
                return;
            };
            sources
                .iter()
                .filter_map(|source| {
                    let p = m.publications.get(source)?;
                    Some((
                        source.clone(),
                        p.stream_id.clone(),
                        p.endpoint_id.clone(),
                        p.alias.clone(),
                        p.sinks.clone(),
                    ))
                })
                .collect()
        };
        if publications.is_empty() {
            return;
        }
        let mut sub = to.subscribe.lock().await;
        if sub.is_none() {
            let Ok((pc, rx)) = new_peer(self.ice_ip).await else {
                return;
            };
            if negotiated_channels(&pc).await.is_err() {
                return;
            }
            to.track(tokio::spawn(watch_subscriber(
                Arc::downgrade(self),
                Arc::downgrade(to),
                rx,
            )));
            *sub = Some(Subscribe {
                pc,
                endpoint_id: uuid::Uuid::new_v4().to_string(),
                revision: 0,
                offered: Default::default(),
            });
        }
        let side = sub.as_mut().expect("set above");
        let mut added = false;
        for (source, stream_id, source_endpoint, alias, sinks) in publications {
            if side.offered.contains_key(&stream_id) {
                continue;
            }
            let ssrc = rand_ssrc();
            let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                stream_id.clone(),
                format!("{stream_id}-audio"),
                "audio".to_string(),
                RtpCodecKind::Audio,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: opus(),
                    ..Default::default()
                }],
            )));
            let Ok(sender) = side.pc.add_track(track.clone()).await else {
                continue;
            };
            side.offered.insert(
                stream_id.clone(),
                Offered {
                    sender,
                    metadata: {
                        let mut m = json!({
                            "endpointId": source_endpoint, "mediaTypes": ["AUDIO"], "participantId": source,
                        });
                        if let Some(a) = alias {
                            m["alias"] = json!(a);
                        }
                        m
                    },
                },
            );
            sinks.lock().expect("sinks lock").push(Sink {
                to: to.id.clone(),
                track,
                ssrc,
                link: to.downlink.clone(),
                delayed: Arc::default(),
                up: to.subscriber_up.clone(),
            });
            added = true;
        }
        if added {
            Self::renegotiate(to, sub, false).await;
        }
    }

    /// `stream_id`'s publisher left: its track comes off `to`'s subscribing connection, and a
    /// new revision (without it) tells `to` so (Bandwidth's SDKs learn that a stream went away
    /// only from such an offer).
    async fn unoffer_stream(to: &Arc<Participant>, stream_id: &str) {
        let _round = to.negotiation.lock().await;
        let mut sub = to.subscribe.lock().await;
        let Some(side) = sub.as_mut() else {
            return;
        };
        let Some(offered) = side.offered.remove(stream_id) else {
            return;
        };
        if let Err(e) = side.pc.remove_track(&offered.sender).await {
            tracing::warn!("removing stream {stream_id} from {}: {e}", to.id);
            return;
        }
        tracing::info!(target: "dialtone_mock::sfu", "stream {stream_id} removed from {}", to.id);
        Self::renegotiate(to, sub, false).await;
    }

    /// One offer → answer round on `to`'s subscribing connection (a new `sdpRevision`); with
    /// `ice_restart`, new ICE credentials, for a connection that failed.
    async fn renegotiate(
        to: &Arc<Participant>,
        mut sub: tokio::sync::MutexGuard<'_, Option<Subscribe>>,
        ice_restart: bool,
    ) {
        let Some(side) = sub.as_mut() else {
            return;
        };
        let metadata = side.metadata();
        side.revision += 1;
        let options = ice_restart.then_some(RTCOfferOptions { ice_restart: true });
        let Ok(offer) = side.pc.create_offer(options).await else {
            return;
        };
        if side.pc.set_local_description(offer).await.is_err() {
            return;
        }
        wait_local_candidates(&side.pc).await;
        let Some(local) = side.pc.local_description().await else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        *to.pending_answer.lock().expect("answer lock") = Some(tx);
        to.notify(
            "sdpOffer",
            json!({
                "endpointId": side.endpoint_id,
                "sdpOffer": local.sdp,
                "sdpRevision": side.revision,
                "streamMetadata": metadata,
            }),
        );
        let pc = side.pc.clone();
        drop(sub);
        match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
            Ok(Ok(answer)) => match RTCSessionDescription::answer(answer) {
                Ok(desc) => {
                    if let Err(e) = pc.set_remote_description(desc).await {
                        tracing::warn!("subscriber answer rejected: {e}");
                    }
                }
                Err(e) => tracing::warn!("subscriber answer unparsable: {e}"),
            },
            _ => tracing::warn!("no answerSdp for revision from {}", to.id),
        }
    }

    /// `to`'s subscribing connection failed (an outage longer than ICE's timeouts): offer
    /// again with an ICE restart, as a publisher's client does for its own connection.
    async fn restart_subscriber(self: &Arc<Self>, to: &Arc<Participant>) {
        let _round = to.negotiation.lock().await;
        let sub = to.subscribe.lock().await;
        tracing::info!(target: "dialtone_mock::sfu", "subscribing connection of {} failed: ICE restart", to.id);
        Self::renegotiate(to, sub, true).await;
    }

    /// `leave`, or the socket closed: this participant is gone, and so is its stream from
    /// everyone else's subscribing connection (a new offer each).
    pub async fn leave(&self, p: &Arc<Participant>) {
        self.depart(p, false).await
    }

    /// `leave`, or its socket lost past the grace (`lost`).
    async fn depart(&self, p: &Arc<Participant>, lost: bool) {
        let mut unoffer: Vec<(Arc<Participant>, String)> = Vec::new();
        let removed = {
            let mut s = self.sessions.lock().expect("sfu lock");
            let mut removed = false;
            if let Some(m) = s.get_mut(&p.session_id) {
                if m.participants
                    .get(&p.id)
                    .is_some_and(|cur| Arc::ptr_eq(cur, p))
                {
                    m.participants.remove(&p.id);
                    if let Some(publication) = m.publications.remove(&p.id) {
                        for other in m.participants.values() {
                            unoffer.push((other.clone(), publication.stream_id.clone()));
                        }
                    }
                    for publication in m.publications.values() {
                        publication
                            .sinks
                            .lock()
                            .expect("sinks lock")
                            .retain(|sink| sink.to != p.id);
                    }
                    removed = true;
                }
                if m.participants.is_empty() {
                    s.remove(&p.session_id);
                }
            }
            removed
        };
        if removed {
            self.changes.touch();
            self.tell(
                p,
                if lost {
                    Connection::Lost
                } else {
                    Connection::Left
                },
            );
            for (to, stream_id) in unoffer {
                to.clone().track(tokio::spawn(async move {
                    Self::unoffer_stream(&to, &stream_id).await
                }));
            }
            close_participant(p.clone()).await;
        }
    }

    /// How many m-lines the participant's subscribing connection's current offer has (rooms:
    /// streams that come and go must not pile them up).
    pub async fn subscriber_m_lines(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Option<usize> {
        let p = self.participant(session_id, participant_id)?;
        let sub = p.subscribe.lock().await;
        let local = sub.as_ref()?.pc.local_description().await?;
        Some(local.sdp.lines().filter(|l| l.starts_with("m=")).count())
    }

    /// One participant is removed (it left its room over REST, or was deleted): its socket
    /// gets a Close frame and its stream goes from everyone else's connection.
    pub async fn remove(&self, session_id: &str, participant_id: &str) {
        if let Some(p) = self.participant(session_id, participant_id) {
            p.send(Outbound::Close);
            self.leave(&p).await;
        }
    }

    /// endCall or deleteClientIds: the whole media session goes, sockets included.
    pub async fn end_session(&self, session_id: &str) {
        let media = self.sessions.lock().expect("sfu lock").remove(session_id);
        if let Some(media) = media {
            self.changes.touch();
            for p in media.participants.into_values() {
                p.send(Outbound::Close);
                close_participant(p).await;
            }
        }
    }
}

/// webrtc-rs 0.21 fills `jitter` with the RTCP report's raw value, in RTP timestamp units,
/// though its docs say seconds (`rtc` peer_connection/handler/interceptor.rs). Opus's RTP
/// clock is always 48 kHz.
fn jitter_ms(units: f64) -> f64 {
    units / 48.0
}

async fn close_participant(p: Arc<Participant>) {
    for t in p.tasks.lock().expect("tasks lock").drain(..) {
        t.abort();
    }
    if let Some((pc, _)) = p.publish.lock().await.take() {
        let _ = pc.close().await;
    }
    if let Some(sub) = p.subscribe.lock().await.take() {
        let _ = sub.pc.close().await;
    }
}

/// A subscribing connection's events: on failure, restart its ICE, and again every 1 s until
/// it connects (a restart made during the outage checks, fails its checks, and would
/// otherwise wait for ICE's failure timeout before the next one).
async fn watch_subscriber(
    sfu: std::sync::Weak<Sfu>,
    to: std::sync::Weak<Participant>,
    mut rx: mpsc::UnboundedReceiver<PcEvent>,
) {
    let mut failing = false;
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    let restart = |sfu: &std::sync::Weak<Sfu>, to: &std::sync::Weak<Participant>| {
        if let (Some(sfu), Some(to)) = (sfu.upgrade(), to.upgrade()) {
            tokio::spawn(async move { sfu.restart_subscriber(&to).await });
            true
        } else {
            false
        }
    };
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(PcEvent::State(s)) => {
                    tracing::debug!("subscribing connection: {s}");
                    match s {
                        RTCPeerConnectionState::Failed => {
                            failing = true;
                            if let Some(p) = to.upgrade() {
                                p.subscriber_failing.store(true, std::sync::atomic::Ordering::SeqCst);
                            }
                            retry.reset();
                            if !restart(&sfu, &to) {
                                return;
                            }
                        }
                        RTCPeerConnectionState::Connected => {
                            failing = false;
                            if let Some(p) = to.upgrade() {
                                p.subscriber_failing.store(false, std::sync::atomic::Ordering::SeqCst);
                                p.subscriber_up.store(true, std::sync::atomic::Ordering::SeqCst);
                            }
                        }
                        _ => {}
                    }
                }
                Some(_) => {}
                None => return,
            },
            _ = retry.tick(), if failing => {
                if !restart(&sfu, &to) {
                    return;
                }
            }
        }
    }
}

/// Who is offered a new publication at once: every other participant that has sent its
/// `setMediaPreferences`. The rest get it from `ready` when they do.
fn fan_out_targets(media: &SessionMedia, publisher: &str) -> Vec<Arc<Participant>> {
    media
        .participants
        .values()
        .filter(|o| o.id != publisher && o.ready.load(std::sync::atomic::Ordering::SeqCst))
        .cloned()
        .collect()
}

async fn run_heartbeat(p: Arc<Participant>, channel: Arc<dyn DataChannel>, every: Duration) {
    let mut open = false;
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            ev = channel.poll() => match ev {
                // The first PING one interval after the channel opens: the participant opens
                // its side of the negotiated channel when its SCTP association is up, which
                // can be just after ours; a PING before that makes its stream, and its own
                // open then finds the stream taken ("already exists").
                Some(DataChannelEvent::OnOpen) => {
                    open = true;
                    tick.reset();
                }
                Some(DataChannelEvent::OnMessage(m)) if &m.data[..] == b"PONG" => {
                    p.pongs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Some(DataChannelEvent::OnClose) | None => return,
                Some(_) => {}
            },
            _ = tick.tick(), if open => {
                let _ = channel.send_text("PING").await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_sfu() -> Arc<Sfu> {
        Sfu::new(
            IpAddr::from([127, 0, 0, 1]),
            Duration::from_secs(5),
            Default::default(),
        )
    }

    /// A race CI hit with Chromium: a publication landing before a participant's
    /// `setMediaPreferences` was offered to it at once, so the offer reached the browser
    /// ahead of that request's reply, before it listened for offers, and the subscribing
    /// connection never came up. Only participants that are ready are fanned out to.
    #[tokio::test]
    async fn a_publication_is_fanned_out_only_to_participants_that_are_ready() {
        let sfu = loopback_sfu();
        let (out, _rx) = mpsc::unbounded_channel();
        sfu.attach("s", "publisher", "u-p", out.clone());
        let (early, _) = sfu.attach("s", "early", "u-e", out.clone());
        sfu.attach("s", "late", "u-l", out);
        let ids = |sfu: &Sfu| {
            let s = sfu.sessions.lock().unwrap();
            let mut ids: Vec<String> = fan_out_targets(&s["s"], "publisher")
                .iter()
                .map(|p| p.id.clone())
                .collect();
            ids.sort();
            ids
        };
        assert!(ids(&sfu).is_empty(), "nobody has chosen a protocol yet");
        sfu.ready(&early);
        assert_eq!(ids(&sfu), ["early"]);
        let publisher = sfu.participant("s", "publisher").unwrap();
        sfu.ready(&publisher);
        assert_eq!(ids(&sfu), ["early"], "never the publisher itself");
        for p in ["publisher", "early", "late"] {
            let p = sfu.participant("s", p).unwrap();
            sfu.leave(&p).await;
        }
    }

    /// A newcomer's catch-up: every stream already published comes in one offer (one
    /// revision, one m-line each, `streamMetadata` naming them all), not one revision per
    /// stream.
    #[tokio::test]
    async fn a_newcomer_is_offered_every_existing_stream_in_one_revision() {
        let sfu = loopback_sfu();
        let (to_out, mut to_rx) = mpsc::unbounded_channel();
        for src in ["a", "b"] {
            let (out, _rx) = mpsc::unbounded_channel();
            sfu.attach("s", src, &format!("u-{src}"), out);
            sfu.sessions
                .lock()
                .unwrap()
                .get_mut("s")
                .unwrap()
                .publications
                .insert(
                    src.into(),
                    Publication {
                        alias: None,
                        stream_id: format!("stream-{src}"),
                        endpoint_id: format!("endpoint-{src}"),
                        sinks: Arc::default(),
                    },
                );
        }
        let (to, _) = sfu.attach("s", "to", "u-to", to_out);
        sfu.ready(&to);
        let offer = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(Outbound::Text(text)) = to_rx.recv().await {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["method"] == "sdpOffer" {
                        return v["params"].clone();
                    }
                }
            }
        })
        .await
        .expect("an offer");
        let _ = sfu.answer_sdp(&to, "not an answer");
        assert_eq!(offer["sdpRevision"], 1);
        let sdp = offer["sdpOffer"].as_str().unwrap();
        let mut msids: Vec<&str> = sdp.lines().filter(|l| l.starts_with("a=msid:")).collect();
        msids.sort();
        assert_eq!(
            msids,
            [
                "a=msid:stream-a stream-a-audio",
                "a=msid:stream-b stream-b-audio"
            ],
            "{sdp}"
        );
        let mut listed: Vec<&String> = offer["streamMetadata"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        listed.sort();
        assert_eq!(listed, ["stream-a", "stream-b"]);
        assert_eq!(offer["streamMetadata"]["stream-a"]["participantId"], "a");
        // Nothing else follows: no second revision for the second stream.
        tokio::time::sleep(Duration::from_millis(300)).await;
        while let Ok(m) = to_rx.try_recv() {
            if let Outbound::Text(text) = m {
                assert!(!text.contains("sdpOffer"), "a second offer: {text}");
            }
        }
        for p in ["a", "b", "to"] {
            let p = sfu.participant("s", p).unwrap();
            sfu.leave(&p).await;
        }
    }

    /// The race CI hit with Chromium: a publication lands while a participant sends its
    /// `setMediaPreferences`, so `ready` (catch-up) and `published` (fan-out) both ask to
    /// offer the same stream. It is offered once, with one msid.
    #[tokio::test]
    async fn a_stream_asked_for_twice_is_offered_once() {
        let sfu = loopback_sfu();
        let (src_out, _src_rx) = mpsc::unbounded_channel();
        let (to_out, mut to_rx) = mpsc::unbounded_channel();
        sfu.attach("s", "src", "u-src", src_out);
        let (to, _) = sfu.attach("s", "to", "u-to", to_out);
        sfu.sessions
            .lock()
            .unwrap()
            .get_mut("s")
            .unwrap()
            .publications
            .insert(
                "src".into(),
                Publication {
                    alias: None,
                    stream_id: "stream-1".into(),
                    endpoint_id: "endpoint-1".into(),
                    sinks: Arc::default(),
                },
            );

        // The participant's side: answer every offer at once (with an answer the SFU
        // rejects, which ends the round), and keep what was offered.
        let offers: Arc<Mutex<Vec<String>>> = Arc::default();
        let answering = {
            let (sfu, to, offers) = (sfu.clone(), to.clone(), offers.clone());
            tokio::spawn(async move {
                while let Some(Outbound::Text(text)) = to_rx.recv().await {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["method"] == "sdpOffer" {
                        let sdp = v["params"]["sdpOffer"].as_str().unwrap().to_string();
                        offers.lock().unwrap().push(sdp);
                        let _ = sfu.answer_sdp(&to, "not an answer");
                    }
                }
            })
        };
        // Both rounds are over when these return (an offer is sent before its answer is
        // awaited), so every offer there will be has been seen.
        let src = ["src".to_string()];
        tokio::join!(sfu.offer_streams(&to, &src), sfu.offer_streams(&to, &src));
        answering.abort();
        sfu.leave(&to).await;
        let offers = offers.lock().unwrap().clone();
        assert_eq!(offers.len(), 1, "one offer for one stream: {offers:?}");
        let msids: Vec<&str> = offers[0]
            .lines()
            .filter(|l| l.starts_with("a=msid:"))
            .collect();
        assert_eq!(msids, ["a=msid:stream-1 stream-1-audio"], "{}", offers[0]);
    }
}
