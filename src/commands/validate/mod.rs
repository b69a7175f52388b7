//! `prep validate`: lint DynamoDB JSON / Ion / CSV import files, prep output folders and DynamoDB
//! export folders against the import rules, in parallel, with the converter's rule registry.

pub(crate) mod csv_lint;
pub(crate) mod folder;
pub mod report;

use crate::encoding::arrow_rows::{encode_rows, split_key, KeyArena};
use crate::encoding::item_lines::LinesEncoder;
use crate::encoding::plan::KeyCheck;
use crate::encoding::scan::LineScanner;
use crate::encoding::{ItemWriter, Nulls, Syntax};
use crate::input::parse::lines::strip_cr;
use crate::input::parse::LineFormat;
use crate::input::source::InputObject;
use crate::input::{self, Batch, Format, Found, Packing, ReadOptions, Source};
use crate::model::keys::{KeySchema, ScalarType};
use crate::model::rules::{self, Rule, Severity};
use crate::output::Compression;
use crate::pipeline::duplicates::{DupFinder, Spill};
use crate::profile::OrderTally;
use anyhow::{bail, Result};
use arrow_array::cast::AsArray;
use arrow_array::Array;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What the import will be told the files are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Declared {
    DynamodbJson,
    Ion,
    Csv,
}

impl Declared {
    pub fn name(self) -> &'static str {
        match self {
            Declared::DynamodbJson => "DYNAMODB_JSON",
            Declared::Ion => "ION",
            Declared::Csv => "CSV",
        }
    }
    fn of(f: Format) -> Option<Declared> {
        match f {
            Format::Csv => Some(Declared::Csv),
            Format::Items(LineFormat::DynamodbJson) => Some(Declared::DynamodbJson),
            Format::Items(LineFormat::Ion) => Some(Declared::Ion),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ValidateOptions {
    pub paths: Vec<String>,
    pub keys: Option<KeySchema>,
    pub format: Option<Declared>,
    pub compression: Option<Compression>,
    pub header_list: Option<Vec<String>>,
    pub delimiter: Option<u8>,
    pub threads: usize,
    pub batch_rows: usize,
    pub duplicates: bool,
    /// Memory the duplicate-key index holds before it spills sorted runs to disk.
    pub dup_memory: usize,
    /// Where it spills (default: the system's temporary folder).
    pub tmp_dir: Option<std::path::PathBuf>,
    pub region: Option<String>,
    /// Take the allocation-free fast path for clean DynamoDB JSON lines (off only to compare).
    pub fast: bool,
    /// The longest item line read (see [`crate::input::parse::lines::DEFAULT_MAX_LINE`]).
    pub max_line: usize,
    /// How `s3://` paths are reached.
    pub aws: crate::aws::AwsOptions,
    /// The table's TTL attribute: values DynamoDB's TTL would ignore are findings.
    pub ttl: Option<String>,
    /// Also profile the items (`prep inspect`): the report's `profile`.
    pub profile: Option<crate::profile::ProfileOptions>,
}

/// One problem found, where it is, and the line it is on.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: &'static Rule,
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
    pub excerpt: Option<String>,
    /// For the line at which the import abandons the rest of its object: what it never reads.
    pub unread: Option<Unread>,
}

/// The non-blank lines of a file after the line where the import gives it up: the import never
/// reads, imports or counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unread {
    pub items: u64,
    pub first_line: u64,
    pub last_line: u64,
}

impl Unread {
    /// `other` (lines further down the same file) joined to these.
    fn join(self, other: Unread) -> Unread {
        if self.items == 0 {
            return other;
        }
        if other.items == 0 {
            return self;
        }
        Unread {
            items: self.items + other.items,
            first_line: self.first_line,
            last_line: other.last_line,
        }
    }

    /// The message's ending that says what is lost.
    pub fn describe(&self) -> String {
        let lines = if self.first_line == self.last_line {
            format!("line {}", self.first_line)
        } else {
            format!("lines {}-{}", self.first_line, self.last_line)
        };
        format!(
            "the import abandons the rest of the file at this line: {} more item{} ({lines}) would never be read, imported or counted",
            self.items,
            if self.items == 1 { "" } else { "s" },
        )
    }
}

