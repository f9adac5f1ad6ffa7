//! Where the backend lives: the REST, GraphQL, real-time, signaling and event-channel URLs
//! and the AppSync API key, for the real backend (AWS + Bandwidth) or the bundled mock. The
//! same code path serves both: only these differ.

use crate::error::{Error, Result};

/// Where the backend lives. The same code path serves AWS and the mock: only these differ.
#[derive(Clone, PartialEq)]
pub struct Endpoints {
    pub rest_url: String,
    pub graphql_url: String,
    pub graphql_api_key: String,
    pub realtime_url: String,
    pub signaling_url: String,
    /// The extended backend's call-event channel (`/ws`); the seed backend has none.
    pub events_url: Option<String>,
    /// Roots trusted besides the platform's, for a development backend with its own
    /// certificate (`dialtone-mock --tls`).
    pub extra_roots: crate::backend::tls::ExtraRoots,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .field("graphql_api_key", &"[redacted]")
            .field("realtime_url", &self.realtime_url)
            .field("signaling_url", &self.signaling_url)
            .field("events_url", &self.events_url)
            .field("extra_roots", &self.extra_roots)
            .finish()
    }
}

impl Endpoints {
    /// The real backend. AppSync's real-time host is derived from the GraphQL URL the way
    /// AWS names it (`appsync-api` → `appsync-realtime-api`); a custom domain keeps its host.
    /// `events_url`: the `/ws` event channel, for a deployment with the extensions.
    pub fn aws(
        rest_url: &str,
        graphql_url: &str,
        api_key: &str,
        signaling_url: &str,
        events_url: Option<&str>,
    ) -> Result<Self> {
        let gql = check_url(graphql_url, &["https", "http"], "GraphQL URL")?;
        check_url(rest_url, &["https", "http"], "REST URL")?;
        check_url(signaling_url, &["wss", "ws"], "signaling URL")?;
        if let Some(e) = events_url {
            check_url(e, &["wss", "ws"], "event channel URL")?;
        }
        if api_key.trim().is_empty() {
            return Err(Error::InvalidInput("the GraphQL API key is empty".into()));
        }
        let host = gql
            .host_str()
            .unwrap_or_default()
            .replace("appsync-api", "appsync-realtime-api");
        let scheme = if gql.scheme() == "https" { "wss" } else { "ws" };
        let port = gql.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Self {
            rest_url: rest_url.to_string(),
            graphql_url: graphql_url.to_string(),
            graphql_api_key: api_key.to_string(),
            realtime_url: format!("{scheme}://{host}{port}{}", gql.path()),
            signaling_url: signaling_url.to_string(),
            events_url: events_url.map(str::to_string),
            extra_roots: Default::default(),
        })
    }

    /// The bundled mock server at `http://127.0.0.1:PORT`, with its fixed paths.
    pub fn mock(base_url: &str, api_key: &str) -> Result<Self> {
        let base = check_url(base_url, &["http", "https"], "mock base URL")?;
        let root = base.as_str().trim_end_matches('/').to_string();
        let ws_root = root.replacen("http", "ws", 1);
        Ok(Self {
            rest_url: format!("{root}/api"),
            graphql_url: format!("{root}/graphql"),
            graphql_api_key: api_key.to_string(),
            realtime_url: format!("{ws_root}/graphql/realtime"),
            signaling_url: format!("{ws_root}/v3/"),
            // Used only once `register` shows the mock runs its extended profile.
            events_url: Some(format!("{ws_root}/ws")),
            extra_roots: Default::default(),
        })
    }

    pub fn graphql_host(&self) -> String {
        crate::backend::urls::parse(&self.graphql_url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_default()
    }
}

fn check_url(raw: &str, schemes: &[&str], what: &str) -> Result<url::Url> {
    let url = crate::backend::urls::parse(raw)
        .map_err(|e| Error::InvalidInput(format!("{what} {raw:?}: {e}")))?;
    if !schemes.contains(&url.scheme()) || url.host_str().is_none() {
        return Err(Error::InvalidInput(format!(
            "{what} must be a {} URL with a host",
            schemes.join("/")
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_derive_the_realtime_host() {
        let e = Endpoints::aws(
            "https://abc.execute-api.us-east-1.amazonaws.com/staging/api",
            "https://xyz.appsync-api.us-east-1.amazonaws.com/graphql",
            "da2-key",
            "wss://device.webrtc.bandwidth.com/v3/",
            None,
        )
        .unwrap();
        assert_eq!(
            e.realtime_url,
            "wss://xyz.appsync-realtime-api.us-east-1.amazonaws.com/graphql"
        );
        assert_eq!(e.graphql_host(), "xyz.appsync-api.us-east-1.amazonaws.com");
        assert!(!format!("{e:?}").contains("da2-key"));
    }

    #[test]
    fn internationalised_hosts_are_taken_in_punycode_and_refused_clearly_otherwise() {
        let e = Endpoints::mock("https://xn--bcher-kva.example/", "k").unwrap();
        assert_eq!(e.graphql_host(), "xn--bcher-kva.example");
        let err = Endpoints::mock("https://b\u{fc}cher.example/", "k").unwrap_err();
        assert!(err.to_string().contains("Punycode"), "{err}");
    }

    #[test]
    fn mock_endpoints_use_the_fixed_paths() {
        let e = Endpoints::mock("http://127.0.0.1:4000/", "k").unwrap();
        assert_eq!(e.rest_url, "http://127.0.0.1:4000/api");
        assert_eq!(e.realtime_url, "ws://127.0.0.1:4000/graphql/realtime");
        assert_eq!(e.signaling_url, "ws://127.0.0.1:4000/v3/");
        assert_eq!(e.graphql_host(), "127.0.0.1:4000");
    }

    #[test]
    fn bad_urls_are_invalid_input() {
        assert!(matches!(
            Endpoints::mock("not a url", "k"),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            Endpoints::aws("ftp://x", "https://y/graphql", "k", "wss://z", None),
            Err(Error::InvalidInput(_))
        ));
    }
}
