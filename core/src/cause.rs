//! A library's error kept as the cause of one of ours (`Cause`): a leaf every module's error
//! type may hold without depending on the crate's aggregate error (`error.rs`).

use std::sync::Arc;

/// A library's error kept as the cause of one of ours: shared (errors are cloned to every
/// waiter) and compared by its message, so the errors holding it stay `Clone + PartialEq`.
#[derive(Debug)]
pub struct Cause<E>(pub Arc<E>);

impl<E> Clone for Cause<E> {
    fn clone(&self) -> Self {
        Cause(self.0.clone())
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Cause<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Cause<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

impl<E: std::fmt::Display> PartialEq for Cause<E> {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}
