//! Inputs in S3: `s3://bucket/key`, `s3://bucket/prefix/` and globs over keys
//! (`s3://bucket/exports/*.parquet`, `**`), read without a local copy through
//! [`InputObject`]: ranged GETs for Parquet footers and row groups and for magic bytes, a
//! streamed GET for CSV and item lines that resumes with a ranged GET from where a dropped
//! connection stopped. Every GET carries `If-Match` with the ETag listed at the start, so an
//! object that changes during the run is an error, never a mix of two versions.
//!
//! A small object (Spark's, Glue's and Athena's part files) is fetched whole by its first read,
//! in one GET, and its later reads — format detection, the CSV header, its rows — are served
//! from that copy until the conversion is done with it ([`InputObject::release`]); the copies
//! held at once are bounded by [`HELD_SMALL`].

use super::read_digest::ReadDigest;
use super::source::{InputObject, ReadSeek};
use crate::aws::{describe, list_objects, AwsOptions, Connection};
use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Buf, Bytes};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many times a streamed GET is resumed after its connection drops, in a row.
const RESUMES: u32 = 5;
/// A stream's first GET asks for this many bytes, and each next one for twice as many, up to
/// [`MAX_WINDOW`]: a reader that stops early (format detection, CSV type inference) leaves
/// little in flight, and a whole object takes few requests.
const FIRST_WINDOW: u64 = 64 << 10;
const MAX_WINDOW: u64 = 16 << 20;
/// From a window this large on, the GET of the next window is sent when a window starts, so
/// its first bytes are on the way when the window ends (a request's latency hidden behind a
/// window's transfer); a reader that stops within the first windows (format detection, type
/// inference) sends none ahead.
const SEND_AHEAD_FROM: u64 = 1 << 20;
/// Objects up to this size are fetched whole by their first read.
pub(crate) const SMALL_OBJECT: u64 = 4 << 20;
/// At most this many bytes of small objects' copies are held at once (across a run's
/// objects); an object that finds no room is read by ranges instead.
pub(crate) const HELD_SMALL: u64 = 128 << 20;

/// The S3 client and the runtime its calls run on, shared by every S3 input of a run.
#[derive(Clone, Debug)]
pub struct S3Inputs {
    s3: Connection,
    /// Whether the objects take their CRC64-NVME from the reads ([`S3Inputs::digesting_reads`]).
    digests: bool,
    /// Bytes of small objects' copies held now.
    held: Arc<AtomicU64>,
}

/// A small object's copy.
#[derive(Debug, Default)]
enum Whole {
    /// Not fetched (yet; or no room was left when it was first read).
    #[default]
    NotRead,
    Held(Bytes),
    /// Released: later reads go by ranges.
    Gone,
}

/// One object, as listed at the start of the run.
#[derive(Debug, Clone)]
pub struct S3Object {
    s3: S3Inputs,
    bucket: String,
    key: String,
    size: u64,
    etag: Option<String>,
    /// Its CRC64-NVME as the reads go (shared by the copies the readers take), when asked for.
    digest: Option<Arc<ReadDigest>>,
    /// The digest taken from the reads, once the gaps were filled.
    digested: Arc<std::sync::OnceLock<String>>,
    /// Its version id, as the first GET's answer gives it (versioned buckets only).
    version: Arc<std::sync::OnceLock<String>>,
    /// Its bytes, for a small object once read.
    whole: Arc<Mutex<Whole>>,
}

/// `s3://bucket/rest` → (bucket, rest); `None` for other text.
pub fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("s3://")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// Whether `arg` names S3 objects.
pub fn is_s3(arg: &str) -> bool {
    arg.starts_with("s3://")
}

impl S3Inputs {
    /// A client from the standard AWS configuration chain and `aws`'s settings.
    pub fn new(aws: &AwsOptions) -> Result<S3Inputs> {
        Ok(S3Inputs {
            s3: Connection::new(aws)?,
            digests: false,
            held: Arc::default(),
        })
    }

    /// The objects found from now on take their CRC64-NVME from the bytes the run reads
    /// ([`InputObject::crc64_of_reads`]) instead of a second download.
    pub fn digesting_reads(mut self) -> S3Inputs {
        self.digests = true;
        self
    }

