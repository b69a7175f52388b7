//! Plain references for prep's hand-written fast paths, and the differential checks that hold
//! each fast path against its reference. Shared by the property tests (tests/differential.rs),
//! the replay of the fuzz corpora (same file) and the cargo-fuzz targets (fuzz/), which include
//! this file by path. Each check panics with what differed.
#![allow(dead_code)]

/// The plain CRC64-NVME, shared with the CLI tests (tests/common).
pub mod crc;
pub use crc::crc64nvme;

use prep::encoding::item_lines::LinesEncoder;
use prep::encoding::plan::KeyCheck;
use prep::encoding::{ItemWriter, Nulls, Syntax};
use prep::input::parse::LineFormat;
use prep::model::keys::{KeyRole, ScalarType};
use prep::model::number::{self, NumError};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// JSON string escaping

/// The JSON escape of one byte, written out case by case (no table shared with prep).
fn escape_byte(c: u8, out: &mut Vec<u8>) {
    match c {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        0..=0x1f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
        _ => out.push(c),
    }
}

/// A string body escaped one byte at a time.
pub fn escape_plain(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for &c in v {
        escape_byte(c, &mut out);
    }
    out
}

/// prep's escaping of `v` equals the byte-at-a-time reference and, for text, serde_json's; the
/// escape search stops exactly where the reference would, from every start.
pub fn check_escape(v: &[u8]) {
    check_escaped(v);
    let special = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
    for from in 0..=v.len().min(80) {
        let want = (from..v.len()).find(|&k| special(v[k])).unwrap_or(v.len());
        assert_eq!(
            prep::encoding::find_escape(v, from),
            want,
            "find_escape from {from}"
        );
        let want = (from..v.len())
            .find(|&k| special(v[k]) || v[k] >= 0x80)
            .unwrap_or(v.len());
        assert_eq!(
            prep::encoding::find_special::<true>(v, from),
            want,
            "find_special from {from}"
        );
    }
}

/// The escaped bytes alone (see [`check_escape`]).
pub fn check_escaped(v: &[u8]) {
    let mut got = Vec::new();
    prep::encoding::escape_into(v, &mut got);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&escape_plain(v)),
        "escape of {:?}",
        String::from_utf8_lossy(v)
    );
    assert_eq!(got, escape_plain(v));
    if let Ok(s) = std::str::from_utf8(v) {
        let json = serde_json::to_string(s).unwrap();
        assert_eq!(got, json.as_bytes()[1..json.len() - 1], "serde_json: {s:?}");
        let back: String = serde_json::from_slice(&[b"\"", &got[..], b"\""].concat()).unwrap();
        assert_eq!(back, s);
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// A DynamoDB number by the book, on decimal digit strings: the canonical text and the size it
/// counts for, or why it cannot be stored. Syntax `-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`.
pub fn number_plain(text: &str) -> Result<(String, usize), NumError> {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(k) => (&rest[..k], Some(&rest[k + 1..])),
        None => (rest, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) || (int.is_empty() && frac.is_empty()) {
        return Err(NumError::Syntax);
    }
    let exp: i128 = match exp {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(NumError::Syntax);
            }
            // Beyond 30 significant digits the value is out of range whatever the mantissa (or
            // zero): clamp it there.
            let digits = digits.trim_start_matches('0');
            let v: i128 = if digits.is_empty() {
                0
            } else if digits.len() > 30 {
                10i128.pow(30)
            } else {
                digits.parse().unwrap()
            };
            if e.starts_with('-') {
                -v
            } else {
                v
            }
        }
    };
    // value = digits * 10^scale
    let digits = format!("{int}{frac}");
    let mut scale = exp - frac.len() as i128;
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(("0".into(), 1));
    }
    let trimmed = digits.trim_end_matches('0');
    scale += (digits.len() - trimmed.len()) as i128;
    let d = trimmed.len();
    let lead = scale + d as i128 - 1;
    if d > 38 {
        return Err(NumError::TooManyDigits);
    }
    if lead > 125 {
        return Err(NumError::Overflow);
    }
    if lead < -130 {
        return Err(NumError::Underflow);
    }
    let sign = if neg { "-" } else { "" };
    let text = if (0..38).contains(&lead) {
        let int_len = lead as usize + 1;
        if int_len >= d {
            format!("{sign}{trimmed}{}", "0".repeat(int_len - d))
        } else {
            format!("{sign}{}.{}", &trimmed[..int_len], &trimmed[int_len..])
        }
    } else if (-7..0).contains(&lead) {
        format!("{sign}0.{}{trimmed}", "0".repeat((-lead - 1) as usize))
    } else {
        let tail = if d > 1 {
            format!(".{}", &trimmed[1..])
        } else {
            String::new()
        };
        format!(
            "{sign}{}{tail}E{}{}",
            &trimmed[..1],
            if lead < 0 { '-' } else { '+' },
            lead.abs()
        )
    };
    // DynamoDB's size: 1 + ceil(d/2), +1 when d and the leading digit's exponent are both
    // even, +1 when negative.
    let size = 1 + d.div_ceil(2) + usize::from(d % 2 == 0 && lead % 2 == 0) + usize::from(neg);
    Ok((text, size))
}

/// prep's canonical number text and size equal the reference's (or the same error).
pub fn check_number(text: &[u8]) {
    let mut out = Vec::new();
    let got = number::canonicalize(text, &mut out).map(|size| (out.clone(), size));
    let want = match std::str::from_utf8(text) {
        Ok(s) => number_plain(s).map(|(t, size)| (t.into_bytes(), size)),
        Err(_) => Err(NumError::Syntax),
    };
    assert_eq!(
        got.as_ref().map(|(t, s)| (String::from_utf8_lossy(t), *s)),
        want.as_ref().map(|(t, s)| (String::from_utf8_lossy(t), *s)),
        "number {:?}",
        String::from_utf8_lossy(text)
    );
    assert_eq!(
        number::checked_size(text),
        want.as_ref().map(|(_, s)| *s).map_err(|e| *e),
        "checked_size {:?}",
        String::from_utf8_lossy(text)
    );
}

