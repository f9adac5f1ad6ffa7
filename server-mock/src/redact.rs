//! What the mock may say about secrets in its log: nothing but a short fingerprint. Device
//! tokens, participant tokens, client secrets and API keys never reach stderr whole, at any
//! level; request paths are logged without their query (tokens ride in `?token=`).

/// A short, stable, non-reversible name for a secret: `#` and 8 hex digits of its SHA-256.
pub fn fingerprint(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let hex: String = digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("#{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_short_stable_and_hide_the_secret() {
        let f = fingerprint("apns-device-token-0123456789");
        assert_eq!(f, fingerprint("apns-device-token-0123456789"));
        assert_eq!(f.len(), 9);
        assert!(!f.contains("0123"));
        assert_ne!(f, fingerprint("another"));
    }
}
