//! Plain references for prep's hand-written fast paths, and the differential checks that hold
//! each fast path against its reference. Shared by the property tests (tests/differential.rs),
//! the replay of the fuzz corpora (same file) and the cargo-fuzz targets (fuzz/), which include
//! this file by path. Each check panics with what differed.
#![allow(dead_code)]

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
    let mut scanner = prep::commands::validate::scan::LineScanner::new(&line_keys());
    let mut scanned_key = Vec::new();
    let scanned = scanner.scan(line, &mut scanned_key);
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
// The SHA-256 of an S3 input taken from the ranges its readers fetch

/// `data` is the object; its first bytes also say how it is read: `data[0]` picks the cap on
/// held ranges (none, 16 bytes, 500 bytes, unlimited), `data[1]` the reader threads (1–3) and
/// whether a pumping thread hashes (bit 2),
/// `data[2]` how many ranges, and each range's start and length come from the bytes after
/// that (wrapping). The ranges are offered from the threads in turn, then the gaps are filled
/// in 7-byte pieces as a stream would hand them over, again until none is left; the digest
/// must be sha2's of the whole object, and the ranges held ahead of the digest never past the
/// cap.
pub fn check_read_digest(data: &[u8]) {
    use prep::input::read_digest::ReadDigest;
    use sha2::Digest;
    let byte = |i: usize| data.get(i % data.len().max(1)).copied().unwrap_or(0) as usize;
    let cap = [0, 16, 500, usize::MAX][byte(0) % 4];
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
    let d = ReadDigest::with_cap(len as u64, cap);
    // Half the time the hashing is handed off to a pumping thread.
    let handed_off = byte(1) & 4 != 0;
    if handed_off {
        d.hand_off();
    }
    let offered = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..threads)
            .map(|t| {
                let (d, obj, ranges) = (&d, &obj, &ranges);
                s.spawn(move || {
                    for &(a, b) in ranges.iter().skip(t).step_by(threads) {
                        d.offer(a as u64, &obj.slice(a..b));
                        assert!(d.held_ahead() <= cap);
                    }
                })
            })
            .collect();
        if handed_off {
            let (d, offered) = (&d, &offered);
            s.spawn(move || {
                while !offered.load(std::sync::atomic::Ordering::SeqCst) {
                    d.pump(std::time::Duration::from_millis(1));
                }
            });
        }
        let joined: Vec<_> = readers.into_iter().map(|r| r.join()).collect();
        // The pumping thread stops even when a reader failed its check.
        offered.store(true, std::sync::atomic::Ordering::SeqCst);
        for r in joined {
            if let Err(e) = r {
                std::panic::resume_unwind(e);
            }
        }
    });
    let mut rounds = 0;
    let got = loop {
        if let Some(h) = d.finish() {
            break h;
        }
        rounds += 1;
        assert!(rounds <= 3, "gaps left after {rounds} rounds of gap reads");
        let gaps = d.gaps();
        assert!(!gaps.is_empty(), "no gap left but no digest");
        for (a, b) in gaps {
            let mut p = a as usize;
            while p < b as usize {
                let q = (p + 7).min(b as usize);
                d.offer(p as u64, &obj.slice(p..q));
                p = q;
            }
        }
    };
    let want: String = sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        got, want,
        "ranges {ranges:?}, cap {cap}, threads {threads}, handed off {handed_off}"
    );
}
