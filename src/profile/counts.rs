//! Counting keys in bounded memory: how many distinct keys, how items and bytes spread over
//! them, and which keys are hottest, for any number of keys.
//!
//! Two small structures, each with a known error:
//! - a hash-threshold sample: every key whose 64-bit hash falls below a threshold is counted
//!   exactly (items and bytes); when the sample outgrows its budget the threshold halves and
//!   the keys above it leave. Until it first halves every key is in it and all figures are
//!   exact; after that a key is in it with probability `rate`, whole (all its items or none), so
//!   the distinct count is `len / rate` (relative standard error about `1/sqrt(len)`) and the
//!   spread of items per key is read off a uniform sample of keys.
//! - heavy hitters (Misra–Gries, weighted): at most `2 × capacity` counters; when full, the
//!   median count is taken off every counter and those at zero leave. A key's true weight is
//!   between its counter and its counter plus everything taken off (`slack`), and that slack is
//!   at most total / capacity: every key heavier than that is among the counters.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One key's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub items: u64,
    pub bytes: u64,
}

/// Distinct keys and their spread, exact until the sample first halves.
///
/// Counting appends (hash, bytes) to a pending list, with no lookup; a full list is sorted and
/// merged into the counted keys (sorted by hash), so the cost is sequential work and a sort
/// rather than a random probe into a large table per item.
#[derive(Debug)]
pub(crate) struct KeySample {
    /// Keys whose hash is below `2^64 >> level` are counted.
    level: u32,
    max: usize,
    pending: Vec<(u64, u64)>,
    /// Sorted by hash, one entry per key.
    counted: Vec<(u64, Tally)>,
}

/// Bytes one counted key costs (its entry, and its share of the pending list and the merge).
pub(crate) const SAMPLE_ENTRY_BYTES: usize = 64;

impl KeySample {
    pub(crate) fn new(memory: usize) -> Self {
        KeySample {
            level: 0,
            max: (memory / SAMPLE_ENTRY_BYTES).max(1024),
            pending: Vec::new(),
            counted: Vec::new(),
        }
    }

    #[inline]
    fn kept(level: u32, hash: u64) -> bool {
        level == 0 || hash >> (64 - level) == 0
    }

    #[inline]
    pub(crate) fn add(&mut self, hash: u64, bytes: u64) {
        if !Self::kept(self.level, hash) {
            return;
        }
        self.pending.push((hash, bytes));
        if self.pending.len() >= (self.max / 2).max(1024) {
            self.flush();
        }
    }

