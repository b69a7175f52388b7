//! Exact duplicate primary key detection across all inputs.
//!
//! Keys are stored once in an arena; an open-addressing table of (32 hash bits, entry index)
//! finds candidates, and every candidate is confirmed by comparing the key bytes, so a hash
//! collision can never report a false duplicate. The table is probed linearly (a probe is one
//! cache line) and callers prefetch the slot of a key a few keys ahead, so the memory latency of
//! a multi-million-key table is mostly hidden. Cost: about 60 bytes per distinct key plus the key
//! bytes themselves.

struct Entry {
    start: u64,
    len: u32,
    source: u32,
    row: u64,
    seen: u32,
}

/// Where a key was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct First {
    pub source: u32,
    pub row: u64,
    /// How many times the key has been seen, this one included.
    pub seen: u32,
}

#[derive(Default)]
pub(crate) struct DupIndex {
    /// 0 = empty, else `h32 << 32 | (entry index + 1)`. The length is a power of two.
    slots: Vec<u64>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
    /// Keys seen more than once.
    pub keys_with_duplicates: u64,
    /// Items beyond the first of their key.
    pub extra_items: u64,
}

/// How far ahead [`DupIndex::insert_in_batch`] prefetches, in keys.
const PREFETCH_AHEAD: usize = 8;

#[inline]
fn h32(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

/// The home slot of 32 hash bits, spread over the whole table.
#[inline]
fn home(h: u32, mask: usize) -> usize {
    ((h as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20) as usize & mask
}

impl DupIndex {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Start loading the slot `hash` will probe first.
    #[inline]
    fn prefetch(&self, hash: u64) {
        if self.slots.is_empty() {
            return;
        }
        let i = home(h32(hash), self.slots.len() - 1);
        crate::model::sys::prefetch(&self.slots, i);
    }

    /// [`insert`](Self::insert) the key whose hash is `hashes[k]`, walking a batch of keys in
    /// order: the slots of the keys a few places ahead are prefetched meanwhile.
    pub(crate) fn insert_in_batch(
        &mut self,
        hashes: &[u64],
        k: usize,
        key: &[u8],
        source: u32,
        row: u64,
    ) -> Option<First> {
        if k == 0 {
            hashes
                .iter()
                .take(PREFETCH_AHEAD)
                .for_each(|&h| self.prefetch(h));
        }
        if let Some(&h) = hashes.get(k + PREFETCH_AHEAD) {
            self.prefetch(h);
        }
        self.insert(hashes[k], key, source, row)
    }

    /// Double the table (or make the first one) and re-place every slot from its stored bits.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let mut slots = vec![0u64; size];
        // Its probes land anywhere in it, and with 4 KiB pages nearly each one also missed the
        // TLB: a table of two huge pages or more asks for them.
        if std::mem::size_of_val(slots.as_slice()) >= 2 * crate::model::sys::HUGE_PAGE {
            crate::model::sys::advise_huge_pages(&slots);
        }
        let mask = size - 1;
        for &s in self.slots.iter().filter(|&&s| s != 0) {
            let mut i = home((s >> 32) as u32, mask);
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = s;
        }
        self.slots = slots;
    }

    /// Record `key`; returns where it was first seen if it is a duplicate.
    pub(crate) fn insert(&mut self, hash: u64, key: &[u8], source: u32, row: u64) -> Option<First> {
        // Keep the load under 0.7: probe runs stay short.
        if (self.entries.len() + 1) * 10 > self.slots.len() * 7 {
            self.grow();
        }
        let h = h32(hash);
        let mask = self.slots.len() - 1;
        let mut i = home(h, mask);
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            if (s >> 32) as u32 == h {
                let idx = (s as u32 - 1) as usize;
                let e = &self.entries[idx];
                let start = e.start as usize;
                if e.len as usize == key.len() && &self.arena[start..start + key.len()] == key {
                    let e = &mut self.entries[idx];
                    e.seen += 1;
                    if e.seen == 2 {
                        self.keys_with_duplicates += 1;
                    }
                    self.extra_items += 1;
                    return Some(First {
                        source: e.source,
                        row: e.row,
                        seen: e.seen,
                    });
                }
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = (h as u64) << 32 | (self.entries.len() as u64 + 1);
        self.entries.push(Entry {
            start: self.arena.len() as u64,
            len: key.len() as u32,
            source,
            row,
            seen: 1,
        });
        self.arena.extend_from_slice(key);
        None
    }

    #[cfg(test)]
    pub(crate) fn distinct_keys(&self) -> usize {
        self.entries.len()
    }

    /// Approximate heap bytes in use.
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        self.arena.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.slots.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_duplicates_even_with_colliding_hashes() {
        let mut d = DupIndex::new();
        assert_eq!(d.insert(1, b"a", 0, 1), None);
        // Same hash, different key: not a duplicate.
        assert_eq!(d.insert(1, b"b", 0, 2), None);
        assert_eq!(
            d.insert(1, b"a", 1, 7),
            Some(First {
                source: 0,
                row: 1,
                seen: 2
            })
        );
        assert_eq!(d.insert(1, b"a", 1, 8).unwrap().seen, 3);
        assert_eq!(d.keys_with_duplicates, 1);
        assert_eq!(d.extra_items, 2);
        assert_eq!(d.distinct_keys(), 2);
        for i in 0..10_000u64 {
            d.insert(i.wrapping_mul(0x9e3779b97f4a7c15), &i.to_le_bytes(), 2, i);
        }
        assert_eq!(d.distinct_keys(), 10_002);
        assert_eq!(
            d.insert(1, b"b", 3, 3).unwrap().row,
            2,
            "found again after growing"
        );
        assert!(d.memory_bytes() > 10_000 * 8);
    }

    /// Against a HashMap, over several table growths, with many repeats and shared hash bits.
    #[test]
    fn agrees_with_a_hash_map() {
        let mut d = DupIndex::new();
        let mut want: std::collections::HashMap<Vec<u8>, (u64, u32)> = Default::default();
        let mut next = crate::testing::xorshift(12345);
        let keys: Vec<Vec<u8>> = (0..60_000u64)
            .map(|_| format!("k{}", next() % 40_000).into_bytes())
            .collect();
        // A weak hash (few distinct values) forces long probe runs and bit collisions.
        let hashes: Vec<u64> = keys
            .iter()
            .map(|k| (k.len() as u64) << 40 | (k[k.len() - 1] as u64) << 33 | k[1] as u64)
            .collect();
        for (k, key) in keys.iter().enumerate() {
            let got = d.insert_in_batch(&hashes, k, key, 0, k as u64);
            match want.get_mut(key) {
                Some((row, seen)) => {
                    *seen += 1;
                    assert_eq!(
                        got,
                        Some(First {
                            source: 0,
                            row: *row,
                            seen: *seen
                        })
                    );
                }
                None => {
                    assert_eq!(got, None);
                    want.insert(key.clone(), (k as u64, 1));
                }
            }
        }
        assert_eq!(d.distinct_keys(), want.len());
        let extra: u64 = want.values().map(|&(_, s)| s as u64 - 1).sum();
        assert_eq!(d.extra_items, extra);
        assert_eq!(
            d.keys_with_duplicates,
            want.values().filter(|v| v.1 > 1).count() as u64
        );
    }
}