// ---------------------------------------------------------------------------------------------
// CSV records

/// The csv crate's records of `text` (no header, any field count).
pub fn csv_records(text: &[u8], delim: u8) -> Vec<Vec<Vec<u8>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(text);
    let mut rec = csv::ByteRecord::new();
    let mut out = Vec::new();
    while r.read_byte_record(&mut rec).unwrap() {
        out.push(rec.iter().map(|f| f.to_vec()).collect());
    }
    out
}

/// Reads at most `n` bytes at a time, so records are cut by reads at every place.
pub struct Dribble<'a>(pub &'a [u8], pub usize);

impl std::io::Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A splitter's records: (line, too long, cells).
type Split = Vec<(u64, Option<u64>, Vec<Vec<u8>>)>;

fn split_csv(text: &[u8], delim: u8, block: usize, max: Option<usize>) -> Split {
    let mut s = prep::input::csv_split::Splitter::new(Dribble(text, block), delim);
    if let Some(max) = max {
        s = s.with_max_record(max);
    }
    let mut cells = Vec::new();
    let mut got = Vec::new();
    while let Some(r) = s.next_record(&mut cells).unwrap() {
        let b = s.bytes();
        let cells = cells.iter().map(|&(a, z)| b[a..z].to_vec()).collect();
        got.push((r.line, r.too_long, cells));
    }
    got
}

