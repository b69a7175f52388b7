//! Encoding Arrow values as DynamoDB attribute values, straight into output bytes.
//!
//! Column encoders (`Enc`) write one value at a time into a reused buffer and return the type and
//! the DynamoDB size of what they wrote, so the item checks (keys, size, nesting) run in the same
//! pass as the encoding. The surface syntax (DynamoDB JSON or Ion text) is a small enum so the
//! same encoders serve both outputs.

pub mod item;
pub mod items;
pub mod nested;
pub mod plain;
pub mod plan;
pub mod scalar;
pub mod text;

use crate::model::number;
use crate::model::rules::{self, Rule};
use base64::Engine;

/// DynamoDB attribute value types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    S,
    N,
    B,
    Bool,
    Null,
    L,
    M,
    SS,
    NS,
    BS,
}

impl Ty {
    pub fn as_str(self) -> &'static str {
        match self {
            Ty::S => "S",
            Ty::N => "N",
            Ty::B => "B",
            Ty::Bool => "BOOL",
            Ty::Null => "NULL",
            Ty::L => "L",
            Ty::M => "M",
            Ty::SS => "SS",
            Ty::NS => "NS",
            Ty::BS => "BS",
        }
    }
}

/// The output surface syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `{"Item":{"pk":{"S":"a"}}}` lines (InputFormat DYNAMODB_JSON).
    Json,
    /// `$ion_1_0 {Item:{"pk":"a"}}` lines (InputFormat ION).
    Ion,
}

impl Syntax {
    pub fn import_format(self) -> &'static str {
        match self {
            Syntax::Json => "DYNAMODB_JSON",
            Syntax::Ion => "ION",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Syntax::Json => "json",
            Syntax::Ion => "ion",
        }
    }
}

/// How null values of top-level attributes and struct fields are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nulls {
    Omit,
    Null,
}

/// A value that could not be encoded: which rule it breaks and a message naming what and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    pub rule: &'static Rule,
    pub message: String,
}

impl Fail {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        Fail {
            rule,
            message: message.into(),
        }
    }
}

/// What an encoder wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    Written {
        ty: Ty,
        size: usize,
    },
    /// Nothing to write (an empty set): the attribute is left out.
    Omit,
}

/// The per-worker output state: buffer, syntax, nesting depth, scratch space.
pub struct W {
    pub out: Vec<u8>,
    pub syn: Syntax,
    pub nulls: Nulls,
    pub depth: u32,
    pub scratch: Vec<u8>,
    /// Values left out because they were empty sets, in this batch.
    pub empty_sets: u64,
    /// Raw members of the set being written, and their spans.
    pub members: Vec<u8>,
    pub spans: Vec<(usize, usize)>,
    /// Validation: an empty set is an error (T001) instead of being left out.
    pub strict: bool,
    /// Validation: items are checked, not kept (`Encoded` then has no bytes and no ends).
    pub discard: bool,
    /// Keep each item's primary key and its hash in `Encoded::keys` (duplicate detection, and
    /// validate's order check); off for a conversion with `--duplicates off`.
    pub keep_keys: bool,
    /// Where the next batch's output buffer comes from when the writer gave one back (see
    /// [`Recycled`]); a new one otherwise.
    pub recycled: Option<Recycled>,
}

/// Output buffers of written batches, back for reuse. A new buffer's pages are faulted in and
/// zeroed by the kernel as the items are written (half of a conversion's page faults); a
/// returned one's are already there. Holds at most `keep` buffers.
#[derive(Clone)]
pub struct Recycled {
    bufs: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    keep: usize,
}

impl Recycled {
    pub fn new(keep: usize) -> Self {
        Recycled {
            bufs: Default::default(),
            keep,
        }
    }
    /// A buffer back from the writer; dropped if enough are waiting.
    pub fn give(&self, mut buf: Vec<u8>) {
        if let Ok(mut bufs) = self.bufs.lock() {
            if bufs.len() < self.keep {
                buf.clear();
                bufs.push(buf);
            }
        }
    }
    fn take(&self) -> Option<Vec<u8>> {
        self.bufs.lock().ok()?.pop()
    }
}

impl W {
    pub fn new(syn: Syntax, nulls: Nulls) -> Self {
        W {
            out: Vec::with_capacity(1 << 20),
            syn,
            nulls,
            depth: 0,
            scratch: Vec::new(),
            empty_sets: 0,
            members: Vec::new(),
            spans: Vec::new(),
            strict: false,
            discard: false,
            keep_keys: true,
            recycled: None,
        }
    }

