//! A message from the extended backend's `/ws` event channel.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dialtone::testing::parsers::event_channel_message(text);
    }
});
