//! `prep convert`: inputs → checked DynamoDB JSON (or Ion) parts, manifests, rejects, duplicates.
//!
//! Flow: units (row groups, files) are read by a few threads ahead of need; batches come out in
//! input order, are encoded and checked in parallel on a rayon pool (`crate::pipeline`), and go in
//! order to one writer thread that detects duplicates, splits parts, compresses and hashes (MD5
//! on the writer thread, SHA-256 beside it, the device write on a thread of the part's own).
//! Keeping the order makes the output byte-identical whatever the thread count.

use crate::encoding::item_lines::item_key_checks;
use crate::encoding::target::Target;
use crate::encoding::{ItemWriter, Recycled};
use crate::input::json_docs::{Layout, Named};
use crate::input::parse::LineFormat;
use crate::input::{self, Format, JsonKind, Source, Unit};
use crate::model::keys::KeySchema;
use crate::model::manifest::InputRecord;
use crate::output::manifest::write_manifests;
use crate::output::store::OutputStore;
use crate::output::Destination;
#[doc(hidden)]
pub use crate::run::encode_json_documents;
use crate::run::{
    column_encoding, encode_chunk, entity_of, groups, output_facts, write_report_files,
    write_shard_report, Chunk, Encoding, Group, Profiling, Writer,
};
pub use crate::run::{human_summary, ConvertOptions, DupMode, OnError, Report, DEFAULT_DUP_MEMORY};
use crate::shape::{DerivedValue, Shape};
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

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
        Destination::Nowhere => return Ok(()),
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
        let objects = s3.as_ref().expect("just set").discover(arg)?;
        let objects = objects
            .into_iter()
            .map(|o| Arc::new(o) as Arc<dyn input::source::InputObject>)
            .collect();
        sources.extend(input::detect_objects(objects, input::SMALL_IN_FLIGHT)?);
    }
    flush(&mut local, &mut sources)?;
    Ok(sources)
}

/// How an input's CRC64-NVME for the manifest is taken.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum InputDigest {
    /// Not here (a shard that does not own the input's first unit).
    None,
    /// Read whole once more beside the conversion (local files; a remote input a shard reads
    /// part of).
    Whole,
    /// From the bytes the conversion reads ([`crate::input::source::InputObject::crc64_of_reads`]).
    Reads,
}

