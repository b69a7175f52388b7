//! Arrow IPC inputs: the file format (`.arrow`, `.feather` v2) and the stream format (`.arrows`).

use super::source::ReadSeek;
use super::{send_sliced, Batch, Format, Opened, ReadOptions, Source, Unit};
use anyhow::{Context, Result};
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_schema::ArrowError;
use std::io::BufReader;
use std::sync::mpsc::SyncSender;

pub(crate) fn open(src: &Source, index: usize) -> Result<Opened> {
    let schema = match src.format {
        Format::ArrowFile => file_reader(src)?.schema(),
        _ => StreamReader::try_new(BufReader::new(src.object.read_from(0)?), None)
            .context("not a readable Arrow IPC stream (its schema message is missing or damaged)")?
            .schema(),
    };
    Ok(Opened::whole(schema, src, index))
}

pub(crate) fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let mut first_row = 0u64;
    match src.format {
        Format::ArrowFile => {
            let r = file_reader(src)?;
            let n = r.num_batches().max(1) as u64;
            for (k, rb) in r.enumerate() {
                let rb = rb.map_err(|e| batch_error(e, k, first_row))?;
                if !send_sliced(
                    tx,
                    unit.source,
                    &mut first_row,
                    rb,
                    opts.batch_rows,
                    src.size / n,
                ) {
                    break;
                }
            }
        }
        _ => {
            let r = StreamReader::try_new(BufReader::new(src.object.read_from(0)?), None)?;
            for (k, rb) in r.enumerate() {
                let rb = rb.map_err(|e| batch_error(e, k, first_row))?;
                let bytes = rb.get_array_memory_size() as u64;
                if !send_sliced(tx, unit.source, &mut first_row, rb, opts.batch_rows, bytes) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// An Arrow IPC file's reader; a file whose footer cannot be read (cut short, or a stream
/// named `.arrow`) gets an error that says so rather than the seek's "Invalid argument".
fn file_reader(src: &Source) -> Result<FileReader<Box<dyn ReadSeek>>> {
    let f = src.object.seekable()?;
    FileReader::try_new(f, None).map_err(|e| {
        anyhow::anyhow!(
            "not a readable Arrow IPC file: its footer is missing or damaged ({e}); was it cut short? An Arrow IPC stream should be named .arrows"
        )
    })
}

/// A record batch that cannot be read, numbered from 1 with the rows before it; a stream that
/// ends inside a message says it was cut short (arrow reports it as "failed to fill whole
/// buffer", twice over with its source).
fn batch_error(e: ArrowError, index: usize, rows_before: u64) -> anyhow::Error {
    let cut = match &e {
        ArrowError::IoError(_, io) => io.kind() == std::io::ErrorKind::UnexpectedEof,
        ArrowError::ParseError(m) => m.contains("Unexpected end of stream"),
        _ => false,
    };
    let at = format!("record batch {} (after {rows_before} rows)", index + 1);
    if cut {
        anyhow::anyhow!(
            "the input ends inside {at}: it was cut short (an interrupted copy or write?); write or fetch it again"
        )
    } else {
        // Not chained: arrow's I/O errors repeat their source in their own message.
        anyhow::anyhow!("{at} cannot be read: {e}")
    }
}
