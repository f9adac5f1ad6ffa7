//! `POST /graphql`: AppSync's HTTP surface for the Person API. Checks `x-api-key`, reads
//! `{query, variables, operationName}`, runs it through `graphql`, and broadcasts the
//! changes a mutation made to the real-time subscribers.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::graphql::{self, GqlError, OpKind};
use crate::Shared;

type Reply = (StatusCode, Json<Value>);

pub fn unauthorized() -> Value {
    json!({"errors": [{"errorType": "UnauthorizedException", "message": "You are not authorized to make this call."}]})
}

fn malformed(message: &str) -> Reply {
    (
        StatusCode::BAD_REQUEST,
        Json(
            json!({"errors": [{"errorType": "MalformedHttpRequestException", "message": message}]}),
        ),
    )
}

pub async fn handle(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(shared.api_key.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(unauthorized()));
    }
    let body = match body {
        Ok(b) => b,
        Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(
                    json!({"errors": [{"errorType": "PayloadTooLarge", "message": "Request body is too large."}]}),
                ),
            )
        }
        Err(_) => return malformed("Invalid JSON payload in POST request."),
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return malformed("Invalid JSON payload in POST request.");
    };
    let Some(query) = req.get("query").and_then(Value::as_str) else {
        return malformed("Query is missing from the request.");
    };
    let variables = req.get("variables").cloned().unwrap_or(Value::Null);
    if !(variables.is_null() || variables.is_object()) {
        return malformed("Variables must be a JSON object.");
    }
    let op_name = req.get("operationName").and_then(Value::as_str);
    let op = match graphql::parse(query, op_name, &variables) {
        Ok(op) => op,
        Err(errors) => {
            let errors: Vec<Value> = errors.iter().map(GqlError::to_json).collect();
            return (
                StatusCode::OK,
                Json(json!({"data": null, "errors": errors})),
            );
        }
    };
    if op.kind == OpKind::Subscription {
        return (
            StatusCode::OK,
            Json(
                json!({"data": null, "errors": [{"errorType": "UnsupportedOperation",
                "message": "Subscriptions are served over the real-time endpoint, not HTTP POST."}]}),
            ),
        );
    }
    let (response, events) = {
        let mut st = shared.state.lock().expect("state lock");
        op.execute(&mut st)
    };
    for event in events {
        // No subscriber is not an error: the change is stored either way.
        let _ = shared.person_events.send(event);
    }
    (StatusCode::OK, Json(response))
}
