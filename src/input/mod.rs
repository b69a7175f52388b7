//! Inputs: finding them, telling their format, and reading them as Arrow record batches in work
//! units (a Parquet row group, a whole CSV or Arrow file) that can run in parallel.

pub mod arrow_ipc;
pub mod csv;
pub mod csv_split;
pub mod item_files;
pub mod parquet;
pub mod parse;
pub mod read_digest;
pub mod s3;
pub mod source;

use crate::input::parse::LineFormat;
use crate::input::source::{InputObject, LocalFile};
use crate::model::rules::Rule;
use anyhow::{bail, Context, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    ArrowFile,
    ArrowStream,
    /// DynamoDB JSON or Ion item lines (exports, earlier outputs).
    Items(LineFormat),
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::ArrowFile => "arrow",
            Format::ArrowStream => "arrow-stream",
            Format::Items(LineFormat::DynamodbJson) => "dynamodb-json",
            Format::Items(LineFormat::Ion) => "ion",
        }
    }
}

/// What an export's (or prep output's) manifest-files.json says of a data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub md5_base64: String,
    pub items: u64,
}

/// An input file found by [`discover`].
#[derive(Clone, Debug)]
pub struct Found {
    pub path: PathBuf,
    pub manifest: Option<ManifestEntry>,
}

/// Compression of a (CSV) input, from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    Plain,
    Gzip,
    Zstd,
}

/// An input: its bytes (wherever they are) and what they hold.
#[derive(Clone, Debug)]
pub struct Source {
    pub object: Arc<dyn InputObject>,
    pub format: Format,
    pub packing: Packing,
    pub size: u64,
    pub manifest: Option<ManifestEntry>,
    /// A Parquet input's footer, read once and shared by its row groups' units (for an S3 input,
    /// two GETs fewer per row group).
    pub parquet_footer:
        Arc<std::sync::OnceLock<::parquet::arrow::arrow_reader::ArrowReaderMetadata>>,
    /// The format was told from the content alone: no magic bytes, and a name without the
    /// format's extension (a file named `data` read as CSV). The run says so.
    pub guessed: bool,
}

impl Source {
    pub fn display(&self) -> String {
        self.object.display()
    }

    /// The local file it is, if it is one.
    pub fn local_path(&self) -> Option<&Path> {
        self.object.local_path()
    }
}

/// A row the reader could not turn into Arrow values (bad CSV record), reported as a reject.
#[derive(Clone, Debug)]
pub struct PreReject {
    pub index: usize,
    pub rule: &'static Rule,
    pub message: String,
    pub values: Value,
}

/// Rows of one source, with where they came from.
pub struct Batch {
    pub source: usize,
    /// 0-based index in its source of the batch's first row.
    pub first_row: u64,
    pub rows: RecordBatch,
    /// CSV: the line each row starts on.
    pub lines: Option<Vec<u64>>,
    pub pre_rejects: Vec<PreReject>,
    /// Estimated input bytes this batch stands for (for progress).
    pub input_bytes: u64,
}

/// A piece of work that reads batches in order.
#[derive(Clone, Debug)]
pub struct Unit {
    pub source: usize,
    pub part: UnitPart,
    pub first_row: u64,
    /// Estimated input bytes (for progress).
    pub weight: u64,
}

#[derive(Clone, Debug)]
pub enum UnitPart {
    Whole,
    RowGroup(usize),
}

/// What opening a source tells: its schema and its units.
pub struct Opened {
    pub schema: SchemaRef,
    pub units: Vec<Unit>,
}

impl Opened {
    /// A source read start to end as one unit.
    pub fn whole(schema: SchemaRef, src: &Source, index: usize) -> Opened {
        Opened {
            schema,
            units: vec![Unit {
                source: index,
                part: UnitPart::Whole,
                first_row: 0,
                weight: src.size,
            }],
        }
    }
}

/// Reader settings shared by all inputs.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub batch_rows: usize,
    /// Item files: pass blank lines on as rows (validation reports them) instead of skipping.
    pub keep_blank: bool,
    /// Item files' read blocks, read into again once their batches are gone.
    pub blocks: item_files::Blocks,
    pub csv: csv::CsvOptions,
    /// Item files: the longest line read; longer ones are skipped and rejected (I001).
    pub max_line: usize,
}

