//! Exact duplicate primary key detection across all inputs.
//!
//! Keys are stored once in an arena; a hash table of entry indexes finds candidates by hash and
//! every candidate is confirmed by comparing the key bytes, so a hash collision can never report
//! a false duplicate. Cost: about 40 bytes per distinct key plus the key bytes themselves.

use hashbrown::HashTable;

struct Entry {
    start: u64,
    len: u32,
    source: u32,
    row: u64,
    seen: u32,
}

/// Where a key was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct First {
    pub source: u32,
    pub row: u64,
    /// How many times the key has been seen, this one included.
    pub seen: u32,
}

/// The table holds (entry index, 32 bits of the key's hash): probing and growing compare and
/// rehash from the table alone, and an entry is read only when its hash bits match.
#[derive(Default)]
pub struct DupIndex {
    table: HashTable<(u32, u32)>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
    /// Keys seen more than once.
    pub keys_with_duplicates: u64,
    /// Items beyond the first of their key.
    pub extra_items: u64,
}

/// The table's hash of the stored 32 bits, spread over all 64 (hashbrown takes the bucket from
/// the low bits and a tag from the high ones).
#[inline]
fn spread(h32: u32) -> u64 {
    (h32 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ h32 as u64
}

impl DupIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `key`; returns where it was first seen if it is a duplicate.
    pub fn insert(&mut self, hash: u64, key: &[u8], source: u32, row: u64) -> Option<First> {
        let h32 = (hash ^ (hash >> 32)) as u32;
        let (entries, arena) = (&self.entries, &self.arena);
        let slot = self.table.entry(
            spread(h32),
            |&(i, h)| {
                h == h32 && {
                    let e = &entries[i as usize];
                    e.len as usize == key.len()
                        && &arena[e.start as usize..e.start as usize + key.len()] == key
                }
            },
            |&(_, h)| spread(h),
        );
        match slot {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let e = &mut self.entries[o.get().0 as usize];
                e.seen += 1;
                if e.seen == 2 {
                    self.keys_with_duplicates += 1;
                }
                self.extra_items += 1;
                Some(First {
                    source: e.source,
                    row: e.row,
                    seen: e.seen,
                })
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((self.entries.len() as u32, h32));
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
        }
    }

    pub fn distinct_keys(&self) -> usize {
        self.entries.len()
    }

    /// Approximate heap bytes in use.
    pub fn memory_bytes(&self) -> usize {
        self.arena.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.table.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
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
        assert!(d.memory_bytes() > 10_000 * 8);
    }
}
