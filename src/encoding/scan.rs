//! The fast path of `prep validate` (and of `prep inspect` and `convert --report`, which ask it
//! to record what it reads) for DynamoDB JSON lines: one pass over the bytes that checks every
//! rule the full path checks (structure, descriptors, numbers, base64, sets, nesting, names,
//! keys, item size) without building an item or allocating.
//!
//! It answers only "clean" (with the item's size and its primary key in the duplicate index's
//! form) or "not sure". Anything unusual — an error, but also an escaped attribute name or a key
//! value with escapes — is "not sure", and the full parser then decides and explains. So the
//! fast path can never accept a line the full path rejects; tests cross-check the two on every
//! fixture line and on thousands of mutated lines.

use crate::encoding::plan::KeyCheck;
use crate::model::keys::{KeyRole, ScalarType};
use crate::model::number;
use crate::model::rules;
use base64::Engine;

/// A value's kind, as far as key checks need it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string without escapes at this span of the line.
    S(usize, usize),
    /// A string with escapes (never a key value on the fast path).
    EscapedS,
    /// A number; its canonical text is in `LineScanner::num`.
    N,
    /// A binary; its bytes are in `LineScanner::bin`.
    B,
    Null,
    Other,
}

/// A top-level attribute of a clean line, as [`LineScanner::scan`] records it when asked
/// ([`LineScanner::recording`], for `prep inspect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopAttr {
    /// The name's span in the line (a plain string: no escapes).
    pub name: (usize, usize),
    /// The type: S, N, B, BOOL, NULL, L, M, SS, NS, BS as 0 to 9 (the order of the profile's
    /// type tallies).
    pub ty: u8,
    /// How deep lists and maps nest inside the value (0 for a scalar or a set).
    pub depth: u32,
    /// A set's members (0 for anything else).
    pub set_len: u32,
}

/// A map holding more names than this goes to the full path (the duplicate-name check here is
/// quadratic).
const MAX_FAST_NAMES: usize = 256;

pub struct LineScanner {
    keys: Vec<(String, KeyCheck)>,
    /// Per key attribute: where its value was copied into `key_vals`, once seen.
    found: Vec<Option<(u8, usize, usize)>>,
    key_vals: Vec<u8>,
    /// Names of the maps being read, innermost last: fingerprint and span.
    names: Vec<(u64, usize, usize)>,
    /// Fingerprints of the key attributes' names.
    key_prints: Vec<u64>,
    num: Vec<u8>,
    bin: Vec<u8>,
    members: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Whether [`LineScanner::scan`] also records the item's top-level attributes (for
    /// `prep inspect`), and what it recorded of the last clean line.
    record: bool,
    attrs: Vec<TopAttr>,
    /// The deepest list or map nesting inside the top-level value being read.
    deepest: u32,
    /// The type of the value read last (a value's own, once it is read whole).
    last_ty: u8,
}

/// A name's length and first bytes in one word: names of up to seven bytes are equal exactly
/// when their prints are, longer ones are compared in full when their prints match.
#[inline]
fn print(name: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = name.len().min(7);
    b[..n].copy_from_slice(&name[..n]);
    b[7] = name.len().min(255) as u8;
    u64::from_le_bytes(b)
}

/// [`print`] of the name at `l[a..b]`, from one 8-byte load where the line has the bytes (a
/// name is always followed by its closing quote, so most do): no copy of a variable length.
#[inline]
fn print_at(l: &[u8], a: usize, b: usize) -> u64 {
    match l.get(a..a + 8) {
        Some(w) => {
            let n = (b - a).min(7);
            let word = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            (word & ((1u64 << (8 * n)) - 1)) | (((b - a).min(255) as u64) << 56)
        }
        None => print(&l[a..b]),
    }
}

