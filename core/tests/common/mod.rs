//! Helpers the integration tests and the benchmark share: reading the mock's push outbox
//! as a phone would receive it.
#![allow(dead_code)]

use dialtone_mock::MockServer;
use serde_json::Value;

/// The pushes waiting for `device_token` (long-polls up to 3 s for the first one).
pub async fn pushes(m: &MockServer, device_token: &str) -> Vec<Value> {
    let url = format!(
        "{}/mock/pushes?deviceToken={device_token}&waitMs=3000",
        m.base_url()
    );
    let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["pushes"].as_array().cloned().unwrap_or_default()
}

/// The callee's participant token from the deep link of its next push (FCM or APNs).
pub async fn push_token(m: &MockServer, device_token: &str) -> String {
    let push = pushes(m, device_token)
        .await
        .into_iter()
        .next()
        .expect("a push arrives");
    let link = push["data"]["pinpoint.deeplink"]
        .as_str()
        .or_else(|| push["payload"]["data"]["pinpoint"]["deeplink"].as_str())
        .expect("the push carries a deep link");
    link.split("tok=")
        .nth(1)
        .expect("the deep link carries a token")
        .to_string()
}
