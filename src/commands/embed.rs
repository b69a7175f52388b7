//! The converter for callers that hold Arrow record batches themselves — the Python package,
//! and through it Spark's `mapInArrow` tasks and Ray's `map_batches` — with the same encoder,
//! checks, part writer and reports as `prep convert`.
//!
//! [`encode_batch`] turns one batch into DynamoDB JSON or Ion lines and its rejects.
//! [`ShardWriter`] is one shard of a conversion (`--shard I/N`) fed batch by batch: parts into a
//! folder or S3 prefix, its rejects and keys, and its report; `prep merge` (or
//! [`super::merge::run`]) joins the N shards into one import folder.

use crate::encoding::{ItemWriter, Recycled};
use crate::input::{Batch, Format};
use crate::model::keys::KeySchema;
use crate::model::manifest::InputRecord;
use crate::model::shard::Shard;
use crate::output::store::OutputStore;
use crate::output::Lock;
pub use crate::run::default_options;
use crate::run::{
    column_encoding, encode_chunk, output_facts, write_shard_report, Encoding, Group, Profiling,
    Writer,
};
use crate::run::{ConvertOptions, DupMode, Report};
use anyhow::{bail, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::sync::Arc;

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

/// The encoding of batches of `schema` under `opts` (for `entity` of a map's entity types, its
/// shaping), and its key schema with every type resolved.
fn encoding(
    schema: &SchemaRef,
    opts: &ConvertOptions,
    entity: Option<&str>,
) -> Result<(Encoding, KeySchema)> {
    opts.keys.check_consistent()?;
    let group = match entity {
        None => Group {
            name: None,
            inputs: &opts.inputs,
            shape: &opts.shape,
            overrides: &opts.overrides,
        },
        Some(name) => {
            let e = opts
                .entities
                .iter()
                .find(|e| e.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = opts.entities.iter().map(|e| e.name.as_str()).collect();
                    anyhow::anyhow!(
                        "the map has no entity type {name:?} (it has {})",
                        known.join(", ")
                    )
                })?;
            Group {
                name: Some(&e.name),
                inputs: &e.inputs,
                shape: &e.shape,
                overrides: &e.overrides,
            }
        }
    };
    let e = column_encoding(schema, opts, &group, None).map_err(|err| match entity {
        Some(n) => err.context(format!("[entity.{n}]")),
        None => err,
    })?;
    let Encoding::Columns { plan, .. } = &e else {
        unreachable!("column_encoding gives columns")
    };
    // Every shard of a map's run records the whole table's keys, whichever entity it converts:
    // their types must be known without the data.
    let keys = if opts.entities.is_empty() {
        plan.keys.clone()
    } else {
        if let Some((a, _)) = opts
            .keys
            .key_attributes()
            .iter()
            .find(|(a, _)| a.ty.is_none())
        {
            bail!(
                "declare the type of key attribute {:?} in the map's [table] (e.g. \"{}:S\"): the shards of a map's run each convert one entity type",
                a.name,
                a.name
            );
        }
        opts.keys.clone()
    };
    Ok((e, keys))
}

/// A row broke a rule while failing rows stop the conversion (`--on-error fail`): its reject
/// line (source, row, code, rule, message, values) says which and why.
#[derive(Debug)]
pub struct RowFailed {
    pub line: String,
}

impl RowFailed {
    /// The rule code the row broke.
    pub fn code(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(&self.line).ok()?;
        v["code"].as_str().map(str::to_string)
    }
}

impl std::fmt::Display for RowFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a row failed and failing rows stop the conversion: {}",
            self.line
        )
    }
}

impl std::error::Error for RowFailed {}

/// One input of a conversion fed batch by batch: its name, and its entity type in a map's run.
#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub entity: Option<String>,
}

