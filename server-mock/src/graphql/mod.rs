//! A small GraphQL executor for exactly the Person part of the AppSync schema: it parses
//! the document, validates selections against the schema's Person types, resolves root
//! fields against `State`, and projects results onto the selection set (aliases, fragments,
//! `__typename`). Errors carry AppSync's shape: `errorType`, `message`, `path`, `locations`.
//! This module parses, validates and projects; `resolve` reads and changes the Persons.

// Errors are the cold path of a test server; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use graphql_parser::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    Value as GqlValue,
};
use graphql_parser::Pos;
use serde_json::{json, Map, Value};

use crate::state::State;

mod resolve;
pub use resolve::matches;
use resolve::resolve;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Query,
    Mutation,
    Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Person,
    PersonConnection,
}

const PERSON_FIELDS: &[&str] = &[
    "id",
    "firstName",
    "lastName",
    "clientId",
    "createdAt",
    "updatedAt",
    "_version",
    "_deleted",
    "_lastChangedAt",
    "__typename",
];
const CONNECTION_SCALARS: &[&str] = &["nextToken", "startedAt", "__typename"];

/// (kind, name, return type, arguments, required arguments)
type RootFieldSpec = (
    OpKind,
    &'static str,
    Ty,
    &'static [&'static str],
    &'static [&'static str],
);

/// The root fields this mock serves.
const ROOT_FIELDS: &[RootFieldSpec] = &[
    (OpKind::Query, "getPerson", Ty::Person, &["id"], &["id"]),
    (
        OpKind::Query,
        "listPeople",
        Ty::PersonConnection,
        &["filter", "limit", "nextToken"],
        &[],
    ),
    (
        OpKind::Query,
        "syncPeople",
        Ty::PersonConnection,
        &["filter", "limit", "nextToken", "lastSync"],
        &[],
    ),
    (
        OpKind::Mutation,
        "createPerson",
        Ty::Person,
        &["input", "condition"],
        &["input"],
    ),
    (
        OpKind::Mutation,
        "updatePerson",
        Ty::Person,
        &["input", "condition"],
        &["input"],
    ),
    (
        OpKind::Mutation,
        "deletePerson",
        Ty::Person,
        &["input", "condition"],
        &["input"],
    ),
    (OpKind::Subscription, "onCreatePerson", Ty::Person, &[], &[]),
    (OpKind::Subscription, "onUpdatePerson", Ty::Person, &[], &[]),
    (OpKind::Subscription, "onDeletePerson", Ty::Person, &[], &[]),
];

/// A change to a Person, for the real-time subscriptions.
#[derive(Debug, Clone)]
pub struct PersonEvent {
    pub subscription_field: &'static str,
    pub person: Value,
}

/// One AppSync error object.
#[derive(Debug, Clone)]
pub struct GqlError {
    pub error_type: Option<String>,
    pub message: String,
    pub path: Option<String>,
    pub pos: Option<Pos>,
    pub data: Value,
}

impl GqlError {
    fn typed(error_type: &str, message: impl Into<String>) -> Self {
        Self {
            error_type: Some(error_type.into()),
            message: message.into(),
            path: None,
            pos: None,
            data: Value::Null,
        }
    }

    fn validation(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Self {
            error_type: None,
            message: message.into(),
            path: None,
            pos,
            data: Value::Null,
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "path": self.path.as_ref().map(|p| json!([p])),
            "data": self.data,
            "errorType": self.error_type,
            "errorInfo": null,
            "locations": self.pos.map(|p| json!([{"line": p.line, "column": p.column, "sourceName": null}])),
            "message": self.message,
        });
        if self.error_type.is_none() {
            v.as_object_mut().expect("object").remove("errorType");
        }
        v
    }
}

/// A parsed, validated operation, ready to run (or, for a subscription, to match events).
pub struct Operation {
    pub kind: OpKind,
    fields: Vec<RootField>,
}

struct RootField {
    name: String,
    response_key: String,
    ty: Ty,
    args: Map<String, Value>,
    selection: Vec<Sel>,
    pos: Pos,
}

/// A flattened selection: fragments are inlined at parse time.
#[derive(Debug, Clone)]
struct Sel {
    name: String,
    response_key: String,
    children: Vec<Sel>,
}

/// How deeply a document may nest selections, arguments and lists. The parser recurses on
/// nesting, so a hostile `{{{{…` would overflow the stack (the fuzz target found it); AppSync
/// rejects deep queries too.
pub const MAX_NESTING: usize = 64;

