//! `handle_push` latency (prints figures; not a test): the budget is 1 ms p99, because iOS
//! must report a VoIP push to CallKit at once. Measures the whole synchronous path through
//! the exported client (parse, dedupe, staleness, invite, ring-timer spawn) on fresh pushes.
//!   cargo bench -p dialtone --bench push_handling

use std::time::Instant;

use dialtone::{BackendConfig, DialtoneClient, PushOutcome};

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let client = DialtoneClient::new(
        BackendConfig::mock("http://127.0.0.1:9".into(), None).unwrap(),
        dir.path().display().to_string(),
    )
    .unwrap();
    client.set_ring_timeout_ms(3_600_000);
    let n = 20_000;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        // A unique, far-from-expired token per push, shaped like the mock's and Bandwidth's.
        let payload = format!(
            r#"{{"pinpoint.notification.title":"Incoming Call","pinpoint.notification.body":"Caller {i} is calling you","pinpoint.deeplink":"https://my.app.com/incomingCall?tok=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoiYWNjdCIsInAiOiJwLXtpfSIsInYiOiJ2MyIsImV4cCI6NDEwMjQ0NDgwMCwidGlkIjoicyIsImlzcyI6Im1vY2s6MDAifQ.sig{i}"}}"#
        );
        let t = Instant::now();
        let outcome = client.handle_push(payload).unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(matches!(outcome, PushOutcome::Invite { .. }));
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("handle_push over {n} fresh pushes: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs (budget 1000 µs p99)", p(0.5), p(0.99), p(1.0));
}
