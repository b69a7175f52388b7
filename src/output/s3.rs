//! An import folder written straight into S3: `s3://bucket/prefix/` with the parts under
//! `prefix/data/` and the manifests beside them, as `prep upload` lays them out, and no local
//! copy of anything.
//!
//! A part's bytes are cut into chunks as they come; the first full chunk starts a multipart
//! upload and each chunk goes up as one UploadPart (with its CRC64-NVME, which S3 checks and
//! answers), while the next chunk fills; the completion carries the whole part's CRC64-NVME
//! (the chunks' combined), which S3 checks against what it assembled. A part smaller than one
//! chunk is one PutObject. The checksum header is signed, so the body needs no signature of its
//! own (no SHA-256 pass over it), and an MD5 (Content-MD5) would check the same bytes again.
//! Memory: one filling chunk per open part, plus at most `concurrency` chunks in flight across
//! the run — a writer waits for a free slot before it sends another. A part dropped before its
//! commit aborts its multipart upload, so a failed or interrupted run leaves none behind.

use super::store::{OutputStore, PartSink};
use crate::aws::object::{content_type, Body, Bucket};
use crate::aws::{describe, list_objects, AwsOptions};
use crate::aws::{Connection, PutSettings};
use crate::hashing::Crc64;
use crate::model::observe::Observe;
use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedPart, Delete, ObjectIdentifier};
use bytes::Bytes;
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Where and how an output goes to S3.
#[derive(Clone, Debug)]
pub struct S3Destination {
    pub bucket: String,
    /// Empty or ending in `/`.
    pub prefix: String,
    pub put: PutSettings,
    /// Requests in flight across the run's parts.
    pub concurrency: usize,
    /// Bytes per UploadPart (at least 5 MiB, S3's smallest part but the last).
    pub chunk_size: u64,
}

impl S3Destination {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The output store over an S3 prefix.
#[derive(Debug, Clone)]
pub struct S3Prefix {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    s3: Connection,
    dest: S3Destination,
    slots: Arc<Semaphore>,
    /// Keys this run has completed, for [`OutputStore::discard`].
    written: Mutex<Vec<String>>,
    /// Where cleanups that fail (on drop, with no caller to return an error to) are told.
    observer: Observe,
}

impl Inner {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.dest.prefix)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.dest.bucket)
    }

    fn owner(&self) -> Option<&str> {
        self.dest.put.expected_bucket_owner.as_deref()
    }

    /// The bucket as the object writer writes into it.
    fn bucket(&self) -> Bucket<'_> {
        Bucket {
            client: &self.s3.client,
            name: &self.dest.bucket,
            put: &self.dest.put,
        }
    }

    /// One whole object in one PutObject, its CRC64-NVME checked by S3; its ETag.
    async fn put_whole(&self, key: &str, body: Bytes) -> Result<String> {
        let _slot = self.slots.acquire().await?;
        let body = Body::bytes(body, content_type(key), false);
        self.bucket().put(key, body).await
    }

    /// Delete `keys` (DeleteObjects, a thousand at a time).
    async fn delete(&self, keys: &[String]) -> Result<()> {
        for batch in keys.chunks(1000) {
            let ids = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()?;
            let mut req = self
                .s3
                .client
                .delete_objects()
                .bucket(&self.dest.bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(ids))
                        .quiet(true)
                        .build()?,
                );
            if let Some(o) = self.owner() {
                req = req.expected_bucket_owner(o);
            }
            let r = req.send().await.map_err(|e| {
                anyhow!(
                    "cannot delete objects under {}: {}",
                    self.dest.url(),
                    describe(&e)
                )
            })?;
            if let Some(e) = r.errors().first() {
                bail!(
                    "cannot delete {}: {}",
                    self.url(e.key().unwrap_or("")),
                    e.message().unwrap_or("refused")
                );
            }
        }
        Ok(())
    }

    /// Abort the multipart uploads left under `data/` by a run that was killed. Servers that
    /// cannot list uploads are passed over: their leftovers are invisible to an import anyway.
    async fn abort_stale_uploads(&self, in_the_way: &dyn Fn(&str) -> bool) -> Result<usize> {
        let prefix = self.key("data/");
        let mut aborted = 0;
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let mut req = self
                .s3
                .client
                .list_multipart_uploads()
                .bucket(&self.dest.bucket)
                .prefix(&prefix)
                .set_key_marker(markers.0.take())
                .set_upload_id_marker(markers.1.take());
            if let Some(o) = self.owner() {
                req = req.expected_bucket_owner(o);
            }
            let Ok(page) = req.send().await else {
                return Ok(aborted);
            };
            for u in page.uploads() {
                if let (Some(k), Some(id)) = (u.key(), u.upload_id()) {
                    if in_the_way(&k[self.dest.prefix.len()..]) {
                        self.bucket().abort(k, id).await?;
                        aborted += 1;
                    }
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(aborted);
            }
            markers = (
                page.next_key_marker().map(String::from),
                page.next_upload_id_marker().map(String::from),
            );
        }
    }
}

