//! A push payload as the OS hands it over (FCM data map as JSON, or the APNs dictionary).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dialtone::testing::parsers::push_payload(text);
    }
});
