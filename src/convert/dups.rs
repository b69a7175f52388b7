//! Exact duplicate primary key detection across all inputs.
//!
//! Keys are stored once in an arena; a hash table of entry indexes finds candidates by hash and
//! every candidate is confirmed by comparing the key bytes, so a hash collision can never report
//! a false duplicate. Cost: about 40 bytes per distinct key plus the key bytes themselves.

use hashbrown::HashTable;

struct Entry {
    hash: u64,
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

#[derive(Default)]
pub struct DupIndex {
    table: HashTable<u32>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
    /// Keys seen more than once.
    pub keys_with_duplicates: u64,
    /// Items beyond the first of their key.
    pub extra_items: u64,
}

impl DupIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `key`; returns where it was first seen if it is a duplicate.
    pub fn insert(&mut self, hash: u64, key: &[u8], source: u32, row: u64) -> Option<First> {
        let entries = &self.entries;
        let arena = &self.arena;
        let found = self.table.find(hash, |&i| {
            let e = &entries[i as usize];
            e.hash == hash
                && e.len as usize == key.len()
                && &arena[e.start as usize..e.start as usize + key.len()] == key
        });
        if let Some(&i) = found {
            let e = &mut self.entries[i as usize];
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
        let idx = self.entries.len() as u32;
        self.entries.push(Entry {
            hash,
            start: self.arena.len() as u64,
            len: key.len() as u32,
            source,
            row,
            seen: 1,
        });
        self.arena.extend_from_slice(key);
        let entries = &self.entries;
        self.table
            .insert_unique(hash, idx, |&i| entries[i as usize].hash);
        None
    }

    pub fn distinct_keys(&self) -> usize {
        self.entries.len()
    }

    /// Approximate heap bytes in use.
    pub fn memory_bytes(&self) -> usize {
        self.arena.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
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