/// Expand INPUT arguments: files as given, directories recursed (sorted, hidden files and
/// files of unknown type skipped), globs expanded (sorted).
pub fn discover(inputs: &[String]) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut seen = Seen::default();
    for arg in inputs {
        let p = Path::new(arg);
        if p.is_dir() && p.join(crate::model::files::MANIFEST_FILES).is_file() {
            out.extend(export_files(p)?);
            continue;
        }
        discover_one(arg, p, &mut out, &mut seen)?;
    }
    Ok(out)
}

/// The directories walked and files found so far, by what they really are (device and inode on
/// Unix, the canonical path elsewhere): a symlink loop (`a/b -> ..`) is followed once, and a
/// file reached by several paths inside the walked folders is read once.
#[derive(Default)]
pub struct Seen(std::collections::HashSet<(u64, u64, PathBuf)>);

impl Seen {
    /// Whether `p` is seen for the first time (a path that cannot be looked at counts as new,
    /// so its error surfaces where it is opened).
    pub fn first(&mut self, p: &Path) -> bool {
        #[cfg(unix)]
        let id = std::fs::metadata(p).map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino(), PathBuf::new())
        });
        #[cfg(not(unix))]
        let id = std::fs::canonicalize(p).map(|c| (0, 0, c));
        match id {
            Ok(id) => self.0.insert(id),
            Err(_) => true,
        }
    }
}

/// The non-blank lines of a manifest-files.json as JSON, with their 1-based line numbers.
pub fn manifest_lines(mf: &Path, text: &str) -> Result<Vec<(usize, Value)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map(|v| (i + 1, v))
                .with_context(|| format!("{}:{}: not JSON", mf.display(), i + 1))
        })
        .collect()
}

/// The data files a DynamoDB export folder (`AWSDynamoDB/<id>/`) or a prep output folder lists in
/// its manifest-files.json, with the checksum and item count to verify.
fn export_files(dir: &Path) -> Result<Vec<Found>> {
    let mf = dir.join(crate::model::files::MANIFEST_FILES);
    let text =
        std::fs::read_to_string(&mf).with_context(|| format!("cannot read {}", mf.display()))?;
    let mut out = Vec::new();
    for (line, v) in manifest_lines(&mf, &text)? {
        let key = v["dataFileS3Key"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{}:{line}: no dataFileS3Key", mf.display()))?;
        let name = key.rsplit('/').next().unwrap_or(key);
        let path = dir.join("data").join(name);
        if !path.is_file() {
            bail!(
                "{}: {} lists {key}, but {} does not exist",
                dir.display(),
                mf.display(),
                path.display()
            );
        }
        let md5 = v["md5Checksum"].as_str().unwrap_or("").to_string();
        let items = v["itemCount"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("{}:{line}: no itemCount", mf.display()))?;
        out.push(Found {
            path,
            manifest: Some(ManifestEntry {
                md5_base64: md5,
                items,
            }),
        });
    }
    if out.is_empty() {
        bail!("{}: the manifest lists no data files", mf.display());
    }
    Ok(out)
}

fn plain(path: PathBuf) -> Found {
    Found {
        path,
        manifest: None,
    }
}

fn discover_one(arg: &str, p: &Path, out: &mut Vec<Found>, seen: &mut Seen) -> Result<()> {
    {
        if p.is_dir() {
            let before = out.len();
            walk(p, out, seen)?;
            if out.len() == before {
                bail!(
                    "{arg}: the directory holds no CSV, Parquet, Arrow, DynamoDB JSON or Ion files"
                );
            }
        } else if p.exists() {
            out.push(plain(p.to_path_buf()));
        } else if arg.contains(['*', '?', '[']) {
            let mut found: Vec<PathBuf> = glob::glob(arg)
                .with_context(|| format!("bad glob pattern {arg:?}"))?
                .filter_map(|r| r.ok())
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{arg}: the pattern matches no file");
            }
            out.extend(found.into_iter().map(plain));
        } else {
            bail!("{arg}: no such file or directory");
        }
    }
    Ok(())
}

/// The entries of a directory, sorted (so that every listing comes out in the same order).
pub fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

fn walk(dir: &Path, out: &mut Vec<Found>, seen: &mut Seen) -> Result<()> {
    if !seen.first(dir) {
        return Ok(());
    }
    // An export or prep output folder inside: its manifest says which files are data.
    if dir.join(crate::model::files::MANIFEST_FILES).is_file() {
        out.extend(export_files(dir)?);
        return Ok(());
    }
    for p in sorted_entries(dir)? {
        // Names that are not UTF-8 are judged by their lossy form (never skipped for it).
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, seen)?;
        } else if (known_extension(&p) || sniff_path(&p).is_some()) && seen.first(&p) {
            out.push(plain(p));
        }
    }
    Ok(())
}

