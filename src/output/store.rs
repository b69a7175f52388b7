//! Where an import folder goes. The part writer and the manifests reach it only through
//! [`OutputStore`]: a local folder today ([`LocalFolder`]); an S3 prefix, parts streamed as
//! multipart uploads, is the next implementation. Names are relative to the folder's root, with
//! `/` between levels (`data/part-00000.json.zst`, `manifest-summary.json`), as S3 keys are.

use super::disk::Disk;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A folder (or prefix) that parts and manifests are written into.
pub trait OutputStore: Send + Sync + std::fmt::Debug {
    /// How messages name the object `name`: a path, or an `s3://` URI.
    fn display(&self, name: &str) -> String;
    /// A new part: the bytes written to it become the object `name` only when it is committed,
    /// and nothing of it remains if it is dropped before.
    fn create_part(&self, name: &str) -> io::Result<Box<dyn PartSink>>;
    /// A whole small object (a manifest), durable and in place at once: a reader sees the old
    /// object or the new one, never part of it.
    fn put(&self, name: &str, body: &[u8]) -> io::Result<()>;
    /// A side file (rejects, duplicates): many small writes, which the caller buffers.
    fn create_file(&self, name: &str) -> io::Result<Box<dyn PartSink>> {
        self.create_part(name)
    }
    /// Bucket, key prefix and expected owner, where the output is in S3 (the manifests then
    /// name each part's key and ETag, and import-table.json its `S3BucketSource`).
    fn s3_location(&self) -> Option<(String, String, Option<String>)> {
        None
    }
    /// Remove what this run wrote (after a failure or an interruption): no manifest, part,
    /// rejects or duplicates file of it stays.
    fn discard(&self);
}

/// The bytes of one part on their way into a store.
pub trait PartSink: Send {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Everything written is durable, under the part's name; the object's ETag where the store
    /// has one.
    fn commit(self: Box<Self>) -> io::Result<Option<String>>;
}

/// A local folder: parts are written (directly to the device where the file system takes it)
/// under a hidden temporary name in their folder and renamed when complete.
#[derive(Debug)]
pub struct LocalFolder {
    root: PathBuf,
    /// The files this run has completed, for [`OutputStore::discard`].
    written: Arc<Mutex<Vec<PathBuf>>>,
}

impl LocalFolder {
    pub fn new(root: &Path) -> Self {
        LocalFolder {
            root: root.to_path_buf(),
            written: Arc::default(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// The temporary name a part is written under: hidden, beside its final name.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// An I/O error that names the file, keeping its kind.
fn named(what: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

impl OutputStore for LocalFolder {
    fn display(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn create_part(&self, name: &str) -> io::Result<Box<dyn PartSink>> {
        let path = self.path(name);
        let tmp = temporary(&path);
        let disk = Disk::create(&tmp).map_err(|e| named("cannot create", &tmp, e))?;
        Ok(Box::new(LocalPart {
            file: Written::Disk(disk),
            tmp,
            path,
            committed: false,
            written: self.written.clone(),
        }))
    }

    fn create_file(&self, name: &str) -> io::Result<Box<dyn PartSink>> {
        let path = self.path(name);
        let tmp = temporary(&path);
        let f = std::fs::File::create(&tmp).map_err(|e| named("cannot create", &tmp, e))?;
        Ok(Box::new(LocalPart {
            file: Written::Plain(f),
            tmp,
            path,
            committed: false,
            written: self.written.clone(),
        }))
    }

    /// The files this run completed go (the summary first); whatever else the folder holds
    /// stays — other shards' files among it.
    fn discard(&self) {
        let mut files = std::mem::take(&mut *self.written.lock().expect("not poisoned"));
        files.sort_by_key(|p| !p.ends_with(crate::model::files::MANIFEST_SUMMARY));
        for f in files {
            let _ = std::fs::remove_file(f);
        }
        // The folders the run made, if nothing else is in them.
        for dir in ["data", "shards"] {
            let _ = std::fs::remove_dir(self.root.join(dir));
        }
    }

    fn put(&self, name: &str, body: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let path = self.path(name);
        let tmp = temporary(&path);
        let mut f = std::fs::File::create(&tmp).map_err(|e| named("cannot write", &tmp, e))?;
        f.write_all(body)
            .and_then(|()| f.sync_all())
            .map_err(|e| named("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| named("cannot write", &path, e))?;
        self.written
            .lock()
            .expect("not poisoned")
            .push(path.clone());
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| named("cannot sync", dir, e))?;
        }
        Ok(())
    }
}

/// A file written as it is (no temporary name): for tests and special files.
impl PartSink for Disk {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        Disk::write_all(self, data)
    }

    fn commit(mut self: Box<Self>) -> io::Result<Option<String>> {
        self.finish().map(|()| None)
    }
}

/// A part's bytes go to the device through [`Disk`]; a side file's through a plain file (its
/// writes are small and few).
enum Written {
    Disk(Disk),
    Plain(std::fs::File),
}

struct LocalPart {
    file: Written,
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
    written: Arc<Mutex<Vec<PathBuf>>>,
}

impl PartSink for LocalPart {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        match &mut self.file {
            Written::Disk(d) => d.write_all(data),
            Written::Plain(f) => f.write_all(data),
        }
        .map_err(|e| named("cannot write", &self.tmp, e))
    }

    fn commit(mut self: Box<Self>) -> io::Result<Option<String>> {
        match &mut self.file {
            Written::Disk(d) => d.finish(),
            Written::Plain(f) => f.sync_all(),
        }
        .map_err(|e| named("cannot write", &self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| named("cannot rename", &self.tmp, e))?;
        self.committed = true;
        self.written
            .lock()
            .expect("not poisoned")
            .push(self.path.clone());
        Ok(None)
    }
}

impl Drop for LocalPart {
    /// A part dropped before its commit leaves nothing behind.
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_appear_only_when_committed_and_puts_replace_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let store = LocalFolder::new(dir.path());
        let mut p = store.create_part("data/part-00000.json").unwrap();
        p.write_all(b"{\"Item\":{}}\n").unwrap();
        assert!(!dir.path().join("data/part-00000.json").exists());
        assert!(dir.path().join("data/.part-00000.json.tmp").exists());
        p.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("data/part-00000.json")).unwrap(),
            b"{\"Item\":{}}\n"
        );
        assert!(!dir.path().join("data/.part-00000.json.tmp").exists());
        // Dropped before its commit: nothing left.
        let mut p = store.create_part("data/part-00001.json").unwrap();
        p.write_all(b"x").unwrap();
        drop(p);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["part-00000.json"]);
        store
            .put(crate::model::files::MANIFEST_SUMMARY, b"{}")
            .unwrap();
        store
            .put(crate::model::files::MANIFEST_SUMMARY, b"{\"a\":1}")
            .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(crate::model::files::MANIFEST_SUMMARY)).unwrap(),
            b"{\"a\":1}"
        );
        assert!(store.display("data/x").ends_with("data/x"));
        let e = LocalFolder::new(&dir.path().join("missing"))
            .create_part("data/p")
            .err()
            .unwrap();
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
