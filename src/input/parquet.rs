//! Parquet inputs: one work unit per row group, so large files decode in parallel.

use super::source::Chunks;
use super::{send_sliced, Batch, Opened, ReadOptions, Source, Unit, UnitPart};
use anyhow::{Context, Result};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Type as PhysicalType;
use parquet::file::reader::{ChunkReader, Length};
use parquet::schema::types::Type as ParquetType;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// The largest row group fetched whole from a remote input: memory is this times the units read
/// ahead; a larger one is read chunk by chunk, with more requests.
const MAX_ROW_GROUP_FETCH: u64 = 128 << 20;

/// A remote input's footer is read with this many bytes of its end in one GET (the footer's
/// length, then the footer itself, would be two requests one after the other); a larger footer
/// is fetched apart.
const FOOTER_PREFETCH: u64 = 64 << 10;

pub(crate) fn open(src: &Source, index: usize) -> Result<Opened> {
    let file = Chunks(src.object.clone());
    let footer = match src.local_path() {
        Some(_) => ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())?,
        None => {
            let n = FOOTER_PREFETCH.min(src.size);
            let start = src.size - n;
            let tail = Fetched {
                bytes: src.object.read_range(start, n as usize)?,
                object: file.clone(),
                start,
            };
            ArrowReaderMetadata::load(&tail, ArrowReaderOptions::new())?
        }
    };
    let b = ParquetRecordBatchReaderBuilder::new_with_metadata(
        file,
        src.parquet_footer.get_or_init(|| footer).clone(),
    );
    let meta = b.metadata();
    let mut units = Vec::new();
    let mut first_row = 0u64;
    for (i, rg) in meta.row_groups().iter().enumerate() {
        units.push(Unit {
            source: index,
            part: UnitPart::RowGroup(i),
            first_row,
            weight: rg.compressed_size().max(0) as u64,
        });
        first_row += rg.num_rows().max(0) as u64;
    }
    Ok(Opened {
        schema: Arc::new(int96_as_utc(
            b.schema(),
            b.metadata().file_metadata().schema(),
        )),
        units,
    })
}

/// INT96 timestamps (Spark, Hive, Impala, older Glue) are UTC instants by those writers'
/// convention, and Spark reads them at microseconds: read them the same way, so the rows come
/// out as the same strings whether they go through the CLI or `prep.spark` (the parquet reader's
/// default is zone-less nanoseconds).
fn int96_as_utc(schema: &Schema, root: &ParquetType) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match child(root, f.name()) {
            Some(t) => int96_field(f, t),
            None => f.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

fn child<'a>(group: &'a ParquetType, name: &str) -> Option<&'a ParquetType> {
    if !group.is_group() {
        return None;
    }
    group
        .get_fields()
        .iter()
        .find(|t| t.name() == name)
        .map(|t| t.as_ref())
}

/// The parquet type that holds a list's elements: three-level lists (`group (LIST) { repeated
/// group list { element } }`) and the two-level and bare repeated forms older writers use.
fn list_element(t: &ParquetType) -> Option<&ParquetType> {
    if t.is_primitive() {
        return Some(t);
    }
    let [inner] = t.get_fields() else {
        return None;
    };
    match inner.get_fields() {
        [element] if inner.is_group() => Some(element.as_ref()),
        _ => Some(inner.as_ref()),
    }
}

