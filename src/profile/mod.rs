//! What an import holds, in one read: volume, item sizes, attributes, key design, limits and
//! cost (`prep inspect`). Workers turn the items of a batch into [`BatchFacts`] in parallel; the
//! [`Profiler`] folds them in input order into figures whose memory is bounded whatever the
//! item count (exact item-size counts, since an item is at most 400 KB; keys through the
//! sample and heavy hitters of [`counts`]), and [`Profiler::finish`] writes the [`Summary`]:
//! a documented, stable JSON schema (docs/inspect.md) that the text and HTML views render.

pub mod cost;
pub(crate) mod counts;
pub mod html;

use crate::encoding::arrow_rows::{key_parts, push_key_part};
use crate::encoding::attrs::{attr_raw, number_raw};
use crate::encoding::scan::TopAttr;
use crate::input::parse::{AttrValue, Item};
use crate::model::keys::KeySchema;
use crate::model::rules::MAX_ITEM_BYTES;
use counts::{HeavyHitters, KeySample};
use serde::{Deserialize, Serialize};
use std::collections::{BinaryHeap, HashMap};

/// What `prep inspect` is asked besides its inputs.
#[derive(Clone, Debug)]
pub struct ProfileOptions {
    /// How many of the hottest keys and largest items to name.
    pub top: usize,
    /// Memory for the key counts (all indexes together) before they turn to estimates.
    pub memory: usize,
    /// The region whose prices apply.
    pub region: String,
    /// The import's price per GB, instead of the table's.
    pub price_per_gb: Option<f64>,
}

impl ProfileOptions {
    /// The options of a report for `region` (else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
    /// us-east-1), with the import's price per GB when given (a number of dollars, 0 or more).
    pub fn for_region(region: Option<&str>, price_per_gb: Option<f64>) -> anyhow::Result<Self> {
        if price_per_gb.is_some_and(|p| !(p.is_finite() && p >= 0.0)) {
            anyhow::bail!("the price per GB must be a number of dollars, 0 or more");
        }
        let region = region
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        Ok(ProfileOptions {
            region,
            price_per_gb,
            ..Default::default()
        })
    }
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            top: 10,
            memory: 64 << 20,
            region: "us-east-1".into(),
            price_per_gb: None,
        }
    }
}

/// The table's key or one GSI's.
#[derive(Clone, Debug)]
#[doc(hidden)]
pub struct Index {
    pub name: Option<String>,
    pub partition: Vec<String>,
    pub sort: Vec<String>,
}

impl Index {
    /// The table's key and then each GSI's, from a key schema.
    pub fn all(keys: &KeySchema) -> Vec<Index> {
        let mut out = vec![Index {
            name: None,
            partition: vec![keys.partition.name.clone()],
            sort: keys.sort.iter().map(|s| s.name.clone()).collect(),
        }];
        out.extend(keys.gsis.iter().map(|g| Index {
            name: Some(g.name.clone()),
            partition: g.partition.iter().map(|a| a.name.clone()).collect(),
            sort: g.sort.iter().map(|a| a.name.clone()).collect(),
        }));
        out
    }
}

/// Items at least this large are "near the limit".
pub(crate) const NEAR_LIMIT: u64 = MAX_ITEM_BYTES as u64 * 9 / 10;

/// Attribute names counted one by one; past this many, the rest are counted together.
const MAX_NAMES: usize = 10_000;

/// The ten DynamoDB types, in the order reports list them.
pub(crate) const TYPES: [&str; 10] = ["S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"];

fn type_index(v: &AttrValue) -> usize {
    match v {
        AttrValue::S(_) => 0,
        AttrValue::N(_) => 1,
        AttrValue::B(_) => 2,
        AttrValue::Bool(_) => 3,
        AttrValue::Null => 4,
        AttrValue::L(_) => 5,
        AttrValue::M(_) => 6,
        AttrValue::SS(_) => 7,
        AttrValue::NS(_) => 8,
        AttrValue::BS(_) => 9,
    }
}

/// Where an item is: its file (index into the run's sources) and line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct At {
    pub source: u32,
    pub line: u64,
}

/// One attribute name's figures.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct AttrTally {
    items: u64,
    types: [u64; 10],
    /// The first item holding each type.
    first: [Option<At>; 10],
    max_depth: u32,
    set_items: u64,
    set_members: u64,
    max_members: u64,
}

impl AttrTally {
    /// One more attribute of this name: its type index, nesting depth and set members, in the
    /// item at `at`.
    #[inline]
    fn count(&mut self, at: At, ty: usize, depth: u32, set_len: u32) {
        self.items += 1;
        self.types[ty] += 1;
        if self.first[ty].is_none() {
            self.first[ty] = Some(at);
        }
        self.max_depth = self.max_depth.max(depth);
        if matches!(ty, 7..=9) {
            self.set_items += 1;
            self.set_members += set_len as u64;
            self.max_members = self.max_members.max(set_len as u64);
        }
    }

    fn join(&mut self, o: &AttrTally) {
        self.items += o.items;
        for t in 0..TYPES.len() {
            self.types[t] += o.types[t];
            if self.first[t].is_none() {
                self.first[t] = o.first[t];
            }
        }
        self.max_depth = self.max_depth.max(o.max_depth);
        self.set_items += o.set_items;
        self.set_members += o.set_members;
        self.max_members = self.max_members.max(o.max_members);
    }
}

/// DynamoDB's size of a value (as the encoders count it: numbers by their canonical form);
/// `scratch` holds a number's canonical text on the way.
fn value_size(v: &AttrValue, scratch: &mut Vec<u8>) -> usize {
    let mut number = |n: &str| {
        scratch.clear();
        number_raw(n, scratch).unwrap_or(n.len())
    };
    match v {
        AttrValue::S(s) => s.len(),
        AttrValue::N(n) => number(n),
        AttrValue::B(b) => b.len(),
        AttrValue::Bool(_) | AttrValue::Null => 1,
        AttrValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x, scratch)).sum::<usize>(),
        AttrValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x, scratch))
                .sum::<usize>()
        }
        AttrValue::SS(v) => v.iter().map(String::len).sum(),
        AttrValue::NS(v) => v.iter().map(|n| number(n)).sum(),
        AttrValue::BS(v) => v.iter().map(Vec::len).sum(),
    }
}

/// DynamoDB's size of an item: each attribute's name and value.
#[cfg(test)]
fn item_size(item: &Item) -> usize {
    let mut scratch = Vec::new();
    item.iter()
        .map(|(k, v)| k.len() + value_size(v, &mut scratch))
        .sum()
}

/// How deep lists and maps nest inside a value (0 for a scalar or a set).
fn depth(v: &AttrValue) -> u32 {
    match v {
        AttrValue::L(l) => 1 + l.iter().map(depth).max().unwrap_or(0),
        AttrValue::M(m) => 1 + m.iter().map(|(_, x)| depth(x)).max().unwrap_or(0),
        _ => 0,
    }
}

fn set_len(v: &AttrValue) -> u32 {
    match v {
        AttrValue::SS(s) => s.len() as u32,
        AttrValue::NS(s) => s.len() as u32,
        AttrValue::BS(s) => s.len() as u32,
        _ => 0,
    }
}

/// No key: the item lacks an attribute of it (a sparse GSI), or it is not a scalar.
const ABSENT: (u32, u32) = (u32::MAX, u32::MAX);

