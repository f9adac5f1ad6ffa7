//! A participant token's claims (the part of the JWT the core reads).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dialtone::testing::parsers::participant_token(text);
    }
});