    pub fn item_start(&mut self) {
        match self.syn {
            Syntax::Json => self.out.extend_from_slice(b"{\"Item\":{"),
            Syntax::Ion => self.out.extend_from_slice(b"$ion_1_0 {Item:{"),
        }
    }

    pub fn item_end(&mut self) {
        self.out.extend_from_slice(b"}}\n");
    }

    /// A field or map key name, with a comma before it unless it is the first.
    pub fn name(&mut self, name: &str, first: bool) {
        if !first {
            self.out.push(b',');
        }
        self.out.push(b'"');
        escape_into(name.as_bytes(), &mut self.out);
        self.out.extend_from_slice(b"\":");
    }

    /// A name already quoted and escaped by [`quoted_name`], comma first (column names: once
    /// per run, not once per value); the comma is left out for the first attribute.
    #[inline]
    pub fn quoted_name(&mut self, quoted: &[u8], first: bool) {
        put(&mut self.out, &quoted[usize::from(first)..]);
    }

    pub fn s(&mut self, v: &str) -> usize {
        self.s_utf8(v.as_bytes())
    }

    /// A string from bytes already known to be UTF-8 (raw key and set-member values, which
    /// come from strings), without checking them again.
    fn s_utf8(&mut self, v: &[u8]) -> usize {
        debug_assert!(std::str::from_utf8(v).is_ok());
        match self.syn {
            Syntax::Json => {
                self.out.extend_from_slice(HEAD_S);
                escape_into(v, &mut self.out);
                self.close_string();
            }
            Syntax::Ion => self.bare_s(v),
        }
        v.len()
    }

    /// A number whose canonical text `canonical` appends to a buffer (returning its size): in
    /// JSON straight into the item, with no copy through a scratch buffer; nothing is left of it
    /// when `canonical` fails.
    #[inline]
    pub fn n_with<E>(
        &mut self,
        canonical: impl FnOnce(&mut Vec<u8>) -> Result<usize, E>,
    ) -> Result<usize, E> {
        match self.syn {
            Syntax::Json => {
                let mark = self.out.len();
                self.out.extend_from_slice(HEAD_N);
                let r = self.n_rest(canonical);
                if r.is_err() {
                    self.out.truncate(mark);
                }
                r
            }
            Syntax::Ion => {
                let mut buf = std::mem::take(&mut self.scratch);
                buf.clear();
                let r = canonical(&mut buf).map(|size| self.n(&buf, size));
                self.scratch = buf;
                r
            }
        }
    }

    /// A JSON number after its head (`{"N":"`, written by [`W::n_with`] or with the attribute's
    /// name): `canonical` appends its canonical text to the item (returning its size), then the
    /// string ends. A failure may leave part of the text behind (the caller drops the item, or
    /// the head with it).
    #[inline]
    pub fn n_rest<E>(
        &mut self,
        canonical: impl FnOnce(&mut Vec<u8>) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let size = canonical(&mut self.out)?;
        self.close_string();
        Ok(size)
    }

    /// The end of a JSON string value (S, or N's text).
    #[inline]
    pub fn close_string(&mut self) {
        self.out.extend_from_slice(b"\"}");
    }

    /// A number already in canonical form; returns its size.
    pub fn n(&mut self, canonical: &[u8], size: usize) -> usize {
        match self.syn {
            Syntax::Json => {
                self.out.extend_from_slice(HEAD_N);
                put(&mut self.out, canonical);
                self.close_string();
            }
            Syntax::Ion => number::write_ion_decimal(canonical, &mut self.out),
        }
        size
    }

    pub fn b(&mut self, v: &[u8]) -> usize {
        match self.syn {
            Syntax::Json => {
                self.out.extend_from_slice(b"{\"B\":");
                self.bare_b(v);
                self.out.push(b'}');
            }
            Syntax::Ion => self.bare_b(v),
        }
        v.len()
    }

    pub fn bool(&mut self, v: bool) -> usize {
        let t: &[u8] = match (self.syn, v) {
            (Syntax::Json, true) => b"{\"BOOL\":true}",
            (Syntax::Json, false) => b"{\"BOOL\":false}",
            (Syntax::Ion, true) => b"true",
            (Syntax::Ion, false) => b"false",
        };
        put(&mut self.out, t);
        1
    }

