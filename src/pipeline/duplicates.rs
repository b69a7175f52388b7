//! Exact duplicate primary key detection, for any number of keys in bounded memory.
//!
//! As items go by, each is recorded with sequential appends only: its key's 64-bit hash and
//! ordinal (a record to sort), where it came from (source, row) and its key bytes. Nothing is
//! looked up on the way. At the end the records are sorted by (hash, ordinal); only records
//! whose hash repeats are candidates, and each candidate's key bytes are compared exactly, so a
//! hash collision never reports a false duplicate and an equal key is never missed.
//!
//! Memory is bounded by a budget, not by the number of keys: origins and keys are appended to
//! files in a temporary folder as they come (only the items whose hash repeats are read back),
//! so memory holds the 16-byte records; when they reach the run's size (small at first, each
//! run up to twice the one before, within the budget), they are sorted and written there as
//! one sorted run, and the runs are merged at the end. The
//! duplicates found are themselves ordered by the ordinal of the duplicate item (spilled the
//! same way when there are many), so they come out in input order: the order in which a hash
//! table walked in input order would have found them.
//!
//! Disk: 24 bytes per item for its origin and the key bytes; past the first run, 16 more for
//! its record.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// What an item's key duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct First {
    pub source: u32,
    pub row: u64,
    /// How many times the key has been seen, this one included.
    pub seen: u32,
}

/// One item whose key was seen before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub key: Vec<u8>,
    pub source: u32,
    pub row: u64,
    pub first: First,
}

/// Where the index may spill, and how much memory it may hold before it does.
#[derive(Clone, Debug)]
pub struct Spill {
    pub dir: PathBuf,
    pub memory: usize,
}

impl Spill {
    /// The spill of a run into `out`: into `tmp_dir` if given, else inside the output folder
    /// (its lock keeps other runs out), or the system's temporary folder for an S3 output.
    pub(crate) fn for_output(
        out: &crate::output::Destination,
        tmp_dir: Option<&Path>,
        memory: usize,
    ) -> Spill {
        let dir = match (tmp_dir, out) {
            (Some(d), _) => d.to_path_buf(),
            (None, crate::output::Destination::Folder(out)) => out.clone(),
            (None, crate::output::Destination::S3(_) | crate::output::Destination::Nowhere) => {
                std::env::temp_dir()
            }
        };
        Spill {
            dir,
            memory: memory.max(1 << 20),
        }
    }
}

/// Origins and keys held in memory at most before they are appended to their files (in
/// sequential writes still large enough to cost nothing per call); only candidates are read
/// back.
const SIDE_HELD: usize = 1 << 20;

/// Records the first sorted run holds at most; each later run may hold twice as many as the
/// one before, up to the budget. A conversion's peak memory is its pipeline's buffers plus the
/// records held when its input ends, so small first runs keep the index's share small for the
/// inputs most runs have, while runs that double keep their number (and so the merge's
/// fan-in and the rewrites of compaction) logarithmic for the largest.
const FIRST_RUN: usize = 16 << 20;

/// An item's origin: its source and row, and where its key is among the keys.
#[derive(Clone, Copy)]
struct Origin {
    source: u32,
    row: u64,
    key_at: u64,
    key_len: u32,
}

const ORIGIN_BYTES: usize = 24;

impl Origin {
    fn to_bytes(self) -> [u8; ORIGIN_BYTES] {
        let mut b = [0u8; ORIGIN_BYTES];
        b[0..4].copy_from_slice(&self.source.to_le_bytes());
        b[4..8].copy_from_slice(&self.key_len.to_le_bytes());
        b[8..16].copy_from_slice(&self.row.to_le_bytes());
        b[16..24].copy_from_slice(&self.key_at.to_le_bytes());
        b
    }

    fn from_bytes(b: &[u8; ORIGIN_BYTES]) -> Origin {
        let w = |a: usize| u64::from_le_bytes(b[a..a + 8].try_into().expect("8 bytes"));
        Origin {
            source: u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")),
            key_len: u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")),
            row: w(8),
            key_at: w(16),
        }
    }
}

/// Runs merged at once.
const FAN_IN: usize = 32;

/// The widest record sorted (words).
const MAX_WORDS: usize = 3;

/// A record: its words, compared in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec<const N: usize>([u64; N]);

impl<const N: usize> voracious_radix_sort::Radixable<u64> for Rec<N> {
    type Key = u64;
    fn key(&self) -> u64 {
        self.0[0]
    }
}

