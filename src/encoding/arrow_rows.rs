//! Turning a batch of rows into item lines, with every item check in the same pass: keys,
//! item size, nesting, number range, sets.

use super::{
    AttrType, ColumnEncoder, ItemWriter, NullMask, Nulls, Recycled, RuleFailure, Syntax,
    WriteOutcome,
};
use crate::encoding::plan::{build_field, KeyCheck, Plan};
use crate::encoding::target::Target;
use crate::model::keys::{KeyRole, ScalarType};
use crate::model::rules::{self, Rule};
use arrow_array::RecordBatch;

/// A row that was not written, by its index in the batch.
#[derive(Clone, Debug)]
pub struct RowReject {
    pub index: usize,
    pub rule: &'static Rule,
    pub message: String,
}

/// Primary keys of the written items: `[type][len u32 le][bytes]` for the partition key, then the
/// same for the sort key, back to back; `ends[k]` closes item k's key.
#[derive(Default, Debug)]
pub struct KeyArena {
    pub bytes: Vec<u8>,
    pub ends: Vec<usize>,
    pub hashes: Vec<u64>,
}

impl KeyArena {
    pub fn get(&self, k: usize) -> &[u8] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.bytes[start..self.ends[k]]
    }
}

/// The items of one batch: their bytes back to back, where each ends, which row each came from.
#[derive(Default, Debug)]
pub struct Encoded {
    pub buf: Vec<u8>,
    pub ends: Vec<usize>,
    pub rows: Vec<u32>,
    pub keys: KeyArena,
    pub rejects: Vec<RowReject>,
    pub empty_sets: u64,
    /// What the column encoder noted of each written item ([`ItemWriter::note`]).
    pub noted: Option<Noted>,
}

/// What the column encoder noted of the items it wrote, as it wrote them (a conversion's
/// report profiles items from this instead of reading the written lines again).
#[derive(Default, Debug)]
pub struct Noted {
    /// The attribute names, by column.
    pub names: Vec<String>,
    /// Per written item: its DynamoDB size, and where its attributes and key values end.
    pub sizes: Vec<u32>,
    pub attr_ends: Vec<u32>,
    pub key_ends: Vec<u32>,
    pub attrs: Vec<NotedAttr>,
    /// Each key attribute's value: its column, its type (`S`, `N`, `B`), its span in `key_bytes`.
    pub key_parts: Vec<(u32, u8, u32, u32)>,
    pub key_bytes: Vec<u8>,
}

/// One attribute of a written item.
#[derive(Clone, Copy, Debug)]
pub struct NotedAttr {
    pub col: u32,
    /// S, N, B, BOOL, NULL, L, M, SS, NS, BS as 0 to 9 ([`AttrType`]'s order).
    pub ty: u8,
    /// How deep lists and maps nest inside the value (0 for a scalar or a set).
    pub depth: u32,
    /// A set's members (0 for anything else).
    pub set_len: u32,
}

impl Noted {
    /// The attributes of written item `k`.
    pub fn attrs_of(&self, k: usize) -> &[NotedAttr] {
        let start = if k == 0 { 0 } else { self.attr_ends[k - 1] };
        &self.attrs[start as usize..self.attr_ends[k] as usize]
    }

    /// The key values of written item `k`: (column, type, bytes).
    pub fn keys_of(&self, k: usize) -> impl Iterator<Item = (u32, u8, &[u8])> {
        let start = if k == 0 { 0 } else { self.key_ends[k - 1] };
        self.key_parts[start as usize..self.key_ends[k] as usize]
            .iter()
            .map(|&(col, ty, a, b)| (col, ty, &self.key_bytes[a as usize..b as usize]))
    }
}

struct Col {
    name: String,
    /// `,"name":`, escaped once.
    quoted: Vec<u8>,
    /// `,"name":` and the encoder's [`ColumnEncoder::json_head`], where it has one (JSON, not a key).
    head: Option<Vec<u8>>,
    enc: Box<dyn ColumnEncoder>,
    nulls: NullMask,
    key: Option<KeyCheck>,
    converted: bool,
    /// Several attributes ([`ColumnEncoder::spreads`]).
    spread: bool,
}

