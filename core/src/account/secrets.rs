//! Secure storage for the secrets the SDK keeps (clientId, push token, client secret), through
//! keyring-core with each platform's native store: the Keychain ("protected data" store) on
//! Apple, the Keystore-backed store on Android. Elsewhere (Linux desktops, CI, the demo)
//! there is no platform store, so secrets go to a plain file in the data directory
//! (`dev_secrets`): **for development only, it is not encrypted**.

use std::path::Path;

#[cfg(any(target_os = "android", target_vendor = "apple"))]
use keyring_core::Entry;

#[cfg(any(target_os = "android", target_vendor = "apple"))]
const SERVICE: &str = "dev.dialtone.sdk";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The platform store failed (Keychain, Keystore).
    #[cfg(any(target_os = "android", target_vendor = "apple"))]
    #[error("secure storage: {0}")]
    Store(#[from] keyring_core::Error),
    /// The development store's file could not be read or written.
    #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
    #[error("secure storage (development file): {0}")]
    DevFile(String),
    /// What is stored cannot be read back, or written.
    #[error("secure storage: {0}")]
    Corrupt(String),
    /// The platform's store could not be opened (Android: the app's Context was not given
    /// to it; see the AAR's DialtoneInitializer).
    #[error("secure storage unavailable: {0}")]
    Unavailable(String),
}

pub struct SecretStore {
    /// Distinguishes several clients in one process (two simulated phones, or two accounts).
    namespace: String,
    backend: Backend,
}

enum Backend {
    #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
    DevFile(super::dev_secrets::DevSecrets),
    #[cfg(any(target_os = "android", target_vendor = "apple"))]
    Platform,
}

impl SecretStore {
    pub fn open(data_dir: &Path) -> Result<Self, SecretError> {
        let namespace = namespace_for(data_dir);
        #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
        {
            let store = super::dev_secrets::DevSecrets::new(data_dir.join("dev-secrets.json"));
            Ok(Self {
                namespace,
                backend: Backend::DevFile(store),
            })
        }
        #[cfg(any(target_os = "android", target_vendor = "apple"))]
        {
            install_platform_store()?;
            Ok(Self {
                namespace,
                backend: Backend::Platform,
            })
        }
    }

    fn user(&self, key: &str) -> String {
        format!("{}:{key}", self.namespace)
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        let user = self.user(key);
        match &self.backend {
            #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
            Backend::DevFile(file) => file.get(&user).map_err(SecretError::DevFile),
            #[cfg(any(target_os = "android", target_vendor = "apple"))]
            Backend::Platform => match platform_entry(&user)?.get_password() {
                Ok(v) => Ok(Some(v)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        let user = self.user(key);
        match &self.backend {
            #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
            Backend::DevFile(file) => file.set(&user, value).map_err(SecretError::DevFile),
            #[cfg(any(target_os = "android", target_vendor = "apple"))]
            Backend::Platform => {
                let entry = platform_entry(&user)?;
                // An item keeps the accessibility it was created with: re-create it, so items
                // made by an older version (when-unlocked) move to the policy below.
                #[cfg(target_vendor = "apple")]
                match entry.delete_credential() {
                    Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                    Err(e) => return Err(e.into()),
                }
                Ok(entry.set_password(value)?)
            }
        }
    }

    pub fn delete(&self, key: &str) -> Result<(), SecretError> {
        let user = self.user(key);
        match &self.backend {
            #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
            Backend::DevFile(file) => file.delete(&user).map_err(SecretError::DevFile),
            #[cfg(any(target_os = "android", target_vendor = "apple"))]
            Backend::Platform => match platform_entry(&user)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }
}

/// The platform store's entry for `user`. Apple: readable after the first unlock since
/// boot, on this device only, so a VoIP push that wakes the app on a locked phone can still
/// read the identity
/// (developer.apple.com/documentation/security/restricting-keychain-item-accessibility).
#[cfg(any(target_os = "android", target_vendor = "apple"))]
fn platform_entry(user: &str) -> Result<Entry, SecretError> {
    #[cfg(target_vendor = "apple")]
    return Ok(Entry::new_with_modifiers(
        SERVICE,
        user,
        &std::collections::HashMap::from([(
            "access-policy",
            "after-first-unlock-this-device-only",
        )]),
    )?);
    #[cfg(target_os = "android")]
    return Ok(Entry::new(SERVICE, user)?);
}

/// A short, stable name for the data directory, so two clients never share a secret.
fn namespace_for(data_dir: &Path) -> String {
    let canonical = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        canonical.to_string_lossy().as_bytes(),
    );
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(any(target_os = "android", target_vendor = "apple"))]
fn install_platform_store() -> Result<(), SecretError> {
    use std::sync::OnceLock;
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            // Android: the app must have initialised ndk-context before the first client is
            // made; the AAR's DialtoneInitializer (androidx.startup) does it at process start.
            #[cfg(target_os = "android")]
            let store = android_native_keyring_store::Store::new();
            #[cfg(target_vendor = "apple")]
            let store = apple_native_keyring_store::protected::Store::new();
            // The store as the trait object keyring-core keeps (an unsizing cast).
            store
                .map(|store| keyring_core::set_default_store(store as _))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(SecretError::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_persist_per_data_directory() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        {
            let store = SecretStore::open(a.path()).unwrap();
            store.set("k", "v1").unwrap();
            assert_eq!(SecretStore::open(b.path()).unwrap().get("k").unwrap(), None);
        }
        let store = SecretStore::open(a.path()).unwrap();
        assert_eq!(store.get("k").unwrap().as_deref(), Some("v1"));
        store.delete("k").unwrap();
        store.delete("k").unwrap();
        assert_eq!(SecretStore::open(a.path()).unwrap().get("k").unwrap(), None);
    }
}