/// Below this many records a comparison sort on one thread is quicker than starting the radix
/// sort's threads.
const RADIX_FROM: usize = 1 << 16;

/// Sort records by their words in order, in place (so sorting needs no second copy of what
/// the budget holds), on the run's threads. The first word (a hash, or an ordinal) is spread
/// evenly, so a radix sort on it does in one pass over its bytes what a comparison sort does
/// in twenty over the records; the rare records whose first words tie are then put in order
/// by the rest.
fn sort<const N: usize>(v: &mut [Rec<N>]) {
    use voracious_radix_sort::RadixSort;
    if v.len() < RADIX_FROM {
        v.sort_unstable();
        return;
    }
    v.voracious_mt_sort(rayon::current_num_threads().max(1));
    for tied in v.chunk_by_mut(|a, b| a.0[0] == b.0[0]) {
        if tied.len() > 1 {
            tied.sort_unstable();
        }
    }
}

/// Records of `N` words sorted in memory and, past the budget, in sorted runs on disk, merged
/// when read back.
struct Sorter<const N: usize> {
    held: Vec<Rec<N>>,
    runs: Vec<PathBuf>,
    /// Runs written so far (their files' names).
    written: usize,
}

impl<const N: usize> Sorter<N> {
    fn new() -> Self {
        Sorter {
            held: Vec::new(),
            runs: Vec::new(),
            written: 0,
        }
    }

    /// Hold one more record. The vector grows by an eighth, not by doubling, so it never
    /// holds much more than its records (growing a large allocation moves its pages, not its
    /// bytes).
    fn push(&mut self, r: [u64; N]) {
        if self.held.len() == self.held.capacity() {
            self.held
                .reserve_exact((self.held.capacity() / 8).max(1 << 16));
        }
        self.held.push(Rec(r));
    }

    /// What the records held take (the vector's spare room, at most an eighth more, is kept
    /// for the next run after a spill).
    fn held_bytes(&self) -> usize {
        self.held.len() * N * 8
    }

    fn next_run(&mut self, dir: &TempFolder) -> PathBuf {
        self.written += 1;
        dir.file(&format!("run-{N}-{}", self.written))
    }

