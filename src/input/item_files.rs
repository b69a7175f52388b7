//! DynamoDB JSON / Ion item files as input: lines go through in batches (one Binary column) and
//! are parsed and re-checked by the encoder workers. Files listed by an export manifest are
//! verified against its md5Checksum before reading and its itemCount after.

use super::{Batch, ManifestEntry, Opened, PreReject, ReadOptions, Source, Unit};
use crate::input::parse::lines::ItemReader;
use crate::input::parse::lines::{
    open_decompressed, open_decompressed_unbuffered, too_long_message, LineReader, LONG_LINE_KEPT,
};
use crate::input::parse::AttrValue;
use crate::input::source::InputObject;
use crate::input::Format;
use crate::model::keys::ScalarType;
use anyhow::{bail, Context, Result};
use arrow_array::builder::BinaryBuilder;
use arrow_array::{ArrayRef, BinaryArray, RecordBatch};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::collections::VecDeque;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

/// The one column item batches have.
pub(crate) const LINE_COLUMN: &str = "line";

pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        LINE_COLUMN,
        DataType::Binary,
        false,
    )]))
}

/// Check a data file against the md5Checksum its manifest lists.
pub(crate) fn verify_md5(obj: &dyn InputObject, m: &ManifestEntry) -> Result<()> {
    let got = crate::input::source::digests(obj, crate::hashing::Wanted::MD5)?
        .md5_base64
        .expect("asked for");
    if got != m.md5_base64 {
        bail!(
            "{}: md5Checksum mismatch: the manifest says {}, the file has {got}; the file was changed or is incomplete",
            obj.display(),
            m.md5_base64
        );
    }
    Ok(())
}

pub(crate) fn open(src: &Source, index: usize) -> Result<Opened> {
    Ok(Opened::whole(schema(), src, index))
}

pub(crate) fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    if opts.keep_blank {
        return read_blocks(src, unit, opts, tx);
    }
    let mut lines = LineReader::new(open_decompressed(&*src.object)?);
    lines.max_line = opts.max_line;
    let sent = send_rows(src, unit, opts, tx, |rows| loop {
        match lines
            .next_line_ref()
            .with_context(|| format!("cannot read {}", src.display()))?
        {
            None => return Ok(false),
            // Blank lines are not rows (prep validate reports them).
            Some((_, text)) if text.iter().all(u8::is_ascii_whitespace) => {}
            Some((line, text)) => {
                rows.push(line, text);
                if let Some(len) = lines.too_long {
                    rows.too_long(line, len, opts);
                }
                return Ok(true);
            }
        }
    })?;
    match sent {
        Some(n) => check_item_count(src, n),
        None => Ok(()),
    }
}

/// One batch's rows as a reader adds them: each row's bytes, the line it starts on, the rows
/// the reader rejects.
pub(crate) struct Rows {
    b: BinaryBuilder,
    numbers: Vec<u64>,
    pre_rejects: Vec<PreReject>,
}

impl Rows {
    pub(crate) fn push(&mut self, line: u64, text: &[u8]) {
        self.b.append_value(text);
        self.numbers.push(line);
    }

    /// The row just pushed was `len` bytes, past the limit: only its start was kept.
    pub(crate) fn too_long(&mut self, line: u64, len: u64, opts: &ReadOptions) {
        let index = self.numbers.len() - 1;
        self.pre_rejects
            .push(long_line_reject(index, line, len, opts));
    }
}

/// Send the rows `next` adds (one a call; false at the end) in batches of `opts.batch_rows`,
/// numbered from the unit's start. The rows sent, or `None` when the receiver hung up.
pub(crate) fn send_rows(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
    mut next: impl FnMut(&mut Rows) -> Result<bool>,
) -> Result<Option<u64>> {
    let schema = schema();
    let mut first_row = 0u64;
    let mut done = false;
    while !done {
        let mut rows = Rows {
            b: BinaryBuilder::with_capacity(opts.batch_rows, opts.batch_rows * 256),
            numbers: Vec::with_capacity(opts.batch_rows),
            pre_rejects: Vec::new(),
        };
        while rows.numbers.len() < opts.batch_rows {
            if !next(&mut rows)? {
                done = true;
                break;
            }
        }
        if rows.numbers.is_empty() {
            break;
        }
        let n = rows.numbers.len() as u64;
        let batch = Batch {
            source: unit.source,
            first_row,
            rows: RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(rows.b.finish()) as ArrayRef],
            )?,
            lines: Some(rows.numbers),
            pre_rejects: rows.pre_rejects,
            input_bytes: if done { src.size } else { 0 },
        };
        first_row += n;
        if tx.send(Ok(batch)).is_err() {
            return Ok(None);
        }
    }
    Ok(Some(first_row))
}