/// Rules of a line the import cannot turn into an item at all (not JSON or Ion, or no `Item`):
/// measured against DynamoDB, the first such line makes it abandon the rest of its object.
const ABANDONS_OBJECT: [&rules::Rule; 4] = [
    &rules::LINE_NOT_PARSEABLE,
    &rules::ITEM_WRAPPER,
    &rules::BOM,
    &rules::PRETTY_PRINTED,
];

fn abandons_object(rule: &rules::Rule) -> bool {
    ABANDONS_OBJECT.contains(&rule)
}

impl Finding {
    pub fn file(rule: &'static Rule, file: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule,
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            excerpt: None,
            unread: None,
        }
    }
    pub fn at(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
}

/// Findings kept in memory; beyond this they are only counted.
const KEEP: usize = 1_000_000;

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub counts: BTreeMap<&'static str, u64>,
    pub errors: u64,
    pub warnings: u64,
    pub files: usize,
    pub items: u64,
    pub lines: u64,
    pub bytes: u64,
    pub notes: Vec<String>,
    pub not_kept: u64,
    /// Items the import would never read (behind a line that makes it abandon their file).
    pub unread_items: u64,
    /// Files that lose items that way.
    pub unread_files: u64,
    /// What the items hold, when asked for (`ValidateOptions::profile`).
    pub profile: Option<crate::profile::Summary>,
}

impl Report {
    pub fn add(&mut self, f: Finding) {
        *self.counts.entry(f.rule.code).or_default() += 1;
        match f.rule.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.findings.len() < KEEP {
            self.findings.push(f);
        } else {
            self.not_kept += 1;
        }
    }

    /// 1 when there are errors (or warnings, with `--fail-on warning`), else 0.
    pub fn exit_code(&self, fail_on_warning: bool) -> i32 {
        if self.errors > 0 || (fail_on_warning && self.warnings > 0) {
            1
        } else {
            0
        }
    }
}

/// Excerpts are cut to this many characters.
const EXCERPT: usize = 160;

pub(crate) fn excerpt(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    if s.chars().count() > EXCERPT {
        format!("{}…", s.chars().take(EXCERPT).collect::<String>())
    } else {
        s.into_owned()
    }
}

/// A data file to check, with what its manifest says of it (if any).
#[derive(Clone, Debug)]
pub(crate) struct DataFile {
    /// Its path, or its `s3://` URI.
    pub path: PathBuf,
    pub expect: Option<folder::Expect>,
    /// Its bytes when they are not a local file (an S3 object).
    pub object: Option<std::sync::Arc<dyn crate::input::source::InputObject>>,
}

impl DataFile {
    /// Its size, if it can be told.
    pub(crate) fn size(&self) -> Option<u64> {
        match &self.object {
            Some(o) => Some(o.size()),
            None => std::fs::metadata(&self.path).ok().map(|m| m.len()),
        }
    }
}

/// A prep output or a DynamoDB export in S3 (its manifests directly under the prefix), as
/// listed at the start.
struct S3View {
    bucket: String,
    prefix: String,
    objects: std::collections::BTreeMap<String, crate::input::s3::S3Object>,
    /// A prep output (an export's note comes from its own summary).
    prep: bool,
}

impl folder::FolderView for S3View {
    fn shown(&self, name: &str) -> String {
        format!("s3://{}/{}{name}", self.bucket, self.prefix)
    }

    fn text(&self, name: &str) -> Result<Option<String>> {
        let Some(o) = self.objects.get(name) else {
            return Ok(None);
        };
        let mut text = String::new();
        o.read_from(0)
            .and_then(|mut r| std::io::Read::read_to_string(&mut r, &mut text))
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", o.display()))?;
        Ok(Some(text))
    }

    fn exists(&self, name: &str) -> bool {
        self.objects.contains_key(name)
    }

    fn files(&self, under: &str) -> Result<Vec<(String, DataFile)>> {
        let level = if under.is_empty() {
            String::new()
        } else {
            format!("{under}/")
        };
        Ok(self
            .objects
            .iter()
            .filter(|(name, _)| name.starts_with(&level) && !name.ends_with('/'))
            .map(|(name, o)| {
                (
                    name.clone(),
                    DataFile {
                        path: PathBuf::from(o.display()),
                        expect: None,
                        object: Some(Arc::new(o.clone())),
                    },
                )
            })
            .collect())
    }