    /// Sort what is held and write it as one run into `dir`.
    fn spill(&mut self, dir: &TempFolder) -> Result<()> {
        sort(&mut self.held);
        let path = self.next_run(dir);
        let mut w = dir.create(&path)?;
        let mut bytes = Vec::with_capacity(1 << 20);
        for chunk in self.held.chunks((1 << 20) / (8 * N)) {
            bytes.clear();
            for x in chunk.iter().flat_map(|r| &r.0) {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            dir.write(&mut w, &bytes)?;
        }
        dir.finish(w)?;
        self.runs.push(path);
        self.held.clear();
        if self.runs.len() >= 2 * FAN_IN {
            self.compact(dir)?;
        }
        Ok(())
    }

    /// Merge the first runs into one, so that a merge never opens more than `2 * FAN_IN`
    /// files at once whatever the number of runs.
    fn compact(&mut self, dir: &TempFolder) -> Result<()> {
        let first: Vec<PathBuf> = self.runs.drain(..FAN_IN).collect();
        let path = self.next_run(dir);
        let mut merged = Sorter::<N> {
            held: Vec::new(),
            runs: first.clone(),
            written: 0,
        }
        .sorted(Some(dir))?;
        let mut w = dir.create(&path)?;
        while let Some(r) = merged.next()? {
            for x in r {
                dir.write(&mut w, &x.to_le_bytes())?;
            }
        }
        dir.finish(w)?;
        drop(merged);
        for f in first {
            let _ = std::fs::remove_file(f);
        }
        self.runs.insert(0, path);
        Ok(())
    }

    /// Every record, in order.
    fn sorted(mut self, dir: Option<&TempFolder>) -> Result<Merged<N>> {
        sort(&mut self.held);
        let mut sources: Vec<RunReader<N>> = Vec::with_capacity(self.runs.len());
        for path in &self.runs {
            let f = File::open(path).with_context(|| {
                let dir = dir.map_or_else(|| path.clone(), |d| d.path.clone());
                format!(
                    "cannot read the duplicate-key index's spill in {}",
                    dir.display()
                )
            })?;
            sources.push(RunReader {
                r: BufReader::with_capacity(1 << 20, f),
            });
        }
        let mut inputs: Vec<Input<N>> = sources.into_iter().map(Input::Run).collect();
        inputs.push(Input::Held(self.held.into_iter()));
        Merged::new(inputs)
    }
}

struct RunReader<const N: usize> {
    r: BufReader<File>,
}

impl<const N: usize> RunReader<N> {
    fn next(&mut self) -> Result<Option<[u64; N]>> {
        let words = |b: &[u8]| -> [u64; N] {
            std::array::from_fn(|i| {
                u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"))
            })
        };
        // Most records lie whole in the reader's buffer: taken from there, with no copy.
        if let Some(b) = self.r.buffer().get(..8 * N) {
            let r = words(b);
            self.r.consume(8 * N);
            return Ok(Some(r));
        }
        let at_end = self
            .r
            .fill_buf()
            .context("cannot read the duplicate-key index's spill")?
            .is_empty();
        if at_end {
            return Ok(None);
        }
        // A run ends on a record boundary: a record cut short is damage.
        let mut b = [0u8; 8 * MAX_WORDS];
        let b = &mut b[..8 * N];
        self.r
            .read_exact(b)
            .context("the duplicate-key index's spill is damaged")?;
        Ok(Some(words(b)))
    }
}

/// One sorted input of a merge: a run on disk, or the records held in memory.
enum Input<const N: usize> {
    Run(RunReader<N>),
    Held(std::vec::IntoIter<Rec<N>>),
}

impl<const N: usize> Input<N> {
    fn next(&mut self) -> Result<Option<[u64; N]>> {
        match self {
            Input::Run(r) => r.next(),
            Input::Held(h) => Ok(h.next().map(|r| r.0)),
        }
    }
}

/// The runs and the records held in memory, merged in order by a tournament of losers: each
/// inner node of a tree over the inputs keeps the input that lost the match played there, so
/// taking the smallest record replays only its input's path to the root (one comparison a
/// level, where a binary heap makes two).
struct Merged<const N: usize> {
    inputs: Vec<Input<N>>,
    /// Each input's next record; `None` once it is exhausted (it then loses every match).
    heads: Vec<Option<[u64; N]>>,
    /// `losers[n]` for the inner nodes `1..inputs.len()`; input `i` is the leaf
    /// `inputs.len() + i`.
    losers: Vec<usize>,
    winner: usize,
}

impl<const N: usize> Merged<N> {
    fn new(mut inputs: Vec<Input<N>>) -> Result<Merged<N>> {
        let heads = inputs.iter_mut().map(Input::next).collect::<Result<_>>()?;
        let k = inputs.len();
        let mut m = Merged {
            inputs,
            heads,
            losers: vec![0; k],
            winner: 0,
        };
        m.winner = m.play(1);
        Ok(m)
    }

    /// Whether input `a`'s next record comes before input `b`'s (ties, which sorted records
    /// never make across inputs, go to the first input).
    fn before(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => (x, a) < (y, b),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => a < b,
        }
    }

    /// The winner of the subtree at `node`, recording the losers within it.
    fn play(&mut self, node: usize) -> usize {
        let k = self.inputs.len();
        if node >= k {
            return node - k;
        }
        let (a, b) = (self.play(2 * node), self.play(2 * node + 1));
        let (win, lose) = if self.before(b, a) { (b, a) } else { (a, b) };
        self.losers[node] = lose;
        win
    }

    fn next(&mut self) -> Result<Option<[u64; N]>> {
        let w = self.winner;
        let Some(r) = self.heads[w] else {
            return Ok(None);
        };
        self.heads[w] = self.inputs[w].next()?;
        let mut win = w;
        let mut node = (w + self.inputs.len()) / 2;
        while node >= 1 {
            if self.before(self.losers[node], win) {
                std::mem::swap(&mut self.losers[node], &mut win);
            }
            node /= 2;
        }
        self.winner = win;
        Ok(Some(r))
    }
}

