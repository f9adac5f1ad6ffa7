//! Delivery of call events: every subscriber gets every state and end event, in order,
//! whatever another subscriber (or its own listener) does. Each subscription is its own
//! unbounded queue; only the kinds that say "the latest value" (audio levels, stats) are
//! coalesced, latest wins. A queue is read by a delivery thread (`recv_blocking`), which is
//! how app listeners are called: a listener that blocks holds up its own thread and nothing
//! else, and never a worker of the SDK's runtime.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use super::machine::CallState;
use crate::media::link::MediaStats;

/// What happened to a call. Every update names its call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallUpdate {
    pub call_id: String,
    pub kind: UpdateKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdateKind {
    State(CallState),
    /// 0.0 (silence) to 1.0 (full scale).
    Level {
        local: f32,
        remote: f32,
    },
    Stats(MediaStats),
}

/// Whether a newer item makes an older, still undelivered one pointless.
pub trait Coalesce {
    fn replaces(&self, older: &Self) -> bool;
}

impl Coalesce for CallUpdate {
    fn replaces(&self, older: &Self) -> bool {
        self.call_id == older.call_id
            && matches!(
                (&self.kind, &older.kind),
                (UpdateKind::Level { .. }, UpdateKind::Level { .. })
                    | (UpdateKind::Stats(_), UpdateKind::Stats(_))
            )
    }
}

pub(crate) use crate::sync::lock;

/// One subscriber's queue.
pub struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    ready: Condvar,
    closed: AtomicBool,
}

