//! `prep convert`: inputs → checked DynamoDB JSON (or Ion) parts, manifests, rejects, duplicates.
//!
//! Flow: units (row groups, files) are read by a few threads ahead of need; batches come out in
//! input order, are encoded and checked in parallel on a rayon pool (`crate::pipeline`), and go in
//! order to one writer thread that detects duplicates, splits parts, compresses and hashes (MD5
//! on the writer thread, SHA-256 beside it, the device write on a thread of the part's own).
//! Keeping the order makes the output byte-identical whatever the thread count.

pub mod embed;
pub mod map;
pub mod merge;
pub mod output;
pub mod shard;

use crate::encoding::arrow_rows::{split_key, Encoded, ItemEncoder};
use crate::encoding::item_lines::{item_key_checks, LinesEncoder};
use crate::encoding::plan::KeyCheck;
use crate::encoding::plan::{EncodeOptions, Plan, Target, Timestamps};
use crate::encoding::{plain, ItemWriter, Nulls, Recycled, Syntax};
use crate::input::parse::LineFormat;
use crate::input::{self, Batch, Format, ReadOptions, Source, Unit};
use crate::model::keys::KeySchema;
use crate::model::observe::Observe;
use crate::output::s3::S3Prefix;
use crate::output::store::{LocalFolder, OutputStore, PartSink};
use crate::output::{Compression, Destination, PartInfo, PartWriter};
use crate::pipeline::duplicates::DupIndex;
use crate::shape::{Shape, Shaper};
use anyhow::{anyhow, bail, Context, Result};
use arrow_array::cast::AsArray;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    Reject,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DupMode {
    Warn,
    Error,
    Off,
}

/// Everything `prep convert` needs, independent of the command line.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Local files, folders and globs, and `s3://` objects, prefixes and globs.
    pub inputs: Vec<String>,
    /// How S3 inputs are reached.
    pub aws: crate::aws::AwsOptions,
    /// A local folder, or an S3 prefix written without a local copy.
    pub out: Destination,
    pub keys: KeySchema,
    pub table_name: Option<String>,
    pub syntax: Syntax,
    pub compression: Compression,
    pub level: Option<i32>,
    pub part_size: u64,
    pub nulls: Nulls,
    pub overrides: Vec<(String, Target)>,
    pub timestamps: Timestamps,
    pub on_error: OnError,
    pub duplicates: DupMode,
    pub threads: usize,
    pub force: bool,
    pub read: ReadOptions,
    pub csv_infer: bool,
    /// Where progress and notices go.
    pub observer: Observe,
    /// Set to stop the run (it removes what it wrote).
    pub cancel: crate::pipeline::Cancel,
    /// One of N processes that convert the inputs together (`prep merge` joins them).
    pub shard: Option<shard::Shard>,
    /// Computed keys and attributes, selected and renamed columns, the TTL attribute.
    pub shape: Shape,
    /// A map file's entity types, each with its inputs and shaping (then `inputs`, `shape` and
    /// `overrides` are unused).
    pub entities: Vec<map::Entity>,
    /// The billing of the table the import creates (import-table.json), from a map file.
    pub billing: Option<map::Billing>,
}

/// What a run did; the summary and `--json` are made from it.
#[derive(Debug, Default)]
pub struct Report {
    /// The output, as messages name it (a path or `s3://bucket/prefix/`).
    pub out: String,
    pub rows_read: u64,
    pub items_written: u64,
    pub rows_rejected: u64,
    pub rejects_by_code: BTreeMap<&'static str, u64>,
    pub duplicate_keys: u64,
    pub duplicate_items: u64,
    pub duplicate_examples: Vec<String>,
    pub empty_sets_omitted: u64,
    pub parts: Vec<PartInfo>,
    pub uncompressed_bytes: u64,
    pub stored_bytes: u64,
    pub elapsed_s: f64,
    pub failed_row: Option<String>,
    pub dup_mode_error: bool,
    pub key_schema: Option<KeySchema>,
    /// Things that converted but deserve a look (a stream that may be cut short, no items).
    pub warnings: Vec<String>,
    /// The run's format, compression and table name.
    pub facts: Option<output::OutputFacts>,
    /// The shard this run converted, if it converted one.
    pub shard: Option<shard::Shard>,
    /// A map's run: rows, items and rejects per entity type, in the map's order.
    pub entities: Vec<EntityCounts>,
}

/// One entity type's share of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCounts {
    pub name: String,
    pub rows_read: u64,
    pub items_written: u64,
    pub rows_rejected: u64,
}

impl Report {
    /// 0: everything converted; 1: rows rejected, or duplicates under `--duplicates error`.
    pub fn exit_code(&self) -> i32 {
        if self.rows_rejected > 0
            || self.failed_row.is_some()
            || (self.dup_mode_error && self.duplicate_items > 0)
        {
            1
        } else {
            0
        }
    }

    pub fn to_json(&self) -> Value {
        let rate = if self.elapsed_s > 0.0 {
            (self.rows_read as f64 / self.elapsed_s).round()
        } else {
            0.0
        };
        json!({
            "out": self.out,
            "rowsRead": self.rows_read,
            "itemsWritten": self.items_written,
            "rowsRejected": self.rows_rejected,
            "rejectsByCode": self.rejects_by_code,
            "duplicateKeys": self.duplicate_keys,
            "duplicateItems": self.duplicate_items,
            "duplicateExamples": self.duplicate_examples,
            "emptySetsOmitted": self.empty_sets_omitted,
            "parts": self.parts.len(),
            "uncompressedBytes": self.uncompressed_bytes,
            "storedBytes": self.stored_bytes,
            "elapsedSeconds": (self.elapsed_s * 1000.0).round() / 1000.0,
            "rowsPerSecond": rate,
            "failedRow": self.failed_row,
            "keySchema": self.key_schema.as_ref().map(KeySchema::to_manifest),
            "warnings": self.warnings,
            "entities": self.entities,
            "exitCode": self.exit_code(),
        })
    }
}