    /// The objects an argument names: one key, every object under a prefix (an argument
    /// ending in `/`, or a key that is not an object), or the keys a glob matches; sorted by
    /// key, with names starting with `.` or `_` (markers such as `_SUCCESS`) left out of
    /// prefixes and globs.
    pub fn discover(&self, arg: &str) -> Result<Vec<S3Object>> {
        let (bucket, rest) =
            split_url(arg).ok_or_else(|| anyhow!("{arg:?} is not an s3:// URL"))?;
        if bucket.is_empty() {
            bail!("{arg:?} has no bucket name");
        }
        let wild = rest.find(['*', '?', '[']);
        let (prefix, pattern) = match wild {
            Some(i) => {
                let p =
                    glob::Pattern::new(rest).with_context(|| format!("{arg}: not a valid glob"))?;
                (&rest[..rest[..i].rfind('/').map_or(0, |s| s + 1)], Some(p))
            }
            None => (rest, None),
        };
        if pattern.is_none() && !rest.is_empty() && !rest.ends_with('/') {
            if let Some(o) = self.head(bucket, rest)? {
                return Ok(vec![o]);
            }
        }
        let prefix = match (&pattern, prefix) {
            (None, p) if !p.is_empty() && !p.ends_with('/') => format!("{p}/"),
            (_, p) => p.to_string(),
        };
        let mut out = Vec::new();
        for (key, size, etag) in self.list(bucket, &prefix)? {
            let hidden = key[prefix.len()..]
                .split('/')
                .any(|seg| seg.starts_with('.') || seg.starts_with('_'));
            let matched = match &pattern {
                Some(p) => p.matches_with(
                    &key,
                    glob::MatchOptions {
                        require_literal_separator: true,
                        ..Default::default()
                    },
                ),
                None => true,
            };
            if !hidden && matched && !key.ends_with('/') {
                out.push(self.object(bucket, key, size, etag));
            }
        }
        if out.is_empty() {
            bail!("{arg}: no object there (listed s3://{bucket}/{prefix})");
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn head(&self, bucket: &str, key: &str) -> Result<Option<S3Object>> {
        let r = self
            .s3
            .block_on(self.s3.client.head_object().bucket(bucket).key(key).send());
        match r {
            Ok(h) => Ok(Some(self.object(
                bucket,
                key.to_string(),
                h.content_length().unwrap_or(0).max(0) as u64,
                h.e_tag().map(String::from),
            ))),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(anyhow!("cannot read s3://{bucket}/{key}: {}", describe(&e))),
        }
    }

    /// Every object under `prefix`, hidden names and markers included, in key order.
    pub fn list_all(&self, bucket: &str, prefix: &str) -> Result<Vec<S3Object>> {
        Ok(self
            .list(bucket, prefix)?
            .into_iter()
            .map(|(key, size, etag)| self.object(bucket, key, size, etag))
            .collect())
    }

    /// An object as listed.
    fn object(&self, bucket: &str, key: String, size: u64, etag: Option<String>) -> S3Object {
        S3Object {
            s3: self.clone(),
            bucket: bucket.to_string(),
            key,
            size,
            etag,
            digest: self.digests.then(|| Arc::new(ReadDigest::new(size))),
            digested: Arc::default(),
            version: Arc::default(),
            whole: Arc::default(),
        }
    }

    /// Every object under `prefix`: (key, size, ETag).
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64, Option<String>)>> {
        let listed = self
            .s3
            .block_on(list_objects(&self.s3.client, bucket, prefix, None))?;
        Ok(listed
            .into_iter()
            .map(|o| (o.key, o.size, o.etag))
            .collect())
    }
}

impl S3Object {
    pub fn key(&self) -> &str {
        &self.key
    }

    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// A small object's bytes, fetched whole (one GET) by the first read that finds room for
    /// them under [`HELD_SMALL`]; `None` for a large object, a released one, or when there is
    /// no room (the caller reads by ranges).
    fn whole(&self) -> io::Result<Option<Bytes>> {
        if self.size == 0 || self.size > SMALL_OBJECT {
            return Ok(None);
        }
        let mut w = self
            .whole
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        match &*w {
            Whole::Held(b) => return Ok(Some(b.clone())),
            Whole::Gone => return Ok(None),
            Whole::NotRead => {}
        }
        let held = &self.s3.held;
        let reserved = held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                (h + self.size <= HELD_SMALL).then_some(h + self.size)
            })
            .is_ok();
        if !reserved {
            return Ok(None);
        }
        // One GET; the stream hands the bytes to the digest.
        let mut v = Vec::with_capacity(self.size as usize);
        if let Err(e) = Stream::new(self, 0, self.size, self.size).read_to_end(&mut v) {
            held.fetch_sub(self.size, Ordering::AcqRel);
            return Err(e);
        }
        let b = Bytes::from(v);
        *w = Whole::Held(b.clone());
        Ok(Some(b))
    }

    /// A GET of bytes `from..to` (`to` exclusive; `None`: to the end), with the listed ETag.
    fn get(&self, from: u64, to: Option<u64>) -> io::Result<ByteStream> {
        self.s3.s3.block_on(self.clone().request(from, to))
    }

    /// [`S3Object::get`] as a future, to send it ahead of need.
    async fn request(self, from: u64, to: Option<u64>) -> io::Result<ByteStream> {
        debug_assert!(to.is_none_or(|t| t > from));
        let range = match to {
            Some(t) => format!("bytes={from}-{}", t.saturating_sub(1)),
            None => format!("bytes={from}-"),
        };
        let mut req = self
            .s3
            .s3
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .range(range);
        if let Some(e) = &self.etag {
            req = req.if_match(e);
        }
        match req.send().await {
            Ok(o) => {
                if let Some(v) = o.version_id().filter(|v| *v != "null") {
                    let _ = self.version.set(v.to_string());
                }
                Ok(o.body)
            }
            Err(e) => {
                let changed = e.raw_response().is_some_and(|r| r.status().as_u16() == 412);
                let why = if changed {
                    "it changed since the run listed it (its ETag no longer matches); run again"
                        .to_string()
                } else {
                    describe(&e)
                };
                Err(io::Error::other(format!(
                    "cannot read {}: {why}",
                    self.url()
                )))
            }
        }
    }
}

