//! Avro object container files (`.avro`; null, deflate, snappy and zstd codecs), read with
//! `arrow-avro` into Arrow batches, so every rule of the other columnar inputs applies: records
//! become maps (M), arrays lists (L), maps M, a `[T, "null"]` union a nullable T; decimals,
//! dates, times and timestamps (UTC and local) keep their Arrow types; a `uuid` becomes its text
//! (S), as a UUID is written. A local file (or a small object held whole) is split at its
//! blocks into work units (a 32nd of the file, 16 KiB to 8 MiB), decoded in parallel, each read
//! as the header followed by its blocks; a large remote object is one unit, streamed from its
//! start.

use super::{send_sliced, Batch, Opened, ReadOptions, Source, Unit, UnitPart};
use anyhow::{Context, Result};
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, ListArray, MapArray, RecordBatch, StringArray,
    StructArray,
};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use std::io::{BufReader, Read};
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
    let schema = Arc::new(Schema::new_with_metadata(
        schema.fields().iter().map(text_uuids).collect::<Fields>(),
        schema.metadata().clone(),
    ));
    // Walking the blocks costs a read per block: only where reads are cheap.
    let cheap = src.local_path().is_some() || src.size <= super::s3::SMALL_OBJECT;
    if !cheap {
        return Ok(Opened::whole(schema, src, index));
    }
    let header = header_len(src)?;
    let mut units = Vec::new();
    let unit_bytes = (src.size / 32).clamp(UNIT_MIN, UNIT_MAX);
    let (mut from, mut rows_before, mut rows) = (header, 0u64, 0u64);
    let mut pos = header;
    while pos < src.size {
        let (count, len) = block_at(src, pos)?;
        pos += len;
        rows += count;
        if pos - from >= unit_bytes || pos >= src.size {
            units.push(Unit {
                source: index,
                part: UnitPart::Blocks {
                    header,
                    from,
                    to: pos,
                },
                first_row: rows_before,
                weight: pos - from,
            });
            (from, rows_before) = (pos, rows);
        }
    }
    if units.is_empty() {
        return Ok(Opened::whole(schema, src, index));
    }
    Ok(Opened { schema, units })
}

/// Blocks are gathered into work units of a 32nd of the file, within these bounds (so that even
/// a small file is read in a few units, and a unit's batches stay within the read-ahead).
const UNIT_MIN: u64 = 16 << 10;
const UNIT_MAX: u64 = 8 << 20;

/// A zigzag varint long at `b[*at..]`, moving `at` past it.
fn long(b: &[u8], at: &mut usize) -> Option<i64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some((v >> 1) as i64 ^ -((v & 1) as i64));
        }
    }
    None
}

/// Where the header ends: magic, the metadata map (blocks of entries, a block count of zero at
/// the end), the 16-byte sync marker.
fn header_len(src: &Source) -> Result<u64> {
    let mut want = 64usize << 10;
    loop {
        let b = src.object.read_range(0, want)?;
        let parse = || -> Option<usize> {
            let mut at = 4;
            loop {
                let mut n = long(&b, &mut at)?;
                if n == 0 {
                    break;
                }
                if n < 0 {
                    n = -n;
                    long(&b, &mut at)?;
                }
                for _ in 0..n {
                    for _ in 0..2 {
                        let len = usize::try_from(long(&b, &mut at)?).ok()?;
                        at = at.checked_add(len)?;
                    }
                }
            }
            let end = at.checked_add(16)?;
            (end <= b.len()).then_some(end)
        };
        if let Some(end) = parse() {
            return Ok(end as u64);
        }
        if b.len() < want || want >= 64 << 20 {
            anyhow::bail!("the Avro header cannot be read to its end: the file is damaged");
        }
        want *= 4;
    }
}

/// The block at `pos`: its record count and its length (counts, data and sync marker).
fn block_at(src: &Source, pos: u64) -> Result<(u64, u64)> {
    let b = src.object.read_range(pos, 20)?;
    let mut at = 0;
    let parsed = long(&b, &mut at).zip(long(&b, &mut at));
    match parsed {
        Some((count, size)) if count >= 0 && size >= 0 => {
            let len = at as u64 + size as u64 + 16;
            if pos + len > src.size {
                anyhow::bail!(
                    "the Avro block at byte {pos} runs past the end of the file: it was cut short; write or fetch it again"
                );
            }
            Ok((count as u64, len))
        }
        _ => anyhow::bail!("the Avro block at byte {pos} is damaged (its counts cannot be read)"),
    }
}

pub(crate) fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let r = match unit.part {
        UnitPart::Blocks { header, from, to } => {
            // The header's length was found once, when the file was opened.
            let header = src.object.read_range(0, header as usize)?;
            let blocks = src.object.read_from(from)?.take(to - from);
            let bytes: Box<dyn std::io::Read + Send> =
                Box::new(std::io::Cursor::new(header).chain(blocks));
            build(bytes, opts.batch_rows)?
        }
        _ => reader(src, opts.batch_rows)?,
    };
    let mut first_row = unit.first_row;
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

type AvroReader = arrow_avro::reader::Reader<BufReader<Box<dyn std::io::Read + Send>>>;

/// The file from its start.
fn reader(src: &Source, batch_rows: usize) -> Result<AvroReader> {
    build(src.object.read_from(0)?, batch_rows)
}

fn build(bytes: Box<dyn std::io::Read + Send>, batch_rows: usize) -> Result<AvroReader> {
    arrow_avro::reader::ReaderBuilder::new()
        .with_batch_size(batch_rows.max(1))
        .build(BufReader::with_capacity(1 << 20, bytes))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Avro's longs: zigzag varints, as the specification's examples give them; a varint cut
    /// short or running past ten bytes is no long.
    #[test]
    fn longs_are_zigzag_varints() {
        for (bytes, want) in [
            (&[0x00][..], 0i64),
            (&[0x01], -1),
            (&[0x02], 1),
            (&[0x7f], -64),
            (&[0x80, 0x01], 64),
            (
                &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                i64::MAX,
            ),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                i64::MIN,
            ),
        ] {
            let mut at = 0;
            assert_eq!(long(bytes, &mut at), Some(want), "{bytes:x?}");
            assert_eq!(at, bytes.len());
        }
        assert_eq!(long(&[0x80], &mut 0), None, "cut short");
        assert_eq!(long(&[0xff; 11], &mut 0), None, "too long");
    }

    #[test]
    fn uuids_are_written_as_text() {
        let b: Vec<u8> = (0..16).collect();
        assert_eq!(uuid_text(&b), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }
}
