//! The push outbox: every notification the backend would hand to Pinpoint, recorded exactly
//! as the phone receives it (FCM data map with `pinpoint.*` keys, or the APNs payload), and
//! `GET /mock/pushes?deviceToken=…&waitMs=…`, which drains or long-polls a device's queue.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::Shared;

pub const MAX_WAIT_MS: u64 = 30_000;

/// The notification for an incoming call, as BACKEND.md §2 describes Pinpoint's output.
pub fn incoming_call_push(notify_type: &str, first: &str, last: &str, callee_token: &str) -> Value {
    let title = "Incoming Call";
    let body = format!("{first} {last} is calling you");
    let deeplink = format!("https://my.app.com/incomingCall?tok={callee_token}");
    if notify_type == "APNS" {
        json!({
            "aps": {"alert": {"title": title, "body": body}},
            "data": {"pinpoint": {"deeplink": deeplink}},
        })
    } else {
        json!({
            "pinpoint.notification.title": title,
            "pinpoint.notification.body": body,
            "pinpoint.deeplink": deeplink,
        })
    }
}

/// The extended profile's push: the seed's title and body, plus `callId`, `callerId`,
/// `callerName` and `sentAt` (epoch ms), and no bearer token: the callee fetches its own
/// participant token with `answerCall`. A room invite adds `roomID` and `memberCount`.
pub fn extended_call_push(
    notify_type: &str,
    first: &str,
    last: &str,
    call: &crate::state::CallRecord,
    room: Option<(&str, usize)>,
) -> Value {
    let title = "Incoming Call";
    let body = format!("{first} {last} is calling you");
    let deeplink = format!("https://my.app.com/incomingCall?callId={}", call.id);
    let mut fields = json!({
        "callId": call.id,
        "callerId": call.caller,
        "callerName": format!("{first} {last}"),
        "sentAt": call.created_ms.to_string(),
    });
    if let Some((room_id, members)) = room {
        // FCM data values are strings.
        fields["roomID"] = json!(room_id);
        fields["memberCount"] = json!(members.to_string());
    }
    if notify_type == "APNS" {
        let mut data = json!({"pinpoint": {"deeplink": deeplink}});
        data.as_object_mut()
            .expect("object literal")
            .extend(fields.as_object().cloned().unwrap_or_default());
        json!({"aps": {"alert": {"title": title, "body": body}}, "data": data})
    } else {
        let mut map = json!({
            "pinpoint.notification.title": title,
            "pinpoint.notification.body": body,
            "pinpoint.deeplink": deeplink,
        });
        map.as_object_mut()
            .expect("object literal")
            .extend(fields.as_object().cloned().unwrap_or_default());
        map
    }
}

pub async fn take(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let Some(device_token) = q.get("deviceToken").filter(|t| !t.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "deviceToken is required"})),
        );
    };
    let wait_ms = match q.get("waitMs").map(|w| w.parse::<u64>()) {
        None => 0,
        Some(Ok(w)) => w.min(MAX_WAIT_MS),
        Some(Err(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "waitMs must be a whole number"})),
            )
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    loop {
        // Register interest before looking, so a push that lands in between still wakes us.
        let notified = shared.outbox_changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let pushes = shared
            .state
            .lock()
            .expect("state lock")
            .take_pushes(device_token);
        if !pushes.is_empty() || tokio::time::Instant::now() >= deadline {
            let pushes: Vec<Value> = pushes.iter().map(|p| p.to_json()).collect();
            return (StatusCode::OK, Json(json!({ "pushes": pushes })));
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            continue;
        }
    }
}
