//! The root fields' resolvers: reading, paging and filtering Persons, and the three
//! mutations with their `_version` checks and conditions, against `State`. What an operation
//! may ask for was checked by the parser (`super::parse`); these check the arguments' values.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::{GqlError, PersonEvent, RootField, DEFAULT_LIMIT, MAX_LIMIT};
use crate::state::{PersonRow, State, MAX_FIELD_LEN, MAX_PERSONS};
use crate::time::now_ms;

pub(super) type Resolved = Result<(Value, Option<PersonEvent>), GqlError>;

pub(super) fn resolve(st: &mut State, f: &RootField) -> Resolved {
    let a = &f.args;
    match f.name.as_str() {
        "getPerson" => {
            let id = arg_str(a, "id")?.unwrap_or_default();
            Ok((
                st.persons
                    .get(&id)
                    .map(PersonRow::to_json)
                    .unwrap_or(Value::Null),
                None,
            ))
        }
        "listPeople" => Ok((page(st, a, None)?, None)),
        "syncPeople" => {
            let since = arg_int(a, "lastSync")?;
            Ok((page(st, a, Some(since.unwrap_or(0)))?, None))
        }
        "createPerson" => create_person(st, a),
        "updatePerson" => update_person(st, a),
        "deletePerson" => delete_person(st, a),
        other => Err(GqlError::typed(
            "UnsupportedOperation",
            format!("{other} is not executable here"),
        )),
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> GqlError {
    GqlError::validation(
        format!("Validation error of type WrongType: argument '{name}' with value '{got}' is not a valid '{expected}'"),
        None,
    )
}

fn arg_str(a: &Map<String, Value>, name: &str) -> Result<Option<String>, GqlError> {
    match a.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(name, "String", other)),
    }
}

fn arg_int(a: &Map<String, Value>, name: &str) -> Result<Option<i64>, GqlError> {
    match a.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(other) => Err(wrong_type(name, "Int", other)),
    }
}

fn arg_obj<'a>(
    a: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, GqlError> {
    match a.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(wrong_type(name, "input object", other)),
    }
}

