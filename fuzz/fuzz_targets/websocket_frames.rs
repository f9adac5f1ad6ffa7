//! Bytes from a WebSocket server, read as frames one after another (backend::ws_frames).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((frame, used))) = dialtone::testing::parsers::websocket_frame(rest, 1 << 20) {
        assert!(used > 0 && used <= rest.len());
        assert!(frame.payload.len() < used);
        rest = &rest[used..];
    }
});
