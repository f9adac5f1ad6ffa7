//! Keeping the Person list in step with AppSync: a base sync the first time (which also
//! drops local records the server no longer has), a delta from the `lastSync` watermark
//! after, then live changes through the real-time subscription; after every
//! (re)subscription a delta sync catches up on what was missed while away.

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::store::PersonStore;
use crate::backend::appsync::{AppSyncClient, PersonRecord};
use crate::backend::realtime::{self, RealtimeConfig, RealtimeEvent};
use crate::error::Result;
use crate::sync::lock;

pub struct PersonSync {
    appsync: AppSyncClient,
    store: Arc<PersonStore>,
    realtime: RealtimeConfig,
    /// One sync at a time: a catch-up and an app's sync do not interleave their pages.
    sync_lock: tokio::sync::Mutex<()>,
    live: Mutex<Vec<AbortHandle>>,
}

impl PersonSync {
    pub fn new(appsync: AppSyncClient, store: Arc<PersonStore>, realtime: RealtimeConfig) -> Self {
        PersonSync {
            appsync,
            store,
            realtime,
            sync_lock: tokio::sync::Mutex::new(()),
            live: Mutex::new(Vec::new()),
        }
    }

    /// Syncs now, then keeps the list live (once; later calls only sync).
    pub async fn sync_persons(self: &Arc<Self>) -> Result<Arc<Vec<PersonRecord>>> {
        self.sync_once().await?;
        self.ensure_live();
        Ok(self.store.visible())
    }

    async fn sync_once(&self) -> Result<()> {
        let _guard = self.sync_lock.lock().await;
        let last = self.store.last_sync();
        let (items, started_at) = self.appsync.sync_people(last).await?;
        let changed = self.store.apply(items, Some(started_at), last.is_none())?;
        tracing::debug!(target: "dialtone::persons", "person sync ({}) changed={changed}", if last.is_none() { "base" } else { "delta" });
        Ok(())
    }

    fn ensure_live(self: &Arc<Self>) {
        let mut live = lock(&self.live);
        if !live.is_empty() {
            return;
        }
        let (tx, mut rx) = mpsc::channel(256);
        let subscriber = crate::task::spawn(realtime::run(self.realtime.clone(), tx));
        let weak: Weak<PersonSync> = Arc::downgrade(self);
        let consumer = crate::task::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(sync) = weak.upgrade() else { return };
                match event {
                    // Whatever changed while we were not subscribed comes in by delta sync.
                    RealtimeEvent::Connected => {
                        if let Err(e) = sync.sync_once().await {
                            tracing::warn!(target: "dialtone::persons", "catch-up sync failed: {e}");
                        }
                    }
                    RealtimeEvent::Change(_, record) => {
                        if let Err(e) = sync.store.apply(vec![record], None, false) {
                            tracing::warn!(target: "dialtone::persons", "cannot store a live change: {e}");
                        }
                    }
                    RealtimeEvent::Disconnected(reason) => {
                        tracing::info!(target: "dialtone::persons", "live updates paused: {reason}");
                    }
                }
            }
        });
        live.push(subscriber.abort_handle());
        live.push(consumer.abort_handle());
    }

    /// Stops live updates (they restart with the next sync).
    /// The device's network changed: if live, reconnect the real-time socket now (a socket
    /// left on the old network would wait for its keep-alive to time out); the reconnect's
    /// catch-up sync covers what changed meanwhile. Needs a tokio runtime context.
    pub fn reconnect_live(self: &Arc<Self>) {
        if lock(&self.live).is_empty() {
            return;
        }
        self.stop_live();
        self.ensure_live();
    }

    pub fn stop_live(&self) {
        for handle in lock(&self.live).drain(..) {
            handle.abort();
        }
    }
}

impl Drop for PersonSync {
    fn drop(&mut self) {
        self.stop_live();
    }
}
