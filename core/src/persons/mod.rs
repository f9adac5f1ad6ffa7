//! The Person list on the device: `store` keeps it (merge rule, watermark, persistence,
//! observers); `sync` keeps it in step with AppSync (base, delta, live through
//! `backend::realtime`, catch-up after every reconnection).

pub mod store;
pub mod sync;
