//! The peer's DTLS certificate, as the handshake reads its public key (the DER walk of
//! third_party/rtc-dtls/src/crypto/spki.rs): bytes a remote peer chooses. Never a panic, and
//! a key found is always a slice of the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = rtc_dtls::crypto::certificate_public_key(data) {
        let start = data.as_ptr() as usize;
        let at = key.as_ptr() as usize;
        assert!(at >= start && at + key.len() <= start + data.len());
    }
});