impl<T: Coalesce> Queue<T> {
    fn new() -> Self {
        Queue {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn push(&self, item: T) {
        {
            let mut items = lock(&self.items);
            match items.iter_mut().find(|old| item.replaces(old)) {
                Some(old) => *old = item,
                None => items.push_back(item),
            }
        }
        self.ready.notify_all();
    }

    /// Stops the subscription: receivers get `None`.
    pub fn close(&self) {
        self.shut();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// What is queued now, without waiting (tests, the load tool).
    #[cfg(any(test, feature = "testing"))]
    pub fn pop_now(&self) -> Option<T> {
        lock(&self.items).pop_front()
    }

    /// The next item, blocking this thread; `None` once closed (what is still queued when a
    /// subscription is cancelled is dropped: the app asked for no more).
    pub fn recv_blocking(&self) -> Option<T> {
        let mut items = lock(&self.items);
        loop {
            if self.is_closed() {
                return None;
            }
            if let Some(item) = items.pop_front() {
                return Some(item);
            }
            items = self.ready.wait(items).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Fans items out to every live subscription.
pub struct Hub<T> {
    subs: Mutex<Vec<Weak<Queue<T>>>>,
}

impl<T> Default for Hub<T> {
    fn default() -> Self {
        Hub {
            subs: Mutex::new(Vec::new()),
        }
    }
}

impl<T: Coalesce + Clone> Hub<T> {
    /// A new subscription; `initial` items are queued first, under the same lock that
    /// publishing takes, so nothing published is missed or seen twice.
    pub fn subscribe_with(&self, initial: impl FnOnce() -> Vec<T>) -> Arc<Queue<T>> {
        let queue = Arc::new(Queue::new());
        let mut subs = lock(&self.subs);
        for item in initial() {
            queue.push(item);
        }
        subs.retain(|w| w.strong_count() > 0);
        subs.push(Arc::downgrade(&queue));
        queue
    }

    pub fn subscribe(&self) -> Arc<Queue<T>> {
        self.subscribe_with(Vec::new)
    }

    /// Runs `update` (which changes what `subscribe_with`'s `initial` reads) and publishes
    /// its item, atomically with respect to new subscriptions.
    pub fn publish_with(&self, update: impl FnOnce() -> T) {
        let subs = lock(&self.subs);
        let item = update();
        for q in subs.iter().filter_map(Weak::upgrade) {
            if !q.is_closed() {
                q.push(item.clone());
            }
        }
    }

    pub fn publish(&self, item: T) {
        self.publish_with(|| item)
    }
}

impl<T> Queue<T> {
    /// Marks the queue closed under the lock `recv_blocking` checks it under, then wakes
    /// every receiver: a receiver between its check and its wait cannot miss the wake-up.
    fn shut(&self) {
        {
            let _items = lock(&self.items);
            self.closed.store(true, Ordering::SeqCst);
        }
        self.ready.notify_all();
    }
}

impl<T> Hub<T> {
    /// Ends every subscription (their receivers get `None`).
    pub fn close_all(&self) {
        for q in lock(&self.subs).drain(..).filter_map(|w| w.upgrade()) {
            q.shut();
        }
    }
}

impl<T> Drop for Hub<T> {
    fn drop(&mut self) {
        self.close_all();
    }
}

/// Calls `deliver` with each item on a thread of its own until the queue closes or
/// `deliver` says stop. A panicking `deliver` is caught and logged; delivery goes on.
pub fn deliver_on_thread<T: Coalesce + Send + 'static>(
    name: &str,
    queue: Arc<Queue<T>>,
    mut deliver: impl FnMut(T) -> bool + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            while let Some(item) = queue.recv_blocking() {
                let go_on = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(item)))
                    .unwrap_or_else(|_| {
                        tracing::error!(target: "dialtone::calls", "an app listener panicked; the event was dropped for it");
                        true
                    });
                if !go_on {
                    queue.close();
                    return;
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::machine::EndReason;

    fn state(id: &str, s: CallState) -> CallUpdate {
        CallUpdate {
            call_id: id.into(),
            kind: UpdateKind::State(s),
        }
    }

    fn level(id: &str, x: f32) -> CallUpdate {
        CallUpdate {
            call_id: id.into(),
            kind: UpdateKind::Level {
                local: x,
                remote: x,
            },
        }
    }

    #[test]
    fn a_blocked_subscriber_loses_no_state_event_and_holds_up_no_one() {
        let hub = Hub::default();
        let slow = hub.subscribe();
        let fast = hub.subscribe();
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        // The slow listener blocks on its first event until the test lets it go.
        let slow_thread = deliver_on_thread("slow", slow, move |u: CallUpdate| {
            let _ = gate_rx.recv();
            seen.lock().unwrap().push(u);
            true
        })
        .unwrap();
        for i in 0..10_000 {
            hub.publish(level("a", i as f32));
            if i % 100 == 0 {
                hub.publish(state("a", CallState::Connected));
            }
        }
        hub.publish(state("a", CallState::Ended(EndReason::RemoteHangup)));
        // The fast subscriber has everything already, levels coalesced.
        let mut fast_states = 0;
        let mut last = None;
        while let Some(u) = fast.pop_now() {
            if let UpdateKind::State(s) = &u.kind {
                fast_states += 1;
                last = Some(s.clone());
            }
        }
        assert_eq!(fast_states, 101);
        assert_eq!(last, Some(CallState::Ended(EndReason::RemoteHangup)));
        // Let the slow one go: it gets every state event too, the end last.
        for _ in 0..20_000 {
            let _ = gate_tx.send(());
        }
        drop(gate_tx);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let states: Vec<_> = got
                .lock()
                .unwrap()
                .iter()
                .filter_map(|u| match &u.kind {
                    UpdateKind::State(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            if states.len() == 101 {
                assert_eq!(
                    states.last(),
                    Some(&CallState::Ended(EndReason::RemoteHangup))
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "slow listener got {}",
                states.len()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(hub);
        slow_thread.join().unwrap();
    }

    /// Closing races a receiver about to wait, thousands of times, both ways a queue is
    /// closed: the receiver always wakes with `None` (a lost wake-up would park it for good
    /// and the join below would time out).
    #[test]
    fn close_never_loses_a_receivers_wake_up() {
        for round in 0..4_000 {
            let hub: Hub<CallUpdate> = Hub::default();
            let q = hub.subscribe();
            let receiver = q.clone();
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let t = std::thread::spawn(move || {
                let _ = done_tx.send(receiver.recv_blocking().is_none());
            });
            // Vary the moment: sometimes before the receiver runs, sometimes while it waits.
            for _ in 0..(round % 64) {
                std::hint::spin_loop();
            }
            if round % 2 == 0 {
                q.close();
            } else {
                hub.close_all();
            }
            let woke = done_rx.recv_timeout(std::time::Duration::from_secs(5));
            assert_eq!(woke, Ok(true), "round {round}: the receiver was not woken");
            t.join().unwrap();
        }
    }

    #[test]
    fn levels_are_coalesced_per_call_and_states_never() {
        let hub = Hub::default();
        let q = hub.subscribe();
        hub.publish(level("a", 0.1));
        hub.publish(level("b", 0.2));
        hub.publish(state("a", CallState::Connected));
        hub.publish(level("a", 0.3));
        hub.publish(state("a", CallState::Connected));
        let items: Vec<_> = std::iter::from_fn(|| q.pop_now()).collect();
        assert_eq!(
            items,
            vec![
                level("a", 0.3),
                level("b", 0.2),
                state("a", CallState::Connected),
                state("a", CallState::Connected)
            ]
        );
    }

    #[test]
    fn a_panicking_listener_is_caught_and_delivery_goes_on() {
        let hub = Hub::default();
        let q = hub.subscribe();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = count.clone();
        let t = deliver_on_thread("panicky", q, move |_u: CallUpdate| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("listener bug");
            }
            true
        })
        .unwrap();
        hub.publish(state("a", CallState::Ringing));
        hub.publish(state("a", CallState::Connected));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while count.load(Ordering::SeqCst) < 2 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        drop(hub);
        t.join().unwrap();
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