/// How a group's plain JSON inputs become columns (see [`json_docs`]): the fields its options
/// name, and its shaping with the fields read only by templates and TTLs left out of the
/// items; `None` for a group of other inputs.
fn json_layout(
    sources: &[Source],
    opts: &ConvertOptions,
    g: &Group,
) -> Result<Option<(Layout, Shape)>> {
    let json = |s: &&Source| matches!(s.format, Format::Json(_));
    let Some(first) = sources.iter().find(json) else {
        return Ok(None);
    };
    if let Some(other) = sources.iter().find(|s| !json(s)) {
        bail!(
            "cannot convert plain JSON documents ({}) together with {} input ({}) in one run; convert them apart, or as two entity types of a map file",
            first.display(),
            other.format.as_str(),
            other.display()
        );
    }
    let mongo = opts.json_mongodb.unwrap_or_else(|| {
        sources
            .iter()
            .any(|s| matches!(s.format, Format::Json(JsonKind { mongo: true, .. })))
    });
    let shape = g.shape;
    let mut named: Vec<String> = Vec::new();
    let add = |n: &str, named: &mut Vec<String>| {
        if !named.iter().any(|x| x == n) {
            named.push(n.to_string());
        }
    };
    for (a, _) in opts.keys.key_attributes() {
        add(&a.name, &mut named);
    }
    for d in &shape.derived {
        add(&d.name, &mut named);
    }
    for n in shape
        .ttl
        .iter()
        .chain(shape.select.iter().flatten())
        .chain(&shape.drop)
        .chain(shape.rename.iter().map(|(old, _)| old))
        .chain(g.overrides.iter().map(|(c, _)| c))
    {
        add(n, &mut named);
    }
    // What templates and TTLs read: a top-level field is taken like any other; a nested one
    // (`a.b`) is read beside its object, which stays in the item as it is.
    let mut hidden: Vec<String> = Vec::new();
    for d in &shape.derived {
        let read: Vec<&str> = match &d.value {
            DerivedValue::Template { template, .. } => {
                template.placeholders().map(|p| p.path.as_str()).collect()
            }
            DerivedValue::Ttl { column, .. } => vec![column.as_str()],
        };
        for r in read {
            if named.iter().any(|x| x == r) || hidden.iter().any(|x| x == r) {
                continue;
            }
            if r.contains('.') {
                hidden.push(r.to_string());
            } else {
                named.push(r.to_string());
            }
        }
    }
    let mut shape = shape.clone();
    if shape.select.is_none() {
        shape.drop.extend(hidden.iter().cloned());
    }
    let layout = Layout {
        named: named
            .into_iter()
            .map(|name| Named {
                name,
                hidden: false,
            })
            .chain(hidden.into_iter().map(|name| Named { name, hidden: true }))
            .collect(),
        rest: shape.select.is_none(),
        mongo,
    };
    Ok(Some((layout, shape)))
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
        let mine = input::units_of_shard(s, &units);
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
            if let Some(d) = s.object.read_digest().filter(|_| how != InputDigest::Reads) {
                d.stop();
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
            let (documents, json_shape) = match json_layout(&srcs, opts, g).map_err(in_entity)? {
                Some((layout, shape)) => (Some(layout), Some(shape)),
                None => (None, None),
            };
            let scms = match &documents {
                Some(layout) => vec![layout.schema(); srcs.len()],
                None => scms,
            };
            check_schemas(&srcs, &scms).map_err(in_entity)?;
            let inferred = csv_inference(&srcs, opts).map_err(in_entity)?;
            let shaped = Group {
                name: g.name,
                inputs: g.inputs,
                shape: json_shape.as_ref().unwrap_or(g.shape),
                overrides: g.overrides,
            };
            let mut encoding =
                column_encoding(&scms[0], opts, &shaped, inferred.as_deref()).map_err(in_entity)?;
            if let Encoding::Columns { documents: d, .. } = &mut encoding {
                *d = documents.map(Box::new);
            }
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
    let (store, _lock) = opts.open_output()?;
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
                    Format::Json(JsonKind { array: false, .. }) => "JSON Lines documents",
                    Format::Json(JsonKind { array: true, .. }) => "a JSON array of documents",
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
            Format::Items(_) | Format::Json(_) if s.size == 0 => {
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

    // The inputs' CRC64-NVME (the manifest records them), on a thread beside the conversion:
    // local files read once more (cheap); remote ones from the bytes the conversion reads, each
    // taken as soon as its last unit is read (its gaps filled), or, for a shard that reads only
    // part of one, by reading it whole.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<usize>();
    let jobs: Vec<_> = sources
        .iter()
        .zip(digests)
        .map(|(s, &d)| (s.object.clone(), d))
        .collect();
    let whole_crc64 = |o: &dyn crate::input::source::InputObject| -> Result<String> {
        Ok(
            crate::input::source::digests(o, crate::hashing::Wanted::CRC64)?
                .crc64nvme
                .expect("asked for"),
        )
    };
    let hasher = std::thread::spawn(move || {
        // Reading an input whole again yields to the conversion.
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
                    Some(whole_crc64(&**o)?)
                }
                InputDigest::Reads => {
                    // Its ranges were hashed as they were read; its gaps are read as soon as
                    // its last unit is.
                    while !done[i] {
                        match done_rx.recv() {
                            Ok(d) => done[d] = true,
                            // The conversion stopped before reading it all: taken (if needed)
                            // after the run.
                            Err(_) => break,
                        }
                    }
                    match done[i] {
                        true => o.crc64_of_reads()?,
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
    .on_source_done({
        let objects: Vec<_> = sources.iter().map(|s| s.object.clone()).collect();
        move |i| {
            // Its digest was taken from its reads as they came (a small object's in its one
            // GET), so a copy held for its reads can go.
            objects[i].release();
            let _ = done_tx.send(i);
        }
    });
    let mut read_error = None;
    let mut rows_done = 0u64;
    // Stop reading at the first read error; the batches before it are still converted.
    let batches_ok = crate::pipeline::until_error(batches.by_ref(), &mut read_error);
    crate::pipeline::ordered(
        &pool,
        batches_ok,
        threads * 4,
        || {
            let w = ItemWriter {
                recycled: Some(recycled.clone()),
                keep_keys: opts.duplicates != DupMode::Off,
                note: opts.report.is_some(),
                ..ItemWriter::new(opts.syntax, opts.nulls)
            };
            (w, opts.report.as_ref().map(|_| Profiling::new(keys)))
        },
        |(w, profiling), b| {
            let s = &sources[b.source];
            let entity = run.entity_of(b.source);
            let encoding = &run.encodings[run.group_of[b.source]];
            let mut c = encode_chunk(
                b,
                encoding,
                (s.format, &s.display(), entity),
                opts.syntax,
                opts.nulls,
                w,
            )?;
            if let Some(p) = profiling.as_mut() {
                c.facts = Some(p.facts(&mut c, opts.syntax));
            }
            Ok(c)
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
                &format!("{} rows", crate::pipeline::progress::thousands(rows_done)),
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
                (None, InputDigest::Reads) => s.object.crc64_of_reads()?,
                (sha, _) => sha,
            };
            let mut record = input_record(s, *rows, sha);
            record.entity = run.entity_of(inputs.len()).map(str::to_string);
            inputs.push(record);
        }
        let facts = output_facts(opts, keys);
        if let Some(profile) = &report.profile {
            write_report_files(&**store, profile, "prep convert --report")?;
        }
        match opts.shard {
            None => write_manifests(
                &**store,
                &facts,
                &inputs,
                keys,
                &report.parts,
                &report.counts(),
            )?,
            Some(s) => write_shard_report(&**store, opts, s, facts, inputs, keys, &report)?,
        }
    }
    Ok(report)
}

/// Input `s` as the summary records it, with the rows read from it and its SHA-256 (where
/// known).
fn input_record(s: &Source, rows: u64, crc64nvme: Option<String>) -> InputRecord {
    InputRecord {
        path: s.display(),
        format: s.format.as_str().to_string(),
        rows,
        bytes: s.size,
        crc64nvme,
        sha256: None,
        etag: s.object.etag(),
        version_id: s.object.version(),
        entity: None,
    }
}