#[inline(always)]
fn ws(l: &[u8], mut i: usize) -> usize {
    // Every JSON whitespace byte is at most a space: one comparison settles the usual case.
    while let Some(&c) = l.get(i) {
        if c > b' ' || !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

#[inline(always)]
fn expect(l: &[u8], i: usize, c: u8) -> Option<usize> {
    // Lines without whitespace between tokens are the usual case.
    if l.get(i) == Some(&c) {
        return Some(i + 1);
    }
    let i = ws(l, i);
    (l.get(i) == Some(&c)).then_some(i + 1)
}

/// The first byte at or after `i` that needs a look in a string: quote, backslash, control
/// character, or a non-ASCII byte (whose UTF-8 is then checked). Names, type tags and many
/// values end within eight bytes, so one word is looked at here before the vector search.
#[inline(always)]
fn special(l: &[u8], i: usize) -> usize {
    if let Some(w) = l.get(i..i + 8) {
        let hit = crate::encoding::special_in_word::<true>(u64::from_le_bytes(
            w.try_into().expect("eight bytes"),
        ));
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        return crate::encoding::find_special::<true>(l, i + 8);
    }
    crate::encoding::find_special::<true>(l, i)
}

fn hex4(l: &[u8], i: usize) -> Option<u32> {
    let h = l.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// A JSON string starting at `l[i] == '"'`: (content start, content end, decoded length,
/// escaped, next index).
#[inline]
fn string(l: &[u8], i: usize) -> Option<(usize, usize, usize, bool, usize)> {
    let start = expect(l, i, b'"')?;
    let mut j = start;
    let mut decoded = 0usize;
    let mut escaped = false;
    loop {
        let k = special(l, j);
        decoded += k - j;
        match l.get(k)? {
            0x80..=0xff => {
                // Up to the next quote, backslash or control byte: these are ASCII, so they
                // never fall inside a multi-byte character, and std checks the stretch (ASCII
                // included) faster than we could split it.
                let end = crate::encoding::find_special::<false>(l, k);
                std::str::from_utf8(&l[k..end]).ok()?;
                decoded += end - k;
                j = end;
            }
            b'"' => return Some((start, k, decoded, escaped, k + 1)),
            b'\\' => {
                escaped = true;
                match l.get(k + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                        decoded += 1;
                        j = k + 2;
                    }
                    b'u' => {
                        let cp = hex4(l, k + 2)?;
                        j = k + 6;
                        decoded += match cp {
                            0..=0x7f => 1,
                            0x80..=0x7ff => 2,
                            0xd800..=0xdbff => {
                                // Only a high surrogate followed by a low one is a character.
                                if l.get(j..j + 2)? != b"\\u" {
                                    return None;
                                }
                                if !(0xdc00..=0xdfff).contains(&hex4(l, j + 2)?) {
                                    return None;
                                }
                                j += 6;
                                4
                            }
                            0xdc00..=0xdfff => return None,
                            _ => 3,
                        };
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// A string that must have no escapes: its span and the next index.
#[inline]
fn plain(l: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let (a, b, _, escaped, next) = string(l, i)?;
    (!escaped).then_some((a, b, next))
}

fn literal(l: &[u8], i: usize) -> Option<(bool, usize)> {
    let i = ws(l, i);
    if l[i..].starts_with(b"true") {
        Some((true, i + 4))
    } else if l[i..].starts_with(b"false") {
        Some((false, i + 5))
    } else {
        None
    }
}

impl LineScanner {
    /// `keys`: the key attributes, table keys first (as the full path takes them).
    pub fn new(keys: &[(String, KeyCheck)]) -> Self {
        LineScanner {
            keys: keys.to_vec(),
            found: vec![None; keys.len()],
            key_vals: Vec::new(),
            names: Vec::new(),
            key_prints: keys.iter().map(|(n, _)| print(n.as_bytes())).collect(),
            num: Vec::new(),
            bin: Vec::new(),
            members: Vec::new(),
            spans: Vec::new(),
            record: false,
            attrs: Vec::new(),
            deepest: 0,
            last_ty: 0,
        }
    }

    /// Record each clean line's top-level attributes and every key attribute's value (GSI
    /// keys too): [`LineScanner::attrs`], [`LineScanner::key_value`].
    pub fn recording(mut self) -> Self {
        self.record = true;
        self
    }

    /// The top-level attributes of the last line [`LineScanner::scan`] found clean.
    pub fn attrs(&self) -> &[TopAttr] {
        &self.attrs
    }

    /// Key attribute `k`'s value in the last clean line, when recording: its type byte and
    /// bytes (a number canonical), or `None` where the item lacks it.
    pub fn key_value(&self, k: usize) -> Option<(u8, &[u8])> {
        self.found[k].map(|(ty, a, b)| (ty, &self.key_vals[a..b]))
    }

    /// The size of a clean line's item, with its primary key appended to `key_out` (type byte,
    /// little-endian u32 length, bytes; partition key first). `None`: let the full path decide
    /// (`key_out` may then hold a partial key; the caller truncates it).
    pub fn scan(&mut self, line: &[u8], key_out: &mut Vec<u8>) -> Option<usize> {
        // UTF-8 is checked inside strings; any other non-ASCII byte is a syntax error.
        self.found.iter_mut().for_each(|f| *f = None);
        self.key_vals.clear();
        self.names.clear();
        self.attrs.clear();
        let i = expect(line, 0, b'{')?;
        let (a, b, i) = plain(line, i)?;
        if &line[a..b] != b"Item" {
            return None;
        }
        let i = expect(line, i, b':')?;
        let (i, size) = self.map(line, i, 0, true)?;
        let i = expect(line, i, b'}')?;
        if ws(line, i) != line.len() || size > rules::MAX_ITEM_BYTES {
            return None;
        }
        for (k, (_, check)) in self.keys.iter().enumerate() {
            if check.role == KeyRole::Index {
                continue;
            }
            let (ty, a, b) = self.found[k]?;
            crate::encoding::arrow_rows::push_key_part(key_out, ty, &self.key_vals[a..b]);
        }
        Some(size)
    }

    /// A map of names to attribute values; `top` for the item itself. Returns the next index and
    /// the size the entries add (names and values; the map's own 3 bytes are the caller's).
    fn map(&mut self, l: &[u8], i: usize, depth: u32, top: bool) -> Option<(usize, usize)> {
        let mut i = expect(l, i, b'{')?;
        let level = self.names.len();
        let mut size = 0usize;
        i = ws(l, i);
        if l.get(i) == Some(&b'}') {
            return Some((i + 1, 0));
        }
        loop {
            let (a, b, next) = plain(l, i)?;
            let name = &l[a..b];
            if name.is_empty()
                || name.len() > rules::MAX_ATTRIBUTE_NAME_BYTES
                || self.names.len() - level >= MAX_FAST_NAMES
            {
                return None;
            }
            let fp = print_at(l, a, b);
            let same =
                |p: u64, x: usize, y: usize| p == fp && (name.len() <= 7 || &l[x..y] == name);
            if self.names[level..].iter().any(|&(p, x, y)| same(p, x, y)) {
                return None;
            }
            self.names.push((fp, a, b));
            i = expect(l, next, b':')?;
            let key = if top {
                let is_key = |(k, &p): (usize, &u64)| {
                    p == fp && (name.len() <= 7 || self.keys[k].0.as_bytes() == name)
                };
                self.key_prints
                    .iter()
                    .enumerate()
                    .find(|&x| is_key(x))
                    .map(|(k, _)| k)
            } else {
                None
            };
            if top {
                self.deepest = 0;
            }
            let (next, s, kind) = self.value(l, i, depth, key.is_some())?;
            i = next;
            if top {
                size += name.len() + s;
                if let Some(k) = key {
                    self.key(l, k, kind, s)?;
                }
                if self.record {
                    let ty = self.last_ty;
                    self.attrs.push(TopAttr {
                        name: (a, b),
                        ty,
                        depth: self.deepest,
                        set_len: if matches!(ty, 7..=9) {
                            self.spans.len() as u32
                        } else {
                            0
                        },
                    });
                }
            } else {
                size += 1 + name.len() + s;
            }
            i = ws(l, i);
            match l.get(i)? {
                b',' => i += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.names.truncate(level);
        Some((i + 1, size))
    }

    /// Key checks of a top-level attribute that is key attribute `k`; table keys are kept.
    fn key(&mut self, l: &[u8], k: usize, kind: Kind, size: usize) -> Option<()> {
        let check = self.keys[k].1;
        let (ty, bytes): (u8, &[u8]) = match (kind, check.ty) {
            // A GSI key may be null (absent from the index); a table key may not.
            (Kind::Null, _) if check.role == KeyRole::Index => return Some(()),
            (Kind::S(a, b), ScalarType::S) => (b'S', &l[a..b]),
            (Kind::N, ScalarType::N) => (b'N', &self.num),
            (Kind::B, ScalarType::B) => (b'B', &self.bin),
            _ => return None,
        };
        let max = match check.role {
            KeyRole::Partition => rules::MAX_PARTITION_KEY_BYTES,
            KeyRole::Sort => rules::MAX_SORT_KEY_BYTES,
            KeyRole::Index => usize::MAX,
        };
        if bytes.is_empty() || (ty != b'N' && size > max) {
            return None;
        }
        if check.role != KeyRole::Index || self.record {
            let a = self.key_vals.len();
            self.key_vals.extend_from_slice(bytes);
            self.found[k] = Some((ty, a, self.key_vals.len()));
        }
        Some(())
    }

    /// An attribute value `{"T": ...}` at nesting `depth`: next index, size, kind. For a `key`
    /// value, a number's canonical text is left in `num`.
    fn value(&mut self, l: &[u8], i: usize, depth: u32, key: bool) -> Option<(usize, usize, Kind)> {
        let i = expect(l, i, b'{')?;
        let (a, b, i) = plain(l, i)?;
        let i = expect(l, i, b':')?;
        let tag = (a, b);
        let (i, size, kind) = match &l[a..b] {
            b"S" => {
                let (a, b, decoded, escaped, i) = string(l, i)?;
                let kind = if escaped {
                    Kind::EscapedS
                } else {
                    Kind::S(a, b)
                };
                (i, decoded, kind)
            }
            b"N" => {
                let (a, b, i) = plain(l, i)?;
                let size = if key {
                    self.num.clear();
                    number::canonicalize(&l[a..b], &mut self.num).ok()?
                } else {
                    number::checked_size(&l[a..b]).ok()?
                };
                (i, size, Kind::N)
            }
            b"B" => {
                let (a, b, i) = plain(l, i)?;
                self.bin.clear();
                base64::engine::general_purpose::STANDARD
                    .decode_vec(&l[a..b], &mut self.bin)
                    .ok()?;
                (i, self.bin.len(), Kind::B)
            }
            b"BOOL" => {
                let (_, i) = literal(l, i)?;
                (i, 1, Kind::Other)
            }
            b"NULL" => {
                let (v, i) = literal(l, i)?;
                if !v {
                    return None;
                }
                (i, 1, Kind::Null)
            }
            b"L" => {
                if depth + 1 > rules::MAX_NESTING {
                    return None;
                }
                self.deepest = self.deepest.max(depth + 1);
                let mut i = expect(l, i, b'[')?;
                let mut size = 3;
                i = ws(l, i);
                if l.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    loop {
                        let (next, s, _) = self.value(l, i, depth + 1, false)?;
                        size += 1 + s;
                        i = ws(l, next);
                        match l.get(i)? {
                            b',' => i += 1,
                            b']' => {
                                i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                (i, size, Kind::Other)
            }
            b"M" => {
                if depth + 1 > rules::MAX_NESTING {
                    return None;
                }
                self.deepest = self.deepest.max(depth + 1);
                let (i, s) = self.map(l, i, depth + 1, false)?;
                (i, 3 + s, Kind::Other)
            }
            b"SS" => (self.set(l, i, b'S')?, self.set_size(b'S'), Kind::Other),
            b"NS" => (self.set(l, i, b'N')?, self.set_size(b'N'), Kind::Other),
            b"BS" => (self.set(l, i, b'B')?, self.set_size(b'B'), Kind::Other),
            _ => return None,
        };
        let i = expect(l, i, b'}')?;
        if self.record {
            self.last_ty = match &l[tag.0..tag.1] {
                b"S" => 0,
                b"N" => 1,
                b"B" => 2,
                b"BOOL" => 3,
                b"NULL" => 4,
                b"L" => 5,
                b"M" => 6,
                b"SS" => 7,
                b"NS" => 8,
                _ => 9,
            };
        }
        Some((i, size, kind))
    }

    /// A set's members into `members`/`spans` (numbers canonical, binaries decoded); `None` if it
    /// is empty, has duplicates, or a member is not a plain string of its kind.
    fn set(&mut self, l: &[u8], i: usize, kind: u8) -> Option<usize> {
        let mut i = expect(l, i, b'[')?;
        self.members.clear();
        self.spans.clear();
        loop {
            let (a, b, next) = plain(l, i)?;
            let start = self.members.len();
            let text = &l[a..b];
            match kind {
                b'S' => self.members.extend_from_slice(text),
                b'N' => {
                    number::canonicalize(text, &mut self.members).ok()?;
                }
                _ => base64::engine::general_purpose::STANDARD
                    .decode_vec(text, &mut self.members)
                    .ok()?,
            }
            self.spans.push((start, self.members.len()));
            i = ws(l, next);
            match l.get(i)? {
                b',' => i += 1,
                b']' => break,
                _ => return None,
            }
        }
        let m = &self.members;
        self.spans
            .sort_unstable_by(|x, y| m[x.0..x.1].cmp(&m[y.0..y.1]));
        if self
            .spans
            .windows(2)
            .any(|p| m[p[0].0..p[0].1] == m[p[1].0..p[1].1])
        {
            return None;
        }
        Some(i + 1)
    }

    fn set_size(&self, kind: u8) -> usize {
        self.spans
            .iter()
            .map(|&(a, b)| match kind {
                b'N' => number::canonical_size(&self.members[a..b]),
                _ => b - a,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::item_lines::LinesEncoder;
    use crate::encoding::{ItemWriter, Nulls, Syntax};
    use crate::input::parse::LineFormat;

    fn keys() -> Vec<(String, KeyCheck)> {
        let k = |n: &str, role, ty| (n.to_string(), KeyCheck { role, ty });
        vec![
            k("pk", KeyRole::Partition, ScalarType::S),
            k("sk", KeyRole::Sort, ScalarType::N),
            k("g", KeyRole::Index, ScalarType::S),
            k("gb", KeyRole::Index, ScalarType::B),
        ]
    }

    /// The full path: the item's size and key bytes, or the rule it breaks.
    fn full(line: &[u8], keys: &[(String, KeyCheck)]) -> Result<(usize, Vec<u8>), &'static str> {
        let enc = LinesEncoder {
            format: LineFormat::DynamodbJson,
            keys: keys.to_vec(),
            syn: Syntax::Json,
        };
        let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
        w.strict = true;
        w.discard = true;
        w.item_start();
        let (mut key_buf, mut key) = (Vec::new(), Vec::new());
        match enc.encode_line(line, &mut w, &mut key_buf, &mut key) {
            Ok(size) if size > rules::MAX_ITEM_BYTES => Err(rules::ITEM_TOO_LARGE.code),
            Ok(size) => Ok((size, key)),
            Err((rule, _)) => Err(rule.code),
        }
    }

    /// The fast path's answer, checked against the full path's: it may only ever accept a line
    /// that the full path accepts, with the same size and key.
    fn agree(s: &mut LineScanner, line: &[u8], keys: &[(String, KeyCheck)]) -> bool {
        let mut key = vec![7u8];
        let Some(size) = s.scan(line, &mut key) else {
            return false;
        };
        assert_eq!(
            full(line, keys),
            Ok((size, key[1..].to_vec())),
            "fast path accepted {:?}",
            String::from_utf8_lossy(line)
        );
        true
    }

    const CLEAN: &[&str] = &[
        r#"{"Item":{"pk":{"S":"user#1"},"sk":{"N":"42"}}}"#,
        r#"{"Item":{"sk":{"N":"-1.50e3"},"x":{"S":"a"},"pk":{"S":"é😀"}}}"#,
        r#" { "Item" : { "pk" : { "S" : "a" } , "sk" : { "N" : "0.000" } } } "#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"s":{"S":"q\"u\\o\/te\n\t\b\f\r \u00e9\u20ac\ud83d\ude00\u0000"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"n":{"N":"12345678901234567890123456789012345678"},"e":{"N":"9.9999999999999999999999999999999999999E+125"},"u":{"N":"-1E-130"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"b":{"B":"aGVsbG8="},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"l":{"L":[{"S":"x"},{"N":"2"},{"L":[]},{"M":{}},{"NULL":true}]}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"m":{"M":{"k":{"S":"v"},"e":{"M":{"deep":{"L":[{"BOOL":false}]}}}}}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"ss":{"SS":["b","a",""]},"ns":{"NS":["1","1.5","-2e2"]},"bs":{"BS":["aGk=","aGo="]}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"index"},"gb":{"B":"AAE="}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"NULL":true}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"m":{"M":{"pk":{"N":"5"},"sk":{"S":""}}}}}"#,
    ];

    #[test]
    fn clean_lines_take_the_fast_path_with_the_full_paths_size_and_key() {
        let keys = keys();
        let mut s = LineScanner::new(&keys);
        for l in CLEAN {
            assert!(full(l.as_bytes(), &keys).is_ok(), "{l}");
            assert!(agree(&mut s, l.as_bytes(), &keys), "not taken: {l}");
        }
    }

    #[test]
    fn lines_the_full_path_rejects_are_never_taken() {
        let keys = keys();
        let mut s = LineScanner::new(&keys);
        let pk = r#""pk":{"S":"a"},"sk":{"N":"1"}"#;
        let deep = format!(
            "{}{{\"S\":\"x\"}}{}",
            "{\"L\":[".repeat(33),
            "]}".repeat(33)
        );
        let long = "x".repeat(rules::MAX_ITEM_BYTES);
        let bad = [
            String::new(),
            "\u{feff}{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}}".into(),
            format!("{{\"Item\":{{{pk}}}"),
            format!("{{\"Item\":{{{pk}}}}} x"),
            format!("{{\"Item\":{{{pk}}},\"More\":1}}"),
            format!("{{\"item\":{{{pk}}}}}"),
            r#"{"Item":{"sk":{"N":"1"}}}"#.into(),
            r#"{"Item":{"pk":{"S":"a"}}}"#.into(),
            r#"{"Item":{"pk":{"S":""},"sk":{"N":"1"}}}"#.into(),
            r#"{"Item":{"pk":{"N":"1"},"sk":{"N":"1"}}}"#.into(),
            r#"{"Item":{"pk":{"S":"a"},"sk":{"S":"1"}}}"#.into(),
            r#"{"Item":{"pk":{"NULL":true},"sk":{"N":"1"}}}"#.into(),
            r#"{"Item":{"pk":{"SS":["a"]},"sk":{"N":"1"}}}"#.into(),
            format!(
                "{{\"Item\":{{\"pk\":{{\"S\":\"{}\"}},\"sk\":{{\"N\":\"1\"}}}}}}",
                "k".repeat(2049)
            ),
            format!("{{\"Item\":{{{pk},\"g\":{{\"S\":\"\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"g\":{{\"N\":\"1\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"gb\":{{\"B\":\"\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"N\":\"1e126\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"N\":\"1e-131\"}}}}}}"),
            format!(
                "{{\"Item\":{{{pk},\"x\":{{\"N\":\"123456789012345678901234567890123456789\"}}}}}}"
            ),
            format!("{{\"Item\":{{{pk},\"x\":{{\"N\":\"1.2.3\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"N\":\"NaN\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"N\":1}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"B\":\"aGk\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"NULL\":false}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"BOOL\":\"true\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"S\":\"a\",\"N\":\"1\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"STR\":\"a\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"SS\":[]}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"SS\":[\"a\",\"a\"]}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"NS\":[\"1\",\"1.0\"]}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"BS\":[\"aGk=\",\"aGk=\"]}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"SS\":[\"a\",null]}}}}}}"),
            format!("{{\"Item\":{{{pk},\"\":{{\"S\":\"a\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"M\":{{\"\":{{\"S\":\"a\"}}}}}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"S\":\"\\ud800\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"S\":\"\\q\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"S\":\"tab\there\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{deep}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"S\":\"{long}\"}}}}}}"),
        ];
        for l in &bad {
            let mut key = Vec::new();
            assert_eq!(s.scan(l.as_bytes(), &mut key), None, "taken: {l}");
            assert!(
                full(l.as_bytes(), &keys).is_err(),
                "the full path accepts {l}"
            );
        }
        // Lines the full path may accept but that the fast path leaves to it.
        let doubtful = [
            format!("{{\"Item\":{{{pk},\"x\":{{\"S\":\"a\"}},\"x\":{{\"S\":\"b\"}}}}}}"),
            r#"{"Item":{"pk":{"S":"a\"b"},"sk":{"N":"1"}}}"#.into(),
            format!("{{\"Item\":{{{pk},\"x\\u0041\":{{\"S\":\"a\"}}}}}}"),
            format!("{{\"Item\":{{{pk},\"x\":{{\"SS\":[\"\\n\"]}}}}}}"),
        ];
        for l in &doubtful {
            assert_eq!(s.scan(l.as_bytes(), &mut Vec::new()), None, "taken: {l}");
        }
        // Invalid UTF-8 inside strings and names, and non-ASCII bytes outside strings.
        let bad_utf8: [&[u8]; 13] = [
            b"\xc3\xa9ok\xff",
            b"\xc3\xa9\\n\xff",
            b"\xe2\x82\xac\xc3",
            b"\xc3\\n",
            b"\xff",
            b"\xc3",
            b"\xc3(",
            b"ab\xe2\x82",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\x80abc",
            b"\xe2\x82\xac\xa9",
        ];
        for bytes in bad_utf8 {
            for (before, after) in [
                (
                    &br#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":""#[..],
                    &br#""}}}"#[..],
                ),
                (
                    &br#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},""#[..],
                    &br#"":{"S":"v"}}}"#[..],
                ),
                (
                    &br#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":"v"}"#[..],
                    &b"}}"[..],
                ),
            ] {
                let l = [before, bytes, after].concat();
                assert_eq!(s.scan(&l, &mut Vec::new()), None, "{l:?}");
                assert!(full(&l, &keys).is_err(), "{l:?}");
            }
        }
    }

    /// Thousands of small corruptions of clean lines: whatever the fast path accepts, the full
    /// path accepts with the same size and key.
    #[test]
    fn mutated_lines_never_disagree() {
        let keys = keys();
        let mut s = LineScanner::new(&keys);
        let alphabet =
            b"{}[]\",:\\ 0123456789.eE+-aSNBLMtruefalsnUXQ/\t\x01\xc3\xa9\xed\xa0\x80\xff\xf0\x9f";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut taken, mut total) = (0, 0);
        for base in CLEAN {
            for _ in 0..3000 {
                let mut l = base.as_bytes().to_vec();
                for _ in 0..1 + rand(3) {
                    let at = rand(l.len());
                    match rand(4) {
                        0 => l[at] = alphabet[rand(alphabet.len())],
                        1 => {
                            l.remove(at);
                        }
                        2 => l.insert(at, alphabet[rand(alphabet.len())]),
                        _ => {
                            let end = (at + 1 + rand(12)).min(l.len());
                            let piece = l[at..end].to_vec();
                            let to = rand(l.len());
                            l.splice(to..to, piece);
                        }
                    }
                    if l.is_empty() {
                        break;
                    }
                }
                total += 1;
                if agree(&mut s, &l, &keys) {
                    taken += 1;
                }
            }
        }
        // Many corruptions stay valid (a changed letter in a string), so the check has teeth.
        assert!(
            taken > total / 50,
            "only {taken} of {total} mutated lines were taken"
        );
    }

    #[test]
    fn special_finds_the_first_byte_to_look_at() {
        let look = |c: u8| matches!(c, b'"' | b'\\' | 0..=0x1f | 0x80..=0xff);
        for fill in [b'a', b'!', b'~', b' '] {
            // Short lines (word by word), and long ones (a word, then 32 bytes at a time).
            for len in [20, 75] {
                for b in 0..=255u8 {
                    for p in 0..len {
                        let mut v = vec![fill; len];
                        v[p] = b;
                        let want = v.iter().position(|&c| look(c)).unwrap_or(len);
                        assert_eq!(special(&v, 0), want, "fill {fill} byte {b} at {p}");
                        if p > 3 {
                            assert_eq!(special(&v, 3), want, "from 3: fill {fill} byte {b} at {p}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn without_a_key_schema_any_valid_item_is_clean() {
        let mut s = LineScanner::new(&[]);
        let mut key = Vec::new();
        assert_eq!(s.scan(br#"{"Item":{}}"#, &mut key), Some(0));
        assert_eq!(s.scan(br#"{"Item":{"a":{"S":"xyz"}}}"#, &mut key), Some(4));
        assert!(key.is_empty());
        for l in CLEAN {
            assert!(agree(&mut s, l.as_bytes(), &[]));
        }
    }
}