impl InputObject for S3Object {
    fn display(&self) -> String {
        self.url()
    }

    fn name(&self) -> String {
        self.key.rsplit('/').next().unwrap_or("").to_string()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_from(&self, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        if let Some(b) = self.whole()? {
            return Ok(Box::new(b.slice((offset as usize).min(b.len())..).reader()));
        }
        Ok(Box::new(Stream::new(self, offset, self.size, FIRST_WINDOW)))
    }

    fn release(&self) {
        if let Ok(mut w) = self.whole.lock() {
            if let Whole::Held(b) = std::mem::replace(&mut *w, Whole::Gone) {
                self.s3.held.fetch_sub(b.len() as u64, Ordering::AcqRel);
            }
        }
    }

    fn version(&self) -> Option<String> {
        self.version.get().cloned()
    }

    fn crc64_of_reads(&self) -> io::Result<Option<String>> {
        let Some(d) = &self.digest else {
            return Ok(None);
        };
        if let Some(h) = self.digested.get() {
            return Ok(Some(h.clone()));
        }
        // The bytes no read fetched; a stream hands what it reads to the digest.
        let gaps = d.gaps();
        for &(from, to) in &gaps {
            let mut s = Stream::new(self, from, to, (to - from).min(MAX_WINDOW));
            io::copy(&mut s, &mut io::sink())?;
        }
        match d.finish() {
            Some(h) => Ok(Some(self.digested.get_or_init(|| h).clone())),
            // Stopped ([`ReadDigest::stop`]).
            None if gaps.is_empty() => Ok(None),
            None => Err(io::Error::other(format!(
                "cannot take the CRC64-NVME of {}: its reads left gaps",
                self.url()
            ))),
        }
    }

    fn read_digest(&self) -> Option<Arc<ReadDigest>> {
        self.digest.clone()
    }

    fn read_range(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let end = (offset + len as u64).min(self.size);
        if offset >= end {
            return Ok(Bytes::new());
        }
        if let Some(b) = self.whole()? {
            return Ok(b.slice(offset as usize..end as usize));
        }
        let mut out = Vec::with_capacity((end - offset) as usize);
        // One GET of exactly the range, handed to the digest whole (not piece by piece).
        let mut s = Stream::new(self, offset, end, end - offset);
        s.digest = None;
        s.read_to_end(&mut out)?;
        let out = Bytes::from(out);
        if let Some(d) = &self.digest {
            d.offer(offset, &out);
        }
        Ok(out)
    }

    fn etag(&self) -> Option<String> {
        self.etag.clone()
    }

    fn seekable(&self) -> io::Result<Box<dyn ReadSeek>> {
        if let Some(b) = self.whole()? {
            return Ok(Box::new(io::Cursor::new(b)));
        }
        Ok(Box::new(Seekable {
            object: self.clone(),
            pos: 0,
            stream: None,
        }))
    }
}

/// An object's bytes from a position to `end`, in GETs of growing windows, each resumed from
/// where it stopped when the connection drops.
struct Stream {
    object: S3Object,
    pos: u64,
    end: u64,
    /// The size of the next GET, and where the current one ends.
    window: u64,
    window_end: u64,
    body: Option<ByteStream>,
    /// The next window's GET, sent ahead: (from, to, the request).
    ahead: Option<(u64, u64, tokio::task::JoinHandle<io::Result<ByteStream>>)>,
    chunk: Bytes,
    resumed: u32,
    /// Where the bytes fetched go as they arrive (the object's digest, if it takes one).
    digest: Option<Arc<ReadDigest>>,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.chunk.has_remaining() {
                let n = self.chunk.remaining().min(buf.len());
                self.chunk.copy_to_slice(&mut buf[..n]);
                self.pos += n as u64;
                return Ok(n);
            }
            if self.pos >= self.end {
                return Ok(0);
            }
            if self.body.is_none() {
                if self.pos >= self.window_end {
                    self.next_window()?;
                } else {
                    // Resumed inside the window.
                    self.body = Some(self.object.get(self.pos, Some(self.window_end))?);
                }
            }
            let body = self.body.as_mut().expect("just set");
            match self.object.s3.s3.block_on(body.try_next()) {
                Ok(Some(c)) => {
                    // Never past the window asked for, whatever the server sends.
                    let room = (self.window_end - self.pos) as usize;
                    self.chunk = if c.len() > room { c.slice(..room) } else { c };
                    if let Some(d) = &self.digest {
                        d.offer(self.pos, &self.chunk);
                    }
                    self.resumed = 0;
                }
                Ok(None) if self.pos >= self.window_end => self.body = None,
                Ok(None) => {
                    // The body ended before its window did: as a dropped connection.
                    self.body = None;
                    self.resume("the connection closed early")?;
                }
                Err(e) => {
                    self.body = None;
                    self.resume(&describe(&e))?;
                }
            }
        }
    }
}

