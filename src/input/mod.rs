//! Inputs: finding them, telling their format, and reading them as Arrow record batches in work
//! units (a Parquet row group, a whole CSV or Arrow file) that can run in parallel.

mod ahead;
pub(crate) mod arrow_ipc;
mod avro;
#[doc(hidden)]
pub mod csv;
#[doc(hidden)]
pub mod csv_split;
mod detect;
mod discover;
pub(crate) mod item_files;
pub(crate) mod json_array;
pub(crate) mod json_docs;
pub(crate) mod parquet;
#[doc(hidden)]
pub mod parse;
#[doc(hidden)]
pub mod read_digest;
#[doc(hidden)]
pub mod s3;
#[doc(hidden)]
pub mod source;

use crate::input::parse::LineFormat;
use crate::input::source::{InputObject, LocalFile};
use crate::model::rules::Rule;
use crate::model::shard::Shard;
use anyhow::{bail, Context, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    ArrowFile,
    ArrowStream,
    /// Avro object container files.
    Avro,
    /// DynamoDB JSON or Ion item lines (exports, earlier outputs).
    Items(LineFormat),
    /// Plain JSON documents (JSON Lines, or one array of objects), each an item.
    Json(JsonKind),
}

/// How a plain JSON input holds its documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JsonKind {
    /// One top-level array of documents (else one document per line).
    pub array: bool,
    /// MongoDB Extended JSON (`{"$oid": …}`, `{"$date": …}`, …).
    pub mongo: bool,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::ArrowFile => "arrow",
            Format::ArrowStream => "arrow-stream",
            Format::Avro => "avro",
            Format::Items(LineFormat::DynamodbJson) => "dynamodb-json",
            Format::Items(LineFormat::Ion) => "ion",
            Format::Json(JsonKind { array: false, .. }) => "json-lines",
            Format::Json(JsonKind { array: true, .. }) => "json-array",
        }
    }
}

/// What an export's (or prep output's) manifest-files.json says of a data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub md5_base64: String,
    pub items: u64,
}

/// An input file found by [`discover`].
#[derive(Clone, Debug)]
pub struct Found {
    pub path: PathBuf,
    pub manifest: Option<ManifestEntry>,
}

/// Compression of a (CSV) input, from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    Plain,
    Gzip,
    Zstd,
}

/// An input: its bytes (wherever they are) and what they hold.
#[derive(Clone, Debug)]
pub struct Source {
    pub object: Arc<dyn InputObject>,
    pub format: Format,
    pub packing: Packing,
    pub size: u64,
    pub manifest: Option<ManifestEntry>,
    /// A Parquet input's footer, read once and shared by its row groups' units (for an S3 input,
    /// two GETs fewer per row group).
    pub parquet_footer:
        Arc<std::sync::OnceLock<::parquet::arrow::arrow_reader::ArrowReaderMetadata>>,
    /// The format was told from the content alone: no magic bytes, and a name without the
    /// format's extension (a file named `data` read as CSV). The run says so.
    pub guessed: bool,
}

impl Source {
    pub fn display(&self) -> String {
        self.object.display()
    }

    /// The local file it is, if it is one.
    pub fn local_path(&self) -> Option<&Path> {
        self.object.local_path()
    }
}

/// A row the reader could not turn into Arrow values (bad CSV record), reported as a reject.
#[derive(Clone, Debug)]
pub struct PreReject {
    pub index: usize,
    pub rule: &'static Rule,
    pub message: String,
    pub values: Value,
    /// Bytes of the row its batch does not hold (the rest of an over-long line).
    pub unheld: u64,
}

/// Rows of one source, with where they came from.
pub struct Batch {
    pub source: usize,
    /// 0-based index in its source of the batch's first row.
    pub first_row: u64,
    pub rows: RecordBatch,
    /// CSV: the line each row starts on.
    pub lines: Option<Vec<u64>>,
    pub pre_rejects: Vec<PreReject>,
    /// Estimated input bytes this batch stands for (for progress).
    pub input_bytes: u64,
}

