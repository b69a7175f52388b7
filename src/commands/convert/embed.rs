//! The converter for callers that hold Arrow record batches themselves — the Python package,
//! and through it Spark's `mapInArrow` tasks and Ray's `map_batches` — with the same encoder,
//! checks, part writer and reports as `prep convert`.
//!
//! [`encode_batch`] turns one batch into DynamoDB JSON or Ion lines and its rejects.
//! [`ShardWriter`] is one shard of a conversion (`--shard I/N`) fed batch by batch: parts into a
//! folder or S3 prefix, its rejects and keys, and its report; `prep merge` (or
//! [`super::merge::run`]) joins the N shards into one import folder.

use super::shard::Shard;
use super::{
    column_encoding, encode_chunk, open_store, output, write_shard_report, ConvertOptions, DupMode,
    Encoding, Held, OnError, Report, Writer,
};
use crate::encoding::plan::Timestamps;
use crate::encoding::{ItemWriter, Nulls, Recycled, Syntax};
use crate::input::{Batch, Format, ReadOptions};
use crate::model::keys::KeySchema;
use crate::output::store::OutputStore;
use crate::output::{Compression, Destination};
use anyhow::{bail, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::sync::Arc;

/// The options of a conversion with prep convert's defaults: DynamoDB JSON, zstd, 512 MiB
/// parts, nulls left out, RFC 3339 timestamps, failing rows rejected, duplicates warned of.
pub fn default_options(keys: KeySchema, out: Destination) -> ConvertOptions {
    ConvertOptions {
        inputs: Vec::new(),
        aws: Default::default(),
        out,
        keys,
        table_name: None,
        syntax: Syntax::Json,
        compression: Compression::Zstd,
        level: None,
        part_size: 512 << 20,
        nulls: Nulls::Omit,
        overrides: Vec::new(),
        timestamps: Timestamps::Rfc3339,
        on_error: OnError::Reject,
        duplicates: DupMode::Warn,
        threads: 1,
        force: false,
        read: ReadOptions {
            batch_rows: 8192,
            keep_blank: false,
            blocks: Default::default(),
            csv: crate::input::csv::CsvOptions {
                delimiter: None,
                columns: None,
                sample_rows: 1000,
            },
            max_line: crate::input::parse::lines::DEFAULT_MAX_LINE,
        },
        csv_infer: false,
        progress: false,
        shard: None,
        shape: Default::default(),
        entities: Vec::new(),
        billing: None,
    }
}

/// One batch, encoded.
pub struct EncodedBatch {
    /// The items, one per line.
    pub data: Vec<u8>,
    pub items: u64,
    /// The rejected rows as `rejects.jsonl` lines (source, row, code, rule, message, values).
    pub rejects: Vec<String>,
    pub empty_sets_omitted: u64,
    /// The key schema with every type resolved from the batch's columns.
    pub keys: KeySchema,
}

/// The encoding of batches of `schema` under `opts`, and its key schema with every type
/// resolved.
fn encoding(schema: &SchemaRef, opts: &ConvertOptions) -> Result<(Encoding, KeySchema)> {
    opts.keys.check_consistent()?;
    let group = super::Group {
        name: None,
        inputs: &opts.inputs,
        shape: &opts.shape,
        overrides: &opts.overrides,
    };
    let e = column_encoding(schema, opts, &group, None)?;
    let Encoding::Columns { plan, .. } = &e else {
        unreachable!("column_encoding gives columns")
    };
    let keys = plan.keys.clone();
    Ok((e, keys))
}

/// Encode one batch as `prep convert` encodes its rows (`source` names it in rejects; its
/// rows are numbered from `first_row` + 1).
pub fn encode_batch(
    batch: &RecordBatch,
    opts: &ConvertOptions,
    source: &str,
    first_row: u64,
) -> Result<EncodedBatch> {
    let (encoding, keys) = encoding(&batch.schema(), opts)?;
    let mut w = ItemWriter::new(opts.syntax, opts.nulls);
    let chunk = encode_chunk(
        Batch {
            source: 0,
            first_row,
            rows: batch.clone(),
            lines: None,
            pre_rejects: Vec::new(),
            input_bytes: 0,
        },
        &encoding,
        (Format::ArrowStream, source, None),
        opts.syntax,
        opts.nulls,
        &mut w,
    )?;
    Ok(EncodedBatch {
        items: chunk.encoded.ends.len() as u64,
        data: chunk.encoded.buf,
        rejects: chunk.rejects.into_iter().map(|(_, line)| line).collect(),
        empty_sets_omitted: chunk.encoded.empty_sets,
        keys,
    })
}

/// One shard of a conversion, fed record batches: its parts, rejects, keys and report go into
/// `opts.out` as `prep convert --shard I/N` writes them. Its inputs are named `input_names`
/// (every shard of the conversion names the same ones; its batches come from `source`).
pub struct ShardWriter {
    opts: ConvertOptions,
    store: Arc<dyn OutputStore>,
    _held: Held,
    encoding: Encoding,
    keys: KeySchema,
    writer: Option<Writer>,
    items: ItemWriter,
    names: Vec<String>,
    source: usize,
    next_row: u64,
}

impl ShardWriter {
    /// Open shard `opts.shard` for batches of `schema`, read from input `source` of
    /// `input_names`.
    pub fn open(
        opts: ConvertOptions,
        schema: &SchemaRef,
        input_names: Vec<String>,
        source: usize,
    ) -> Result<ShardWriter> {
        if opts.shard.is_none() {
            bail!("a shard writer needs its shard (I of N)");
        }
        if source >= input_names.len() {
            bail!(
                "input {source} is not among the {} inputs",
                input_names.len()
            );
        }
        let (encoding, keys) = encoding(schema, &opts)?;
        let (store, held) = open_store(&opts)?;
        let writer = Writer::new(
            &opts,
            &store,
            &keys,
            input_names.clone(),
            1,
            Recycled::new(4),
        )?;
        let items = ItemWriter {
            keep_keys: opts.duplicates != DupMode::Off,
            ..ItemWriter::new(opts.syntax, opts.nulls)
        };
        Ok(ShardWriter {
            opts,
            store,
            _held: held,
            encoding,
            keys,
            writer: Some(writer),
            items,
            names: input_names,
            source,
            next_row: 0,
        })
    }

    /// Encode and write one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the shard writer is closed"))?;
        let chunk = encode_chunk(
            Batch {
                source: self.source,
                first_row: self.next_row,
                rows: batch.clone(),
                lines: None,
                pre_rejects: Vec::new(),
                input_bytes: 0,
            },
            &self.encoding,
            (Format::ArrowStream, &self.names[self.source], None),
            self.opts.syntax,
            self.opts.nulls,
            &mut self.items,
        )?;
        self.next_row += batch.num_rows() as u64;
        match w.take(chunk) {
            Ok(true) => Ok(()),
            Ok(false) => {
                w.parts.abandon();
                bail!("a row failed and --on-error is fail")
            }
            Err(e) => {
                w.parts.abandon();
                Err(e)
            }
        }
    }

    /// Finish the parts and write the shard's report; its counts.
    pub fn close(mut self) -> Result<Report> {
        let w = self
            .writer
            .take()
            .ok_or_else(|| anyhow::anyhow!("the shard writer is closed"))?;
        let result = (|| {
            let (report, rows) = w.finish()?;
            let inputs: Vec<output::InputRecord> = self
                .names
                .iter()
                .zip(rows)
                .map(|(name, rows)| output::InputRecord {
                    path: name.clone(),
                    format: "arrow".into(),
                    rows,
                    bytes: 0,
                    sha256: None,
                    etag: None,
                    version_id: None,
                    entity: None,
                })
                .collect();
            let shard: Shard = self.opts.shard.expect("checked at open");
            let facts = output::OutputFacts::of(&self.opts, &self.keys);
            write_shard_report(
                &*self.store,
                &self.opts,
                shard,
                facts,
                inputs,
                &self.keys,
                &report,
            )?;
            Ok(report)
        })();
        if result.is_err() {
            self.store.discard();
        }
        result
    }
}

impl Drop for ShardWriter {
    /// A shard writer dropped before [`ShardWriter::close`] (its task failed) leaves nothing.
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            w.parts.abandon();
            drop(w);
            self.store.discard();
        }
    }
}
