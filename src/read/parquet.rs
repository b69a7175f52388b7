//! Parquet inputs: one work unit per row group, so large files decode in parallel.

use super::{send_sliced, Batch, Opened, ReadOptions, Source, Unit, UnitPart};
use anyhow::Result;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::sync::mpsc::SyncSender;

pub fn open(src: &Source, index: usize) -> Result<Opened> {
    let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&src.path)?)?;
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
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&src.path)?)?;
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
