//! A message from the extended backend's `/ws` event channel; and lines of them (split at
//! newlines) fed as room events to one member list, as a room does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dialtone::testing::parsers::event_channel_message(text);
        let lines: Vec<&str> = text.lines().take(256).collect();
        let members = dialtone::testing::parsers::room_events(&lines);
        // A snapshot lists at most 64 members, an event adds at most one.
        assert!(
            members <= 64 * lines.len(),
            "{members} members from {} events",
            lines.len()
        );
    }
});