/// Encodes the rows of batches that share the plan's schema.
pub struct ItemEncoder {
    cols: Vec<Col>,
    syn: Syntax,
    nulls: Nulls,
}

fn key_type_name(t: ScalarType) -> AttrType {
    match t {
        ScalarType::S => AttrType::S,
        ScalarType::N => AttrType::N,
        ScalarType::B => AttrType::B,
    }
}

impl ItemEncoder {
    /// Build the column encoders for `batch`. Columns are matched by name, so inputs may order
    /// them differently.
    pub fn new(
        plan: &Plan,
        batch: &RecordBatch,
        syn: Syntax,
        nulls: Nulls,
    ) -> anyhow::Result<Self> {
        let schema = batch.schema();
        let mut cols = Vec::with_capacity(plan.columns.len());
        for (k, c) in plan.columns.iter().enumerate() {
            // Inputs usually keep the plan's column order; `index_of` is a scan, so looking
            // every column up would make wide tables quadratic.
            let idx = match schema.fields().get(k) {
                Some(f) if f.name() == &c.name => k,
                _ => schema
                    .index_of(&c.name)
                    .map_err(|_| anyhow::anyhow!("column {:?} is missing", c.name))?,
            };
            let enc = build_field(schema.field(idx), batch.column(idx), &c.target, &plan.opts)
                .map_err(|e| anyhow::anyhow!("column {:?}: {e}", c.name))?;
            let quoted = super::quoted_name(&c.name);
            let head = match (syn, enc.json_head()) {
                (Syntax::Json, Some(h)) if c.key.is_none() => Some([&quoted[..], h].concat()),
                _ => None,
            };
            cols.push(Col {
                spread: enc.spreads(),
                name: c.name.clone(),
                quoted,
                head,
                nulls: enc.null_mask(),
                enc,
                key: c.key,
                converted: c.target != Target::Auto,
            });
        }
        // Table keys first: they are checked before anything else about the row, and items read
        // better with their key up front.
        cols.sort_by_key(|c| match c.key.map(|k| k.role) {
            Some(KeyRole::Partition) => 0,
            Some(KeyRole::Sort) => 1,
            _ => 2,
        });
        Ok(ItemEncoder { cols, syn, nulls })
    }

    /// Encode rows `0..len`, skipping `skip` (rows already rejected by the reader, sorted).
    pub fn encode(&self, len: usize, skip: &[usize], w: &mut ItemWriter) -> Encoded {
        w.syn = self.syn;
        w.nulls = self.nulls;
        // A column that spreads into several attributes names them as it writes: such batches
        // are not noted (the report reads their lines instead).
        if !w.note || self.cols.iter().any(|c| c.spread) {
            return encode_rows(len, skip, w, |i, w, key_buf, keys| {
                self.encode_row(i, w, key_buf, keys, None)
            });
        }
        let mut noted = Noted {
            names: self.cols.iter().map(|c| c.name.clone()).collect(),
            ..Noted::default()
        };
        // Sized once per batch instead of grown by doubling: an attribute a column, a key
        // value a key column, per row.
        let key_cols = self.cols.iter().filter(|c| c.key.is_some()).count();
        noted.sizes.reserve(len);
        noted.attr_ends.reserve(len);
        noted.key_ends.reserve(len);
        noted.attrs.reserve(len * self.cols.len());
        noted.key_parts.reserve(len * key_cols);
        noted.key_bytes.reserve(len * key_cols * 16);
        let mut e = encode_rows(len, skip, w, |i, w, key_buf, keys| {
            let (attrs, parts, bytes) = (
                noted.attrs.len(),
                noted.key_parts.len(),
                noted.key_bytes.len(),
            );
            let r = self.encode_row(i, w, key_buf, keys, Some(&mut noted));
            match r {
                Ok(size) if size <= rules::MAX_ITEM_BYTES => {
                    noted.sizes.push(size as u32);
                    noted.attr_ends.push(noted.attrs.len() as u32);
                    noted.key_ends.push(noted.key_parts.len() as u32);
                }
                _ => {
                    noted.attrs.truncate(attrs);
                    noted.key_parts.truncate(parts);
                    noted.key_bytes.truncate(bytes);
                }
            }
            r
        });
        e.noted = Some(noted);
        e
    }

