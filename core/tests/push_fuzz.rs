//! Property test: a million generated pushes (mutated real payloads, random JSON shapes,
//! random bytes) through the push path. None may panic, and every outcome is an invite, a
//! reasoned `Ignored`, or a clear error.

use dialtone::incoming::{IncomingCalls, PushOutcome};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    r#"{"pinpoint.notification.title":"Incoming Call","pinpoint.notification.body":"Ann Lee is calling you","pinpoint.deeplink":"https://my.app.com/incomingCall?tok=eyJhbGciOiJIUzI1NiJ9.eyJ2IjoidjMiLCJleHAiOjQxMDI0NDQ4MDB9.c2ln"}"#,
    r#"{"aps":{"alert":{"title":"Incoming Call","body":"Bob is calling you"}},"data":{"pinpoint":{"deeplink":"https://my.app.com/incomingCall?tok=a.b.c"},"callId":"0b9f3f4e-8d7c-4a62-9d9e-0e8f2b1c3a45","callerId":"c-1","sentAt":"1700000000000"}}"#,
    r#"{"callId":"x","callerName":"Z","sentAt":"nope"}"#,
];

const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "1e999",
    "-0",
    "\\u0000",
    "\\ud800",
    "\"aps\"",
    "\"data\"",
    "\"pinpoint\"",
    "\"deeplink\"",
    "\"pinpoint.deeplink\"",
    "\"callId\"",
    "\"sentAt\"",
    "\"tok=\"",
    "\"https://my.app.com/incomingCall?tok=\"",
    "é",
    "🙂",
    " ",
];

fn generate(rng: &mut XorShift) -> String {
    match rng.below(4) {
        // A real payload with a few bytes changed, inserted or cut.
        0 | 1 => {
            let mut s = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(s.len() + 1);
                match rng.below(3) {
                    0 if at < s.len() => s[at] = rng.next() as u8,
                    1 => s.insert(at.min(s.len()), rng.next() as u8),
                    _ => s.truncate(at),
                }
            }
            String::from_utf8_lossy(&s).into_owned()
        }
        // Tokens of JSON glued together.
        2 => (0..rng.below(40))
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect(),
        // Random bytes, sometimes long.
        _ => {
            let len = if rng.below(50) == 0 {
                6000
            } else {
                rng.below(200)
            };
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

#[test]
fn a_million_generated_pushes_never_panic() {
    let calls = IncomingCalls::default();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut invites, mut ignored, mut errors) = (0u32, 0u32, 0u32);
    for i in 0..1_000_000u64 {
        let raw = generate(&mut rng);
        match calls.handle(&raw, i as i64) {
            Ok(PushOutcome::Invite(inv)) => {
                assert!(uuid::Uuid::parse_str(&inv.call_id).is_ok());
                invites += 1;
            }
            Ok(PushOutcome::Ignored { .. }) => ignored += 1,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                errors += 1;
            }
        }
    }
    assert_eq!(invites + ignored + errors, 1_000_000);
    assert!(
        invites > 0 && ignored > 0 && errors > 0,
        "the generator reaches every outcome"
    );
}