    /// Fold the pending items into the counted keys; halve the sample while it is over budget.
    pub(crate) fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable_by_key(|&(h, _)| h);
        let mut merged: Vec<(u64, Tally)> =
            Vec::with_capacity(self.counted.len() + self.pending.len());
        let mut old = std::mem::take(&mut self.counted).into_iter().peekable();
        let mut i = 0;
        let level = self.level;
        while i < self.pending.len() || old.peek().is_some() {
            let next_new = self.pending.get(i).map(|&(h, _)| h);
            let take_old = match (old.peek(), next_new) {
                (Some(&(h, _)), Some(n)) => h <= n,
                (Some(_), None) => true,
                _ => false,
            };
            let (hash, mut tally) = if take_old {
                old.next().expect("peeked")
            } else {
                (next_new.expect("pending left"), Tally::default())
            };
            while let Some(&(h, b)) = self.pending.get(i) {
                if h != hash {
                    break;
                }
                tally.items += 1;
                tally.bytes += b;
                i += 1;
            }
            if Self::kept(level, hash) {
                merged.push((hash, tally));
            }
        }
        self.pending.clear();
        while merged.len() > self.max && self.level < 63 {
            self.level += 1;
            let level = self.level;
            merged.retain(|&(h, _)| Self::kept(level, h));
        }
        self.counted = merged;
    }

    /// Its counts written down (after a flush): the level and each key's hash, items and bytes
    /// as little-endian u64s, base64.
    pub(crate) fn state(&mut self) -> SampleState {
        self.flush();
        let mut raw = Vec::with_capacity(self.counted.len() * 24);
        for (h, t) in &self.counted {
            for v in [*h, t.items, t.bytes] {
                raw.extend_from_slice(&v.to_le_bytes());
            }
        }
        let mut text = Vec::new();
        crate::model::bytes::base64_into(&raw, &mut text);
        SampleState {
            level: self.level,
            counted: String::from_utf8(text).expect("base64 is ASCII"),
        }
    }

    /// Join another sample's counts (of other items: a shard's) into these. Both are taken to
    /// the higher level, where a key is kept or left whole in each.
    pub(crate) fn absorb(&mut self, other: &SampleState) -> anyhow::Result<()> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&other.counted)
            .map_err(|e| anyhow::anyhow!("a profile's key counts are damaged: {e}"))?;
        if raw.len() % 24 != 0 {
            anyhow::bail!("a profile's key counts are damaged: {} bytes", raw.len());
        }
        self.flush();
        self.level = self.level.max(other.level);
        let level = self.level;
        self.counted.retain(|&(h, _)| Self::kept(level, h));
        let word = |c: &[u8]| u64::from_le_bytes(c.try_into().expect("eight bytes"));
        let theirs: Vec<(u64, Tally)> = raw
            .chunks_exact(24)
            .map(|c| {
                (
                    word(&c[..8]),
                    Tally {
                        items: word(&c[8..16]),
                        bytes: word(&c[16..]),
                    },
                )
            })
            .filter(|&(h, _)| Self::kept(level, h))
            .collect();
        let mut merged = Vec::with_capacity(self.counted.len() + theirs.len());
        let (mut a, mut b) = (self.counted.iter().peekable(), theirs.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    let (h, t, u) = (x.0, x.1, y.1);
                    a.next();
                    b.next();
                    (
                        h,
                        Tally {
                            items: t.items + u.items,
                            bytes: t.bytes + u.bytes,
                        },
                    )
                }
                (Some(x), Some(y)) if x.0 < y.0 => *a.next().expect("peeked"),
                (Some(_), Some(_)) | (None, Some(_)) => *b.next().expect("peeked"),
                (Some(_), None) => *a.next().expect("peeked"),
                (None, None) => break,
            };
            merged.push(next);
        }
        while merged.len() > self.max && self.level < 63 {
            self.level += 1;
            let level = self.level;
            merged.retain(|&(h, _)| Self::kept(level, h));
        }
        self.counted = merged;
        Ok(())
    }

    /// A key's exact counts, if the sample holds it (every key while exact). Call after
    /// [`KeySample::flush`].
    pub(crate) fn get(&self, hash: u64) -> Option<Tally> {
        debug_assert!(self.pending.is_empty());
        self.counted
            .binary_search_by_key(&hash, |&(h, _)| h)
            .ok()
            .map(|i| self.counted[i].1)
    }

    /// The share of keys counted: 1 while exact.
    pub(crate) fn rate(&self) -> f64 {
        1.0 / (1u64 << self.level) as f64
    }

    pub(crate) fn exact(&self) -> bool {
        self.level == 0
    }

    /// Distinct keys (estimated once the sample has halved) and the estimate's relative
    /// standard error (0 when exact). Call after [`KeySample::flush`].
    pub(crate) fn distinct(&self) -> (u64, f64) {
        let n = self.counted.len() as f64;
        if self.exact() {
            return (self.counted.len() as u64, 0.0);
        }
        ((n / self.rate()).round() as u64, 1.0 / n.max(1.0).sqrt())
    }

    /// Items per key and bytes per key at the quantiles asked (0..=1), over the counted keys.
    /// Call after [`KeySample::flush`].
    pub(crate) fn spread(&self, quantiles: &[f64]) -> (Vec<u64>, Vec<u64>) {
        let mut items: Vec<u64> = self.counted.iter().map(|(_, t)| t.items).collect();
        let mut bytes: Vec<u64> = self.counted.iter().map(|(_, t)| t.bytes).collect();
        items.sort_unstable();
        bytes.sort_unstable();
        (pick(&items, quantiles), pick(&bytes, quantiles))
    }
}

