//! A client's message on the mock's `/ws` event channel.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let reply = dialtone_mock::fuzzing::event_channel(text);
        assert!(
            serde_json::from_str::<serde_json::Value>(&reply).is_ok(),
            "the reply is JSON"
        );
    }
});
