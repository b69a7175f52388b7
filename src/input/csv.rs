//! CSV inputs (plain, gzip or zstd): RFC 4180 quoting, UTF-8 BOM, CRLF, any delimiter but the
//! quote and line ends, with or without a header (records split by [`super::csv_split`]). Cells
//! become Utf8 columns (empty cells are nulls); typing happens in the plan (`--csv-types infer`
//! proposes N/BOOL per column from a sample of rows).

use super::csv_split::{check_delimiter, Cell, Record, Splitter};
use super::{Batch, Opened, Packing, PreReject, ReadOptions, Source, Unit};
use crate::input::parse::lines::too_long_message;
use crate::model::number;
use crate::model::rules;
use anyhow::{bail, Context, Result};
use arrow_array::builder::BinaryBuilder;
use arrow_array::StringArray;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// `None`: comma, or tab for `.tsv` files.
    pub delimiter: Option<u8>,
    /// Column names when the files have no header line.
    pub columns: Option<Vec<String>>,
    /// Rows looked at per column by `--csv-types infer`.
    pub sample_rows: usize,
}

/// Counts the bytes read from the file itself (compressed bytes for .gz/.zst), for progress.
struct Counting {
    file: File,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Checks that the (decompressed) bytes handed to the CSV parser are UTF-8, in the blocks the
/// parser reads, so that rows need no check of their own while `clean` holds: one call over a
/// 64 KiB block instead of one per row (the per-row call was 4.5 % of a CSV conversion's CPU).
/// A character cut by a block boundary is completed with the next block.
struct Utf8Watch<R> {
    inner: R,
    /// Every byte delivered so far is UTF-8 (a character still incomplete at the end aside).
    clean: Arc<AtomicBool>,
    /// The first bytes of a character that continues in the next block.
    pending: [u8; 4],
    pending_len: usize,
}

impl<R> Utf8Watch<R> {
    fn new(inner: R, clean: Arc<AtomicBool>) -> Self {
        clean.store(true, Ordering::Relaxed);
        Utf8Watch {
            inner,
            clean,
            pending: [0; 4],
            pending_len: 0,
        }
    }

    fn watch(&mut self, mut d: &[u8]) {
        if self.pending_len > 0 {
            // The lead byte is valid (from_utf8 only leaves a valid prefix incomplete): it says
            // how many bytes the character has.
            let width = match self.pending[0] {
                0xF0.. => 4,
                0xE0.. => 3,
                _ => 2,
            };
            let take = (width - self.pending_len).min(d.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&d[..take]);
            self.pending_len += take;
            d = &d[take..];
            if self.pending_len < width {
                if std::str::from_utf8(&self.pending[..self.pending_len])
                    .is_err_and(|e| e.error_len().is_some())
                {
                    self.clean.store(false, Ordering::Relaxed);
                }
                return;
            }
            self.pending_len = 0;
            if std::str::from_utf8(&self.pending[..width]).is_err() {
                self.clean.store(false, Ordering::Relaxed);
                return;
            }
        }
        // The SIMD check first; std's only to find where a block stops being UTF-8 (its ASCII
        // fast path breaks at every accented letter: 4.8 % of a CSV conversion's CPU).
        if simdutf8::basic::from_utf8(d).is_ok() {
            return;
        }
        match std::str::from_utf8(d) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => {
                let tail = &d[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
            }
            Err(_) => self.clean.store(false, Ordering::Relaxed),
        }
    }
}

impl<R: Read> Read for Utf8Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.clean.load(Ordering::Relaxed) {
            if n == 0 && !buf.is_empty() && self.pending_len > 0 {
                // The input ends inside a character.
                self.clean.store(false, Ordering::Relaxed);
            }
            self.watch(&buf[..n]);
        }
        Ok(n)
    }
}

