//! Output parts: sized by uncompressed item bytes, compressed as one zstd frame or gzip member
//! each, hashed (MD5 for DynamoDB's manifest, SHA-256 for ours) as they are written, written
//! under a temporary name and renamed when complete.

use anyhow::{bail, Context, Result};
use base64::Engine;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::collections::VecDeque;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::model::rules;

mod disk;
pub mod folder;
pub mod manifest;
pub mod s3;
pub mod side;
pub mod store;
use crate::hashing::{hex, md5x, sha256x};
use crate::model::manifest::PartInfo;
use crate::model::observe::Observe;
use crate::model::shard::Shard;
use folder::LocalFolder;
use store::{OutputStore, PartSink};

/// Where an output goes: a local folder, or an S3 prefix written without a local copy.
#[derive(Clone, Debug)]
pub enum Destination {
    Folder(std::path::PathBuf),
    S3(s3::S3Destination),
}

impl Destination {
    /// How messages name it: the folder's path, or `s3://bucket/prefix/`.
    pub fn display(&self) -> String {
        match self {
            Destination::Folder(p) => p.display().to_string(),
            Destination::S3(d) => d.url(),
        }
    }

    pub fn folder(&self) -> Option<&Path> {
        match self {
            Destination::Folder(p) => Some(p),
            Destination::S3(_) => None,
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
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// A file writer that hashes and counts what goes through it.
/// Either MD5 runs on the writing thread and SHA-256 beside the staging for the disk (see
/// [`disk`]) on a thread of their own that follows up to `BEHIND` pieces behind, so neither
/// waits for the other chunk by chunk; or both run in the part writer's lanes and that thread
/// only stages. Small writes (a compressor's output) are gathered into pieces first; encoded
/// batches are shared with the staging thread as they are, without a copy.
struct Hashing {
    chains: Chains,
    bytes: u64,
    buf: Vec<u8>,
    /// Pieces for the staging thread; `None` once finished.
    tx: Option<SyncSender<Piece>>,
    helper: Option<JoinHandle<std::io::Result<Staged>>>,
}

/// What the staging thread hands back: the SHA-256 it computed (inline chains only) and the part
/// it wrote into.
type Staged = (Option<Sha256>, Box<dyn PartSink>);

/// Where a part's digests are computed.
enum Chains {
    /// MD5 as the bytes are written, SHA-256 on the staging thread.
    Inline(Md5),
    /// Both in lanes ([`md5x`], [`sha256x`]), beside the other open parts' digests: the pieces
    /// wait in the queue until the part writer runs the lanes together ([`PartWriter::pump`]).
    Lane {
        md5: md5x::Md5,
        sha: sha256x::Sha256,
        queue: VecDeque<Piece>,
    },
}

/// A range of bytes handed on: a gathered buffer or part of an encoded batch, shared by the
/// writer, the MD5 lanes' queue and the SHA-256 thread without a copy.
#[derive(Clone)]
struct Piece {
    data: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl Piece {
    fn bytes(&self) -> &[u8] {
        &self.data[self.range.clone()]
    }
}

/// A part's bytes, hashed and on the device.
struct Hashed {
    md5: [u8; 16],
    sha: [u8; 32],
    sink: Box<dyn PartSink>,
    bytes: u64,
}

const HASH_CHUNK: usize = 4 << 20;
/// Writes at least this large skip the gathering buffer.
const UNGATHERED: usize = 512 << 10;
/// How many pieces the staging thread may lag behind (memory: this many batches or gathered
/// chunks) while it computes the SHA-256 too; one when it only stages (a part in the lanes: eight
/// of them at once, and staging is a copy).
const BEHIND: usize = 3;

impl Hashing {
    /// `lane`: leave the digests to the part writer's lanes instead of computing them here.
    fn new(mut sink: Box<dyn PartSink>, lane: bool) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Piece>(if lane { 1 } else { BEHIND });
        let helper = std::thread::Builder::new()
            .name("prep-stage".into())
            .spawn(move || {
                let mut sha = (!lane).then(Sha256::new);
                for piece in rx {
                    if let Some(sha) = &mut sha {
                        sha.update(piece.bytes());
                    }
                    sink.write_all(piece.bytes())?;
                }
                Ok((sha, sink))
            })?;
        Ok(Hashing {
            chains: if lane {
                Chains::Lane {
                    md5: md5x::Md5::default(),
                    sha: sha256x::Sha256::default(),
                    queue: VecDeque::new(),
                }
            } else {
                Chains::Inline(Md5::new())
            },
            bytes: 0,
            buf: Vec::new(),
            tx: Some(tx),
            helper: Some(helper),
        })
    }

    fn send(&mut self, piece: Piece) -> std::io::Result<()> {
        let n = piece.range.len();
        match &mut self.chains {
            Chains::Inline(m) => m.update(piece.bytes()),
            Chains::Lane { queue, .. } => queue.push_back(piece.clone()),
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(piece).is_ok(),
            None => false,
        };
        if !sent {
            // The staging thread stopped: it failed to write; its error says why.
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| std::io::Error::other("the staging thread stopped early")));
        }
        self.bytes += n as u64;
        Ok(())
    }

    fn join(&mut self) -> std::io::Result<Staged> {
        self.tx = None;
        match self.helper.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the staging thread failed"))),
            None => Err(std::io::Error::other("the staging thread already stopped")),
        }
    }