/// Every line a row (blank ones too): lines are read in large blocks, and the batches of a
/// block all point into it (Arrow buffers are shared), so no line is copied after the read but
/// the one a block cuts in two. A value keeps its `\n` (see [`crate::input::parse::lines::strip_cr`]).
fn read_blocks(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let mut r = open_decompressed_unbuffered(&*src.object)?;
    let schema = schema();
    let block_size = (opts.batch_rows * 320 * 4).max(64 << 10);
    // A plain file gives no more than its size: its blocks need be no larger (each block is
    // zeroed before it is read into, and an import may have 50,000 small files).
    let limit = match src.packing {
        crate::input::Packing::Plain => usize::try_from(src.size)
            .unwrap_or(usize::MAX)
            .saturating_add(1),
        _ => usize::MAX,
    };
    let mut first_row = 0u64;
    // The start of a line the previous block cut off.
    let mut carry: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut ends: Vec<usize> = Vec::new();
    while !eof {
        let size = block_size
            .max(carry.len() + (64 << 10))
            .min(limit.max(carry.len() + 1));
        let mut block = opts.blocks.take(size);
        block[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        ends.clear();
        let mut scanned = 0;
        // A line longer than the limit: its length, and its first bytes stand in for it.
        let mut long: Option<u64> = None;
        loop {
            if filled == block.len() {
                if !ends.is_empty() {
                    break;
                }
                if filled > opts.max_line {
                    // One line past the limit: skipped as it streams, never held whole.
                    let len = skip_line(&mut r, &mut block, filled)
                        .with_context(|| format!("cannot read {}", src.display()))?;
                    long = Some(len.0);
                    filled = len.1;
                    ends.push(LONG_LINE_KEPT + 1);
                    ends.extend(
                        memchr::memchr_iter(b'\n', &block[LONG_LINE_KEPT + 1..filled])
                            .map(|p| LONG_LINE_KEPT + 1 + p + 1),
                    );
                    scanned = filled;
                    continue;
                }
                // One line longer than the block: room for the rest of it.
                block.resize(block.len() * 2, 0);
            }
            let n = read_some(&mut r, &mut block[filled..])
                .with_context(|| format!("cannot read {}", src.display()))?;
            filled += n;
            ends.extend(
                memchr::memchr_iter(b'\n', &block[scanned..filled]).map(|p| scanned + p + 1),
            );
            scanned = filled;
            if n == 0 {
                eof = true;
                break;
            }
        }
        let end = ends.last().copied().unwrap_or(0);
        if eof && filled > end {
            // The last line has no newline.
            ends.push(filled);
        } else {
            carry.extend_from_slice(&block[end..filled]);
        }
        let last = ends.last().copied().unwrap_or(0);
        block.truncate(last);
        i32::try_from(last).context("a block over 2 GiB")?;
        let buffer = Buffer::from_vec(block);
        opts.blocks.lend(&buffer);
        let batches = ends.chunks(opts.batch_rows.max(1));
        let count = batches.len();
        let mut start = 0usize;
        for (k, chunk) in batches.enumerate() {
            let rows = chunk.len();
            let pre_rejects = match long.take() {
                Some(len) => vec![long_line_reject(0, first_row + 1, len, opts)],
                None => Vec::new(),
            };
            let offsets: Vec<i32> = std::iter::once(start)
                .chain(chunk.iter().copied())
                .map(|o| o as i32)
                .collect();
            start = chunk[rows - 1];
            let numbers = (first_row + 1..=first_row + rows as u64).collect();
            let array = BinaryArray::new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                buffer.clone(),
                None,
            );
            let batch = Batch {
                source: unit.source,
                first_row,
                rows: RecordBatch::try_new(schema.clone(), vec![Arc::new(array) as ArrayRef])?,
                lines: Some(numbers),
                pre_rejects,
                input_bytes: if eof && k + 1 == count { src.size } else { 0 },
            };
            first_row += rows as u64;
            if tx.send(Ok(batch)).is_err() {
                return Ok(());
            }
        }
    }
    check_item_count(src, first_row)
}

