//! The part writer: items into `data/part-NNNNN.<ext>[.gz|.zst]` of a store, parts sized by
//! their uncompressed bytes and laid out side by side for the hash lanes.

use super::folder::LocalFolder;
use super::sink::{Chains, Hashed, Hashing, Piece};
use super::store::OutputStore;
use super::Compression;
use crate::hashing::{md5x, Crc64};
use crate::model::manifest::PartInfo;
use crate::model::rules;
use anyhow::{bail, Context, Result};
use base64::Engine;
use std::collections::VecDeque;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

enum Packer {
    Plain(Hashing),
    Gzip(super::gzip::GzipWriter<Hashing>),
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
type Lane<'a> = (&'a mut md5x::Md5, &'a mut Crc64, &'a mut VecDeque<Piece>);

/// Uncompressed output up to this size goes to one part, as compressed output always does.
pub(crate) const SPREAD_AFTER: u64 = 16 << 20;
/// Past it, the open parts take turns of this many item bytes (about one 8192-row batch of
/// typical items, so a batch waits in few parts' queues for the lanes to run).
const TURN: u64 = 2 << 20;
/// How many uncompressed parts are open side by side past [`SPREAD_AFTER`]: a layout policy
/// (which item lands in which part depends on it), fixed here so that the output stays the same
/// if the hashing changes. Eight, so that every MD5 lane has a part; the hash lanes must be at
/// least as many.
pub(crate) const SIDE_BY_SIDE: usize = 8;
const _: () = assert!(SIDE_BY_SIDE <= md5x::LANES);

/// Writes items into `OUT/data/part-NNNNN.<ext>[.gz|.zst]`.
///
/// Compressed output fills one part after the other. Uncompressed output past `SPREAD_AFTER`
/// is dealt to [`SIDE_BY_SIDE`] parts open side by side, in turns of `TURN` bytes, so that
/// their MD5s advance together in one SIMD lane each: each is one sequential chain, and together
/// they were the longest step of an uncompressed conversion.
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
    /// Threads deflating a gzip part (its bytes do not depend on them).
    pub gzip_workers: usize,
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
            gzip_workers: 1,
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
            Compression::Gzip => Packer::Gzip(super::gzip::GzipWriter::new(
                h,
                self.level.clamp(0, 9) as u32,
                self.gzip_workers,
                super::gzip::PIECE,
            )?),
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
    #[cfg(test)]
    pub(crate) fn write_items(&mut self, buf: &[u8], ends: &[usize]) -> Result<()> {
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
                    chains: Chains::Lane { md5, crc, queue },
                    ..
                }) => Some((md5, &mut **crc, queue)),
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
            for ((_, crc, _), b) in open.iter_mut().zip(bytes) {
                if let Some(b) = b {
                    crc.update(b);
                }
            }
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
            crc64nvme: h.crc.base64(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

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
            assert_eq!(p.crc64nvme, Crc64::of(f).base64(), "{}", p.key);
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
                p.crc64nvme,
                crate::testing::crc64nvme(&stored),
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