    fn drain(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        self.send(Piece {
            range: 0..buf.len(),
            data: Arc::new(buf),
        })
    }

    /// Bytes of an encoded batch, shared with the staging thread instead of copied.
    fn write_shared(&mut self, data: &Arc<Vec<u8>>, range: Range<usize>) -> std::io::Result<()> {
        if range.len() < UNGATHERED {
            return self.write_all(&data[range]);
        }
        self.drain()?;
        self.send(Piece {
            data: data.clone(),
            range,
        })
    }

    /// Everything written, hashed and handed to the disk.
    fn finish(mut self) -> std::io::Result<Hashed> {
        self.drain()?;
        let (inline_sha, sink) = self.join()?;
        let (md5, sha) = match std::mem::replace(&mut self.chains, Chains::Inline(Md5::new())) {
            Chains::Inline(m) => (
                m.finalize().into(),
                inline_sha
                    .expect("hashed on the staging thread")
                    .finalize()
                    .into(),
            ),
            Chains::Lane {
                mut md5,
                mut sha,
                queue,
            } => {
                // Whatever the lanes have not reached yet (normally nothing: the writer runs
                // them before it closes a part).
                for p in queue {
                    md5x::update_one(&mut md5, p.bytes());
                    sha256x::update_one(&mut sha, p.bytes());
                }
                (md5.finish(), sha.finish())
            }
        };
        Ok(Hashed {
            md5,
            sha,
            sink,
            bytes: self.bytes,
        })
    }
}

impl Drop for Hashing {
    /// An abandoned part: let the staging thread finish what it was given before the caller
    /// removes the file, rather than leave it running detached.
    fn drop(&mut self) {
        if self.helper.is_some() {
            let _ = self.join();
        }
    }
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() >= UNGATHERED {
            self.drain()?;
            self.send(Piece {
                data: Arc::new(buf.to_vec()),
                range: 0..buf.len(),
            })?;
            return Ok(buf.len());
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(HASH_CHUNK);
        }
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= HASH_CHUNK {
            self.drain()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.drain()
    }
}

enum Packer {
    Plain(Hashing),
    Gzip(flate2::write::GzEncoder<Hashing>),
    Zstd(zstd::stream::write::Encoder<'static, Hashing>),
}

impl Packer {
    fn write_shared(&mut self, b: &Arc<Vec<u8>>, range: Range<usize>) -> std::io::Result<()> {
        match self {
            Packer::Plain(w) => w.write_shared(b, range),
            Packer::Gzip(w) => w.write_all(&b[range]),
            Packer::Zstd(w) => w.write_all(&b[range]),
        }
    }
    fn finish(self) -> std::io::Result<Hashed> {
        match self {
            Packer::Plain(w) => w.finish(),
            Packer::Gzip(w) => w.finish()?.finish(),
            Packer::Zstd(w) => w.finish()?.finish(),
        }
    }
}

struct OpenPart {
    name: String,
    packer: Packer,
    items: u64,
    uncompressed: u64,
}

/// An open part's digests in the lanes and the bytes waiting for them.
type Lane<'a> = (
    &'a mut md5x::Md5,
    &'a mut sha256x::Sha256,
    &'a mut VecDeque<Piece>,
);