/// Encode one batch as `prep convert` encodes its rows (`source` names it in rejects; its
/// rows are numbered from `first_row` + 1).
pub fn encode_batch(
    batch: &RecordBatch,
    opts: &ConvertOptions,
    source: &str,
    first_row: u64,
    entity: Option<&str>,
) -> Result<EncodedBatch> {
    let (encoding, keys) = encoding(&batch.schema(), opts, entity)?;
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
        (Format::ArrowStream, source, entity),
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
    _held: Lock,
    encoding: Encoding,
    keys: KeySchema,
    writer: Option<Writer>,
    items: ItemWriter,
    inputs: Vec<Input>,
    source: usize,
    next_row: u64,
    /// Profiles the items as they are written (`report`): the merge joins the shards' counts.
    profiling: Option<Profiling>,
}

impl ShardWriter {
    /// Open shard `opts.shard` for batches of `schema`, read from input `source` of `inputs`
    /// (in a map's run, its entity type says how the batches are shaped).
    pub fn open(
        opts: ConvertOptions,
        schema: &SchemaRef,
        inputs: Vec<Input>,
        source: usize,
    ) -> Result<ShardWriter> {
        if opts.shard.is_none() {
            bail!("a shard writer needs its shard (I of N)");
        }
        if source >= inputs.len() {
            bail!("input {source} is not among the {} inputs", inputs.len());
        }
        let entity = inputs[source].entity.clone();
        if entity.is_some() == opts.entities.is_empty() {
            bail!("in a map's run every input names its entity type, and only then");
        }
        let (encoding, keys) = encoding(schema, &opts, entity.as_deref())?;
        let (store, held) = opts.open_output()?;
        let mut writer = Writer::new(
            &opts,
            &store,
            &keys,
            inputs.iter().map(|i| i.name.clone()).collect(),
            1,
            Recycled::new(4),
        )?;
        if !opts.entities.is_empty() {
            writer.entity_names = opts.entities.iter().map(|e| e.name.clone()).collect();
            writer.group_of = inputs
                .iter()
                .map(|i| {
                    opts.entities
                        .iter()
                        .position(|e| Some(&e.name) == i.entity.as_ref())
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "input {:?}: the map has no entity type {:?}",
                                i.name,
                                i.entity.as_deref().unwrap_or("")
                            )
                        })
                })
                .collect::<Result<_>>()?;
        }
        let items = ItemWriter {
            keep_keys: opts.duplicates != DupMode::Off,
            note: opts.report.is_some(),
            ..ItemWriter::new(opts.syntax, opts.nulls)
        };
        Ok(ShardWriter {
            profiling: opts.report.as_ref().map(|_| Profiling::new(&keys)),
            opts,
            store,
            _held: held,
            encoding,
            keys,
            writer: Some(writer),
            items,
            inputs,
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
        let mut chunk = encode_chunk(
            Batch {
                source: self.source,
                first_row: self.next_row,
                rows: batch.clone(),
                lines: None,
                pre_rejects: Vec::new(),
                input_bytes: 0,
            },
            &self.encoding,
            (
                Format::ArrowStream,
                &self.inputs[self.source].name,
                self.inputs[self.source].entity.as_deref(),
            ),
            self.opts.syntax,
            self.opts.nulls,
            &mut self.items,
        )?;
        self.next_row += batch.num_rows() as u64;
        if let Some(p) = self.profiling.as_mut() {
            chunk.facts = Some(p.facts(&mut chunk, self.opts.syntax));
        }
        match w.take(chunk) {
            Ok(true) => Ok(()),
            Ok(false) => {
                w.parts.abandon();
                let line = w.report.failed_row.clone().unwrap_or_default();
                Err(RowFailed { line }.into())
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
            let inputs: Vec<InputRecord> = self
                .inputs
                .iter()
                .zip(rows)
                .map(|(input, rows)| InputRecord {
                    path: input.name.clone(),
                    format: "arrow".into(),
                    rows,
                    bytes: 0,
                    crc64nvme: None,
                    sha256: None,
                    etag: None,
                    version_id: None,
                    entity: input.entity.clone(),
                })
                .collect();
            let shard: Shard = self.opts.shard.expect("checked at open");
            let facts = output_facts(&self.opts, &self.keys);
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
