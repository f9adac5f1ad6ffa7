//! A message on AppSync's real-time WebSocket.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dialtone::testing::parsers::realtime_message(text);
    }
});
