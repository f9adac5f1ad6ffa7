//! The Person list on the device: `store` keeps it (merge rule, watermark, persistence,
//! observers); the `engine` syncs it (base, delta, live through `backend::realtime`).

pub mod store;
