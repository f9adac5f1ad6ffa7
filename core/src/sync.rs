//! Locks that survive a panic elsewhere. A poisoned `Mutex` only says that some thread
//! panicked while holding it; every lock in the core guards data that stays consistent
//! across such a panic (each write is one assignment, push or insert), so the guard is
//! taken anyway instead of turning one bug into a panic on every later call.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
