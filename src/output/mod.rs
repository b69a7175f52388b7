//! The output: where it goes (a local folder or an S3 prefix, behind one store seam), the part
//! writer (parts sized by uncompressed item bytes, compressed as one zstd frame or gzip member
//! each, hashed as they are written, committed whole), side files and the manifests.

use anyhow::Result;
use std::path::Path;
use std::sync::Arc;

mod disk;
pub(crate) mod folder;
pub mod gzip;
pub(crate) mod manifest;
mod nowhere;
mod parts;
pub mod s3;
pub(crate) mod side;
mod sink;
pub(crate) mod store;
use crate::model::observe::Observe;
use crate::model::shard::Shard;
pub use parts::PartWriter;
use store::OutputStore;

/// Where an output goes: a local folder, or an S3 prefix written without a local copy; or
/// nowhere (a dry run: parts are made, counted and hashed, and nothing is kept — what
/// `prep inspect` of data files runs).
#[derive(Clone, Debug)]
pub enum Destination {
    Folder(std::path::PathBuf),
    S3(s3::S3Destination),
    Nowhere,
}

impl Destination {
    /// How messages name it: the folder's path, or `s3://bucket/prefix/`.
    pub fn display(&self) -> String {
        match self {
            Destination::Folder(p) => p.display().to_string(),
            Destination::S3(d) => d.url(),
            Destination::Nowhere => nowhere::SHOWN.to_string(),
        }
    }

    pub fn folder(&self) -> Option<&Path> {
        match self {
            Destination::Folder(p) => Some(p),
            Destination::S3(_) | Destination::Nowhere => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Compression::None),
            "gzip" | "gz" => Some(Compression::Gzip),
            "zstd" | "zst" => Some(Compression::Zstd),
            _ => None,
        }
    }
    /// The value of ImportTable's InputCompressionType.
    pub fn import_name(self) -> &'static str {
        match self {
            Compression::None => "NONE",
            Compression::Gzip => "GZIP",
            Compression::Zstd => "ZSTD",
        }
    }
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// What a run holds on its output until its end, so that a second run into it is refused.
#[derive(Debug)]
pub enum Lock {
    Folder(folder::FolderLock),
    S3(s3::S3Lock),
    /// A dry run holds nothing.
    None,
}

/// The store a run (`shard`: one shard of one) writes into, made ready — locked for the run,
/// then checked for what it would overwrite (refused, or with `force` removed) — and the lock
/// it holds until its end.
pub fn open(
    out: &Destination,
    aws: &crate::aws::AwsOptions,
    force: bool,
    shard: Option<Shard>,
    observer: Observe,
) -> Result<(Arc<dyn OutputStore>, Lock)> {
    Ok(match out {
        Destination::Folder(dir) => {
            let store = folder::LocalFolder::new(dir);
            let lock = store.lock(&folder::lock_name(shard))?;
            store.prepare(force, shard)?;
            (Arc::new(store), Lock::Folder(lock))
        }
        Destination::S3(d) => {
            let store = s3::S3Prefix::connect(aws, d.clone(), observer)?;
            let lock = store.lock(force, &folder::lock_name(shard))?;
            store.prepare(force, &|name| folder::in_the_way(name, shard))?;
            (Arc::new(store), Lock::S3(lock))
        }
        Destination::Nowhere => (Arc::new(nowhere::Nowhere), Lock::None),
    })
}