/// Uncompressed output up to this size goes to one part, as compressed output always does.
pub const SPREAD_AFTER: u64 = 16 << 20;
/// Past it, the open parts take turns of this many item bytes (about one 8192-row batch of
/// typical items, so a batch waits in few parts' queues for the lanes to run).
const TURN: u64 = 2 << 20;
/// How many uncompressed parts are open side by side past [`SPREAD_AFTER`]: a layout policy
/// (which item lands in which part depends on it), fixed here so that the output stays the same
/// if the hashing changes. Eight, so that every MD5 lane has a part; the hash lanes must be at
/// least as many.
pub const SIDE_BY_SIDE: usize = 8;
const _: () = assert!(SIDE_BY_SIDE <= md5x::LANES);

/// Writes items into `OUT/data/part-NNNNN.<ext>[.gz|.zst]`.
///
/// Compressed output fills one part after the other. Uncompressed output past `SPREAD_AFTER`
/// is dealt to [`SIDE_BY_SIDE`] parts open side by side, in turns of `TURN` bytes, so that
/// their MD5s advance together in one SIMD lane each and their SHA-256s interleave: each is one
/// sequential chain, and together they were the longest step of an uncompressed conversion.
/// Which item goes to which part depends only on the items' sizes in order, so the output is
/// the same whatever the number of threads.
pub struct PartWriter {
    store: std::sync::Arc<dyn OutputStore>,
    ext: &'static str,
    compression: Compression,
    level: i32,
    part_size: u64,
    /// The parts being written: one, or [`SIDE_BY_SIDE`].
    lanes: Vec<Option<OpenPart>>,
    /// Whose turn it is, and the item bytes it has taken in this turn.
    lane: usize,
    turn: u64,
    /// Item bytes written so far.
    written: u64,
    /// Finished parts, in the order of their names once [`Self::close`] returns.
    pub parts: Vec<PartInfo>,
    /// The import's object limit; lowered only by tests.
    pub max_parts: usize,
    /// zstd compression threads.
    pub zstd_workers: u32,
    /// How part names start: `part-`, or a shard's `part-00001-`.
    pub name_prefix: String,
}

impl PartWriter {
    /// Parts into `out/data/` on the local disk.
    pub fn new(
        out: &Path,
        ext: &'static str,
        compression: Compression,
        level: i32,
        part_size: u64,
    ) -> Result<Self> {
        let dir = out.join("data");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Self::to_store(
            std::sync::Arc::new(LocalFolder::new(out)),
            ext,
            compression,
            level,
            part_size,
        )
    }

    /// Parts into `data/` of `store`.
    pub fn to_store(
        store: std::sync::Arc<dyn OutputStore>,
        ext: &'static str,
        compression: Compression,
        level: i32,
        part_size: u64,
    ) -> Result<Self> {
        let lanes = match compression {
            Compression::None => SIDE_BY_SIDE,
            Compression::Gzip | Compression::Zstd => 1,
        };
        Ok(PartWriter {
            store,
            ext,
            compression,
            level,
            part_size: part_size.max(1),
            lanes: (0..lanes).map(|_| None).collect(),
            lane: 0,
            turn: 0,
            written: 0,
            parts: Vec::new(),
            max_parts: rules::MAX_IMPORT_OBJECTS,
            zstd_workers: 1,
            name_prefix: "part-".into(),
        })
    }