    fn import_prefix(&self) -> Option<String> {
        self.prep.then(|| {
            format!(
                "import from S3Bucket {}, S3KeyPrefix {}data/ (prep import s3://{}/{})",
                self.bucket, self.prefix, self.bucket, self.prefix
            )
        })
    }
}

/// What an `s3://` argument names: a prep output or DynamoDB export (a prefix with its
/// manifests), checked against its manifests as a local folder is; else its data files (a
/// prefix of them, an object, or a glob).
fn s3_files(
    s3: &mut Option<crate::input::s3::S3Inputs>,
    arg: &str,
    opts: &ValidateOptions,
    keys: &mut Option<KeySchema>,
    report: &mut Report,
) -> Result<Vec<DataFile>> {
    if s3.is_none() {
        *s3 = Some(crate::input::s3::S3Inputs::new(&opts.aws)?);
    }
    let inputs = s3.as_ref().expect("just set");
    let (bucket, rest) = crate::input::s3::split_url(arg)
        .ok_or_else(|| anyhow::anyhow!("{arg:?} is not an s3:// URL"))?;
    if !bucket.is_empty() && !rest.contains(['*', '?', '[']) {
        let prefix = match rest.trim_end_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let manifest = |n: &str| format!("{prefix}{n}");
        let listed = inputs.list_all(bucket, &prefix)?;
        let has = |n: &str| listed.iter().any(|o| o.key() == manifest(n));
        if has(crate::model::manifest::MANIFEST_FILES)
            || has(crate::model::manifest::MANIFEST_SUMMARY)
        {
            let view = S3View {
                bucket: bucket.to_string(),
                prefix: prefix.clone(),
                prep: false,
                objects: listed
                    .into_iter()
                    .map(|o| (o.key()[prefix.len()..].to_string(), o))
                    .collect(),
            };
            let summary =
                folder::FolderView::text(&view, crate::model::manifest::MANIFEST_SUMMARY)?;
            let view = S3View {
                prep: summary
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .is_some_and(|v| v["tool"] == "prep"),
                ..view
            };
            return folder::check_folder(&view, keys, report);
        }
    }
    Ok(inputs
        .discover(arg)?
        .into_iter()
        .map(|o| DataFile {
            path: PathBuf::from(o.display()),
            expect: None,
            object: Some(Arc::new(o)),
        })
        .collect())
}

