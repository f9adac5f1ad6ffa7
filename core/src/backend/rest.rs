//! Client for the backend's REST Lambda (`POST {rest_url}` with an `action`): register,
//! initiateCall, endCall, deleteClientIds, and where the backend has them (the extended
//! profile) answerCall, declineCall, cancelCall and renewToken. It knows the seed's bodies and error
//! shapes (BACKEND.md §1) and the extensions' additive fields (`clientSecret`, `callId`,
//! `Authorization: Bearer`), and nothing of UniFFI, identity or storage.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::backend::http::HttpClient;
use crate::backend::http::{network_error, NetworkError};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RestError {
    /// The seed's only machine-readable error: caller or callee already in a session.
    #[error("busy: {0}")]
    Busy(String),
    /// 403: the client secret is not this clientId's.
    #[error("refused (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The backend does not know the clientId acted for (a restarted or wiped backend, or
    /// the id was deleted): extended 401 (no client has that secret), or the seed's
    /// `No device registered for clientId|callerId …`. The device must register again.
    #[error("the backend does not know this device: {0}")]
    UnknownClient(String),
    /// Extended profile: the call is over, unknown, or already answered (`code` says which).
    #[error("{message}")]
    CallGone { code: String, message: String },
    /// Rooms: the room is over or unknown (`ROOM_NOT_FOUND`).
    #[error("{0}")]
    RoomGone(String),
    /// Rooms: the room has as many members as it may (`ROOM_FULL`).
    #[error("{0}")]
    RoomFull(String),
    /// The backend has no rooms (the seed answers "Unknown action!").
    #[error("this backend has no rooms")]
    RoomsUnavailable,
    #[error("backend error (HTTP {status}): {message}")]
    Backend { status: u16, message: String },
    /// The request did not get an answer (the URL is stripped: it can carry ids).
    #[error("network error: {0}")]
    Network(#[source] NetworkError),
    #[error("unexpected response: {0}")]
    Decode(String),
}

/// How the device receives pushes, in the backend's words (`notifyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyType {
    Gcm,
    Apns,
}

