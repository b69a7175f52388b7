//! The SHA-256 of a remote input taken from the reads the conversion makes anyway, so the
//! manifest's digest costs no second download. Readers hand over each range they fetch, in
//! whatever order their threads finish; the digest takes bytes strictly in order, holds
//! ranges that arrive ahead of the next byte it needs (up to a cap), and at the end the bytes
//! nobody read (the magic bytes, page indexes, a range dropped at the cap) are fetched to fill
//! the gaps. The hashing itself can be handed to another thread ([`ReadDigest::hand_off`],
//! [`ReadDigest::pump`]), off the readers' path, as long as it keeps up.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// At most this many bytes of ranges wait for the bytes before them; a range that would pass
/// it is left for the gap reads at the end (correct, only slower).
pub(crate) const HELD_CAP: usize = 64 << 20;

/// Once the hashing is handed off to a pumping thread, at most this many bytes wait for it.
pub(crate) const HANDED_OFF_HELD: usize = 8 << 20;

/// The in-order digest of one object.
#[derive(Debug)]
pub struct ReadDigest {
    state: Mutex<State>,
    size: u64,
    cap: usize,
    /// Whether a thread pumps the digest ([`ReadDigest::hand_off`]).
    handed_off: AtomicBool,
    /// Told when a range is held for the pumping thread.
    ready: Condvar,
    /// Told when a thread that hashed outside the lock puts the hasher back.
    sha_back: Condvar,
}

#[derive(Debug)]
struct State {
    /// The first byte not yet hashed.
    next: u64,
    /// `None` while a thread hashes outside the lock (it picks up what arrives meanwhile).
    sha: Option<Sha256>,
    /// Ranges ahead of `next`, by offset.
    held: BTreeMap<u64, Bytes>,
    held_bytes: usize,
    /// Set once the digest is taken: later reads are ignored.
    done: bool,
}

impl State {
    /// The held range that continues the digest, trimmed to start at `next`; ranges wholly
    /// behind `next` are dropped on the way.
    fn take_ready(&mut self) -> Option<Bytes> {
        loop {
            let (&at, b) = self.held.first_key_value()?;
            if at > self.next {
                return None;
            }
            let end = at + b.len() as u64;
            let b = self.held.remove(&at).expect("just seen");
            self.held_bytes -= b.len();
            if end > self.next {
                return Some(b.slice((self.next - at) as usize..));
            }
        }
    }
}

impl ReadDigest {
    pub fn new(size: u64) -> ReadDigest {
        ReadDigest::with_cap(size, HELD_CAP)
    }

    pub fn with_cap(size: u64, cap: usize) -> ReadDigest {
        ReadDigest {
            state: Mutex::new(State {
                next: 0,
                sha: Some(Sha256::new()),
                held: BTreeMap::new(),
                held_bytes: 0,
                done: false,
            }),
            size,
            cap,
            handed_off: AtomicBool::new(false),
            ready: Condvar::new(),
            sha_back: Condvar::new(),
        }
    }

