//! The development secret store, for hosts with no platform store (Linux desktops, CI, the
//! demo, the JVM and Swift test suites): one JSON object in `dev-secrets.json` in the data
//! directory, readable and writable by its owner only, rewritten whole through a temporary
//! file and a rename (a crash leaves the old file or the new, never half of one).
//! **For development only: it is not encrypted.** Phones use their platform's store.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Changes are read-modify-write of the whole file: one at a time in the process, so two
/// stores open on one directory never undo each other's writes.
static WRITING: Mutex<()> = Mutex::new(());

pub struct DevSecrets {
    path: PathBuf,
}

impl DevSecrets {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn read(&self) -> Result<BTreeMap<String, String>, String> {
        match std::fs::read(&self.path) {
            Ok(raw) => serde_json::from_slice(&raw)
                .map_err(|e| format!("{} is not a secrets file: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(format!("reading {}: {e}", self.path.display())),
        }
    }

    fn write(&self, entries: &BTreeMap<String, String>) -> Result<(), String> {
        let tmp = self.path.with_extension("json.tmp");
        let fail = |e: std::io::Error| format!("writing {}: {e}", self.path.display());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(fail)?;
        let json = serde_json::to_vec_pretty(entries).map_err(|e| e.to_string())?;
        file.write_all(&json).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, String> {
        Ok(self.read()?.remove(key))
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), String> {
        let _one = crate::sync::lock(&WRITING);
        let mut entries = self.read()?;
        entries.insert(key.to_string(), value.to_string());
        self.write(&entries)
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        let _one = crate::sync::lock(&WRITING);
        let mut entries = self.read()?;
        if entries.remove(key).is_some() {
            self.write(&entries)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_stores_on_one_file_keep_each_others_writes_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev-secrets.json");
        let (a, b) = (DevSecrets::new(path.clone()), DevSecrets::new(path.clone()));
        a.set("x", "1").unwrap();
        b.set("y", "2").unwrap();
        assert_eq!(a.get("y").unwrap().as_deref(), Some("2"));
        assert_eq!(b.get("x").unwrap().as_deref(), Some("1"));
        b.delete("x").unwrap();
        assert_eq!(a.get("x").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!dir.path().join("dev-secrets.json.tmp").exists());
    }

    #[test]
    fn a_damaged_file_is_an_error_that_names_it_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev-secrets.json");
        std::fs::write(&path, "not json").unwrap();
        let store = DevSecrets::new(path);
        let e = store.get("x").unwrap_err();
        assert!(e.contains("dev-secrets.json"), "{e}");
        assert!(
            store.set("x", "1").is_err(),
            "a write must not replace what it cannot read"
        );
    }
}