/// The index's temporary folder, removed when dropped; every write error names it.
struct TempFolder {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TempFolder {
    fn new(parent: &Path) -> Result<TempFolder> {
        let dir = tempfile::Builder::new()
            .prefix(".prep-duplicates-")
            .tempdir_in(parent)
            .with_context(|| {
                format!(
                    "cannot make the duplicate-key index's spill folder in {}; choose another with --tmp-dir",
                    parent.display()
                )
            })?;
        Ok(TempFolder {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn create(&self, path: &Path) -> Result<BufWriter<File>> {
        let f = File::create(path).map_err(|e| self.full(e))?;
        Ok(BufWriter::with_capacity(1 << 20, f))
    }

    fn write(&self, w: &mut BufWriter<File>, b: &[u8]) -> Result<()> {
        w.write_all(b).map_err(|e| self.full(e))
    }

    fn finish(&self, mut w: BufWriter<File>) -> Result<()> {
        w.flush().map_err(|e| self.full(e))
    }

    fn full(&self, e: std::io::Error) -> anyhow::Error {
        anyhow::Error::new(e).context(format!(
            "cannot write the duplicate-key index's spill in {} (it needs about 40 bytes per item plus the key bytes); free space there, choose another folder with --tmp-dir, or give the index more memory with --dup-memory",
            self.path.display()
        ))
    }
}

/// Origins and keys on disk once spilled: appended in order, read back by position.
struct Appended {
    origins: BufWriter<File>,
    origins_path: PathBuf,
    keys: BufWriter<File>,
    keys_path: PathBuf,
    /// Origins and key bytes on disk (the rest are in memory).
    origins_on_disk: u64,
    keys_on_disk: u64,
}

/// The duplicate-key index of a run: [`insert`](Self::insert) every item's key in input order,
/// then [`finish`](Self::finish).
pub struct DupFinder {
    spill: Option<Spill>,
    folder: Option<TempFolder>,
    disk: Option<Appended>,
    records: Sorter<2>,
    /// Origins held, [`ORIGIN_BYTES`] each.
    origins: Vec<u8>,
    keys: Vec<u8>,
    items: u64,
    key_bytes: u64,
    /// What the first run holds at most ([`FIRST_RUN`]; smaller in tests).
    first_run: usize,
}

impl DupFinder {
    /// An index that holds up to `spill.memory` bytes before it writes into `spill.dir`; with
    /// no spill, everything stays in memory.
    pub fn new(spill: Option<Spill>) -> DupFinder {
        DupFinder {
            spill,
            folder: None,
            disk: None,
            records: Sorter::new(),
            origins: Vec::new(),
            keys: Vec::new(),
            items: 0,
            key_bytes: 0,
            first_run: FIRST_RUN,
        }
    }

    /// Origins and keys held before they are appended to their files: the records, 16
    /// bytes an item, are what the budget holds.
    fn side_bytes(&self) -> usize {
        self.origins.capacity() + self.keys.capacity()
    }

    /// What the next run may hold: the first run's size doubled per run written, within
    /// `memory`.
    fn run_limit(&self, memory: usize) -> usize {
        let doublings = u32::try_from(self.records.written).unwrap_or(u32::MAX);
        self.first_run
            .checked_shl(doublings)
            .filter(|&l| l >> doublings == self.first_run)
            .unwrap_or(usize::MAX)
            .min(memory)
    }

    /// Record the next item's key (`hash` is its [`crate::model::keys::key_hash`]).
    pub fn insert(&mut self, hash: u64, key: &[u8], source: u32, row: u64) -> Result<()> {
        self.records.push([hash, self.items]);
        let origin = Origin {
            source,
            row,
            key_at: self.key_bytes,
            key_len: key.len() as u32,
        };
        self.origins.extend_from_slice(&origin.to_bytes());
        self.keys.extend_from_slice(key);
        self.items += 1;
        self.key_bytes += key.len() as u64;
        if let Some(memory) = self.spill.as_ref().map(|s| s.memory) {
            if self.side_bytes() >= SIDE_HELD.min(memory / 4) {
                self.append_side()?;
            }
            let held = self.records.held_bytes();
            if held >= self.run_limit(memory) || held + self.side_bytes() >= memory {
                self.append_side()?;
                let folder = self.folder.as_ref().expect("made by append_side");
                self.records.spill(folder)?;
            }
        }
        Ok(())
    }

    /// Append the origins and keys held to their files.
    fn append_side(&mut self) -> Result<()> {
        let s = self.spill.as_ref().expect("spilling");
        if self.folder.is_none() {
            self.folder = Some(TempFolder::new(&s.dir)?);
        }
        let folder = self.folder.as_ref().expect("made");
        if self.disk.is_none() {
            let (origins_path, keys_path) = (folder.file("origins"), folder.file("keys"));
            self.disk = Some(Appended {
                origins: folder.create(&origins_path)?,
                origins_path,
                keys: folder.create(&keys_path)?,
                keys_path,
                origins_on_disk: 0,
                keys_on_disk: 0,
            });
        }
        let d = self.disk.as_mut().expect("made");
        folder.write(&mut d.origins, &self.origins)?;
        folder.write(&mut d.keys, &self.keys)?;
        d.origins_on_disk += (self.origins.len() / ORIGIN_BYTES) as u64;
        d.keys_on_disk += self.keys.len() as u64;
        self.origins.clear();
        self.keys.clear();
        Ok(())
    }

    /// Every duplicate item, in input order, with the key's first item and its count so far;
    /// and the counts: keys seen more than once, items beyond the first of their key.
    pub fn finish(mut self) -> Result<Found> {
        // What the budget leaves beside the records held and the findings' sorter (which
        // spills at half the budget): room to read the spilled origins and keys back whole.
        let room = self.spill.as_ref().map_or(0, |s| {
            s.memory
                .saturating_sub(self.records.held_bytes() + s.memory / 2)
        });
        let mut lookup = Lookup::new(&mut self, room)?;
        let records = std::mem::replace(&mut self.records, Sorter::new());
        let mut merged = records.sorted(self.folder.as_ref())?;
        let mut found: Sorter<3> = Sorter::new();
        let (mut keys_with_duplicates, mut extra_items) = (0u64, 0u64);
        // The records of one hash come together, ordinals ascending. Its first item's key is
        // read only when a second item has the hash; then each item's key is compared with
        // the distinct keys of the hash so far (one, but for a collision): memory holds those,
        // never the group, however often a key repeats.
        let mut hash_now = None;
        let mut first_of_hash = 0u64;
        let mut distinct: Vec<(Vec<u8>, u64, u32)> = Vec::new();
        while let Some([hash, ord]) = merged.next()? {
            if hash_now != Some(hash) {
                hash_now = Some(hash);
                first_of_hash = ord;
                distinct.clear();
                continue;
            }
            if distinct.is_empty() {
                distinct.push((lookup.key(first_of_hash)?, first_of_hash, 1));
            }
            let key = lookup.key(ord)?;
            match distinct.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, first, seen)) => {
                    *seen += 1;
                    if *seen == 2 {
                        keys_with_duplicates += 1;
                    }
                    extra_items += 1;
                    found.push([ord, *first, *seen as u64]);
                }
                None => distinct.push((key, ord, 1)),
            }
            if let Some(s) = &self.spill {
                if found.held_bytes() >= s.memory / 2 {
                    if self.folder.is_none() {
                        self.folder = Some(TempFolder::new(&s.dir)?);
                    }
                    found.spill(self.folder.as_ref().expect("made"))?;
                }
            }
        }
        let order = found.sorted(self.folder.as_ref())?;
        Ok(Found {
            keys_with_duplicates,
            extra_items,
            order,
            lookup,
            _folder: self.folder.take(),
        })
    }
}

/// Reads origins and keys back by ordinal, from memory or from the spill files.
///
/// Candidates come in hash order, so their reads land anywhere in the files: one read per
/// origin and key. When the files fit in the room the budget leaves, the first read from
/// them reads both whole instead (sequentially), and every later one is a copy from memory.
struct Lookup {
    origins: Vec<u8>,
    keys: Vec<u8>,
    disk: Option<(File, File, u64, u64)>,
    /// Bytes the spilled origins and keys may take in memory.
    room: usize,
}

impl Lookup {
    fn new(f: &mut DupFinder, room: usize) -> Result<Lookup> {
        let disk = match f.disk.take() {
            None => None,
            Some(mut d) => {
                let folder = f.folder.as_ref().expect("spilled");
                d.origins.flush().map_err(|e| folder.full(e))?;
                d.keys.flush().map_err(|e| folder.full(e))?;
                let open = |p: &Path| {
                    File::open(p).with_context(|| {
                        format!(
                            "cannot read the duplicate-key index's spill in {}",
                            folder.path.display()
                        )
                    })
                };
                Some((
                    open(&d.origins_path)?,
                    open(&d.keys_path)?,
                    d.origins_on_disk,
                    d.keys_on_disk,
                ))
            }
        };
        Ok(Lookup {
            origins: std::mem::take(&mut f.origins),
            keys: std::mem::take(&mut f.keys),
            disk,
            room,
        })
    }

