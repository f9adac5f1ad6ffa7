//! Bandwidth's device signaling protocol v3, client side, as messages: the WebSocket URL,
//! JSON-RPC 2.0 requests/notifications out, responses/notifications in, the typed payloads
//! (`offerSdp`, `sdpOffer`, `answerSdp`, `setMediaPreferences`, `leave`, `ping`), and the SDP
//! `a=setup` rewrite Bandwidth's SDKs apply. No sockets here: `session` drives them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const HEARTBEAT_LABEL: &str = "__heartbeat__";
pub const DIAGNOSTICS_LABEL: &str = "__diagnostics__";
pub const HEARTBEAT_CHANNEL_ID: u16 = 0;
pub const DIAGNOSTICS_CHANNEL_ID: u16 = 1;
/// The SDK calls `ping` this often to keep the gateway's session alive.
pub const PING_INTERVAL_SECS: u64 = 300;
pub const CLIENT_NAME: &str = "dialtone";

/// `…/v3/?token=…&client=…&sdkVersion=…&uniqueId=…`
pub fn connect_url(signaling_url: &str, token: &str, unique_id: &str) -> Result<url::Url, String> {
    let mut url = crate::backend::urls::parse(signaling_url)
        .map_err(|e| format!("bad signaling URL: {e}"))?;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url.query_pairs_mut()
        .append_pair("token", token)
        .append_pair("client", CLIENT_NAME)
        .append_pair("sdkVersion", env!("CARGO_PKG_VERSION"))
        .append_pair("uniqueId", unique_id);
    Ok(url)
}

pub fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

pub fn notification(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Response {
        id: u64,
        result: Result<Value, RpcError>,
    },
    Notification {
        method: String,
        params: Value,
    },
}

pub fn parse_inbound(text: &str) -> Result<Inbound, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err("not a JSON-RPC 2.0 message".into());
    }
    if let Some(method) = v.get("method").and_then(Value::as_str) {
        return Ok(Inbound::Notification {
            method: method.to_string(),
            params: v.get("params").cloned().unwrap_or(Value::Null),
        });
    }
    let id = v
        .get("id")
        .and_then(|i| {
            i.as_u64()
                .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
        })
        .ok_or("response without a numeric id")?;
    if let Some(err) = v.get("error") {
        return Ok(Inbound::Response {
            id,
            result: Err(RpcError {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unspecified error")
                    .to_string(),
            }),
        });
    }
    Ok(Inbound::Response {
        id,
        result: Ok(v.get("result").cloned().unwrap_or(Value::Null)),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamMetadata {
    #[serde(rename = "endpointId")]
    pub endpoint_id: String,
    #[serde(rename = "mediaTypes", default)]
    pub media_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(rename = "participantId")]
    pub participant_id: String,
}

/// The `offerSdp` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PublishAnswer {
    #[serde(rename = "endpointId")]
    pub endpoint_id: String,
    #[serde(rename = "sdpAnswer")]
    pub sdp_answer: String,
    #[serde(rename = "streamMetadata", default)]
    pub stream_metadata: HashMap<String, StreamMetadata>,
}

/// The server's `sdpOffer` notification for the subscribing connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubscribeOffer {
    #[serde(rename = "endpointId")]
    pub endpoint_id: String,
    #[serde(rename = "sdpOffer")]
    pub sdp_offer: String,
    #[serde(rename = "sdpRevision")]
    pub sdp_revision: u64,
    #[serde(rename = "streamMetadata", default)]
    pub stream_metadata: HashMap<String, StreamMetadata>,
}

/// The `offerSdp` parameters: the offer, the published stream ids, and the negotiated
/// data channels by label.
/// The stream this device publishes: its msid, and the `alias` it gives it (others see it
/// in their `streamMetadata`: a room names its members' streams by their clientId).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnStream {
    pub id: String,
    pub alias: Option<String>,
}