/// Attribute tallies of a batch. Items of one batch mostly list the same names in the same
/// order, so each position remembers the tally its name had last time: a comparison of a few
/// bytes instead of a hash lookup per attribute.
#[derive(Debug, Default)]
struct NameTallies {
    tallies: Vec<(String, AttrTally)>,
    index: HashMap<String, usize, foldhash::fast::FixedState>,
    /// Per attribute position: the tally the name there had in the last item.
    recent: Vec<usize>,
}

/// A place whose name is not known yet.
const NOT_YET: usize = usize::MAX;
/// Places remembered: items (or tables) wider than this look their further names up.
const MAX_PLACES: usize = 1 << 16;

impl NameTallies {
    /// The tally of `name` (UTF-8), the attribute at `pos` of its item, by its index in
    /// `tallies`: the place's last name when it is this one (inlined: most attributes), else
    /// a lookup.
    #[inline]
    fn place(&mut self, pos: usize, name: &[u8]) -> usize {
        match self.recent.get(pos) {
            Some(&t) if t != NOT_YET && self.tallies[t].0.as_bytes() == name => t,
            _ => self.look_up(pos, name),
        }
    }

    /// The tally of `name`, found or made, remembered for place `pos`.
    #[cold]
    #[inline(never)]
    fn look_up(&mut self, pos: usize, name: &[u8]) -> usize {
        let name = String::from_utf8_lossy(name);
        let t = match self.index.get(name.as_ref()) {
            Some(&t) => t,
            None => {
                self.tallies.push((name.to_string(), AttrTally::default()));
                self.index.insert(name.into_owned(), self.tallies.len() - 1);
                self.tallies.len() - 1
            }
        };
        if pos < MAX_PLACES {
            if pos >= self.recent.len() {
                self.recent.resize(pos + 1, NOT_YET);
            }
            self.recent[pos] = t;
        }
        t
    }

    #[inline]
    fn count(&mut self, pos: usize, name: &[u8], at: At, ty: usize, depth: u32, set_len: u32) {
        let t = self.place(pos, name);
        self.tallies[t].1.count(at, ty, depth, set_len);
    }
}

/// Where the key attributes of each index are among the scanner's key attributes.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct KeySlots {
    /// Per index, its partition key attributes' slots (`None`: the scanner does not read it,
    /// so no item has that key on the fast path).
    partition: Vec<Vec<Option<usize>>>,
    /// The table's sort key's slot.
    sort: Option<usize>,
}

impl KeySlots {
    /// Slots of `indexes` among the scanner's `keys` (names, in its order).
    pub fn new(indexes: &[Index], keys: &[String]) -> Self {
        let slot = |name: &String| keys.iter().position(|k| k == name);
        KeySlots {
            partition: indexes
                .iter()
                .map(|ix| ix.partition.iter().map(slot).collect())
                .collect(),
            sort: indexes.first().and_then(|t| t.sort.first()).and_then(slot),
        }
    }
}

/// What the workers found in one batch's items.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct BatchFacts {
    sizes: Vec<u32>,
    lines: Vec<u64>,
    /// Per item, one span into `keys` per index (the table's, then each GSI's); [`ABSENT`] where
    /// the item has no key for it.
    spans: Vec<(u32, u32)>,
    /// Keys as the duplicate index holds them: per attribute a type byte, a length, the bytes.
    keys: Vec<u8>,
    /// Each span's key hash ([`crate::model::keys::key_hash`]; 0 where absent).
    hashes: Vec<u64>,
    /// The table's sort key's bytes, per item.
    sort_bytes: Vec<u32>,
    names: NameTallies,
    source: u32,
    scratch: Vec<u8>,
}

/// Two batches' facts are equal when they hold the same items and tallies, whatever order
/// the names were first met in.
impl PartialEq for BatchFacts {
    fn eq(&self, o: &Self) -> bool {
        let keys = |f: &BatchFacts| -> Vec<Option<Vec<u8>>> {
            f.spans
                .iter()
                .map(|&(a, b)| (a, b) != ABSENT)
                .zip(&f.spans)
                .map(|(present, &(a, b))| present.then(|| f.keys[a as usize..b as usize].to_vec()))
                .collect()
        };
        let tallies = |f: &BatchFacts| -> Vec<(String, String)> {
            let mut v: Vec<(String, String)> = f
                .names
                .tallies
                .iter()
                .map(|(n, t)| (n.clone(), format!("{t:?}")))
                .collect();
            v.sort();
            v
        };
        self.source == o.source
            && self.sizes == o.sizes
            && self.lines == o.lines
            && self.sort_bytes == o.sort_bytes
            && keys(self) == keys(o)
            && tallies(self) == tallies(o)
    }
}

impl BatchFacts {
    pub fn new(source: usize) -> Self {
        BatchFacts {
            source: source as u32,
            ..Default::default()
        }
    }

    /// For `items` items of `indexes` indexes: sized once instead of grown by doubling.
    pub(crate) fn with_capacity(source: usize, items: usize, indexes: usize) -> Self {
        let mut f = BatchFacts::new(source);
        f.sizes.reserve(items);
        f.lines.reserve(items);
        f.sort_bytes.reserve(items);
        f.spans.reserve(items * indexes);
        f.hashes.reserve(items * indexes);
        f.keys.reserve(items * indexes * 24);
        f
    }

