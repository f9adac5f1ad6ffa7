//! `DialtoneClient` and its companions (`BackendConfig`, `TaskHandle`, `PersonsListener`):
//! argument conversion and hand-off to `engine::Engine` on the runtime.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use super::error::DialtoneError;
use super::runtime::{guard, run, runtime};
use super::types::{Person, PushToken};
use crate::calls::events::lock;
use crate::engine::{Endpoints, Engine};

/// The mock server's development API key (BACKEND.md §5); not a secret.
pub const MOCK_DEFAULT_API_KEY: &str = "da2-dialtonemockdevelopmentkey0001";

/// Where the backend lives: the real one (AWS + Bandwidth) or the bundled mock.
#[derive(Debug, uniffi::Object)]
pub struct BackendConfig {
    pub(crate) endpoints: Endpoints,
}

#[uniffi::export]
impl BackendConfig {
    /// The real backend: the API Gateway URL of the REST Lambda, the AppSync GraphQL URL and
    /// its API key, and the Bandwidth signaling URL (`wss://device.webrtc.bandwidth.com/v3/`).
    /// `events_url`: the `/ws` call-event channel of a deployment with the extensions (the
    /// seed has none); it is used only when `register` returns a client secret.
    #[uniffi::constructor(default(events_url = None))]
    pub fn aws(
        rest_url: String,
        graphql_url: String,
        graphql_api_key: String,
        signaling_url: String,
        events_url: Option<String>,
    ) -> Result<Arc<Self>, DialtoneError> {
        guard(|| {
            Ok(Arc::new(Self {
                endpoints: Endpoints::aws(
                    &rest_url,
                    &graphql_url,
                    &graphql_api_key,
                    &signaling_url,
                    events_url.as_deref(),
                )?,
            }))
        })
    }

    /// The mock server at `base_url` (`http://127.0.0.1:PORT`, or `http://10.0.2.2:PORT` from
    /// the Android emulator); `api_key` defaults to the mock's development key.
    #[uniffi::constructor]
    pub fn mock(base_url: String, api_key: Option<String>) -> Result<Arc<Self>, DialtoneError> {
        guard(|| {
            let key = api_key.unwrap_or_else(|| MOCK_DEFAULT_API_KEY.to_string());
            Ok(Arc::new(Self {
                endpoints: Endpoints::mock(&base_url, &key)?,
            }))
        })
    }

    /// This configuration, also trusting the certificate authorities in `pem` (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks) besides the platform's: for a development
    /// backend with its own certificate, such as `dialtone-mock --tls`. Servers are still
    /// checked by name and date; every other server is checked by the platform as before.
    pub fn with_trusted_roots(&self, pem: String) -> Result<Arc<Self>, DialtoneError> {
        guard(|| {
            let roots = crate::backend::tls::ExtraRoots::from_pem(&pem)
                .map_err(|e| crate::error::Error::InvalidInput(e.0))?;
            let mut endpoints = self.endpoints.clone();
            endpoints.extra_roots = roots;
            Ok(Arc::new(Self { endpoints }))
        })
    }

    pub fn rest_url(&self) -> String {
        self.endpoints.rest_url.clone()
    }

    pub fn graphql_url(&self) -> String {
        self.endpoints.graphql_url.clone()
    }

    pub fn realtime_url(&self) -> String {
        self.endpoints.realtime_url.clone()
    }

    pub fn signaling_url(&self) -> String {
        self.endpoints.signaling_url.clone()
    }
}

/// Receives the Person list: the current one at once, then after every change.
#[uniffi::export(foreign)]
pub trait PersonsListener: Send + Sync {
    fn on_persons_changed(&self, persons: Vec<Person>);
}

/// A running observation. `cancel()` stops it; so does dropping the handle.
#[derive(uniffi::Object)]
pub struct TaskHandle {
    running: Mutex<Option<Running>>,
}