    /// Read the spilled origins and keys whole, in front of those still in memory, if they
    /// fit in the room left.
    fn read_whole(&mut self) -> Result<()> {
        let Some((origins, keys, n, key_bytes)) = &self.disk else {
            return Ok(());
        };
        let bytes = usize::try_from(n * ORIGIN_BYTES as u64 + key_bytes).unwrap_or(usize::MAX);
        if bytes > self.room {
            return Ok(());
        }
        let whole = |f: &File, len: u64, tail: &[u8]| -> Result<Vec<u8>> {
            let mut v = Vec::with_capacity(len as usize + tail.len());
            f.take(len)
                .read_to_end(&mut v)
                .context("cannot read the duplicate-key index's spill")?;
            anyhow::ensure!(
                v.len() as u64 == len,
                "the duplicate-key index's spill is damaged"
            );
            v.extend_from_slice(tail);
            Ok(v)
        };
        let origins = whole(origins, n * ORIGIN_BYTES as u64, &self.origins)?;
        let keys = whole(keys, *key_bytes, &self.keys)?;
        (self.origins, self.keys, self.disk) = (origins, keys, None);
        Ok(())
    }

    fn origin(&mut self, ord: u64) -> Result<Origin> {
        let on_disk = self.disk.as_ref().map_or(0, |d| d.2);
        if ord < on_disk && self.room > 0 {
            self.read_whole()?;
            self.room = 0;
            return self.origin(ord);
        }
        if ord >= on_disk {
            let at = (ord - on_disk) as usize * ORIGIN_BYTES;
            let b = self.origins[at..at + ORIGIN_BYTES]
                .try_into()
                .expect("one origin");
            return Ok(Origin::from_bytes(b));
        }
        let (f, ..) = self.disk.as_ref().expect("on disk");
        let mut b = [0u8; ORIGIN_BYTES];
        read_at(f, &mut b, ord * ORIGIN_BYTES as u64)?;
        Ok(Origin::from_bytes(&b))
    }