/// A key sample written down (a shard's, for `prep merge`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SampleState {
    level: u32,
    counted: String,
}

/// Heavy hitters written down: each counter's key (base64) and weight, and the slack.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct HittersState {
    slack: u64,
    counters: Vec<(String, u64)>,
}

/// The value at each quantile of sorted `v` (nearest rank; 0 for none).
pub(crate) fn pick(v: &[u64], quantiles: &[f64]) -> Vec<u64> {
    quantiles
        .iter()
        .map(|&q| {
            if v.is_empty() {
                return 0;
            }
            let rank = (q * v.len() as f64).ceil() as usize;
            v[rank.clamp(1, v.len()) - 1]
        })
        .collect()
}

/// The heaviest keys by a weight (items, or bytes), with a bound on their error.
///
/// Counters are found by the key's 64-bit hash (computed once by the caller) and hold the key
/// bytes in one arena, so counting a new key allocates nothing. Two keys with one hash (about
/// one chance in 2^64 per pair) cannot share a counter: the second one's weight is added to
/// `slack`, which keeps the bound true.
#[derive(Debug)]
pub(crate) struct HeavyHitters {
    capacity: usize,
    index: HashMap<u64, u32, foldhash::fast::FixedState>,
    counters: Vec<Counter>,
    arena: Vec<u8>,
    /// Weight taken off every counter so far, plus any weight not counted: the most any
    /// counter is under its key's true weight.
    slack: u64,
    #[cfg(test)]
    total: u64,
}

#[derive(Clone, Copy, Debug)]
struct Counter {
    hash: u64,
    at: usize,
    len: usize,
    weight: u64,
}

/// A key among the heaviest: its counted weight, which is at most `slack` under the truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hitter {
    pub key: Vec<u8>,
    pub weight: u64,
}

impl HeavyHitters {
    pub(crate) fn new(capacity: usize) -> Self {
        HeavyHitters {
            capacity: capacity.max(1),
            index: HashMap::with_hasher(foldhash::fast::FixedState::with_seed(11)),
            counters: Vec::new(),
            arena: Vec::new(),
            slack: 0,
            #[cfg(test)]
            total: 0,
        }
    }

    /// Count `weight` for `key`, whose [`crate::model::keys::key_hash`] is `hash`.
    pub(crate) fn add(&mut self, hash: u64, key: &[u8], weight: u64) {
        #[cfg(test)]
        {
            self.total += weight;
        }
        if let Some(&c) = self.index.get(&hash) {
            let c = &mut self.counters[c as usize];
            if &self.arena[c.at..c.at + c.len] == key {
                c.weight += weight;
            } else {
                self.slack += weight;
            }
            return;
        }
        self.index.insert(hash, self.counters.len() as u32);
        self.counters.push(Counter {
            hash,
            at: self.arena.len(),
            len: key.len(),
            weight,
        });
        self.arena.extend_from_slice(key);
        if self.counters.len() >= 2 * self.capacity {
            self.purge();
        }
    }

    /// Take the median weight off every counter and drop those at zero (at least half).
    fn purge(&mut self) {
        let mut weights: Vec<u64> = self.counters.iter().map(|c| c.weight).collect();
        let mid = weights.len() / 2;
        let (_, &mut cut, _) = weights.select_nth_unstable(mid);
        self.slack += cut;
        let mut arena = Vec::with_capacity(self.arena.len());
        let old = std::mem::take(&mut self.counters);
        self.index.clear();
        for mut c in old {
            c.weight = c.weight.saturating_sub(cut);
            if c.weight == 0 {
                continue;
            }
            let at = arena.len();
            arena.extend_from_slice(&self.arena[c.at..c.at + c.len]);
            c.at = at;
            self.index.insert(c.hash, self.counters.len() as u32);
            self.counters.push(c);
        }
        self.arena = arena;
    }

    pub(crate) fn state(&self) -> HittersState {
        HittersState {
            slack: self.slack,
            counters: self
                .counters
                .iter()
                .map(|c| {
                    let mut text = Vec::new();
                    crate::model::bytes::base64_into(&self.arena[c.at..c.at + c.len], &mut text);
                    (String::from_utf8(text).expect("base64 is ASCII"), c.weight)
                })
                .collect(),
        }
    }