/// prep's CSV record splitter gives the csv crate's records, whatever the read sizes; with a
/// small record limit, it gives the same records on the same lines, except that those longer
/// than the limit come back marked, with no cells and a length their cells fit in.
pub fn check_csv(text: &[u8], delim: u8) {
    let want = csv_records(text, delim);
    let whole = split_csv(text, delim, 1 << 16, None);
    for block in [1, 7, 64, 1 << 16] {
        let got = split_csv(text, delim, block, None);
        assert_eq!(
            got,
            whole,
            "block {block}: {:?}",
            String::from_utf8_lossy(text)
        );
        let cells: Vec<_> = got.into_iter().map(|(_, _, c)| c).collect();
        assert_eq!(
            cells,
            want,
            "block {block}: {:?}",
            String::from_utf8_lossy(text)
        );
    }
    for (max, block) in [(3, 1), (8, 7), (40, 64)] {
        let got = split_csv(text, delim, block, Some(max));
        assert_eq!(
            got.len(),
            whole.len(),
            "max {max}: {:?}",
            String::from_utf8_lossy(text)
        );
        for (g, w) in got.iter().zip(&whole) {
            assert_eq!(g.0, w.0, "max {max}: the line of {w:?}");
            let n = w.2.len() as u64;
            let sum: u64 = w.2.iter().map(|c| c.len() as u64).sum();
            match g.1 {
                None => {
                    assert_eq!(g.2, w.2, "max {max}");
                    assert!(sum + n - 1 <= max as u64, "max {max}: {w:?} is kept");
                }
                Some(len) => {
                    assert!(g.2.is_empty());
                    assert!(len > max as u64, "max {max}: {len}");
                    assert!(
                        sum + n - 1 <= len && len <= 2 * sum + 3 * n,
                        "{len} for {w:?}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item lines: the full readers, the validate scanner, and what they write

/// The key checks the line checks run with: pk (S, partition), sk (N, sort), g (B, GSI).
pub fn line_keys() -> Vec<(String, KeyCheck)> {
    vec![
        (
            "pk".into(),
            KeyCheck {
                role: KeyRole::Partition,
                ty: ScalarType::S,
            },
        ),
        (
            "sk".into(),
            KeyCheck {
                role: KeyRole::Sort,
                ty: ScalarType::N,
            },
        ),
        (
            "g".into(),
            KeyCheck {
                role: KeyRole::Index,
                ty: ScalarType::B,
            },
        ),
    ]
}

/// One item line through prep's full reader and checks into `syn`: the item's size and key,
/// and the written line; or the rule that refused it.
pub fn encode_line(
    format: LineFormat,
    syn: Syntax,
    line: &[u8],
) -> Result<(usize, Vec<u8>, Vec<u8>), &'static str> {
    let enc = LinesEncoder {
        format,
        keys: line_keys(),
        syn,
    };
    let mut w = ItemWriter::new(syn, Nulls::Omit);
    w.strict = true;
    let (mut key_buf, mut keys) = (Vec::new(), Vec::new());
    match enc.encode_line(line, &mut w, &mut key_buf, &mut keys) {
        Ok(size) => Ok((size, keys, w.out)),
        Err((rule, _)) => Err(rule.code),
    }
}

/// A DynamoDB JSON item as plain values, by serde_json alone.
fn json_item_plain(line: &[u8]) -> Option<serde_json::Map<String, Value>> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let item = v.as_object()?.get("Item")?.as_object()?.clone();
    Some(item)
}

/// A DynamoDB JSON line: prep's reader never panics; a line it accepts is written back as a
/// line serde_json reads, holding the same attributes; where the validate scanner takes a line
/// (its fast path), the full reader takes it too with the same size and key.
pub fn check_json_line(line: &[u8]) {
    let full = encode_line(LineFormat::DynamodbJson, Syntax::Json, line);
    let mut scanner = prep::encoding::scan::LineScanner::new(&line_keys());
    let mut scanned_key = Vec::new();
    let scanned = scanner.scan(line, &mut scanned_key);
    check_scanned_facts(line, scanned, &scanned_key);
    if let Some(size) = scanned {
        let Ok((full_size, key, _)) = &full else {
            panic!(
                "the scanner took a line the full reader refuses ({:?}): {:?}",
                full,
                String::from_utf8_lossy(line)
            );
        };
        assert_eq!(
            (size, &scanned_key),
            (*full_size, key),
            "scanner and full reader: {:?}",
            String::from_utf8_lossy(line)
        );
    }
    if let Ok((_, _, out)) = &full {
        let written = [&b"{\"Item\":{"[..], &out[..], b"}}"].concat();
        let back = json_item_plain(&written).unwrap_or_else(|| {
            panic!(
                "prep wrote an unreadable item {:?} for {:?}",
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(line)
            )
        });
        if let Some(input) = json_item_plain(line) {
            let sorted = |m: &serde_json::Map<String, Value>| {
                let mut k: Vec<String> = m.keys().cloned().collect();
                k.sort();
                k
            };
            assert_eq!(
                sorted(&back),
                sorted(&input),
                "attribute names survive: {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

/// The indexes of [`line_keys`]: the table (pk, sort sk) and one GSI on g.
fn line_indexes() -> Vec<prep::profile::Index> {
    vec![
        prep::profile::Index {
            name: None,
            partition: vec!["pk".into()],
            sort: vec!["sk".into()],
        },
        prep::profile::Index {
            name: Some("byG".into()),
            partition: vec!["g".into()],
            sort: vec![],
        },
    ]
}

/// `prep inspect`'s fast path: the scanner recording a line's attributes gives the same scan
/// (size, key) as without recording, and the facts it records are those the plain path reads
/// from the parsed item (sizes, keys of every index, names, types, depth, set sizes).
fn check_scanned_facts(line: &[u8], scanned: Option<usize>, scanned_key: &[u8]) {
    use prep::profile::{BatchFacts, KeySlots};
    let keys = line_keys();
    let mut recording = prep::encoding::scan::LineScanner::new(&keys).recording();
    let mut key = Vec::new();
    let size = recording.scan(line, &mut key);
    assert_eq!(
        (size, key.as_slice()),
        (scanned, scanned_key),
        "recording changed the scan of {:?}",
        String::from_utf8_lossy(line)
    );
    let Some(size) = size else {
        return;
    };
    let item = LineFormat::DynamodbJson
        .parse_line(line)
        .expect("the scanner took a line the reader refuses (check_json_line says so too)");
    let indexes = line_indexes();
    let mut plain = BatchFacts::new(0);
    plain.add(&indexes, &item, 7);
    let names: Vec<String> = keys.iter().map(|(n, _)| n.clone()).collect();
    let mut fast = BatchFacts::new(0);
    fast.add_scanned(
        &KeySlots::new(&indexes, &names),
        line,
        size,
        recording.attrs(),
        |k| recording.key_value(k),
        7,
    );
    assert_eq!(
        fast,
        plain,
        "scanner and reader facts of {:?}",
        String::from_utf8_lossy(line)
    );
}

/// An Ion item line: prep's reader never panics, and what it accepts is written as DynamoDB
/// JSON that serde_json reads.
pub fn check_ion_line(line: &[u8]) {
    if let Ok((_, _, out)) = encode_line(LineFormat::Ion, Syntax::Json, line) {
        let written = [&b"{\"Item\":{"[..], &out[..], b"}}"].concat();
        assert!(
            json_item_plain(&written).is_some(),
            "prep wrote an unreadable item {:?} for {:?}",
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(line)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The CRC64-NVME of an S3 input taken from the ranges its readers fetch

/// `data` is the object; its first bytes also say how it is read: `data[1]` picks the reader
/// threads (1–3), `data[2]` how many ranges, and each range's start and length come from the
/// bytes after that (wrapping). The ranges are offered from the threads in turn; the gaps left
/// must be exactly the bytes no range covered; they are then filled in 7-byte pieces as a stream
/// would hand them over, and the digest must be the plain CRC64-NVME of the whole object.
pub fn check_read_digest(data: &[u8]) {
    use prep::input::read_digest::ReadDigest;
    let byte = |i: usize| data.get(i % data.len().max(1)).copied().unwrap_or(0) as usize;
    let threads = 1 + byte(1) % 3;
    let len = data.len();
    let ranges: Vec<(usize, usize)> = (0..byte(2) % 24)
        .filter(|_| len > 0)
        .map(|i| {
            let a = (byte(3 + 4 * i) << 8 | byte(4 + 4 * i)) % len;
            let n = 1 + (byte(5 + 4 * i) << 8 | byte(6 + 4 * i)) % 1200;
            (a, (a + n).min(len))
        })
        .collect();
    let obj = bytes::Bytes::copy_from_slice(data);
    let d = ReadDigest::new(len as u64);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (d, obj, ranges) = (&d, &obj, &ranges);
            s.spawn(move || {
                for &(a, b) in ranges.iter().skip(t).step_by(threads) {
                    d.offer(a as u64, &obj.slice(a..b));
                }
            });
        }
    });
    let mut covered = vec![false; len];
    for &(a, b) in &ranges {
        covered[a..b].iter_mut().for_each(|c| *c = true);
    }
    let mut want_gaps = Vec::new();
    let mut i = 0;
    while i < len {
        if covered[i] {
            i += 1;
            continue;
        }
        let from = i;
        while i < len && !covered[i] {
            i += 1;
        }
        want_gaps.push((from as u64, i as u64));
    }
    let gaps = d.gaps();
    assert_eq!(gaps, want_gaps, "ranges {ranges:?}, threads {threads}");
    if !gaps.is_empty() {
        assert_eq!(d.finish(), None, "a digest with gaps left");
    }
    for (a, b) in gaps {
        let mut p = a as usize;
        while p < b as usize {
            let q = (p + 7).min(b as usize);
            d.offer(p as u64, &obj.slice(p..q));
            p = q;
        }
    }
    assert_eq!(
        d.finish(),
        Some(crc64nvme(data)),
        "ranges {ranges:?}, threads {threads}"
    );
}

// ---------------------------------------------------------------------------------------------
// Templates (single-table design): parsing and rendering over Arrow columns

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

/// What a reference placeholder asks for.
#[derive(Debug, Clone, PartialEq)]
enum RefFormat {
    Plain,
    Pad(usize),
    /// A chrono format string of the subset prep documents.
    Time(String),
}

#[derive(Debug, Clone, PartialEq)]
enum RefPiece {
    Text(String),
    Field(String, RefFormat),
}

/// Why a reference cell has no text (prep's `Miss`, by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefMiss {
    Null,
    Empty,
    Bad,
}

/// A template read one character at a time, by its documented grammar; `None` when it is not
/// one.
fn ref_parse(t: &str) -> Option<Vec<RefPiece>> {
    let chars: Vec<char> = t.chars().collect();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        let next = chars.get(k + 1).copied();
        if c == '{' && next == Some('{') || c == '}' && next == Some('}') {
            text.push(c);
            k += 2;
            continue;
        }
        if c == '}' {
            return None;
        }
        if c != '{' {
            text.push(c);
            k += 1;
            continue;
        }
        let close = (k + 1..chars.len()).find(|&j| chars[j] == '}')?;
        let inner: String = chars[k + 1..close].iter().collect();
        if inner.contains('{') {
            return None;
        }
        if !text.is_empty() {
            pieces.push(RefPiece::Text(std::mem::take(&mut text)));
        }
        let (path, spec) = match inner.find(':') {
            Some(p) => (inner[..p].to_string(), Some(inner[p + 1..].to_string())),
            None => (inner.clone(), None),
        };
        if path.is_empty() {
            return None;
        }
        let format = match spec {
            None => RefFormat::Plain,
            Some(s) if s.starts_with('%') => RefFormat::Time(ref_strftime(&s)?),
            Some(s)
                if s.len() >= 2 && s.starts_with('0') && s.chars().all(|c| c.is_ascii_digit()) =>
            {
                let w: usize = s.parse().ok()?;
                if !(1..=64).contains(&w) {
                    return None;
                }
                RefFormat::Pad(w)
            }
            Some(_) => return None,
        };
        pieces.push(RefPiece::Field(path, format));
        k = close + 1;
    }
    if !text.is_empty() {
        pieces.push(RefPiece::Text(text));
    }
    Some(pieces)
}

/// The format as chrono writes it, if every directive is in prep's subset (literal text is
/// escaped for chrono by doubling nothing: chrono only reads `%`).
fn ref_strftime(s: &str) -> Option<String> {
    let c: Vec<char> = s.chars().collect();
    let mut k = 0;
    while k < c.len() {
        if c[k] == '%' {
            match c.get(k + 1)? {
                'Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'j' | 's' | 'F' | 'T' | '%' => k += 2,
                '3' | '6' | '9' if c.get(k + 2) == Some(&'f') => k += 3,
                _ => return None,
            }
        } else {
            k += 1;
        }
    }
    Some(s.to_string())
}

/// The column a path names: a column of that name, else struct fields below the first part.
fn ref_column(
    batch: &RecordBatch,
    path: &str,
) -> Option<(arrow_array::ArrayRef, Vec<arrow_array::ArrayRef>)> {
    if let Ok(i) = batch.schema().index_of(path) {
        return Some((batch.column(i).clone(), Vec::new()));
    }
    let mut parts = path.split('.');
    let mut a = batch
        .column(batch.schema().index_of(parts.next()?).ok()?)
        .clone();
    let mut parents = Vec::new();
    for p in parts {
        let DataType::Struct(fields) = a.data_type().clone() else {
            return None;
        };
        let k = fields.iter().position(|f| f.name() == p)?;
        parents.push(a.clone());
        a = a.as_struct().column(k).clone();
    }
    Some((a, parents))
}

fn ref_time(secs: i64, nanos: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, nanos).expect("in chrono's range")
}

/// Seconds and nanoseconds of a date or timestamp cell.
fn ref_instant(a: &dyn Array, i: usize) -> Option<(i64, u32, Option<u32>, bool)> {
    use arrow_array::types::*;
    let split = |v: i64, per: i64| {
        (
            v.div_euclid(per),
            (v.rem_euclid(per) * (1_000_000_000 / per)) as u32,
        )
    };
    Some(match a.data_type() {
        DataType::Date32 => (
            a.as_primitive::<Date32Type>().value(i) as i64 * 86_400,
            0,
            None,
            false,
        ),
        DataType::Timestamp(u, tz) => {
            let (v, per, digits) = match u {
                TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(i), 1, 0),
                TimeUnit::Millisecond => (
                    a.as_primitive::<TimestampMillisecondType>().value(i),
                    1_000,
                    3,
                ),
                TimeUnit::Microsecond => (
                    a.as_primitive::<TimestampMicrosecondType>().value(i),
                    1_000_000,
                    6,
                ),
                TimeUnit::Nanosecond => (
                    a.as_primitive::<TimestampNanosecondType>().value(i),
                    1_000_000_000,
                    9,
                ),
            };
            let (s, n) = split(v, per);
            (s, n, Some(digits), tz.is_some())
        }
        _ => return None,
    })
}

/// ISO-8601 text by chrono: RFC 3339, or a zone-less date-time or date taken as UTC. A leap
/// second (`:60`, which chrono holds as a second nanosecond count on :59) is the last second
/// of its minute, as prep documents it (POSIX time has no leap seconds).
fn ref_parse_iso(s: &str) -> Option<(i64, u32)> {
    let posix = |secs: i64, nanos: u32| Some((secs, nanos % 1_000_000_000));
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return posix(t.timestamp(), t.timestamp_subsec_nanos());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            let t = t.and_utc();
            return posix(t.timestamp(), t.timestamp_subsec_nanos());
        }
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    // chrono reads any number of year digits; prep takes four.
    if s.len() != 10 {
        return None;
    }
    let t = d.and_hms_opt(0, 0, 0)?.and_utc();
    Some((t.timestamp(), 0))
}

/// One cell as the reference renders it.
fn ref_cell(a: &dyn Array, i: usize, format: &RefFormat) -> Result<String, RefMiss> {
    use arrow_array::types::*;
    if a.is_null(i) {
        return Err(RefMiss::Null);
    }
    let dt = a.data_type().clone();
    if let DataType::Dictionary(_, _) = dt {
        let d = a.as_any_dictionary();
        let k = d.normalized_keys()[i];
        return ref_cell(d.values().as_ref(), k, format);
    }
    if let (RefFormat::Time(f), Some((s, n, _, _))) = (format, ref_instant(a, i)) {
        return Ok(ref_time(s, n).format(f).to_string());
    }
    let text = match &dt {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).to_string(),
        DataType::Float64 => {
            let v = a.as_primitive::<Float64Type>().value(i);
            if !v.is_finite() {
                return Err(RefMiss::Bad);
            }
            number_plain(&format!("{v:e}")).map_err(|_| RefMiss::Bad)?.0
        }
        DataType::Decimal128(_, scale) => {
            let v = a.as_primitive::<Decimal128Type>().value(i);
            number_plain(&format!("{v}e{}", -(*scale as i32)))
                .map_err(|_| RefMiss::Bad)?
                .0
        }
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        DataType::Date32 | DataType::Timestamp(_, _) => {
            let (s, n, digits, utc) = ref_instant(a, i).unwrap();
            let t = ref_time(s, n);
            let mut out = match digits {
                None => t.format("%Y-%m-%d").to_string(),
                Some(0) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
                Some(d) => t.format(&format!("%Y-%m-%dT%H:%M:%S.%{d}f")).to_string(),
            };
            if utc {
                out.push('Z');
            }
            out
        }
        other => panic!("the zoo has no {other} column"),
    };
    if text.is_empty() {
        return Err(RefMiss::Empty);
    }
    match format {
        RefFormat::Plain => Ok(text),
        RefFormat::Pad(w) => {
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("", text.strip_prefix('+').unwrap_or(&text)),
            };
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(RefMiss::Bad);
            }
            let w = w.saturating_sub(sign.len());
            Ok(format!("{sign}{digits:0>w$}"))
        }
        RefFormat::Time(f) => match ref_parse_iso(&text) {
            Some((s, n)) => Ok(ref_time(s, n).format(f).to_string()),
            None => Err(RefMiss::Bad),
        },
    }
}