pub fn offer_params(sdp_offer: &str, own: &OwnStream) -> Value {
    let mut streams = serde_json::Map::new();
    streams.insert(
        own.id.clone(),
        match &own.alias {
            Some(a) => json!({"alias": a}),
            None => json!({}),
        },
    );
    json!({
        "sdpOffer": sdp_offer,
        "mediaMetadata": {
            "mediaStreams": streams,
            "dataChannels": {
                HEARTBEAT_LABEL: {"label": HEARTBEAT_LABEL, "streamId": HEARTBEAT_CHANNEL_ID},
                DIAGNOSTICS_LABEL: {"label": DIAGNOSTICS_LABEL, "streamId": DIAGNOSTICS_CHANNEL_ID},
            },
        },
    })
}

/// Rewrites every `a=setup:` line of an SDP to `role` (Bandwidth's SDKs set `actpass` on the
/// server's offer and `passive` on their answer).
pub fn rewrite_setup(sdp: &str, role: &str) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(sdp.len());
    // Lines as the SDP parser reads them: split at '\n', the '\r's it skips before a line's
    // type (any number) and the one before the '\n' dropped.
    for raw in sdp.split('\n') {
        let line = raw.trim_start_matches('\r');
        let line = line.strip_suffix('\r').unwrap_or(line);
        // The session URI (informational, RFC 8866 §5.5; JSEP ignores it) and a non-ASCII
        // extension URI go no further: webrtc's parser hands them to the URL parser, whose
        // ASCII-only IDNA step is not for them (fuzzing, `sdp_offer`).
        if line.is_empty()
            || line.starts_with("u=")
            || (line.starts_with("a=extmap") && !line.is_ascii())
        {
            continue;
        }
        if line.starts_with("a=setup:") {
            out.push_str("a=setup:");
            out.push_str(role);
        } else {
            out.push_str(line);
        }
        out.push_str(eol);
    }
    out
}

/// Whether the far end of an SDP asks for Opus DTX (`usedtx=1` on an `a=fmtp:` line of
/// the Opus payload type, RFC 7587 §7: a receiver's preference, which a sender follows).
pub fn prefers_dtx(sdp: &str) -> bool {
    let opus_pts: Vec<&str> = sdp
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("a=rtpmap:"))
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, codec)| codec.to_ascii_lowercase().starts_with("opus/"))
        .map(|(pt, _)| pt)
        .collect();
    sdp.lines()
        .filter_map(|l| l.trim_end().strip_prefix("a=fmtp:"))
        .filter_map(|l| l.split_once(' '))
        .filter(|(pt, _)| opus_pts.contains(pt))
        .any(|(_, params)| {
            params
                .split(';')
                .any(|p| p.trim().eq_ignore_ascii_case("usedtx=1"))
        })
}

/// Tracks the last applied `sdpRevision`: an offer that is not newer is ignored.
#[derive(Debug, Default)]
pub struct RevisionGate {
    applied: Option<u64>,
}

impl RevisionGate {
    pub fn is_newer(&self, revision: u64) -> bool {
        self.applied.is_none_or(|a| revision > a)
    }

    pub fn applied(&mut self, revision: u64) {
        self.applied = Some(revision);
    }
}

/// The streams a subscribe offer sends us: the msid stream id of each audio section that is
/// not rejected (port 0) and whose direction sends (`sendrecv`, the default, or `sendonly`).
/// A stream the SFU stopped sending (its publisher left) is gone from the list: the SFU
/// removed its track, so its section is `recvonly` or `inactive`. `None` when the offer does
/// not parse or a sending section names no stream: then nothing can be told apart.
pub fn sending_streams(sdp: &str) -> Option<Vec<String>> {
    let parsed =
        rtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(sdp.as_bytes())).ok()?;
    let mut streams = Vec::new();
    for m in &parsed.media_descriptions {
        if m.media_name.media != "audio" || m.media_name.port.value == 0 {
            continue;
        }
        let sends = !(m.has_attribute("recvonly") || m.has_attribute("inactive"));
        if !sends {
            continue;
        }
        let msid = m.attribute("msid").flatten().or_else(|| {
            // The older form: `a=ssrc:<ssrc> msid:<stream> <track>`.
            m.attributes
                .iter()
                .filter(|a| a.key == "ssrc")
                .filter_map(|a| a.value.as_deref())
                .find_map(|v| v.split_once(" msid:").map(|(_, rest)| rest))
        })?;
        let stream = msid.split_whitespace().next()?;
        if stream == "-" {
            return None;
        }
        streams.push(stream.to_string());
    }
    Some(streams)
}

