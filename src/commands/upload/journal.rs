//! The resume journal: which multipart uploads of ours are in flight and which of their parts
//! S3 has acknowledged. It lives in OUT (`.prep-upload.json`, beside the manifests, never in
//! data/), so a re-run can resume even on servers that cannot list multipart uploads.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(crate) const FILE: &str = ".prep-upload.json";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct PartDone {
    pub etag: String,
    /// The chunk's CRC64-NVME, base64.
    pub crc64nvme: String,
    pub size: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Upload {
    pub upload_id: String,
    pub chunk: u64,
    /// The whole part's CRC64-NVME, base64.
    pub crc64nvme: String,
    pub parts: BTreeMap<i32, PartDone>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct State {
    pub bucket: String,
    pub uploads: BTreeMap<String, Upload>,
}

/// The journal, shared by the upload tasks; every change is written through.
pub(crate) struct Journal {
    path: PathBuf,
    state: Mutex<State>,
}

impl Journal {
    /// Load the journal of OUT for `bucket` (a journal for another bucket is ignored).
    pub(crate) fn open(out: &Path, bucket: &str) -> Journal {
        let path = out.join(FILE);
        let state = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<State>(&t).ok())
            .filter(|s| s.bucket == bucket)
            .unwrap_or_else(|| State {
                bucket: bucket.to_string(),
                uploads: BTreeMap::new(),
            });
        Journal {
            path,
            state: Mutex::new(state),
        }
    }

    fn save(&self, s: &State) {
        // Best effort: losing the journal only costs re-sending parts.
        if let Ok(text) = serde_json::to_string_pretty(s) {
            let tmp = self.path.with_extension("json.tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, &self.path);
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Upload> {
        self.state.lock().ok()?.uploads.get(key).cloned()
    }

    pub(crate) fn start(&self, key: &str, upload: Upload) {
        if let Ok(mut s) = self.state.lock() {
            s.uploads.insert(key.to_string(), upload);
            self.save(&s);
        }
    }

    pub(crate) fn part(&self, key: &str, n: i32, done: PartDone) {
        if let Ok(mut s) = self.state.lock() {
            if let Some(u) = s.uploads.get_mut(key) {
                u.parts.insert(n, done);
            }
            self.save(&s);
        }
    }

    pub(crate) fn finish(&self, key: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.uploads.remove(key);
            self.save(&s);
        }
    }

    /// Everything is up: no journal left behind.
    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