pub fn run(opts: &ValidateOptions) -> Result<Report> {
    let mut report = Report::default();
    let mut keys = opts.keys.clone();
    let mut files: Vec<DataFile> = Vec::new();
    let mut s3 = None;
    for arg in &opts.paths {
        let p = std::path::Path::new(arg);
        if crate::input::s3::is_s3(arg) {
            files.extend(s3_files(&mut s3, arg, opts, &mut keys, &mut report)?);
        } else if p.is_dir() {
            let view = folder::LocalView(p);
            files.extend(folder::check_folder(&view, &mut keys, &mut report)?);
        } else if p.is_file() {
            files.push(DataFile {
                path: p.to_path_buf(),
                expect: None,
                object: None,
            });
        } else {
            bail!("{arg}: no such file or directory");
        }
    }
    if files.is_empty() {
        bail!("no data files to validate");
    }
    if let Some(k) = &keys {
        k.check_consistent()?;
    } else {
        report.notes.push(
            "no key schema given (--key, --table-def, or a prep manifest): key rules K001-K008 and duplicate detection were skipped".into(),
        );
    }
    report.files = files.len();
    // Checksums of files with a manifest entry are computed beside the line checks.
    let to_hash: Vec<(DataFile, folder::Expect)> = files
        .iter()
        .filter_map(|f| Some((f.clone(), f.expect.clone()?)))
        .collect();
    let hashing = std::thread::spawn(move || folder::verify_files(&to_hash));

    // What each file really is; objects in S3 told apart many at a time (each costs a request
    // or two), local files as they come.
    let remote: Vec<_> = files.iter().filter_map(|f| f.object.clone()).collect();
    let mut detected = input::detect_each(remote, input::SMALL_IN_FLIGHT).into_iter();
    let mut sources = Vec::new();
    let mut kinds: Vec<(Declared, Packing, String)> = Vec::new();
    for f in &files {
        let src = match &f.object {
            Some(_) => detected.next().expect("one result per object"),
            None => input::detect(&Found {
                path: f.path.clone(),
                manifest: None,
            }),
        };
        let src = match src {
            Ok(s) => s,
            Err(e) if crate::input::parse::lines::DamagedStream::find(&e).is_some() => {
                report.add(unreadable_finding(f.path.display().to_string(), None, &e));
                continue;
            }
            Err(e) if e.downcast_ref::<input::NotData>().is_some() => {
                report.add(Finding::file(
                    &rules::NON_DATA_OBJECT,
                    f.path.display().to_string(),
                    format!("{e:#}"),
                ));
                continue;
            }
            // A file that cannot be opened or read at all is unreadable, not a bad line.
            Err(e)
                if e.chain()
                    .any(|c| c.downcast_ref::<std::io::Error>().is_some()) =>
            {
                report.add(unreadable_finding(f.path.display().to_string(), None, &e));
                continue;
            }
            Err(e) => {
                report.add(Finding::file(
                    &rules::LINE_NOT_PARSEABLE,
                    f.path.display().to_string(),
                    format!("{e:#}"),
                ));
                continue;
            }
        };
        // What the import is given: a .json file is DYNAMODB_JSON to it, whatever prep convert
        // could make of it, and each line not an {"Item":…} is an error.
        let mut src = src;
        if let Format::Json(_) = src.format {
            src.format = Format::Items(LineFormat::DynamodbJson);
        }
        report.bytes += src.size;
        let Some(actual) = Declared::of(src.format) else {
            report.add(Finding::file(
                &rules::NON_DATA_OBJECT,
                src.display(),
                format!(
                    "a {} file cannot be imported; the import reads DYNAMODB_JSON, ION or CSV",
                    src.format.as_str()
                ),
            ));
            continue;
        };
        let packing = match src.packing {
            Packing::Plain => Compression::None,
            Packing::Gzip => Compression::Gzip,
            Packing::Zstd => Compression::Zstd,
        };
        if let Some(d) = opts.format {
            if d != actual {
                report.add(Finding::file(
                    &rules::DECLARED_MISMATCH,
                    src.display(),
                    format!(
                        "the file is {} but the import will be told {}",
                        actual.name(),
                        d.name()
                    ),
                ));
            }
        }
        if let Some(c) = opts.compression {
            if c != packing {
                report.add(Finding::file(
                    &rules::DECLARED_MISMATCH,
                    src.display(),
                    format!(
                        "the file is {} but the import will be told InputCompressionType {}",
                        packing.import_name(),
                        c.import_name()
                    ),
                ));
            }
        }
        kinds.push((actual, src.packing, src.display()));
        sources.push((src, f.expect.clone()));
    }
    folder::check_set(&kinds, &files, opts, &mut report);

    let mut csv_header: Option<Vec<String>> = None;
    let csv_profiled_not =
        opts.profile.is_some() && sources.iter().any(|(s, _)| s.format == Format::Csv);
    let mut item_sources = Vec::new();
    for (src, expect) in sources {
        if src.format == Format::Csv {
            let linted = csv_lint::lint(&src, opts, keys.as_ref(), &mut csv_header, &mut report);
            match linted {
                Err(e) if crate::input::parse::lines::DamagedStream::find(&e).is_some() => {
                    report.add(unreadable_finding(src.display(), None, &e));
                }
                other => other?,
            }
        } else {
            item_sources.push((src, expect));
        }
    }
    let mut profiler = None;
    if !item_sources.is_empty() {
        profiler = check_items(item_sources, opts, keys.as_mut(), &mut report)?;
    }
    let hashed = hashing
        .join()
        .map_err(|_| anyhow::anyhow!("the checksum thread panicked"))??;
    for f in hashed {
        report.add(f);
    }
    report.findings.sort_by(|a, b| {
        (a.file.as_str(), a.line.unwrap_or(0)).cmp(&(b.file.as_str(), b.line.unwrap_or(0)))
    });
    if let Some(popts) = &opts.profile {
        let profiler =
            profiler.unwrap_or_else(|| crate::profile::Profiler::new(keys.as_ref(), popts.clone()));
        let findings = crate::profile::Findings {
            errors: report.errors,
            warnings: report.warnings,
            by_rule: report
                .counts
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            rejected_lines: report.lines.saturating_sub(report.items),
            counted_by: crate::profile::CountedBy::Validate,
        };
        let mut summary = profiler.finish(findings);
        if csv_profiled_not {
            summary.notes.push(
                "CSV files are checked but not profiled here: inspect them alone (prep inspect FILE.csv --key …) for the figures of their conversion".into(),
            );
        }
        if report.unread_items > 0 {
            // Measured: the import gives up the rest of a file at a line it cannot read.
            summary.notes.push(format!(
                "{} items in {} files lie behind a line that makes the import abandon its file: they are in these figures, but the import would never read them (prep validate lists where)",
                report.unread_items, report.unread_files
            ));
        }
        report.profile = Some(summary);
    }
    Ok(report)
}

