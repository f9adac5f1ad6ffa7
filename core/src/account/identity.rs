//! Who this device is to the backend: its clientId, the push token it registered with, and
//! the id of the user's own Person. All of it lives in secure storage (a clientId is a
//! bearer credential in the seed backend: whoever holds it can act for the device), and is
//! cached in memory after the first read so the push path never waits on storage twice.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::account::secrets::{SecretError, SecretStore};

const KEY: &str = "identity";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushKind {
    Fcm,
    Apns,
    ApnsVoip,
}

impl PushKind {
    pub fn notify_type(self) -> crate::backend::rest::NotifyType {
        match self {
            PushKind::Fcm => crate::backend::rest::NotifyType::Gcm,
            PushKind::Apns | PushKind::ApnsVoip => crate::backend::rest::NotifyType::Apns,
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub client_id: String,
    pub push_kind: PushKind,
    pub push_token: String,
    pub person_id: Option<String>,
    /// The extended backend's bearer secret for this clientId; `None` on the seed backend,
    /// which is how the core tells the two apart.
    #[serde(default)]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("client_id", &"[redacted]")
            .field("push_kind", &self.push_kind)
            .field("push_token", &"[redacted]")
            .field("person_id", &self.person_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

pub struct IdentityStore {
    secrets: SecretStore,
    cached: Mutex<Option<Option<Identity>>>,
    forgotten_person: Mutex<Option<String>>,
}

impl IdentityStore {
    pub fn new(secrets: SecretStore) -> Self {
        Self {
            secrets,
            cached: Mutex::new(None),
            forgotten_person: Mutex::new(None),
        }
    }

    pub fn load(&self) -> Result<Option<Identity>, SecretError> {
        let mut cached = crate::sync::lock(&self.cached);
        if let Some(v) = cached.as_ref() {
            return Ok(v.clone());
        }
        let loaded = match self.secrets.get(KEY)? {
            None => None,
            Some(raw) => match serde_json::from_str::<Identity>(&raw) {
                Ok(id) => Some(id),
                Err(_) => {
                    // Unreadable means unusable: registering again is the way out, not a crash.
                    tracing::warn!(target: "dialtone::identity", "stored identity is unreadable; treating the device as unregistered");
                    None
                }
            },
        };
        *cached = Some(loaded.clone());
        Ok(loaded)
    }

    pub fn save(&self, identity: &Identity) -> Result<(), SecretError> {
        let raw = serde_json::to_string(identity)
            .map_err(|e| SecretError::Corrupt(format!("the identity cannot be encoded: {e}")))?;
        self.secrets.set(KEY, &raw)?;
        *crate::sync::lock(&self.cached) = Some(Some(identity.clone()));
        Ok(())
    }

    /// Forgets the identity if it is still `client_id`'s (the backend said it does not know
    /// that id); returns whether it did. A newer identity is kept.
    pub fn forget(&self, client_id: &str) -> Result<bool, SecretError> {
        match self.load()? {
            Some(current) if current.client_id == client_id => {
                self.clear()?;
                *crate::sync::lock(&self.forgotten_person) = current.person_id;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The Person of the identity `forget` dropped (in memory only), for the registration
    /// that follows: the user's Person is kept across it.
    pub fn take_forgotten_person(&self) -> Option<String> {
        crate::sync::lock(&self.forgotten_person).take()
    }

    pub fn clear(&self) -> Result<(), SecretError> {
        self.secrets.delete(KEY)?;
        *crate::sync::lock(&self.cached) = Some(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_and_debug_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let id = Identity {
            client_id: "cid-123".into(),
            push_kind: PushKind::ApnsVoip,
            push_token: "tok-456".into(),
            person_id: Some("p".into()),
            client_secret: Some("sec-789".into()),
        };
        IdentityStore::new(SecretStore::open(dir.path()).unwrap())
            .save(&id)
            .unwrap();
        let store = IdentityStore::new(SecretStore::open(dir.path()).unwrap());
        assert_eq!(store.load().unwrap(), Some(id.clone()));
        let dbg = format!("{id:?}");
        assert!(!dbg.contains("cid-123") && !dbg.contains("tok-456") && !dbg.contains("sec-789"));
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
    }
}