    /// Write one item's attributes; returns its DynamoDB size.
    fn encode_row(
        &self,
        i: usize,
        w: &mut ItemWriter,
        key_buf: &mut Vec<u8>,
        keys: &mut Vec<u8>,
        mut noted: Option<&mut Noted>,
    ) -> Result<usize, (&'static Rule, String)> {
        let mut size = 0usize;
        let mut first = true;
        for (c, col) in self.cols.iter().enumerate() {
            let null = match &col.nulls {
                NullMask::NoNulls => false,
                NullMask::Bits(b) => b.is_null(i),
                NullMask::Ask => col.enc.is_null(i),
            };
            if null {
                if let Some(k) = col.key {
                    if k.role != KeyRole::Index {
                        return Err(missing_key(&col.name));
                    }
                }
                if w.nulls == Nulls::Null && !col.spread && !col.enc.absent(i) {
                    w.quoted_name(&col.quoted, first);
                    first = false;
                    size += col.name.len() + w.null();
                    if let Some(n) = noted.as_deref_mut() {
                        n.attrs.push(NotedAttr {
                            col: c as u32,
                            ty: AttrType::Null as u8,
                            depth: 0,
                            set_len: 0,
                        });
                    }
                }
                continue;
            }
            if let Some(k) = col.key {
                key_buf.clear();
                let type_rule = match k.role {
                    KeyRole::Index => &rules::GSI_KEY_TYPE,
                    _ => &rules::KEY_TYPE,
                };
                let actual = match col.enc.raw(i, key_buf) {
                    Ok(t) => t,
                    Err(f) if std::ptr::eq(f.rule, &rules::KEY_NESTED) => {
                        col.enc.ty().unwrap_or(AttrType::M)
                    }
                    // The declared key type could not be made from this value.
                    Err(f) if std::ptr::eq(f.rule, &rules::VALUE_CONVERSION) => {
                        return Err((
                            type_rule,
                            format!(
                                "Type mismatch for key {}: declared {}, but {}",
                                col.name,
                                key_type_name(k.ty).as_str(),
                                f.message
                            ),
                        ))
                    }
                    Err(f) => return Err(self.fail(col, f)),
                };
                w.quoted_name(&col.quoted, first);
                size += write_key(&col.name, k, actual, key_buf, w, keys)?;
                first = false;
                if let Some(n) = noted.as_deref_mut() {
                    n.attrs.push(NotedAttr {
                        col: c as u32,
                        ty: actual as u8,
                        depth: 0,
                        set_len: 0,
                    });
                    let at = n.key_bytes.len() as u32;
                    n.key_bytes.extend_from_slice(key_buf);
                    n.key_parts.push((
                        c as u32,
                        key_type_byte(actual),
                        at,
                        n.key_bytes.len() as u32,
                    ));
                }
                continue;
            }
            if col.spread {
                size += col
                    .enc
                    .write_spread(i, w, &mut first)
                    .map_err(|f| (f.rule, f.message))?;
                continue;
            }
            let mark = w.out.len();
            w.max_depth = 0;
            let written = match &col.head {
                Some(head) => {
                    super::put(&mut w.out, &head[usize::from(first)..]);
                    col.enc.write_rest(i, w)
                }
                None => {
                    w.quoted_name(&col.quoted, first);
                    col.enc.write(i, w)
                }
            };
            match written {
                Ok(WriteOutcome::Written { size: s, ty }) => {
                    size += col.name.len() + s;
                    first = false;
                    if let Some(n) = noted.as_deref_mut() {
                        let set = matches!(ty, AttrType::SS | AttrType::NS | AttrType::BS);
                        n.attrs.push(NotedAttr {
                            col: c as u32,
                            ty: ty as u8,
                            depth: w.max_depth,
                            // The set encoders leave their members' spans behind.
                            set_len: if set { w.spans.len() as u32 } else { 0 },
                        });
                    }
                }
                Ok(WriteOutcome::Omit) => w.out.truncate(mark),
                Err(f) => return Err(self.fail(col, f)),
            }
        }
        Ok(size)
    }