/// A batch after encoding, ready for the writer.
struct Chunk {
    source: usize,
    first_row: u64,
    rows: u64,
    input_bytes: u64,
    encoded: Encoded,
    /// Reject lines (JSON) in row order, with their rule codes.
    rejects: Vec<(&'static str, String)>,
}

/// The names prep writes in OUT; with `--force` they are replaced.
const OUR_FILES: &[&str] = &[
    crate::model::files::MANIFEST_FILES,
    crate::model::files::MANIFEST_SUMMARY,
    crate::model::files::IMPORT_TABLE,
    crate::model::files::REJECTS,
    crate::model::files::DUPLICATES,
    ".prep-upload.json",
];

/// The advisory lock file a run holds in OUT from start to end (it stays, empty, afterwards).
pub const LOCK_FILE: &str = ".prep-lock";

/// A path made absolute with its existing part resolved (symlinks, `..`), the rest appended.
fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(c, |acc: PathBuf, r| acc.join(r));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// OUT may not be an input folder or lie inside one (the run would read its own output, and
/// `--force` would delete it), and no input may lie inside OUT; the same for S3 prefixes.
fn check_out_apart_from_inputs(out: &Destination, inputs: &[String]) -> Result<()> {
    let out = match out {
        Destination::Folder(p) => p,
        Destination::S3(d) => {
            let url = d.url();
            for arg in inputs.iter().filter(|a| input::s3::is_s3(a)) {
                // The part of the argument before any wildcard: what it may list.
                let fixed = &arg[..arg.find(['*', '?', '[']).unwrap_or(arg.len())];
                if url.starts_with(fixed) {
                    bail!("--out {url} is inside the input {arg}: the run would read its own output; choose an OUT outside the inputs");
                }
                if fixed.starts_with(&url) {
                    bail!("input {arg} is inside --out {url}, which the run writes (and with --force clears); choose another OUT");
                }
            }
            return Ok(());
        }
    };
    let out_r = resolved(out);
    for arg in inputs {
        let p = Path::new(arg);
        if input::s3::is_s3(arg) || !p.exists() {
            continue;
        }
        let input = resolved(p);
        if p.is_dir() && out_r.starts_with(&input) {
            bail!(
                "--out {} is inside the input folder {arg}: the run would read its own output; choose an OUT outside the inputs",
                out.display()
            );
        }
        if input.starts_with(&out_r) {
            bail!(
                "input {arg} is inside --out {}, which the run writes (and with --force clears); choose another OUT",
                out.display()
            );
        }
    }
    Ok(())
}

/// Make OUT ready and lock it for this run: a second run into the same OUT is refused while
/// this one holds the lock, so neither can clear or overwrite the other's files.
fn prepare_out(out: &Path, force: bool, shard: Option<shard::Shard>) -> Result<std::fs::File> {
    if out.exists() && !out.is_dir() {
        bail!("--out {} exists and is not a directory", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let lock = lock_folder(out, &lock_name(shard))?;
    if let Some(s) = shard {
        return claim_for_shard(out, force, s).map(|()| lock);
    }
    {
        let non_empty = std::fs::read_dir(out)
            .with_context(|| format!("cannot read {}", out.display()))?
            .filter_map(|e| e.ok())
            .any(|e| !e.file_name().to_string_lossy().starts_with(LOCK_FILE));
        if non_empty && !force {
            bail!(
                "--out {} is not empty; choose a new folder or pass --force to replace prep's files in it",
                out.display()
            );
        }
        if non_empty {
            for dir in ["data", shard::SHARDS_DIR] {
                let dir = out.join(dir);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)
                        .with_context(|| format!("cannot remove {}", dir.display()))?;
                }
            }
            for f in OUR_FILES {
                let p = out.join(f);
                if p.exists() {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("cannot remove {}", p.display()))?;
                }
            }
        }
    }
    Ok(lock)
}

/// What a run holds on its output until its end, so that a second run into it is refused.
#[allow(dead_code)] // held for its Drop
enum Held {
    Folder(std::fs::File),
    S3(crate::output::s3::S3Lock),
}

/// Lock `name` in the folder `out` for this run (an advisory lock, released when the file is
/// closed): a second run into the same folder is refused while this one holds it.
fn lock_folder(out: &Path, name: &str) -> Result<std::fs::File> {
    let lock_path = out.join(name);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "--out {} is in use by another prep run (it holds {}); wait for it to finish or choose another OUT",
            out.display(),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
    Ok(lock)
}

/// The lock file a run holds in its output: one per shard, so that the shards of one
/// conversion can write into one folder at once.
fn lock_name(shard: Option<shard::Shard>) -> String {
    match shard {
        None => LOCK_FILE.to_string(),
        Some(s) => format!("{LOCK_FILE}.{}", s.tag()),
    }
}

/// Whether `name` (relative to the output's root) is in the way of this run: for a whole run
/// anything prep writes; for a shard, its own parts and reports, and a merged output's
/// manifests (which its new parts would make stale).
fn in_the_way(name: &str, shard: Option<shard::Shard>) -> bool {
    let manifest = crate::model::files::PREP_FILES.contains(&name);
    match shard {
        None => manifest || name.starts_with("data/") || name.starts_with("shards/"),
        Some(s) => manifest || s.owns(name),
    }
}

