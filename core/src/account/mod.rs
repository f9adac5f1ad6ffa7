//! Who this device is: its identity (clientId, push token, own Person id, client secret)
//! and the secure storage that keeps it. Registration and token moves, which change the
//! identity, are the `engine`'s; the identity itself lives here.

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
mod dev_secrets;
pub mod identity;
pub mod secrets;