    fn fail(&self, col: &Col, f: RuleFailure) -> (&'static Rule, String) {
        let mut message = format!("attribute {}: {}", col.name, f.message);
        if std::ptr::eq(f.rule, &rules::VALUE_CONVERSION) && col.converted {
            message.push_str(&format!(
                "; to keep such values as text, use --type {}=S",
                col.name
            ));
        }
        (f.rule, message)
    }
}

/// The row loop shared by every item source: item framing, the size limit, rejects, key hashes.
/// `row` writes one item's attributes and returns its size.
pub fn encode_rows(
    len: usize,
    skip: &[usize],
    w: &mut ItemWriter,
    mut row: impl FnMut(
        usize,
        &mut ItemWriter,
        &mut Vec<u8>,
        &mut Vec<u8>,
    ) -> Result<usize, (&'static Rule, String)>,
) -> Encoded {
    let mut enc = Encoded::default();
    // Sized once per batch instead of grown by doubling.
    enc.ends.reserve(len);
    enc.rows.reserve(len);
    if w.keep_keys {
        enc.keys.ends.reserve(len);
        enc.keys.hashes.reserve(len);
        enc.keys.bytes.reserve(len * 32);
    }
    w.out.clear();
    w.empty_sets = 0;
    let mut key_buf = Vec::with_capacity(64);
    let mut skip = skip.iter().peekable();
    for i in 0..len {
        if skip.peek() == Some(&&i) {
            skip.next();
            continue;
        }
        let start = w.out.len();
        let key_start = enc.keys.bytes.len();
        w.depth = 0;
        w.item_start();
        match row(i, w, &mut key_buf, &mut enc.keys.bytes) {
            Ok(size) if size > rules::MAX_ITEM_BYTES => {
                w.out.truncate(start);
                enc.keys.bytes.truncate(key_start);
                enc.rejects.push(RowReject {
                    index: i,
                    rule: &rules::ITEM_TOO_LARGE,
                    message: format!(
                        "item size is {size} bytes; DynamoDB's limit is {} (Item size has exceeded the maximum allowed size)",
                        rules::MAX_ITEM_BYTES
                    ),
                });
            }
            Ok(_) => {
                if w.discard {
                    w.out.truncate(start);
                } else {
                    w.item_end();
                    enc.ends.push(w.out.len());
                }
                enc.rows.push(i as u32);
                if w.keep_keys {
                    let hash = crate::model::keys::key_hash(&enc.keys.bytes[key_start..]);
                    enc.keys.hashes.push(hash);
                    enc.keys.ends.push(enc.keys.bytes.len());
                }
            }
            Err((rule, message)) => {
                w.out.truncate(start);
                enc.keys.bytes.truncate(key_start);
                enc.rejects.push(RowReject {
                    index: i,
                    rule,
                    message,
                });
            }
        }
    }
    enc.empty_sets = w.empty_sets;
    // Hand the buffer over and start the next one at the same size: no regrowth per batch.
    let cap = w.out.capacity();
    let next = match w.recycled.as_ref().and_then(Recycled::take) {
        Some(mut b) => {
            b.reserve(cap);
            b
        }
        None => Vec::with_capacity(cap),
    };
    enc.buf = std::mem::replace(&mut w.out, next);
    enc
}

/// Check a key attribute's value (type, emptiness, length), write it (after its name, which the
/// caller wrote), and add table keys to the key arena for duplicate detection. Returns the size
/// it adds to the item, name included.
pub(crate) fn write_key(
    name: &str,
    k: KeyCheck,
    actual: AttrType,
    raw: &[u8],
    w: &mut ItemWriter,
    keys: &mut Vec<u8>,
) -> Result<usize, (&'static Rule, String)> {
    let want = key_type_name(k.ty);
    let (type_rule, empty_rule) = match k.role {
        KeyRole::Index => (&rules::GSI_KEY_TYPE, &rules::GSI_KEY_EMPTY),
        _ => (&rules::KEY_TYPE, &rules::KEY_EMPTY),
    };
    if matches!(
        actual,
        AttrType::L | AttrType::M | AttrType::SS | AttrType::NS | AttrType::BS
    ) {
        return Err((
            &rules::KEY_NESTED,
            format!(
                "key {name} is {}; keys must be top-level S, N or B values",
                actual.as_str()
            ),
        ));
    }
    if actual != want {
        return Err((
            type_rule,
            format!(
                "Type mismatch for key {name} expected: {} actual: {}",
                want.as_str(),
                actual.as_str()
            ),
        ));
    }
    if raw.is_empty() {
        return Err((
            empty_rule,
            format!(
                "key {name} is an empty {}; key values must be at least 1 byte",
                want.as_str()
            ),
        ));
    }
    let limit = match k.role {
        KeyRole::Partition => Some((
            rules::MAX_PARTITION_KEY_BYTES,
            &rules::PARTITION_KEY_TOO_LONG,
            "partition",
        )),
        KeyRole::Sort => Some((rules::MAX_SORT_KEY_BYTES, &rules::SORT_KEY_TOO_LONG, "sort")),
        KeyRole::Index => None,
    };
    if let Some((max, rule, what)) = limit {
        if want != AttrType::N && raw.len() > max {
            return Err((
                rule,
                format!(
                    "{what} key {name} is {} bytes; the limit is {max}",
                    raw.len()
                ),
            ));
        }
    }
    let size = name.len() + w.scalar(actual, raw);
    if k.role != KeyRole::Index && w.keep_keys {
        push_key_part(keys, key_type_byte(actual), raw);
    }
    Ok(size)
}

/// A key value's type as the key arena writes it.
fn key_type_byte(t: AttrType) -> u8 {
    match t {
        AttrType::S => b'S',
        AttrType::N => b'N',
        _ => b'B',
    }
}

/// The message for a key whose value is null or absent.
pub(crate) fn missing_key(name: &str) -> (&'static Rule, String) {
    (
        &rules::KEY_MISSING,
        format!("Missing the key {name} in the item (the value is null or empty)"),
    )
}

/// Append one attribute of a key to the arena's form: its type byte (`S`, `N`, `B`), its
/// length (u32, little-endian), its bytes (a number canonical).
#[inline]
pub(crate) fn push_key_part(keys: &mut Vec<u8>, ty: u8, value: &[u8]) {
    keys.push(ty);
    keys.extend_from_slice(&(value.len() as u32).to_le_bytes());
    super::put(keys, value);
}

/// The (type, bytes) attributes of a key in the arena's form, in place: partition key first.
/// A key cut short ends where its last whole attribute does.
pub(crate) fn key_parts(mut k: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let len = u32::from_le_bytes(k.get(1..5)?.try_into().expect("four bytes")) as usize;
        let part = (k[0], k.get(5..5 + len)?);
        k = &k[5 + len..];
        Some(part)
    })
}

/// Decode a key from the arena into (type, bytes) pairs: partition key, then sort key.
pub fn split_key(k: &[u8]) -> Vec<(u8, &[u8])> {
    key_parts(k).collect()
}
/// A primary key from the arena as plain JSON: `{"pk":"a","sk":"1"}` (B as base64).
pub fn key_json(names: &[String], key: &[u8]) -> serde_json::Value {
    serde_json::to_value(KeyText { names, key }).expect("a key serializes")
}

/// A primary key from the arena, serialized as [`key_json`]'s object without building it
/// (duplicates.jsonl writes one per duplicate item).
pub struct KeyText<'a> {
    pub names: &'a [String],
    pub key: &'a [u8],
}

impl serde::Serialize for KeyText<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        let mut b64 = Vec::new();
        for (name, (ty, bytes)) in self.names.iter().zip(key_parts(self.key)) {
            let text = if ty == b'B' {
                b64.clear();
                crate::encoding::base64_into(bytes, &mut b64);
                String::from_utf8_lossy(&b64)
            } else {
                String::from_utf8_lossy(bytes)
            };
            m.serialize_entry(name, &*text)?;
        }
        m.end()
    }
}