/// A shard's claim on a local output folder that other shards write into too.
fn claim_for_shard(out: &Path, force: bool, s: shard::Shard) -> Result<()> {
    let mut there = Vec::new();
    for dir in ["", "data", shard::SHARDS_DIR] {
        let Ok(entries) = std::fs::read_dir(out.join(dir)) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if e.path().is_file() && in_the_way(&rel, Some(s)) {
                there.push(rel);
            }
        }
    }
    if there.is_empty() {
        return Ok(());
    }
    if !force {
        there.sort();
        bail!(
            "--out {} already holds this shard's output or a merged output ({}); choose a new folder, or pass --force to replace them",
            out.display(),
            there.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    for rel in there {
        let p = out.join(&rel);
        std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
    }
    Ok(())
}

/// The store the run writes into, made ready (locked for the run, then checked) and the lock
/// it holds until its end.
fn open_store(opts: &ConvertOptions) -> Result<(Arc<dyn OutputStore>, Held)> {
    Ok(match &opts.out {
        Destination::Folder(out) => {
            let lock = prepare_out(out, opts.force, opts.shard)?;
            // shards/ holds a shard's reports and keys: a whole run has none.
            let dirs: &[&str] = match opts.shard {
                Some(_) => &["data", shard::SHARDS_DIR],
                None => &["data"],
            };
            for dir in dirs {
                std::fs::create_dir_all(out.join(dir))
                    .with_context(|| format!("cannot create {}", out.join(dir).display()))?;
            }
            (Arc::new(LocalFolder::new(out)), Held::Folder(lock))
        }
        Destination::S3(d) => {
            let store = S3Prefix::connect(&opts.aws, d.clone(), opts.observer.clone())?;
            let lock = store.lock(opts.force, &lock_name(opts.shard))?;
            store.prepare(opts.force, &|name| in_the_way(name, opts.shard))?;
            (Arc::new(store), Held::S3(lock))
        }
    })
}

/// Check that every input has the columns (and column types) of the first.
fn check_schemas(sources: &[Source], schemas: &[arrow_schema::SchemaRef]) -> Result<()> {
    let first = &schemas[0];
    for (src, s) in sources.iter().zip(schemas).skip(1) {
        for f in first.fields() {
            match s.field_with_name(f.name()) {
                Ok(g) if g.data_type().equals_datatype(f.data_type()) => {}
                Ok(g) => bail!(
                    "{}: column {:?} is {} here but {} in {}; inputs must have compatible schemas",
                    src.display(),
                    f.name(),
                    g.data_type(),
                    f.data_type(),
                    sources[0].display()
                ),
                Err(_) => bail!(
                    "{}: column {:?} (present in {}) is missing; inputs must have the same columns",
                    src.display(),
                    f.name(),
                    sources[0].display()
                ),
            }
        }
        for g in s.fields() {
            if first.field_with_name(g.name()).is_err() {
                bail!(
                    "{}: column {:?} is not in {}; inputs must have the same columns",
                    src.display(),
                    g.name(),
                    sources[0].display()
                );
            }
        }
    }
    Ok(())
}

/// How batches become items: Arrow columns through the plan (shaped first when the run
/// computes or selects attributes), or item lines re-parsed.
pub enum Encoding {
    Columns {
        plan: Plan,
        shaper: Option<Box<Shaper>>,
    },
    Lines(Vec<(String, KeyCheck)>),
}

/// The encoding of table inputs with columns `schema` under `opts`: the shaping step (if the
/// options ask for one) and the plan of its output. `inferred`: CSV inference per source column.
pub(crate) fn column_encoding(
    schema: &arrow_schema::Schema,
    opts: &ConvertOptions,
    g: &Group,
    inferred: Option<&[Target]>,
) -> Result<Encoding> {
    let (shape, user_overrides) = (g.shape, g.overrides);
    let eo = EncodeOptions {
        timestamps: opts.timestamps,
    };
    // An entity type of a map whose items lack a GSI's key attributes is not in that index (a
    // sparse index, as single-table designs use them): its plan leaves the index out.
    let keys_for = |columns: &arrow_schema::Schema| -> KeySchema {
        let mut keys = opts.keys.clone();
        if g.name.is_some() {
            keys.gsis
                .retain(|x| x.attributes().all(|a| columns.index_of(&a.name).is_ok()));
        }
        keys
    };
    if shape.is_empty() {
        let plan = Plan::new(schema, user_overrides, inferred, &keys_for(schema), eo)?;
        return Ok(Encoding::Columns { plan, shaper: None });
    }
    let numeric = |c: &str| match user_overrides.iter().rev().find(|(n, _)| n == c) {
        Some((_, t)) => *t == Target::N,
        None => schema
            .index_of(c)
            .ok()
            .and_then(|i| inferred.and_then(|inf| inf.get(i)))
            .is_some_and(|t| *t == Target::N),
    };
    let shaper = Shaper::new(shape, schema, &opts.keys, &numeric)?;
    let out = shaper.schema();
    let inferred: Option<Vec<Target>> = inferred.map(|inf| {
        (0..out.fields().len())
            .map(|k| match shaper.source_of(k) {
                Some(i) => inf.get(i).cloned().unwrap_or(Target::Auto),
                None => Target::Auto,
            })
            .collect()
    });
    let mut overrides: Vec<(String, Target)> = shaper
        .number_attributes
        .iter()
        .map(|n| (n.clone(), Target::N))
        .collect();
    overrides.extend(user_overrides.iter().cloned());
    let plan = Plan::new(out, &overrides, inferred.as_deref(), &keys_for(out), eo)?;
    Ok(Encoding::Columns {
        plan,
        shaper: Some(Box::new(shaper)),
    })
}

/// Shape batch `b` (computed attributes, selected and renamed columns): rows shaping rejects
/// join the reader's rejects, with the values they were read with.
fn shape_batch(mut b: Batch, shaper: &Shaper) -> Result<Batch> {
    let (rows, problems) = shaper.apply(&b.rows)?;
    if !problems.is_empty() {
        let already: std::collections::HashSet<usize> =
            b.pre_rejects.iter().map(|r| r.index).collect();
        for p in problems {
            if already.contains(&p.index) {
                continue;
            }
            b.pre_rejects.push(input::PreReject {
                index: p.index,
                rule: p.rule,
                message: p.message,
                values: plain::row(&b.rows, p.index),
            });
        }
        b.pre_rejects.sort_by_key(|r| r.index);
    }
    b.rows = rows;
    Ok(b)
}

fn encode_chunk(
    b: Batch,
    encoding: &Encoding,
    (format, source, entity): (Format, &str, Option<&str>),
    syn: Syntax,
    nulls: Nulls,
    w: &mut ItemWriter,
) -> Result<Chunk> {
    let b = match encoding {
        Encoding::Columns {
            shaper: Some(s), ..
        } => shape_batch(b, s).with_context(|| source.to_string())?,
        _ => b,
    };
    let mut lines_enc = None;
    let encoded = match (encoding, format) {
        (Encoding::Lines(keys), Format::Items(format)) => {
            let enc = LinesEncoder {
                format,
                keys: keys.clone(),
                syn,
            };
            let skip: Vec<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
            let e = enc.encode(b.rows.column(0).as_binary::<i32>(), &skip, w);
            lines_enc = Some(enc);
            e
        }
        (Encoding::Columns { plan, .. }, _) => {
            let enc =
                ItemEncoder::new(plan, &b.rows, syn, nulls).with_context(|| source.to_string())?;
            let skip: Vec<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
            enc.encode(b.rows.num_rows(), &skip, w)
        }
        _ => bail!("{source}: mixed item and table inputs"),
    };
    let row_values = |i: usize| match &lines_enc {
        Some(enc) => enc.reject_values(b.rows.column(0).as_binary::<i32>().value(i)),
        None => plain::row(&b.rows, i),
    };
    // Merge the reader's rejects and the encoder's, in row order.
    let mut all: Vec<(
        usize,
        &'static crate::model::rules::Rule,
        String,
        Option<Value>,
    )> = b
        .pre_rejects
        .into_iter()
        .map(|r| (r.index, r.rule, r.message, Some(r.values)))
        .collect();
    all.extend(
        encoded
            .rejects
            .iter()
            .map(|r| (r.index, r.rule, r.message.clone(), None)),
    );
    all.sort_by_key(|r| r.0);
    let rejects = all
        .into_iter()
        .map(|(i, rule, message, values)| {
            let mut line = serde_json::Map::new();
            line.insert("source".into(), json!(source));
            if let Some(e) = entity {
                line.insert("entity".into(), json!(e));
            }
            line.insert("row".into(), json!(b.first_row + i as u64 + 1));
            if let Some(lines) = &b.lines {
                line.insert("line".into(), json!(lines[i]));
            }
            line.insert("code".into(), json!(rule.code));
            line.insert("rule".into(), json!(rule.name));
            line.insert("message".into(), json!(message));
            line.insert("values".into(), values.unwrap_or_else(|| row_values(i)));
            (rule.code, Value::Object(line).to_string())
        })
        .collect();
    Ok(Chunk {
        source: b.source,
        first_row: b.first_row,
        rows: b.rows.num_rows() as u64,
        input_bytes: b.input_bytes,
        encoded,
        rejects,
    })
}

/// The writer thread's state.
struct Writer {
    store: Arc<dyn OutputStore>,
    parts: PartWriter,
    dups: Option<DupIndex>,
    rejects: Option<SideFile>,
    /// Where rejects go: `rejects.jsonl`, or a shard's own file.
    rejects_name: String,
    duplicates: Option<SideFile>,
    /// A shard's record of its items' keys (hash, source, row, key), for `prep merge`.
    key_file: Option<SideFile>,
    report: Report,
    rows_by_source: Vec<u64>,
    source_names: Vec<String>,
    key_names: Vec<String>,
    on_error: OnError,
    /// Written batches whose bytes a part's SHA-256 thread or MD5 lane may still hold; each
    /// goes back to the encoders once nothing else does.
    in_flight: Vec<Arc<Vec<u8>>>,
    recycled: Recycled,
    /// A map's runs: the entity types in order, and each source's index among them (a plain
    /// run has no entity types).
    entity_names: Vec<String>,
    group_of: Vec<usize>,
    items_by_source: Vec<u64>,
    rejects_by_source: Vec<u64>,
    cancel: crate::pipeline::Cancel,
}

/// The entity type of source `source` in a map's run (`names` of the entity types, `group_of`
/// each source's index among them).
fn entity_of<'a>(names: &'a [String], group_of: &[usize], source: usize) -> Option<&'a str> {
    names.get(*group_of.get(source)?).map(String::as_str)
}

