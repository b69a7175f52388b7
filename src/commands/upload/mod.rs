//! `prep upload`: a converted folder into S3, laid out as ImportTable needs it — data parts under
//! `prefix/data/`, manifests beside them, uploaded last — with every byte proven to have arrived.
//!
//! Parts are checked against the manifest before anything is sent; objects already in S3 with the
//! same size and SHA-256 are skipped, our stale multipart uploads are resumed (parts whose
//! checksums match) or aborted, so a re-run after an interruption finishes the job.

pub(crate) mod journal;
pub(crate) mod plan;
pub(crate) mod s3;

use crate::aws::AwsOptions;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct UploadOptions {
    pub out: PathBuf,
    pub bucket: String,
    /// Key prefix, empty or ending in `/`.
    pub prefix: String,
    pub aws: AwsOptions,
    pub put: crate::aws::PutSettings,
    pub concurrency: usize,
    pub multipart_threshold: u64,
    pub multipart_chunksize: u64,
    pub force: bool,
    pub dry_run: bool,
    /// Where progress and notices go.
    pub observer: crate::model::observe::Observe,
}

/// What happened to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Uploaded,
    Resumed { reused_parts: usize },
    Skipped,
    WouldUpload,
}

#[derive(Clone, Debug)]
pub struct ObjectReport {
    pub key: String,
    pub bytes: u64,
    pub etag: Option<String>,
    pub outcome: Outcome,
    pub multipart: bool,
}

#[derive(Debug, Default)]
pub struct UploadReport {
    pub bucket: String,
    pub prefix: String,
    pub objects: Vec<ObjectReport>,
    pub aborted_uploads: Vec<String>,
    pub bytes_sent: u64,
    pub elapsed_s: f64,
    pub import_command: String,
    /// A dry run: why the destination could not be checked (no AWS access, foreign objects).
    pub unchecked: Option<String>,
    /// A dry run: the import-table.json it would write.
    pub import_table: Option<crate::model::manifest::ImportTable>,
}

impl UploadReport {
    pub fn to_json(&self) -> Value {
        json!({
            "bucket": self.bucket,
            "prefix": self.prefix,
            "s3KeyPrefix": format!("{}data/", self.prefix),
            "unchecked": self.unchecked,
            "importTable": self.import_table,
            "objects": self.objects.iter().map(|o| json!({
                "key": o.key,
                "bytes": o.bytes,
                "etag": o.etag,
                "multipart": o.multipart,
                "outcome": match &o.outcome {
                    Outcome::Uploaded => "uploaded".to_string(),
                    Outcome::Resumed { reused_parts } => format!("resumed ({reused_parts} parts reused)"),
                    Outcome::Skipped => "skipped (already there)".to_string(),
                    Outcome::WouldUpload => "would upload".to_string(),
                },
            })).collect::<Vec<_>>(),
            "abortedUploads": self.aborted_uploads,
            "bytesSent": self.bytes_sent,
            "elapsedSeconds": (self.elapsed_s * 1000.0).round() / 1000.0,
            "importCommand": self.import_command,
        })
    }
}

/// Run an upload on a private tokio runtime.
pub fn run(opts: &UploadOptions) -> Result<UploadReport> {
    let local = plan::load(&opts.out)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.concurrency.clamp(2, 16))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(s3::upload(opts, local))
}