#[cfg(test)]
mod tests {

    /// A gateway's offer with a URI the parser would pass to the URL parser's IDNA step
    /// (non-ASCII host, uppercase ASCII): fuzzing found it tripping idna_adapter's debug
    /// assertion inside webrtc's SDP parser. The rewrite drops the informational `u=` line
    /// and any non-ASCII `a=extmap`, so the parser never sees them.
    #[test]
    fn uris_the_parser_cannot_take_never_reach_it() {
        let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nu=https://A\u{fc}.x/\r\nt=0 0\r\n\
                     m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
                     a=extmap:1 https://B\u{fc}.y/\r\na=setup:actpass\r\n";
        let rewritten = rewrite_setup(offer, "active");
        assert!(!rewritten.contains("u="), "{rewritten}");
        assert!(!rewritten.contains("extmap"), "{rewritten}");
        assert!(rewritten.contains("a=setup:active"));
        let parsed = rtc::peer_connection::sdp::RTCSessionDescription::offer(rewritten)
            .unwrap()
            .unmarshal();
        assert!(parsed.is_ok(), "{parsed:?}");
        // A URI line behind a bare '\n' in a CRLF offer is a line to the parser too.
        let hidden = rewrite_setup("v=0\r\ns=-\nu=https://A\u{fc}.x/\r\n", "active");
        assert!(!hidden.contains("u="), "{hidden}");
        // And behind '\r's, which the parser skips before a line's type (fuzzing found it).
        for hidden in [
            "v=0\r\ns=-\n\ru=WS:A\u{e6}AA.x/\r\n",
            "v=0\r\ns=-\r\n\r\r\ru=https://A\u{fc}.x/\r\n",
        ] {
            let rewritten = rewrite_setup(hidden, "active");
            assert!(!rewritten.contains("u="), "{rewritten:?}");
        }
        // An ASCII extmap stays.
        let kept = rewrite_setup(
            "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n",
            "active",
        );
        assert!(kept.contains("extmap"));
    }

    use super::*;

    #[test]
    fn the_streams_an_offer_sends_are_its_sending_audio_sections() {
        let section = |msid: &str, direction: &str, port: u16| {
            format!(
                "m=audio {port} UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
                 a=rtpmap:111 opus/48000/2\r\n{direction}{msid}"
            )
        };
        let offer = |sections: &[String]| {
            format!(
                "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n{}\
                 m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n",
                sections.concat()
            )
        };
        let two = offer(&[
            section("a=msid:alice alice-audio\r\n", "a=sendrecv\r\n", 9),
            section("a=msid:carol carol-audio\r\n", "a=sendonly\r\n", 9),
        ]);
        assert_eq!(sending_streams(&two).unwrap(), ["alice", "carol"]);
        // Carol left: her section no longer sends (the SFU removed her track), or is
        // rejected.
        for gone in [
            section("", "a=recvonly\r\n", 9),
            section("a=msid:carol carol-audio\r\n", "a=inactive\r\n", 9),
            section("a=msid:carol carol-audio\r\n", "a=sendonly\r\n", 0),
        ] {
            let sdp = offer(&[
                section("a=msid:alice alice-audio\r\n", "a=sendrecv\r\n", 9),
                gone,
            ]);
            assert_eq!(sending_streams(&sdp).unwrap(), ["alice"], "{sdp}");
        }
        // The older ssrc form, and no direction (sendrecv).
        let legacy = offer(&[section("a=ssrc:1 msid:bob bob-audio\r\n", "", 9)]);
        assert_eq!(sending_streams(&legacy).unwrap(), ["bob"]);
        // A sending section without a stream id: nothing can be told apart.
        assert_eq!(sending_streams(&offer(&[section("", "", 9)])), None);
        assert_eq!(
            sending_streams(&offer(&[section("a=msid:- x\r\n", "", 9)])),
            None
        );
        assert_eq!(sending_streams("not sdp"), None);
    }

