//! Telling an input's format: by its name where it says, else by its first bytes; a name that
//! says the file is no data (README.md) is refused.

use super::*;

fn lower_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

pub(super) fn known_extension(p: &Path) -> bool {
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
        ".jsonl.gz",
        ".jsonl.zst",
        ".ndjson",
        ".ndjson.gz",
        ".ndjson.zst",
        ".ion",
        ".ion.gz",
        ".ion.zst",
    ]
    .iter()
    .any(|e| n.ends_with(e))
}

/// [`sniff`] for a local file that may not be readable (then: not recognised).
pub(super) fn sniff_path(p: &Path) -> Option<(Format, Packing)> {
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
    } else if h.starts_with(b"Obj\x01") {
        Some((Format::Avro, Packing::Plain))
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
pub(crate) fn detect_object(
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

/// [`detect_object`] for many objects, `in_flight` at a time: a remote object costs a request
/// or two, so thousands of small ones told apart one after the other would take as long as
/// their requests in a row. The sources in the order given; the first error (in that order)
/// stops the rest.
pub fn detect_objects(objects: Vec<Arc<dyn InputObject>>, in_flight: usize) -> Result<Vec<Source>> {
    let mut out = Vec::with_capacity(objects.len());
    // Every object before a failed one was taken before it, so it has its result.
    for r in detect_in_parallel(objects, in_flight, true) {
        match r {
            Some(r) => out.push(r?),
            None => break,
        }
    }
    Ok(out)
}

/// [`detect_objects`] that goes on past errors: each object's result, in the order given.
pub fn detect_each(objects: Vec<Arc<dyn InputObject>>, in_flight: usize) -> Vec<Result<Source>> {
    detect_in_parallel(objects, in_flight, false)
        .into_iter()
        .map(|r| r.expect("every object is told apart"))
        .collect()
}

/// Each object's result (`None` for those not reached once `stop_on_error` stopped the rest).
fn detect_in_parallel(
    objects: Vec<Arc<dyn InputObject>>,
    in_flight: usize,
    stop_on_error: bool,
) -> Vec<Option<Result<Source>>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let n = objects.len();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<std::sync::Mutex<Option<Result<Source>>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..in_flight.clamp(1, n.max(1)) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(o) = objects.get(i) else { break };
                    let r = detect_object(o.clone(), None);
                    if r.is_err() && stop_on_error {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().ok().flatten())
        .collect()
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
        Format::Items(LineFormat::DynamodbJson) | Format::Json(_) => {
            has(&[".json", ".jsonl", ".ndjson"])
        }
        Format::Items(LineFormat::Ion) => has(&[".ion"]),
        Format::Parquet | Format::ArrowFile | Format::ArrowStream | Format::Avro => true,
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
            "{}: a .{} file is not data; prep reads CSV/TSV (.csv, .tsv, .txt, .dat), Parquet, Arrow IPC, DynamoDB JSON and plain JSON (.json, .jsonl, .ndjson), Avro and Ion (.ion), plain or .gz/.zst. Leave it out, or rename it if it is CSV",
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

/// CSV, DynamoDB JSON, Ion or plain JSON, from the first (decompressed) bytes and the name.
fn text_format(obj: &dyn InputObject) -> Result<Format> {
    let mut r = crate::input::parse::lines::open_decompressed(obj)?;
    let mut head = vec![0u8; HEAD];
    let n =
        read_up_to(&mut r, &mut head).with_context(|| format!("cannot read {}", obj.display()))?;
    let head = &head[..n];
    if head.starts_with(&[0xe0, 0x01, 0x00, 0xea]) {
        bail!(
            "{}: binary Ion is not supported (DynamoDB imports text Ion)",
            obj.display()
        );
    }
    let n = obj.name().to_ascii_lowercase();
    let n = n
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .to_string();
    Ok(text_format_of(head, &n))
}

/// How much of a text file [`text_format`] looks at: enough for the first document of a JSON
/// input to show MongoDB's `$oid` or `$date`.
const HEAD: usize = 4096;

/// [`text_format`] from the first bytes `head` and the lower-case name `n` (less .gz/.zst).
fn text_format_of(head: &[u8], n: &str) -> Format {
    let trimmed: &[u8] = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = trimmed
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(trimmed.len());
    let trimmed = &trimmed[start..];
    let json_named = n.ends_with(".json") || n.ends_with(".jsonl") || n.ends_with(".ndjson");
    if trimmed.starts_with(b"$ion_1_0") || trimmed.starts_with(b"{Item:") || n.ends_with(".ion") {
        return Format::Items(LineFormat::Ion);
    }
    let mongo = [
        &b"\"$oid\""[..],
        b"\"$date\"",
        b"\"$numberLong\"",
        b"\"$numberDecimal\"",
    ]
    .iter()
    .any(|m| memchr::memmem::find(trimmed, m).is_some());
    match trimmed.first() {
        Some(b'{') => match first_name(&trimmed[1..]) {
            // DynamoDB JSON's wrapper: an export's or an earlier output's lines.
            Some(b"Item") => Format::Items(LineFormat::DynamodbJson),
            Some(_) => Format::Json(JsonKind {
                array: false,
                mongo,
            }),
            // `{}`, or no name in the head.
            None if json_named => Format::Items(LineFormat::DynamodbJson),
            None => Format::Csv,
        },
        Some(b'[')
            if json_named
                || trimmed[1..]
                    .iter()
                    .find(|c| !c.is_ascii_whitespace())
                    .is_some_and(|c| matches!(c, b'{' | b']')) =>
        {
            Format::Json(JsonKind { array: true, mongo })
        }
        _ if json_named => Format::Items(LineFormat::DynamodbJson),
        _ => Format::Csv,
    }
}

/// The first name of a JSON object whose `{` came just before `rest`, if the head has it whole
/// (a plain string without escapes).
fn first_name(rest: &[u8]) -> Option<&[u8]> {
    let start = rest.iter().position(|c| !c.is_ascii_whitespace())?;
    let rest = rest[start..].strip_prefix(b"\"")?;
    let end = rest
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c == b'\n')?;
    (rest[end] == b'"').then_some(&rest[..end])
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

    /// JSON is told apart by its first value: an object whose first name is Item is DynamoDB
    /// JSON, another object a plain document, an array of objects a JSON array; MongoDB's
    /// wrappers in the first documents say the dialect; a .json name decides what is left.
    #[test]
    fn json_kinds_from_the_first_bytes() {
        let lines = |mongo| {
            Format::Json(JsonKind {
                array: false,
                mongo,
            })
        };
        let array = |mongo| Format::Json(JsonKind { array: true, mongo });
        let ddb = Format::Items(LineFormat::DynamodbJson);
        for (head, name, want) in [
            (&b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}"[..], "x.json", ddb),
            (b"\xEF\xBB\xBF  {\"Item\":{}}", "x", ddb),
            (b"{\"id\":1}\n", "x.jsonl", lines(false)),
            (b"{\"id\":1}\n", "000000_0", lines(false)),
            (b" { \"id\": 1}", "events", lines(false)),
            (b"{\"_id\":{\"$oid\":\"65f1\"}}", "users.json", lines(true)),
            (
                b"{\"a\":1,\"t\":{\"$date\":\"2024-01-01\"}}",
                "x.json",
                lines(true),
            ),
            (b"[{\"id\":1}]", "dump", array(false)),
            (
                b"[\n  {\"_id\": {\"$oid\": \"1\"}}]",
                "dump.json",
                array(true),
            ),
            (b"[]", "x.json", array(false)),
            (b"[1,2]", "x.json", array(false)),
            (b"[a],b\n1,2\n", "x.csv", Format::Csv),
            (b"[a],b\n1,2\n", "data", Format::Csv),
            (b"{\n  \"Item\": {}\n}", "x.json", ddb),
            (b"{\n  \"id\": 1\n}", "x", lines(false)),
            (b"{}\n", "x", Format::Csv),
            (b"{}\n", "x.jsonl", ddb),
            (b"", "empty.json", ddb),
            (b"id,name\n", "x", Format::Csv),
            (b"$ion_1_0 {Item:{}}", "x", Format::Items(LineFormat::Ion)),
        ] {
            assert_eq!(
                text_format_of(head, name),
                want,
                "{:?} named {name}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