/// Key checks from the schema; types left out come from the first item that has the attribute
/// (S when none has it: the items without it are findings).
fn key_checks(
    keys: Option<&mut KeySchema>,
    sources: &[(Source, Option<folder::Expect>)],
) -> Result<Vec<(String, KeyCheck)>> {
    let Some(keys) = keys else {
        return Ok(Vec::new());
    };
    let srcs: Vec<Source> = sources.iter().map(|(s, _)| s.clone()).collect();
    let (checks, resolved) =
        crate::encoding::item_lines::item_key_checks(&srcs, keys, Some(ScalarType::S))?;
    *keys = resolved;
    Ok(checks)
}

/// What the workers need to profile items as they check them.
struct Profiling {
    indexes: Vec<crate::profile::Index>,
    /// Where each index's key attributes are among the scanner's.
    slots: crate::profile::KeySlots,
}

/// The findings of one batch, found in parallel.
struct Checked {
    source: usize,
    rows: u64,
    findings: Vec<Finding>,
    /// Primary keys of the valid items with their lines, for duplicates and ordering.
    keys: KeyArena,
    /// The line of each key in `keys`.
    key_lines: Vec<u64>,
    /// The batch's non-blank lines.
    nonblank: Unread,
    /// The first line in the batch that makes the import abandon the file, and the non-blank
    /// lines after it in the batch.
    abandons: Option<(u64, Unread)>,
    /// The bytes of its lines with their newlines (what the import bills).
    line_bytes: u64,
    /// What the valid items hold, when profiling.
    facts: Option<crate::profile::BatchFacts>,
}

/// The non-blank lines among `rows` (`numbers` gives each row's line).
fn nonblank_lines(rows: std::ops::Range<usize>, blank: &[bool], numbers: &[u64]) -> Unread {
    let mut u = Unread::default();
    for r in rows.filter(|&r| !blank[r]) {
        if u.items == 0 {
            u.first_line = numbers[r];
        }
        u.items += 1;
        u.last_line = numbers[r];
    }
    u
}