impl Writer {
    /// The writer of a run into `store`, over inputs named `source_names`.
    fn new(
        opts: &ConvertOptions,
        store: &Arc<dyn OutputStore>,
        keys: &KeySchema,
        source_names: Vec<String>,
        threads: usize,
        recycled: Recycled,
    ) -> Result<Writer> {
        let level = opts.level.unwrap_or(match opts.compression {
            Compression::Zstd => 1,
            Compression::Gzip => 6,
            Compression::None => 0,
        });
        let mut parts = PartWriter::to_store(
            store.clone(),
            opts.syntax.extension(),
            opts.compression,
            level,
            opts.part_size,
        )?;
        parts.zstd_workers = threads.clamp(1, 8) as u32;
        if let Some(s) = opts.shard {
            parts.name_prefix = s.part_prefix();
        }
        let mut key_names = vec![keys.partition.name.clone()];
        key_names.extend(keys.sort.as_ref().map(|s| s.name.clone()));
        Ok(Writer {
            in_flight: Vec::new(),
            recycled,
            store: store.clone(),
            parts,
            // A shard leaves duplicate detection to `prep merge`: it records its keys instead.
            dups: (opts.duplicates != DupMode::Off && opts.shard.is_none()).then(DupIndex::new),
            key_file: match opts.shard {
                Some(s) if opts.duplicates != DupMode::Off => {
                    Some(SideFile::create(&**store, &s.keys_name())?)
                }
                _ => None,
            },
            rejects_name: match opts.shard {
                Some(s) => s.rejects_name(),
                None => crate::model::files::REJECTS.into(),
            },
            rejects: None,
            duplicates: None,
            report: Report {
                out: opts.out.display(),
                facts: Some(output::OutputFacts::of(opts, keys)),
                shard: opts.shard,
                dup_mode_error: opts.duplicates == DupMode::Error,
                ..Report::default()
            },
            rows_by_source: vec![0; source_names.len()],
            cancel: opts.cancel.clone(),
            items_by_source: vec![0; source_names.len()],
            rejects_by_source: vec![0; source_names.len()],
            entity_names: Vec::new(),
            group_of: Vec::new(),
            source_names,
            key_names,
            on_error: opts.on_error,
        })
    }

    /// Give back the batches that the parts have finished with.
    fn recycle(&mut self) {
        let mut k = 0;
        while k < self.in_flight.len() {
            if Arc::strong_count(&self.in_flight[k]) == 1 {
                if let Ok(buf) = Arc::try_unwrap(self.in_flight.swap_remove(k)) {
                    self.recycled.give(buf);
                }
            } else {
                k += 1;
            }
        }
    }

