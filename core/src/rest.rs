//! Client for the backend's REST Lambda (`POST {rest_url}` with an `action`): register,
//! initiateCall, endCall, deleteClientIds. It knows the seed's bodies and error shapes
//! (BACKEND.md §1), and nothing of UniFFI, identity or storage.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::body::{read_capped, BodyError};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RestError {
    /// The seed's only machine-readable error: caller or callee already in a session.
    #[error("busy: {0}")]
    Busy(String),
    #[error("backend error (HTTP {status}): {message}")]
    Backend { status: u16, message: String },
    #[error("network error: {0}")]
    Network(String),
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
}

#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    url: String,
}

impl RestClient {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            http: crate::tls::http_client(Duration::from_secs(20)),
            url: url.into(),
        }
    }

    async fn call(&self, body: Value) -> Result<Value, RestError> {
        let resp = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| RestError::Network(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let raw = read_capped(resp).await.map_err(|e| match e {
            BodyError::TooLarge => RestError::Decode("response body too large".into()),
            BodyError::Network(e) => RestError::Network(e.without_url().to_string()),
        })?;
        interpret(status, &raw)
    }

    pub async fn register(
        &self,
        notify: NotifyType,
        device_token: &str,
    ) -> Result<DeviceRow, RestError> {
        let v = self
            .call(json!({"action": "register", "notifyType": notify.as_wire(), "deviceToken": device_token}))
            .await?;
        let row: DeviceRow = serde_json::from_value(v)
            .map_err(|e| RestError::Decode(format!("register reply: {e}")))?;
        if row.id.is_empty() {
            return Err(RestError::Decode("register reply has an empty id".into()));
        }
        Ok(row)
    }

    /// Returns the caller's participant token.
    pub async fn initiate_call(
        &self,
        caller_id: &str,
        callee_id: &str,
    ) -> Result<String, RestError> {
        let v = self
            .call(json!({"action": "initiateCall", "callerId": caller_id, "calleeId": callee_id}))
            .await?;
        v.get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| RestError::Decode("initiateCall reply has no token".into()))
    }

    pub async fn end_call(&self, client_id: &str) -> Result<(), RestError> {
        self.call(json!({"action": "endCall", "clientId": client_id}))
            .await
            .map(|_| ())
    }

    /// Returns the ids the backend actually deleted.
    pub async fn delete_client_ids(&self, ids: &[String]) -> Result<Vec<String>, RestError> {
        let v = self
            .call(json!({"action": "deleteClientIds", "clientIds": ids}))
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
    match parsed {
        Some(v) if is_truthy(v.get("error")) => {
            if v.get("error").and_then(Value::as_str) == Some("BUSY") {
                return Err(RestError::Busy(
                    message(&v).unwrap_or_else(|| "busy".into()),
                ));
            }
            Err(RestError::Backend {
                status,
                message: message(&v).unwrap_or_else(|| "unknown error".into()),
            })
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