fn raw_reader(src: &Source, read: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>> {
    let file = Counting {
        file: File::open(&src.path)?,
        read,
    };
    // The splitter reads 256 KiB at a time itself; only the decoders want a buffered input.
    let buffered = |file| BufReader::with_capacity(1 << 20, file);
    Ok(match src.packing {
        Packing::Plain => Box::new(file),
        Packing::Gzip => crate::input::parse::lines::located_gzip(buffered(file)),
        Packing::Zstd => crate::input::parse::lines::located_zstd(buffered(file))?,
    })
}

fn delimiter(src: &Source, opts: &CsvOptions) -> u8 {
    opts.delimiter.unwrap_or_else(|| {
        let n = src.path.to_string_lossy().to_ascii_lowercase();
        if n.ends_with(".tsv") || n.ends_with(".tsv.gz") || n.ends_with(".tsv.zst") {
            b'\t'
        } else {
            b','
        }
    })
}

type Records = Splitter<Box<dyn Read + Send>>;

fn records(src: &Source, opts: &CsvOptions) -> Result<Records> {
    counted_records(src, opts, Arc::default(), Arc::default())
}

/// A record reader that counts the file's bytes into `read` and keeps `clean` while every byte
/// read so far is UTF-8 (see [`Utf8Watch`]).
fn counted_records(
    src: &Source,
    opts: &CsvOptions,
    read: Arc<AtomicU64>,
    clean: Arc<AtomicBool>,
) -> Result<Records> {
    let delim = delimiter(src, opts);
    if let Err(why) = check_delimiter(delim) {
        bail!("{}: {why}", src.display());
    }
    let watched: Box<dyn Read + Send> = Box::new(Utf8Watch::new(raw_reader(src, read)?, clean));
    Ok(Splitter::new(watched, delim))
}

/// The column names: from `--columns`, or the first record (less a byte order mark, which the
/// splitter drops).
fn header(src: &Source, opts: &CsvOptions, rdr: &mut Records) -> Result<Vec<String>> {
    if let Some(cols) = &opts.columns {
        return Ok(cols.clone());
    }
    let mut cells = Vec::new();
    match rdr
        .next_record(&mut cells)
        .with_context(|| format!("{}: reading the header", src.display()))?
    {
        None => bail!("{}: the file is empty (no header line)", src.display()),
        Some(Record {
            too_long: Some(len),
            ..
        }) => bail!(
            "{}: the header line is {len} bytes long, past the limit; look for a quote that is never closed",
            src.display()
        ),
        Some(_) => {}
    }
    let mut names = Vec::with_capacity(cells.len());
    for (i, &(s, e)) in cells.iter().enumerate() {
        let name = std::str::from_utf8(&rdr.bytes()[s..e])
            .with_context(|| format!("{}: header column {} is not UTF-8", src.display(), i + 1))?;
        names.push(name.to_string());
    }
    Ok(names)
}

/// The most cells a CSV batch holds (8192 rows of 128 columns).
const MAX_BATCH_CELLS: usize = 8192 * 128;

fn check_names(src: &Source, names: &[String]) -> Result<()> {
    // Hashed: a header of 100,000 names costs linear time.
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            bail!(
                "{}: header column {} is empty; every column needs a name ({})",
                src.display(),
                i + 1,
                rules::ATTRIBUTE_NAME_EMPTY.code
            );
        }
        if !seen.insert(n) {
            bail!("{}: the header names column {n:?} twice", src.display());
        }
    }
    Ok(())
}

pub fn open(src: &Source, index: usize, opts: &CsvOptions) -> Result<Opened> {
    let mut rdr = records(src, opts)?;
    let names = header(src, opts, &mut rdr)?;
    check_names(src, &names)?;
    let fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n, DataType::Utf8, true))
        .collect();
    Ok(Opened::whole(Arc::new(Schema::new(fields)), src, index))
}

/// A DynamoDB number as a CSV writer would print one: valid syntax and no leading zeros (so
/// `00123`, a code, stays text).
pub fn looks_numeric(s: &[u8]) -> bool {
    let body = s.strip_prefix(b"-").unwrap_or(s);
    if body.len() > 1 && body[0] == b'0' && body[1].is_ascii_digit() {
        return false;
    }
    number::canonicalize(s, &mut Vec::new()).is_ok()
}

/// Propose N, BOOL or S for each column from the first `sample_rows` rows.
/// The type a CSV column's sampled cells look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guess {
    S,
    N,
    Bool,
}