fn lower_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn known_extension(p: &Path) -> bool {
    let n = lower_name(p);
    [
        ".csv",
        ".tsv",
        ".csv.gz",
        ".csv.zst",
        ".tsv.gz",
        ".tsv.zst",
        ".parquet",
        ".pq",
        ".arrow",
        ".feather",
        ".arrows",
        ".ipc",
        ".json",
        ".json.gz",
        ".json.zst",
        ".jsonl",
        ".ion",
        ".ion.gz",
        ".ion.zst",
    ]
    .iter()
    .any(|e| n.ends_with(e))
}

/// [`sniff`] for a local file that may not be readable (then: not recognised).
fn sniff_path(p: &Path) -> Option<(Format, Packing)> {
    sniff(&LocalFile::open(p).ok()?).ok().flatten()
}

/// Binary formats recognised by their first bytes.
fn sniff(obj: &dyn InputObject) -> Result<Option<(Format, Packing)>> {
    let h = obj
        .read_range(0, 8)
        .with_context(|| format!("cannot read {}", obj.display()))?;
    Ok(if h.starts_with(b"PAR1") {
        Some((Format::Parquet, Packing::Plain))
    } else if h.starts_with(b"ARROW1") {
        Some((Format::ArrowFile, Packing::Plain))
    } else if h.starts_with(&[0xff, 0xff, 0xff, 0xff]) {
        Some((Format::ArrowStream, Packing::Plain))
    } else if h.starts_with(&[0x1f, 0x8b]) {
        Some((Format::Csv, Packing::Gzip))
    } else if h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some((Format::Csv, Packing::Zstd))
    } else {
        None
    })
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Tell a local file's format: see [`detect_object`].
pub fn detect(found: &Found) -> Result<Source> {
    let object: Arc<dyn InputObject> = Arc::new(LocalFile::open(&found.path)?);
    detect_object(object, found.manifest.clone())
}

/// Tell an input's format: magic bytes first, then the name; anything else is read as CSV.
pub fn detect_object(
    object: Arc<dyn InputObject>,
    manifest: Option<ManifestEntry>,
) -> Result<Source> {
    if let Some(m) = &manifest {
        item_files::verify_md5(&*object, m)?;
    }
    let size = object.size();
    let (format, packing) = match sniff(&*object)? {
        Some(x) => x,
        None => {
            let n = object.name().to_ascii_lowercase();
            if n.ends_with(".parquet") || n.ends_with(".pq") {
                bail!("{}: not a Parquet file (no PAR1 magic)", object.display());
            } else if n.ends_with(".arrow") || n.ends_with(".feather") {
                bail!(
                    "{}: not an Arrow IPC file (no ARROW1 magic)",
                    object.display()
                );
            } else if n.ends_with(".arrows") {
                (Format::ArrowStream, Packing::Plain)
            } else {
                (Format::Csv, Packing::Plain)
            }
        }
    };
    let format = match format {
        Format::Csv => text_format(&*object)?,
        f => f,
    };
    if format == Format::Csv {
        if let Some(ext) = foreign_extension(&object.name()) {
            return Err(NotData {
                file: object.display(),
                extension: ext,
            }
            .into());
        }
    }
    let guessed = manifest.is_none() && !named_as(format, &object.name());
    Ok(Source {
        object,
        format,
        packing,
        size,
        manifest,
        parquet_footer: Arc::default(),
        guessed,
    })
}

/// Whether `name` (less a compression suffix) carries an extension of `format`; formats known
/// by their magic bytes always count as named.
fn named_as(format: Format, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = [".gz", ".gzip", ".zst", ".zstd"]
        .iter()
        .find_map(|c| n.strip_suffix(c))
        .unwrap_or(&n);
    let has = |exts: &[&str]| exts.iter().any(|e| n.ends_with(e));
    match format {
        Format::Csv => has(&[".csv", ".tsv", ".tab", ".txt"]),
        Format::Items(LineFormat::DynamodbJson) => has(&[".json", ".jsonl", ".ndjson"]),
        Format::Items(LineFormat::Ion) => has(&[".ion"]),
        Format::Parquet | Format::ArrowFile | Format::ArrowStream => true,
    }
}

/// A file read as text whose name says it is something else (`README.md`, `notes.docx`): never
/// guessed to be CSV, which would make items of its lines.
#[derive(Debug)]
pub struct NotData {
    pub file: String,
    pub extension: String,
}