    pub fn null(&mut self) -> usize {
        match self.syn {
            Syntax::Json => self.out.extend_from_slice(b"{\"NULL\":true}"),
            Syntax::Ion => self.out.extend_from_slice(b"null"),
        }
        1
    }

    /// Enter a list or map: checks the nesting limit.
    pub fn open(&mut self, ty: Ty) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > rules::MAX_NESTING {
            return Err(Fail::new(
                &rules::NESTING_TOO_DEEP,
                format!(
                    "lists and maps nest more than {} levels",
                    rules::MAX_NESTING
                ),
            ));
        }
        let t: &[u8] = match (self.syn, ty) {
            (Syntax::Json, Ty::L) => b"{\"L\":[",
            (Syntax::Json, Ty::M) => b"{\"M\":{",
            (Syntax::Ion, Ty::L) => b"[",
            (Syntax::Ion, Ty::M) => b"{",
            _ => unreachable!("open() is for L and M"),
        };
        self.out.extend_from_slice(t);
        Ok(())
    }

    pub fn close(&mut self, ty: Ty) {
        self.depth -= 1;
        let t: &[u8] = match (self.syn, ty) {
            (Syntax::Json, Ty::L) => b"]}",
            (Syntax::Json, Ty::M) => b"}}",
            (Syntax::Ion, Ty::L) => b"]",
            (Syntax::Ion, Ty::M) => b"}",
            _ => unreachable!("close() is for L and M"),
        };
        self.out.extend_from_slice(t);
    }

    pub fn set_open(&mut self, ty: Ty) {
        let t: &[u8] = match (self.syn, ty) {
            (Syntax::Json, Ty::SS) => b"{\"SS\":[",
            (Syntax::Json, Ty::NS) => b"{\"NS\":[",
            (Syntax::Json, Ty::BS) => b"{\"BS\":[",
            (Syntax::Ion, Ty::SS) => b"$dynamodb_SS::[",
            (Syntax::Ion, Ty::NS) => b"$dynamodb_NS::[",
            (Syntax::Ion, Ty::BS) => b"$dynamodb_BS::[",
            _ => unreachable!("set_open() is for sets"),
        };
        self.out.extend_from_slice(t);
    }

    pub fn set_close(&mut self) {
        match self.syn {
            Syntax::Json => self.out.extend_from_slice(b"]}"),
            Syntax::Ion => self.out.push(b']'),
        }
    }

    /// A set member (no type descriptor), from its raw scalar bytes.
    pub fn set_member(&mut self, ty: Ty, raw: &[u8]) {
        match (self.syn, ty) {
            (_, Ty::S) => self.bare_s(raw),
            (Syntax::Json, Ty::N) => {
                self.out.push(b'"');
                self.out.extend_from_slice(raw);
                self.out.push(b'"');
            }
            (Syntax::Ion, Ty::N) => number::write_ion_decimal(raw, &mut self.out),
            (_, Ty::B) => self.bare_b(raw),
            _ => unreachable!("set members are S, N or B"),
        }
    }

    /// Write a scalar from its raw form (string bytes, canonical number text, raw binary).
    pub fn scalar(&mut self, ty: Ty, raw: &[u8]) -> usize {
        match ty {
            Ty::S => self.s_utf8(raw),
            Ty::N => self.n(raw, number::canonical_size(raw)),
            Ty::B => self.b(raw),
            Ty::Bool => self.bool(raw == b"true"),
            Ty::Null => self.null(),
            _ => unreachable!("scalar() is for S, N, B, BOOL, NULL"),
        }
    }

    fn bare_s(&mut self, v: &[u8]) {
        debug_assert!(std::str::from_utf8(v).is_ok());
        self.out.push(b'"');
        escape_into(v, &mut self.out);
        self.out.push(b'"');
    }

    fn bare_b(&mut self, v: &[u8]) {
        let (open, close): (&[u8], &[u8]) = match self.syn {
            Syntax::Json => (b"\"", b"\""),
            Syntax::Ion => (b"{{", b"}}"),
        };
        self.out.extend_from_slice(open);
        base64_into(v, &mut self.out);
        self.out.extend_from_slice(close);
    }
}

/// The heads of JSON values whose type is fixed by their column (see [`Enc::json_head`]).
pub const HEAD_S: &[u8] = b"{\"S\":\"";
pub const HEAD_N: &[u8] = b"{\"N\":\"";
pub const HEAD_BOOL: &[u8] = b"{\"BOOL\":";