fn io_err(e: anyhow::Error) -> io::Error {
    io::Error::other(format!("{e:#}"))
}

impl S3Prefix {
    /// Connect, and make sure the bucket can be listed.
    pub fn connect(aws: &AwsOptions, dest: S3Destination, observer: Observe) -> Result<S3Prefix> {
        if dest.chunk_size < 5 << 20 {
            bail!("the multipart chunk size must be at least 5 MiB (S3's smallest part)");
        }
        let slots = Arc::new(Semaphore::new(dest.concurrency.max(1)));
        Ok(S3Prefix {
            inner: Arc::new(Inner {
                s3: Connection::new(aws)?,
                dest,
                slots,
                written: Mutex::new(Vec::new()),
                observer,
            }),
        })
    }

    /// Take the prefix for this run: the lock object `name` (`.prep-lock`, a shard's own) is
    /// created only if no other run holds it (a conditional PutObject, `If-None-Match: *`), and
    /// deleted when the returned guard is dropped. With `force` an existing lock (a killed
    /// run's) is replaced.
    pub fn lock(&self, force: bool, name: &str) -> Result<S3Lock> {
        let inner = &self.inner;
        let key = inner.key(name);
        let body = format!(
            "{{\"pid\":{},\"host\":{:?}}}\n",
            std::process::id(),
            std::env::var("HOSTNAME").unwrap_or_default()
        );
        let mut req = inner
            .s3
            .client
            .put_object()
            .bucket(&inner.dest.bucket)
            .key(&key)
            .body(ByteStream::from(body.into_bytes()));
        if !force {
            req = req.if_none_match("*");
        }
        let req = crate::aws::put_settings!(&inner.dest.put, req);
        match inner.s3.block_on(req.send()) {
            Ok(_) => Ok(S3Lock {
                store: self.inner.clone(),
                key,
            }),
            Err(e)
                if e.raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) =>
            {
                bail!(
                    "--out {} is in use by another prep run (it holds {}); wait for it to finish, or if that run was killed, pass --force",
                    inner.dest.url(),
                    inner.url(&key)
                )
            }
            Err(e) => bail!("cannot write {}: {}", inner.url(&key), describe(&e)),
        }
    }

    /// Make the prefix ready for a new output. A prefix that holds objects in the way (for a
    /// whole run, an earlier output, finished or not: anything under `data/`, a manifest,
    /// rejects — an import reads every object under `data/`) is refused; with `force` they are
    /// deleted first (the summary before the rest) and the multipart uploads a killed run left
    /// are aborted. Other objects under the prefix are left alone.
    pub fn prepare(&self, force: bool, in_the_way: &dyn Fn(&str) -> bool) -> Result<()> {
        let inner = &self.inner;
        let listed = inner.s3.block_on(list_objects(
            &inner.s3.client,
            &inner.dest.bucket,
            &inner.dest.prefix,
            inner.owner(),
        ))?;
        let ours: Vec<String> = listed
            .into_iter()
            .map(|o| o.key)
            .filter(|k| in_the_way(&k[inner.dest.prefix.len()..]))
            .collect();
        if !ours.is_empty() && !force {
            let complete = ours.contains(&inner.key(crate::model::manifest::MANIFEST_SUMMARY));
            let mut e: Vec<&str> = ours.iter().map(String::as_str).take(3).collect();
            if ours.len() > 3 {
                e.push("…");
            }
            bail!(
                "--out {} already holds {} ({} object(s): {}); an import reads every object under data/. Choose a new prefix, or pass --force to delete them and convert again",
                inner.dest.url(),
                if complete {
                    "a finished prep output"
                } else {
                    "objects of an output that did not finish"
                },
                ours.len(),
                e.join(", ")
            );
        }
        if force {
            inner.s3.block_on(async {
                // The summary alone first: without it the rest is an unfinished output.
                let summary = inner.key(crate::model::manifest::MANIFEST_SUMMARY);
                if ours.contains(&summary) {
                    inner.delete(std::slice::from_ref(&summary)).await?;
                }
                let rest: Vec<String> = ours.iter().filter(|k| **k != summary).cloned().collect();
                inner.delete(&rest).await?;
                inner.abort_stale_uploads(in_the_way).await
            })?;
        }
        Ok(())
    }
}