impl std::fmt::Display for NotData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: a .{} file is not data; prep reads CSV/TSV (.csv, .tsv, .txt, .dat), Parquet, Arrow IPC, DynamoDB JSON (.json, .jsonl) and Ion (.ion), plain or .gz/.zst. Leave it out, or rename it if it is CSV",
            self.file, self.extension
        )
    }
}

impl std::error::Error for NotData {}

/// The extension of a name (less .gz/.zst) that no text data file has, if it has one; a name
/// without an extension (`000000_0`, an S3 key) is read by its content.
fn foreign_extension(name: &str) -> Option<String> {
    let n = name.to_ascii_lowercase();
    let n = n.trim_end_matches(".gz").trim_end_matches(".zst");
    let base = n.rsplit('/').next().unwrap_or(n);
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty()
        || ext.is_empty()
        || ext.len() > 8
        || !ext.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    const TEXT_DATA: [&str; 9] = [
        "csv", "tsv", "txt", "dat", "json", "jsonl", "ndjson", "ion", "arrows",
    ];
    (!TEXT_DATA.contains(&ext) && !ext.bytes().all(|c| c.is_ascii_digit())).then(|| ext.to_string())
}

/// CSV, DynamoDB JSON or Ion, from the first (decompressed) bytes and the name.
fn text_format(obj: &dyn InputObject) -> Result<Format> {
    let mut r = crate::input::parse::lines::open_decompressed(obj)?;
    let mut head = [0u8; 256];
    let n =
        read_up_to(&mut r, &mut head).with_context(|| format!("cannot read {}", obj.display()))?;
    let head = &head[..n];
    if head.starts_with(&[0xe0, 0x01, 0x00, 0xea]) {
        bail!(
            "{}: binary Ion is not supported (DynamoDB imports text Ion)",
            obj.display()
        );
    }
    let trimmed: Vec<u8> = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .iter()
        .copied()
        .skip_while(|c| c.is_ascii_whitespace())
        .collect();
    let n = obj.name().to_ascii_lowercase();
    let n = n
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .to_string();
    Ok(
        if trimmed.starts_with(b"$ion_1_0") || trimmed.starts_with(b"{Item:") || n.ends_with(".ion")
        {
            Format::Items(LineFormat::Ion)
        } else if trimmed.starts_with(b"{\"Item\"") || n.ends_with(".json") || n.ends_with(".jsonl")
        {
            Format::Items(LineFormat::DynamodbJson)
        } else {
            Format::Csv
        },
    )
}

/// Open a source: read its schema and split it into units.
pub fn open(src: &Source, index: usize, opts: &ReadOptions) -> Result<Opened> {
    let r = crate::model::guard::decoding(|| match src.format {
        Format::Csv => csv::open(src, index, &opts.csv),
        Format::Parquet => parquet::open(src, index),
        Format::ArrowFile | Format::ArrowStream => arrow_ipc::open(src, index),
        Format::Items(_) => item_files::open(src, index),
    })
    .unwrap_or_else(|why| Err(decoder_failed(src, &why)));
    r.with_context(|| format!("cannot read {} as {}", src.display(), src.format.as_str()))
}

/// The error for a decoder that panicked on the file's bytes.
fn decoder_failed(src: &Source, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {} decoder failed on damaged data ({why}); the file is corrupt: write or fetch it again",
        src.format.as_str()
    )
}

/// Read one unit, sending its batches in order; stops early when the receiver hangs up.
pub fn run_unit(src: &Source, unit: &Unit, opts: &ReadOptions, tx: &SyncSender<Result<Batch>>) {
    let r = crate::model::guard::decoding(|| match src.format {
        Format::Csv => csv::read(src, unit, opts, tx),
        Format::Parquet => parquet::read(src, unit, opts, tx),
        Format::ArrowFile | Format::ArrowStream => arrow_ipc::read(src, unit, opts, tx),
        Format::Items(_) => item_files::read(src, unit, opts, tx),
    })
    .unwrap_or_else(|why| Err(decoder_failed(src, &why)));
    if let Err(e) = r {
        let _ = tx.send(Err(e.context(format!("error reading {}", src.display()))));
    }
}

/// How many units to read at once: a local file is read as fast as it is decoded, so a unit
/// per worker thread; remote ones wait on the network at every request, so twice that, at
/// least four, to keep several GETs in flight (the memory they hold is capped apart, by
/// [`HELD_AHEAD`]).
pub fn read_ahead(sources: &[Source], threads: usize) -> usize {
    match sources.iter().any(|s| s.local_path().is_none()) {
        true => (threads * 2).max(4),
        false => threads.max(2),
    }
}