impl Stream {
    /// Bytes `pos..end` of `object`, the first GET asking for `window` of them.
    fn new(object: &S3Object, pos: u64, end: u64, window: u64) -> Stream {
        Stream {
            object: object.clone(),
            pos,
            end,
            window,
            window_end: pos,
            body: None,
            ahead: None,
            chunk: Bytes::new(),
            resumed: 0,
            digest: object.digest.clone(),
        }
    }

    /// Start the window from `pos`: its GET (the one sent ahead for it, if that one got an
    /// answer; else a new one), and, for a large window, the next window's GET ahead.
    fn next_window(&mut self) -> io::Result<()> {
        let start = self.pos;
        self.window_end = (start + self.window).min(self.end);
        self.window = (self.window * 2).min(MAX_WINDOW);
        let sent = match self.ahead.take() {
            Some((from, to, h)) if (from, to) == (start, self.window_end) => {
                self.object.s3.s3.block_on(h).ok().and_then(Result::ok)
            }
            Some((_, _, h)) => {
                h.abort();
                None
            }
            None => None,
        };
        self.body = Some(match sent {
            Some(body) => body,
            // Nothing sent ahead, or it failed: asked again here (its error, if it is one that
            // lasts, comes from this GET).
            None => self.object.get(start, Some(self.window_end))?,
        });
        if self.window_end < self.end && self.window_end - start >= SEND_AHEAD_FROM {
            let (from, to) = (
                self.window_end,
                (self.window_end + self.window).min(self.end),
            );
            let request = self.object.clone().request(from, Some(to));
            self.ahead = Some((from, to, self.object.s3.s3.rt.spawn(request)));
        }
        Ok(())
    }

    fn resume(&mut self, why: &str) -> io::Result<()> {
        self.resumed += 1;
        if self.resumed > RESUMES {
            return Err(io::Error::other(format!(
                "cannot read {} past byte {}: {why} ({RESUMES} resumed GETs in a row failed)",
                self.object.url(),
                self.pos
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(100 << self.resumed.min(5)));
        Ok(())
    }
}

impl Drop for Stream {
    /// A GET sent ahead that will not be read is cancelled.
    fn drop(&mut self) {
        if let Some((_, _, h)) = self.ahead.take() {
            h.abort();
        }
    }
}

/// Read and seek over an object: a seek drops the open GET, and the next read starts one at
/// the new position.
struct Seekable {
    object: S3Object,
    pos: u64,
    stream: Option<Box<dyn Read + Send>>,
}

impl Read for Seekable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stream.is_none() {
            self.stream = Some(self.object.read_from(self.pos)?);
        }
        let n = self.stream.as_mut().expect("just set").read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Seekable {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.object.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        if new != self.pos {
            self.stream = None;
            self.pos = new;
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(split_url("s3://b/k/x.csv"), Some(("b", "k/x.csv")));
        assert_eq!(split_url("s3://b"), Some(("b", "")));
        assert_eq!(split_url("/tmp/x"), None);
        assert!(is_s3("s3://b/") && !is_s3("b/"));
    }
}