fn nesting_depth(query: &str) -> usize {
    let (mut depth, mut max, mut in_string) = (0usize, 0usize, false);
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '{' | '[' | '(' if !in_string => {
                depth += 1;
                max = max.max(depth);
            }
            '}' | ']' | ')' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

pub fn parse(
    query: &str,
    operation_name: Option<&str>,
    variables: &Value,
) -> Result<Operation, Vec<GqlError>> {
    if nesting_depth(query) > MAX_NESTING {
        return Err(vec![GqlError::validation(
            format!("the document nests deeper than {MAX_NESTING} levels"),
            None,
        )]);
    }
    let doc: Document<String> = graphql_parser::parse_query(query).map_err(|e| {
        vec![GqlError::validation(
            format!("Invalid syntax: {}", e.to_string().trim()),
            None,
        )]
    })?;
    let mut fragments = HashMap::new();
    let mut ops = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                fragments.insert(f.name.clone(), f);
            }
            Definition::Operation(op) => ops.push(op),
        }
    }
    let op = match operation_name {
        Some(name) => ops
            .into_iter()
            .find(|op| op_name(op) == Some(name))
            .ok_or_else(|| {
                vec![GqlError::validation(
                    format!("Unknown operation named '{name}'."),
                    None,
                )]
            })?,
        None if ops.len() == 1 => ops[0],
        None => {
            return Err(vec![GqlError::validation(
                "Must provide operation name if query contains multiple operations.",
                None,
            )])
        }
    };
    let (kind, set) = match op {
        OperationDefinition::SelectionSet(s) => (OpKind::Query, s),
        OperationDefinition::Query(q) => (OpKind::Query, &q.selection_set),
        OperationDefinition::Mutation(m) => (OpKind::Mutation, &m.selection_set),
        OperationDefinition::Subscription(s) => (OpKind::Subscription, &s.selection_set),
    };
    let vars = variables.as_object().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let mut fields = Vec::new();
    for (field, pos) in flatten_fields(set, &fragments, &mut errors) {
        let type_name = match kind {
            OpKind::Query => "Query",
            OpKind::Mutation => "Mutation",
            OpKind::Subscription => "Subscription",
        };
        if field.name == "__typename" {
            continue;
        }
        let Some(&(_, _, ty, allowed, required)) = ROOT_FIELDS
            .iter()
            .find(|(k, n, ..)| *k == kind && *n == field.name)
        else {
            errors.push(GqlError::validation(
                format!(
                    "Validation error of type FieldUndefined: Field '{}' in type '{type_name}' is undefined @ '{}'",
                    field.name, field.name
                ),
                Some(pos),
            ));
            continue;
        };
        let mut args = Map::new();
        for (name, value) in &field.args {
            if !allowed.contains(&name.as_str()) {
                errors.push(GqlError::validation(
                    format!(
                        "Validation error of type UnknownArgument: Unknown field argument {name} @ '{}'",
                        field.name
                    ),
                    Some(pos),
                ));
            }
            args.insert(name.clone(), to_json(value, &vars));
        }
        for name in required {
            if args.get(*name).is_none_or(Value::is_null) {
                errors.push(GqlError::validation(
                    format!(
                        "Validation error of type MissingFieldArgument: Missing field argument {name} @ '{}'",
                        field.name
                    ),
                    Some(pos),
                ));
            }
        }
        validate_selection(ty, &field.children, &field.name, pos, &mut errors);
        fields.push(RootField {
            name: field.name.clone(),
            response_key: field.response_key.clone(),
            ty,
            args,
            selection: field.children,
            pos,
        });
    }
    if kind == OpKind::Subscription && fields.len() != 1 && errors.is_empty() {
        errors.push(GqlError::validation(
            "Validation error of type SubscriptionMultipleFields: a subscription selects exactly one field",
            None,
        ));
    }
    if errors.is_empty() {
        Ok(Operation { kind, fields })
    } else {
        Err(errors)
    }
}

fn op_name<'a>(op: &'a OperationDefinition<String>) -> Option<&'a str> {
    match op {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name.as_deref(),
        OperationDefinition::Mutation(m) => m.name.as_deref(),
        OperationDefinition::Subscription(s) => s.name.as_deref(),
    }
}

struct FlatField {
    name: String,
    response_key: String,
    args: Vec<(String, GqlValue<'static, String>)>,
    children: Vec<Sel>,
}

/// At most this many fields once fragments are expanded: fragments that spread others twice
/// at each level would otherwise expand exponentially (the fuzz target found the recursion).
const MAX_FLAT_FIELDS: usize = 10_000;

/// Where flattening is: nesting depth (fields and fragments), the fragments on the current
/// path (a spread of one of them is a cycle), and the fields left in the budget.
struct Walk<'m, 'r, 'a> {
    fragments: &'m HashMap<String, &'r FragmentDefinition<'a, String>>,
    errors: &'m mut Vec<GqlError>,
    path: Vec<String>,
    budget: usize,
    failed: bool,
}

