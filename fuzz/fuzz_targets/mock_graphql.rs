//! A GraphQL document (and the request around it) to the mock's AppSync `/graphql`, through
//! its real router in-process: the input is the query text, wrapped in a JSON body; inputs
//! starting with `{` are sent as the raw body instead.
#![no_main]
use dialtone_mock::fuzzing::harness;
use dialtone_mock::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (rt, h) = harness(Profile::Extended);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let body = if text.starts_with('{') {
        text.as_bytes().to_vec()
    } else {
        serde_json::json!({"query": text, "variables": {}})
            .to_string()
            .into_bytes()
    };
    let key = h.api_key().to_string();
    let headers = [
        ("content-type", "application/json"),
        ("x-api-key", key.as_str()),
    ];
    rt.block_on(h.post("/graphql", &headers, body));
});
