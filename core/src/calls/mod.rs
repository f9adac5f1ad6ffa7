//! Calls. Read in this order to follow one call top to bottom:
//! - `push` parses what the OS delivered; `admission` turns it (or an event-channel
//!   `ringing`) into an invite, once per call id, never when stale;
//! - `manager` owns every call by id, decides busy from that table, places calls and routes
//!   event-channel events;
//! - `actor` is one call: its inbox, its machine, its ring timer, its media and its child tasks;
//! - `machine` is the pure transition table the actor obeys, per profile and direction;
//! - `platform` is the call's backend port (REST actions) and its real adapter; media is
//!   reached only through `media::link` (its ports, events and errors);
//! - `events` delivers state changes to every subscriber, losing none.

pub mod actor;
pub mod admission;
pub mod events;
pub mod machine;
pub mod manager;
pub mod platform;
pub mod push;
#[cfg(test)]
mod sim;

pub use actor::CallHandle;
pub use admission::{IgnoreReason, Invite, PushOutcome};
pub use events::{CallUpdate, UpdateKind};
pub use machine::{CallState, Direction, EndReason};
pub use manager::CallManager;
pub use platform::OutgoingCall;
