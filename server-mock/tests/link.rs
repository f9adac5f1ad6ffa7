//! The link conditioner's control endpoint: `POST /mock/link` takes a profile or explicit
//! numbers, for every participant or one, one way or both, and refuses bad values with a 400
//! that says which; `GET /mock/link` shows what is set; `--link` (`MockConfig::link`) sets
//! the default at start.

use dialtone_mock::{MockConfig, MockServer};
use serde_json::{json, Value};

async fn start(link: Option<&str>) -> std::io::Result<MockServer> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    MockServer::start(
        "127.0.0.1:0".parse().unwrap(),
        MockConfig {
            link: link.map(str::to_string),
            ..MockConfig::default()
        },
    )
    .await
}

async fn post(m: &MockServer, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/mock/link", m.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn get(m: &MockServer) -> Value {
    reqwest::get(format!("{}/mock/link", m.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn profiles_and_numbers_are_set_and_shown_and_bad_values_are_400s() {
    let m = start(None).await.unwrap();
    assert_eq!(get(&m).await["default"], json!({"up": null, "down": null}));

    let (s, v) = post(&m, r#"{"profile": "moderate", "direction": "down"}"#).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["default"]["down"]["profile"], "moderate");
    assert_eq!(v["default"]["down"]["phases"][0]["params"]["delayMs"], 100);
    assert_eq!(v["default"]["up"], Value::Null);

    let (s, v) = post(
        &m,
        r#"{"params": {"loss": 0.2, "jitterMs": 30}, "participant": "p-1", "seed": 42}"#,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["participants"]["p-1"]["up"]["profile"], "custom");
    assert_eq!(v["participants"]["p-1"]["down"]["seed"], 42);

    for (body, says) in [
        ("{", "not JSON"),
        (r#"{"profile": "lunar"}"#, "unknown link profile"),
        (
            r#"{"params": {"loss": -0.1}}"#,
            "loss must be between 0 and 1",
        ),
        (r#"{"params": {"rateKbps": 0}}"#, "rateKbps must be above 0"),
        (
            r#"{"profile": "moderate", "direction": 3}"#,
            "direction must be",
        ),
        (r#"{"profile": "moderate", "seed": "x"}"#, "seed must be"),
    ] {
        let (s, v) = post(&m, body).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    // Nothing a bad request said was applied.
    assert_eq!(get(&m).await["default"]["up"], Value::Null);
}

#[tokio::test]
async fn the_command_line_profile_is_the_default_and_an_unknown_one_stops_the_start() {
    let m = start(Some("international")).await.unwrap();
    let v = get(&m).await;
    assert_eq!(v["default"]["up"]["profile"], "international");
    assert_eq!(v["default"]["down"]["phases"][0]["params"]["rateKbps"], 300);
    let e = start(Some("lunar")).await.err().expect("refused");
    assert!(e.to_string().contains("unknown link profile"), "{e}");
}
