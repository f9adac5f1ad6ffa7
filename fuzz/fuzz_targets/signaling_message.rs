//! A JSON-RPC message from the Bandwidth v3 gateway (responses, errors, notifications).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dialtone::testing::parsers::signaling_message(text);
    }
});
