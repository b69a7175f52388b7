//! Reading work units ahead of need, each on a thread of its own, within a memory cap, and
//! handing their batches on in input order.

use super::*;

/// Open a source: read its schema and split it into units.
pub fn open(src: &Source, index: usize, opts: &ReadOptions) -> Result<Opened> {
    let r = crate::model::guard::decoding(|| match src.format {
        Format::Csv => csv::open(src, index, &opts.csv),
        Format::Parquet => parquet::open(src, index),
        Format::ArrowFile | Format::ArrowStream => arrow_ipc::open(src, index),
        Format::Avro => avro::open(src, index),
        Format::Items(_) | Format::Json(_) => item_files::open(src, index),
    })
    .unwrap_or_else(|why| Err(decoder_failed(src, &why)));
    r.with_context(|| format!("cannot read {} as {}", src.display(), src.format.as_str()))
}

/// The error for a decoder that panicked on the file's bytes.
fn decoder_failed(src: &Source, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {} decoder failed on damaged data ({why}); the file is corrupt: write or fetch it again",
        src.format.as_str()
    )
}

/// Read one unit, sending its batches in order; stops early when the receiver hangs up.
pub(crate) fn run_unit(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) {
    let r = crate::model::guard::decoding(|| match src.format {
        Format::Csv => csv::read(src, unit, opts, tx),
        Format::Parquet => parquet::read(src, unit, opts, tx),
        Format::ArrowFile | Format::ArrowStream => arrow_ipc::read(src, unit, opts, tx),
        Format::Avro => avro::read(src, unit, opts, tx),
        Format::Items(_) | Format::Json(JsonKind { array: false, .. }) => {
            item_files::read(src, unit, opts, tx)
        }
        Format::Json(JsonKind { array: true, .. }) => json_array::read(src, unit, opts, tx),
    })
    .unwrap_or_else(|why| Err(decoder_failed(src, &why)));
    if let Err(e) = r {
        let _ = tx.send(Err(e.context(format!("error reading {}", src.display()))));
    }
}

/// How many units to read at once: a local file is read as fast as it is decoded, so a unit
/// per worker thread; remote ones wait on the network at every request, so twice that, at
/// least four, to keep several GETs in flight; small remote objects (each one GET, most of its
/// time the request's latency) [`SMALL_IN_FLIGHT`]. The memory they hold is capped apart, by
/// [`HELD_AHEAD`].
pub fn read_ahead(sources: &[Source], threads: usize) -> usize {
    let remote: Vec<&Source> = sources
        .iter()
        .filter(|s| s.local_path().is_none())
        .collect();
    if remote.is_empty() {
        return threads.max(2);
    }
    let mean = remote.iter().map(|s| s.size).sum::<u64>() / remote.len() as u64;
    match mean <= super::s3::SMALL_OBJECT {
        true => SMALL_IN_FLIGHT.max(threads * 2),
        false => (threads * 2).max(4),
    }
}

/// Small remote objects read at once.
pub(crate) const SMALL_IN_FLIGHT: usize = 64;

/// At most this many bytes of units fetched whole (remote Parquet row groups) are in memory at
/// once; one such unit is always read, whatever its size.
pub(crate) const HELD_AHEAD: u64 = 256 << 20;

/// The bytes a unit holds in memory from its start to its end.
fn held_while_read(src: &Source, unit: &Unit) -> u64 {
    match (src.format, src.local_path()) {
        (_, None) if src.size <= super::s3::SMALL_OBJECT => src.size,
        (Format::Parquet, None) => parquet::fetched_whole(src, unit),
        _ => 0,
    }
}

/// Whether a unit that holds `held` bytes may start beside the units being read, which hold
/// `holding`: always when none is, else within [`HELD_AHEAD`] together.
fn room_for(holding: impl Iterator<Item = u64>, held: u64) -> bool {
    let mut n = 0;
    let total: u64 = holding.inspect(|_| n += 1).sum();
    n == 0 || total + held <= HELD_AHEAD
}

/// A unit being read: its source, its batches, its thread and the bytes it holds.
type Reading = (usize, Receiver<Result<Batch>>, JoinHandle<()>, u64);

/// Reads units ahead of need on their own threads and yields batches in input order.
pub struct Ahead {
    sources: Arc<Vec<Source>>,
    opts: Arc<ReadOptions>,
    pending: VecDeque<Unit>,
    active: VecDeque<Reading>,
    ahead: usize,
    nice: Option<i32>,
    /// Whether a batch has been handed on yet.
    delivered: bool,
    /// Told each source whose units have all been read.
    on_source_done: Option<Box<dyn FnMut(usize) + Send>>,
}

impl Ahead {
    pub fn new(
        sources: Arc<Vec<Source>>,
        opts: Arc<ReadOptions>,
        units: Vec<Unit>,
        ahead: usize,
    ) -> Ahead {
        Ahead {
            sources,
            opts,
            pending: units.into(),
            active: VecDeque::new(),
            ahead,
            nice: None,
            delivered: false,
            on_source_done: None,
        }
    }

    /// `f(i)` once the last of source `i`'s units has been read to its end (not for a source
    /// with no units, nor after a reader failed).
    pub fn on_source_done(mut self, f: impl FnMut(usize) + Send + 'static) -> Ahead {
        self.on_source_done = Some(Box::new(f));
        self
    }

    /// Reader threads run at this nice value (see `model::threads::PRODUCER_NICE`).
    pub fn at_nice(mut self, nice: i32) -> Ahead {
        self.nice = Some(nice);
        self
    }