/// Whether the reference lets a column of type `dt` take `format`.
fn ref_accepts(dt: &DataType, format: &RefFormat) -> bool {
    let dt = match dt {
        DataType::Dictionary(_, v) => v.as_ref(),
        d => d,
    };
    let text = *dt == DataType::Utf8;
    match dt {
        DataType::Binary | DataType::Struct(_) | DataType::List(_) => false,
        _ => match format {
            RefFormat::Plain => true,
            RefFormat::Pad(_) => {
                text || dt.is_integer() || matches!(dt, DataType::Decimal128(_, 0))
            }
            RefFormat::Time(_) => {
                text || matches!(dt, DataType::Date32 | DataType::Timestamp(_, _))
            }
        },
    }
}

/// prep's template parser, binder and renderer against the reference on `template` over every
/// row of `batch`: the same templates are accepted, the same columns found and types allowed,
/// the same text for every row, and the same kind of miss where there is none.
pub fn check_template(template: &str, batch: &RecordBatch) {
    use prep::shape::template::{self, Bound, Miss, Template};
    let ours = Template::parse(template);
    let theirs = ref_parse(template);
    assert_eq!(
        ours.is_ok(),
        theirs.is_some(),
        "parse {template:?}: {ours:?} / {theirs:?}"
    );
    let (Ok(ours), Some(theirs)) = (ours, theirs) else {
        return;
    };
    let schema = batch.schema();
    let mut columns = Vec::new();
    for (p, r) in ours
        .placeholders()
        .zip(theirs.iter().filter_map(|p| match p {
            RefPiece::Field(path, f) => Some((path, f)),
            RefPiece::Text(_) => None,
        }))
    {
        assert_eq!(&p.path, r.0, "{template:?}");
        let found = template::resolve(&schema, &p.path);
        let reference = ref_column(batch, r.0);
        assert_eq!(
            found.is_some(),
            reference.is_some(),
            "column {:?} in {template:?}",
            p.path
        );
        let Some(found) = found else { return };
        let (array, _) = reference.unwrap();
        assert_eq!(&found.data_type, array.data_type(), "{template:?}");
        let allowed = template::check_type(&found.data_type, &p.format).is_ok();
        assert_eq!(
            allowed,
            ref_accepts(array.data_type(), r.1),
            "{:?} as {:?} in {template:?}",
            found.data_type,
            p.format
        );
        if !allowed {
            return;
        }
        columns.push(found);
    }
    let bound = Bound {
        template: ours,
        columns,
    };
    let rendered = bound.render(batch);
    for i in 0..batch.num_rows() {
        let mut want = String::new();
        let mut miss = None;
        for p in &theirs {
            match p {
                RefPiece::Text(t) => want.push_str(t),
                RefPiece::Field(path, f) => {
                    let (a, parents) = ref_column(batch, path).unwrap();
                    let r = if parents.iter().any(|p| p.is_null(i)) {
                        Err(RefMiss::Null)
                    } else {
                        ref_cell(a.as_ref(), i, f)
                    };
                    match r {
                        Ok(t) => want.push_str(&t),
                        Err(m) => {
                            miss = Some(m);
                            break;
                        }
                    }
                }
            }
        }
        let got_miss = rendered
            .misses
            .iter()
            .find(|m| m.0 == i)
            .map(|m| match m.2 {
                Miss::Null => RefMiss::Null,
                Miss::Empty => RefMiss::Empty,
                Miss::Bad(_) => RefMiss::Bad,
            });
        assert_eq!(
            got_miss, miss,
            "row {i} of {template:?}: {:?}",
            rendered.misses
        );
        let start = if i == 0 { 0 } else { rendered.ends[i - 1] };
        let got = std::str::from_utf8(&rendered.values[start..rendered.ends[i]]).unwrap();
        if miss.is_none() {
            assert_eq!(got, want, "row {i} of {template:?}");
        } else {
            assert_eq!(got, "", "row {i} of {template:?} has no text");
        }
    }
}

