//! What the mock may say about secrets in its log: nothing but a short fingerprint. Device
//! tokens, participant tokens, client secrets and API keys never reach stderr whole, at any
//! level; request paths are logged without their query (tokens ride in `?token=`).
//! `line` is the last line of defence: the binary passes every log line through it, because
//! at TRACE the WebSocket and webrtc libraries log whole messages, which carry keys.

/// A short, stable, non-reversible name for a secret: `#` and 8 hex digits of its SHA-256.
pub fn fingerprint(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let hex: String = digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("#{hex}")
}

/// JSON keys and query parameters whose values are secrets (compared lower-case, as a
/// suffix of the key: `x-api-key`, `clientSecret`, `deviceToken`, `participantToken`).
const SECRET_NAMES: &[&str] = &[
    "key",
    "secret",
    "token",
    "tok",
    "authorization",
    "password",
    "header",
];

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.ends_with(s))
}

fn token_len(s: &str, extra: &[u8]) -> usize {
    s.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || extra.contains(b))
        .count()
}

/// A JSON value as the console may show it: the value of every member whose name says it
/// is a secret becomes its fingerprint, and every other string goes through [`line`] (a JWT
/// or an API key inside a payload is caught there).
pub fn json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if is_secret_name(k) => Value::String(fingerprint(s)),
                        other => json(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::String(s) => Value::String(line(s)),
        other => other.clone(),
    }
}

/// One log line with every secret in it replaced by its fingerprint: JWTs, AppSync keys,
/// `Bearer` values, the `header-…` real-time subprotocol, and the value of every JSON member
/// or query parameter whose name says it is a secret (also inside escaped JSON).
pub fn line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().expect("not at the end");
        // A JWT: three base64url segments, the first starting with `eyJ`.
        if rest.starts_with("eyJ") {
            let len = token_len(rest, b"-_.");
            if rest[..len].matches('.').count() >= 2 {
                out.push_str(&format!("[jwt {}]", fingerprint(&rest[..len])));
                i += len;
                continue;
            }
        }
        if let Some(key) = rest.strip_prefix("da2-") {
            let len = 4 + token_len(key, b"");
            if len >= 8 {
                out.push_str(&format!("[api-key {}]", fingerprint(&rest[..len])));
                i += len;
                continue;
            }
        }
        for prefix in ["Bearer ", "header-"] {
            if let Some(value) = rest.strip_prefix(prefix) {
                let len = token_len(value, b"-_.=+/");
                if len >= 8 {
                    out.push_str(prefix);
                    out.push_str(&fingerprint(&value[..len]));
                    i += prefix.len() + len;
                    break;
                }
            }
        }
        if i > text.len() - rest.len() {
            continue;
        }
        // `name":"value"`, `name\":\"value\"` (escaped JSON) or `name=value`.
        if matches!(c, '"' | '=' | ':' | '\\') {
            let before = &text[..i];
            let name_start = before
                .rfind(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'))
                .map_or(0, |p| p + 1);
            let name = &before[name_start..];
            if !name.is_empty() && is_secret_name(name) {
                let opener = ["\\\":\\\"", "\\\": \\\"", "\":\"", "\": \"", "="]
                    .into_iter()
                    .find(|o| rest.starts_with(o));
                if let Some(opener) = opener {
                    let value = &rest[opener.len()..];
                    let end = if opener == "=" {
                        value
                            .find(['&', '"', ' ', '\'', ',', '\\'])
                            .unwrap_or(value.len())
                    } else if opener.starts_with("\\") {
                        value.find("\\\"").unwrap_or(value.len())
                    } else {
                        value.find('"').unwrap_or(value.len())
                    };
                    if end > 0 {
                        out.push_str(opener);
                        out.push_str(&fingerprint(&value[..end]));
                        i += opener.len() + end;
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_loses_every_secret_and_keeps_the_rest() {
        let key = "da2-abcdefghijklmnopqrstuvwxyz";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let cases = [
            format!(
                r#"Received message {{"authorization":{{"host":"127.0.0.1:1","x-api-key":"{key}"}}}}"#
            ),
            r#"{"data":"{\"x-api-key\":\"s3cr3t-value-1\",\"q\":1}"}"#.to_string(),
            format!("GET /ws?token={jwt}&x=1"),
            "Authorization: Bearer sec-0123456789abcdef".to_string(),
            r#"{"type":"authorize","clientSecret":"s3cr3t-value-2"}"#.to_string(),
            r#"{"deviceToken":"apns-s3cr3t-value-3"}"#.to_string(),
            "Sec-WebSocket-Protocol: header-eyJob3N0IjoiYSJ9, graphql-ws".to_string(),
            format!("https://my.app.com/incomingCall?tok={jwt}"),
        ];
        for case in &cases {
            let red = line(case);
            for secret in [
                key,
                jwt,
                "s3cr3t-value",
                "sec-0123456789abcdef",
                "eyJob3N0IjoiYSJ9",
            ] {
                assert!(!red.contains(secret), "{secret} survived in {red}");
            }
        }
        let plain = r#"POST /api 200 0.4 ms action register clientId c-1 {"type":"ping","id":"7"}"#;
        assert_eq!(line(plain), plain);
        assert!(
            line(&cases[0]).contains("127.0.0.1:1"),
            "{}",
            line(&cases[0])
        );
    }

    #[test]
    fn fingerprints_are_short_stable_and_hide_the_secret() {
        let f = fingerprint("apns-device-token-0123456789");
        assert_eq!(f, fingerprint("apns-device-token-0123456789"));
        assert_eq!(f.len(), 9);
        assert!(!f.contains("0123"));
        assert_ne!(f, fingerprint("another"));
    }
}

#[cfg(test)]
mod json_tests {
    use serde_json::json;

    #[test]
    fn secret_members_become_fingerprints_and_other_strings_are_redacted_as_lines() {
        let v = json!({
            "deviceToken": "raw-device-token",
            "data": {"participantToken": "abc", "note": "x-api-key: da2-0123456789abcdef"},
            "list": ["eyJhbGciOiJIUzI1NiJ9.eyJwIjoxfQ.sig", "plain"],
            "count": 3,
        });
        let out = super::json(&v).to_string();
        for secret in [
            "raw-device-token",
            "\"abc\"",
            "da2-0123456789abcdef",
            "eyJhbGci",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.contains("plain") && out.contains("\"count\":3"),
            "{out}"
        );
        assert!(
            out.contains(&super::fingerprint("raw-device-token")),
            "{out}"
        );
    }
}