    fn key(&mut self, ord: u64) -> Result<Vec<u8>> {
        let o = self.origin(ord)?;
        let on_disk = self.disk.as_ref().map_or(0, |d| d.3);
        if o.key_at >= on_disk {
            let at = (o.key_at - on_disk) as usize;
            return Ok(self.keys[at..at + o.key_len as usize].to_vec());
        }
        let (_, f, ..) = self.disk.as_ref().expect("on disk");
        let mut b = vec![0u8; o.key_len as usize];
        read_at(f, &mut b, o.key_at)?;
        Ok(b)
    }
}

fn read_at(f: &File, buf: &mut [u8], at: u64) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        f.read_exact_at(buf, at)
            .context("cannot read the duplicate-key index's spill")
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom};
        let mut f = f;
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(buf)
            .context("cannot read the duplicate-key index's spill")
    }
}

/// The duplicates an index found, read in input order.
pub struct Found {
    pub keys_with_duplicates: u64,
    pub extra_items: u64,
    order: Merged<3>,
    lookup: Lookup,
    _folder: Option<TempFolder>,
}

impl Found {
    /// The next duplicate item, in input order.
    pub fn next_duplicate(&mut self) -> Result<Option<Duplicate>> {
        let Some([ord, first, seen]) = self.order.next()? else {
            return Ok(None);
        };
        let (o, f) = (self.lookup.origin(ord)?, self.lookup.origin(first)?);
        Ok(Some(Duplicate {
            key: self.lookup.key(ord)?,
            source: o.source,
            row: o.row,
            first: First {
                source: f.source,
                row: f.row,
                seen: seen as u32,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: DupFinder) -> (Vec<Duplicate>, u64, u64) {
        drain(f.finish().unwrap())
    }

    fn drain(mut found: Found) -> (Vec<Duplicate>, u64, u64) {
        let mut out = Vec::new();
        while let Some(d) = found.next_duplicate().unwrap() {
            out.push(d);
        }
        (out, found.keys_with_duplicates, found.extra_items)
    }

    #[test]
    fn finds_exact_duplicates_even_with_colliding_hashes() {
        let mut d = DupFinder::new(None);
        d.insert(1, b"a", 0, 1).unwrap();
        // Same hash, different key: not a duplicate.
        d.insert(1, b"b", 0, 2).unwrap();
        d.insert(1, b"a", 1, 7).unwrap();
        d.insert(1, b"a", 1, 8).unwrap();
        for i in 0..10_000u64 {
            d.insert(i.wrapping_mul(0x9e3779b97f4a7c15), &i.to_le_bytes(), 2, i)
                .unwrap();
        }
        d.insert(1, b"b", 3, 3).unwrap();
        let (dups, keys, extra) = all(d);
        let first = |source, row, seen| First { source, row, seen };
        assert_eq!(
            dups,
            vec![
                Duplicate {
                    key: b"a".to_vec(),
                    source: 1,
                    row: 7,
                    first: first(0, 1, 2)
                },
                Duplicate {
                    key: b"a".to_vec(),
                    source: 1,
                    row: 8,
                    first: first(0, 1, 3)
                },
                Duplicate {
                    key: b"b".to_vec(),
                    source: 3,
                    row: 3,
                    first: first(0, 2, 2)
                },
            ]
        );
        assert_eq!((keys, extra), (2, 3));
    }

    /// The reference: a HashMap walked in input order.
    fn reference(keys: &[Vec<u8>]) -> (Vec<Duplicate>, u64, u64) {
        let mut seen: std::collections::HashMap<&[u8], (u64, u32)> = Default::default();
        let mut out = Vec::new();
        for (k, key) in keys.iter().enumerate() {
            match seen.get_mut(key.as_slice()) {
                Some((row, n)) => {
                    *n += 1;
                    out.push(Duplicate {
                        key: key.clone(),
                        source: (k % 3) as u32,
                        row: k as u64,
                        first: First {
                            source: (*row % 3) as u32,
                            row: *row,
                            seen: *n,
                        },
                    });
                }
                None => {
                    seen.insert(key, (k as u64, 1));
                }
            }
        }
        let with = seen.values().filter(|v| v.1 > 1).count() as u64;
        let extra = out.len() as u64;
        (out, with, extra)
    }

    /// `n` keys `{prefix}{i}` drawn from `distinct` values, so that some repeat.
    fn drawn_keys(seed: u64, prefix: &str, n: u64, distinct: u64) -> Vec<Vec<u8>> {
        let mut next = crate::testing::xorshift(seed);
        (0..n)
            .map(|_| format!("{prefix}{}", next() % distinct).into_bytes())
            .collect()
    }

    /// An index spilling into `dir` past `memory`, its first run at most `first_run`.
    fn spilling(dir: &Path, memory: usize, first_run: usize) -> DupFinder {
        let mut d = DupFinder::new(Some(Spill {
            dir: dir.to_path_buf(),
            memory,
        }));
        d.first_run = first_run;
        d
    }

    /// Insert `keys[from..]`, each with its index as its row (and a source of three).
    fn feed(d: &mut DupFinder, keys: &[Vec<u8>], from: usize) {
        for (k, key) in keys.iter().enumerate().skip(from) {
            d.insert(
                crate::model::keys::key_hash(key),
                key,
                (k % 3) as u32,
                k as u64,
            )
            .unwrap();
        }
    }

    /// In memory and spilled (runs of a few hundred records, the findings spilled too), with
    /// a weak hash that collides often: the same findings as the reference, in the same order.
    #[test]
    fn agrees_with_a_hash_map_in_memory_and_spilled() {
        let keys = drawn_keys(12345, "k", 20_000, 12_000);
        let weak = |k: &[u8]| (k.len() as u64) << 40 | (k[k.len() - 1] as u64) << 33 | k[1] as u64;
        let want = reference(&keys);
        let dir = tempfile::tempdir().unwrap();
        for spill in [
            None,
            Some(Spill {
                dir: dir.path().to_path_buf(),
                memory: 8 << 10,
            }),
        ] {
            for hash in [weak as fn(&[u8]) -> u64, crate::model::keys::key_hash] {
                let mut d = DupFinder::new(spill.clone());
                for (k, key) in keys.iter().enumerate() {
                    d.insert(hash(key), key, (k % 3) as u32, k as u64).unwrap();
                }
                assert_eq!(all(d), want, "spill {spill:?}");
            }
        }
        // Nothing is left behind in the spill folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// Runs start small and double up to the budget: the records held stay near the first
    /// run's size while the input is small, the number of runs grows with the logarithm of the
    /// items, and the findings are the reference's.
    #[test]
    fn runs_double_from_the_first_up_to_the_budget() {
        let keys = drawn_keys(777, "k", 60_000, 40_000);
        let want = reference(&keys);
        let dir = tempfile::tempdir().unwrap();
        let mut d = spilling(dir.path(), 256 << 10, 4 << 10);
        assert_eq!(
            (0..8)
                .map(|w| {
                    d.records.written = w;
                    d.run_limit(256 << 10)
                })
                .collect::<Vec<_>>(),
            [4, 8, 16, 32, 64, 128, 256, 256].map(|k| k << 10)
        );
        d.records.written = 0;
        feed(&mut d, &keys[..1_001], 0);
        // A thousand items (16 KB of records) past a 4 KiB first run: one run of 4 KiB and one
        // of 8 KiB were written, and the third holds the 3.7 KB left.
        let held = d.records.held_bytes();
        assert!(held < 4 << 10, "{held}");
        feed(&mut d, &keys, 1_001);
        // 60,000 records (960 KB): 4 + 8 + ... + 128 KiB = 252 KiB in six runs, then runs that
        // fill the budget beside the origins and keys held: a few more, where runs of 4 KiB
        // would have made 234.
        assert!(
            (7..=10).contains(&d.records.written),
            "{}",
            d.records.written
        );
        assert_eq!(all(d), want);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// The spilled origins and keys are read back one by one, or whole where the budget has
    /// room for them: the same findings either way.
    #[test]
    fn spilled_origins_are_read_whole_when_they_fit() {
        let keys = drawn_keys(4242, "key-", 60_000, 40_000);
        let want = reference(&keys);
        let dir = tempfile::tempdir().unwrap();
        for (memory, whole) in [(256 << 10, false), (8 << 20, true)] {
            let mut d = spilling(dir.path(), memory, 4 << 10);
            feed(&mut d, &keys, 0);
            let on_disk = d.disk.as_ref().map_or(0, |a| a.origins_on_disk);
            assert!(on_disk > 10_000, "{memory}: {on_disk} origins spilled");
            let found = d.finish().unwrap();
            assert_eq!(found.lookup.disk.is_none(), whole, "{memory}");
            assert_eq!(drain(found), want, "{memory}");
        }
    }

    /// One key over and over, spilled: every repeat is found, counted in order, and the index
    /// holds the key once at the end, not the run of its items.
    #[test]
    fn one_key_repeated_many_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = spilling(dir.path(), 64 << 10, FIRST_RUN);
        for i in 0..100_000u64 {
            d.insert(42, b"same", 0, i).unwrap();
        }
        let (dups, keys, extra) = all(d);
        assert_eq!((keys, extra), (1, 99_999));
        assert_eq!(dups.len(), 99_999);
        assert!(dups.iter().enumerate().all(|(k, x)| x.row == k as u64 + 1
            && x.first.row == 0
            && x.first.seen == k as u32 + 2));
    }

    /// The sort orders records by hash, then equal hashes by their other words.
    #[test]
    fn records_sort_by_hash_then_ordinal() {
        let mut next = crate::testing::xorshift(99);
        for n in [0usize, 1, 1000, 70_000, 300_000] {
            let mut v: Vec<Rec<2>> = (0..n as u64)
                .map(|i| {
                    let h = next();
                    // Some hashes repeat, some sit at the extremes.
                    let h = match i % 7 {
                        0 => h % 5,
                        1 => u64::MAX - h % 3,
                        _ => h,
                    };
                    Rec([h, next() % 1000])
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            sort(&mut v);
            assert_eq!(v, want, "{n} records");
        }
    }

    /// The tournament of losers gives every record of every input once, in order, whatever the
    /// number of inputs (a power of two or not) and with some inputs empty.
    #[test]
    fn merging_any_number_of_inputs_gives_every_record_in_order() {
        let mut next = crate::testing::xorshift(7);
        for k in 1..=9usize {
            let mut all = Vec::new();
            let inputs: Vec<Input<2>> = (0..k)
                .map(|i| {
                    let n = if i % 4 == 1 {
                        0
                    } else {
                        (next() % 300) as usize
                    };
                    let mut v: Vec<Rec<2>> = (0..n).map(|_| Rec([next() % 50, next()])).collect();
                    v.sort_unstable();
                    all.extend(v.iter().map(|r| r.0));
                    Input::Held(v.into_iter())
                })
                .collect();
            all.sort_unstable();
            let mut m = Merged::new(inputs).unwrap();
            let mut got = Vec::new();
            while let Some(r) = m.next().unwrap() {
                got.push(r);
            }
            assert_eq!(got, all, "{k} inputs");
        }
    }

    /// A spill folder that cannot be written is an error that names it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_spill_that_cannot_be_written_names_its_folder() {
        let mut d = DupFinder::new(Some(Spill {
            dir: PathBuf::from("/proc/no-such-folder"),
            memory: 64,
        }));
        let mut err = None;
        for i in 0..100u64 {
            if let Err(e) = d.insert(i, &i.to_le_bytes(), 0, i) {
                err = Some(e);
                break;
            }
        }
        let e = format!("{:#}", err.expect("the spill fails"));
        assert!(
            e.contains("/proc/no-such-folder") && e.contains("--tmp-dir"),
            "{e}"
        );
    }
}
