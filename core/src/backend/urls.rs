//! Reading URLs. Every URL the core parses (the app's configuration, the backend's answers,
//! push payloads) goes through [`parse`]; `core/clippy.toml` forbids `Url::parse` elsewhere.
//!
//! The library carries no Unicode tables for host names: `core/Cargo.toml` pins
//! `idna_adapter` 1.0, the ASCII-only back end of `url`'s IDNA step (130 KiB smaller, issue
//! 13). A host must then be ASCII, an internationalised one written in Punycode (`xn--…`),
//! as DNS stores it. [`parse`] refuses anything else with a clear error before the URL parser
//! sees it: besides the message, that keeps such input away from the back end, whose debug
//! assertions expect lowercased ASCII (fuzzing found `https://Aü.x/` tripping one).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct UrlError(String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

/// `url::Url::parse`, for ASCII hosts only.
pub fn parse(raw: &str) -> Result<url::Url, UrlError> {
    // The host lies before any query or fragment; check that part only, so a query may
    // still carry percent-encoded UTF-8.
    let head = raw.split(['?', '#']).next().unwrap_or(raw);
    if !head.is_ascii() || has_non_ascii_escape(head) {
        return Err(UrlError(
            "only ASCII host names are supported: write an internationalised one in its \
             xn-- (Punycode) form"
                .into(),
        ));
    }
    #[allow(clippy::disallowed_methods)]
    url::Url::parse(raw).map_err(|e| UrlError(e.to_string()))
}

/// A `%XX` escape of a byte ≥ 0x80 (UTF-8 beyond ASCII, percent-encoded).
fn has_non_ascii_escape(s: &str) -> bool {
    s.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!(w[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
            && w[2].is_ascii_hexdigit()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_punycode_hosts_parse_and_are_lowercased() {
        let u = parse("https://API.Example.COM/Stage/api").unwrap();
        assert_eq!(u.host_str(), Some("api.example.com"));
        assert_eq!(u.path(), "/Stage/api");
        let u = parse("https://XN--Bcher-kva.example/").unwrap();
        assert_eq!(u.host_str(), Some("xn--bcher-kva.example"));
        // Percent-encoded UTF-8 is fine in a query.
        let u = parse("https://my.app.com/incomingCall?tok=a&name=M%C3%BCller").unwrap();
        assert_eq!(u.query_pairs().nth(1).unwrap().1, "Müller");
    }

    #[test]
    fn non_ascii_hosts_are_refused_clearly_in_every_spelling() {
        for raw in [
            "https://b\u{fc}cher.example/",
            "https://A\u{fc}.x/",
            "https://A%C3%BC.x/",
            "https:A%c3%bc.x/",
            "https://%41%C3%BC.x/",
            "https:\\\\\u{fc}.x",
            "  https://\u{fc}\t.x/",
        ] {
            let err = parse(raw).unwrap_err();
            assert!(err.to_string().contains("Punycode"), "{raw:?}: {err}");
        }
        assert!(parse("not a url").is_err());
    }
}
