//! The CRC64-NVME of a remote input taken from the reads the conversion makes anyway, so the
//! manifest's digest costs no second download. Readers hand over each range they fetch, in
//! whatever order their threads finish; each new stretch of bytes is hashed at once (a CRC of
//! a range combines with its neighbours' whatever their order), so nothing is held back. At the
//! end the bytes nobody read (magic bytes, page indexes) are fetched to fill the gaps.

use crate::hashing::Crc64;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The digest of one object, as the ranges read so far give it.
#[derive(Debug)]
pub struct ReadDigest {
    state: Mutex<State>,
    size: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Disjoint, non-adjacent stretches read so far, by offset, each with its CRC (adjacent
    /// ones are joined as they meet, so there are never more than the gaps between them).
    ranges: BTreeMap<u64, Crc64>,
    /// Set once the digest is taken or stopped: later reads are ignored.
    done: bool,
}

impl State {
    /// Add the CRC of `at..at + crc.len()`, which overlaps nothing held, and join it with the
    /// stretches it touches.
    fn insert(&mut self, at: u64, crc: Crc64) {
        let end = at + crc.len();
        let (start, mut joined) = match self.ranges.range(..at).next_back() {
            Some((&before, prev)) if before + prev.len() == at => {
                let mut prev = *prev;
                prev.append(&crc);
                (before, prev)
            }
            _ => (at, crc),
        };
        if let Some(next) = self.ranges.remove(&end) {
            joined.append(&next);
        }
        self.ranges.insert(start, joined);
    }
}

impl ReadDigest {
    pub fn new(size: u64) -> ReadDigest {
        ReadDigest {
            state: Mutex::new(State::default()),
            size,
        }
    }

    /// Bytes `at..at + bytes.len()` of the object, as a reader fetched them: the bytes no
    /// earlier range held are hashed now.
    pub fn offer(&self, at: u64, bytes: &Bytes) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let end = (at + bytes.len() as u64).min(self.size);
        if st.done || at >= end {
            return;
        }
        // The stretches of at..end that nothing holds yet.
        let mut fresh = Vec::new();
        let mut pos = at;
        let first = st.ranges.range(..=at).next_back().map_or(at, |(&a, _)| a);
        for (&a, c) in st.ranges.range(first..end) {
            if a > pos {
                fresh.push((pos, a));
            }
            pos = pos.max(a + c.len());
        }
        if pos < end {
            fresh.push((pos, end));
        }
        for (from, to) in fresh {
            let piece = &bytes[(from - at) as usize..(to - at) as usize];
            st.insert(from, Crc64::of(piece));
        }
    }

    /// No digest after all: what was read goes, later reads are ignored.
    pub fn stop(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.done = true;
            st.ranges.clear();
        }
    }

    /// The gaps left so far, in order: (from, to) with `to` exclusive; none once the digest
    /// is taken or stopped.
    pub fn gaps(&self) -> Vec<(u64, u64)> {
        let Ok(st) = self.state.lock() else {
            return Vec::new();
        };
        if st.done {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut pos = 0;
        for (&at, c) in &st.ranges {
            if at > pos {
                out.push((pos, at));
            }
            pos = at + c.len();
        }
        if pos < self.size {
            out.push((pos, self.size));
        }
        out
    }

    /// The digest (base64, as S3 writes a CRC64-NVME), once every byte has been offered;
    /// `None` while gaps remain (fill [`ReadDigest::gaps`] and ask again) or once taken.
    pub fn finish(&self) -> Option<String> {
        let mut st = self.state.lock().ok()?;
        if st.done {
            return None;
        }
        let whole = match st.ranges.first_key_value() {
            None if self.size == 0 => Crc64::default(),
            Some((0, c)) if c.len() == self.size => *c,
            _ => return None,
        };
        st.done = true;
        st.ranges.clear();
        Some(whole.base64())
    }

    /// How many separate stretches are held (each a few dozen bytes).
    #[cfg(test)]
    pub(crate) fn stretches(&self) -> usize {
        self.state.lock().map(|s| s.ranges.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Any reads in any order from several threads: `check_read_digest` in tests/reference
    // (a property test and a fuzz target).

    use crate::testing::crc64nvme as crc;

    #[test]
    fn reads_in_order_leave_no_gap_and_one_stretch() {
        let data: Bytes = (0..10_000u32).map(|i| i as u8).collect();
        let d = ReadDigest::new(data.len() as u64);
        for a in (0..10_000).step_by(1000) {
            d.offer(a as u64, &data.slice(a..a + 1000));
            assert_eq!(d.stretches(), 1);
        }
        assert!(d.gaps().is_empty());
        assert_eq!(d.finish().unwrap(), crc(&data));
        // Taken once: later reads change nothing.
        d.offer(0, &data.slice(0..10));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn reads_out_of_order_and_overlapping_join_up() {
        let data: Bytes = (0..100u32).map(|i| (i * 7) as u8).collect();
        let d = ReadDigest::new(100);
        d.offer(50, &data.slice(50..70));
        d.offer(80, &data.slice(80..100));
        assert_eq!(d.gaps(), vec![(0, 50), (70, 80)]);
        assert_eq!(d.finish(), None);
        // Overlapping both neighbours and one held stretch: only the new bytes count.
        d.offer(60, &data.slice(60..90));
        assert_eq!((d.stretches(), d.gaps()), (1, vec![(0, 50)]));
        d.offer(0, &data.slice(0..55));
        assert_eq!((d.stretches(), d.gaps()), (1, vec![]));
        assert_eq!(d.finish().unwrap(), crc(&data));
        // Stopped (a shard reads the object whole instead): no gap, no digest.
        let d = ReadDigest::new(100);
        d.offer(70, &data.slice(70..90));
        d.stop();
        assert_eq!((d.stretches(), d.gaps(), d.finish()), (0, vec![], None));
    }

    #[test]
    fn an_empty_object() {
        let d = ReadDigest::new(0);
        assert!(d.gaps().is_empty());
        assert_eq!(d.finish().unwrap(), crc(b""));
    }
}
