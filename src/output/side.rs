//! A side file of an output (rejects.jsonl, duplicates.jsonl, a shard's key file): lines
//! gathered and handed to the store in large writes.

use super::store::{OutputStore, PartSink};
use anyhow::{Context, Result};
use std::io::{BufWriter, Write};

/// A side file being written.
pub(crate) struct SideFile {
    out: BufWriter<SinkWriter>,
    name: String,
}

/// A [`PartSink`] as a `Write`.
struct SinkWriter(Box<dyn PartSink>);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SideFile {
    pub(crate) fn create(store: &dyn OutputStore, name: &str) -> Result<SideFile> {
        let sink = store.create_file(name)?;
        Ok(SideFile {
            out: BufWriter::with_capacity(256 << 10, SinkWriter(sink)),
            name: store.display(name),
        })
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .with_context(|| format!("cannot write {}", self.name))
    }

    pub(crate) fn line(&mut self, line: &[u8]) -> Result<()> {
        self.out
            .write_all(line)
            .and_then(|()| self.out.write_all(b"\n"))
            .with_context(|| format!("cannot write {}", self.name))
    }

    pub(crate) fn commit(self) -> Result<()> {
        let name = self.name;
        let sink = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {name}"))?;
        sink.0
            .commit()
            .with_context(|| format!("cannot write {name}"))?;
        Ok(())
    }
}