enum Running {
    /// A task on the SDK's runtime.
    Task(JoinHandle<()>),
    /// A delivery thread reading a subscription (`calls::events`).
    Delivery {
        close: Box<dyn Fn() + Send + Sync>,
        thread: std::thread::JoinHandle<()>,
    },
}

impl TaskHandle {
    pub(super) fn task(task: JoinHandle<()>) -> Arc<Self> {
        Arc::new(TaskHandle {
            running: Mutex::new(Some(Running::Task(task))),
        })
    }

    pub(super) fn delivery<T: crate::calls::events::Coalesce + Send + Sync + 'static>(
        queue: Arc<crate::calls::events::Queue<T>>,
        thread: std::thread::JoinHandle<()>,
    ) -> Arc<Self> {
        Arc::new(TaskHandle {
            running: Mutex::new(Some(Running::Delivery {
                close: Box::new(move || queue.close()),
                thread,
            })),
        })
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the observation; no callback starts after this returns (one already running
    /// on the delivery thread finishes).
    pub fn cancel(&self) {
        match lock(&self.running).take() {
            Some(Running::Task(task)) => task.abort(),
            Some(Running::Delivery { close, .. }) => close(),
            None => {}
        }
    }

    pub fn is_finished(&self) -> bool {
        match lock(&self.running).as_ref() {
            None => true,
            Some(Running::Task(t)) => t.is_finished(),
            Some(Running::Delivery { thread, .. }) => thread.is_finished(),
        }
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// One phone's view of Dialtone: its identity, its Person list and its calls.
///
/// Closed when the app drops it (`close()` in Kotlin, the last reference in Swift): live
/// calls are hung up, incoming calls still ringing are declined, and every stream ends.
#[derive(uniffi::Object)]
pub struct DialtoneClient {
    pub(super) engine: Arc<Engine>,
    /// The client's slot of the real-time audio edge, once `audio_handle` asked for one;
    /// freed with the client, which ends the handle.
    edge: std::sync::OnceLock<Option<super::audio_edge::EdgeSlot>>,
}

#[uniffi::export]
impl DialtoneClient {
    /// `data_dir` is the app's private directory (Android `filesDir`, iOS Application Support).
    #[uniffi::constructor]
    pub fn new(config: Arc<BackendConfig>, data_dir: String) -> Result<Arc<Self>, DialtoneError> {
        guard(|| {
            if data_dir.trim().is_empty() {
                return Err(DialtoneError::InvalidInput {
                    detail: "data_dir is empty".into(),
                });
            }
            let engine = Engine::open(
                config.endpoints.clone(),
                &PathBuf::from(data_dir),
                runtime()?.handle().clone(),
            )?;
            // A device registered with the extended backend listens for call events at once.
            let _rt = runtime()?.enter();
            engine.ensure_channel();
            Ok(Arc::new(Self {
                engine,
                edge: std::sync::OnceLock::new(),
            }))
        })
    }

    /// This device's clientId, if registered. Reads the cached identity; no I/O after startup.
    pub fn client_id(&self) -> Result<Option<String>, DialtoneError> {
        guard(|| Ok(self.engine.identity()?.map(|i| i.client_id)))
    }

    /// The Person list as last synced, without network.
    pub fn persons(&self) -> Result<Vec<Person>, DialtoneError> {
        guard(|| Ok(self.person_list()))
    }

    /// Sends the current list to `listener` at once, then every change, until cancelled.
    pub fn observe_persons(&self, listener: Arc<dyn PersonsListener>) -> Arc<TaskHandle> {
        let engine = self.engine.clone();
        let mut rx = engine.persons_store().subscribe();
        let Ok(rt) = runtime() else {
            // Unreachable in practice: the client was made on this runtime.
            return Arc::new(TaskHandle {
                running: Mutex::new(None),
            });
        };
        let task = crate::task::spawn_on(rt, async move {
            loop {
                let snapshot = rx.borrow_and_update().clone();
                let own = engine.identity().ok().flatten().map(|i| i.client_id);
                let list = snapshot
                    .iter()
                    .map(|r| Person::from_record(r, own.as_deref()))
                    .collect();
                listener.on_persons_changed(list);
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
        TaskHandle::task(task)
    }
}

#[uniffi::export]
impl DialtoneClient {
    /// Registers this device's push token with the backend and returns its clientId.
    /// Idempotent for the same token; a different token moves the device to a new clientId.
    pub async fn register(&self, push: PushToken) -> Result<String, DialtoneError> {
        let engine = self.engine.clone();
        run(async move { Ok(engine.register(push.kind.into(), &push.token).await?) }).await
    }

    /// The OS issued a new push token: re-register, move the user's Person to the new
    /// clientId and delete the old one. Returns the new clientId.
    pub async fn update_push_token(&self, push: PushToken) -> Result<String, DialtoneError> {
        let engine = self.engine.clone();
        run(async move {
            Ok(engine
                .update_push_token(push.kind.into(), &push.token)
                .await?)
        })
        .await
    }

    /// Creates or updates the user's own Person.
    pub async fn save_profile(
        &self,
        first_name: String,
        last_name: String,
    ) -> Result<Person, DialtoneError> {
        let engine = self.engine.clone();
        run(async move {
            let rec = engine.save_profile(&first_name, &last_name).await?;
            let own = engine.identity()?.map(|i| i.client_id);
            Ok(Person::from_record(&rec, own.as_deref()))
        })
        .await
    }

    /// Syncs the Person list with the backend and keeps it live from then on.
    pub async fn sync_persons(&self) -> Result<Vec<Person>, DialtoneError> {
        let engine = self.engine.clone();
        run(async move {
            engine.sync_persons().await?;
            Ok(())
        })
        .await?;
        Ok(self.person_list())
    }

    /// Hangs up every call that holds this device (placed or answered); with none, ends
    /// this device's leg at the backend. Completes even if the caller is cancelled.
    pub async fn end_call(&self) -> Result<(), DialtoneError> {
        let engine = self.engine.clone();
        super::runtime::run_to_completion(async move { Ok(engine.end_call().await?) }).await
    }

    /// Bulk clean-up of clientIds (their sessions too; Persons stay). Returns those deleted.
    pub async fn delete_client_ids(
        &self,
        client_ids: Vec<String>,
    ) -> Result<Vec<String>, DialtoneError> {
        let engine = self.engine.clone();
        run(async move { Ok(engine.delete_client_ids(&client_ids).await?) }).await
    }
}

#[uniffi::export]
impl DialtoneClient {
    /// The handle the app's audio thread passes to `dialtone_audio_push` and
    /// `dialtone_audio_pull` (C; `DialtoneAudio` in Kotlin, `AudioEdge` in Swift): captured
    /// and played PCM cross there without allocation, lock or system call. The same handle
    /// every time; once this client is gone it yields silence. `Internal` if more than 64
    /// clients hold one at once.
    pub fn audio_handle(&self) -> Result<u64, DialtoneError> {
        guard(|| {
            self.edge
                .get_or_init(|| super::audio_edge::EdgeSlot::take(self.engine.audio()))
                .as_ref()
                .map(super::audio_edge::EdgeSlot::handle)
                .ok_or_else(|| DialtoneError::Internal {
                    detail: "every audio edge slot is taken (64 clients at once)".into(),
                })
        })
    }
}

impl DialtoneClient {
    fn person_list(&self) -> Vec<Person> {
        let own = self.engine.identity().ok().flatten().map(|i| i.client_id);
        self.engine
            .persons_store()
            .visible()
            .iter()
            .map(|r| Person::from_record(r, own.as_deref()))
            .collect()
    }
}

impl Drop for DialtoneClient {
    fn drop(&mut self) {
        self.engine.shutdown();
    }
}