/// The reject of an over-long line at `index` of its batch.
fn long_line_reject(index: usize, line: u64, len: u64, opts: &ReadOptions) -> PreReject {
    let message = too_long_message(line, len, opts.max_line);
    PreReject {
        index,
        rule: &crate::model::rules::ITEM_TOO_LARGE,
        values: serde_json::json!({ "line": message }),
        message,
        // The batch holds the line's first bytes and a newline in its place.
        unheld: len.saturating_sub(LONG_LINE_KEPT as u64),
    }
}

/// `block[..filled]` starts a line with no newline yet, longer than the limit: read on to the
/// line's end without keeping it, then leave in `block` the line's first [`LONG_LINE_KEPT`]
/// bytes and a newline, followed by whatever was read after the line's end. Returns the line's
/// length and the bytes now in `block`.
fn skip_line(
    mut r: &mut dyn std::io::Read,
    block: &mut [u8],
    filled: usize,
) -> Result<(u64, usize)> {
    let mut len = filled as u64;
    let keep = LONG_LINE_KEPT + 1;
    let scratch = &mut block[keep..];
    loop {
        let n = read_some(&mut r, scratch)?;
        if n == 0 {
            block[LONG_LINE_KEPT] = b'\n';
            return Ok((len, keep));
        }
        if let Some(p) = memchr::memchr(b'\n', &scratch[..n]) {
            len += p as u64;
            // What follows the line moves up behind the kept start (it is already in place).
            block[LONG_LINE_KEPT] = b'\n';
            block.copy_within(keep + p + 1..keep + n, keep);
            return Ok((len, keep + n - p - 1));
        }
        len += n as u64;
    }
}

/// The blocks [`read_blocks`] has handed out in batches, shared by the files of one run (each
/// file is read by a thread of its own). A block whose batches are all gone is read into again:
/// a new one costs its zeroing and first-touch page faults, which showed in validation's
/// profile.
#[derive(Clone, Debug, Default)]
pub struct Blocks(Arc<Mutex<VecDeque<Buffer>>>);

/// Blocks kept track of: enough for the batches in flight (a block holds several) of the files
/// read at once, past which a block still in use is left to its batches.
const LENT_BLOCKS: usize = 8;

impl Blocks {
    /// A block of `size` bytes to read into: the oldest lent block whose batches are all gone
    /// (its old bytes are overwritten by the reads; only bytes past its old length are zeroed),
    /// else a new one (zeroed through calloc: fresh zero pages from the kernel).
    fn take(&self, size: usize) -> Vec<u8> {
        let mut lent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..lent.len() {
            let oldest = lent.pop_front().expect("counted");
            match oldest.into_vec::<u8>() {
                Ok(mut v) if v.capacity() >= size => {
                    v.resize(size, 0);
                    return v;
                }
                // Too small (a carried line needs more room): dropped.
                Ok(_) => {}
                // Still in use: looked at again next time, after the younger ones.
                Err(shared) => lent.push_back(shared),
            }
        }
        vec![0u8; size]
    }

    /// Keep track of a block handed out in batches.
    fn lend(&self, block: &Buffer) {
        let mut lent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lent.len() == LENT_BLOCKS {
            lent.pop_front();
        }
        lent.push_back(block.clone());
    }
}