impl Walk<'_, '_, '_> {
    fn fail(&mut self, message: String, pos: Option<Pos>) {
        if !self.failed {
            self.failed = true;
            self.errors.push(GqlError::validation(message, pos));
        }
    }
}

fn flatten_fields<'a>(
    set: &SelectionSet<'a, String>,
    fragments: &HashMap<String, &FragmentDefinition<'a, String>>,
    errors: &mut Vec<GqlError>,
) -> Vec<(FlatField, Pos)> {
    let mut walk = Walk {
        fragments,
        errors,
        path: Vec::new(),
        budget: MAX_FLAT_FIELDS,
        failed: false,
    };
    let mut out = Vec::new();
    flatten_into(set, &mut walk, &mut out, 0);
    out
}

fn flatten_into<'a>(
    set: &SelectionSet<'a, String>,
    walk: &mut Walk<'_, '_, 'a>,
    out: &mut Vec<(FlatField, Pos)>,
    depth: usize,
) {
    if depth > MAX_NESTING {
        walk.fail(
            format!("Validation error: selections nest deeper than {MAX_NESTING} levels"),
            None,
        );
        return;
    }
    for item in &set.items {
        if walk.failed {
            return;
        }
        match item {
            Selection::Field(f) => {
                if walk.budget == 0 {
                    walk.fail(
                        format!("Validation error: more than {MAX_FLAT_FIELDS} fields once fragments are expanded"),
                        Some(f.position),
                    );
                    return;
                }
                walk.budget -= 1;
                let mut flat_children = Vec::new();
                flatten_into(&f.selection_set, walk, &mut flat_children, depth + 1);
                let children = flat_children
                    .into_iter()
                    .map(|(child, _)| Sel {
                        name: child.name,
                        response_key: child.response_key,
                        children: child.children,
                    })
                    .collect();
                out.push((
                    FlatField {
                        name: f.name.clone(),
                        response_key: f.alias.clone().unwrap_or_else(|| f.name.clone()),
                        args: f
                            .arguments
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone().into_static()))
                            .collect(),
                        children,
                    },
                    f.position,
                ));
            }
            Selection::FragmentSpread(s) => match walk.fragments.get(&s.fragment_name).copied() {
                Some(_) if walk.path.contains(&s.fragment_name) => walk.fail(
                    format!(
                        "Validation error of type FragmentCycle: fragment {} spreads itself",
                        s.fragment_name
                    ),
                    Some(s.position),
                ),
                Some(frag) => {
                    walk.path.push(s.fragment_name.clone());
                    flatten_into(&frag.selection_set, walk, out, depth + 1);
                    walk.path.pop();
                }
                None => walk.errors.push(GqlError::validation(
                    format!(
                        "Validation error of type UndefinedFragment: Undefined fragment {}",
                        s.fragment_name
                    ),
                    Some(s.position),
                )),
            },
            Selection::InlineFragment(f) => flatten_into(&f.selection_set, walk, out, depth + 1),
        }
    }
}

fn validate_selection(ty: Ty, sel: &[Sel], path: &str, pos: Pos, errors: &mut Vec<GqlError>) {
    let (type_name, scalars): (&str, &[&str]) = match ty {
        Ty::Person => ("Person", PERSON_FIELDS),
        Ty::PersonConnection => ("ModelPersonConnection", CONNECTION_SCALARS),
    };
    if sel.is_empty() {
        errors.push(GqlError::validation(
            format!("Validation error of type SubSelectionRequired: Sub selection required for type {type_name} of field {path}"),
            Some(pos),
        ));
    }
    for s in sel {
        if ty == Ty::PersonConnection && s.name == "items" {
            validate_selection(
                Ty::Person,
                &s.children,
                &format!("{path}/items"),
                pos,
                errors,
            );
        } else if !scalars.contains(&s.name.as_str()) {
            errors.push(GqlError::validation(
                format!(
                    "Validation error of type FieldUndefined: Field '{}' in type '{type_name}' is undefined @ '{path}/{}'",
                    s.name, s.name
                ),
                Some(pos),
            ));
        } else if !s.children.is_empty() {
            errors.push(GqlError::validation(
                format!("Validation error of type SubSelectionNotAllowed: Sub selection not allowed on leaf type of field {}", s.name),
                Some(pos),
            ));
        }
    }
}

