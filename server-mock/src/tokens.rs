//! Participant tokens: JWTs with Bandwidth's v3 claims (`a, p, v, exp, tid, iss`), signed
//! HS256 with a key only this mock process knows. The signaling gateway verifies them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// Account id.
    pub a: String,
    /// Participant id.
    pub p: String,
    /// Device API version; the v3 gateway accepts only "v3".
    pub v: String,
    /// Expiry, epoch seconds.
    pub exp: i64,
    /// Session ("tag") id the participant belongs to.
    pub tid: String,
    pub iss: String,
}

#[derive(Debug, PartialEq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
    WrongVersion(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed => write!(f, "participant token is not a well-formed JWT"),
            TokenError::BadSignature => write!(f, "participant token signature is invalid"),
            TokenError::Expired => write!(f, "participant token has expired"),
            TokenError::WrongVersion(v) => {
                write!(
                    f,
                    "participant token is for device API {v:?}, this gateway speaks v3"
                )
            }
        }
    }
}

pub struct TokenIssuer {
    key: hmac::Key,
}

impl TokenIssuer {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    pub fn random() -> Self {
        use ring::rand::SecureRandom;
        let mut secret = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut secret)
            .expect("the OS random source is available");
        Self::new(&secret)
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let sig = hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(sig.as_ref()))
    }

    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        hmac::verify(&self.key, format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = B64
            .decode(p)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.v != "v3" {
            return Err(TokenError::WrongVersion(claims.v));
        }
        if claims.exp <= now_secs {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: &str, exp: i64) -> Claims {
        Claims {
            a: "acct".into(),
            p: "part".into(),
            v: v.into(),
            exp,
            tid: "sess".into(),
            iss: "mock:00".into(),
        }
    }

    #[test]
    fn issued_token_verifies_and_round_trips_claims() {
        let issuer = TokenIssuer::new(b"k");
        let t = issuer.issue(&claims("v3", 100));
        assert_eq!(issuer.verify(&t, 99).unwrap(), claims("v3", 100));
    }

    #[test]
    fn rejects_expired_wrong_version_foreign_and_garbage_tokens() {
        let issuer = TokenIssuer::new(b"k");
        assert_eq!(
            issuer.verify(&issuer.issue(&claims("v3", 100)), 100),
            Err(TokenError::Expired)
        );
        assert_eq!(
            issuer.verify(&issuer.issue(&claims("v2", 100)), 1),
            Err(TokenError::WrongVersion("v2".into()))
        );
        let other = TokenIssuer::new(b"other");
        assert_eq!(
            issuer.verify(&other.issue(&claims("v3", 100)), 1),
            Err(TokenError::BadSignature)
        );
        assert_eq!(issuer.verify("a.b", 1), Err(TokenError::Malformed));
        assert_eq!(
            issuer.verify("not-a-jwt.x.y", 1),
            Err(TokenError::Malformed)
        );
    }
}