/// At most this many bytes of units fetched whole (remote Parquet row groups) are in memory at
/// once; one such unit is always read, whatever its size.
pub const HELD_AHEAD: u64 = 256 << 20;

/// The bytes a unit holds in memory from its start to its end.
fn held_while_read(src: &Source, unit: &Unit) -> u64 {
    match (src.format, src.local_path()) {
        (Format::Parquet, None) => parquet::fetched_whole(src, unit),
        _ => 0,
    }
}

/// Whether a unit that holds `held` bytes may start beside the units being read, which hold
/// `holding`: always when none is, else within [`HELD_AHEAD`] together.
fn room_for(holding: impl Iterator<Item = u64>, held: u64) -> bool {
    let mut n = 0;
    let total: u64 = holding.inspect(|_| n += 1).sum();
    n == 0 || total + held <= HELD_AHEAD
}

/// A unit being read: its source, its batches, its thread and the bytes it holds.
type Reading = (usize, Receiver<Result<Batch>>, JoinHandle<()>, u64);

/// Reads units ahead of need on their own threads and yields batches in input order.
pub struct Ahead {
    sources: Arc<Vec<Source>>,
    opts: Arc<ReadOptions>,
    pending: VecDeque<Unit>,
    active: VecDeque<Reading>,
    ahead: usize,
    nice: Option<i32>,
    /// Whether a batch has been handed on yet.
    delivered: bool,
    /// Told each source whose units have all been read.
    on_source_done: Option<Box<dyn FnMut(usize) + Send>>,
}

impl Ahead {
    pub fn new(
        sources: Arc<Vec<Source>>,
        opts: Arc<ReadOptions>,
        units: Vec<Unit>,
        ahead: usize,
    ) -> Ahead {
        Ahead {
            sources,
            opts,
            pending: units.into(),
            active: VecDeque::new(),
            ahead,
            nice: None,
            delivered: false,
            on_source_done: None,
        }
    }

    /// `f(i)` once the last of source `i`'s units has been read to its end (not for a source
    /// with no units, nor after a reader failed).
    pub fn on_source_done(mut self, f: impl FnMut(usize) + Send + 'static) -> Ahead {
        self.on_source_done = Some(Box::new(f));
        self
    }

    /// Reader threads run at this nice value (see `model::threads::PRODUCER_NICE`).
    pub fn at_nice(mut self, nice: i32) -> Ahead {
        self.nice = Some(nice);
        self
    }

    fn fill(&mut self) {
        // Until the first batch is out, one unit has the cores to itself: that batch is what the
        // whole pipeline, and the writer's MD5 chain behind it, is waiting for. Not so for a
        // remote input: the units after it start their GETs meanwhile (waiting on the network,
        // not the cores).
        let remote = |u: &Unit| self.sources[u.source].local_path().is_none();
        let solo = !self.delivered && !self.pending.front().is_some_and(remote);
        let ahead = if solo { 1 } else { self.ahead };
        while self.active.len() < ahead {
            let Some(unit) = self.pending.front() else {
                break;
            };
            let held = held_while_read(&self.sources[unit.source], unit);
            if !room_for(self.active.iter().map(|a| a.3), held) {
                break;
            }
            let unit = self.pending.pop_front().expect("just seen");
            let (tx, rx) = sync_channel(2);
            let sources = self.sources.clone();
            let opts = self.opts.clone();
            let nice = self.nice;
            let source = unit.source;
            let h = std::thread::spawn(move || {
                if let Some(n) = nice {
                    crate::model::threads::lower_priority(n);
                }
                run_unit(&sources[unit.source], &unit, &opts, &tx);
            });
            self.active.push_back((source, rx, h, held));
        }
    }
}

/// A reader thread's panic: a bug, never a finding about the input.
#[derive(Debug, thiserror::Error)]
#[error("a reader thread panicked")]
pub struct ReaderPanicked;

impl Ahead {
    /// The next batch, or the error of a unit with the index of the source it was reading. A
    /// unit that failed sends nothing more; the units after it go on, so a caller that can
    /// carry on without one source (validate reports it) keeps calling.
    pub fn next_of_source(&mut self) -> Option<(usize, Result<Batch>)> {
        loop {
            self.fill();
            let (source, rx, _, _) = self.active.front()?;
            let source = *source;
            match rx.recv() {
                Ok(b) => {
                    self.delivered = true;
                    return Some((source, b));
                }
                Err(_) => {
                    let (_, _, h, _) = self.active.pop_front().expect("front exists");
                    if h.join().is_err() {
                        return Some((source, Err(ReaderPanicked.into())));
                    }
                    let next = self.active.front().map(|a| a.0);
                    let next = next.or(self.pending.front().map(|u| u.source));
                    if next != Some(source) {
                        if let Some(f) = &mut self.on_source_done {
                            f(source);
                        }
                    }
                }
            }
        }
    }
}