    /// Append `item`, read at `line`: the plain path, over the parsed item.
    pub fn add(&mut self, indexes: &[Index], item: &Item, line: u64) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let size: usize = item
            .iter()
            .map(|(k, v)| k.len() + value_size(v, &mut scratch))
            .sum();
        self.sizes.push(size.min(u32::MAX as usize) as u32);
        self.lines.push(line);
        for ix in indexes {
            let start = self.keys.len();
            let mut whole = true;
            for name in &ix.partition {
                whole &= self.push_key(item, name, &mut scratch);
            }
            self.end_key(start, whole);
        }
        let sort = match indexes.first().and_then(|t| t.sort.first()) {
            Some(s) => {
                scratch.clear();
                match item.iter().find(|(n, _)| n == s) {
                    Some((_, v)) if attr_raw(v, &mut scratch).is_ok() => scratch.len() as u32,
                    _ => 0,
                }
            }
            None => 0,
        };
        self.scratch = scratch;
        self.sort_bytes.push(sort);
        let at = At {
            source: self.source,
            line,
        };
        for (pos, (name, v)) in item.iter().enumerate() {
            self.names.count(
                pos,
                name.as_bytes(),
                at,
                type_index(v),
                depth(v),
                set_len(v),
            );
        }
    }

    /// Append an item the validate scanner read on its fast path: its `size`, the top-level
    /// attributes it recorded of `line_bytes`, and its key values by slot (`key(slot)`). Gives
    /// what [`BatchFacts::add`] gives for the same line (a differential test and a fuzz target
    /// hold them together).
    pub fn add_scanned<'a>(
        &mut self,
        slots: &KeySlots,
        line_bytes: &[u8],
        size: usize,
        attrs: &[TopAttr],
        key: impl Fn(usize) -> Option<(u8, &'a [u8])>,
        line: u64,
    ) {
        // The scanner took the line: its names are valid UTF-8 without escapes.
        let attrs = attrs.iter().enumerate().map(|(pos, a)| {
            (
                pos,
                &line_bytes[a.name.0..a.name.1],
                a.ty,
                a.depth,
                a.set_len,
            )
        });
        self.add_described(slots, size, attrs, key, line);
    }

    /// Append the items the column encoder noted while writing them, item `k` read at
    /// `line_of(k)`, their key values found by slot through `slot_of` (each column's slot, if
    /// a key's). Gives what [`BatchFacts::add`] gives for the written lines (held together by
    /// the report tests).
    pub(crate) fn add_noted(
        &mut self,
        slots: &KeySlots,
        noted: &crate::encoding::arrow_rows::Noted,
        slot_of: &[Option<usize>],
        line_of: impl Fn(usize) -> u64,
    ) {
        // A batch's columns keep their names: each column's tally is found once per batch
        // (when the column is first written: a column never written names nothing), not once
        // per value. Tallied by column: a column a row leaves out does not move the others'
        // places.
        let mut tallies = vec![NOT_YET; noted.names.len()];
        for k in 0..noted.sizes.len() {
            let line = line_of(k);
            let key = |slot: usize| {
                noted
                    .keys_of(k)
                    .find(|&(col, _, _)| slot_of[col as usize] == Some(slot))
                    .map(|(_, ty, v)| (ty, v))
            };
            self.add_keys(slots, noted.sizes[k] as usize, key, line);
            let at = At {
                source: self.source,
                line,
            };
            for a in noted.attrs_of(k) {
                let col = a.col as usize;
                if tallies[col] == NOT_YET {
                    tallies[col] = self.names.place(col, noted.names[col].as_bytes());
                }
                let t = &mut self.names.tallies[tallies[col]].1;
                t.count(at, a.ty as usize, a.depth, a.set_len);
            }
        }
    }

    /// Append an item described by its size, its top-level attributes (place, name, type
    /// index, depth, set members: the place is where [`NameTallies`] looks for the name first)
    /// and its key values by slot.
    fn add_described<'a, 'n>(
        &mut self,
        slots: &KeySlots,
        size: usize,
        attrs: impl Iterator<Item = (usize, &'n [u8], u8, u32, u32)>,
        key: impl Fn(usize) -> Option<(u8, &'a [u8])>,
        line: u64,
    ) {
        self.add_keys(slots, size, key, line);
        let at = At {
            source: self.source,
            line,
        };
        for (pos, name, ty, depth, set_len) in attrs {
            self.names.count(pos, name, at, ty as usize, depth, set_len);
        }
    }

    /// Append an item's size, line and key values by slot (all but its attributes' tallies).
    fn add_keys<'a>(
        &mut self,
        slots: &KeySlots,
        size: usize,
        key: impl Fn(usize) -> Option<(u8, &'a [u8])>,
        line: u64,
    ) {
        self.sizes.push(size.min(u32::MAX as usize) as u32);
        self.lines.push(line);
        for ix in &slots.partition {
            let start = self.keys.len();
            let mut whole = true;
            for slot in ix {
                match slot.and_then(&key) {
                    Some((ty, v)) => push_key_part(&mut self.keys, ty, v),
                    None => whole = false,
                }
            }
            self.end_key(start, whole);
        }
        let sort = slots.sort.and_then(&key).map_or(0, |(_, v)| v.len() as u32);
        self.sort_bytes.push(sort);
    }

    /// Append the value of `name` to `keys`; false when the item has no scalar value for it.
    fn push_key(&mut self, item: &Item, name: &str, scratch: &mut Vec<u8>) -> bool {
        let Some((_, v)) = item.iter().find(|(n, _)| n == name) else {
            return false;
        };
        let ty = match v {
            AttrValue::S(_) => b'S',
            AttrValue::N(_) => b'N',
            AttrValue::B(_) => b'B',
            _ => return false,
        };
        scratch.clear();
        if attr_raw(v, scratch).is_err() {
            return false;
        }
        push_key_part(&mut self.keys, ty, scratch);
        true
    }

    /// End the key of one index begun at `start` of `keys`: its span and hash when `whole`,
    /// else nothing of it (the item has no key for that index).
    fn end_key(&mut self, start: usize, whole: bool) {
        if whole {
            self.spans.push((start as u32, self.keys.len() as u32));
            // Hashed here, on the workers, not on the thread that folds the batches.
            self.hashes
                .push(crate::model::keys::key_hash(&self.keys[start..]));
        } else {
            self.keys.truncate(start);
            self.spans.push(ABSENT);
            self.hashes.push(0);
        }
    }
}

/// One index's key counts.
#[derive(Debug)]
struct KeyStats {
    index: Index,
    sample: KeySample,
    by_items: HeavyHitters,
    by_bytes: HeavyHitters,
    items: u64,
    bytes: u64,
    max_key_bytes: u64,
}

/// How one source's items follow each other by partition key (the table's): the import writes
/// in object order, so a file sorted by partition key makes a rolling hot partition. The one
/// tally of `prep validate`'s W001 and of the profile's order, so that the two agree.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct OrderTally {
    #[serde(skip)]
    last: Option<Vec<u8>>,
    pub(crate) pairs: u64,
    pub(crate) ascending: u64,
    changes: u64,
}

impl OrderTally {
    /// The next item's key: a key-arena entry, of which the first part (the partition key's
    /// value, its bytes as they are) is compared.
    pub(crate) fn add(&mut self, key: &[u8]) {
        let key = partition_key(key);
        if let Some(last) = &self.last {
            // One comparison answers both: ascending (not less), and a change (not equal).
            let order = key.cmp(last.as_slice());
            self.pairs += 1;
            self.ascending += u64::from(order.is_ge());
            self.changes += u64::from(order.is_ne());
        }
        match &mut self.last {
            Some(l) => {
                l.clear();
                l.extend_from_slice(key);
            }
            None => self.last = Some(key.to_vec()),
        }
    }

    /// Sorted as `prep validate` calls a file sorted (W001): (nearly) every consecutive pair
    /// ascends and the key keeps changing.
    pub(crate) fn sorted(&self) -> bool {
        self.pairs >= 1000 && self.changes >= 100 && self.ascending * 100 >= self.pairs * 99
    }
}

/// The partition key's bytes in a key-arena entry (read in place: this runs once per item).
pub(crate) fn partition_key(key: &[u8]) -> &[u8] {
    key_parts(key).next().map_or(&[], |(_, v)| v)
}

/// Heavy-hitter counters per index and weight: enough that the reported error stays well under
/// the weights worth naming.
const HITTERS: usize = 4096;

/// One file's figures.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct FileFigures {
    pub file: String,
    /// Its size as stored (compressed, if it is).
    pub stored_bytes: u64,
    /// The bytes of its lines, newlines included: what the import bills.
    pub uncompressed_bytes: u64,
    pub lines: u64,
    pub items: u64,
}

/// Folds the facts of every batch, in input order.
pub(crate) struct Profiler {
    opts: ProfileOptions,
    indexes: Vec<KeyStats>,
    files: Vec<FileFigures>,
    /// How an item's place names its source: the files themselves (inspect), or the inputs a
    /// conversion read (its report names an item by input and row).
    places: Option<Vec<String>>,
    /// Items by exact size; the last slot counts items over the limit.
    by_size: Vec<u64>,
    item_bytes: u64,
    items: u64,
    largest: BinaryHeap<std::cmp::Reverse<(u32, std::cmp::Reverse<At>)>>,
    names: HashMap<String, AttrTally>,
    other_names: u64,
    write_units: u64,
    stored_bytes: u128,
    max_sort_bytes: u64,
    /// Per source, how its items follow each other by the table's partition key.
    order: Vec<OrderTally>,
    /// Whether [`Profiler::add`] tallies the order (else the caller hands its own tallies to
    /// [`Profiler::set_order`]: validate keeps them for W001 anyway).
    tally_order: bool,
}

