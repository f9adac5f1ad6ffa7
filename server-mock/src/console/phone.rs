//! The server side of the console's browser phone: the one thing the page cannot do with
//! the backend's own API without holding the GraphQL API key, creating the phone's Person.
//! `POST /mock/phone/person {clientId, firstName, lastName}` with the phone's
//! `Authorization: Bearer <clientSecret>` runs AppSync's `createPerson` for it, so real-time
//! subscribers hear of it as of any other Person. Everything else the phone does (register,
//! the `/ws` event channel, calls, v3 signaling and WebRTC) is the page's own JavaScript
//! against the same endpoints the SDK uses (`page/phone.js`).

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::graphql;
use crate::Shared;

const CREATE: &str =
    "mutation CreatePerson($input: CreatePersonInput!) { createPerson(input: $input) { id } }";

fn refuse(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"error": message})))
}

pub async fn create_person(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (Some(client_id), Some(first), Some(last)) =
        (field("clientId"), field("firstName"), field("lastName"))
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "clientId, firstName and lastName are required",
        );
    };
    let secret = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let owns = {
        let st = shared.state.lock().expect("state lock");
        st.devices
            .get(client_id)
            .and_then(|d| d.secret.as_deref())
            .is_some_and(|s| Some(s) == secret)
    };
    if !owns {
        return refuse(
            StatusCode::FORBIDDEN,
            "the browser phone needs its clientId and clientSecret (extended profile)",
        );
    }
    let variables = json!({"input": {"firstName": first, "lastName": last, "clientId": client_id}});
    let op = match graphql::parse(CREATE, None, &variables) {
        Ok(op) => op,
        Err(_) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "createPerson did not parse",
            )
        }
    };
    let (response, events) = {
        let mut st = shared.state.lock().expect("state lock");
        op.execute(&mut st)
    };
    for event in events {
        let _ = shared.person_events.send(event);
    }
    match response["data"]["createPerson"]["id"].as_str() {
        Some(id) => (StatusCode::OK, Json(json!({"id": id}))),
        None => (StatusCode::BAD_REQUEST, Json(response)),
    }
}