pub fn infer(src: &Source, opts: &CsvOptions) -> Result<Vec<Guess>> {
    let mut rdr = records(src, opts)?;
    let names = header(src, opts, &mut rdr)?;
    let n = names.len();
    let (mut numeric, mut boolean, mut seen) = (vec![true; n], vec![true; n], vec![false; n]);
    let mut cells = Vec::new();
    let mut rows = 0;
    while rows < opts.sample_rows {
        let Some(rec) = rdr
            .next_record(&mut cells)
            .with_context(|| format!("{}: reading line {}", src.display(), rdr.line()))?
        else {
            break;
        };
        rows += 1;
        if rec.too_long.is_some() || cells.len() != n {
            continue;
        }
        for (c, &(s, e)) in cells.iter().enumerate() {
            let f = &rdr.bytes()[s..e];
            if f.is_empty() {
                continue;
            }
            seen[c] = true;
            if numeric[c] && !looks_numeric(f) {
                numeric[c] = false;
            }
            if boolean[c] && !(f.eq_ignore_ascii_case(b"true") || f.eq_ignore_ascii_case(b"false"))
            {
                boolean[c] = false;
            }
        }
    }
    Ok((0..n)
        .map(|c| {
            if !seen[c] {
                Guess::S
            } else if numeric[c] {
                Guess::N
            } else if boolean[c] {
                Guess::Bool
            } else {
                Guess::S
            }
        })
        .collect())
}

fn raw_values(names: &[String], cells: &[&[u8]]) -> Value {
    let text = |f: &[u8]| Value::String(String::from_utf8_lossy(f).into_owned());
    if cells.len() == names.len() {
        let mut m = Map::new();
        for (n, f) in names.iter().zip(cells) {
            m.insert(n.clone(), text(f));
        }
        Value::Object(m)
    } else {
        Value::Array(cells.iter().map(|f| text(f)).collect())
    }
}

pub fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let copts = &opts.csv;
    let counter = Arc::new(AtomicU64::new(0));
    let clean = Arc::new(AtomicBool::new(true));
    let mut rdr =
        counted_records(src, copts, counter.clone(), clean.clone())?.with_max_record(opts.max_line);
    // The block check stands for the cells' own only when the splitter removes nothing but ASCII
    // (the CLI takes ASCII delimiters only; the library takes any byte).
    let block_checked = delimiter(src, copts).is_ascii();
    let names = header(src, copts, &mut rdr)?;
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let n = names.len();
    // Rows per batch, fewer for wide tables: a batch's builders are sized for it up front, so
    // memory goes with rows × columns, not rows alone.
    let batch_rows = opts.batch_rows.min((MAX_BATCH_CELLS / n.max(1)).max(1));
    let mut cells = Vec::with_capacity(n);
    let mut first_row = 0u64;
    let mut last_byte = 0u64;
    // Each column's text bytes in the batch before: the next batch's builders start that large
    // (a little more), so they do not grow by copying as they fill.
    let mut widths = vec![batch_rows * 8; n];
    loop {
        // Cells go in as bytes; each column becomes text at the end of the batch, its UTF-8
        // checked in one pass over the column (see `text_column`).
        let mut builders: Vec<BinaryBuilder> = widths
            .iter()
            .map(|&w| BinaryBuilder::with_capacity(batch_rows, w + w / 8))
            .collect();
        let mut lines = Vec::with_capacity(batch_rows);
        let mut pre_rejects = Vec::new();
        let mut len = 0;
        while len < batch_rows {
            let Some(rec) = rdr
                .next_record(&mut cells)
                .with_context(|| format!("{}: reading line {}", src.display(), rdr.line()))?
            else {
                break;
            };
            lines.push(rec.line);
            let bytes = rdr.bytes();
            let cell = |&(s, e): &Cell| &bytes[s..e];
            let mut bad: Option<(&'static rules::Rule, String)> = None;
            // Every byte read so far being UTF-8 (Utf8Watch) is enough for the cells, which are
            // those bytes between ASCII delimiters and line ends, less ASCII quotes: only when it
            // is not are the cells checked one by one, to reject the row at fault.
            let stream_clean = block_checked && clean.load(Ordering::Relaxed);
            if let Some(len) = rec.too_long {
                bad = Some((
                    &rules::ITEM_TOO_LARGE,
                    too_long_message(rec.line, len, opts.max_line),
                ));
            } else if cells.len() != n {
                bad = Some((
                    &rules::CSV_FIELD_COUNT,
                    format!(
                        "the row has {} fields, the header has {n}; look for an unquoted delimiter or quote",
                        cells.len()
                    ),
                ));
            } else if let Some((i, e)) = cells
                .iter()
                .enumerate()
                .filter(|_| !stream_clean)
                .find_map(|(i, c)| std::str::from_utf8(cell(c)).err().map(|e| (i, e)))
            {
                bad = Some((
                    &rules::INVALID_UTF8,
                    format!(
                        "column {} is not valid UTF-8 (byte {} of the cell); re-encode the file as UTF-8",
                        names[i],
                        e.valid_up_to() + 1
                    ),
                ));
            } else {
                for (b, c) in builders.iter_mut().zip(&cells) {
                    let f = cell(c);
                    if f.is_empty() {
                        b.append_null();
                    } else {
                        b.append_value(f);
                    }
                }
            }
            if let Some((rule, message)) = bad {
                for b in builders.iter_mut() {
                    b.append_null();
                }
                let values = if rec.too_long.is_some() {
                    // Nothing of the record was kept.
                    serde_json::json!({ "line": message })
                } else {
                    raw_values(&names, &cells.iter().map(cell).collect::<Vec<_>>())
                };
                pre_rejects.push(PreReject {
                    index: len,
                    rule,
                    message,
                    values,
                });
            }
            len += 1;
        }
        if len == 0 {
            break;
        }
        let byte = counter.load(Ordering::Relaxed);
        for (w, b) in widths.iter_mut().zip(&builders) {
            *w = b.values_slice().len();
        }
        let columns = builders
            .iter_mut()
            .zip(&names)
            .map(|(b, name)| text_column(src, name, b))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let rows = RecordBatch::try_new(schema.clone(), columns)?;
        let batch = Batch {
            source: unit.source,
            first_row,
            rows,
            lines: Some(lines),
            pre_rejects,
            input_bytes: byte - last_byte,
        };
        last_byte = byte;
        first_row += len as u64;
        if tx.send(Ok(batch)).is_err() {
            break;
        }
    }
    Ok(())
}