impl Profiler {
    pub(crate) fn new(keys: Option<&KeySchema>, opts: ProfileOptions) -> Self {
        let indexes = keys.map(Index::all).unwrap_or_default();
        let share = opts.memory / indexes.len().max(1);
        Profiler {
            indexes: indexes
                .into_iter()
                .map(|index| KeyStats {
                    index,
                    sample: KeySample::new(share),
                    by_items: HeavyHitters::new(HITTERS),
                    by_bytes: HeavyHitters::new(HITTERS),
                    items: 0,
                    bytes: 0,
                    max_key_bytes: 0,
                })
                .collect(),
            opts,
            files: Vec::new(),
            places: None,
            by_size: vec![0; MAX_ITEM_BYTES + 2],
            item_bytes: 0,
            items: 0,
            largest: BinaryHeap::new(),
            names: HashMap::new(),
            other_names: 0,
            write_units: 0,
            stored_bytes: 0,
            max_sort_bytes: 0,
            order: Vec::new(),
            tally_order: true,
        }
    }

    /// The caller tallies the items' order itself and hands it over with [`Profiler::set_order`].
    pub(crate) fn leave_order_to_caller(&mut self) {
        self.tally_order = false;
    }

    /// The order of each source's items, tallied by the caller.
    pub(crate) fn set_order(&mut self, order: Vec<OrderTally>) {
        self.order = order;
    }

    /// The indexes whose keys each item's facts carry.
    pub(crate) fn indexes(&self) -> Vec<Index> {
        self.indexes.iter().map(|k| k.index.clone()).collect()
    }

    /// The files, in the order of the sources batches name.
    pub(crate) fn set_files(&mut self, files: Vec<FileFigures>) {
        self.files = files;
    }

    /// Name items by these sources (a conversion's inputs) instead of by the files; the files'
    /// figures then come whole from [`Profiler::set_files`] (a conversion's parts).
    pub(crate) fn set_places(&mut self, names: Vec<String>) {
        self.places = Some(names);
    }

    /// A batch's lines and their bytes (every line, items or not: the import bills them all).
    pub(crate) fn add_lines(&mut self, source: usize, lines: u64, bytes: u64) {
        if let Some(f) = self.files.get_mut(source) {
            f.lines += lines;
            f.uncompressed_bytes += bytes;
        }
    }

    pub(crate) fn add(&mut self, facts: BatchFacts) {
        let n_ix = self.indexes.len();
        if self.places.is_none() {
            if let Some(f) = self.files.get_mut(facts.source as usize) {
                f.items += facts.sizes.len() as u64;
            }
        }
        for (i, (&size, &line)) in facts.sizes.iter().zip(&facts.lines).enumerate() {
            let size64 = size as u64;
            self.items += 1;
            self.item_bytes += size64;
            self.by_size[(size as usize).min(MAX_ITEM_BYTES + 1)] += 1;
            let at = At {
                source: facts.source,
                line,
            };
            self.offer_largest(size, at);
            let mut copies = 0;
            for (k, stats) in self.indexes.iter_mut().enumerate() {
                let (a, b) = facts.spans[i * n_ix + k];
                if (a, b) == ABSENT {
                    continue;
                }
                copies += 1;
                let key = &facts.keys[a as usize..b as usize];
                stats.items += 1;
                stats.bytes += size64;
                let key_bytes = key_value_bytes(key);
                stats.max_key_bytes = stats.max_key_bytes.max(key_bytes);
                if k == 0 && self.tally_order {
                    let source = facts.source as usize;
                    if self.order.len() <= source {
                        self.order.resize(source + 1, OrderTally::default());
                    }
                    self.order[source].add(key);
                }
                let hash = facts.hashes[i * n_ix + k];
                stats.sample.add(hash, size64);
                stats.by_items.add(hash, key, 1);
                stats.by_bytes.add(hash, key, size64);
            }
            // Without a key schema the table still stores every item.
            let copies = copies.max(1);
            self.write_units += cost::write_units(size64) * copies;
            self.stored_bytes += (size64 + cost::STORED_ITEM_OVERHEAD) as u128 * copies as u128;
            self.max_sort_bytes = self.max_sort_bytes.max(facts.sort_bytes[i] as u64);
        }
        for (name, t) in facts.names.tallies {
            self.join_name(name, t);
        }
    }

    /// Keep item `at` of `size` bytes if it is among the `top` largest so far.
    fn offer_largest(&mut self, size: u32, at: At) {
        let entry = std::cmp::Reverse((size, std::cmp::Reverse(at)));
        if self.largest.len() < self.opts.top {
            self.largest.push(entry);
        } else if self.largest.peek().is_some_and(|least| entry < *least) {
            self.largest.pop();
            self.largest.push(entry);
        }
    }

    /// Add one name's tallies; past [`MAX_NAMES`] names, new ones are counted together.
    fn join_name(&mut self, name: String, t: AttrTally) {
        if let Some(g) = self.names.get_mut(&name) {
            g.join(&t);
        } else if self.names.len() < MAX_NAMES {
            self.names.insert(name, t);
        } else {
            self.other_names += t.items;
        }
    }

    /// Its counts written down, for joining with others' (a shard's, for `prep merge`).
    pub(crate) fn state(mut self) -> State {
        State {
            top: self.opts.top,
            memory: self.opts.memory,
            region: self.opts.region.clone(),
            price_per_gb: self.opts.price_per_gb,
            indexes: self
                .indexes
                .iter_mut()
                .map(|k| IndexState {
                    sample: k.sample.state(),
                    by_items: k.by_items.state(),
                    by_bytes: k.by_bytes.state(),
                    items: k.items,
                    bytes: k.bytes,
                    max_key_bytes: k.max_key_bytes,
                })
                .collect(),
            by_size: self
                .by_size
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(size, &n)| (size as u32, n))
                .collect(),
            item_bytes: self.item_bytes,
            items: self.items,
            largest: self
                .largest
                .iter()
                .map(|std::cmp::Reverse((size, std::cmp::Reverse(at)))| (*size, *at))
                .collect(),
            names: self.names.into_iter().collect(),
            other_names: self.other_names,
            write_units: self.write_units,
            stored_bytes: self.stored_bytes as u64,
            max_sort_bytes: self.max_sort_bytes,
            order: self.order,
        }
    }

    /// The profile of several runs' states (shards of one conversion, over the same inputs
    /// and keys, in shard order).
    pub(crate) fn joined(keys: Option<&KeySchema>, states: &[State]) -> anyhow::Result<Self> {
        let first = states
            .first()
            .ok_or_else(|| anyhow::anyhow!("no profile to join"))?;
        let mut p = Profiler::new(
            keys,
            ProfileOptions {
                top: first.top,
                memory: first.memory,
                region: first.region.clone(),
                price_per_gb: first.price_per_gb,
            },
        );
        for s in states {
            if s.indexes.len() != p.indexes.len() {
                anyhow::bail!("the shards' profiles count keys of different indexes");
            }
            for (k, i) in p.indexes.iter_mut().zip(&s.indexes) {
                k.sample.absorb(&i.sample)?;
                k.by_items.absorb(&i.by_items)?;
                k.by_bytes.absorb(&i.by_bytes)?;
                k.items += i.items;
                k.bytes += i.bytes;
                k.max_key_bytes = k.max_key_bytes.max(i.max_key_bytes);
            }
            for &(size, n) in &s.by_size {
                if let Some(slot) = p.by_size.get_mut(size as usize) {
                    *slot += n;
                }
            }
            p.item_bytes += s.item_bytes;
            p.items += s.items;
            for &(size, at) in &s.largest {
                p.offer_largest(size, at);
            }
            for (name, t) in &s.names {
                p.join_name(name.clone(), t.clone());
            }
            p.other_names += s.other_names;
            p.write_units += s.write_units;
            p.stored_bytes += s.stored_bytes as u128;
            p.max_sort_bytes = p.max_sort_bytes.max(s.max_sort_bytes);
            // A source split between shards loses the one pair across the split.
            if p.order.len() < s.order.len() {
                p.order.resize(s.order.len(), OrderTally::default());
            }
            for (o, t) in p.order.iter_mut().zip(&s.order) {
                o.pairs += t.pairs;
                o.ascending += t.ascending;
                o.changes += t.changes;
            }
        }
        Ok(p)
    }

    /// The figures, with what validation found (`errors` by rule code) and the files' order.
    pub(crate) fn finish(mut self, findings: Findings) -> Summary {
        for k in &mut self.indexes {
            k.sample.flush();
        }
        summarize(self, findings)
    }
}