/// `,"name":` with the name escaped, for [`W::quoted_name`]. The escapes are the same in JSON
/// and Ion.
pub fn quoted_name(name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 4);
    v.extend_from_slice(b",\"");
    escape_into(name.as_bytes(), &mut v);
    v.extend_from_slice(b"\":");
    v
}

/// Append standard, padded base64.
pub fn base64_into(v: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let n = v.len().div_ceil(3) * 4;
    out.resize(start + n, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(v, &mut out[start..])
        .expect("buffer sized for base64");
    out.truncate(start + written);
}

/// 0 = copy, b'u' = \u00XX, anything else = that character after a backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// The index of the first byte at or after `i` that a JSON string must escape (quote, backslash,
/// control character), or `v.len()`. Eight bytes at a time: most strings have none.
#[inline]
pub fn find_escape(v: &[u8], i: usize) -> usize {
    find_special::<false>(v, i)
}

/// [`find_escape`], also stopping at non-ASCII bytes when `NON_ASCII` (for a reader that checks
/// their UTF-8). 32 bytes at a time where the CPU has AVX2, else eight.
#[inline]
pub fn find_special<const NON_ASCII: bool>(v: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if i + 32 <= v.len() && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        return unsafe { find_special_avx2::<NON_ASCII>(v, i) };
    }
    find_special_words::<NON_ASCII>(v, i)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn find_special_avx2<const NON_ASCII: bool>(v: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::*;
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let ctrl = _mm256_set1_epi8(0x1f);
    while i + 32 <= v.len() {
        // SAFETY: the 32 bytes at `i` are inside `v`; the load is unaligned.
        let c = unsafe { _mm256_loadu_si256(v.as_ptr().add(i) as *const __m256i) };
        // A byte is a control character when max(byte, 0x1f) is 0x1f (unsigned).
        let hits = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(c, quote), _mm256_cmpeq_epi8(c, backslash)),
            _mm256_cmpeq_epi8(_mm256_max_epu8(c, ctrl), ctrl),
        );
        let mut m = _mm256_movemask_epi8(hits) as u32;
        if NON_ASCII {
            m |= _mm256_movemask_epi8(c) as u32;
        }
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 32;
    }
    find_special_words::<NON_ASCII>(v, i)
}

/// The bytes of an eight-byte little-endian word that [`find_special`] stops at, as their top
/// bits. Only the lowest flagged byte is exact (borrows only run towards higher bytes), which is
/// the one a search wants.
#[inline(always)]
pub fn special_in_word<const NON_ASCII: bool>(c: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let hit = zero(c ^ (ONES * b'"' as u64))
        | zero(c ^ (ONES * b'\\' as u64))
        | (c.wrapping_sub(ONES * 0x20) & !c & HIGH);
    if NON_ASCII {
        hit | (c & HIGH)
    } else {
        hit
    }
}

#[inline]
fn find_special_words<const NON_ASCII: bool>(v: &[u8], mut i: usize) -> usize {
    while i + 8 <= v.len() {
        let c = u64::from_le_bytes(v[i..i + 8].try_into().expect("eight bytes"));
        let hit = special_in_word::<NON_ASCII>(c);
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if i < v.len() && v.len() >= 8 {
        // The last eight bytes, overlapping bytes before `i`. Those may hold a hit (a search
        // resumes right after the byte it escaped), and a hit's borrow flags the byte above it
        // wrongly (`"#`, `\]`, `\n` then a space). So they are replaced by a byte that is never
        // flagged and never borrows before the word is classified.
        let last = v.len() - 8;
        let c = u64::from_le_bytes(v[last..].try_into().expect("eight bytes"));
        let keep = u64::MAX << ((i - last) * 8);
        let c = (c & keep) | (0x4141_4141_4141_4141 & !keep);
        let hit = special_in_word::<NON_ASCII>(c) & keep;
        return if hit != 0 {
            last + (hit.trailing_zeros() / 8) as usize
        } else {
            v.len()
        };
    }
    while i < v.len() && ESCAPE[v[i] as usize] == 0 && !(NON_ASCII && v[i] >= 0x80) {
        i += 1;
    }
    i
}

/// Append `s` to `out`. Most pieces of an item are short (names, numbers, small values); those
/// are moved with two overlapping loads and stores instead of a call to memcpy, which costs more
/// than the copy at these sizes.
#[inline(always)]
pub fn put(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n > 32 {
        out.extend_from_slice(s);
        return;
    }
    out.reserve(32);
    let len = out.len();
    // SAFETY: `reserve(32)` leaves at least 32 writable bytes after `len`, and every store below
    // ends at most `n <= 32` bytes after it; every load reads inside `s` (the pairs overlap when
    // `n` is not a power of two). The `n` bytes after `len` are then initialised.
    unsafe {
        let src = s.as_ptr();
        let dst = out.as_mut_ptr().add(len);
        if n >= 16 {
            let a = src.cast::<[u8; 16]>().read_unaligned();
            let b = src.add(n - 16).cast::<[u8; 16]>().read_unaligned();
            dst.cast::<[u8; 16]>().write_unaligned(a);
            dst.add(n - 16).cast::<[u8; 16]>().write_unaligned(b);
        } else if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
        out.set_len(len + n);
    }
}

/// Escape a UTF-8 string for a JSON (and Ion: the escapes used are common to both) string body.
#[inline]
pub fn escape_into(v: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    loop {
        let i = find_escape(v, start);
        put(out, &v[start..i]);
        let Some(&c) = v.get(i) else {
            return;
        };
        let e = ESCAPE[c as usize];
        out.push(b'\\');
        if e == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.push(e);
        }
        start = i + 1;
    }
}