/// A column's cells as text. Arrow checks the UTF-8 of the whole column at once (and that every
/// cell starts on a character): cheaper than a check per cell, and no `unsafe`. The rows read
/// are UTF-8 by then (the stream watch, or the row's own check), so an error here is a bug,
/// reported as one rather than as bad input.
fn text_column(src: &Source, name: &str, b: &mut BinaryBuilder) -> Result<ArrayRef> {
    let (offsets, values, nulls) = b.finish().into_parts();
    let text = StringArray::try_new(offsets, values, nulls).with_context(|| {
        format!(
            "{}: column {name}: a cell that passed the UTF-8 check is not text (a bug in prep's CSV reader; please report it)",
            src.display()
        )
    })?;
    Ok(Arc::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the block sizes, text that is UTF-8 keeps the watch clean, and a bad byte, a
    /// bad continuation or a character cut off by the end of the input does not.
    #[test]
    fn utf8_watch_follows_characters_across_blocks() {
        let good =
            "a\u{e9}b\u{20ac}c\u{1F600},\n\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}".repeat(3);
        let mut bad_byte = good.as_bytes().to_vec();
        bad_byte.insert(17, 0xff);
        let mut bad_continuation = good.as_bytes().to_vec();
        bad_continuation.extend_from_slice(b"\xe2\x82x");
        let mut cut = good.as_bytes().to_vec();
        cut.extend_from_slice(b"\xf0\x9f\x98");
        let overlong = [good.as_bytes(), b"\xc0\xaf"].concat();
        for (text, want) in [
            (good.as_bytes(), true),
            (&bad_byte[..], false),
            (&bad_continuation[..], false),
            (&cut[..], false),
            (&overlong[..], false),
        ] {
            for block in 1..=9 {
                let clean = Arc::new(AtomicBool::new(false));
                let mut w = Utf8Watch::new(text, clean.clone());
                let mut buf = vec![0u8; block];
                let mut got = Vec::new();
                loop {
                    let n = w.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got, text, "the bytes pass through unchanged");
                assert_eq!(
                    clean.load(Ordering::Relaxed),
                    want,
                    "block {block}: {text:?}"
                );
            }
        }
    }
}
