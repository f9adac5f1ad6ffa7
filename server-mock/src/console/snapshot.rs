//! What the console shows, as one JSON document (`GET /mock/state`, and each `state` event of
//! `GET /mock/stream`): devices, Persons, calls with their time lines, live media
//! participants, the push log and the link conditioner. Everything secret is redacted here,
//! before it leaves the mock: device tokens as fingerprints, push payloads through
//! [`crate::redact::json`]; client secrets and participant tokens are never included.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::state::Device;
use crate::time::iso8601;
use crate::{Profile, Shared};

/// The push kind as an app developer names it (the wire says `GCM` / `APNS`).
fn push_kind(notify_type: &str) -> &'static str {
    match notify_type {
        "GCM" => "FCM",
        "APNS" => "APNs",
        _ => "unknown",
    }
}

fn device_json(shared: &Shared, d: &Device, name: Option<(String, String)>) -> Value {
    let extended = shared.config.profile == Profile::Extended;
    let mut features = Vec::new();
    if d.secret.is_some() {
        features.push("clientSecret");
    }
    let event_channels = shared.events.count(&d.id);
    if extended {
        features.push("callIds");
    }
    if event_channels > 0 {
        features.push("eventChannel");
    }
    json!({
        "clientId": d.id,
        "name": name.map(|(first, last)| format!("{first} {last}")),
        "pushKind": push_kind(&d.notify_type),
        "deviceToken": crate::redact::fingerprint(&d.device_token),
        "registeredAt": iso8601(d.registered_ms),
        "features": features,
        "eventChannels": event_channels,
        "sessionId": d.session_id.as_deref().filter(|s| !s.is_empty()),
    })
}

/// The whole console document, newest calls and pushes first.
pub fn build(shared: &Shared) -> Value {
    let st = shared.state.lock().expect("state lock");
    let mut devices: Vec<&Device> = st.devices.values().collect();
    devices.sort_by_key(|d| d.registered_seq);
    let client_of_token: std::collections::HashMap<&str, &str> = st
        .devices
        .values()
        .map(|d| (d.device_token.as_str(), d.id.as_str()))
        .collect();
    let persons: Vec<Value> = st
        .persons
        .values()
        .map(|p| {
            json!({
                "id": p.id,
                "firstName": p.first_name,
                "lastName": p.last_name,
                "clientId": p.client_id,
                "version": p.version,
                "deleted": p.deleted,
            })
        })
        .collect();
    let calls: Vec<Value> = st
        .call_logs
        .iter()
        .rev()
        .map(|c| {
            json!({
                "sessionId": c.session_id,
                "callId": c.call_id,
                "caller": c.caller,
                "callee": c.callee,
                "state": c.state,
                "startedAt": iso8601(c.started_ms),
                "endReason": c.end_reason,
                "timeline": c.timeline.iter().map(|(at, what)| json!({"at": iso8601(*at), "what": what})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let pushes: Vec<Value> = st
        .push_log
        .iter()
        .rev()
        .map(|p| {
            json!({
                "id": p.id,
                "at": iso8601(p.sent_at_ms),
                "clientId": client_of_token.get(p.device_token.as_str()),
                "deviceToken": crate::redact::fingerprint(&p.device_token),
                "pushKind": push_kind(&p.notify_type),
                "priority": p.priority,
                "payload": crate::redact::json(&p.body),
            })
        })
        .collect();
    let mut room_list: Vec<&crate::rooms::Room> = st.rooms.values().collect();
    room_list.sort_by_key(|r| std::cmp::Reverse(r.created_ms));
    let rooms: Vec<Value> = room_list
        .into_iter()
        .map(|r| {
            json!({
                "roomId": r.id,
                "sessionId": r.session_id,
                "seq": r.seq,
                "createdAt": iso8601(r.created_ms),
                "members": r.members.iter().map(|m| json!({
                    "clientId": m.client_id,
                    "name": m.name,
                    "connectionId": m.connection_id,
                    "muted": m.muted,
                    "joinedAt": iso8601(m.joined_ms),
                    "via": if m.ws_conn.is_some() { "ws" } else { "media" },
                })).collect::<Vec<_>>(),
                "invites": st.calls.values()
                    .filter(|c| c.room_id.as_deref() == Some(r.id.as_str()) && c.phase == crate::state::CallPhase::Ringing)
                    .map(|c| json!({"callId": c.id, "callee": c.callee}))
                    .collect::<Vec<_>>(),
                "timeline": r.timeline.iter().map(|(at, what)| json!({"at": iso8601(*at), "what": what})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let devices: Vec<Value> = devices
        .into_iter()
        .map(|d| device_json(shared, d, st.person_name_for_client(&d.id)))
        .collect();
    drop(st);
    json!({
        "profile": match shared.config.profile { Profile::Seed => "seed", Profile::Extended => "extended" },
        "devices": devices,
        "realtimeConnections": shared.realtime_connections.load(Ordering::Relaxed),
        "persons": persons,
        "calls": calls,
        "rooms": rooms,
        "media": shared.sfu.participants_json(),
        "pushes": pushes,
        "link": shared.sfu.links_json(),
        "linkProfiles": crate::link::profiles::NAMES,
    })
}