    fn take(&mut self, mut c: Chunk) -> Result<bool> {
        if self.cancel.is_cancelled() {
            return Err(crate::pipeline::Interrupted.into());
        }
        self.report.rows_read += c.rows;
        self.rows_by_source[c.source] += c.rows;
        self.report.empty_sets_omitted += c.encoded.empty_sets;
        if !c.rejects.is_empty() {
            if self.on_error == OnError::Fail {
                self.report.failed_row = Some(c.rejects[0].1.clone());
                self.report.rows_rejected += 1;
                return Ok(false);
            }
            if self.rejects.is_none() {
                self.rejects = Some(SideFile::create(&*self.store, &self.rejects_name)?);
            }
            let f = self.rejects.as_mut().expect("opened");
            for (code, line) in &c.rejects {
                f.line(line.as_bytes())?;
                *self.report.rejects_by_code.entry(code).or_default() += 1;
            }
            self.report.rows_rejected += c.rejects.len() as u64;
            self.rejects_by_source[c.source] += c.rejects.len() as u64;
        }
        let e = &c.encoded;
        if let Some(d) = self.dups.as_mut() {
            for k in 0..e.rows.len() {
                let row = c.first_row + e.rows[k] as u64 + 1;
                if let Some(first) =
                    d.insert_in_batch(&e.keys.hashes, k, e.keys.get(k), c.source as u32, row)
                {
                    let key = key_json(&self.key_names, e.keys.get(k));
                    let at = |source: usize, row: u64| match entity_of(
                        &self.entity_names,
                        &self.group_of,
                        source,
                    ) {
                        Some(e) => format!("{e} {}:{row}", self.source_names[source]),
                        None => format!("{}:{row}", self.source_names[source]),
                    };
                    let first_at = at(first.source as usize, first.row);
                    let dup_at = at(c.source, row);
                    if self.report.duplicate_examples.len() < 5 {
                        self.report
                            .duplicate_examples
                            .push(format!("{key} at {first_at} and {dup_at}"));
                    }
                    if self.duplicates.is_none() {
                        self.duplicates = Some(SideFile::create(
                            &*self.store,
                            crate::model::files::DUPLICATES,
                        )?);
                    }
                    let mut line = json!({
                        "key": key,
                        "first": {"source": self.source_names[first.source as usize], "row": first.row},
                        "duplicate": {"source": self.source_names[c.source], "row": row},
                        "occurrence": first.seen,
                    });
                    if let (Some(a), Some(b)) = (
                        entity_of(&self.entity_names, &self.group_of, first.source as usize),
                        entity_of(&self.entity_names, &self.group_of, c.source),
                    ) {
                        line["first"]["entity"] = json!(a);
                        line["duplicate"]["entity"] = json!(b);
                    }
                    let f = self.duplicates.as_mut().expect("opened");
                    f.line(line.to_string().as_bytes())?;
                }
            }
        }
        if let Some(f) = self.key_file.as_mut() {
            let mut buf = Vec::with_capacity(e.rows.len() * 48);
            for k in 0..e.rows.len() {
                let row = c.first_row + e.rows[k] as u64 + 1;
                let key = e.keys.get(k);
                shard::KeyRecord::write(e.keys.hashes[k], c.source as u32, row, key, &mut buf);
            }
            f.bytes(&buf)?;
        }
        // The part's SHA-256 thread keeps the batch until it has caught up; no copy is made.
        let buf = Arc::new(std::mem::take(&mut c.encoded.buf));
        self.parts.write_shared_items(&buf, &c.encoded.ends)?;
        self.in_flight.push(buf);
        self.recycle();
        self.report.items_written += c.encoded.ends.len() as u64;
        self.items_by_source[c.source] += c.encoded.ends.len() as u64;
        Ok(true)
    }

    fn finish(mut self) -> Result<(Report, Vec<u64>)> {
        if self.cancel.is_cancelled() {
            self.parts.abandon();
            return Err(crate::pipeline::Interrupted.into());
        }
        self.parts.close()?;
        for f in [
            self.rejects.take(),
            self.duplicates.take(),
            self.key_file.take(),
        ]
        .into_iter()
        .flatten()
        {
            f.commit()?;
        }
        if let Some(d) = &self.dups {
            self.report.duplicate_keys = d.keys_with_duplicates;
            self.report.duplicate_items = d.extra_items;
        }
        self.report.entities = self
            .entity_names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let mut e = EntityCounts {
                    name: name.clone(),
                    ..EntityCounts::default()
                };
                for i in (0..self.group_of.len()).filter(|&i| self.group_of[i] == k) {
                    e.rows_read += self.rows_by_source[i];
                    e.items_written += self.items_by_source[i];
                    e.rows_rejected += self.rejects_by_source[i];
                }
                e
            })
            .collect();
        self.report.parts = std::mem::take(&mut self.parts.parts);
        self.report.uncompressed_bytes = self.report.parts.iter().map(|p| p.uncompressed).sum();
        self.report.stored_bytes = self.report.parts.iter().map(|p| p.stored).sum();
        Ok((self.report, self.rows_by_source))
    }
}

/// A shard's report, last: what `prep merge` needs to write the manifests of the whole run.
fn write_shard_report(
    store: &dyn OutputStore,
    opts: &ConvertOptions,
    s: shard::Shard,
    facts: output::OutputFacts,
    inputs: Vec<output::InputRecord>,
    keys: &KeySchema,
    report: &Report,
) -> Result<()> {
    let r = shard::ShardReport {
        tool: "prep".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        shard: s,
        settings: shard::Settings {
            facts,
            key_schema: keys.to_manifest(),
            duplicates: format!("{:?}", opts.duplicates).to_ascii_lowercase(),
            part_size: opts.part_size,
            nulls: format!("{:?}", opts.nulls),
            timestamps: format!("{:?}", opts.timestamps),
            shaping: shaping_text(opts),
        },
        inputs,
        parts: report.parts.clone(),
        rows_read: report.rows_read,
        items_written: report.items_written,
        rows_rejected: report.rows_rejected,
        rejects_by_code: report
            .rejects_by_code
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect(),
        empty_sets_omitted: report.empty_sets_omitted,
        warnings: report.warnings.clone(),
        rejects_file: (report.rows_rejected > 0).then(|| s.rejects_name()),
        keys_file: (opts.duplicates != DupMode::Off).then(|| s.keys_name()),
        entities: report.entities.clone(),
    };
    let body = serde_json::to_vec_pretty(&r)?;
    Ok(store.put(&s.report_name(), &body)?)
}

/// The run's shaping as text for a shard's settings (empty when rows are not shaped).
fn shaping_text(opts: &ConvertOptions) -> String {
    let mut parts = Vec::new();
    if !opts.shape.is_empty() {
        parts.push(format!("{:?}", opts.shape));
    }
    for e in &opts.entities {
        parts.push(format!(
            "{}: {:?} {:?} {:?}",
            e.name, e.inputs, e.shape, e.overrides
        ));
    }
    parts.join("; ")
}