impl OutputStore for S3Prefix {
    fn display(&self, name: &str) -> String {
        self.inner.url(&self.inner.key(name))
    }

    fn create_part(&self, name: &str) -> io::Result<Box<dyn PartSink>> {
        Ok(Box::new(S3Part {
            store: self.inner.clone(),
            key: self.inner.key(name),
            filling: Vec::new(),
            upload_id: None,
            pending: VecDeque::new(),
            done: Vec::new(),
            chunks: 0,
            crc: Crc64::default(),
            bytes: 0,
            committed: false,
        }))
    }

    fn put(&self, name: &str, body: &[u8]) -> io::Result<()> {
        let key = self.inner.key(name);
        let body = Bytes::copy_from_slice(body);
        self.inner
            .s3
            .block_on(self.inner.put_whole(&key, body))
            .map_err(io_err)?;
        self.inner.written.lock().expect("not poisoned").push(key);
        Ok(())
    }

    fn s3_location(&self) -> Option<(String, String, Option<String>)> {
        let d = &self.inner.dest;
        Some((
            d.bucket.clone(),
            d.prefix.clone(),
            d.put.expected_bucket_owner.clone(),
        ))
    }

    /// Delete what this run completed, the summary first (open parts abort their own uploads
    /// when they are dropped).
    fn discard(&self) {
        let inner = &self.inner;
        let mut keys = std::mem::take(&mut *inner.written.lock().expect("not poisoned"));
        keys.sort_by_key(|k| !k.ends_with(crate::model::manifest::MANIFEST_SUMMARY));
        if let Err(e) = inner.s3.block_on(inner.delete(&keys)) {
            inner.observer.notice(&format!(
                "could not remove the objects this run wrote under {}: {e:#}; delete them, or run again with --force",
                inner.dest.url()
            ));
        }
    }
}

/// A run's hold on its output prefix; released (the lock object deleted) when dropped.
#[derive(Debug)]
pub struct S3Lock {
    store: Arc<Inner>,
    key: String,
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        let inner = &self.store;
        let key = &self.key;
        let mut req = inner
            .s3
            .client
            .delete_object()
            .bucket(&inner.dest.bucket)
            .key(key);
        if let Some(o) = inner.owner() {
            req = req.expected_bucket_owner(o);
        }
        if let Err(e) = inner.s3.block_on(req.send()) {
            inner.observer.notice(&format!(
                "cannot remove {}: {}; the next run into this prefix needs --force",
                inner.url(key),
                describe(&e)
            ));
        }
    }
}

/// A part on its way into S3.
struct S3Part {
    store: Arc<Inner>,
    key: String,
    /// The chunk being filled.
    filling: Vec<u8>,
    /// The multipart upload, once the first chunk is full.
    upload_id: Option<String>,
    /// Chunks being sent, in order.
    pending: VecDeque<JoinHandle<Result<CompletedPart>>>,
    /// Chunks S3 has taken.
    done: Vec<CompletedPart>,
    /// Chunks sent so far.
    chunks: i32,
    /// The CRC64-NVME of the chunks sent so far, the whole object's once the last is.
    crc: Crc64,
    bytes: u64,
    committed: bool,
}