    fn fill(&mut self) {
        // Until the first batch is out, one unit has the cores to itself: that batch is what the
        // whole pipeline, and the writer's MD5 chain behind it, is waiting for. Not so for a
        // remote input: the units after it start their GETs meanwhile (waiting on the network,
        // not the cores).
        let remote = |u: &Unit| self.sources[u.source].local_path().is_none();
        let solo = !self.delivered && !self.pending.front().is_some_and(remote);
        let ahead = if solo { 1 } else { self.ahead };
        while self.active.len() < ahead {
            let Some(unit) = self.pending.front() else {
                break;
            };
            let held = held_while_read(&self.sources[unit.source], unit);
            if !room_for(self.active.iter().map(|a| a.3), held) {
                break;
            }
            let unit = self.pending.pop_front().expect("just seen");
            let (tx, rx) = sync_channel(2);
            let sources = self.sources.clone();
            let opts = self.opts.clone();
            let nice = self.nice;
            let source = unit.source;
            let h = std::thread::spawn(move || {
                if let Some(n) = nice {
                    crate::model::threads::lower_priority(n);
                }
                run_unit(&sources[unit.source], &unit, &opts, &tx);
            });
            self.active.push_back((source, rx, h, held));
        }
    }
}

/// A reader thread's panic: a bug, never a finding about the input.
#[derive(Debug, thiserror::Error)]
#[error("a reader thread panicked")]
pub struct ReaderPanicked;

impl Ahead {
    /// The next batch, or the error of a unit with the index of the source it was reading. A
    /// unit that failed sends nothing more; the units after it go on, so a caller that can
    /// carry on without one source (validate reports it) keeps calling.
    pub fn next_of_source(&mut self) -> Option<(usize, Result<Batch>)> {
        loop {
            self.fill();
            let (source, rx, _, _) = self.active.front()?;
            let source = *source;
            match rx.recv() {
                Ok(b) => {
                    self.delivered = true;
                    return Some((source, b));
                }
                Err(_) => {
                    let (_, _, h, _) = self.active.pop_front().expect("front exists");
                    if h.join().is_err() {
                        return Some((source, Err(ReaderPanicked.into())));
                    }
                    let next = self.active.front().map(|a| a.0);
                    let next = next.or(self.pending.front().map(|u| u.source));
                    if next != Some(source) {
                        if let Some(f) = &mut self.on_source_done {
                            f(source);
                        }
                    }
                }
            }
        }
    }
}

impl Iterator for Ahead {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Result<Batch>> {
        self.next_of_source().map(|(_, b)| b)
    }
}

/// Send `rb` in slices of at most `batch_rows` rows; false when the receiver is gone.
pub(crate) fn send_sliced(
    tx: &SyncSender<Result<Batch>>,
    source: usize,
    first_row: &mut u64,
    rb: RecordBatch,
    batch_rows: usize,
    bytes: u64,
) -> bool {
    let n = rb.num_rows();
    let mut off = 0;
    while off < n {
        let len = batch_rows.min(n - off);
        let b = Batch {
            source,
            first_row: *first_row,
            rows: rb.slice(off, len),
            lines: None,
            pre_rejects: Vec::new(),
            input_bytes: if n == 0 {
                0
            } else {
                bytes * len as u64 / n as u64
            },
        };
        if tx.send(Ok(b)).is_err() {
            return false;
        }
        *first_row += len as u64;
        off += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fetched row groups in memory stay within `HELD_AHEAD`, but one is always read however
    /// large; units that hold nothing (streams, local files) are never held back.
    #[test]
    fn units_in_flight_hold_at_most_the_cap() {
        let mb = 1 << 20;
        assert!(room_for([].into_iter(), 10 * HELD_AHEAD));
        assert!(room_for([100 * mb, 100 * mb].into_iter(), 56 * mb));
        assert!(!room_for([100 * mb, 100 * mb].into_iter(), 57 * mb));
        assert!(!room_for([HELD_AHEAD].into_iter(), 1));
        assert!(room_for([0, 0, 0].into_iter(), 0));
        assert!(room_for([HELD_AHEAD].into_iter(), 0));
    }

    /// Until the first batch is out, only the first unit is read; then up to `ahead` units are.
    #[test]
    fn the_first_unit_reads_alone_until_its_first_batch() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ReadOptions {
            batch_rows: 1024,
            keep_blank: false,
            blocks: Default::default(),
            csv: csv::CsvOptions {
                delimiter: None,
                columns: None,
                sample_rows: 100,
            },
            max_line: crate::input::parse::lines::DEFAULT_MAX_LINE,
        };
        let mut sources = Vec::new();
        let mut units = Vec::new();
        for k in 0..4 {
            let path = dir.path().join(format!("f{k}.csv"));
            std::fs::write(&path, format!("a,b\n{k},x\n")).unwrap();
            let src = detect(&Found {
                path,
                manifest: None,
            })
            .unwrap();
            units.extend(open(&src, k, &opts).unwrap().units);
            sources.push(src);
        }
        let done = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = done.clone();
        let mut ahead = Ahead::new(Arc::new(sources), Arc::new(opts), units, 3)
            .on_source_done(move |i| seen.lock().unwrap().push(format!("done {i}")));
        assert!(ahead.next().unwrap().is_ok());
        assert_eq!((ahead.active.len(), ahead.pending.len()), (1, 3));
        let mut rest = Vec::new();
        for b in ahead {
            let s = b.unwrap().source;
            rest.push(s);
            done.lock().unwrap().push(format!("batch {s}"));
        }
        assert_eq!(rest, [1, 2, 3], "the other units follow, in order");
        // Each source is told done after its batches, before the next source's.
        assert_eq!(
            *done.lock().unwrap(),
            ["done 0", "batch 1", "done 1", "batch 2", "done 2", "batch 3", "done 3"]
        );
    }
}
