//! Avro object container files (`.avro`; null, deflate, snappy and zstd codecs), read with
//! `arrow-avro` into Arrow batches, so every rule of the other columnar inputs applies: records
//! become maps (M), arrays lists (L), maps M, a `[T, "null"]` union a nullable T; decimals,
//! dates, times and timestamps (UTC and local) keep their Arrow types; a `uuid` becomes its text
//! (S), as a UUID is written. A file is one work unit, streamed from its start.

use super::{send_sliced, Batch, Opened, ReadOptions, Source, Unit};
use anyhow::{Context, Result};
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, ListArray, MapArray, RecordBatch, StringArray,
    StructArray,
};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use std::io::BufReader;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

pub(crate) fn open(src: &Source, index: usize) -> Result<Opened> {
    let r = reader(src, 1)?;
    // Every block, and the header, ends with the file's sync marker; the reader takes a file
    // cut inside a block for its end, so the end is checked here, before any row is read.
    let sync = r.avro_header().sync();
    let tail = src.object.read_range(src.size.saturating_sub(16), 16)?;
    if tail[..] != sync[..] {
        anyhow::bail!(
            "the Avro file does not end with its sync marker: it was cut short (an interrupted copy or write?) or is damaged; write or fetch it again"
        );
    }
    let schema = r.schema();
    Ok(Opened::whole(
        Arc::new(Schema::new_with_metadata(
            schema.fields().iter().map(text_uuids).collect::<Fields>(),
            schema.metadata().clone(),
        )),
        src,
        index,
    ))
}

pub(crate) fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let r = reader(src, opts.batch_rows)?;
    let mut first_row = 0u64;
    for (k, rb) in r.enumerate() {
        let rb = rb.map_err(|e| {
            anyhow::anyhow!(
                "block data after {first_row} records (batch {}) cannot be read: {e}; the file is damaged or cut short",
                k + 1
            )
        })?;
        let rb = uuids_as_text(rb)?;
        let bytes = rb.get_array_memory_size() as u64;
        if !send_sliced(tx, unit.source, &mut first_row, rb, opts.batch_rows, bytes) {
            break;
        }
    }
    Ok(())
}

fn reader(
    src: &Source,
    batch_rows: usize,
) -> Result<arrow_avro::reader::Reader<BufReader<Box<dyn std::io::Read + Send>>>> {
    arrow_avro::reader::ReaderBuilder::new()
        .with_batch_size(batch_rows.max(1))
        .build(BufReader::with_capacity(1 << 20, src.object.read_from(0)?))
        .context("not a readable Avro object container file (its header or schema is missing or damaged)")
}

fn is_uuid(f: &Field) -> bool {
    f.data_type() == &DataType::FixedSizeBinary(16)
        && f.metadata()
            .get("ARROW:extension:name")
            .is_some_and(|n| n == "arrow.uuid")
}

/// `f` with every uuid in it (nested too) as text.
fn text_uuids(f: &FieldRef) -> FieldRef {
    if is_uuid(f) {
        return Arc::new(Field::new(f.name(), DataType::Utf8, f.is_nullable()));
    }
    let dt = match f.data_type() {
        DataType::Struct(fs) => DataType::Struct(fs.iter().map(text_uuids).collect()),
        DataType::List(item) => DataType::List(text_uuids(item)),
        DataType::Map(entries, sorted) => DataType::Map(text_uuids(entries), *sorted),
        _ => return f.clone(),
    };
    Arc::new(f.as_ref().clone().with_data_type(dt))
}

fn has_uuid(f: &Field) -> bool {
    is_uuid(f)
        || match f.data_type() {
            DataType::Struct(fs) => fs.iter().any(|f| has_uuid(f)),
            DataType::List(item) | DataType::Map(item, _) => has_uuid(item),
            _ => false,
        }
}

/// A batch with its uuids as text (unchanged, without a copy, when it has none).
fn uuids_as_text(rb: RecordBatch) -> Result<RecordBatch> {
    let schema = rb.schema();
    if !schema.fields().iter().any(|f| has_uuid(f)) {
        return Ok(rb);
    }
    let columns = schema
        .fields()
        .iter()
        .zip(rb.columns())
        .map(|(f, a)| array_out(f, a))
        .collect::<Result<Vec<_>>>()?;
    let out: SchemaRef = Arc::new(Schema::new_with_metadata(
        schema.fields().iter().map(text_uuids).collect::<Fields>(),
        schema.metadata().clone(),
    ));
    Ok(RecordBatch::try_new(out, columns)?)
}

fn array_out(f: &FieldRef, a: &ArrayRef) -> Result<ArrayRef> {
    if !has_uuid(f) {
        return Ok(a.clone());
    }
    if is_uuid(f) {
        let b = a
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .context("a uuid that is not 16 bytes")?;
        return Ok(Arc::new(
            (0..b.len())
                .map(|i| b.is_valid(i).then(|| uuid_text(b.value(i))))
                .collect::<StringArray>(),
        ));
    }
    Ok(match f.data_type() {
        DataType::Struct(fs) => {
            let s = a
                .as_any()
                .downcast_ref::<StructArray>()
                .context("a record")?;
            let children = fs
                .iter()
                .zip(s.columns())
                .map(|(f, c)| array_out(f, c))
                .collect::<Result<Vec<_>>>()?;
            let fields: Fields = fs.iter().map(text_uuids).collect();
            Arc::new(StructArray::try_new(fields, children, s.nulls().cloned())?)
        }
        DataType::List(item) => {
            let l = a.as_any().downcast_ref::<ListArray>().context("an array")?;
            Arc::new(ListArray::try_new(
                text_uuids(item),
                l.offsets().clone(),
                array_out(item, l.values())?,
                l.nulls().cloned(),
            )?)
        }
        DataType::Map(entries, sorted) => {
            let m = a.as_any().downcast_ref::<MapArray>().context("a map")?;
            let e: ArrayRef = Arc::new(m.entries().clone());
            let e = array_out(entries, &e)?;
            let e = e
                .as_any()
                .downcast_ref::<StructArray>()
                .context("map entries")?
                .clone();
            Arc::new(MapArray::try_new(
                text_uuids(entries),
                m.offsets().clone(),
                e,
                m.nulls().cloned(),
                *sorted,
            )?)
        }
        _ => a.clone(),
    })
}

/// `8-4-4-4-12` lowercase hex, as a UUID is written.
fn uuid_text(b: &[u8]) -> String {
    let h = crate::hashing::hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
