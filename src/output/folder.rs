//! A local output folder: its store (parts under hidden names, renamed when complete), the
//! lock a run holds on it, and its preparation (refusing, or with `--force` clearing, what a
//! run would overwrite; a shard claims only its own names).

use super::disk::Disk;
use super::store::{OutputStore, PartSink};
use crate::model::shard::{Shard, SHARDS_DIR};
use anyhow::{bail, Context, Result};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A local folder: parts are written (directly to the device where the file system takes it)
/// under a hidden temporary name in their folder and renamed when complete.
#[derive(Debug)]
pub(crate) struct LocalFolder {
    root: PathBuf,
    /// The files this run has completed, for [`OutputStore::discard`].
    written: Arc<Mutex<Vec<PathBuf>>>,
}

impl LocalFolder {
    pub(crate) fn new(root: &Path) -> Self {
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
        files.sort_by_key(|p| !p.ends_with(crate::model::manifest::MANIFEST_SUMMARY));
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

/// The names prep writes in OUT; with `--force` they are replaced.
const OUR_FILES: &[&str] = &[
    crate::model::manifest::MANIFEST_FILES,
    crate::model::manifest::MANIFEST_SUMMARY,
    crate::model::manifest::IMPORT_TABLE,
    crate::model::manifest::REJECTS,
    crate::model::manifest::DUPLICATES,
    ".prep-upload.json",
];

/// The advisory lock file a run holds in OUT from start to end (it stays, empty, afterwards).
pub(crate) const LOCK_FILE: &str = ".prep-lock";

/// Lock `name` in the folder `out` for this run (an advisory lock, released when the file is
/// closed): a second run into the same folder is refused while this one holds it.
fn lock_folder(out: &Path, name: &str) -> Result<std::fs::File> {
    let lock_path = out.join(name);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "--out {} is in use by another prep run (it holds {}); wait for it to finish or choose another OUT",
            out.display(),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
    Ok(lock)
}

/// The lock file a run holds in its output: one per shard, so that the shards of one
/// conversion can write into one folder at once.
pub(crate) fn lock_name(shard: Option<Shard>) -> String {
    match shard {
        None => LOCK_FILE.to_string(),
        Some(s) => format!("{LOCK_FILE}.{}", s.tag()),
    }
}

/// Whether `name` (relative to the output's root) is in the way of this run: for a whole run
/// anything prep writes; for a shard, its own parts and reports, and a merged output's
/// manifests (which its new parts would make stale).
pub(crate) fn in_the_way(name: &str, shard: Option<Shard>) -> bool {
    let manifest = crate::model::manifest::PREP_FILES.contains(&name);
    match shard {
        None => manifest || name.starts_with("data/") || name.starts_with("shards/"),
        Some(s) => manifest || s.owns(name),
    }
}

impl LocalFolder {
    /// Lock the folder (made if missing) for this run under `name`: a second run into it is
    /// refused while this one holds the lock, so neither can clear or overwrite the other's
    /// files. Taken before [`Self::prepare`] looks at what is there.
    pub(crate) fn lock(&self, name: &str) -> Result<FolderLock> {
        let out = &self.root;
        if out.exists() && !out.is_dir() {
            bail!("--out {} exists and is not a directory", out.display());
        }
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        lock_folder(out, name).map(FolderLock)
    }

    /// Make the folder ready for a run (`shard`: one shard's): what the run would overwrite is
    /// refused, or with `force` removed; then `data/` (and a shard's `shards/`) made.
    pub(crate) fn prepare(&self, force: bool, shard: Option<Shard>) -> Result<()> {
        let out = &self.root;
        match shard {
            Some(s) => claim_for_shard(out, force, s)?,
            None => clear(out, force)?,
        }
        // shards/ holds a shard's reports and keys: a whole run has none.
        let dirs: &[&str] = match shard {
            Some(_) => &["data", SHARDS_DIR],
            None => &["data"],
        };
        for dir in dirs {
            std::fs::create_dir_all(out.join(dir))
                .with_context(|| format!("cannot create {}", out.join(dir).display()))?;
        }
        Ok(())
    }
}

/// A run's lock on a local folder, released when dropped (the file stays, empty).
#[derive(Debug)]
pub struct FolderLock(#[allow(dead_code)] std::fs::File);

/// A whole run's folder must be empty, or with `force` lose prep's files.
fn clear(out: &Path, force: bool) -> Result<()> {
    remove_stale_spills(out)?;
    let non_empty = std::fs::read_dir(out)
        .with_context(|| format!("cannot read {}", out.display()))?
        .filter_map(|e| e.ok())
        .any(|e| !e.file_name().to_string_lossy().starts_with(LOCK_FILE));
    if non_empty && !force {
        bail!(
            "--out {} is not empty; choose a new folder or pass --force to replace prep's files in it",
            out.display()
        );
    }
    if non_empty {
        for dir in ["data", SHARDS_DIR] {
            let dir = out.join(dir);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        }
        for f in OUR_FILES {
            let p = out.join(f);
            if p.exists() {
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// The duplicate-key index's spill folders that a killed run left (a run removes its own):
/// whoever holds the folder's lock may remove them.
fn remove_stale_spills(out: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
    for e in entries.filter_map(|e| e.ok()) {
        if e.file_name()
            .to_string_lossy()
            .starts_with(".prep-duplicates-")
            && e.path().is_dir()
        {
            std::fs::remove_dir_all(e.path())
                .with_context(|| format!("cannot remove {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// A shard's claim on a local output folder that other shards write into too.
fn claim_for_shard(out: &Path, force: bool, s: Shard) -> Result<()> {
    let mut there = Vec::new();
    for dir in ["", "data", SHARDS_DIR] {
        let Ok(entries) = std::fs::read_dir(out.join(dir)) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if e.path().is_file() && in_the_way(&rel, Some(s)) {
                there.push(rel);
            }
        }
    }
    if there.is_empty() {
        return Ok(());
    }
    if !force {
        there.sort();
        bail!(
            "--out {} already holds this shard's output or a merged output ({}); choose a new folder, or pass --force to replace them",
            out.display(),
            there.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    for rel in there {
        let p = out.join(&rel);
        std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
    }
    Ok(())
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
            .put(crate::model::manifest::MANIFEST_SUMMARY, b"{}")
            .unwrap();
        store
            .put(crate::model::manifest::MANIFEST_SUMMARY, b"{\"a\":1}")
            .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(crate::model::manifest::MANIFEST_SUMMARY)).unwrap(),
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
