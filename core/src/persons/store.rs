//! The local Person list: every record AppSync has sent (tombstones too), the `lastSync`
//! watermark for delta sync, persisted in the app's data directory with atomic writes, and
//! published on a watch channel so observers see each change. It merges by `_version`, so
//! the same record arriving by sync and by subscription, in any order, converges.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::backend::appsync::PersonRecord;

const FILE_NAME: &str = "persons.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    last_sync: Option<i64>,
    records: Vec<PersonRecord>,
}

pub struct PersonStore {
    path: PathBuf,
    inner: Mutex<Inner>,
    visible: watch::Sender<Arc<Vec<PersonRecord>>>,
}

struct Inner {
    last_sync: Option<i64>,
    records: HashMap<String, PersonRecord>,
}

impl PersonStore {
    /// Opens the store in `dir`. A missing file is an empty store; an unreadable or corrupt
    /// one is set aside (renamed) and the store starts empty, because a full sync rebuilds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        let snapshot = match std::fs::read(&path) {
            Ok(raw) => match serde_json::from_slice::<Snapshot>(&raw) {
                Ok(s) if s.format == FORMAT_VERSION => s,
                _ => {
                    let aside = dir.join(format!("{FILE_NAME}.corrupt"));
                    tracing::warn!(target: "dialtone::persons", "person store unreadable; moved aside, a full sync will rebuild it");
                    let _ = std::fs::rename(&path, aside);
                    Snapshot::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Snapshot::default(),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        let records: HashMap<String, PersonRecord> = snapshot
            .records
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let (visible, _) = watch::channel(Arc::new(visible_list(&records)));
        Ok(Self {
            path,
            inner: Mutex::new(Inner {
                last_sync: snapshot.last_sync,
                records,
            }),
            visible,
        })
    }

    pub fn last_sync(&self) -> Option<i64> {
        crate::sync::lock(&self.inner).last_sync
    }

    pub fn get(&self, id: &str) -> Option<PersonRecord> {
        crate::sync::lock(&self.inner).records.get(id).cloned()
    }

    /// The live (not deleted) Persons, sorted by name.
    pub fn visible(&self) -> Arc<Vec<PersonRecord>> {
        self.visible.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Vec<PersonRecord>>> {
        self.visible.subscribe()
    }

    /// Merges records and, when given, moves the watermark; persists and notifies only on change.
    /// A base sync (`replace_all`) drops anything the server no longer has.
    pub fn apply(
        &self,
        incoming: Vec<PersonRecord>,
        last_sync: Option<i64>,
        replace_all: bool,
    ) -> Result<bool, StoreError> {
        let mut inner = crate::sync::lock(&self.inner);
        let mut changed = false;
        if replace_all {
            let keep: std::collections::HashSet<&str> =
                incoming.iter().map(|r| r.id.as_str()).collect();
            let before = inner.records.len();
            inner.records.retain(|id, _| keep.contains(id.as_str()));
            changed |= inner.records.len() != before;
        }
        for record in incoming {
            let newer = inner
                .records
                .get(&record.id)
                .is_none_or(|cur| is_newer(&record, cur));
            if newer {
                inner.records.insert(record.id.clone(), record);
                changed = true;
            }
        }
        let watermark_moved = last_sync.is_some() && last_sync != inner.last_sync;
        if let Some(ls) = last_sync {
            inner.last_sync = Some(ls);
        }
        if changed || watermark_moved {
            self.persist(&inner)?;
        }
        if changed {
            self.visible
                .send_replace(Arc::new(visible_list(&inner.records)));
        }
        Ok(changed)
    }

    fn persist(&self, inner: &Inner) -> Result<(), StoreError> {
        let mut records: Vec<PersonRecord> = inner.records.values().cloned().collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let snapshot = Snapshot {
            format: FORMAT_VERSION,
            last_sync: inner.last_sync,
            records,
        };
        let bytes = serde_json::to_vec(&snapshot).map_err(|e| StoreError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomically(&self.path, &bytes).map_err(|source| StoreError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

fn is_newer(candidate: &PersonRecord, current: &PersonRecord) -> bool {
    (candidate.version, candidate.last_changed_at) > (current.version, current.last_changed_at)
}

fn visible_list(records: &HashMap<String, PersonRecord>) -> Vec<PersonRecord> {
    let mut list: Vec<PersonRecord> = records.values().filter(|r| !r.deleted).cloned().collect();
    list.sort_by(|a, b| {
        (
            a.first_name.to_lowercase(),
            a.last_name.to_lowercase(),
            &a.id,
        )
            .cmp(&(
                b.first_name.to_lowercase(),
                b.last_name.to_lowercase(),
                &b.id,
            ))
    });
    list
}

/// Write to a temporary file in the same directory, fsync, then rename over the target:
/// a crash leaves either the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, first: &str, version: i64, deleted: bool) -> PersonRecord {
        PersonRecord {
            id: id.into(),
            first_name: first.into(),
            last_name: "X".into(),
            client_id: format!("c-{id}"),
            version,
            deleted,
            last_changed_at: version * 10,
        }
    }

    #[test]
    fn merges_by_version_and_hides_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let store = PersonStore::open(dir.path()).unwrap();
        assert!(store
            .apply(
                vec![rec("1", "Bob", 2, false), rec("2", "Al", 1, false)],
                Some(5),
                false
            )
            .unwrap());
        // An older copy arriving late changes nothing.
        assert!(!store
            .apply(vec![rec("1", "Stale", 1, false)], None, false)
            .unwrap());
        let names: Vec<_> = store
            .visible()
            .iter()
            .map(|p| p.first_name.clone())
            .collect();
        assert_eq!(names, ["Al", "Bob"]);
        assert!(store
            .apply(vec![rec("2", "Al", 2, true)], None, false)
            .unwrap());
        assert_eq!(store.visible().len(), 1);
        assert!(store.get("2").unwrap().deleted);
    }

    #[test]
    fn survives_reopen_and_sets_aside_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = PersonStore::open(dir.path()).unwrap();
            store
                .apply(vec![rec("1", "Ann", 1, false)], Some(42), false)
                .unwrap();
        }
        let store = PersonStore::open(dir.path()).unwrap();
        assert_eq!(store.last_sync(), Some(42));
        assert_eq!(store.visible()[0].first_name, "Ann");
        drop(store);
        std::fs::write(dir.path().join(FILE_NAME), b"{ not json").unwrap();
        let store = PersonStore::open(dir.path()).unwrap();
        assert!(store.visible().is_empty());
        assert!(dir.path().join("persons.json.corrupt").exists());
    }

    #[test]
    fn base_sync_drops_records_the_server_no_longer_has() {
        let dir = tempfile::tempdir().unwrap();
        let store = PersonStore::open(dir.path()).unwrap();
        store
            .apply(
                vec![rec("1", "A", 1, false), rec("2", "B", 1, false)],
                Some(1),
                false,
            )
            .unwrap();
        store
            .apply(vec![rec("2", "B", 1, false)], Some(2), true)
            .unwrap();
        assert!(store.get("1").is_none());
        assert_eq!(store.visible().len(), 1);
    }

    #[test]
    fn observers_are_notified_of_changes_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = PersonStore::open(dir.path()).unwrap();
        let mut rx = store.subscribe();
        rx.borrow_and_update();
        store
            .apply(vec![rec("1", "A", 1, false)], None, false)
            .unwrap();
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        store
            .apply(vec![rec("1", "A", 1, false)], Some(9), false)
            .unwrap();
        assert!(!rx.has_changed().unwrap());
    }
}
