//! A participant's JSON-RPC message to the mock's v3 gateway.
#![no_main]
use dialtone_mock::gateway::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Envelope::Invalid(reply) = dialtone_mock::fuzzing::gateway(text) {
            assert!(
                serde_json::from_str::<serde_json::Value>(&reply).is_ok(),
                "the error reply is JSON"
            );
        }
    }
});
