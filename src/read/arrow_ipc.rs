//! Arrow IPC inputs: the file format (`.arrow`, `.feather` v2) and the stream format (`.arrows`).

use super::{send_sliced, Batch, Format, Opened, ReadOptions, Source, Unit};
use anyhow::Result;
use arrow_ipc::reader::{FileReader, StreamReader};
use std::fs::File;
use std::io::BufReader;
use std::sync::mpsc::SyncSender;

pub fn open(src: &Source, index: usize) -> Result<Opened> {
    let schema = match src.format {
        Format::ArrowFile => FileReader::try_new(File::open(&src.path)?, None)?.schema(),
        _ => StreamReader::try_new(BufReader::new(File::open(&src.path)?), None)?.schema(),
    };
    Ok(Opened::whole(schema, src, index))
}

pub fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let mut first_row = 0u64;
    match src.format {
        Format::ArrowFile => {
            let r = FileReader::try_new(File::open(&src.path)?, None)?;
            let n = r.num_batches().max(1) as u64;
            for rb in r {
                if !send_sliced(
                    tx,
                    unit.source,
                    &mut first_row,
                    rb?,
                    opts.batch_rows,
                    src.size / n,
                ) {
                    break;
                }
            }
        }
        _ => {
            let r = StreamReader::try_new(BufReader::new(File::open(&src.path)?), None)?;
            for rb in r {
                let rb = rb?;
                let bytes = rb.get_array_memory_size() as u64;
                if !send_sliced(tx, unit.source, &mut first_row, rb, opts.batch_rows, bytes) {
                    break;
                }
            }
        }
    }
    Ok(())
}