    fn open(&mut self, lane: usize) -> Result<()> {
        // Parts opened so far, finished or not: the next part's number.
        let index = self.parts.len() + self.lanes.iter().flatten().count();
        if index >= self.max_parts {
            bail!(
                "the output would exceed {} parts, the most one import can read; raise --part-size",
                self.max_parts
            );
        }
        let name = format!(
            "{}{index:05}.{}{}",
            self.name_prefix,
            self.ext,
            self.compression.suffix()
        );
        let sink = self.store.create_part(&format!("data/{name}"))?;
        let h = Hashing::new(sink, self.compression == Compression::None)?;
        let packer = match self.compression {
            Compression::None => Packer::Plain(h),
            Compression::Gzip => Packer::Gzip(flate2::write::GzEncoder::new(
                h,
                flate2::Compression::new(self.level.clamp(0, 9) as u32),
            )),
            Compression::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(h, self.level)?;
                e.include_checksum(true)?;
                // zstd's own workers compress in parallel with our encoding; its output does
                // not depend on the number of workers, so parts stay byte-identical.
                e.multithread(self.zstd_workers)?;
                Packer::Zstd(e)
            }
        };
        self.lanes[lane] = Some(OpenPart {
            name,
            packer,
            items: 0,
            uncompressed: 0,
        });
        Ok(())
    }

    /// Append items: `buf` holds them back to back, `ends[k]` is where item k ends.
    pub fn write_items(&mut self, buf: &[u8], ends: &[usize]) -> Result<()> {
        self.write_shared_items(&Arc::new(buf.to_vec()), ends)
    }

    /// [`Self::write_items`] for a batch the part's staging thread and hash lanes may keep a
    /// reference to while they catch up (the bytes are not copied).
    pub fn write_shared_items(&mut self, buf: &Arc<Vec<u8>>, ends: &[usize]) -> Result<()> {
        let mut k = 0;
        let mut start = 0usize;
        while k < ends.len() {
            let lane = self.lane;
            if self.lanes[lane].is_none() {
                self.open(lane)?;
            }
            let spread = self.lanes.len() > 1;
            let (written, turn) = (self.written, self.turn);
            let cur = self.lanes[lane].as_mut().expect("opened");
            // Take as many whole items as fit; a part always takes at least one, and a turn
            // ends after the item that reaches its size.
            let room = self.part_size.saturating_sub(cur.uncompressed);
            let mut j = k;
            let mut full = false;
            while j < ends.len() {
                let len = (ends[j] - start) as u64;
                if len > room && !(j == k && cur.items == 0) {
                    full = true;
                    break;
                }
                j += 1;
                if spread && written + len >= SPREAD_AFTER && turn + len >= TURN {
                    break;
                }
            }
            if j > k {
                let end = ends[j - 1];
                cur.packer
                    .write_shared(buf, start..end)
                    .with_context(|| format!("writing part {}", cur.name))?;
                let n = (end - start) as u64;
                cur.items += (j - k) as u64;
                cur.uncompressed += n;
                self.written += n;
                self.turn += n;
                start = end;
                k = j;
            }
            if full {
                self.close_lane(lane)?;
            }
            if spread && self.written >= SPREAD_AFTER && self.turn >= TURN {
                self.lane = (lane + 1) % self.lanes.len();
                self.turn = 0;
            }
            self.pump(false);
        }
        Ok(())
    }

    /// Run the hash lanes over the bytes waiting in the open parts' queues. Unless `all`, only
    /// while every open part has bytes waiting, so that the lanes share their SIMD steps; the
    /// turns keep the queues short (a turn per part at most, roughly).
    fn pump(&mut self, all: bool) {
        let mut open: Vec<Lane> = self
            .lanes
            .iter_mut()
            .flatten()
            .filter_map(|p| match &mut p.packer {
                Packer::Plain(Hashing {
                    chains: Chains::Lane { md5, sha, queue },
                    ..
                }) => Some((md5, sha, queue)),
                _ => None,
            })
            .collect();
        debug_assert!(open.len() <= md5x::LANES);
        loop {
            let waiting = open.iter().filter(|(_, _, q)| !q.is_empty()).count();
            if waiting == 0 || (!all && waiting < open.len()) {
                return;
            }
            // Every waiting lane advances by the shortest front piece among them.
            let n = open
                .iter()
                .filter_map(|(_, _, q)| q.front().map(|p| p.range.len()))
                .min()
                .expect("a lane is waiting");
            // The front pieces (a reference count each), so the streams can be borrowed beside.
            let fronts: [Option<Piece>; md5x::LANES] =
                std::array::from_fn(|l| open.get(l)?.2.front().cloned());
            let bytes: [Option<&[u8]>; md5x::LANES] =
                std::array::from_fn(|l| Some(&fronts[l].as_ref()?.bytes()[..n]));
            let mut it = open.iter_mut();
            md5x::update(std::array::from_fn(|l| {
                let (md5, _, _) = it.next()?;
                Some((&mut **md5, bytes[l]?))
            }));
            let mut it = open.iter_mut();
            sha256x::update(std::array::from_fn(|l| {
                let (_, sha, _) = it.next()?;
                Some((&mut **sha, bytes[l]?))
            }));
            for (_, _, queue) in open.iter_mut() {
                if let Some(p) = queue.front_mut() {
                    p.range.start += n;
                    if p.range.is_empty() {
                        queue.pop_front();
                    }
                }
            }
        }
    }

    /// Finish one part: flush the compressor, complete the hashes, rename into place.
    fn close_lane(&mut self, lane: usize) -> Result<()> {
        let Some(cur) = &mut self.lanes[lane] else {
            return Ok(());
        };
        if let Packer::Plain(h) = &mut cur.packer {
            // Small writes still gathered join the lanes too, rather than go one lane alone.
            h.drain()
                .with_context(|| format!("writing part {}", cur.name))?;
        }
        self.pump(true);
        let cur = self.lanes[lane].take().expect("checked");
        let h = cur
            .packer
            .finish()
            .with_context(|| format!("writing part {}", cur.name))?;
        let etag = h
            .sink
            .commit()
            .with_context(|| format!("writing part {}", cur.name))?;
        self.parts.push(PartInfo {
            key: format!("data/{}", cur.name),
            items: cur.items,
            uncompressed: cur.uncompressed,
            stored: h.bytes,
            md5_base64: base64::engine::general_purpose::STANDARD.encode(h.md5),
            sha256_hex: hex(&h.sha),
            etag,
        });
        Ok(())
    }

    /// Finish every open part; `parts` is then in the order of the parts' names.
    pub fn close(&mut self) -> Result<()> {
        for lane in 0..self.lanes.len() {
            self.close_lane(lane)?;
        }
        self.parts.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(())
    }

    /// Drop the parts still being written (after a failure): a part not committed leaves
    /// nothing in the store.
    pub fn abandon(&mut self) {
        for cur in self.lanes.iter_mut().filter_map(Option::take) {
            drop(cur.packer);
        }
    }
}