/// A scan page, as DynamoDB does it: `limit` rows are read, then filtered, so a page may
/// hold fewer items than the limit and still have a `nextToken`.
fn page(st: &State, a: &Map<String, Value>, since: Option<i64>) -> Result<Value, GqlError> {
    let limit = arg_int(a, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(GqlError::typed(
            "ValidationException",
            format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    let after = match arg_str(a, "nextToken")? {
        None => 0,
        Some(t) => decode_next_token(&t).ok_or_else(|| {
            GqlError::typed(
                "InvalidNextTokenException",
                "The nextToken is invalid or has expired.",
            )
        })?,
    };
    let filter = arg_obj(a, "filter")?;
    let mut rows: Vec<&PersonRow> = st.persons.values().filter(|p| p.seq > after).collect();
    rows.sort_by_key(|p| p.seq);
    let scanned: Vec<&PersonRow> = rows.iter().take(limit as usize).copied().collect();
    let mut items = Vec::new();
    for row in &scanned {
        let v = row.to_json();
        if since.is_some_and(|s| row.last_changed_at < s) {
            continue;
        }
        if let Some(f) = filter {
            if !matches(f, &v).map_err(|m| GqlError::typed("ValidationException", m))? {
                continue;
            }
        }
        items.push(v);
    }
    let next_token = (rows.len() > scanned.len())
        .then(|| {
            scanned
                .last()
                .map(|r| B64.encode(format!("mock-scan:{}", r.seq)))
        })
        .flatten();
    Ok(json!({
        "__typename": "ModelPersonConnection",
        "items": items,
        "nextToken": next_token,
        "startedAt": since.map(|_| now_ms()),
    }))
}

fn decode_next_token(t: &str) -> Option<u64> {
    let raw = B64.decode(t).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("mock-scan:")?
        .parse()
        .ok()
}

/// Evaluates a `ModelPersonFilterInput` / `ModelPersonConditionInput` against a Person.
pub fn matches(filter: &Map<String, Value>, person: &Value) -> Result<bool, String> {
    for (key, cond) in filter {
        let ok = match key.as_str() {
            "and" => match cond {
                Value::Array(fs) => {
                    let mut all = true;
                    for f in fs {
                        all &= matches(f.as_object().ok_or("and takes filter objects")?, person)?;
                    }
                    all
                }
                _ => return Err("and takes a list of filters".into()),
            },
            "or" => match cond {
                Value::Array(fs) => {
                    let mut any = false;
                    for f in fs {
                        any |= matches(f.as_object().ok_or("or takes filter objects")?, person)?;
                    }
                    any
                }
                _ => return Err("or takes a list of filters".into()),
            },
            "not" => !matches(cond.as_object().ok_or("not takes a filter object")?, person)?,
            "id" | "firstName" | "lastName" | "clientId" => {
                let ops = cond
                    .as_object()
                    .ok_or_else(|| format!("filter on {key} must be an object"))?;
                field_matches(person.get(key).and_then(Value::as_str), ops)
                    .map_err(|e| format!("filter on {key}: {e}"))?
            }
            other => {
                return Err(format!(
                    "'{other}' is not a field of ModelPersonFilterInput"
                ))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn field_matches(value: Option<&str>, ops: &Map<String, Value>) -> Result<bool, String> {
    for (op, arg) in ops {
        if arg.is_null() {
            continue;
        }
        let s = || arg.as_str().ok_or_else(|| format!("{op} takes a string"));
        let ok = match op.as_str() {
            "attributeExists" => {
                value.is_some() == arg.as_bool().ok_or("attributeExists takes a boolean")?
            }
            "eq" => value == Some(s()?),
            "ne" => value != Some(s()?),
            "lt" => value.is_some_and(|v| v < s().unwrap_or_default()),
            "le" => value.is_some_and(|v| v <= s().unwrap_or_default()),
            "gt" => value.is_some_and(|v| v > s().unwrap_or_default()),
            "ge" => value.is_some_and(|v| v >= s().unwrap_or_default()),
            "contains" => value.is_some_and(|v| v.contains(s().unwrap_or_default())),
            "notContains" => !value.is_some_and(|v| v.contains(s().unwrap_or_default())),
            "beginsWith" => value.is_some_and(|v| v.starts_with(s().unwrap_or_default())),
            "between" => {
                let bounds: Vec<&str> = arg
                    .as_array()
                    .map(|b| b.iter().filter_map(Value::as_str).collect())
                    .filter(|b: &Vec<&str>| b.len() == 2)
                    .ok_or("between takes two strings")?;
                value.is_some_and(|v| bounds[0] <= v && v <= bounds[1])
            }
            other => return Err(format!("unsupported operator {other}")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn check_input_fields(
    input: &Map<String, Value>,
    allowed: &[&str],
    type_name: &str,
) -> Result<(), GqlError> {
    for k in input.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(GqlError::validation(
                format!("Validation error of type WrongType: argument 'input' contains a field not in '{type_name}': '{k}'"),
                None,
            ));
        }
    }
    Ok(())
}

fn input_str(
    input: &Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<String>, GqlError> {
    match input.get(name) {
        None | Some(Value::Null) if required => Err(GqlError::validation(
            format!("Validation error of type WrongType: argument 'input' is missing required field '{name}'"),
            None,
        )),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_FIELD_LEN => Err(GqlError::typed(
            "ValidationException",
            format!("{name} is longer than {MAX_FIELD_LEN} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(name, "String", other)),
    }
}

fn condition_holds(a: &Map<String, Value>, current: &Value) -> Result<(), GqlError> {
    if let Some(cond) = arg_obj(a, "condition")? {
        if !matches(cond, current).map_err(|m| GqlError::typed("ValidationException", m))? {
            return Err(GqlError::typed(
                "DynamoDB:ConditionalCheckFailedException",
                "The conditional request failed (Service: DynamoDb, Status Code: 400)",
            ));
        }
    }
    Ok(())
}

fn create_person(st: &mut State, a: &Map<String, Value>) -> Resolved {
    let input = arg_obj(a, "input")?.cloned().unwrap_or_default();
    check_input_fields(
        &input,
        &["id", "firstName", "lastName", "clientId", "_version"],
        "CreatePersonInput",
    )?;
    let first = input_str(&input, "firstName", true)?.unwrap_or_default();
    let last = input_str(&input, "lastName", true)?.unwrap_or_default();
    let client_id = input_str(&input, "clientId", true)?.unwrap_or_default();
    let id = input_str(&input, "id", false)?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if st.persons.contains_key(&id) {
        return Err(GqlError::typed(
            "DynamoDB:ConditionalCheckFailedException",
            "The conditional request failed (Service: DynamoDb, Status Code: 400)",
        ));
    }
    if st.persons.len() >= MAX_PERSONS {
        return Err(GqlError::typed(
            "ValidationException",
            "the Person table is full",
        ));
    }
    let now = now_ms();
    let row = PersonRow {
        id: id.clone(),
        first_name: first,
        last_name: last,
        client_id,
        created_at: now,
        updated_at: now,
        version: 1,
        deleted: false,
        last_changed_at: now,
        seq: st.next_seq(),
    };
    condition_holds(a, &row.to_json())?;
    let v = row.to_json();
    st.persons.insert(id, row);
    Ok((
        v.clone(),
        Some(PersonEvent {
            subscription_field: "onCreatePerson",
            person: v,
        }),
    ))
}

/// Looks up the row a mutation targets and applies AppSync's versioned conflict detection.
fn versioned_target<'a>(
    st: &'a mut State,
    input: &Map<String, Value>,
    a: &Map<String, Value>,
) -> Result<&'a mut PersonRow, GqlError> {
    let id = input_str(input, "id", true)?.unwrap_or_default();
    let version = match input.get("_version") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(other) => return Err(wrong_type("_version", "Int", other)),
    };
    let row = st.persons.get_mut(&id).ok_or_else(|| {
        GqlError::typed(
            "DynamoDB:ConditionalCheckFailedException",
            format!("The conditional request failed: no Person with id {id}"),
        )
    })?;
    if row.deleted || version != Some(row.version) {
        let mut e = GqlError::typed("ConflictUnhandled", "Conflict resolver rejects mutation.");
        e.data = row.to_json();
        return Err(e);
    }
    condition_holds(a, &row.to_json())?;
    Ok(row)
}

fn update_person(st: &mut State, a: &Map<String, Value>) -> Resolved {
    let input = arg_obj(a, "input")?.cloned().unwrap_or_default();
    check_input_fields(
        &input,
        &["id", "firstName", "lastName", "clientId", "_version"],
        "UpdatePersonInput",
    )?;
    let first = input_str(&input, "firstName", false)?;
    let last = input_str(&input, "lastName", false)?;
    let client_id = input_str(&input, "clientId", false)?;
    let row = versioned_target(st, &input, a)?;
    let now = now_ms();
    if let Some(v) = first {
        row.first_name = v;
    }
    if let Some(v) = last {
        row.last_name = v;
    }
    if let Some(v) = client_id {
        row.client_id = v;
    }
    changed(row, now, "onUpdatePerson")
}

fn delete_person(st: &mut State, a: &Map<String, Value>) -> Resolved {
    let input = arg_obj(a, "input")?.cloned().unwrap_or_default();
    check_input_fields(&input, &["id", "_version"], "DeletePersonInput")?;
    let row = versioned_target(st, &input, a)?;
    let now = now_ms();
    // With conflict detection on, AppSync deletes softly: the tombstone syncs to every client.
    row.deleted = true;
    changed(row, now, "onDeletePerson")
}

/// A row an update or delete changed: its next `_version` and times, and the event for the
/// subscribers of `subscription_field`.
fn changed(row: &mut PersonRow, now: i64, subscription_field: &'static str) -> Resolved {
    row.version += 1;
    row.updated_at = now;
    row.last_changed_at = now;
    let v = row.to_json();
    Ok((
        v.clone(),
        Some(PersonEvent {
            subscription_field,
            person: v,
        }),
    ))
}