/// A profile's counts written down: what a shard leaves for `prep merge` (its key counts
/// bounded by the same memory as in the run).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct State {
    top: usize,
    memory: usize,
    region: String,
    price_per_gb: Option<f64>,
    indexes: Vec<IndexState>,
    /// (size, items) where there are any.
    by_size: Vec<(u32, u64)>,
    item_bytes: u64,
    items: u64,
    largest: Vec<(u32, At)>,
    names: Vec<(String, AttrTally)>,
    other_names: u64,
    write_units: u64,
    stored_bytes: u64,
    max_sort_bytes: u64,
    #[serde(default)]
    order: Vec<OrderTally>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct IndexState {
    sample: counts::SampleState,
    by_items: counts::HittersState,
    by_bytes: counts::HittersState,
    items: u64,
    bytes: u64,
    max_key_bytes: u64,
}

/// What validation found, for the limits section.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Findings {
    pub errors: u64,
    pub warnings: u64,
    /// Rule code → how many.
    pub by_rule: std::collections::BTreeMap<String, u64>,
    /// Lines that are no item (rejected by a rule, or blank).
    pub rejected_lines: u64,
    /// Who counted them.
    pub counted_by: CountedBy,
}

/// Who counted a report's findings: validation of the files, or the conversion that wrote them
/// (its rejects and duplicates).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub enum CountedBy {
    #[default]
    #[serde(rename = "prep validate")]
    Validate,
    #[serde(rename = "prep convert")]
    Convert,
}

