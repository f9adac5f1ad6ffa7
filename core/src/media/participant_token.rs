//! Reads the claims of a Bandwidth v3 participant token (`a, p, v, exp, tid, iss`) without
//! verifying it: only the gateway can verify, but the phone needs `exp` to know whether a
//! call is stale and `p`/`tid` to label it. The token itself is a secret and never logged.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Claims {
    pub a: Option<String>,
    pub p: Option<String>,
    pub v: Option<String>,
    pub exp: Option<i64>,
    pub tid: Option<String>,
    pub iss: Option<String>,
}

pub fn decode_claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Some issuers pad base64url; accept both.
    let raw = B64.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_v3_claims_and_rejects_garbage() {
        let payload = B64.encode(
            br#"{"a":"acct","p":"part","v":"v3","exp":1700000000,"tid":"s","iss":"prd:00"}"#,
        );
        let c = decode_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(c.p.as_deref(), Some("part"));
        assert_eq!(c.exp, Some(1_700_000_000));
        assert!(decode_claims("nope").is_none());
        assert!(decode_claims("a.b.c.d").is_none());
        assert!(decode_claims("a.!!!.c").is_none());
    }
}