    /// Bytes `at..at + bytes.len()` of the object, as a reader fetched them.
    pub fn offer(&self, at: u64, bytes: &Bytes) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let end = at + bytes.len() as u64;
        if st.done || bytes.is_empty() || end <= st.next {
            return;
        }
        let handed_off = self.handed_off.load(Ordering::Relaxed);
        let fits = |st: &State| at <= st.next || st.held_bytes + bytes.len() <= self.cap;
        if handed_off && (st.held_bytes + bytes.len() > HANDED_OFF_HELD || !fits(&st)) {
            // The pumping thread falls behind (or what waits for it is what this range
            // follows): hash here.
            let Some(s) = self.take_over(st) else {
                return;
            };
            st = s;
            if st.done || end <= st.next {
                return;
            }
        }
        // Keep the longer of two ranges at one offset.
        let longer = st.held.get(&at).is_none_or(|h| h.len() < bytes.len());
        if longer && fits(&st) {
            if let Some(old) = st.held.insert(at, bytes.clone()) {
                st.held_bytes -= old.len();
            }
            st.held_bytes += bytes.len();
        }
        if !handed_off {
            drop(self.hash_ready(st));
        } else if st.held_bytes <= HANDED_OFF_HELD {
            self.ready.notify_one();
        } else {
            drop(self.take_over(st));
        }
    }

    /// Hash what is ready on this thread, once the pumping thread hands the hasher back if it
    /// has it (so that what is held stays within [`HANDED_OFF_HELD`] however slowly it runs).
    fn take_over<'a>(&'a self, mut st: MutexGuard<'a, State>) -> Option<MutexGuard<'a, State>> {
        while st.sha.is_none() && !st.done {
            st = self.sha_back.wait(st).ok()?;
        }
        self.hash_ready(st)
    }

    /// Hash what is ready, outside the lock; whoever holds the hasher keeps going until nothing
    /// is ready, so a range that arrives meanwhile is not left behind.
    fn hash_ready<'a>(&'a self, mut st: MutexGuard<'a, State>) -> Option<MutexGuard<'a, State>> {
        loop {
            if st.sha.is_none() {
                return Some(st);
            }
            let Some(piece) = st.take_ready() else {
                return Some(st);
            };
            let mut sha = st.sha.take().expect("checked");
            drop(st);
            sha.update(&piece);
            st = self.state.lock().ok()?;
            st.next += piece.len() as u64;
            st.sha = Some(sha);
            self.sha_back.notify_all();
        }
    }

    /// From now on the readers leave the hashing to a thread that calls [`ReadDigest::pump`]
    /// (so it is off a reader's path), as long as it keeps up: past [`HANDED_OFF_HELD`] bytes
    /// waiting, a reader hashes again (waiting, if need be, for the pumping thread to finish
    /// the range it is on).
    pub fn hand_off(&self) {
        self.handed_off.store(true, Ordering::Relaxed);
    }

    /// Hash what is ready; if nothing was, wait up to `wait` for a range once (and hash it).
    pub fn pump(&self, wait: Duration) {
        let Ok(st) = self.state.lock() else {
            return;
        };
        let before = st.next;
        let Some(st) = self.hash_ready(st) else {
            return;
        };
        if st.next != before {
            return;
        }
        // Nothing was ready: wait, also when nothing more can come (the caller loops until the
        // object's reads are over, and must not spin meanwhile).
        if let Ok((st, _)) = self.ready.wait_timeout(st, wait) {
            drop(self.hash_ready(st));
        }
    }

    /// No digest after all: the held ranges go, later reads are ignored.
    pub fn stop(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.done = true;
            st.held.clear();
            st.held_bytes = 0;
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
        let mut pos = st.next;
        for (&at, b) in &st.held {
            if at > pos {
                out.push((pos, at));
            }
            pos = pos.max(at + b.len() as u64);
        }
        if pos < self.size {
            out.push((pos, self.size));
        }
        out
    }

    /// The digest (hex), once every byte has been offered; `None` while gaps remain (fill
    /// [`ReadDigest::gaps`] and ask again).
    pub fn finish(&self) -> Option<String> {
        // Ranges left for a pumping thread that no longer pumps are hashed here.
        let mut st = self.hash_ready(self.state.lock().ok()?)?;
        if st.done || st.next < self.size || st.sha.is_none() {
            return None;
        }
        st.done = true;
        st.held.clear();
        st.held_bytes = 0;
        let sha = st.sha.take()?;
        Some(crate::hashing::hex(&sha.finalize()))
    }

    /// Bytes of held ranges that start past the next byte the digest needs: never more than
    /// the cap.
    pub fn held_ahead(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.held.range(s.next + 1..).map(|(_, b)| b.len()).sum())
            .unwrap_or(0)
    }

    /// Bytes held for later, ahead of the digest.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.state.lock().map(|s| s.held_bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Any reads in any order from several threads: `check_read_digest` in tests/reference
    // (a property test and a fuzz target).

    #[test]
    fn reads_in_order_leave_no_gap_and_hold_nothing() {
        let data: Bytes = (0..10_000u32).map(|i| i as u8).collect();
        let d = ReadDigest::new(data.len() as u64);
        for a in (0..10_000).step_by(1000) {
            d.offer(a as u64, &data.slice(a..a + 1000));
            assert_eq!(d.held_bytes(), 0);
        }
        assert!(d.gaps().is_empty());
        assert_eq!(
            d.finish().unwrap(),
            crate::hashing::hex(&Sha256::digest(&data))
        );
        // Taken once: later reads change nothing.
        d.offer(0, &data.slice(0..10));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn a_range_past_the_cap_is_left_for_the_gap_reads() {
        let data: Bytes = vec![1u8; 100].into();
        let d = ReadDigest::with_cap(100, 30);
        d.offer(50, &data.slice(50..70));
        d.offer(70, &data.slice(70..100));
        assert_eq!(d.held_bytes(), 20);
        assert_eq!(d.gaps(), vec![(0, 50), (70, 100)]);
        assert_eq!(d.finish(), None);
        // The bytes before arrive: the held range follows them into the digest.
        d.offer(0, &data.slice(0..50));
        assert_eq!(d.held_bytes(), 0);
        assert_eq!(d.gaps(), vec![(70, 100)]);
        // Stopped (a shard reads the object whole instead): nothing held, no gap, no digest.
        d.offer(70, &data.slice(70..90));
        d.stop();
        assert_eq!((d.held_bytes(), d.gaps(), d.finish()), (0, vec![], None));
    }

    #[test]
    fn handed_off_the_pumping_thread_hashes_unless_it_falls_behind() {
        let data: Bytes = (0..(HANDED_OFF_HELD as u32 + 3000))
            .map(|i| i as u8)
            .collect();
        let d = ReadDigest::new(data.len() as u64);
        d.hand_off();
        d.offer(0, &data.slice(0..1000));
        d.offer(1000, &data.slice(1000..2000));
        assert_eq!(d.held_bytes(), 2000, "left for the pumping thread");
        d.pump(Duration::ZERO);
        assert_eq!(
            (d.held_bytes(), d.gaps()),
            (0, vec![(2000, data.len() as u64)])
        );
        // Past the hand-off limit the reader hashes itself.
        d.offer(2000, &data.slice(2000..));
        assert_eq!(d.held_bytes(), 0);
        assert_eq!(
            d.finish().unwrap(),
            crate::hashing::hex(&Sha256::digest(&data))
        );
        // A pump waits for a range, and returns when none comes.
        let d = std::sync::Arc::new(ReadDigest::new(10));
        d.hand_off();
        let pumper = {
            let d = d.clone();
            std::thread::spawn(move || d.pump(Duration::from_secs(30)))
        };
        std::thread::sleep(Duration::from_millis(50));
        d.offer(0, &data.slice(0..10));
        pumper.join().unwrap();
        assert_eq!(
            d.finish().unwrap(),
            crate::hashing::hex(&Sha256::digest(&data[..10]))
        );
    }

    #[test]
    fn an_empty_object() {
        let d = ReadDigest::new(0);
        assert!(d.gaps().is_empty());
        assert_eq!(
            d.finish().unwrap(),
            crate::hashing::hex(&Sha256::digest(b""))
        );
    }
}