fn check_batch(
    b: Batch,
    sources: &[Source],
    keys: &[(String, KeyCheck)],
    w: &mut ItemWriter,
    scanner: Option<&mut LineScanner>,
    ttl: Option<&str>,
    profile: Option<&Profiling>,
) -> Checked {
    let Format::Items(format) = sources[b.source].format else {
        unreachable!("item sources only")
    };
    let enc = LinesEncoder {
        format,
        keys: keys.to_vec(),
        syn: Syntax::Json,
    };
    let lines = b.rows.column(0).as_binary::<i32>();
    // Lines the reader refused (too long) are findings as they are, not checked again.
    let skip: Vec<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
    let numbers = b.lines.as_ref().expect("item batches carry line numbers");
    // Valid items are profiled as they are checked: from what the fast path recorded, or
    // (the plain path) from the item parsed again.
    let mut facts = profile.map(|_| crate::profile::BatchFacts::new(b.source));
    let encoded = match (format, scanner) {
        // The fast path takes the clean lines; the full path decides (and explains) the rest.
        (LineFormat::DynamodbJson, Some(scanner)) => {
            w.syn = Syntax::Json;
            encode_rows(lines.len(), &skip, w, |i, w, key_buf, keys| {
                let line = strip_cr(lines.value(i));
                let mark = keys.len();
                if let Some(size) = scanner.scan(line, keys) {
                    if let (Some(f), Some(p)) = (facts.as_mut(), profile) {
                        let s = &*scanner;
                        f.add_scanned(
                            &p.slots,
                            line,
                            size,
                            s.attrs(),
                            |k| s.key_value(k),
                            numbers[i],
                        );
                    }
                    return Ok(size);
                }
                keys.truncate(mark);
                let r = enc.encode_line(line, w, key_buf, keys);
                if let (Ok(size), Some(f), Some(p)) = (&r, facts.as_mut(), profile) {
                    if *size <= rules::MAX_ITEM_BYTES {
                        if let Ok(item) = format.parse_line(line) {
                            f.add(&p.indexes, &item, numbers[i]);
                        }
                    }
                }
                r
            })
        }
        _ => {
            let encoded = enc.encode(lines, &skip, w);
            if let (Some(f), Some(p)) = (facts.as_mut(), profile) {
                for &r in &encoded.rows {
                    if let Ok(item) = format.parse_line(strip_cr(lines.value(r as usize))) {
                        f.add(&p.indexes, &item, numbers[r as usize]);
                    }
                }
            }
            encoded
        }
    };
    let file = sources[b.source].display();
    let mut findings: Vec<Finding> = b
        .pre_rejects
        .iter()
        .map(|r| Finding {
            rule: r.rule,
            file: file.clone(),
            line: Some(numbers[r.index]),
            column: None,
            message: r.message.clone(),
            excerpt: Some(excerpt(lines.value(r.index))),
            unread: None,
        })
        .collect();
    let encoded_findings = encoded.rejects.iter().map(|r| {
        let value = lines.value(r.index);
        let raw = value.strip_suffix(b"\n").unwrap_or(value);
        let text = strip_cr(raw);
        // Parse errors again for their column (only bad lines get here).
        let column = format
            .parse_line(text)
            .err()
            .and_then(|e| e.column.map(|c| c as u64));
        Finding {
            rule: r.rule,
            file: file.clone(),
            line: Some(numbers[r.index]),
            column,
            message: r.message.clone(),
            excerpt: Some(excerpt(raw)),
            unread: None,
        }
    });
    findings.extend(encoded_findings);
    if let Some(ttl) = ttl {
        let rejected: std::collections::HashSet<usize> = skip
            .iter()
            .copied()
            .chain(encoded.rejects.iter().map(|r| r.index))
            .collect();
        for i in (0..lines.len()).filter(|i| !rejected.contains(i)) {
            let raw = lines.value(i);
            // Only lines that name the attribute are parsed again.
            if memchr::memmem::find(raw, ttl.as_bytes()).is_none() {
                continue;
            }
            let text = strip_cr(raw.strip_suffix(b"\n").unwrap_or(raw));
            let Ok(item) = format.parse_line(text) else {
                continue;
            };
            let Some((_, value)) = item.iter().find(|(n, _)| n == ttl) else {
                continue;
            };
            if let Err((rule, m)) = crate::shape::ttl::check_value(value) {
                findings.push(Finding {
                    rule,
                    file: file.clone(),
                    line: Some(numbers[i]),
                    column: None,
                    message: format!("{ttl} (TTL): {m}"),
                    excerpt: Some(excerpt(text)),
                    unread: None,
                });
            }
        }
        findings.sort_by_key(|f| f.line);
    }
    let key_lines = encoded.rows.iter().map(|&r| numbers[r as usize]).collect();
    // Lines keep their newline; an over-long line is held only in part.
    let offsets = lines.value_offsets();
    let line_bytes = (offsets[lines.len()] - offsets[0]) as u64
        + b.pre_rejects.iter().map(|r| r.unheld).sum::<u64>();
    let mut blank = vec![false; lines.len()];
    let mut abandon: Option<usize> = None;
    for r in &encoded.rejects {
        if std::ptr::eq(r.rule, &rules::BLANK_LINE) {
            blank[r.index] = true;
        } else if abandons_object(r.rule) && abandon.is_none_or(|a| r.index < a) {
            abandon = Some(r.index);
        }
    }
    Checked {
        source: b.source,
        rows: lines.len() as u64,
        findings,
        keys: encoded.keys,
        key_lines,
        nonblank: nonblank_lines(0..lines.len(), &blank, numbers),
        line_bytes,
        facts,
        abandons: abandon.map(|a| {
            (
                numbers[a],
                nonblank_lines(a + 1..lines.len(), &blank, numbers),
            )
        }),
    }
}