impl Iterator for Ahead {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Result<Batch>> {
        self.next_of_source().map(|(_, b)| b)
    }
}

/// Send `rb` in slices of at most `batch_rows` rows; false when the receiver is gone.
pub(crate) fn send_sliced(
    tx: &SyncSender<Result<Batch>>,
    source: usize,
    first_row: &mut u64,
    rb: RecordBatch,
    batch_rows: usize,
    bytes: u64,
) -> bool {
    let n = rb.num_rows();
    let mut off = 0;
    while off < n {
        let len = batch_rows.min(n - off);
        let b = Batch {
            source,
            first_row: *first_row,
            rows: rb.slice(off, len),
            lines: None,
            pre_rejects: Vec::new(),
            input_bytes: if n == 0 {
                0
            } else {
                bytes * len as u64 / n as u64
            },
        };
        if tx.send(Ok(b)).is_err() {
            return false;
        }
        *first_row += len as u64;
        off += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_say_a_file_is_not_data() {
        for (name, want) in [
            ("README.md", Some("md")),
            ("docs/notes.docx.gz", Some("docx")),
            ("s3://b/x/report.html", Some("html")),
            ("users.csv", None),
            ("users.CSV.gz", None),
            ("export.txt", None),
            ("items.json.zst", None),
            ("events.jsonl", None),
            ("000000_0", None),
            ("data/2024-01-01", None),
            ("dump.2024", None),
            (".hidden", None),
        ] {
            assert_eq!(foreign_extension(name).as_deref(), want, "{name}");
        }
    }

    /// Fetched row groups in memory stay within `HELD_AHEAD`, but one is always read however
    /// large; units that hold nothing (streams, local files) are never held back.
    #[test]
    fn units_in_flight_hold_at_most_the_cap() {
        let mb = 1 << 20;
        assert!(room_for([].into_iter(), 10 * HELD_AHEAD));
        assert!(room_for([100 * mb, 100 * mb].into_iter(), 56 * mb));
        assert!(!room_for([100 * mb, 100 * mb].into_iter(), 57 * mb));
        assert!(!room_for([HELD_AHEAD].into_iter(), 1));
        assert!(room_for([0, 0, 0].into_iter(), 0));
        assert!(room_for([HELD_AHEAD].into_iter(), 0));
    }

    /// Until the first batch is out, only the first unit is read; then up to `ahead` units are.
    #[test]
    fn the_first_unit_reads_alone_until_its_first_batch() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ReadOptions {
            batch_rows: 1024,
            keep_blank: false,
            blocks: Default::default(),
            csv: csv::CsvOptions {
                delimiter: None,
                columns: None,
                sample_rows: 100,
            },
            max_line: crate::input::parse::lines::DEFAULT_MAX_LINE,
        };
        let mut sources = Vec::new();
        let mut units = Vec::new();
        for k in 0..4 {
            let path = dir.path().join(format!("f{k}.csv"));
            std::fs::write(&path, format!("a,b\n{k},x\n")).unwrap();
            let src = detect(&Found {
                path,
                manifest: None,
            })
            .unwrap();
            units.extend(open(&src, k, &opts).unwrap().units);
            sources.push(src);
        }
        let done = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = done.clone();
        let mut ahead = Ahead::new(Arc::new(sources), Arc::new(opts), units, 3)
            .on_source_done(move |i| seen.lock().unwrap().push(format!("done {i}")));
        assert!(ahead.next().unwrap().is_ok());
        assert_eq!((ahead.active.len(), ahead.pending.len()), (1, 3));
        let mut rest = Vec::new();
        for b in ahead {
            let s = b.unwrap().source;
            rest.push(s);
            done.lock().unwrap().push(format!("batch {s}"));
        }
        assert_eq!(rest, [1, 2, 3], "the other units follow, in order");
        // Each source is told done after its batches, before the next source's.
        assert_eq!(
            *done.lock().unwrap(),
            ["done 0", "batch 1", "done 1", "batch 2", "done 2", "batch 3", "done 3"]
        );
    }
}