    /// Join another summary's counters (of other items: a shard's): each is counted again
    /// here, and its slack adds to this one's, so every reported weight stays within the
    /// joined slack of the truth.
    pub(crate) fn absorb(&mut self, other: &HittersState) -> anyhow::Result<()> {
        use base64::Engine;
        for (key, weight) in &other.counters {
            let key = base64::engine::general_purpose::STANDARD
                .decode(key)
                .map_err(|e| anyhow::anyhow!("a profile's hot keys are damaged: {e}"))?;
            self.add(crate::model::keys::key_hash(&key), &key, *weight);
        }
        self.slack += other.slack;
        Ok(())
    }

    /// A key's counted weight, if it still has a counter.
    pub(crate) fn get(&self, hash: u64, key: &[u8]) -> Option<u64> {
        let c = self.counters[*self.index.get(&hash)? as usize];
        (&self.arena[c.at..c.at + c.len] == key).then_some(c.weight)
    }

    /// The most any reported weight is under the truth (0: the weights are exact).
    pub(crate) fn slack(&self) -> u64 {
        self.slack
    }

    /// The `n` heaviest counters, heaviest first (ties by key, so the order is reproducible).
    pub(crate) fn top(&self, n: usize) -> Vec<Hitter> {
        let mut all: Vec<Hitter> = self
            .counters
            .iter()
            .map(|c| Hitter {
                key: self.arena[c.at..c.at + c.len].to_vec(),
                weight: c.weight,
            })
            .collect();
        all.sort_unstable_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.key.cmp(&b.key)));
        all.truncate(n);
        all
    }

    #[cfg(test)]
    fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_exact_until_it_is_full() {
        let mut s = KeySample::new(0);
        for k in 0..1000u64 {
            for _ in 0..=(k % 3) {
                s.add(crate::model::keys::key_hash(&k.to_le_bytes()), 10);
            }
        }
        s.flush();
        assert!(s.exact());
        assert_eq!(s.distinct(), (1000, 0.0));
        let (items, bytes) = s.spread(&[0.0, 0.5, 1.0]);
        assert_eq!(items, vec![1, 2, 3]);
        assert_eq!(bytes, vec![10, 20, 30]);
    }

    #[test]
    fn a_halved_sample_estimates_within_its_error() {
        let mut s = KeySample::new(0);
        let n = 200_000u64;
        for k in 0..n {
            s.add(crate::model::keys::key_hash(&k.to_le_bytes()), 1);
        }
        s.flush();
        assert!(!s.exact());
        assert!(s.counted.len() <= 1024);
        let (d, err) = s.distinct();
        // Four standard errors: a fixed hash makes this deterministic, the margin says why it
        // holds for any seed.
        let off = (d as f64 - n as f64).abs() / n as f64;
        assert!(off < 4.0 * err, "{d} against {n}, error {err}");
    }

    #[test]
    fn heavy_hitters_find_every_key_above_total_over_capacity() {
        // Each hot key is 2 % of the total: above total / 64, so it must be found.
        let mut h = HeavyHitters::new(64);
        let mut truth: HashMap<Vec<u8>, u64> = HashMap::new();
        // 5 hot keys among 5,000 cold ones, interleaved.
        for i in 0..50_000u64 {
            let key = if i % 10 == 0 {
                format!("hot{}", i % 50 / 10).into_bytes()
            } else {
                format!("cold{}", i % 5000).into_bytes()
            };
            h.add(crate::model::keys::key_hash(&key), &key, 1);
            *truth.entry(key).or_default() += 1;
        }
        let bound = h.total() / 64;
        assert!(h.slack() <= bound, "slack {} over {bound}", h.slack());
        let top = h.top(5);
        for hit in &top {
            assert!(
                hit.key.starts_with(b"hot"),
                "{:?}",
                String::from_utf8_lossy(&hit.key)
            );
            let t = truth[&hit.key];
            assert!(hit.weight <= t && t <= hit.weight + h.slack());
        }
        assert_eq!(top.len(), 5);
    }

    #[test]
    fn heavy_hitters_are_exact_below_capacity() {
        let mut h = HeavyHitters::new(8);
        for (k, w) in [("a", 5), ("b", 7), ("a", 1), ("c", 2)] {
            h.add(crate::model::keys::key_hash(k.as_bytes()), k.as_bytes(), w);
        }
        assert_eq!(h.slack(), 0);
        let top = h.top(2);
        assert_eq!(
            top[0],
            Hitter {
                key: b"b".to_vec(),
                weight: 7
            }
        );
        assert_eq!(
            top[1],
            Hitter {
                key: b"a".to_vec(),
                weight: 6
            }
        );
    }

    #[test]
    fn a_hash_shared_by_two_keys_never_merges_them() {
        let mut h = HeavyHitters::new(8);
        h.add(1, b"a", 5);
        h.add(1, b"b", 3);
        h.add(1, b"a", 1);
        assert_eq!(h.get(1, b"a"), Some(6));
        assert_eq!(h.get(1, b"b"), None);
        // b's weight is in the slack: "at most 3 under" holds for b (counted 0, truly 3).
        assert_eq!(h.slack(), 3);
    }

    #[test]
    fn purges_keep_the_keys_bytes() {
        let mut h = HeavyHitters::new(2);
        for i in 0..100u64 {
            let key = format!("key{}", i % 3 + if i % 2 == 0 { 0 } else { 10 });
            h.add(
                crate::model::keys::key_hash(key.as_bytes()),
                key.as_bytes(),
                1,
            );
        }
        for hit in h.top(10) {
            let hash = crate::model::keys::key_hash(&hit.key);
            assert_eq!(h.get(hash, &hit.key), Some(hit.weight));
            assert!(hit.key.starts_with(b"key"));
        }
    }

    /// Two samples of two halves of a stream, joined, are the sample of the whole stream
    /// (exact, and halved past the budget), whatever level each half reached.
    #[test]
    fn samples_of_shards_join_into_the_sample_of_the_whole() {
        for n in [3_000u64, 60_000] {
            let key = |k: u64| crate::model::keys::key_hash(&(k % (n / 3)).to_le_bytes());
            let mut whole = KeySample::new(0);
            let (mut a, mut b) = (KeySample::new(0), KeySample::new(0));
            for k in 0..n {
                whole.add(key(k), k % 7);
                if k < n / 5 {
                    a.add(key(k), k % 7)
                } else {
                    b.add(key(k), k % 7)
                }
            }
            let mut joined = KeySample::new(0);
            joined.absorb(&a.state()).unwrap();
            joined.absorb(&b.state()).unwrap();
            whole.flush();
            joined.flush();
            assert_eq!(joined.level, whole.level, "{n}");
            assert_eq!(joined.counted, whole.counted, "{n}");
        }
    }

    #[test]
    fn heavy_hitters_of_shards_join_within_the_joined_slack() {
        let mut truth: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut parts = [HeavyHitters::new(8), HeavyHitters::new(8)];
        for i in 0..20_000u64 {
            let key = if i % 5 == 0 {
                format!("hot{}", i % 3).into_bytes()
            } else {
                format!("cold{i}").into_bytes()
            };
            parts[(i % 2) as usize].add(crate::model::keys::key_hash(&key), &key, 1);
            *truth.entry(key).or_default() += 1;
        }
        let mut joined = HeavyHitters::new(8);
        for p in &parts {
            joined.absorb(&p.state()).unwrap();
        }
        let top = joined.top(3);
        assert_eq!(top.len(), 3);
        for hit in top {
            assert!(hit.key.starts_with(b"hot"));
            let t = truth[&hit.key];
            assert!(
                hit.weight <= t && t <= hit.weight + joined.slack(),
                "{t} {hit:?}"
            );
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(pick(&v, &[0.5, 0.9, 0.99, 1.0]), vec![50, 90, 99, 100]);
        assert_eq!(pick(&[], &[0.5]), vec![0]);
        assert_eq!(pick(&[7], &[0.0, 1.0]), vec![7, 7]);
    }
}
