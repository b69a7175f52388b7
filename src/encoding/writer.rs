//! The item writer: the per-worker output state the encoders write into (buffer, syntax,
//! nesting depth, scratch space), and the pool of buffers handed back once written.

use super::*;

/// The per-worker output state: buffer, syntax, nesting depth, scratch space.
pub struct ItemWriter {
    pub out: Vec<u8>,
    pub syn: Syntax,
    pub nulls: Nulls,
    pub depth: u32,
    /// The deepest `depth` reached since it was last set to 0 (a conversion's report).
    pub max_depth: u32,
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
    /// Note what each written item holds (`Encoded::noted`), for a conversion's report.
    pub note: bool,
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
    pub(super) fn take(&self) -> Option<Vec<u8>> {
        self.bufs.lock().ok()?.pop()
    }
}

impl ItemWriter {
    pub fn new(syn: Syntax, nulls: Nulls) -> Self {
        ItemWriter {
            out: Vec::with_capacity(1 << 20),
            syn,
            nulls,
            depth: 0,
            max_depth: 0,
            scratch: Vec::new(),
            empty_sets: 0,
            members: Vec::new(),
            spans: Vec::new(),
            strict: false,
            discard: false,
            keep_keys: true,
            note: false,
            recycled: None,
        }
    }

    pub(crate) fn item_start(&mut self) {
        match self.syn {
            Syntax::Json => self.out.extend_from_slice(b"{\"Item\":{"),
            Syntax::Ion => self.out.extend_from_slice(b"$ion_1_0 {Item:{"),
        }
    }

    pub(crate) fn item_end(&mut self) {
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
    pub(crate) fn quoted_name(&mut self, quoted: &[u8], first: bool) {
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
    pub(crate) fn n_with<E>(
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

    /// A JSON number after its head (`{"N":"`, written by [`ItemWriter::n_with`] or with the attribute's
    /// name): `canonical` appends its canonical text to the item (returning its size), then the
    /// string ends. A failure may leave part of the text behind (the caller drops the item, or
    /// the head with it).
    #[inline]
    pub(crate) fn n_rest<E>(
        &mut self,
        canonical: impl FnOnce(&mut Vec<u8>) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let size = canonical(&mut self.out)?;
        self.close_string();
        Ok(size)
    }

    /// The end of a JSON string value (S, or N's text).
    #[inline]
    pub(crate) fn close_string(&mut self) {
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
    pub fn open(&mut self, ty: AttrType) -> Result<(), RuleFailure> {
        self.depth += 1;
        self.max_depth = self.max_depth.max(self.depth);
        if self.depth > rules::MAX_NESTING {
            return Err(RuleFailure::new(
                &rules::NESTING_TOO_DEEP,
                format!(
                    "lists and maps nest more than {} levels",
                    rules::MAX_NESTING
                ),
            ));
        }
        let t: &[u8] = match (self.syn, ty) {
            (Syntax::Json, AttrType::L) => b"{\"L\":[",
            (Syntax::Json, AttrType::M) => b"{\"M\":{",
            (Syntax::Ion, AttrType::L) => b"[",
            (Syntax::Ion, AttrType::M) => b"{",
            _ => unreachable!("open() is for L and M"),
        };
        self.out.extend_from_slice(t);
        Ok(())
    }

    pub fn close(&mut self, ty: AttrType) {
        self.depth -= 1;
        let t: &[u8] = match (self.syn, ty) {
            (Syntax::Json, AttrType::L) => b"]}",
            (Syntax::Json, AttrType::M) => b"}}",
            (Syntax::Ion, AttrType::L) => b"]",
            (Syntax::Ion, AttrType::M) => b"}",
            _ => unreachable!("close() is for L and M"),
        };
        self.out.extend_from_slice(t);
    }

    pub(crate) fn set_open(&mut self, ty: AttrType) {
        let t: &[u8] = match (self.syn, ty) {
            (Syntax::Json, AttrType::SS) => b"{\"SS\":[",
            (Syntax::Json, AttrType::NS) => b"{\"NS\":[",
            (Syntax::Json, AttrType::BS) => b"{\"BS\":[",
            (Syntax::Ion, AttrType::SS) => b"$dynamodb_SS::[",
            (Syntax::Ion, AttrType::NS) => b"$dynamodb_NS::[",
            (Syntax::Ion, AttrType::BS) => b"$dynamodb_BS::[",
            _ => unreachable!("set_open() is for sets"),
        };
        self.out.extend_from_slice(t);
    }

    pub(crate) fn set_close(&mut self) {
        match self.syn {
            Syntax::Json => self.out.extend_from_slice(b"]}"),
            Syntax::Ion => self.out.push(b']'),
        }
    }

    /// A set member (no type descriptor), from its raw scalar bytes.
    pub(crate) fn set_member(&mut self, ty: AttrType, raw: &[u8]) {
        match (self.syn, ty) {
            (_, AttrType::S) => self.bare_s(raw),
            (Syntax::Json, AttrType::N) => {
                self.out.push(b'"');
                self.out.extend_from_slice(raw);
                self.out.push(b'"');
            }
            (Syntax::Ion, AttrType::N) => number::write_ion_decimal(raw, &mut self.out),
            (_, AttrType::B) => self.bare_b(raw),
            _ => unreachable!("set members are S, N or B"),
        }
    }

    /// Write a scalar from its raw form (string bytes, canonical number text, raw binary).
    pub fn scalar(&mut self, ty: AttrType, raw: &[u8]) -> usize {
        match ty {
            AttrType::S => self.s_utf8(raw),
            AttrType::N => self.n(raw, number::canonical_size(raw)),
            AttrType::B => self.b(raw),
            AttrType::Bool => self.bool(raw == b"true"),
            AttrType::Null => self.null(),
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