/// rejects.jsonl or duplicates.jsonl: lines gathered and handed to the store in large writes.
struct SideFile {
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
    fn create(store: &dyn OutputStore, name: &str) -> Result<SideFile> {
        let sink = store.create_file(name)?;
        Ok(SideFile {
            out: BufWriter::with_capacity(256 << 10, SinkWriter(sink)),
            name: store.display(name),
        })
    }

    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .with_context(|| format!("cannot write {}", self.name))
    }

    fn line(&mut self, line: &[u8]) -> Result<()> {
        self.out
            .write_all(line)
            .and_then(|()| self.out.write_all(b"\n"))
            .with_context(|| format!("cannot write {}", self.name))
    }

    fn commit(self) -> Result<()> {
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

/// A primary key from the arena as plain JSON: `{"pk":"a","sk":"1"}` (B as base64).
fn key_json(names: &[String], key: &[u8]) -> Value {
    let mut m = serde_json::Map::new();
    for (name, (ty, bytes)) in names.iter().zip(split_key(key)) {
        let v = if ty == b'B' {
            let mut o = Vec::new();
            crate::encoding::base64_into(bytes, &mut o);
            String::from_utf8_lossy(&o).into_owned()
        } else {
            String::from_utf8_lossy(bytes).into_owned()
        };
        m.insert(name.clone(), Value::String(v));
    }
    Value::Object(m)
}

/// The inputs, in the order given: local files, folders and globs, and S3 objects, prefixes and
/// globs (`s3://…`), each told apart by its own bytes.
fn discover_sources(inputs: &[String], aws: &crate::aws::AwsOptions) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    let mut s3: Option<input::s3::S3Inputs> = None;
    let mut local: Vec<String> = Vec::new();
    let flush = |local: &mut Vec<String>, sources: &mut Vec<Source>| -> Result<()> {
        if !local.is_empty() {
            for f in input::discover(local)? {
                sources.push(input::detect(&f)?);
            }
            local.clear();
        }
        Ok(())
    };
    for arg in inputs {
        if !input::s3::is_s3(arg) {
            local.push(arg.clone());
            continue;
        }
        flush(&mut local, &mut sources)?;
        if s3.is_none() {
            s3 = Some(input::s3::S3Inputs::new(aws)?.digesting_reads());
        }
        for o in s3.as_ref().expect("just set").discover(arg)? {
            sources.push(input::detect_object(Arc::new(o), None)?);
        }
    }
    flush(&mut local, &mut sources)?;
    Ok(sources)
}

/// How an input's SHA-256 for the manifest is taken.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum InputDigest {
    /// Not here (a shard that does not own the input's first unit).
    None,
    /// Read whole once more beside the conversion (local files; a remote input a shard reads
    /// part of).
    Whole,
    /// From the bytes the conversion reads ([`crate::input::source::InputObject::sha256_of_reads`]).
    Reads,
}

/// Inputs converted alike: all of a plain run's, or one entity type's of a map.
pub(crate) struct Group<'a> {
    name: Option<&'a str>,
    inputs: &'a [String],
    shape: &'a Shape,
    overrides: &'a [(String, Target)],
}

fn groups(opts: &ConvertOptions) -> Vec<Group<'_>> {
    if opts.entities.is_empty() {
        return vec![Group {
            name: None,
            inputs: &opts.inputs,
            shape: &opts.shape,
            overrides: &opts.overrides,
        }];
    }
    opts.entities
        .iter()
        .map(|e| Group {
            name: Some(&e.name),
            inputs: &e.inputs,
            shape: &e.shape,
            overrides: &e.overrides,
        })
        .collect()
}

/// CSV type inference over the first of `sources` (when every one is CSV and inference is on).
fn csv_inference(sources: &[Source], opts: &ConvertOptions) -> Result<Option<Vec<Target>>> {
    Ok(match sources.first() {
        Some(s) if opts.csv_infer && sources.iter().all(|s| s.format == Format::Csv) => Some(
            input::csv::infer(s, &opts.read.csv)?
                .into_iter()
                .map(|g| match g {
                    input::csv::Guess::S => Target::S,
                    input::csv::Guess::N => Target::N,
                    input::csv::Guess::Bool => Target::Bool,
                })
                .collect(),
        ),
        _ => None,
    })
}

/// What a run converts: its sources, the group (entity) of each, the groups' names (empty for
/// a plain run) and encodings.
struct Run<'a> {
    sources: &'a [Source],
    group_of: &'a [usize],
    entities: &'a [String],
    encodings: &'a [Encoding],
}

impl Run<'_> {
    fn entity_of(&self, source: usize) -> Option<&str> {
        entity_of(self.entities, self.group_of, source)
    }
}

