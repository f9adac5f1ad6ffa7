//! Client for AppSync's HTTP GraphQL surface, Person operations only: get, list (paged),
//! sync (paged delta with `lastSync`), create, update, delete, with `_version` conflict
//! detection. Queries are written as Amplify codegen writes them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::backend::http::{network_error, NetworkError};
use crate::backend::http::{HttpClient, HttpError};

/// Every field of the AppSync `Person` type, selected by every operation.
pub const PERSON_FIELDS: &str =
    "id firstName lastName clientId createdAt updatedAt _version _deleted _lastChangedAt";
/// Page size for list and sync: AppSync's scans read this many rows per round trip.
pub const PAGE_LIMIT: u32 = 100;
/// A runaway `nextToken` chain stops here instead of looping forever.
pub const MAX_PAGES: usize = 1_000;

/// A Person as AppSync stores it, tombstones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub id: String,
    #[serde(rename = "firstName")]
    pub first_name: String,
    #[serde(rename = "lastName")]
    pub last_name: String,
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(rename = "_version")]
    pub version: i64,
    #[serde(rename = "_deleted", default, deserialize_with = "null_is_false")]
    pub deleted: bool,
    #[serde(rename = "_lastChangedAt")]
    pub last_changed_at: i64,
}

fn null_is_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphqlError {
    #[error("the API key was refused")]
    Unauthorized,
    /// A stale `_version`; carries the server's current copy when AppSync sends it.
    #[error("conflict: {message}")]
    Conflict {
        message: String,
        server: Option<Box<PersonRecord>>,
    },
    #[error("{error_type}: {message}")]
    Remote { error_type: String, message: String },
    #[error("HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// The request did not get an answer (the URL is stripped).
    #[error("network error: {0}")]
    Network(#[source] NetworkError),
    #[error("unexpected response: {0}")]
    Decode(String),
}

/// One page of a list or sync query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<PersonRecord>,
    pub next_token: Option<String>,
    pub started_at: Option<i64>,
}

#[derive(Clone)]
pub struct AppSyncClient {
    http: HttpClient,
    url: String,
    api_key: String,
}

impl AppSyncClient {
    /// `http`: the client's one HTTP client (`backend::tls::http_client`), shared with REST.
    pub fn new(http: HttpClient, url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            http,
            url: url.into(),
            api_key: api_key.into(),
        }
    }

    /// Posts one operation and returns `data[field]`, or the first error as a typed error.
    async fn request(
        &self,
        field: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, GraphqlError> {
        let body = json!({"query": query, "variables": variables}).to_string();
        let resp = self
            .http
            .post_json(&self.url, &[("x-api-key", &self.api_key)], body.as_bytes())
            .await
            .map_err(|e| match e {
                HttpError::TooLarge => GraphqlError::Decode("response body too large".into()),
                e => GraphqlError::Network(network_error(e)),
            })?;
        interpret(resp.status, &resp.body, field)
    }

    pub async fn get_person(&self, id: &str) -> Result<Option<PersonRecord>, GraphqlError> {
        let q = format!("query GetPerson($id: ID!) {{ getPerson(id: $id) {{ {PERSON_FIELDS} }} }}");
        let v = self.request("getPerson", &q, json!({"id": id})).await?;
        if v.is_null() {
            return Ok(None);
        }
        decode_person(v).map(Some)
    }

    pub async fn sync_people_page(
        &self,
        last_sync: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page, GraphqlError> {
        let q = format!(
            "query SyncPeople($limit: Int, $nextToken: String, $lastSync: AWSTimestamp) {{ \
             syncPeople(limit: $limit, nextToken: $nextToken, lastSync: $lastSync) {{ items {{ {PERSON_FIELDS} }} nextToken startedAt }} }}"
        );
        let v = self
            .request(
                "syncPeople",
                &q,
                json!({"limit": PAGE_LIMIT, "nextToken": next_token, "lastSync": last_sync}),
            )
            .await?;
        decode_page(v)
    }

    /// A whole sync (base when `last_sync` is None, delta otherwise): every changed record,
    /// tombstones included, and the `startedAt` to pass as the next `lastSync`.
    pub async fn sync_people(
        &self,
        last_sync: Option<i64>,
    ) -> Result<(Vec<PersonRecord>, i64), GraphqlError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let mut started_at = None;
        for _ in 0..MAX_PAGES {
            let page = self.sync_people_page(last_sync, token.as_deref()).await?;
            // The first page's startedAt is the watermark: anything changed after it will
            // show up in the next delta, even if it also showed up in a later page here.
            started_at = started_at.or(page.started_at);
            items.extend(page.items);
            match page.next_token {
                Some(t) => token = Some(t),
                None => {
                    let started_at = started_at.ok_or_else(|| {
                        GraphqlError::Decode("syncPeople reply has no startedAt".into())
                    })?;
                    return Ok((items, started_at));
                }
            }
        }
        Err(GraphqlError::Decode(format!(
            "syncPeople did not finish within {MAX_PAGES} pages"
        )))
    }

    pub async fn create_person(
        &self,
        id: Option<&str>,
        first_name: &str,
        last_name: &str,
        client_id: &str,
    ) -> Result<PersonRecord, GraphqlError> {
        let q = format!(
            "mutation CreatePerson($input: CreatePersonInput!) {{ createPerson(input: $input) {{ {PERSON_FIELDS} }} }}"
        );
        let mut input =
            json!({"firstName": first_name, "lastName": last_name, "clientId": client_id});
        if let Some(id) = id {
            input["id"] = json!(id);
        }
        decode_person(
            self.request("createPerson", &q, json!({"input": input}))
                .await?,
        )
    }

    /// Updates the given fields at `version`; a stale version gives `GraphqlError::Conflict`.
    pub async fn update_person(
        &self,
        id: &str,
        version: i64,
        changes: Value,
    ) -> Result<PersonRecord, GraphqlError> {
        let q = format!(
            "mutation UpdatePerson($input: UpdatePersonInput!) {{ updatePerson(input: $input) {{ {PERSON_FIELDS} }} }}"
        );
        let mut input = changes;
        input["id"] = json!(id);
        input["_version"] = json!(version);
        decode_person(
            self.request("updatePerson", &q, json!({"input": input}))
                .await?,
        )
    }
}