impl S3Part {
    fn chunk_size(&self) -> usize {
        self.store.dest.chunk_size as usize
    }

    /// Collect the chunks already answered: a failed upload stops the writer at its next
    /// write, not at the part's end.
    fn check_sent(&mut self) -> Result<()> {
        while self.pending.front().is_some_and(JoinHandle::is_finished) {
            let task = self.pending.pop_front().expect("checked");
            let part = self.store.s3.block_on(task)??;
            self.done.push(part);
        }
        Ok(())
    }

    /// Send the filled chunk as the next UploadPart, after waiting for a free slot.
    fn send(&mut self, chunk: Vec<u8>) -> Result<()> {
        let store = self.store.clone();
        if self.upload_id.is_none() {
            let bucket = store.bucket();
            let start = bucket.start_multipart(&self.key, content_type(&self.key), None);
            self.upload_id = Some(store.s3.block_on(start)?);
        }
        let crc = Crc64::of(&chunk);
        let slot = store.s3.block_on(store.slots.clone().acquire_owned())?;
        self.chunks += 1;
        let number = self.chunks;
        let (key, id) = (self.key.clone(), self.upload_id.clone().expect("started"));
        let body = Bytes::from(chunk);
        let task = store.s3.rt.spawn({
            let store = store.clone();
            async move {
                let _slot = slot;
                store
                    .bucket()
                    .upload_part(&key, &id, number, body, &crc, false)
                    .await
            }
        });
        self.pending.push_back(task);
        self.crc.append(&crc);
        Ok(())
    }

    fn write(&mut self, mut data: &[u8]) -> Result<()> {
        self.check_sent()?;
        let chunk = self.chunk_size();
        while !data.is_empty() {
            if self.filling.capacity() == 0 {
                self.filling.reserve_exact(chunk);
            }
            let n = (chunk - self.filling.len()).min(data.len());
            self.filling.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.bytes += n as u64;
            if self.filling.len() == chunk {
                let full = std::mem::take(&mut self.filling);
                self.send(full)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<String> {
        let store = self.store.clone();
        if self.upload_id.is_none() {
            let body = Bytes::from(std::mem::take(&mut self.filling));
            return store.s3.block_on(store.put_whole(&self.key, body));
        }
        if !self.filling.is_empty() {
            let last = std::mem::take(&mut self.filling);
            self.send(last)?;
        }
        let pending = std::mem::take(&mut self.pending);
        let mut parts = std::mem::take(&mut self.done);
        let whole = self.crc.base64();
        let id = self.upload_id.clone().expect("started");
        let key = self.key.clone();
        let bytes = self.bytes;
        let etag = store.s3.block_on(async {
            for task in pending {
                parts.push(task.await??);
            }
            store
                .bucket()
                .complete(&key, &id, parts, &whole, bytes)
                .await
        })?;
        self.upload_id = None;
        Ok(etag)
    }
}

impl PartSink for S3Part {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map_err(io_err)
    }

    fn commit(mut self: Box<Self>) -> io::Result<Option<String>> {
        let etag = self.finish().map_err(io_err)?;
        self.committed = true;
        let key = self.key.clone();
        self.store.written.lock().expect("not poisoned").push(key);
        Ok(Some(etag))
    }
}

impl Drop for S3Part {
    /// A part dropped before its commit: stop its chunks and abort its upload, so that S3
    /// keeps (and bills) nothing of it.
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for task in &self.pending {
            task.abort();
        }
        if let Some(id) = self.upload_id.take() {
            if let Err(e) = self
                .store
                .s3
                .block_on(self.store.bucket().abort(&self.key, &id))
            {
                self.store.observer.notice(&format!(
                    "{e:#}; it is incomplete and invisible to an import, but S3 keeps its parts until it is aborted (or a lifecycle rule removes it)"
                ));
            }
        }
    }
}