    #[test]
    fn dtx_is_used_only_when_the_opus_fmtp_asks_for_it() {
        let sdp = |fmtp: &str| {
            format!("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n{fmtp}\r\n")
        };
        assert!(prefers_dtx(&sdp(
            "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1"
        )));
        assert!(prefers_dtx(&sdp("a=fmtp:111 usedtx=1; minptime=10")));
        assert!(!prefers_dtx(&sdp("a=fmtp:111 minptime=10;useinbandfec=1")));
        assert!(!prefers_dtx(&sdp("a=fmtp:111 minptime=10;usedtx=0")));
        assert!(
            !prefers_dtx(&sdp("a=fmtp:0 usedtx=1")),
            "not Opus's payload type"
        );
    }

    #[test]
    fn url_carries_token_client_version_and_unique_id() {
        let url = connect_url("wss://device.webrtc.bandwidth.com/v3", "tok", "u-1").unwrap();
        assert_eq!(url.path(), "/v3/");
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["token"], "tok");
        assert_eq!(q["client"], CLIENT_NAME);
        assert_eq!(q["uniqueId"], "u-1");
        assert!(q.contains_key("sdkVersion"));
    }

    #[test]
    fn parses_responses_errors_and_notifications() {
        assert_eq!(
            parse_inbound(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Ok(Inbound::Response {
                id: 3,
                result: Ok(json!({}))
            })
        );
        assert_eq!(
            parse_inbound(r#"{"jsonrpc":"2.0","id":"4","error":{"code":-32601,"message":"nope"}}"#),
            Ok(Inbound::Response {
                id: 4,
                result: Err(RpcError {
                    code: -32601,
                    message: "nope".into()
                })
            })
        );
        let n = parse_inbound(r#"{"jsonrpc":"2.0","method":"sdpOffer","params":{"endpointId":"e","sdpOffer":"v=0","sdpRevision":2,"streamMetadata":{}}}"#).unwrap();
        let Inbound::Notification { method, params } = n else {
            panic!()
        };
        assert_eq!(method, "sdpOffer");
        let offer: SubscribeOffer = serde_json::from_value(params).unwrap();
        assert_eq!(offer.sdp_revision, 2);
        assert!(parse_inbound("{}").is_err());
        assert!(parse_inbound(r#"{"jsonrpc":"2.0","result":1}"#).is_err());
    }

    #[test]
    fn offer_params_name_the_negotiated_channels() {
        let mut own = OwnStream {
            id: "stream-1".into(),
            alias: None,
        };
        let p = offer_params("v=0", &own);
        assert_eq!(
            p["mediaMetadata"]["dataChannels"]["__heartbeat__"]["streamId"],
            0
        );
        assert_eq!(
            p["mediaMetadata"]["dataChannels"]["__diagnostics__"]["streamId"],
            1
        );
        assert_eq!(p["mediaMetadata"]["mediaStreams"]["stream-1"], json!({}));
        own.alias = Some("client-1".into());
        let p = offer_params("v=0", &own);
        assert_eq!(
            p["mediaMetadata"]["mediaStreams"]["stream-1"],
            json!({"alias": "client-1"})
        );
    }

    #[test]
    fn setup_rewrite_and_revision_gate() {
        let sdp = "v=0\r\na=setup:active\r\nm=audio 9 UDP 111\r\na=setup:actpass\r\n";
        assert_eq!(
            rewrite_setup(sdp, "passive"),
            "v=0\r\na=setup:passive\r\nm=audio 9 UDP 111\r\na=setup:passive\r\n"
        );
        let mut gate = RevisionGate::default();
        assert!(gate.is_newer(1));
        gate.applied(2);
        assert!(!gate.is_newer(2) && !gate.is_newer(1) && gate.is_newer(3));
    }
}
