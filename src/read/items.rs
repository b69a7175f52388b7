//! DynamoDB JSON / Ion item files as input: lines go through in batches (one Binary column) and
//! are parsed and re-checked by the encoder workers. Files listed by an export manifest are
//! verified against its md5Checksum before reading and its itemCount after.

use super::{Batch, ManifestEntry, Opened, ReadOptions, Source, Unit};
use crate::parse::lines::{open_decompressed, LineReader};
use anyhow::{bail, Context, Result};
use arrow_array::builder::BinaryBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use base64::Engine;
use md5::{Digest, Md5};
use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// The one column item batches have.
pub const LINE_COLUMN: &str = "line";

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        LINE_COLUMN,
        DataType::Binary,
        false,
    )]))
}

/// Check a data file against the md5Checksum its manifest lists.
pub fn verify_md5(path: &Path, m: &ManifestEntry) -> Result<()> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Md5::new();
    std::io::copy(&mut f, &mut h)?;
    let got = base64::engine::general_purpose::STANDARD.encode(h.finalize());
    if got != m.md5_base64 {
        bail!(
            "{}: md5Checksum mismatch: the manifest says {}, the file has {got}; the file was changed or is incomplete",
            path.display(),
            m.md5_base64
        );
    }
    Ok(())
}

pub fn open(src: &Source, index: usize) -> Result<Opened> {
    Ok(Opened::whole(schema(), src, index))
}

pub fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let mut lines = LineReader::new(open_decompressed(&src.path)?);
    let schema = schema();
    let mut first_row = 0u64;
    let mut done = false;
    while !done {
        let mut b = BinaryBuilder::with_capacity(opts.batch_rows, opts.batch_rows * 256);
        let mut numbers = Vec::with_capacity(opts.batch_rows);
        while numbers.len() < opts.batch_rows {
            match lines
                .next_line_ref()
                .with_context(|| format!("cannot read {}", src.display()))?
            {
                None => {
                    done = true;
                    break;
                }
                // Blank lines are not rows (prep validate reports them).
                Some((_, text)) if !opts.keep_blank && text.iter().all(u8::is_ascii_whitespace) => {
                }
                Some((line, text)) => {
                    b.append_value(text);
                    numbers.push(line);
                }
            }
        }
        if numbers.is_empty() {
            break;
        }
        let n = numbers.len() as u64;
        let rows = RecordBatch::try_new(schema.clone(), vec![Arc::new(b.finish()) as ArrayRef])?;
        let batch = Batch {
            source: unit.source,
            first_row,
            rows,
            lines: Some(numbers),
            pre_rejects: Vec::new(),
            input_bytes: if done { src.size } else { 0 },
        };
        first_row += n;
        if tx.send(Ok(batch)).is_err() {
            return Ok(());
        }
    }
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
