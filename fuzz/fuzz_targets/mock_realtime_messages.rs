//! A real-time client's messages to the mock (one per line), in order on one connection:
//! connection_init, start with its GraphQL subscription, stop, anything else.
#![no_main]
use dialtone_mock::fuzzing::harness;
use dialtone_mock::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (rt, h) = harness(Profile::Seed);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = h.api_key().to_string();
    // `$KEY` in a message becomes the mock's API key, so authorised starts are reachable.
    let text = text.replace("$KEY", &key);
    let messages: Vec<&str> = text.lines().take(64).collect();
    let _guard = rt.enter();
    let _ = h.realtime(&messages);
});
