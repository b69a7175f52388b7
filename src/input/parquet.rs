//! Parquet inputs: one work unit per row group, so large files decode in parallel.

use super::source::Chunks;
use super::{send_sliced, Batch, Opened, ReadOptions, Source, Unit, UnitPart};
use anyhow::Result;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

pub fn open(src: &Source, index: usize) -> Result<Opened> {
    let b = ParquetRecordBatchReaderBuilder::try_new(Chunks(src.object.clone()))?;
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
        schema: b.schema().clone(),
        units,
    })
}

pub fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let UnitPart::RowGroup(rg) = unit.part else {
        unreachable!("parquet units are row groups")
    };
    let file = Chunks(src.object.clone());
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())?;
    // Top-level text and binary columns as views: the values stay in the decoded pages instead
    // of being copied value by value into one buffer per column (the encoders read either).
    let fields: Vec<Field> = meta
        .schema()
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