fn check_items(
    sources: Vec<(Source, Option<folder::Expect>)>,
    opts: &ValidateOptions,
    mut keys: Option<&mut KeySchema>,
    report: &mut Report,
) -> Result<Option<crate::profile::Profiler>> {
    let checks = key_checks(keys.as_deref_mut(), &sources)?;
    let key_names: Vec<String> = checks
        .iter()
        .filter(|(_, k)| k.role != crate::model::keys::KeyRole::Index)
        .map(|(n, _)| n.clone())
        .collect();
    let expects: Vec<Option<folder::Expect>> = sources.iter().map(|(_, e)| e.clone()).collect();
    let sources: Vec<Source> = sources.into_iter().map(|(s, _)| s).collect();
    let mut profiler = opts.profile.clone().map(|p| {
        let mut profiler = crate::profile::Profiler::new(keys.as_deref(), p);
        profiler.set_files(
            sources
                .iter()
                .map(|s| crate::profile::FileFigures {
                    file: s.display(),
                    stored_bytes: s.size,
                    ..Default::default()
                })
                .collect(),
        );
        // The order W001 is checked on below is the profile's too: tallied once.
        profiler.leave_order_to_caller();
        profiler
    });
    let profiling = profiler.as_ref().map(|p| {
        let indexes = p.indexes();
        let names: Vec<String> = checks.iter().map(|(n, _)| n.clone()).collect();
        Profiling {
            slots: crate::profile::KeySlots::new(&indexes, &names),
            indexes,
        }
    });
    let threads = opts.threads.max(1);
    let pool = crate::pipeline::producer_pool(threads)?;
    let ropts = ReadOptions {
        batch_rows: opts.batch_rows,
        keep_blank: true,
        blocks: Default::default(),
        csv: input::csv::CsvOptions {
            delimiter: None,
            columns: None,
            sample_rows: 0,
        },
        max_line: opts.max_line,
    };
    let units = sources
        .iter()
        .enumerate()
        .map(|(i, s)| input::Unit {
            source: i,
            part: input::UnitPart::Whole,
            first_row: 0,
            weight: s.size,
        })
        .collect();
    let mut batches = input::Ahead::new(
        Arc::new(sources.clone()),
        Arc::new(ropts),
        units,
        input::read_ahead(&sources, threads),
    )
    .at_nice(crate::pipeline::PRODUCER_NICE);
    let mut dups = (opts.duplicates && !checks.is_empty()).then(|| {
        let dir = opts.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
        DupFinder::new(Some(Spill {
            dir,
            memory: opts.dup_memory.max(1 << 20),
        }))
    });
    let mut dup_error = None;
    let mut lines_by_source = vec![0u64; sources.len()];
    // Per file: its non-blank lines, and where (if anywhere) the import gives it up.
    let mut items_by_source = vec![0u64; sources.len()];
    let mut abandoned: Vec<Option<(u64, Unread)>> = vec![None; sources.len()];
    let mut order = vec![OrderTally::default(); sources.len()];
    let names: Vec<String> = sources.iter().map(Source::display).collect();
    // A file that cannot be read to its end (a damaged stream) is a finding; the other files
    // are still checked.
    let mut unreadable: Vec<(usize, anyhow::Error)> = Vec::new();
    let batches_ok = std::iter::from_fn(|| loop {
        match batches.next_of_source()? {
            (_, Ok(b)) => return Some(b),
            (source, Err(e)) => unreadable.push((source, e)),
        }
    });
    crate::pipeline::ordered(
        &pool,
        batches_ok,
        threads * 2,
        || {
            let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
            w.strict = true;
            w.discard = true;
            let scanner = LineScanner::new(&checks);
            let scanner = match &profiling {
                Some(_) => scanner.recording(),
                None => scanner,
            };
            (w, scanner)
        },
        |(w, scanner), b| {
            check_batch(
                b,
                &sources,
                &checks,
                w,
                opts.fast.then_some(scanner),
                opts.ttl.as_deref(),
                profiling.as_ref(),
            )
        },
        |mut c| {
            if let Some(p) = profiler.as_mut() {
                p.add_lines(c.source, c.rows, c.line_bytes);
                if let Some(f) = c.facts.take() {
                    p.add(f);
                }
            }
            lines_by_source[c.source] += c.rows;
            items_by_source[c.source] += c.nonblank.items;
            let lost = &mut abandoned[c.source];
            match (lost.as_mut(), c.abandons) {
                (Some((_, u)), _) => *u = u.join(c.nonblank),
                (None, Some(first)) => *lost = Some(first),
                (None, None) => {}
            }
            report.lines += c.rows;
            for f in c.findings {
                report.add(f);
            }
            report.items += c.key_lines.len() as u64;
            if checks.is_empty() {
                return true;
            }
            let o = &mut order[c.source];
            for (k, line) in c.key_lines.iter().enumerate() {
                let key = c.keys.get(k);
                o.add(key);
                if let Some(d) = dups.as_mut() {
                    if let Err(e) = d.insert(c.keys.hashes[k], key, c.source as u32, *line) {
                        dup_error = Some(e);
                        return false;
                    }
                }
            }
            true
        },
    );
    if let Some(e) = dup_error {
        return Err(e);
    }
    let mut profiled = profiler;
    if let Some(p) = profiled.as_mut() {
        p.set_order(order.clone());
    }
    if let Some(d) = dups {
        let mut found = d.finish()?;
        while let Some(d) = found.next_duplicate()? {
            let shown: Vec<String> = key_names
                .iter()
                .zip(split_key(&d.key))
                .map(|(n, (_, v))| format!("{n}={}", String::from_utf8_lossy(v)))
                .collect();
            report.add(Finding {
                rule: &rules::DUPLICATE_KEY,
                file: names[d.source as usize].clone(),
                line: Some(d.row),
                column: None,
                message: format!(
                    "primary key {} was first seen at {}:{}; the import keeps one of them at random",
                    shown.join(", "),
                    names[d.first.source as usize],
                    d.first.row
                ),
                excerpt: None,
                unread: None,
            });
        }
    }
    for (source, lost) in abandoned.iter().enumerate() {
        let Some((line, unread)) = *lost else {
            continue;
        };
        if unread.items == 0 {
            continue;
        }
        report.unread_items += unread.items;
        report.unread_files += 1;
        let at = report
            .findings
            .iter_mut()
            .find(|f| f.file == names[source] && f.line == Some(line) && abandons_object(f.rule));
        if let Some(f) = at {
            f.message = format!("{}; {}", f.message, unread.describe());
            f.unread = Some(unread);
        }
    }
    let mut failed = vec![false; sources.len()];
    for (source, e) in unreadable {
        if e.downcast_ref::<input::ReaderPanicked>().is_some() {
            return Err(e);
        }
        failed[source] = true;
        report.add(unreadable_finding(
            names[source].clone(),
            Some(lines_by_source[source]),
            &e,
        ));
    }
    for (i, o) in order.iter().enumerate() {
        if o.sorted() {
            report.add(Finding::file(
                &rules::SORTED_BY_KEY,
                names[i].clone(),
                format!(
                    "{} of {} consecutive items ascend by partition key: the import would write one partition at a time; shuffle the rows",
                    o.ascending, o.pairs
                ),
            ));
        }
    }
    for (i, e) in expects.iter().enumerate() {
        // A file read only in part has its own finding; its line count says nothing more.
        if failed[i] {
            continue;
        }
        if let Some(e) = e {
            if let Some(n) = e.items {
                // Blank lines are not items (the import skips them).
                let got = items_by_source[i];
                if got != n {
                    report.add(Finding::file(
                        &rules::MANIFEST_MISMATCH,
                        names[i].clone(),
                        format!(
                            "itemCount mismatch: the manifest says {n}, the file holds {got} non-blank lines"
                        ),
                    ));
                }
            }
        }
    }
    Ok(profiled)
}

/// X007 for a data file whose reading failed after `lines` lines were checked.
pub(crate) fn unreadable_finding(file: String, lines: Option<u64>, e: &anyhow::Error) -> Finding {
    let what = match crate::input::parse::lines::DamagedStream::find(e) {
        Some(d) => d.to_string(),
        None => format!("{e:#}"),
    };
    let message = match lines {
        Some(0) => format!("{what}; none of its lines were checked"),
        Some(n) => format!("{what}; the {n} lines before it were checked"),
        None => what,
    };
    Finding::file(&rules::UNREADABLE_OBJECT, file, message)
}