/// One read, retried when interrupted.
fn read_some(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn check_item_count(src: &Source, first_row: u64) -> Result<()> {
    if let Some(m) = &src.manifest {
        if first_row != m.items {
            bail!(
                "{}: itemCount mismatch: the manifest says {}, the file holds {first_row} items",
                src.display(),
                m.items
            );
        }
    }
    Ok(())
}

/// The type of key attribute `name` in the first item of `sources` that has it (looking at the
/// first 10,000 lines of each item file): the key type to check when none is declared.
pub(crate) fn key_type_in_items(sources: &[Source], name: &str) -> Result<ScalarType> {
    for s in sources {
        let Format::Items(format) = s.format else {
            continue;
        };
        for r in ItemReader::open(&*s.object, format)?.take(10_000) {
            let r = r?;
            let Ok(item) = r.item else { continue };
            if let Some((_, v)) = item.iter().find(|(n, _)| n == name) {
                return match v {
                    AttrValue::S(_) => Ok(ScalarType::S),
                    AttrValue::N(_) => Ok(ScalarType::N),
                    AttrValue::B(_) => Ok(ScalarType::B),
                    other => bail!(
                        "{}:{}: key attribute {name:?} is {}, which cannot be a key; declare the key type (--key {name}:S)",
                        s.display(),
                        r.line,
                        other.type_name()
                    ),
                };
            }
        }
    }
    bail!("no item in the first lines of the inputs has the key attribute {name:?}; declare its type (--key {name}:S) or check the name (it is case-sensitive)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{detect, Found, UnitPart};
    use arrow_array::cast::AsArray;
    use std::path::Path;

    /// Rows of a file as the block reader hands them over: (line number, text without its end).
    /// All batches are held until the file is read, so no block is read into twice.
    fn rows(path: &Path, batch_rows: usize) -> Vec<(u64, Vec<u8>)> {
        rows_with(path, batch_rows, 1 << 20)
    }

    /// [`rows`] with a channel of `queue` batches, read on another thread: with a short queue
    /// the batches are dropped as they come, and blocks are read into again.
    fn rows_with(path: &Path, batch_rows: usize, queue: usize) -> Vec<(u64, Vec<u8>)> {
        read_rows(
            path,
            batch_rows,
            queue,
            true,
            crate::input::parse::lines::DEFAULT_MAX_LINE,
        )
        .into_iter()
        .map(|(n, text, rejected)| {
            assert_eq!(rejected, None);
            (n, text)
        })
        .collect()
    }

    /// Rows of a file through [`read`]: (line, text without its end, the reject's rule code if
    /// the reader rejected the row).
    fn read_rows(
        path: &Path,
        batch_rows: usize,
        queue: usize,
        keep_blank: bool,
        max_line: usize,
    ) -> Vec<(u64, Vec<u8>, Option<&'static str>)> {
        let src = detect(&Found {
            path: path.to_path_buf(),
            manifest: None,
        })
        .unwrap();
        let unit = Unit {
            source: 0,
            part: UnitPart::Whole,
            first_row: 0,
            weight: 0,
        };
        let opts = ReadOptions {
            batch_rows,
            keep_blank,
            blocks: Blocks::default(),
            csv: crate::input::csv::CsvOptions {
                delimiter: None,
                columns: None,
                sample_rows: 0,
            },
            max_line,
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(queue);
        let reader = std::thread::spawn(move || read(&src, &unit, &opts, &tx).unwrap());
        let mut out = Vec::new();
        for b in rx {
            let b = b.unwrap();
            assert!(b.rows.num_rows() <= batch_rows);
            let a = b.rows.column(0).as_binary::<i32>();
            for (i, n) in b.lines.as_ref().unwrap().iter().enumerate() {
                let rejected = b.pre_rejects.iter().find(|r| r.index == i).map(|r| {
                    assert!(
                        r.message.contains(&format!("line {n} is ")),
                        "{}",
                        r.message
                    );
                    r.rule.code
                });
                out.push((
                    *n,
                    crate::input::parse::lines::strip_cr(a.value(i)).to_vec(),
                    rejected,
                ));
            }
        }
        reader.join().unwrap();
        out
    }

    /// The lines of `text` as a line reader sees them: (line number, text without its end).
    fn lines_of(text: &str) -> Vec<(u64, Vec<u8>)> {
        let mut want = Vec::new();
        let mut r = LineReader::new(text.as_bytes());
        while let Some((line, _)) = r.next_line().unwrap() {
            let t = r.buf.strip_suffix(b"\r").unwrap_or(&r.buf).to_vec();
            want.push((line, t));
        }
        want
    }

    /// Lines over the limit are rows rejected by the reader (I001), kept only by their first
    /// bytes, in both readers, plain and compressed, in the middle and at the end without a
    /// newline; the lines around them are read as they are.
    #[test]
    fn lines_over_the_limit_are_skipped_and_rejected() {
        let max = 1 << 20;
        let huge = "y".repeat(3 * max + 12_345);
        let text = format!("a\n{huge}\nb\nc\n{huge}");
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("long.json");
        std::fs::write(&plain, &text).unwrap();
        let zst = dir.path().join("long.json.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 1).unwrap()).unwrap();
        for path in [&plain, &zst] {
            for keep_blank in [true, false] {
                let got = read_rows(path, 2, 1, keep_blank, max);
                let lines: Vec<(u64, Option<&str>)> =
                    got.iter().map(|(l, _, r)| (*l, *r)).collect();
                assert_eq!(
                    lines,
                    [
                        (1, None),
                        (2, Some("I001")),
                        (3, None),
                        (4, None),
                        (5, Some("I001"))
                    ],
                    "{path:?} {keep_blank}"
                );
                assert_eq!(got[0].1, b"a");
                assert_eq!(got[2].1, b"b");
                assert_eq!(got[3].1, b"c");
                assert!(got[1].1.len() <= LONG_LINE_KEPT && got[1].1.starts_with(b"yyy"));
                assert!(got[4].1.len() <= LONG_LINE_KEPT);
            }
        }
    }

    /// Lines read in blocks are the lines a line reader sees — whatever the batch size, with
    /// blank lines, CRLF, a missing final newline, long lines across reads, and compression.
    #[test]
    fn block_reading_matches_line_reading() {
        let long = "x".repeat(200_000);
        let texts = [
            format!("a\nbb\r\n\n\nccc\n{long}\nlast"),
            format!("{long}\n{long}\n"),
            "\n".into(),
            "one".into(),
            String::new(),
            "\u{feff}{\"Item\":{}}\r\n  \n\t\nz\n".into(),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (k, text) in texts.iter().enumerate() {
            let want = lines_of(text);
            let plain = dir.path().join(format!("{k}.json"));
            std::fs::write(&plain, text).unwrap();
            let zst = dir.path().join(format!("{k}.json.zst"));
            std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 1).unwrap()).unwrap();
            for path in [&plain, &zst] {
                for batch_rows in [1, 2, 3, 8192] {
                    assert_eq!(rows(path, batch_rows), want, "{k} {path:?} {batch_rows}");
                }
            }
        }
    }

    /// Many blocks read with their batches dropped as they come: the blocks read into again
    /// hold exactly the new lines (no byte of an earlier block shows through), lines cut by a
    /// block's end included.
    #[test]
    fn blocks_read_into_again_hold_only_new_lines() {
        let mut text = String::new();
        let mut seed = crate::testing::xorshift(7);
        for k in 0..40_000 {
            let len = (seed() % 120) as usize;
            let c = (b'a' + (k % 26) as u8) as char;
            text.push_str(&c.to_string().repeat(len));
            text.push_str(if k % 7 == 0 { "\r\n" } else { "\n" });
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.json");
        std::fs::write(&path, &text).unwrap();
        let want = lines_of(&text);
        for batch_rows in [1, 50, 8192] {
            assert_eq!(rows_with(&path, batch_rows, 1), want, "{batch_rows}");
        }
    }

    #[test]
    fn a_block_is_reused_only_once_its_batches_are_gone() {
        let blocks = Blocks::default();
        let first = Buffer::from_vec(vec![1u8; 100]);
        let ptr = first.as_ptr();
        blocks.lend(&first);
        // A batch still holds it: a new block, and the lent one is kept for later.
        let fresh = blocks.take(100);
        assert_ne!(fresh.as_ptr(), ptr);
        assert_eq!(fresh, vec![0u8; 100]);
        // A younger block already free is taken before it.
        let younger = Buffer::from_vec(vec![2u8; 100]);
        let younger_ptr = younger.as_ptr();
        blocks.lend(&younger);
        drop(younger);
        let taken = blocks.take(100);
        assert_eq!(taken.as_ptr(), younger_ptr);
        drop(first);
        // Its last batch is gone: the same memory, at the size asked for.
        let again = blocks.take(80);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(again.len(), 80);
        assert!(blocks.0.lock().unwrap().is_empty());
        // Too small for the size asked: dropped, and a new block made.
        blocks.lend(&Buffer::from_vec(again));
        assert_eq!(blocks.take(1000).len(), 1000);
        assert!(blocks.0.lock().unwrap().is_empty());
        // No more than LENT_BLOCKS are kept track of.
        let held: Vec<Buffer> = (0..LENT_BLOCKS + 3)
            .map(|_| Buffer::from_vec(vec![0u8; 10]))
            .collect();
        held.iter().for_each(|b| blocks.lend(b));
        assert_eq!(blocks.0.lock().unwrap().len(), LENT_BLOCKS);
    }
}