/// Run a conversion. Errors are "could not run" (exit 2); row problems are in the report.
pub fn run(opts: &ConvertOptions) -> Result<Report> {
    let started = Instant::now();
    opts.keys.check_consistent()?;
    let groups = groups(opts);
    let all_inputs: Vec<String> = groups
        .iter()
        .flat_map(|g| g.inputs.iter().cloned())
        .collect();
    check_out_apart_from_inputs(&opts.out, &all_inputs)?;
    // The sources of every group, in order, and the group each belongs to.
    let mut sources = Vec::new();
    let mut group_of = Vec::new();
    for (k, g) in groups.iter().enumerate() {
        let found = discover_sources(g.inputs, &opts.aws).map_err(|e| match g.name {
            Some(n) => e.context(format!("[entity.{n}]")),
            None => e,
        })?;
        if found.is_empty() {
            match g.name {
                Some(n) => bail!("[entity.{n}]: no input files (inputs = {:?})", g.inputs),
                None => bail!("no input files"),
            }
        }
        group_of.extend(std::iter::repeat_n(k, found.len()));
        sources.extend(found);
    }
    let mut schemas = Vec::with_capacity(sources.len());
    let mut units = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let o = input::open(s, i, &opts.read)?;
        schemas.push(o.schema);
        units.extend(o.units);
    }
    // A shard converts its units only, and hashes the inputs whose first unit is its own.
    let mut hashed_here = vec![true; sources.len()];
    let mut whole_here = vec![true; sources.len()];
    if let Some(s) = opts.shard {
        let mine = s.selects(&units);
        let mut first_seen = vec![false; sources.len()];
        for (u, &m) in units.iter().zip(&mine) {
            if !first_seen[u.source] {
                first_seen[u.source] = true;
                hashed_here[u.source] = m;
            }
            whole_here[u.source] &= m;
        }
        units = units
            .into_iter()
            .zip(mine)
            .filter_map(|(u, m)| m.then_some(u))
            .collect();
    }
    let digests: Vec<InputDigest> = sources
        .iter()
        .zip(hashed_here.iter().zip(&whole_here))
        .map(|(s, (&ours, &whole))| {
            let how = match (ours, s.local_path().is_some(), whole) {
                (false, _, _) => InputDigest::None,
                (true, true, _) => InputDigest::Whole,
                (true, false, true) => InputDigest::Reads,
                (true, false, false) => InputDigest::Whole,
            };
            if let Some(d) = s.object.read_digest() {
                match how {
                    InputDigest::Reads => d.hand_off(),
                    _ => d.stop(),
                }
            }
            how
        })
        .collect();
    let item_inputs = sources
        .iter()
        .filter(|s| matches!(s.format, Format::Items(_)))
        .count();
    // The key schema with every key's type resolved (from the data where none was declared).
    let (encodings, keys) = if item_inputs == 0 {
        let mut encodings = Vec::with_capacity(groups.len());
        let mut resolved: Vec<(crate::model::keys::KeyAttr, Option<&str>)> = Vec::new();
        for (k, g) in groups.iter().enumerate() {
            let of_group: Vec<usize> = (0..sources.len()).filter(|&i| group_of[i] == k).collect();
            let srcs: Vec<Source> = of_group.iter().map(|&i| sources[i].clone()).collect();
            let scms: Vec<_> = of_group.iter().map(|&i| schemas[i].clone()).collect();
            let in_entity = |e: anyhow::Error| match g.name {
                Some(n) => e.context(format!("[entity.{n}]")),
                None => e,
            };
            check_schemas(&srcs, &scms).map_err(in_entity)?;
            let inferred = csv_inference(&srcs, opts).map_err(in_entity)?;
            let encoding =
                column_encoding(&scms[0], opts, g, inferred.as_deref()).map_err(in_entity)?;
            let Encoding::Columns { plan, .. } = &encoding else {
                unreachable!("column_encoding gives columns")
            };
            // Every key attribute's type, as the groups resolve it: one type per attribute.
            for (attr, _) in plan.keys.key_attributes() {
                match resolved.iter().find(|(a, _)| a.name == attr.name) {
                    None => resolved.push((attr.clone(), g.name)),
                    Some((first, first_name)) if first.ty != attr.ty => bail!(
                        "key attribute {} is {} in [entity.{}] but {} in [entity.{}]: one table has one type per key attribute; declare it in [table] (e.g. \"{}:S\") and give the other entity that type (types = {{ column = \"S\" }}, or a template)",
                        attr.name,
                        first.ty_str(),
                        first_name.unwrap_or("?"),
                        attr.ty_str(),
                        g.name.unwrap_or("?"),
                        attr.name
                    ),
                    Some(_) => {}
                }
            }
            encodings.push(encoding);
        }
        let mut keys = opts.keys.clone();
        for (attr, _) in &resolved {
            keys.set_type(&attr.name, attr.ty.expect("resolved by a plan"));
        }
        if let Some((a, _)) = keys.key_attributes().iter().find(|(a, _)| a.ty.is_none()) {
            bail!(
                "no entity type has the index key attribute {:?}, so its type is unknown: declare it in [table] gsi (e.g. \"{}:S\")",
                a.name,
                a.name
            );
        }
        (encodings, keys)
    } else {
        if item_inputs < sources.len() {
            let (a, b) = (
                sources
                    .iter()
                    .find(|s| matches!(s.format, Format::Items(_)))
                    .unwrap(),
                sources
                    .iter()
                    .find(|s| !matches!(s.format, Format::Items(_)))
                    .unwrap(),
            );
            bail!(
                "cannot convert DynamoDB JSON/Ion items ({}) together with table inputs ({}) in one run",
                a.display(),
                b.display()
            );
        }
        if !opts.shape.is_empty() || !opts.entities.is_empty() {
            bail!("--set, --ttl, --select, --drop, --rename, key templates and map files apply to CSV, Parquet and Arrow inputs; DynamoDB JSON and Ion items are converted as they are");
        }
        if let Some((col, _)) = opts.overrides.first() {
            bail!("--type {col}=…: DynamoDB JSON and Ion inputs carry their own types; --type applies to CSV, Parquet and Arrow inputs");
        }
        let (checks, keys) = item_key_checks(&sources, &opts.keys, None)?;
        (vec![Encoding::Lines(checks)], keys)
    };
    let (store, _lock) = open_store(opts)?;
    let entities: Vec<String> = groups
        .iter()
        .filter_map(|g| g.name.map(str::to_string))
        .collect();
    let run = Run {
        sources: &sources,
        group_of: &group_of,
        entities: &entities,
        encodings: &encodings,
    };
    let result = convert(opts, &store, &run, units, &digests, &keys, started);
    match result {
        Ok(mut report) => {
            if report.failed_row.is_some() {
                store.discard();
            }
            report.warnings = input_warnings(&sources);
            for (e, g) in encodings.iter().zip(&groups) {
                if let Encoding::Columns {
                    shaper: Some(s), ..
                } = e
                {
                    report
                        .warnings
                        .extend(s.warnings.iter().map(|w| match g.name {
                            Some(n) => format!("[entity.{n}] {w}"),
                            None => w.clone(),
                        }));
                }
            }
            if report.items_written == 0 && report.failed_row.is_none() {
                report.warnings.push(
                    "no items were written: the output has no parts, and an import of it would create an empty table".into(),
                );
            }
            report.key_schema = Some(keys);
            Ok(report)
        }
        Err(e) => {
            store.discard();
            Err(e)
        }
    }
}