/// Which values of a column are null, when that is all [`Enc::is_null`] would look at: the item
/// loop then tests a bit instead of making a call per value.
pub enum NullMask {
    /// No value is null.
    NoNulls,
    /// Null where the bit is clear.
    Bits(arrow_buffer::NullBuffer),
    /// Ask [`Enc::is_null`] (dictionary values, columns of nulls, ...).
    Ask,
}

impl NullMask {
    /// From an Arrow array's validity bitmap.
    pub fn of(nulls: Option<&arrow_buffer::NullBuffer>) -> Self {
        match nulls {
            Some(b) if b.null_count() > 0 => NullMask::Bits(b.clone()),
            _ => NullMask::NoNulls,
        }
    }
}

/// One Arrow column (or child array) as DynamoDB values.
pub trait Enc: Send + Sync {
    fn is_null(&self, i: usize) -> bool;

    /// See [`NullMask`]; encoders whose `is_null` reads only their array's validity bitmap say so.
    fn null_mask(&self) -> NullMask {
        NullMask::Ask
    }

    /// The type every non-null value gets, when it is fixed (`None` for JSON cells).
    fn ty(&self) -> Option<Ty>;

    /// Raw scalar form (string bytes, canonical number text, raw binary) of value `i`, for keys
    /// and set members. Non-scalar encoders refuse.
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<Ty, Fail> {
        let _ = (i, buf);
        Err(Fail::new(
            &rules::KEY_NESTED,
            format!(
                "a {} value cannot be a key or set member",
                self.ty().map(Ty::as_str).unwrap_or("JSON")
            ),
        ))
    }