impl NotifyType {
    pub fn as_wire(self) -> &'static str {
        match self {
            NotifyType::Gcm => "GCM",
            NotifyType::Apns => "APNS",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DeviceRow {
    /// The clientId.
    pub id: String,
    #[serde(rename = "notifyType")]
    pub notify_type: String,
    /// Extended profile only: the bearer secret for every later action on this clientId.
    #[serde(rename = "clientSecret", default)]
    pub client_secret: Option<String>,
}

/// What initiateCall gives the caller: its participant token, and in the extended profile
/// the call's id.
#[derive(Clone, PartialEq)]
pub struct Initiated {
    pub token: String,
    pub call_id: Option<String>,
}

#[derive(Clone)]
pub struct RestClient {
    http: HttpClient,
    url: String,
}

impl RestClient {
    /// `http`: the client's one HTTP client (`backend::tls::http_client`), shared with AppSync.
    pub fn new(http: HttpClient, url: impl Into<String>) -> Self {
        Self {
            http,
            url: url.into(),
        }
    }

    pub(super) async fn call(&self, body: Value, secret: Option<&str>) -> Result<Value, RestError> {
        let bearer = secret.map(|s| format!("Bearer {s}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("Authorization", b))
            .into_iter()
            .collect();
        let resp = self
            .http
            .post_json(&self.url, &headers, body.to_string().as_bytes())
            .await
            .map_err(|e| match e {
                crate::backend::http::HttpError::TooLarge => {
                    RestError::Decode("response body too large".into())
                }
                e => RestError::Network(network_error(e)),
            })?;
        interpret(resp.status, &resp.body)
    }

    /// `secret`: the current client's, when moving to a new push token (the extended backend
    /// then keeps the new clientId in the same installation).
    pub async fn register(
        &self,
        notify: NotifyType,
        device_token: &str,
        secret: Option<&str>,
    ) -> Result<DeviceRow, RestError> {
        let v = self
            .call(
                json!({"action": "register", "notifyType": notify.as_wire(), "deviceToken": device_token}),
                secret,
            )
            .await?;
        let row: DeviceRow = serde_json::from_value(v)
            .map_err(|e| RestError::Decode(format!("register reply: {e}")))?;
        if row.id.is_empty() {
            return Err(RestError::Decode("register reply has an empty id".into()));
        }
        Ok(row)
    }

    pub async fn initiate_call(
        &self,
        caller_id: &str,
        callee_id: &str,
        secret: Option<&str>,
    ) -> Result<Initiated, RestError> {
        let v = self
            .call(
                json!({"action": "initiateCall", "callerId": caller_id, "calleeId": callee_id}),
                secret,
            )
            .await?;
        Ok(Initiated {
            token: token_of(&v, "initiateCall")?,
            call_id: v
                .get("callId")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
        })
    }

    /// `call_id` (extended backend): end only that call. Without it the backend ends
    /// whatever session the device's row names, which by then may be a newer call.
    pub async fn end_call(
        &self,
        client_id: &str,
        call_id: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), RestError> {
        self.call(end_call_body(client_id, call_id), secret)
            .await
            .map(|_| ())
    }

    /// An extended action on a call (`{action, clientId, callId}`) whose reply is a token.
    async fn token_for_call(
        &self,
        action: &str,
        client_id: &str,
        call_id: &str,
        secret: &str,
    ) -> Result<String, RestError> {
        let v = self
            .call(
                json!({"action": action, "clientId": client_id, "callId": call_id}),
                Some(secret),
            )
            .await?;
        token_of(&v, action)
    }

    /// Extended profile: the callee takes the call and receives its participant token.
    pub async fn answer_call(
        &self,
        client_id: &str,
        call_id: &str,
        secret: &str,
    ) -> Result<String, RestError> {
        self.token_for_call("answerCall", client_id, call_id, secret)
            .await
    }

    /// Extended profile: a fresh participant token for this device's participant of the call
    /// (the old one expired or was refused on resume).
    pub async fn renew_token(
        &self,
        client_id: &str,
        call_id: &str,
        secret: &str,
    ) -> Result<String, RestError> {
        self.token_for_call("renewToken", client_id, call_id, secret)
            .await
    }

    /// Extended profile: the callee declines a ringing call (`busy` tells the caller why).
    pub async fn decline_call(
        &self,
        client_id: &str,
        call_id: &str,
        busy: bool,
        secret: &str,
    ) -> Result<(), RestError> {
        let reason = if busy { "busy" } else { "declined" };
        self.call(
            json!({"action": "declineCall", "clientId": client_id, "callId": call_id, "reason": reason}),
            Some(secret),
        )
        .await
        .map(|_| ())
    }

    /// Extended profile: the caller gives up before an answer.
    pub async fn cancel_call(
        &self,
        client_id: &str,
        call_id: &str,
        secret: &str,
    ) -> Result<(), RestError> {
        self.call(
            json!({"action": "cancelCall", "clientId": client_id, "callId": call_id}),
            Some(secret),
        )
        .await
        .map(|_| ())
    }

    /// Returns the ids the backend actually deleted.
    pub async fn delete_client_ids(
        &self,
        ids: &[String],
        secret: Option<&str>,
    ) -> Result<Vec<String>, RestError> {
        let v = self
            .call(
                json!({"action": "deleteClientIds", "clientIds": ids}),
                secret,
            )
            .await?;
        let deleted = v
            .get("deletedIds")
            .and_then(Value::as_array)
            .ok_or_else(|| RestError::Decode("deleteClientIds reply has no deletedIds".into()))?;
        Ok(deleted
            .iter()
            .filter_map(|d| d.get("id").and_then(Value::as_str))
            .map(str::to_string)
            .collect())
    }
}

fn end_call_body(client_id: &str, call_id: Option<&str>) -> Value {
    let mut body = json!({"action": "endCall", "clientId": client_id});
    if let Some(id) = call_id {
        body["callId"] = json!(id);
    }
    body
}

fn token_of(v: &Value, action: &str) -> Result<String, RestError> {
    v.get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| RestError::Decode(format!("{action} reply has no token")))
}

/// Maps a Lambda reply to success or a typed error. A truthy `error` means failure whatever
/// the status; `"BUSY"` is the one error a program can act on.
pub fn interpret(status: u16, raw: &[u8]) -> Result<Value, RestError> {
    let parsed: Option<Value> = serde_json::from_slice(raw).ok();
    let message = |v: &Value| {
        v.get("message")
            .and_then(Value::as_str)
            .or_else(|| v.get("error").and_then(Value::as_str))
            .map(str::to_string)
    };
    if status == 401 {
        return Err(RestError::UnknownClient(
            parsed
                .as_ref()
                .and_then(message)
                .unwrap_or_else(|| "HTTP 401".into()),
        ));
    }
    if status == 403 {
        return Err(RestError::Unauthorized {
            status,
            message: parsed
                .as_ref()
                .and_then(message)
                .unwrap_or_else(|| format!("HTTP {status}")),
        });
    }
    match parsed {
        Some(v) if is_truthy(v.get("error")) => {
            let code = v.get("error").and_then(Value::as_str).unwrap_or_default();
            if code == "BUSY" {
                return Err(RestError::Busy(
                    message(&v).unwrap_or_else(|| "busy".into()),
                ));
            }
            if matches!(code, "CALL_ENDED" | "CALL_NOT_FOUND" | "ALREADY_ANSWERED") {
                return Err(RestError::CallGone {
                    code: code.to_string(),
                    message: message(&v).unwrap_or_else(|| code.to_string()),
                });
            }
            if code == "ROOM_NOT_FOUND" {
                return Err(RestError::RoomGone(
                    message(&v).unwrap_or_else(|| code.to_string()),
                ));
            }
            if code == "ROOM_FULL" {
                return Err(RestError::RoomFull(
                    message(&v).unwrap_or_else(|| code.to_string()),
                ));
            }
            let message = message(&v).unwrap_or_else(|| "unknown error".into());
            // The mock's words for a device it does not have (the real Lambda's are not
            // documented: BACKEND.md §1 says only that other failures are 500s).
            if message.contains("No device registered for clientId")
                || message.contains("No device registered for callerId")
            {
                return Err(RestError::UnknownClient(message));
            }
            Err(RestError::Backend { status, message })
        }
        Some(v) if (200..300).contains(&status) => Ok(v),
        Some(v) => Err(RestError::Backend {
            status,
            message: message(&v).unwrap_or_else(|| format!("HTTP {status}")),
        }),
        None if (200..300).contains(&status) => Err(RestError::Decode("reply is not JSON".into())),
        None => Err(RestError::Backend {
            status,
            message: String::from_utf8_lossy(&raw[..raw.len().min(200)])
                .trim()
                .to_string(),
        }),
    }
}

fn is_truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        // An Error object thrown in the Lambda serialises as `{}`: still an error.
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_call_names_the_call_only_when_it_has_an_id() {
        assert_eq!(
            end_call_body("c1", None),
            json!({"action": "endCall", "clientId": "c1"})
        );
        assert_eq!(
            end_call_body("c1", Some("call-9")),
            json!({"action": "endCall", "clientId": "c1", "callId": "call-9"})
        );
    }

    #[test]
    fn busy_is_recognised_from_its_error_code() {
        let body = br#"{"message":"ERROR :: Callee already in a session!","error":"BUSY"}"#;
        assert_eq!(
            interpret(500, body),
            Err(RestError::Busy(
                "ERROR :: Callee already in a session!".into()
            ))
        );
    }

    #[test]
    fn thrown_error_object_is_a_backend_error_with_its_message() {
        let body = br#"{"message":"boom","error":{}}"#;
        assert_eq!(
            interpret(500, body),
            Err(RestError::Backend {
                status: 500,
                message: "boom".into()
            })
        );
    }

    #[test]
    fn unknown_action_message_comes_from_the_error_string() {
        let body = br#"{"error":"ERROR :: Unknown action!"}"#;
        assert_eq!(
            interpret(500, body),
            Err(RestError::Backend {
                status: 500,
                message: "ERROR :: Unknown action!".into()
            })
        );
    }

    #[test]
    fn an_unknown_device_is_told_apart_from_an_unknown_callee() {
        let me = br#"{"message":"ERROR :: No device registered for clientId c-1","error":{}}"#;
        assert_eq!(
            interpret(500, me),
            Err(RestError::UnknownClient(
                "ERROR :: No device registered for clientId c-1".into()
            ))
        );
        let caller = br#"{"message":"ERROR :: No device registered for callerId c-1","error":{}}"#;
        assert!(matches!(
            interpret(500, caller),
            Err(RestError::UnknownClient(_))
        ));
        // The callee being unknown says nothing about this device.
        let callee = br#"{"message":"ERROR :: No device registered for calleeId c-2","error":{}}"#;
        assert!(matches!(
            interpret(500, callee),
            Err(RestError::Backend { status: 500, .. })
        ));
    }

    #[test]
    fn extended_auth_and_call_state_errors_are_typed() {
        let forbidden = br#"{"message":"cannot act for another clientId","error":"FORBIDDEN"}"#;
        assert_eq!(
            interpret(403, forbidden),
            Err(RestError::Unauthorized {
                status: 403,
                message: "cannot act for another clientId".into()
            })
        );
        // 401: no client has this secret; the backend does not know the device.
        assert_eq!(
            interpret(401, b""),
            Err(RestError::UnknownClient("HTTP 401".into()))
        );
        let unauthorized = br#"{"message":"a valid bearer is required","error":"UNAUTHORIZED"}"#;
        assert_eq!(
            interpret(401, unauthorized),
            Err(RestError::UnknownClient(
                "a valid bearer is required".into()
            ))
        );
        let ended = br#"{"message":"ERROR :: The call has ended","error":"CALL_ENDED"}"#;
        assert_eq!(
            interpret(500, ended),
            Err(RestError::CallGone {
                code: "CALL_ENDED".into(),
                message: "ERROR :: The call has ended".into()
            })
        );
    }

    #[test]
    fn success_and_non_json_replies() {
        assert_eq!(
            interpret(200, br#"{"token":"t"}"#),
            Ok(json!({"token": "t"}))
        );
        assert!(matches!(
            interpret(200, b"<html>"),
            Err(RestError::Decode(_))
        ));
        assert_eq!(
            interpret(502, b"Bad Gateway"),
            Err(RestError::Backend {
                status: 502,
                message: "Bad Gateway".into()
            })
        );
        // A falsy error field is not an error.
        assert_eq!(
            interpret(200, br#"{"error":null,"x":1}"#),
            Ok(json!({"error": null, "x": 1}))
        );
    }
}
