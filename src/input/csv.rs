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
use arrow_array::{Array, BinaryArray, StringArray};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{Map, Value};
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
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
    file: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn raw_reader(src: &Source, read: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>> {
    let file = Counting {
        file: src.object.read_from(0)?,
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
        let n = src.object.name().to_ascii_lowercase();
        if n.ends_with(".tsv") || n.ends_with(".tsv.gz") || n.ends_with(".tsv.zst") {
            b'\t'
        } else {
            b','
        }
    })
}

type Records = Splitter<Box<dyn Read + Send>>;

fn records(src: &Source, opts: &CsvOptions) -> Result<Records> {
    counted_records(src, opts, Arc::default())
}

/// A record reader that counts the file's bytes into `read`.
fn counted_records(src: &Source, opts: &CsvOptions, read: Arc<AtomicU64>) -> Result<Records> {
    let delim = delimiter(src, opts);
    if let Err(why) = check_delimiter(delim) {
        bail!("{}: {why}", src.display());
    }
    Ok(Splitter::new(raw_reader(src, read)?, delim))
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
    let mut rdr = counted_records(src, copts, counter.clone())?.with_max_record(opts.max_line);
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
        // checked in one pass over the column (see `text_columns`).
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
                    unheld: 0,
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
        let columns = text_columns(&mut builders, &names, &mut pre_rejects)?;
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

/// The batch's columns as text. Arrow checks each column's UTF-8 at once (and that every cell
/// starts on a character), one pass over its bytes. Only when a column fails are its rows looked
/// at one by one: each row with a cell that is not UTF-8 becomes a reject (naming its first such
/// column), and the columns are made again without it.
fn text_columns(
    builders: &mut [BinaryBuilder],
    names: &[String],
    pre_rejects: &mut Vec<PreReject>,
) -> Result<Vec<ArrayRef>> {
    let binary: Vec<BinaryArray> = builders.iter_mut().map(|b| b.finish()).collect();
    let as_text = |b: &BinaryArray| {
        let (offsets, values, nulls) = b.clone().into_parts();
        StringArray::try_new(offsets, values, nulls)
    };
    let mut columns = Vec::with_capacity(binary.len());
    for b in &binary {
        match as_text(b) {
            Ok(t) => columns.push(Arc::new(t) as ArrayRef),
            Err(_) => return text_columns_without_bad_rows(&binary, names, pre_rejects),
        }
    }
    Ok(columns)
}

fn text_columns_without_bad_rows(
    binary: &[BinaryArray],
    names: &[String],
    pre_rejects: &mut Vec<PreReject>,
) -> Result<Vec<ArrayRef>> {
    let rows = binary.first().map_or(0, Array::len);
    let mut bad = vec![false; rows];
    for r in pre_rejects.iter() {
        bad[r.index] = true;
    }
    for (row, is_bad) in bad.iter_mut().enumerate() {
        if *is_bad {
            continue;
        }
        let first = binary.iter().enumerate().find_map(|(c, b)| {
            std::str::from_utf8(b.value(row))
                .err()
                .filter(|_| b.is_valid(row))
                .map(|e| (c, e))
        });
        if let Some((c, e)) = first {
            *is_bad = true;
            let cells: Vec<&[u8]> = binary.iter().map(|b| b.value(row)).collect();
            pre_rejects.push(PreReject {
                index: row,
                rule: &rules::INVALID_UTF8,
                message: format!(
                    "column {} is not valid UTF-8 (byte {} of the cell); re-encode the file as UTF-8",
                    names[c],
                    e.valid_up_to() + 1
                ),
                values: raw_values(names, &cells),
                unheld: 0,
            });
        }
    }
    pre_rejects.sort_by_key(|r| r.index);
    binary
        .iter()
        .map(|b| {
            let text: StringArray = (0..rows)
                .map(|r| {
                    (!bad[r] && b.is_valid(r))
                        .then(|| std::str::from_utf8(b.value(r)).expect("bad rows were left out"))
                })
                .collect();
            Ok(Arc::new(text) as ArrayRef)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows with a cell that is not UTF-8 become rejects naming their first such column, with
    /// their cells; every other row keeps its text, nulls stay null, and rejects already made
    /// (a short row) are not made twice.
    #[test]
    fn columns_with_bad_cells_reject_their_rows_only() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let rows: [[Option<&[u8]>; 3]; 5] = [
            [Some(b"x"), Some("\u{e9}".as_bytes()), None],
            [Some(b"y"), Some(b"\xff"), Some(b"\xc3")],
            [None, None, None],
            [Some(b"\xe2\x82"), Some(b"ok"), Some(b"\xff")],
            [Some(b"z"), None, Some(b"w")],
        ];
        let mut builders: Vec<BinaryBuilder> = (0..3).map(|_| BinaryBuilder::new()).collect();
        for row in &rows {
            for (b, cell) in builders.iter_mut().zip(row) {
                b.append_option(*cell);
            }
        }
        let mut pre = vec![PreReject {
            index: 2,
            rule: &rules::CSV_FIELD_COUNT,
            message: "short".into(),
            values: Value::Null,
            unheld: 0,
        }];
        let cols = text_columns(&mut builders, &names, &mut pre).unwrap();
        let got: Vec<(usize, &str, &str)> = pre
            .iter()
            .map(|r| (r.index, r.rule.code, r.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    rules::INVALID_UTF8.code,
                    "column b is not valid UTF-8 (byte 1 of the cell); re-encode the file as UTF-8"
                ),
                (2, rules::CSV_FIELD_COUNT.code, "short"),
                (
                    3,
                    rules::INVALID_UTF8.code,
                    "column a is not valid UTF-8 (byte 1 of the cell); re-encode the file as UTF-8"
                ),
            ]
        );
        let text = |c: usize| -> Vec<Option<String>> {
            cols[c]
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .iter()
                .map(|v| v.map(String::from))
                .collect()
        };
        assert_eq!(
            text(0),
            [Some("x".into()), None, None, None, Some("z".into())]
        );
        assert_eq!(text(1), [Some("\u{e9}".into()), None, None, None, None]);
        assert_eq!(text(2), [None, None, None, None, Some("w".into())]);
        // All good: the columns are the cells, nothing rejected.
        let mut builders: Vec<BinaryBuilder> = (0..3).map(|_| BinaryBuilder::new()).collect();
        for b in builders.iter_mut() {
            b.append_value("\u{20ac}1");
        }
        let mut pre = Vec::new();
        let cols = text_columns(&mut builders, &names, &mut pre).unwrap();
        assert!(pre.is_empty());
        assert_eq!(
            cols[2]
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "\u{20ac}1"
        );
    }
}