/// prep's ISO-8601 reader against chrono's where both read the text: the same instant. (prep
/// reads a few forms chrono does not, such as `+0200` zones.)
pub fn check_iso8601(s: &str) {
    if let (Some(ours), Some(theirs)) = (prep::shape::time::parse_iso8601(s), ref_parse_iso(s)) {
        assert_eq!(ours, theirs, "{s:?}");
    }
}

/// A batch of every column type templates take, with the given rows of values (text, integer,
/// float, decimal, date, timestamp in ms without a zone and in µs with one, and a struct).
pub fn template_zoo(rows: &[ZooRow]) -> RecordBatch {
    use arrow_array::builder::*;
    use std::sync::Arc;
    let mut s = StringBuilder::new();
    let mut dotted = StringBuilder::new();
    let mut int = Int64Builder::new();
    let mut small = UInt8Builder::new();
    let mut f = Float64Builder::new();
    let mut dec = Decimal128Builder::new()
        .with_precision_and_scale(30, 3)
        .unwrap();
    let mut dec0 = Decimal128Builder::new()
        .with_precision_and_scale(20, 0)
        .unwrap();
    let mut b = BooleanBuilder::new();
    let mut d = Date32Builder::new();
    let mut ts = TimestampMillisecondBuilder::new();
    let mut tz = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut dict = StringDictionaryBuilder::<arrow_array::types::Int32Type>::new();
    let fields = arrow_schema::Fields::from(vec![
        arrow_schema::Field::new("x", DataType::Utf8, true),
        arrow_schema::Field::new("n", DataType::Int32, true),
    ]);
    let mut st = StructBuilder::from_fields(fields, rows.len());
    let mut bin = BinaryBuilder::new();
    for r in rows {
        s.append_option(r.text.as_deref());
        dotted.append_option(r.text.as_deref().map(|t| format!("dot{t}")));
        int.append_option(r.int);
        small.append_option(r.int.map(|v| v as u8));
        f.append_option(r.float);
        dec.append_option(r.int.map(|v| v as i128 * 1001));
        dec0.append_option(r.int.map(|v| v as i128));
        b.append_option(r.int.map(|v| v % 2 == 0));
        d.append_option(r.days);
        ts.append_option(r.millis);
        tz.append_option(r.millis.map(|m| m * 1000 + 7));
        dict.append_option(r.text.as_deref());
        st.field_builder::<StringBuilder>(0)
            .unwrap()
            .append_option(r.text.as_deref());
        st.field_builder::<Int32Builder>(1)
            .unwrap()
            .append_option(r.int.map(|v| v as i32));
        st.append(r.int.is_some());
        bin.append_option(r.text.as_deref().map(str::as_bytes));
    }
    let columns: Vec<(&str, arrow_array::ArrayRef)> = vec![
        ("s", Arc::new(s.finish())),
        ("a.b", Arc::new(dotted.finish())),
        ("int", Arc::new(int.finish())),
        ("small", Arc::new(small.finish())),
        ("f", Arc::new(f.finish())),
        ("dec", Arc::new(dec.finish())),
        ("dec0", Arc::new(dec0.finish())),
        ("b", Arc::new(b.finish())),
        ("d", Arc::new(d.finish())),
        ("ts", Arc::new(ts.finish())),
        ("tz", Arc::new(tz.finish())),
        ("dict", Arc::new(dict.finish())),
        ("st", Arc::new(st.finish())),
        ("bin", Arc::new(bin.finish())),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// One row of [`template_zoo`].
#[derive(Debug, Clone)]
pub struct ZooRow {
    pub text: Option<String>,
    pub int: Option<i64>,
    pub float: Option<f64>,
    pub days: Option<i32>,
    pub millis: Option<i64>,
}

/// Rows that reach the edges: empty and brace-laden text, ISO text, integers as text, signs,
/// NaN and infinities, dates far from the epoch.
pub fn zoo_rows() -> Vec<ZooRow> {
    let texts = [
        Some(""),
        None,
        Some("{x}"),
        Some("42"),
        Some("-7"),
        Some("+3"),
        Some("007"),
        Some("2024-05-01T10:00:00Z"),
        Some("2024-02-29"),
        Some("2024-05-01 10:00:00.5"),
        Some("1999-12-31T23:59:59.123456789+05:30"),
        Some("Zürich 😀"),
        Some("x:y#z"),
        Some("12a"),
    ];
    let mut rows = Vec::new();
    for (k, t) in texts.iter().enumerate() {
        let k = k as i64;
        rows.push(ZooRow {
            text: t.map(str::to_string),
            int: [
                Some(0),
                Some(-1),
                Some(i64::MAX),
                Some(i64::MIN + 1),
                None,
                Some(981),
            ][k as usize % 6]
                .map(|v| v / (k + 1)),
            float: [
                Some(0.1),
                Some(-2.5e-300),
                Some(f64::NAN),
                Some(1e21),
                None,
                Some(f64::INFINITY),
                Some(3.0),
            ][k as usize % 7],
            days: [
                Some(0),
                Some(-1),
                Some(19_844),
                Some(2_932_896),
                None,
                Some(-719_528),
            ][k as usize % 6],
            millis: [
                Some(0),
                Some(-1),
                Some(1_714_557_600_123),
                None,
                Some(253_402_300_799_999),
            ][k as usize % 5],
        });
    }
    rows
}

/// The fuzz target's check: the bytes (as text) as a template over the edge rows, and as
/// ISO-8601 text.
pub fn check_template_bytes(data: &[u8]) {
    thread_local! {
        static ZOO: RecordBatch = template_zoo(&zoo_rows());
    }
    let text = String::from_utf8_lossy(data);
    ZOO.with(|zoo| check_template(&text, zoo));
    check_iso8601(&text);
}

// ---------------------------------------------------------------------------------------------
// The duplicate-key index

/// Duplicates by a HashMap walked in input order: (key, item index, first item index, count).
pub fn duplicates_reference(keys: &[Vec<u8>]) -> Vec<(Vec<u8>, u64, u64, u32)> {
    let mut seen: std::collections::HashMap<&[u8], (u64, u32)> = Default::default();
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match seen.get_mut(k.as_slice()) {
            Some((first, n)) => {
                *n += 1;
                out.push((k.clone(), i as u64, *first, *n));
            }
            None => {
                seen.insert(k, (i as u64, 1));
            }
        }
    }
    out
}

/// The index finds exactly the reference's duplicates, in the same order, in memory and
/// spilled past a tiny budget, with `hash` (weak hashes force collisions).
pub fn check_duplicates(keys: &[Vec<u8>], hash: fn(&[u8]) -> u64) {
    use prep::pipeline::duplicates::{DupFinder, Spill};
    let want = duplicates_reference(keys);
    let dir = tempfile::tempdir().expect("a temporary folder");
    for spill in [
        None,
        Some(Spill {
            dir: dir.path().to_path_buf(),
            memory: 1 << 10,
        }),
    ] {
        let mut index = DupFinder::new(spill.clone());
        for (i, k) in keys.iter().enumerate() {
            index.insert(hash(k), k, 0, i as u64).expect("insert");
        }
        let mut found = index.finish().expect("finish");
        let mut got = Vec::new();
        while let Some(d) = found.next_duplicate().expect("next") {
            got.push((d.key, d.row, d.first.row, d.first.seen));
        }
        assert_eq!(got, want, "spilled: {}", spill.is_some());
        let extra = want.len() as u64;
        assert_eq!(found.extra_items, extra);
        let keys_with = want.iter().filter(|d| d.3 == 2).count() as u64;
        assert_eq!(found.keys_with_duplicates, keys_with);
    }
}

/// Fuzz input: keys separated by 0xff, each hashed by its first byte only (collisions galore)
/// and by prep's own hash.
pub fn check_duplicates_bytes(data: &[u8]) {
    let keys: Vec<Vec<u8>> = data.split(|&b| b == 0xff).map(<[u8]>::to_vec).collect();
    check_duplicates(&keys, |k| k.first().copied().unwrap_or(0) as u64);
    check_duplicates(&keys, prep::model::keys::key_hash);
}

// ---------------------------------------------------------------------------------------------
// Plain JSON documents

/// Whether a JSON text has an object that repeats a name, at any depth: a visitor of its own
/// (not prep's), over serde_json's tokens.
fn repeats_a_name(text: &str) -> bool {
    struct Any;
    impl<'de> serde::Deserialize<'de> for Any {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Any)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Any {
        type Value = Any;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Any, E> {
            Ok(Any)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Any, E> {
            Ok(Any)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Any, E> {
            Ok(Any)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Any, E> {
            Ok(Any)
        }
        fn visit_str<E>(self, _: &str) -> Result<Any, E> {
            Ok(Any)
        }
        fn visit_unit<E>(self) -> Result<Any, E> {
            Ok(Any)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Any, A::Error> {
            while s.next_element::<Any>()?.is_some() {}
            Ok(Any)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Any, A::Error> {
            let mut seen: Vec<String> = Vec::new();
            while let Some(k) = m.next_key::<String>()? {
                if seen.contains(&k) {
                    return Err(serde::de::Error::custom("repeated"));
                }
                seen.push(k);
                m.next_value::<Any>()?;
            }
            Ok(Any)
        }
    }
    serde_json::from_str::<Any>(text).is_err_and(|e| e.to_string().starts_with("repeated"))
}

/// What a plain JSON document (one line, table key `pk`, a string) must become, worked out from
/// serde_json's parse and the rules by the book: the item's plain values (numbers canonical,
/// top-level nulls left out), or the rule codes that may reject it.
fn document_reference(line: &[u8]) -> Result<serde_json::Map<String, Value>, Vec<&'static str>> {
    let Ok(text) = std::str::from_utf8(line.strip_suffix(b"\r").unwrap_or(line)) else {
        return Err(vec!["J001"]);
    };
    // serde_json's reader takes objects under its private names for numbers and raw values;
    // prep refuses documents that have them (J001).
    if text.contains("$serde_json::private::") {
        return Err(vec!["J001"]);
    }
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) if e.to_string().starts_with("recursion limit") => return Err(vec!["V001"]),
        Err(_) => return Err(vec!["J001"]),
    };
    let Value::Object(doc) = v else {
        return Err(vec!["J002"]);
    };
    // Each problem the document has: prep names the first it meets as it writes.
    let mut problems = Vec::new();
    if repeats_a_name(text) {
        // serde_json keeps one of the two values, so the other's problems are out of sight;
        // prep may meet one of them before the repeated name.
        problems.extend(["A008", "N002", "N003", "N004", "V001", "V002"]);
    }
    match doc.get("pk") {
        Some(Value::String(s)) if s.is_empty() => problems.push("K003"),
        Some(Value::String(s)) if s.len() > 2048 => problems.push("K004"),
        Some(Value::String(_)) => {}
        // A key declared S takes a number's text, as it does from a number column.
        Some(Value::Number(_)) => {}
        None | Some(Value::Null) => problems.push("K001"),
        Some(_) => problems.push("K002"),
    }
    // Plain values, checking numbers, names and depth on the way.
    fn walk(v: &Value, depth: usize, problems: &mut Vec<&'static str>) -> Value {
        match v {
            Value::Number(n) => match number_plain(&n.to_string()) {
                Ok((c, _)) => Value::String(c),
                Err(e) => {
                    problems.push(e.rule().code);
                    Value::Null
                }
            },
            Value::Array(a) => {
                if depth + 1 > 32 {
                    problems.push("V001");
                }
                Value::Array(a.iter().map(|x| walk(x, depth + 1, problems)).collect())
            }
            Value::Object(m) => {
                if depth + 1 > 32 {
                    problems.push("V001");
                }
                if m.keys().any(|k| k.is_empty()) {
                    problems.push("V002");
                }
                Value::Object(
                    m.iter()
                        .map(|(k, x)| (k.clone(), walk(x, depth + 1, problems)))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }
    let mut item = serde_json::Map::new();
    for (k, x) in &doc {
        if k.is_empty() {
            problems.push("V002");
        }
        match x {
            Value::Null => {}
            Value::Number(_) if k == "pk" => {
                // A key declared S takes the number's text as written.
                let raw = serde_json::from_str::<
                    std::collections::HashMap<String, Box<serde_json::value::RawValue>>,
                >(text)
                .expect("parsed above");
                item.insert(k.clone(), Value::String(raw["pk"].get().to_string()));
            }
            x => {
                item.insert(k.clone(), walk(x, 0, &mut problems));
            }
        }
    }
    if problems.is_empty() {
        Ok(item)
    } else {
        Err(problems)
    }
}

/// A DynamoDB JSON item's attribute value as plain values (numbers as canonical text), by
/// serde_json alone.
fn item_value_plain(v: &Value) -> Value {
    let (t, x) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a typed value");
    match t.as_str() {
        "S" | "BOOL" => x.clone(),
        "N" => Value::String(number_plain(x.as_str().unwrap()).unwrap().0),
        "NULL" => Value::Null,
        "L" => Value::Array(x.as_array().unwrap().iter().map(item_value_plain).collect()),
        "M" => Value::Object(
            x.as_object()
                .unwrap()
                .iter()
                .map(|(k, y)| (k.clone(), item_value_plain(y)))
                .collect(),
        ),
        other => panic!("a plain JSON document gave a {other} value"),
    }
}

/// A plain JSON document line: prep never panics on it; where the reference says it is an item,
/// prep writes that item (read back by serde_json: every name, every value, numbers digit for
/// digit); where the reference finds a problem, prep rejects the line with one of its codes.
pub fn check_json_document(line: &[u8]) {
    let keys = prep::model::keys::KeySchema {
        table_name: None,
        partition: prep::model::keys::KeyAttr::parse("pk:S").unwrap(),
        sort: None,
        gsis: Vec::new(),
        vectors: Default::default(),
    };
    let got = prep::commands::convert::encode_json_documents(&[line], false, &keys)
        .unwrap()
        .remove(0);
    let doc = String::from_utf8_lossy(line);
    match (document_reference(line), got) {
        (Ok(want), Ok(item)) => {
            let v: Value = serde_json::from_str(&item).unwrap_or_else(|e| {
                panic!("prep wrote an unreadable item {item:?} ({e}) for {doc:?}")
            });
            let attrs = v["Item"].as_object().expect("an Item object");
            let back: serde_json::Map<String, Value> = attrs
                .iter()
                .map(|(k, x)| (k.clone(), item_value_plain(x)))
                .collect();
            let sorted = |m: &serde_json::Map<String, Value>| {
                let mut v: Vec<(String, Value)> = m.clone().into_iter().collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            };
            assert_eq!(sorted(&back), sorted(&want), "{doc:?}");
        }
        (Ok(_), Err(code)) => {
            panic!("prep rejected ({code}) a document the reference takes: {doc:?}")
        }
        (Err(codes), Ok(item)) => {
            // An item of more than 400 KB is the one rule the reference leaves to prep.
            panic!("prep wrote {item:?} where the reference finds {codes:?}: {doc:?}")
        }
        (Err(codes), Err(code)) => assert!(
            codes.contains(&code) || code == "I001",
            "prep rejected {doc:?} with {code}, the reference with {codes:?}"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// gzip deflated in pieces by several threads

/// prep's gzip of `data` in pieces of `piece` bytes at `level`: one gzip member (nothing after
/// it) that flate2's decoder, the reference, reads back as `data`, and the same bytes from any
/// number of threads.
pub fn check_gzip(data: &[u8], piece: usize, level: u32) {
    use prep::output::gzip::GzipWriter;
    use std::io::{Read, Write};
    let write = |workers: usize| {
        let mut w = GzipWriter::new(Vec::new(), level, workers, piece).unwrap();
        // Written in two calls, the cut anywhere.
        let cut = data.len() / 3;
        w.write_all(&data[..cut]).unwrap();
        w.write_all(&data[cut..]).unwrap();
        w.finish().unwrap()
    };
    let one = write(0);
    let mut d = flate2::bufread::GzDecoder::new(&one[..]);
    let mut back = Vec::new();
    d.read_to_end(&mut back)
        .unwrap_or_else(|e| panic!("{} bytes in pieces of {piece}: {e}", data.len()));
    assert!(
        back == data,
        "{} bytes in pieces of {piece}, level {level}: read back other bytes",
        data.len()
    );
    assert!(d.into_inner().is_empty(), "bytes after the member");
    for workers in [2, 3] {
        assert!(
            write(workers) == one,
            "{workers} threads wrote other bytes than one"
        );
    }
}

/// Fuzz input: the first byte picks the piece size (1 to 8,161 bytes: pieces shorter and
/// longer than deflate's window, at most 64 of them so that each input stays quick), the
/// second the level; the rest is the data.
pub fn check_gzip_bytes(data: &[u8]) {
    match data {
        [p, l, rest @ ..] => {
            let piece = (1 + *p as usize * 32).max(rest.len().div_ceil(64));
            check_gzip(rest, piece, (*l % 10) as u32)
        }
        _ => check_gzip(data, 100, 6),
    }
}