pub fn decode_person(v: Value) -> Result<PersonRecord, GraphqlError> {
    serde_json::from_value(v).map_err(|e| GraphqlError::Decode(format!("Person: {e}")))
}

fn decode_page(v: Value) -> Result<Page, GraphqlError> {
    let items = match v.get("items") {
        Some(Value::Array(items)) => items
            .iter()
            // AppSync lists are `[Person]!`: a null entry is an item it could not resolve.
            .filter(|i| !i.is_null())
            .cloned()
            .map(decode_person)
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(GraphqlError::Decode("connection has no items".into())),
    };
    Ok(Page {
        items,
        next_token: v
            .get("nextToken")
            .and_then(Value::as_str)
            .map(str::to_string),
        started_at: v.get("startedAt").and_then(Value::as_i64),
    })
}

/// Maps an AppSync HTTP reply to `data[field]` or a typed error.
pub fn interpret(status: u16, raw: &[u8], field: &str) -> Result<Value, GraphqlError> {
    let body: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(_) if status == 401 || status == 403 => return Err(GraphqlError::Unauthorized),
        Err(_) => {
            return Err(GraphqlError::Http {
                status,
                message: String::from_utf8_lossy(&raw[..raw.len().min(200)])
                    .trim()
                    .to_string(),
            })
        }
    };
    if let Some(err) = body
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        let error_type = err
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("GraphQLError")
            .to_string();
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("unknown error")
            .to_string();
        return Err(match error_type.as_str() {
            "UnauthorizedException" => GraphqlError::Unauthorized,
            "ConflictUnhandled" => GraphqlError::Conflict {
                message,
                server: err
                    .get("data")
                    .cloned()
                    .and_then(|d| decode_person(d).ok())
                    .map(Box::new),
            },
            _ if status == 401 || status == 403 => GraphqlError::Unauthorized,
            _ => GraphqlError::Remote {
                error_type,
                message,
            },
        });
    }
    if !(200..300).contains(&status) {
        return Err(GraphqlError::Http {
            status,
            message: format!("HTTP {status}"),
        });
    }
    body.get("data")
        .and_then(|d| d.get(field))
        .cloned()
        .ok_or_else(|| GraphqlError::Decode(format!("reply has no data.{field}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person_json(version: i64) -> Value {
        json!({"id": "p", "firstName": "A", "lastName": "B", "clientId": "c", "createdAt": "x",
               "updatedAt": "x", "_version": version, "_deleted": null, "_lastChangedAt": 5})
    }

    #[test]
    fn conflict_carries_the_server_copy() {
        let body = json!({"data": {"updatePerson": null}, "errors": [{"errorType": "ConflictUnhandled",
            "message": "Conflict resolver rejects mutation.", "data": person_json(3)}]});
        match interpret(200, body.to_string().as_bytes(), "updatePerson") {
            Err(GraphqlError::Conflict {
                server: Some(p), ..
            }) => assert_eq!(p.version, 3),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn unauthorized_and_remote_errors_are_typed() {
        let body = br#"{"errors":[{"errorType":"UnauthorizedException","message":"You are not authorized to make this call."}]}"#;
        assert_eq!(
            interpret(401, body, "getPerson"),
            Err(GraphqlError::Unauthorized)
        );
        let body =
            br#"{"data":null,"errors":[{"message":"Validation error of type FieldUndefined"}]}"#;
        assert!(matches!(
            interpret(200, body, "getPerson"),
            Err(GraphqlError::Remote { .. })
        ));
        assert!(matches!(
            interpret(502, b"gateway", "getPerson"),
            Err(GraphqlError::Http { status: 502, .. })
        ));
    }

    #[test]
    fn page_decoding_skips_null_items_and_rejects_bad_ones() {
        let v = json!({"items": [person_json(1), null], "nextToken": "t", "startedAt": 9});
        let page = decode_page(v).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next_token.as_deref(), Some("t"));
        assert_eq!(page.started_at, Some(9));
        assert!(decode_page(json!({"items": [{"id": 1}]})).is_err());
    }
}