/// A piece of work that reads batches in order.
#[derive(Clone, Debug)]
pub struct Unit {
    pub source: usize,
    pub part: UnitPart,
    pub first_row: u64,
    /// Estimated input bytes (for progress).
    pub weight: u64,
}

#[derive(Clone, Debug)]
pub enum UnitPart {
    Whole,
    RowGroup(usize),
    /// Bytes `from..to` of a file made of blocks (an Avro file's), read after its first
    /// `header` bytes.
    Blocks {
        header: u64,
        from: u64,
        to: u64,
    },
}

/// What opening a source tells: its schema and its units.
pub struct Opened {
    pub schema: SchemaRef,
    pub units: Vec<Unit>,
}

impl Opened {
    /// A source read start to end as one unit.
    pub fn whole(schema: SchemaRef, src: &Source, index: usize) -> Opened {
        Opened {
            schema,
            units: vec![Unit {
                source: index,
                part: UnitPart::Whole,
                first_row: 0,
                weight: src.size,
            }],
        }
    }
}

/// Reader settings shared by all inputs.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub batch_rows: usize,
    /// Item files: pass blank lines on as rows (validation reports them) instead of skipping.
    pub keep_blank: bool,
    /// Item files' read blocks, read into again once their batches are gone.
    pub blocks: item_files::Blocks,
    pub csv: csv::CsvOptions,
    /// Item files: the longest line read; longer ones are skipped and rejected (I001).
    pub max_line: usize,
}

pub use ahead::{open, read_ahead, Ahead, ReaderPanicked};
pub(crate) use ahead::{send_sliced, SMALL_IN_FLIGHT};
pub use detect::{detect, detect_each, detect_objects, NotData};
pub use discover::{discover, sorted_entries, Seen};

/// Which of `units` (in input order) are shard `shard`'s: they are dealt in input order, in
/// contiguous runs of about equal input bytes (shard `I` takes the units whose middle byte falls
/// in the `I`-th N-th of all input bytes). Every shard lists the same inputs (sorted), so the
/// split is the same in every process; shard 0 takes the first run, so the shards' outputs in
/// shard order are the items of a single run in the same order.
pub fn units_of_shard(shard: Shard, units: &[Unit]) -> Vec<bool> {
    let n = shard.count as u128;
    let total: u128 = units.iter().map(|u| u.weight as u128).sum();
    let mut before = 0u128;
    units
        .iter()
        .enumerate()
        .map(|(k, u)| {
            let w = u.weight as u128;
            let owner = if total == 0 {
                k as u128 * n / units.len() as u128
            } else {
                ((2 * before + w) * n / (2 * total)).min(n - 1)
            };
            before += w;
            owner == shard.index as u128
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shard::Shard;

    fn units(weights: &[u64]) -> Vec<Unit> {
        weights
            .iter()
            .map(|&w| Unit {
                source: 0,
                part: UnitPart::Whole,
                first_row: 0,
                weight: w,
            })
            .collect()
    }

    /// Every unit goes to exactly one shard, in contiguous runs in shard order, of about equal
    /// bytes.
    #[test]
    fn units_are_dealt_once_in_order_and_evenly() {
        for weights in [
            vec![10u64; 20],
            vec![1, 100, 1, 1, 50, 50, 3, 0, 0, 7],
            vec![0; 5],
            vec![5],
            vec![],
        ] {
            let u = units(&weights);
            for n in 1..=6u32 {
                let owners: Vec<u32> = (0..u.len())
                    .map(|k| {
                        let mut who =
                            (0..n).filter(|&i| units_of_shard(Shard { index: i, count: n }, &u)[k]);
                        let first = who.next().expect("an owner");
                        assert!(who.next().is_none(), "one owner");
                        first
                    })
                    .collect();
                assert!(owners.windows(2).all(|w| w[0] <= w[1]), "{owners:?}");
            }
        }
        let u = units(&[10; 30]);
        let counts: Vec<usize> = (0..3)
            .map(|i| {
                units_of_shard(Shard { index: i, count: 3 }, &u)
                    .iter()
                    .filter(|&&s| s)
                    .count()
            })
            .collect();
        assert_eq!(counts, [10, 10, 10]);
    }
}
