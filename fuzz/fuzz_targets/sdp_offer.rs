//! An SDP offer from the gateway: the core's setup-role rewrite, then WebRTC's parser, as
//! the peer reads it, and the core's reading of which streams it sends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rtc::peer_connection::sdp::RTCSessionDescription;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let rewritten = dialtone::testing::parsers::rewrite_setup(text, "active");
        let _ = dialtone::testing::parsers::sending_streams(&rewritten);
        if let Ok(offer) = RTCSessionDescription::offer(rewritten) {
            let _ = offer.unmarshal();
        }
    }
});
