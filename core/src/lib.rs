//! Dialtone's shared core. Subsystems, each a folder with a module doc saying what it owns:
//! `calls` (the call manager, one actor per call, the pure machine, admission of invites),
//! `media` (joined sessions, signaling, WebRTC peers, the audio pipeline), `backend` (REST,
//! AppSync, real-time, the event channel, one TLS/HTTP client and WebSocket connector),
//! `account` (identity and secure storage), `persons` (the local Person list). The `engine`
//! owns them for one client; `ffi` is the thin UniFFI layer the Kotlin and Swift bindings
//! are generated from, and the only public surface. See ARCHITECTURE.md.

// The shipped core does not `unwrap` or `expect`: every failure is a typed error (a panic in
// a spawned task would end that task silently). Test code may.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod account;
mod backend;
mod calls;
mod cause;
#[cfg(test)]
mod diagrams;
mod engine;
mod error;
mod ffi;
mod logging;
mod media;
mod persons;
mod rooms;
mod sync;
mod task;

pub use ffi::*;

/// Internals for the project's own integration tests, benchmarks and fuzzers (feature
/// `testing`); not part of the SDK's API.
#[cfg(feature = "testing")]
pub mod testing {
    pub use crate::account::identity::PushKind;
    pub use crate::backend::appsync::{AppSyncClient, GraphqlError};
    pub use crate::backend::event_channel::{self, CallEnd, ServerEvent};
    pub use crate::calls::admission::{Admission, Admissions};
    pub use crate::calls::{CallUpdate, UpdateKind};
    pub use crate::engine::{Endpoints, Engine};
    pub use crate::logging::redact;
    pub use crate::media::link::{MediaStats, Timings};
    pub use crate::rooms::{RoomHandle, RoomUpdate};

    pub use crate::backend::http::{HttpClient, HttpError};
    pub use crate::backend::tls::{client_config as tls_config, ExtraRoots};

    /// The core's HTTP client setup (the platform's verifier, timeouts), for tests that talk
    /// to the mock.
    #[allow(clippy::expect_used)]
    pub fn http_client() -> crate::backend::http::HttpClient {
        let tls = crate::backend::tls::client_config(&ExtraRoots::default())
            .expect("the TLS setup works on the test machine");
        crate::backend::http::HttpClient::new(tls, std::time::Duration::from_secs(20))
            .expect("the HTTP client builds on the test machine")
    }
    /// The secrets a client keeps in its data directory (client secret, push token), for
    /// tests that check no log ever shows them.
    pub fn stored_secrets(data_dir: &std::path::Path) -> Vec<String> {
        let Ok(store) = crate::account::secrets::SecretStore::open(data_dir) else {
            return Vec::new();
        };
        match crate::account::identity::IdentityStore::new(store).load() {
            Ok(Some(id)) => id
                .client_secret
                .into_iter()
                .chain([id.push_token])
                .collect(),
            _ => Vec::new(),
        }
    }
    /// Every reader of bytes from the network or the OS, for the fuzz targets in `fuzz/`.
    pub mod parsers {
        pub use crate::backend::appsync::{decode_person, interpret as appsync_response};
        pub use crate::backend::event_channel::parse as event_channel_message;
        pub use crate::backend::realtime::parse_server_message as realtime_message;
        pub use crate::backend::rest::interpret as rest_response;
        pub use crate::calls::push::parse as push_payload;
        pub use crate::media::participant_token::decode_claims as participant_token;
        pub use crate::media::signaling::{
            parse_inbound as signaling_message, rewrite_setup, sending_streams,
        };

        /// Feeds each event-channel message that parses as a room event to one member list,
        /// as a room does (the fuzz target's second half): it must never panic, and the
        /// list stays bounded.
        pub fn room_events(messages: &[&str]) -> usize {
            let mut roster = crate::rooms::roster::Roster::default();
            for m in messages {
                if let Ok(crate::backend::event_channel::ServerEvent::Room(ev)) =
                    crate::backend::event_channel::parse(m)
                {
                    let _ = roster.event(ev);
                }
            }
            roster.members().len()
        }
    }
    pub use crate::media::audio_bridge::Source;
    pub use crate::media::mixer::Mixer;
    pub use crate::media::voice::Voices;
    pub use crate::media::{codec, peer, tone, FRAME_SAMPLES, FRAME_TIMESTAMP_STEP};
}

uniffi::setup_scaffolding!("dialtone");