/// Parse sizes like `512MiB`, `64MB`, `1GB`, `1048576`.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .with_context(|| format!("{s:?} is not a size (e.g. 512MiB, 64MB, 1GB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        u => bail!("{s:?}: unknown size unit {u:?} (use B, KB, KiB, MB, MiB, GB, GiB)"),
    };
    let bytes = (v * mult as f64).round();
    if bytes < 1.0 {
        bail!("{s:?}: a size must be at least 1 byte");
    }
    Ok(bytes as u64)
}

/// What a run holds on its output until its end, so that a second run into it is refused.
#[derive(Debug)]
pub enum Lock {
    Folder(folder::FolderLock),
    S3(s3::S3Lock),
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails on the SHA-256 + disk thread surfaces as the write's (or the finish's)
    /// error, whichever comes first: it is never lost because that thread runs behind MD5.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_disk_write_is_reported() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        // MD5 inline or left to the lanes: the SHA-256 thread's failure surfaces either way.
        for lane in [false, true] {
            let mut h = Hashing::new(Box::new(disk::Disk::create(full).unwrap()), lane).unwrap();
            let batch = Arc::new(vec![b'x'; UNGATHERED]);
            let mut err = None;
            for _ in 0..BEHIND + 3 {
                if let Err(e) = h.write_shared(&batch, 0..batch.len()) {
                    err = Some(e);
                    break;
                }
            }
            let err = match err {
                Some(e) => e,
                None => h
                    .finish()
                    .err()
                    .expect("the write failed, so must the part"),
            };
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "lane {lane}: {err}");
        }
    }

    /// Shared batches, gathered small writes and large borrowed writes hash and land in order.
    #[test]
    fn shared_gathered_and_borrowed_writes_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        let mut h = Hashing::new(Box::new(disk::Disk::create(&path).unwrap()), false).unwrap();
        let mut want = Vec::new();
        for k in 0..40usize {
            let piece: Vec<u8> = (0..(k * 37_123) % (3 * UNGATHERED))
                .map(|i| (i * 7 + k) as u8)
                .collect();
            match k % 3 {
                0 => {
                    // A range that leaves out the batch's first byte, as a part boundary would.
                    let from = 1.min(piece.len());
                    let shared = Arc::new(piece.clone());
                    h.write_shared(&shared, from..piece.len()).unwrap();
                    want.extend_from_slice(&piece[from..]);
                }
                1 => {
                    h.write_all(&piece).unwrap();
                    want.extend_from_slice(&piece);
                }
                _ => {
                    for c in piece.chunks(1000) {
                        h.write_all(c).unwrap();
                    }
                    want.extend_from_slice(&piece);
                }
            }
        }
        let done = h.finish().unwrap();
        let (bytes, md5, sha) = (done.bytes, done.md5, done.sha);
        done.sink.commit().unwrap();
        assert_eq!(bytes, want.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), want);
        assert_eq!(md5[..], Md5::digest(&want)[..]);
        assert_eq!(sha[..], Sha256::digest(&want)[..]);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("64MB").unwrap(), 64_000_000);
        assert_eq!(parse_size("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn parts_split_on_item_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PartWriter::new(dir.path(), "json", Compression::None, 0, 10).unwrap();
        // Items of 4, 4, 4 and 12 bytes: [4,4] [4] [12 (alone, larger than a part)]
        let buf = b"aaa\nbbb\nccc\ndddddddddd1\n";
        w.write_items(buf, &[4, 8, 12, 24]).unwrap();
        w.close().unwrap();
        let items: Vec<u64> = w.parts.iter().map(|p| p.items).collect();
        assert_eq!(items, vec![2, 1, 1]);
        let read = |k: &str| std::fs::read(dir.path().join(k)).unwrap();
        assert_eq!(read("data/part-00000.json"), b"aaa\nbbb\n");
        assert_eq!(read("data/part-00002.json"), b"dddddddddd1\n");
        assert_eq!(w.parts[0].stored, 8);
        // MD5 of "aaa\nbbb\n", base64.
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"aaa\nbbb\n"));
        assert_eq!(w.parts[0].md5_base64, md5);
    }

    /// Uncompressed output past `SPREAD_AFTER` is dealt to eight parts in turns: each part's
    /// digests are those of its bytes (the MD5 lanes), each part holds its items in input order,
    /// every item is written once, no part passes --part-size, and the same items batched
    /// differently (as other thread counts batch them) give the same parts.
    #[test]
    fn spread_parts_are_hashed_right_and_do_not_depend_on_batching() {
        // 12,000 items of 1-9 KiB (varied, so turns end mid-batch and pieces are unaligned).
        let items: Vec<Vec<u8>> = (0..12_000usize)
            .map(|i| {
                let mut v = format!("{i:06} ").into_bytes();
                v.resize(1024 + (i * 7919) % 8192, b'a' + (i % 26) as u8);
                v.push(b'\n');
                v
            })
            .collect();
        let total: usize = items.iter().map(Vec::len).sum();
        assert!(total as u64 > SPREAD_AFTER + 8 * TURN);
        let part_size = 20 << 20;
        let write = |batch: usize| {
            let dir = tempfile::tempdir().unwrap();
            let mut w =
                PartWriter::new(dir.path(), "json", Compression::None, 0, part_size).unwrap();
            for chunk in items.chunks(batch) {
                let mut buf = Vec::new();
                let mut ends = Vec::new();
                for it in chunk {
                    buf.extend_from_slice(it);
                    ends.push(buf.len());
                }
                w.write_items(&buf, &ends).unwrap();
            }
            w.close().unwrap();
            let files: Vec<Vec<u8>> = w
                .parts
                .iter()
                .map(|p| std::fs::read(dir.path().join(&p.key)).unwrap())
                .collect();
            (w.parts.clone(), files)
        };
        let (parts, files) = write(1000);
        assert!(parts.len() >= SIDE_BY_SIDE, "{} parts", parts.len());
        let mut seen = vec![false; items.len()];
        for (p, f) in parts.iter().zip(&files) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(f));
            assert_eq!(p.md5_base64, b64, "{}", p.key);
            assert_eq!(p.sha256_hex, hex(&Sha256::digest(f)), "{}", p.key);
            assert!(p.uncompressed <= part_size && p.stored == f.len() as u64);
            let lines: Vec<&[u8]> = f.split_inclusive(|&c| c == b'\n').collect();
            assert_eq!(lines.len() as u64, p.items);
            let ids: Vec<usize> = lines
                .iter()
                .map(|l| std::str::from_utf8(&l[..6]).unwrap().parse().unwrap())
                .collect();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "{}: input order",
                p.key
            );
            for (id, line) in ids.iter().zip(&lines) {
                assert!(!seen[*id] && *line == &items[*id][..]);
                seen[*id] = true;
            }
        }
        assert!(seen.iter().all(|s| *s), "every item written");
        let names: Vec<&str> = parts.iter().map(|p| p.key.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for batch in [1, 333, 12_000] {
            let (p2, f2) = write(batch);
            assert!(f2 == files, "batches of {batch}");
            assert_eq!(
                p2.iter().map(|p| &p.md5_base64).collect::<Vec<_>>(),
                parts.iter().map(|p| &p.md5_base64).collect::<Vec<_>>()
            );
        }
    }

    /// Small writes (gathered) and large ones (hashed and written as they come), with
    /// compression and without: the manifest's digests are those of the bytes on disk, and the
    /// bytes are the items in order.
    #[test]
    fn digests_match_the_stored_bytes_for_gathered_and_direct_writes() {
        for compression in [Compression::None, Compression::Zstd, Compression::Gzip] {
            let dir = tempfile::tempdir().unwrap();
            let mut w = PartWriter::new(dir.path(), "json", compression, 1, 1 << 40).unwrap();
            let mut all = Vec::new();
            // Batches from a few bytes to several MiB, so both paths and the gathering
            // buffer's flush at 4 MiB are crossed.
            for (k, n) in [3usize, 700 << 10, 10, 5 << 20, 1, 2 << 20, 100]
                .iter()
                .enumerate()
            {
                let mut batch = vec![b'a' + k as u8; *n];
                batch.push(b'\n');
                w.write_items(&batch, &[batch.len()]).unwrap();
                all.extend_from_slice(&batch);
            }
            w.close().unwrap();
            let p = &w.parts[0];
            let stored = std::fs::read(dir.path().join(&p.key)).unwrap();
            assert_eq!(p.stored, stored.len() as u64);
            let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
            assert_eq!(p.md5_base64, b64(&Md5::digest(&stored)), "{compression:?}");
            assert_eq!(
                p.sha256_hex,
                hex(&Sha256::digest(&stored)),
                "{compression:?}"
            );
            let plain = match compression {
                Compression::None => stored,
                Compression::Zstd => zstd::decode_all(&stored[..]).unwrap(),
                Compression::Gzip => {
                    let mut out = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::GzDecoder::new(&stored[..]),
                        &mut out,
                    )
                    .unwrap();
                    out
                }
            };
            assert!(
                plain == all,
                "{compression:?}: the items come back in order"
            );
            assert_eq!(p.uncompressed, all.len() as u64);
        }
    }

    #[test]
    fn refuses_more_parts_than_an_import_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PartWriter::new(dir.path(), "json", Compression::Zstd, 3, 1).unwrap();
        w.max_parts = 3;
        w.write_items(b"a\nb\nc\n", &[2, 4, 6]).unwrap();
        let err = w.write_items(b"d\n", &[2]).unwrap_err().to_string();
        assert!(err.contains("exceed 3 parts"), "{err}");
        assert!(err.contains("--part-size"), "{err}");
    }
}