/// What the inputs' shape says beyond their rows: an Arrow IPC stream that ends without its
/// end-of-stream marker (cut short? its batches before the cut were converted), an empty item
/// file.
fn input_warnings(sources: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sources {
        if s.guessed {
            out.push(format!(
                "{}: its name has no data extension, so its format was told from its content: read as {}{}",
                s.display(),
                match s.format {
                    Format::Csv => "CSV",
                    Format::Items(LineFormat::DynamodbJson) => "DynamoDB JSON item lines",
                    Format::Items(LineFormat::Ion) => "Ion item lines",
                    _ => "its format",
                },
                if s.format == Format::Csv {
                    " (check the columns; a file that is no data is refused when its extension says so)"
                } else {
                    ""
                }
            ));
        }
        match s.format {
            Format::ArrowStream => {
                let tail = s
                    .object
                    .read_range(s.size.saturating_sub(8), 8)
                    .unwrap_or_default();
                // The marker: 0xFFFFFFFF then a zero length. (Streams before format 0.15 ended
                // in four zero bytes, which a batch's padding also ends in: those warn too.)
                let marked = tail.ends_with(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
                if !marked {
                    out.push(format!(
                        "{}: the Arrow IPC stream has no end-of-stream marker; it may have been cut short (the batches before the cut were converted)",
                        s.display()
                    ));
                }
            }
            Format::Items(_) if s.size == 0 => {
                out.push(format!("{}: the file is empty (no items)", s.display()));
            }
            _ => {}
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn convert(
    opts: &ConvertOptions,
    store: &Arc<dyn OutputStore>,
    run: &Run,
    units: Vec<Unit>,
    digests: &[InputDigest],
    keys: &KeySchema,
    started: Instant,
) -> Result<Report> {
    let sources = run.sources;
    let threads = opts.threads.max(1);
    let pool =
        crate::pipeline::producer_pool(threads).context("cannot start the worker threads")?;
    // Enough idle buffers for the encoders' window and the batches the parts' hash lanes and
    // staging threads hold (about one and a half per lane); a buffer dropped here is
    // allocated again, with fresh pages to fault in, a moment later.
    let recycled = Recycled::new(threads * 4 + 2 * crate::hashing::md5x::LANES);
    let names: Vec<String> = sources.iter().map(Source::display).collect();
    let mut writer = Writer::new(opts, store, keys, names, threads, recycled.clone())?;
    writer.entity_names = run.entities.to_vec();
    writer.group_of = run.group_of.to_vec();
    let total_bytes: u64 = sources.iter().map(|s| s.size).sum();
    opts.observer.begin(Some(total_bytes), "converting");

    // The inputs' SHA-256 (the manifest records them), on a thread beside the conversion:
    // local files read once more (cheap, and in lanes); remote ones from the bytes the
    // conversion reads, each taken as soon as its last unit is read (its gaps filled, the ranges
    // it held let go), or, for a shard that reads only part of one, by reading it whole.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<usize>();
    let jobs: Vec<_> = sources
        .iter()
        .zip(digests)
        .map(|(s, &d)| (s.object.clone(), d))
        .collect();
    let whole_sha256 = |o: &dyn crate::input::source::InputObject| -> Result<String> {
        Ok(crate::input::source::digests(o, false, true)?
            .sha256_hex
            .expect("asked for"))
    };
    let hasher = std::thread::spawn(move || {
        // Reading a local file whole again yields to the conversion; pumping a remote input's
        // digest does not (the readers wait for it once it is 8 MiB behind).
        let mut lowered = false;
        let mut done = vec![false; jobs.len()];
        let mut out = Vec::with_capacity(jobs.len());
        for (i, (o, how)) in jobs.iter().enumerate() {
            out.push(match how {
                InputDigest::None => None,
                InputDigest::Whole => {
                    if !std::mem::replace(&mut lowered, true) {
                        crate::pipeline::lower_priority(crate::pipeline::BACKGROUND_NICE);
                    }
                    Some(whole_sha256(&**o)?)
                }
                InputDigest::Reads => {
                    // Hash its ranges as they come (off the readers' threads) until its last
                    // unit is read.
                    let digest = o.read_digest();
                    let wait = std::time::Duration::from_millis(20);
                    while !done[i] {
                        let told = match &digest {
                            Some(d) => {
                                d.pump(wait);
                                done_rx
                                    .try_recv()
                                    .map_err(|e| e == TryRecvError::Disconnected)
                            }
                            None => done_rx
                                .recv_timeout(wait)
                                .map_err(|e| e == RecvTimeoutError::Disconnected),
                        };
                        match told {
                            Ok(d) => done[d] = true,
                            Err(false) => {}
                            // The conversion stopped before reading it all: taken (if needed)
                            // after the run.
                            Err(true) => break,
                        }
                    }
                    match done[i] {
                        true => o.sha256_of_reads()?,
                        false => None,
                    }
                }
            });
        }
        Ok::<_, anyhow::Error>(out)
    });

    let (tx, rx) = sync_channel::<Chunk>(threads * 2);
    let writer_thread = std::thread::spawn(move || -> Result<(Report, Vec<u64>)> {
        let mut w = writer;
        for c in rx {
            match w.take(c) {
                Ok(true) => {}
                Ok(false) => {
                    w.parts.abandon();
                    break;
                }
                Err(e) => {
                    w.parts.abandon();
                    return Err(e);
                }
            }
        }
        w.finish()
    });

    let mut encode_error = None;
    let reader_nice = if sources.iter().all(|s| s.format == Format::Csv) {
        crate::pipeline::CSV_READER_NICE
    } else {
        crate::pipeline::PRODUCER_NICE
    };
    let mut batches = input::Ahead::new(
        Arc::new(sources.to_vec()),
        Arc::new(opts.read.clone()),
        units,
        input::read_ahead(sources, threads),
    )
    .at_nice(reader_nice)
    .on_source_done(move |i| {
        let _ = done_tx.send(i);
    });
    let mut read_error = None;
    let mut rows_done = 0u64;
    // Stop reading at the first read error; the batches before it are still converted.
    let batches_ok = crate::pipeline::until_error(batches.by_ref(), &mut read_error);
    crate::pipeline::ordered(
        &pool,
        batches_ok,
        threads * 4,
        || ItemWriter {
            recycled: Some(recycled.clone()),
            keep_keys: opts.duplicates != DupMode::Off,
            ..ItemWriter::new(opts.syntax, opts.nulls)
        },
        |w, b| {
            let s = &sources[b.source];
            let entity = run.entity_of(b.source);
            let encoding = &run.encodings[run.group_of[b.source]];
            encode_chunk(
                b,
                encoding,
                (s.format, &s.display(), entity),
                opts.syntax,
                opts.nulls,
                w,
            )
        },
        |c| {
            let c = match c {
                Ok(c) => c,
                Err(e) => {
                    encode_error = Some(e);
                    return false;
                }
            };
            rows_done += c.rows;
            opts.observer.advance(
                c.input_bytes,
                &format!("{} rows", output::thousands(rows_done)),
            );
            // A failed send means the writer stopped (failed row or I/O error); its result
            // says why.
            tx.send(c).is_ok()
        },
    );
    let read_error = read_error.or(encode_error);
    drop(tx);
    drop(batches);
    opts.observer.end();
    let (mut report, rows_by_source) = writer_thread
        .join()
        .map_err(|_| anyhow!("the writer thread panicked"))??;
    if let Some(e) = read_error {
        return Err(e);
    }
    let hashed = hasher
        .join()
        .map_err(|_| anyhow!("the hashing thread panicked"))??;
    report.elapsed_s = started.elapsed().as_secs_f64();
    // Stopped while the last parts were closing: no manifest, and the parts go.
    if opts.cancel.is_cancelled() {
        return Err(crate::pipeline::Interrupted.into());
    }
    if report.failed_row.is_none() {
        let mut inputs = Vec::with_capacity(sources.len());
        for (((s, rows), sha), &how) in sources.iter().zip(&rows_by_source).zip(hashed).zip(digests)
        {
            let sha = match (sha, how) {
                // A remote input with no units (no row groups): its gaps are all of it.
                (None, InputDigest::Reads) => s.object.sha256_of_reads()?,
                (sha, _) => sha,
            };
            let mut record = output::InputRecord::of(s, *rows, sha);
            record.entity = run.entity_of(inputs.len()).map(str::to_string);
            inputs.push(record);
        }
        let facts = output::OutputFacts::of(opts, keys);
        match opts.shard {
            None => output::write_manifests(&**store, &facts, &inputs, keys, &report)?,
            Some(s) => write_shard_report(&**store, opts, s, facts, inputs, keys, &report)?,
        }
    }
    Ok(report)
}