/// The report: every figure `prep inspect` gives, in the shape `--json` writes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// "prep.inspect/1": a new number only when a field changes meaning or goes away.
    pub schema: &'static str,
    pub volume: Volume,
    pub cost: Option<Cost>,
    pub item_sizes: ItemSizes,
    pub attributes: Attributes,
    /// The table's key (first) and each GSI's; empty without a key schema.
    pub keys: Vec<KeyFigures>,
    pub limits: Vec<Limit>,
    pub findings: Findings,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Spread {
    pub min: u64,
    pub p50: u64,
    pub max: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Volume {
    pub files: usize,
    pub lines: u64,
    pub items: u64,
    /// What the import bills: the files' bytes uncompressed.
    pub uncompressed_bytes: u64,
    pub stored_bytes: u64,
    /// The items' sizes by DynamoDB's formula, summed.
    pub item_bytes: u64,
    pub file_bytes: Spread,
    pub file_items: Spread,
    pub per_file: Vec<FileFigures>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CostLine {
    pub quantity: f64,
    pub unit: &'static str,
    pub price: f64,
    pub usd: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Cost {
    pub region: String,
    pub source: String,
    /// The import: uncompressed GB × the price per GB.
    pub import: CostLine,
    /// The same items written with BatchWriteItem on demand: one write unit per KB started per
    /// item, for the table and each GSI that indexes it.
    pub batch_write: Option<CostLine>,
    /// The table's storage a month: item bytes + 100 per item, for the table and each GSI
    /// entry (GSIs assumed to project all attributes).
    pub storage_monthly: Option<CostLine>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Bucket {
    /// Sizes from `from` up to, not including, `to`.
    pub from: u64,
    pub to: u64,
    pub items: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Located {
    pub file: String,
    pub line: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LargeItem {
    pub size: u64,
    pub file: String,
    pub line: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ItemSizes {
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
    pub histogram: Vec<Bucket>,
    pub largest: Vec<LargeItem>,
    /// Items of at least 90 % of the 400 KB limit.
    pub near_limit: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TypeSeen {
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub items: u64,
    pub first: Located,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AttributeFigures {
    pub name: String,
    pub items: u64,
    /// Share of all items that have it.
    pub share: f64,
    /// Each type seen, most frequent first, with the first item holding it.
    pub types: Vec<TypeSeen>,
    /// More than one type: said in the report with examples.
    pub drift: bool,
    pub max_depth: u32,
    pub set_members_max: u64,
    pub set_members_mean: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Attributes {
    pub names: Vec<AttributeFigures>,
    /// Occurrences of names past the first 10,000 distinct ones (not told apart).
    pub other_names: u64,
}

/// A count that is exact, or estimated with its relative standard error.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Estimate {
    pub value: u64,
    pub exact: bool,
    pub relative_error: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HotKey {
    /// The key's value (a multi-attribute key's values joined by " + "; B as base64).
    pub key: String,
    pub items: u64,
    pub bytes: u64,
    /// The most `items` (or `bytes`, for collections) may be under the truth: 0 is exact.
    pub error_at_most: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KeyFigures {
    /// None for the table's own key.
    pub index: Option<String>,
    pub partition: Vec<String>,
    pub sort: Vec<String>,
    /// Items that have every partition key attribute (all of them for the table; fewer for a
    /// sparse GSI).
    pub items: u64,
    pub bytes: u64,
    pub distinct_partition_keys: Estimate,
    /// Items per partition key at p50, p99 and max (estimated from a sample of keys once the
    /// counts outgrow their memory: `exact` says which).
    pub items_per_key: Spread3,
    pub bytes_per_key: Spread3,
    pub hottest: Vec<HotKey>,
    /// Partition keys holding the most bytes (an item collection).
    pub largest_collections: Vec<HotKey>,
    pub max_key_bytes: u64,
    /// The table's key only: how the files follow each other by partition key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<KeyOrder>,
}

/// Whether files are ordered by partition key: the import writes in object order, so sorted
/// files make a rolling hot partition (shuffle the rows first).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KeyOrder {
    /// Share of consecutive item pairs (within a file) whose partition key ascends.
    pub ascending_share: f64,
    /// Files (or a conversion's inputs) sorted by partition key, as `prep validate` calls
    /// them (W001: at least 1,000 pairs, 99 % ascending, the key changing).
    pub sorted_files: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Spread3 {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    pub exact: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Limit {
    pub check: String,
    pub value: f64,
    pub limit: f64,
    pub ok: bool,
    pub note: String,
}

/// The `n` keys heaviest by items (or by bytes): the heavy hitters' candidates, with exact
/// counts wherever the sample holds the key (always, while it is exact).
fn hot_keys(k: &KeyStats, n: usize, by_bytes: bool) -> Vec<HotKey> {
    let (hitters, other) = if by_bytes {
        (&k.by_bytes, &k.by_items)
    } else {
        (&k.by_items, &k.by_bytes)
    };
    // More candidates than asked: exact counts may reorder them.
    let mut out: Vec<HotKey> = hitters
        .top(n.saturating_mul(4).saturating_add(16))
        .into_iter()
        .map(|h| {
            let hash = crate::model::keys::key_hash(&h.key);
            let (items, bytes, error_at_most) = match k.sample.get(hash) {
                Some(t) => (t.items, t.bytes, 0),
                None if by_bytes => (
                    other.get(hash, &h.key).unwrap_or(0),
                    h.weight,
                    hitters.slack(),
                ),
                None => (
                    h.weight,
                    other.get(hash, &h.key).unwrap_or(0),
                    hitters.slack(),
                ),
            };
            HotKey {
                key: key_text(&h.key),
                items,
                bytes,
                error_at_most,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let (wa, wb) = if by_bytes {
            (a.bytes, b.bytes)
        } else {
            (a.items, b.items)
        };
        wb.cmp(&wa).then_with(|| a.key.cmp(&b.key))
    });
    out.truncate(n);
    out
}

/// The words both views of a report use (the text of `prep inspect` and the HTML page).
impl KeyFigures {
    /// `table (PK, sort SK)`, `GSI byEmail (email)`.
    pub fn title(&self) -> String {
        let what = match &self.index {
            None => "table".to_string(),
            Some(n) => format!("GSI {n}"),
        };
        let mut key = self.partition.join(" + ");
        if !self.sort.is_empty() {
            key = format!("{key}, sort {}", self.sort.join(" + "));
        }
        format!("{what} ({key})")
    }
}

impl Estimate {
    /// `1,234`, or `about 1,234 (± 0.4 %)`.
    pub fn shown(&self) -> String {
        let n = crate::pipeline::progress::thousands(self.value);
        if self.exact {
            n
        } else {
            format!("about {n} (± {:.1} %)", self.relative_error * 100.0)
        }
    }
}

impl KeyOrder {
    /// What the order means for the import, in one sentence.
    pub fn sentence(&self) -> String {
        let sorted = if self.sorted_files.is_empty() {
            String::new()
        } else {
            format!(
                "; sorted by it, a rolling hot partition for the import (shuffle the rows): {}",
                self.sorted_files.join(", ")
            )
        };
        format!(
            "{:.1} % of consecutive items ascend by partition key{sorted}",
            self.ascending_share * 100.0
        )
    }
}

/// `part` as a percentage of `whole` (0 of nothing).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Histogram edges: fine where most items are, coarse towards the limit.
const EDGES: [u64; 12] = [
    0,
    128,
    256,
    512,
    1024,
    4096,
    16_384,
    65_536,
    131_072,
    262_144,
    NEAR_LIMIT,
    MAX_ITEM_BYTES as u64 + 1,
];

/// The bytes of a key's values (without their type and length headers).
fn key_value_bytes(key: &[u8]) -> u64 {
    key_parts(key).map(|(_, v)| v.len() as u64).sum()
}

/// A key from the arena as people read it.
pub(crate) fn key_text(key: &[u8]) -> String {
    key_parts(key)
        .map(|(ty, v)| {
            if ty == b'B' {
                let mut o = Vec::new();
                crate::model::bytes::base64_into(v, &mut o);
                String::from_utf8_lossy(&o).into_owned()
            } else {
                String::from_utf8_lossy(v).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn spread_of(v: &mut [u64]) -> Spread {
    v.sort_unstable();
    let p = counts::pick(v, &[0.0, 0.5, 1.0]);
    Spread {
        min: p[0],
        p50: p[1],
        max: p[2],
    }
}

/// The size at quantile `q` of the exact counts (nearest rank).
fn size_at(by_size: &[u64], items: u64, q: f64) -> u64 {
    if items == 0 {
        return 0;
    }
    let rank = ((q * items as f64).ceil() as u64).clamp(1, items);
    let mut seen = 0;
    for (size, &n) in by_size.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return size as u64;
        }
    }
    0
}

fn summarize(p: Profiler, findings: Findings) -> Summary {
    let mut notes = Vec::new();
    let name_of = |at: At| match &p.places {
        Some(names) => names.get(at.source as usize).cloned().unwrap_or_default(),
        None => p
            .files
            .get(at.source as usize)
            .map(|f| f.file.clone())
            .unwrap_or_default(),
    };
    let stored: u64 = p.files.iter().map(|f| f.stored_bytes).sum();
    let uncompressed: u64 = p.files.iter().map(|f| f.uncompressed_bytes).sum();
    let volume = Volume {
        files: p.files.len(),
        lines: p.files.iter().map(|f| f.lines).sum(),
        items: p.items,
        uncompressed_bytes: uncompressed,
        stored_bytes: stored,
        item_bytes: p.item_bytes,
        file_bytes: spread_of(&mut p.files.iter().map(|f| f.stored_bytes).collect::<Vec<_>>()),
        file_items: spread_of(&mut p.files.iter().map(|f| f.items).collect::<Vec<_>>()),
        per_file: p.files.clone(),
    };

    let first = p.by_size.iter().position(|&n| n > 0).unwrap_or(0) as u64;
    let last = p.by_size.iter().rposition(|&n| n > 0).unwrap_or(0) as u64;
    let histogram = EDGES
        .windows(2)
        .map(|w| Bucket {
            from: w[0],
            to: w[1],
            items: p.by_size[w[0] as usize..(w[1] as usize).min(p.by_size.len())]
                .iter()
                .sum(),
        })
        .collect();
    let mut largest: Vec<_> = p.largest.clone().into_sorted_vec();
    largest.truncate(p.opts.top);
    let item_sizes = ItemSizes {
        min: first,
        p50: size_at(&p.by_size, p.items, 0.5),
        p90: size_at(&p.by_size, p.items, 0.9),
        p99: size_at(&p.by_size, p.items, 0.99),
        max: last,
        mean: if p.items == 0 {
            0.0
        } else {
            p.item_bytes as f64 / p.items as f64
        },
        histogram,
        largest: largest
            .into_iter()
            .map(
                |std::cmp::Reverse((size, std::cmp::Reverse(at)))| LargeItem {
                    size: size as u64,
                    file: name_of(at),
                    line: at.line,
                },
            )
            .collect(),
        near_limit: p.by_size[NEAR_LIMIT as usize..].iter().sum(),
    };

    let mut names: Vec<AttributeFigures> = p
        .names
        .iter()
        .map(|(name, t)| {
            let mut types: Vec<TypeSeen> = (0..TYPES.len())
                .filter(|&i| t.types[i] > 0)
                .map(|i| TypeSeen {
                    ty: TYPES[i],
                    items: t.types[i],
                    first: Located {
                        file: t.first[i].map(name_of).unwrap_or_default(),
                        line: t.first[i].map(|a| a.line).unwrap_or(0),
                    },
                })
                .collect();
            types.sort_by(|a, b| b.items.cmp(&a.items).then(a.ty.cmp(b.ty)));
            AttributeFigures {
                name: name.clone(),
                items: t.items,
                share: if p.items == 0 {
                    0.0
                } else {
                    t.items as f64 / p.items as f64
                },
                drift: types.len() > 1,
                types,
                max_depth: t.max_depth,
                set_members_max: t.max_members,
                set_members_mean: if t.set_items == 0 {
                    0.0
                } else {
                    t.set_members as f64 / t.set_items as f64
                },
            }
        })
        .collect();
    names.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.name.cmp(&b.name)));
    if p.other_names > 0 {
        notes.push(format!(
            "more than {MAX_NAMES} distinct attribute names: {} occurrences of the others are counted together",
            p.other_names
        ));
    }

    let order = {
        let pairs: u64 = p.order.iter().map(|o| o.pairs).sum();
        let ascending: u64 = p.order.iter().map(|o| o.ascending).sum();
        KeyOrder {
            ascending_share: if pairs == 0 {
                0.0
            } else {
                ascending as f64 / pairs as f64
            },
            sorted_files: p
                .order
                .iter()
                .enumerate()
                .filter(|(_, o)| o.sorted())
                .map(|(i, _)| {
                    name_of(At {
                        source: i as u32,
                        line: 0,
                    })
                })
                .collect(),
        }
    };
    let keys: Vec<KeyFigures> = p
        .indexes
        .iter()
        .enumerate()
        .map(|(ix, k)| {
            let (distinct, err) = k.sample.distinct();
            let (items_q, bytes_q) = k.sample.spread(&[0.5, 0.99, 1.0]);
            let exact = k.sample.exact();
            let hottest = hot_keys(k, p.opts.top, false);
            let largest_collections = hot_keys(k, p.opts.top, true);
            let max_items = hottest.first().map(|h| h.items).unwrap_or(0);
            let max_bytes = largest_collections.first().map(|h| h.bytes).unwrap_or(0);
            KeyFigures {
                index: k.index.name.clone(),
                partition: k.index.partition.clone(),
                sort: k.index.sort.clone(),
                items: k.items,
                bytes: k.bytes,
                distinct_partition_keys: Estimate {
                    value: distinct,
                    exact,
                    relative_error: err,
                },
                items_per_key: Spread3 {
                    p50: items_q[0],
                    p99: items_q[1],
                    max: if exact { items_q[2] } else { max_items },
                    exact,
                },
                bytes_per_key: Spread3 {
                    p50: bytes_q[0],
                    p99: bytes_q[1],
                    max: if exact { bytes_q[2] } else { max_bytes },
                    exact,
                },
                hottest,
                largest_collections,
                max_key_bytes: k.max_key_bytes,
                order: (ix == 0).then(|| order.clone()),
            }
        })
        .collect();
    if keys.is_empty() {
        notes.push(
            "no key schema (--key, --table-def, or a prep manifest): key design figures were skipped"
                .into(),
        );
    }

    let limits = limits(&p, &volume, &keys, &findings);
    let cost = cost::prices(&p.opts.region, p.opts.price_per_gb).map(|src| {
        let gb = uncompressed as f64 / cost::GB;
        let known = |v: f64| (!v.is_nan()).then_some(v);
        Cost {
            region: src.region.clone(),
            source: src.source.clone(),
            import: CostLine {
                quantity: gb,
                unit: "GB",
                price: src.prices.import_per_gb,
                usd: gb * src.prices.import_per_gb,
            },
            batch_write: known(src.prices.write_per_million).map(|price| CostLine {
                quantity: p.write_units as f64 / 1e6,
                unit: "million write request units",
                price,
                usd: p.write_units as f64 / 1e6 * price,
            }),
            storage_monthly: known(src.prices.storage_per_gb_month).map(|price| {
                let gb = p.stored_bytes as f64 / cost::GB;
                CostLine {
                    quantity: gb,
                    unit: "GB-month",
                    price,
                    usd: gb * price,
                }
            }),
        }
    });
    if cost.is_none() {
        notes.push(format!(
            "prep's price table has no prices for {} (it has {}): pass --price-per-gb",
            p.opts.region,
            cost::regions().join(", ")
        ));
    }
    Summary {
        schema: "prep.inspect/1",
        volume,
        cost,
        item_sizes,
        attributes: Attributes {
            names,
            other_names: p.other_names,
        },
        keys,
        limits,
        findings,
        notes,
    }
}

fn limits(p: &Profiler, v: &Volume, keys: &[KeyFigures], f: &Findings) -> Vec<Limit> {
    let quota = crate::model::rules::import_quota(Some(&p.opts.region)) as f64;
    let mut out = vec![
        Limit {
            check: "objects in one import".into(),
            value: v.files as f64,
            limit: 50_000.0,
            ok: v.files <= 50_000,
            note: "split the data into several imports or larger files".into(),
        },
        Limit {
            check: format!("stored size in one import ({})", p.opts.region),
            value: v.stored_bytes as f64,
            limit: quota,
            ok: v.stored_bytes as f64 <= quota,
            note: "the regional quota on the objects' size (raw, compressed)".into(),
        },
        Limit {
            check: "largest item (bytes)".into(),
            value: p.by_size.iter().rposition(|&n| n > 0).unwrap_or(0) as f64,
            limit: MAX_ITEM_BYTES as f64,
            ok: p.by_size[MAX_ITEM_BYTES + 1] == 0,
            note: "items over 400 KB fail the import".into(),
        },
    ];
    if let Some(t) = keys.first() {
        out.push(Limit {
            check: "largest partition key (bytes)".into(),
            value: t.max_key_bytes as f64,
            limit: 2048.0,
            ok: t.max_key_bytes <= 2048,
            note: "partition key values are at most 2,048 bytes".into(),
        });
        if !t.sort.is_empty() {
            out.push(Limit {
                check: "largest sort key (bytes)".into(),
                value: p.max_sort_bytes as f64,
                limit: 1024.0,
                ok: p.max_sort_bytes <= 1024,
                note: "sort key values are at most 1,024 bytes".into(),
            });
        }
        out.push(Limit {
            check: "largest item collection (bytes)".into(),
            value: t.bytes_per_key.max as f64,
            limit: 10.0 * (1u64 << 30) as f64,
            ok: t.bytes_per_key.max <= 10 << 30,
            note: "a partition key's items past 10 GB fail writes once the table has a local secondary index (an imported table has none)".into(),
        });
    }
    out.push(if f.counted_by == CountedBy::Convert {
        Limit {
            check: "rows prep convert rejected".into(),
            value: f.errors as f64,
            limit: 0.0,
            ok: f.errors == 0,
            note: "they are in rejects.jsonl, not in the parts: the table will lack them".into(),
        }
    } else {
        Limit {
            check: "errors prep validate reports".into(),
            value: f.errors as f64,
            limit: 0.0,
            ok: f.errors == 0,
            note: "any item error fails the import: run prep validate for the list".into(),
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorted means nearly every pair ascends (equal keys ascend) and the key keeps changing.
    #[test]
    fn order_tally_counts_ascents_and_changes() {
        let entry = |v: &str| {
            let mut k = Vec::new();
            push_key_part(&mut k, b'S', v.as_bytes());
            k
        };
        let tally = |keys: &[String]| {
            let mut t = OrderTally::default();
            for k in keys {
                t.add(&entry(k));
            }
            t
        };
        let ascending: Vec<String> = (0..2000).map(|i| format!("k{:05}", i / 2)).collect();
        let t = tally(&ascending);
        assert_eq!((t.pairs, t.ascending, t.changes), (1999, 1999, 999));
        assert!(t.sorted());
        let same: Vec<String> = (0..2000).map(|_| "k".to_string()).collect();
        let t = tally(&same);
        assert_eq!((t.pairs, t.ascending, t.changes), (1999, 1999, 0));
        assert!(!t.sorted(), "one key throughout is no order");
        let mut shuffled = ascending.clone();
        shuffled.swap(10, 1500);
        shuffled.swap(20, 1600);
        let t = tally(&shuffled);
        // Each swapped key descends into its new place and out of the old one.
        assert_eq!(t.pairs - t.ascending, 4);
        assert!(t.sorted(), "four descents in 1,999 pairs");
        let descending: Vec<String> = ascending.iter().rev().cloned().collect();
        assert!(!tally(&descending).sorted());
    }

    #[test]
    fn partition_key_reads_the_first_key_in_place() {
        let mut arena = Vec::new();
        for (ty, v) in [(b'S', &b"user#1"[..]), (b'N', b"42")] {
            arena.push(ty);
            arena.extend_from_slice(&(v.len() as u32).to_le_bytes());
            arena.extend_from_slice(v);
        }
        assert_eq!(partition_key(&arena), b"user#1");
        assert_eq!(
            partition_key(&arena),
            crate::encoding::arrow_rows::split_key(&arena)[0].1
        );
        assert_eq!(partition_key(&arena[..11]), b"user#1", "no sort key");
        assert_eq!(partition_key(&[]), b"", "no key");
        assert_eq!(partition_key(&arena[..8]), b"", "cut short");
    }
    use crate::input::parse::LineFormat;

    fn item(line: &str) -> Item {
        LineFormat::DynamodbJson
            .parse_line(line.as_bytes())
            .unwrap()
    }

    #[test]
    fn item_size_is_the_encoders_size() {
        use crate::encoding::item_lines::LinesEncoder;
        use crate::encoding::{ItemWriter, Nulls, Syntax};
        let enc = LinesEncoder {
            format: LineFormat::DynamodbJson,
            keys: Vec::new(),
            syn: Syntax::Json,
        };
        for line in [
            r#"{"Item":{"a":{"S":"héllo"},"n":{"N":"-12.50"},"b":{"B":"AAEC"}}}"#,
            r#"{"Item":{"l":{"L":[{"N":"1"},{"BOOL":true},{"NULL":true},{"M":{"x":{"S":""}}}]}}}"#,
            r#"{"Item":{"ss":{"SS":["a","bb"]},"ns":{"NS":["1E+3","0.001","-7"]},"bs":{"BS":["AA=="]}}}"#,
            r#"{"Item":{"big":{"N":"123456789012345678901234567890.12345678"},"z":{"N":"0"}}}"#,
        ] {
            let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
            w.strict = true;
            let want = enc
                .encode_line(line.as_bytes(), &mut w, &mut Vec::new(), &mut Vec::new())
                .unwrap();
            assert_eq!(item_size(&item(line)), want, "{line}");
        }
    }

    fn schema() -> KeySchema {
        use crate::model::keys::{Gsi, KeyAttr};
        KeySchema {
            table_name: None,
            partition: KeyAttr::parse("pk:S").unwrap(),
            sort: Some(KeyAttr::parse("sk:N").unwrap()),
            gsis: vec![Gsi::parse("byTag=tag:S").unwrap()],
            vectors: Default::default(),
        }
    }

    #[test]
    fn figures_of_a_known_set_of_items() {
        let keys = schema();
        let mut p = Profiler::new(
            Some(&keys),
            ProfileOptions {
                top: 3,
                ..Default::default()
            },
        );
        p.set_files(vec![FileFigures {
            file: "f.json".into(),
            stored_bytes: 100,
            ..Default::default()
        }]);
        let ix = p.indexes();
        let mut facts = BatchFacts::new(0);
        // pk a: 3 items, b: 1; tag only on two items; "v" is N once, S once.
        let lines = [
            r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"tag":{"S":"t"},"v":{"N":"5"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"2"},"v":{"S":"five"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"3"},"tag":{"S":"t"}}}"#,
            r#"{"Item":{"pk":{"S":"b"},"sk":{"N":"1"},"m":{"M":{"x":{"L":[{"N":"1"}]}}},"s":{"SS":["x","y","z"]}}}"#,
        ];
        for (i, l) in lines.iter().enumerate() {
            facts.add(&ix, &item(l), i as u64 + 1);
        }
        p.add_lines(0, 4, 300);
        p.add(facts);
        let s = p.finish(Findings::default());
        assert_eq!(s.volume.items, 4);
        assert_eq!(s.volume.uncompressed_bytes, 300);
        let sizes: Vec<u64> = lines.iter().map(|l| item_size(&item(l)) as u64).collect();
        assert_eq!(s.volume.item_bytes, sizes.iter().sum::<u64>());
        assert_eq!(s.item_sizes.max, *sizes.iter().max().unwrap());
        assert_eq!(s.item_sizes.min, *sizes.iter().min().unwrap());
        assert_eq!(s.item_sizes.largest.len(), 3);
        assert_eq!(
            s.item_sizes.largest[0].line, 4,
            "the map item is the largest"
        );
        let table = &s.keys[0];
        assert_eq!(table.index, None);
        assert_eq!(table.distinct_partition_keys.value, 2);
        assert!(table.distinct_partition_keys.exact);
        assert_eq!(table.items_per_key.max, 3);
        assert_eq!(table.hottest[0].key, "a");
        assert_eq!(table.hottest[0].items, 3);
        assert_eq!(table.hottest[0].error_at_most, 0);
        let gsi = &s.keys[1];
        assert_eq!(gsi.index.as_deref(), Some("byTag"));
        assert_eq!(gsi.items, 2, "sparse: two items have a tag");
        let v = s.attributes.names.iter().find(|a| a.name == "v").unwrap();
        assert!(v.drift);
        assert_eq!(v.types.len(), 2);
        assert_eq!(v.types.iter().find(|t| t.ty == "S").unwrap().first.line, 2);
        let m = s.attributes.names.iter().find(|a| a.name == "m").unwrap();
        assert_eq!(m.max_depth, 2);
        let set = s.attributes.names.iter().find(|a| a.name == "s").unwrap();
        assert_eq!(set.set_members_max, 3);
        let pk = s.attributes.names.iter().find(|a| a.name == "pk").unwrap();
        assert_eq!(pk.share, 1.0);
        // Write units: one per item for the table, one more for each of the two tagged items.
        let c = s.cost.unwrap();
        assert_eq!(c.batch_write.unwrap().quantity, 6.0 / 1e6);
        assert!(s.limits.iter().all(|l| l.ok));
    }

    #[test]
    fn size_quantiles_by_nearest_rank() {
        let mut by = vec![0u64; 10];
        by[1] = 50;
        by[5] = 49;
        by[9] = 1;
        assert_eq!(size_at(&by, 100, 0.5), 1);
        assert_eq!(size_at(&by, 100, 0.9), 5);
        assert_eq!(size_at(&by, 100, 0.99), 5);
        assert_eq!(size_at(&by, 100, 1.0), 9);
        assert_eq!(size_at(&by, 0, 0.5), 0);
    }
}