fn to_json(v: &GqlValue<'static, String>, vars: &Map<String, Value>) -> Value {
    match v {
        GqlValue::Variable(name) => vars.get(name).cloned().unwrap_or(Value::Null),
        GqlValue::Int(n) => n.as_i64().map(Value::from).unwrap_or(Value::Null),
        GqlValue::Float(f) => json!(f),
        GqlValue::String(s) => Value::String(s.clone()),
        GqlValue::Boolean(b) => Value::Bool(*b),
        GqlValue::Null => Value::Null,
        GqlValue::Enum(e) => Value::String(e.clone()),
        GqlValue::List(items) => Value::Array(items.iter().map(|i| to_json(i, vars)).collect()),
        GqlValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v, vars)))
                .collect(),
        ),
    }
}

fn project(value: &Value, sel: &[Sel]) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(|i| project(i, sel)).collect()),
        Value::Object(obj) if !sel.is_empty() => {
            let mut out = Map::new();
            for s in sel {
                let v = obj.get(&s.name).cloned().unwrap_or(Value::Null);
                out.insert(
                    s.response_key.clone(),
                    if s.children.is_empty() {
                        v
                    } else {
                        project(&v, &s.children)
                    },
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

impl Operation {
    pub fn subscription_field(&self) -> Option<&str> {
        (self.kind == OpKind::Subscription).then(|| self.fields[0].name.as_str())
    }

    /// The `data` payload a subscriber receives for this event, if it subscribed to it.
    pub fn event_payload(&self, event: &PersonEvent) -> Option<Value> {
        let f = self.fields.first()?;
        (self.kind == OpKind::Subscription && f.name == event.subscription_field)
            .then(|| json!({ f.response_key.clone(): project(&event.person, &f.selection) }))
    }

    /// Runs a query or mutation: returns the response body and the changes to broadcast.
    pub fn execute(&self, st: &mut State) -> (Value, Vec<PersonEvent>) {
        let mut data = Map::new();
        let mut errors = Vec::new();
        let mut events = Vec::new();
        for f in &self.fields {
            match resolve(st, f) {
                Ok((value, event)) => {
                    let shaped = match f.ty {
                        Ty::Person => project(&value, &f.selection),
                        Ty::PersonConnection => project(&value, &f.selection),
                    };
                    data.insert(f.response_key.clone(), shaped);
                    events.extend(event);
                }
                Err(mut e) => {
                    e.path = Some(f.response_key.clone());
                    e.pos = Some(f.pos);
                    if !e.data.is_null() {
                        e.data = project(&e.data, &f.selection);
                    }
                    data.insert(f.response_key.clone(), Value::Null);
                    errors.push(e.to_json());
                }
            }
        }
        let mut body = json!({ "data": data });
        if !errors.is_empty() {
            body["errors"] = Value::Array(errors);
        }
        (body, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(st: &mut State, q: &str, vars: Value) -> Value {
        match parse(q, None, &vars) {
            Ok(op) => op.execute(st).0,
            Err(errs) => {
                json!({"data": null, "errors": errs.iter().map(GqlError::to_json).collect::<Vec<_>>()})
            }
        }
    }

    const CREATE: &str = "mutation C($input: CreatePersonInput!) { createPerson(input: $input) { id _version firstName } }";

    #[test]
    fn fragment_cycles_and_exponential_spreads_are_validation_errors() {
        // Found by the mock_graphql fuzz target: a fragment whose field spreads the fragment
        // again recursed until the stack ran out.
        let cycle =
            "query { listPeople { items { ...F } } } fragment F on Person { id friends { ...F } }";
        let errs = parse(cycle, None, &json!({})).err().expect("rejected");
        assert!(
            errs[0].to_json()["message"]
                .as_str()
                .unwrap()
                .contains("FragmentCycle"),
            "{:?}",
            errs[0].to_json()
        );
        let mut doubling = String::from("query { listPeople { items { ...F0 } } }");
        for i in 0..30 {
            doubling.push_str(&format!(
                " fragment F{i} on Person {{ a{i}: id ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        doubling.push_str(" fragment F30 on Person { id }");
        let errs = parse(&doubling, None, &json!({})).err().expect("rejected");
        assert!(
            errs[0].to_json()["message"]
                .as_str()
                .unwrap()
                .contains("fields once fragments"),
            "{:?}",
            errs[0].to_json()
        );
    }

    #[test]
    fn a_hostile_nesting_is_a_validation_error_not_a_stack_overflow() {
        // Found by the mock_graphql fuzz target: the parser recursed until the stack ran out.
        for q in [
            "{".repeat(200_000),
            format!("query {{ a(x: {}) }}", "[".repeat(200_000)),
        ] {
            let errs = parse(&q, None, &json!({})).err().expect("rejected");
            assert!(errs[0].to_json()["message"]
                .as_str()
                .unwrap()
                .contains("nests deeper"));
        }
        // Braces inside strings do not count; ordinary depth is fine.
        let ok = format!(
            "query {{ getPerson(id: \"{}\") {{ id }} }}",
            "{".repeat(100)
        );
        assert!(nesting_depth(&ok) <= 3);
    }

    #[test]
    fn create_then_get_with_alias_and_fragment() {
        let mut st = State::default();
        let r = run(
            &mut st,
            CREATE,
            json!({"input": {"id": "p1", "firstName": "Ada", "lastName": "L", "clientId": "c1"}}),
        );
        assert_eq!(
            r["data"]["createPerson"],
            json!({"id": "p1", "_version": 1, "firstName": "Ada"})
        );
        let r = run(
            &mut st,
            r#"query { who: getPerson(id: "p1") { ...F __typename } } fragment F on Person { lastName clientId }"#,
            json!({}),
        );
        assert_eq!(
            r["data"]["who"],
            json!({"lastName": "L", "clientId": "c1", "__typename": "Person"})
        );
    }

    #[test]
    fn stale_version_is_a_conflict_carrying_the_server_copy() {
        let mut st = State::default();
        run(
            &mut st,
            CREATE,
            json!({"input": {"id": "p1", "firstName": "A", "lastName": "L", "clientId": "c1"}}),
        );
        let q = "mutation U($i: UpdatePersonInput!) { updatePerson(input: $i) { id _version firstName } }";
        let ok = run(
            &mut st,
            q,
            json!({"i": {"id": "p1", "_version": 1, "firstName": "B"}}),
        );
        assert_eq!(ok["data"]["updatePerson"]["_version"], 2);
        let stale = run(
            &mut st,
            q,
            json!({"i": {"id": "p1", "_version": 1, "firstName": "C"}}),
        );
        assert_eq!(stale["data"]["updatePerson"], Value::Null);
        assert_eq!(stale["errors"][0]["errorType"], "ConflictUnhandled");
        assert_eq!(stale["errors"][0]["data"]["firstName"], "B");
        assert_eq!(st.persons["p1"].first_name, "B");
    }

    #[test]
    fn unknown_field_is_a_validation_error_and_changes_nothing() {
        let mut st = State::default();
        let r = run(&mut st, "mutation { createPerson(input: {firstName: \"a\", lastName: \"b\", clientId: \"c\"}) { id bogus } }", json!({}));
        assert!(r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("FieldUndefined"));
        assert!(st.persons.is_empty());
    }

    #[test]
    fn scan_pages_apply_limit_before_filter() {
        let mut st = State::default();
        for i in 0..5 {
            let client = if i % 2 == 0 { "even" } else { "odd" };
            run(
                &mut st,
                CREATE,
                json!({"input": {"firstName": format!("n{i}"), "lastName": "x", "clientId": client}}),
            );
        }
        let q = "query L($t: String) { listPeople(filter: {clientId: {eq: \"even\"}}, limit: 2, nextToken: $t) { items { firstName } nextToken } }";
        let mut names = Vec::new();
        let mut token = Value::Null;
        let mut pages = 0;
        loop {
            let r = run(&mut st, q, json!({"t": token}));
            pages += 1;
            for it in r["data"]["listPeople"]["items"].as_array().unwrap() {
                names.push(it["firstName"].as_str().unwrap().to_string());
            }
            token = r["data"]["listPeople"]["nextToken"].clone();
            if token.is_null() {
                break;
            }
        }
        assert_eq!(names, ["n0", "n2", "n4"]);
        assert_eq!(pages, 3);
    }

    #[test]
    fn filter_operators() {
        let p = json!({"id": "1", "firstName": "Ada", "lastName": "Lovelace", "clientId": "c"});
        let f = |v: Value| matches(v.as_object().unwrap(), &p).unwrap();
        assert!(!f(
            json!({"firstName": {"beginsWith": "Ad"}, "lastName": {"contains": "love"}})
        ));
        assert!(f(
            json!({"or": [{"firstName": {"eq": "x"}}, {"lastName": {"between": ["L", "M"]}}]})
        ));
        assert!(f(json!({"not": {"clientId": {"ne": "c"}}})));
        assert!(matches(json!({"age": {"eq": "1"}}).as_object().unwrap(), &p).is_err());
    }
}