fn int96_field(f: &Field, t: &ParquetType) -> Field {
    let ty = match f.data_type() {
        DataType::Timestamp(TimeUnit::Nanosecond, None)
            if t.is_primitive() && t.get_physical_type() == PhysicalType::INT96 =>
        {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        DataType::Struct(children) => {
            DataType::Struct(Fields::from_iter(children.iter().map(|c| {
                match child(t, c.name()) {
                    Some(ct) => int96_field(c, ct),
                    None => c.as_ref().clone(),
                }
            })))
        }
        DataType::List(e) => match list_element(t) {
            Some(et) => DataType::List(Arc::new(int96_field(e, et))),
            None => return f.clone(),
        },
        DataType::LargeList(e) => match list_element(t) {
            Some(et) => DataType::LargeList(Arc::new(int96_field(e, et))),
            None => return f.clone(),
        },
        _ => return f.clone(),
    };
    f.clone().with_data_type(ty)
}

/// The bytes of `unit` fetched in one GET and held while it is decoded: a remote row group's
/// column chunks, up to [`MAX_ROW_GROUP_FETCH`] (a larger one is read chunk by chunk).
pub(crate) fn fetched_whole(src: &Source, unit: &Unit) -> u64 {
    match src.local_path() {
        Some(_) => 0,
        None if unit.weight > MAX_ROW_GROUP_FETCH => 0,
        None => unit.weight,
    }
}

pub(crate) fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let UnitPart::RowGroup(rg) = unit.part else {
        unreachable!("parquet units are row groups")
    };
    let file = Chunks(src.object.clone());
    let meta = match src.parquet_footer.get() {
        Some(m) => m.clone(),
        None => {
            let m = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())?;
            src.parquet_footer.get_or_init(|| m).clone()
        }
    };
    // Top-level text and binary columns as views: the values stay in the decoded pages instead
    // of being copied value by value into one buffer per column (the encoders read either).
    let fields: Vec<Field> = int96_as_utc(meta.schema(), meta.metadata().file_metadata().schema())
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            DataType::Binary => f.as_ref().clone().with_data_type(DataType::BinaryView),
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Schema::new_with_metadata(fields, meta.schema().metadata().clone());
    let meta = ArrowReaderMetadata::try_new(
        meta.metadata().clone(),
        ArrowReaderOptions::new().with_schema(Arc::new(schema)),
    )?;
    // A remote input: the row group's column chunks in one ranged GET (the decoder would ask
    // for each chunk and its pages apart), unless the row group is too large to hold; a local
    // file is read where the decoder asks.
    let span = meta.metadata().row_group(rg).compressed_size().max(0) as u64;
    let file = match src.local_path() {
        Some(_) => Fetched::none(file),
        None if span > MAX_ROW_GROUP_FETCH => Fetched::none(file),
        None => {
            let (start, end) = meta
                .metadata()
                .row_group(rg)
                .columns()
                .iter()
                .map(|c| {
                    let (s, n) = c.byte_range();
                    (s, s + n)
                })
                .fold((u64::MAX, 0), |(a, b), (s, e)| (a.min(s), b.max(e)));
            let bytes = if start < end {
                src.object
                    .read_range(start, (end - start) as usize)
                    .with_context(|| format!("reading row group {rg}"))?
            } else {
                Bytes::new()
            };
            Fetched {
                object: file,
                start,
                bytes,
            }
        }
    };
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta);
    let rows = builder.metadata().row_group(rg).num_rows().max(0) as u64;
    let reader = builder
        .with_row_groups(vec![rg])
        .with_batch_size(opts.batch_rows)
        .build()?;
    let mut first_row = unit.first_row;
    for rb in reader {
        let rb = rb?;
        let bytes = (unit.weight * rb.num_rows() as u64)
            .checked_div(rows)
            .unwrap_or(0);
        if !send_sliced(tx, unit.source, &mut first_row, rb, opts.batch_rows, bytes) {
            break;
        }
    }
    Ok(())
}

/// An input with a range already fetched (a row group's column chunks, the end with the
/// footer): reads inside it are served from memory, any other from the input.
struct Fetched {
    object: Chunks,
    /// Where `bytes` start in the input.
    start: u64,
    bytes: Bytes,
}

impl Fetched {
    /// Nothing fetched: every read goes to the input.
    fn none(object: Chunks) -> Self {
        Fetched {
            object,
            start: 0,
            bytes: Bytes::new(),
        }
    }

    /// `len` bytes at `at` from the fetched bytes, if they hold them.
    fn held(&self, at: u64, len: usize) -> Option<Bytes> {
        let from = usize::try_from(at.checked_sub(self.start)?).ok()?;
        (from.checked_add(len)? <= self.bytes.len()).then(|| self.bytes.slice(from..from + len))
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.object.len()
    }
}

impl ChunkReader for Fetched {
    type T = Box<dyn std::io::Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let end = self.start + self.bytes.len() as u64;
        match self.held(start, end.saturating_sub(start) as usize) {
            // What follows the fetched bytes, should the decoder read on, from the input (a
            // stream that asks for nothing until it is read).
            Some(b) if start < end => Ok(Box::new(std::io::Read::chain(
                std::io::Cursor::new(b),
                self.object.get_read(end)?,
            ))),
            _ => self.object.get_read(start),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self.held(start, length) {
            Some(b) => Ok(b),
            None => self.object.get_bytes(start, length),
        }
    }
}
