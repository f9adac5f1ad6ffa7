//! Property tests: a million generated pushes (mutated real payloads, random JSON shapes,
//! random bytes) through the push path, and a million generated messages through the event
//! channel's parser. None may panic, and every outcome is an invite, a reasoned `Ignored`,
//! a parsed event, or a clear error.

use dialtone::testing::{event_channel, CallEnd, ServerEvent};
use dialtone::testing::{Admission, Admissions};

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

const EVENT_SEEDS: &[&str] = &[
    r#"{"type":"ringing","callId":"0b9f3f4e-8d7c-4a62-9d9e-0e8f2b1c3a45","callerId":"a","calleeId":"b","callerName":"Ann Lee","sentAt":1700000000000}"#,
    r#"{"type":"answered","callId":"c1","by":"b"}"#,
    r#"{"type":"declined","callId":"c1","by":"b"}"#,
    r#"{"type":"busy","callId":"c1"}"#,
    r#"{"type":"cancelled","callId":"c1"}"#,
    r#"{"type":"ended","callId":"c1"}"#,
    r#"{"type":"pong"}"#,
    r#"{"type":"connected","connectionId":"7"}"#,
    r#"{"type":"error","message":"action "x" is not implemented"}"#,
];

const EVENT_PIECES: &[&str] = &[
    "\"type\"",
    "\"ringing\"",
    "\"answered\"",
    "\"callId\"",
    "\"sentAt\"",
    "\"by\"",
    "\"message\"",
];

fn generate(rng: &mut XorShift) -> String {
    generate_from(rng, SEEDS, PIECES)
}

fn generate_from(rng: &mut XorShift, seeds: &[&str], pieces: &[&str]) -> String {
    match rng.below(4) {
        // A real payload with a few bytes changed, inserted or cut.
        0 | 1 => {
            let mut s = seeds[rng.below(seeds.len())].as_bytes().to_vec();
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
            .map(|_| {
                if rng.below(3) == 0 {
                    pieces[rng.below(pieces.len())]
                } else {
                    PIECES[rng.below(PIECES.len())]
                }
            })
            .collect(),
        // Random bytes, sometimes long.
        _ => {
            let len = if rng.below(50) == 0 {
                20_000
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
    let calls = Admissions::default();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut invites, mut ignored, mut errors) = (0u32, 0u32, 0u32);
    for i in 0..1_000_000u64 {
        let raw = generate(&mut rng);
        match calls.handle(&raw, i as i64) {
            Ok(Admission::Ring(admitted)) => {
                let inv = admitted.invite;
                assert!(uuid::Uuid::parse_str(&inv.call_id).is_ok());
                invites += 1;
            }
            Ok(Admission::Ignored { .. }) => ignored += 1,
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

#[test]
fn a_million_generated_event_channel_messages_never_panic() {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let (mut calls, mut others, mut errors) = (0u32, 0u32, 0u32);
    for _ in 0..1_000_000u32 {
        let raw = generate_from(&mut rng, EVENT_SEEDS, EVENT_PIECES);
        match event_channel::parse(&raw) {
            Ok(
                ServerEvent::Ringing { call_id, .. }
                | ServerEvent::Answered(CallEnd { call_id, .. })
                | ServerEvent::Declined(CallEnd { call_id, .. })
                | ServerEvent::Busy(CallEnd { call_id, .. })
                | ServerEvent::Cancelled(CallEnd { call_id, .. })
                | ServerEvent::Ended(CallEnd { call_id, .. })
                | ServerEvent::Missed(CallEnd { call_id, .. }),
            ) => {
                assert!(!call_id.is_empty());
                calls += 1;
            }
            Ok(_) => others += 1,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                errors += 1;
            }
        }
    }
    assert!(
        calls > 0 && others > 0 && errors > 0,
        "the generator reaches every outcome: {calls} {others} {errors}"
    );
}