    /// The JSON text every written value of this encoder starts with (`{"N":"`), when there is
    /// one: the item loop then writes it together with the attribute's name, and the value's
    /// remainder with [`Enc::write_rest`].
    fn json_head(&self) -> Option<&'static [u8]> {
        None
    }

    /// Value `i` (not null) in JSON, less its [`Enc::json_head`]. Only called on encoders that
    /// have a head.
    fn write_rest(&self, i: usize, w: &mut W) -> Result<Val, Fail> {
        let _ = (i, w);
        unreachable!("write_rest is only called where json_head is Some")
    }

    /// Write value `i` (not null) in the output syntax.
    fn write(&self, i: usize, w: &mut W) -> Result<Val, Fail> {
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let r = self.raw(i, &mut buf).map(|ty| Val::Written {
            ty,
            size: w.scalar(ty, &buf),
        });
        w.scratch = buf;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The null mask says what `is_null` says, for whole and sliced arrays, with and without
    /// nulls.
    #[test]
    fn null_masks_agree_with_is_null() {
        use arrow_array::{Array, Int64Array};
        let with = Int64Array::from(vec![Some(1), None, Some(3), None, Some(5), Some(6)]);
        let without = Int64Array::from(vec![1, 2, 3]);
        for a in [with.clone(), with.slice(1, 4), with.slice(4, 2), without] {
            let enc = scalar::IntEnc {
                a: a.clone(),
                as_text: false,
            };
            let mask = enc.null_mask();
            if a.null_count() == 0 {
                assert!(matches!(mask, NullMask::NoNulls));
            }
            for i in 0..a.len() {
                let masked = match &mask {
                    NullMask::NoNulls => false,
                    NullMask::Bits(b) => b.is_null(i),
                    NullMask::Ask => unreachable!("integers have a bitmap"),
                };
                assert_eq!(masked, enc.is_null(i), "{i} of {a:?}");
            }
        }
    }

    /// Where an encoder has a JSON head, the head and [`Enc::write_rest`] write exactly what
    /// [`Enc::write`] writes, with the same type and size, and fail on the same values.
    #[test]
    fn heads_and_rests_write_what_write_writes() {
        use crate::encoding::plan::{build, EncodeOptions, Target, Timestamps};
        use arrow_array::types::TimestampMicrosecondType;
        use arrow_array::*;
        use std::sync::Arc;
        let cols: Vec<(ArrayRef, Target)> = vec![
            (
                Arc::new(Int64Array::from(vec![0, -7, 1200, i64::MIN])),
                Target::Auto,
            ),
            (Arc::new(Int32Array::from(vec![0, -7, 1200, 5])), Target::S),
            (
                Arc::new(Float64Array::from(vec![0.5, -1e300, f64::NAN, 3.0])),
                Target::Auto,
            ),
            (
                Arc::new(
                    Decimal128Array::from(vec![1250, -1, 0, i128::MAX])
                        .with_precision_and_scale(38, 2)
                        .unwrap(),
                ),
                Target::Auto,
            ),
            (
                Arc::new(BooleanArray::from(vec![true, false, true, false])),
                Target::Auto,
            ),
            (
                Arc::new(PrimitiveArray::<TimestampMicrosecondType>::from(vec![
                    0,
                    1_600_000_000_123_456,
                    -1,
                    253_402_300_799_999_999,
                ])),
                Target::Auto,
            ),
            (
                Arc::new(StringArray::from(vec!["a\"b\n", "", "é😀", "x"])),
                Target::Auto,
            ),
            (
                Arc::new(StringArray::from(vec!["1.50", "-0", "1e400", "x"])),
                Target::N,
            ),
        ];
        for timestamps in [Timestamps::Rfc3339, Timestamps::Epoch(3)] {
            let opts = EncodeOptions { timestamps };
            for (a, target) in &cols {
                let enc = build(a, target, &opts).unwrap();
                let head = enc.json_head().expect("every one of these has a head");
                for i in 0..a.len() {
                    let mut whole = W::new(Syntax::Json, Nulls::Omit);
                    let want = enc.write(i, &mut whole);
                    let mut split = W::new(Syntax::Json, Nulls::Omit);
                    split.out.extend_from_slice(head);
                    let got = enc.write_rest(i, &mut split);
                    match (want, got) {
                        (Ok(Val::Written { ty, size }), Ok(Val::Written { ty: t, size: n })) => {
                            assert_eq!((ty, size), (t, n), "{a:?} {i}");
                            assert_eq!(whole.out, split.out, "{a:?} {i}");
                        }
                        (Err(e), Err(f)) => assert!(std::ptr::eq(e.rule, f.rule), "{a:?} {i}"),
                        (want, got) => panic!("{a:?} {i}: {want:?} against {got:?}"),
                    }
                }
            }
        }
    }

    /// Buffers given back come out empty with their memory kept, and no more than `keep` wait.
    #[test]
    fn recycled_buffers_come_back_empty_and_are_bounded() {
        let r = Recycled::new(2);
        for k in 0..3 {
            r.give(vec![k as u8; 100 + k]);
        }
        let a = r.take().expect("kept");
        assert!(a.is_empty() && a.capacity() >= 100);
        assert!(r.take().is_some());
        assert!(r.take().is_none(), "the third was dropped");
    }

    /// `put` appends exactly what `extend_from_slice` would, at every short length and whatever
    /// room the vector has left.
    #[test]
    fn put_appends_the_bytes() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            for start in 0..20 {
                for cap in [0, start, start + 1, start + 16, 64] {
                    let mut got = Vec::with_capacity(cap);
                    got.extend((0..start).map(|k| 200 + k as u8));
                    let mut want = got.clone();
                    put(&mut got, &src[..n]);
                    want.extend_from_slice(&src[..n]);
                    assert_eq!(got, want, "n {n} start {start} cap {cap}");
                }
            }
        }
    }

    #[test]
    fn escapes() {
        let mut out = vec![];
        escape_into("a\"b\\c\n\u{1}é😀\u{7f}".as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\"b\\\\c\\n\\u0001é😀\u{7f}"
        );
        let mut out = vec![];
        base64_into(b"hello", &mut out);
        assert_eq!(out, b"aGVsbG8=");
        let mut out = vec![];
        base64_into(b"", &mut out);
        assert_eq!(out, b"");
    }

    /// The eight-at-a-time scan finds exactly the first byte the table escapes, whatever
    /// surrounds it (high bytes and zero bytes included, which trip naive bit tricks).
    #[test]
    fn find_escape_agrees_with_the_table() {
        // 20 bytes take the word-at-a-time path, 75 the 32-byte one (where the CPU has AVX2)
        // and then the word path for the tail.
        for len in [20, 75] {
            for fill in [b'a', 0x80, 0xff, b'!', b'~', 0x20, 0x7f] {
                for b in 0..=255u8 {
                    for p in 0..len {
                        let mut v = vec![fill; len];
                        v[p] = b;
                        let escaped = |c: u8| ESCAPE[c as usize] != 0;
                        let want = v.iter().position(|&c| escaped(c)).unwrap_or(len);
                        assert_eq!(find_escape(&v, 0), want, "fill {fill} byte {b} at {p}");
                        let from = p.min(5);
                        let want = (from..len).find(|&k| escaped(v[k])).unwrap_or(len);
                        assert_eq!(find_escape(&v, from), want);
                        let special = |c: u8| escaped(c) || c >= 0x80;
                        let want = v.iter().position(|&c| special(c)).unwrap_or(len);
                        assert_eq!(find_special::<true>(&v, 0), want, "{fill} {b} {p}");
                    }
                }
            }
        }
        let mut out = vec![];
        escape_into("0123456789\"abcdefgh\u{1f}ijklmnop\\".as_bytes(), &mut out);
        assert_eq!(out, b"0123456789\\\"abcdefgh\\u001fijklmnop\\\\");
    }

    /// A number written through `n_with` is the canonical text in each syntax, and a failed one
    /// leaves nothing behind.
    #[test]
    fn numbers_written_in_place() {
        for (syn, want) in [(Syntax::Json, "x{\"N\":\"1.5\"}"), (Syntax::Ion, "x1.5")] {
            let mut w = W::new(syn, Nulls::Omit);
            w.out.push(b'x');
            let size = w.n_with(|o| number::canonicalize(b"1.50", o)).unwrap();
            assert_eq!(
                (String::from_utf8(w.out.clone()).unwrap(), size),
                (want.into(), 3)
            );
            assert!(w.n_with(|o| number::canonicalize(b"1.5x", o)).is_err());
            assert!(w
                .n_with(|o| {
                    o.extend_from_slice(b"12");
                    Err(())
                })
                .is_err());
            assert_eq!(
                String::from_utf8(w.out).unwrap(),
                want,
                "nothing left of a failure"
            );
        }
    }

    #[test]
    fn quoted_names_take_their_comma_only_after_the_first() {
        let q = quoted_name("a\"b");
        assert_eq!(q, b",\"a\\\"b\":");
        let mut w = W::new(Syntax::Json, Nulls::Omit);
        w.quoted_name(&q, true);
        w.quoted_name(&quoted_name("c"), false);
        assert_eq!(w.out, b"\"a\\\"b\":,\"c\":");
    }

    #[test]
    fn syntax_tokens() {
        let mut w = W::new(Syntax::Json, Nulls::Omit);
        w.s("x");
        w.n(b"1.5", 3);
        w.b(b"hi");
        w.bool(true);
        w.null();
        assert_eq!(
            String::from_utf8(w.out).unwrap(),
            r#"{"S":"x"}{"N":"1.5"}{"B":"aGk="}{"BOOL":true}{"NULL":true}"#
        );
        let mut w = W::new(Syntax::Ion, Nulls::Omit);
        w.s("x");
        w.n(b"15", 2);
        w.b(b"hi");
        w.bool(false);
        w.null();
        w.set_open(Ty::NS);
        w.set_member(Ty::N, b"1E-8");
        w.set_close();
        assert_eq!(
            String::from_utf8(w.out).unwrap(),
            r#""x"15.{{aGk=}}falsenull$dynamodb_NS::[1d-8]"#
        );
    }
}
