//! Where a part's bytes go. A part is synced before it is renamed into place, so every byte goes
//! to the device anyway: on Linux it is written there directly (O_DIRECT) from an aligned staging
//! buffer, which skips the page-cache copy and its bookkeeping (several times faster than a
//! buffered write and its sync; BENCHMARKS.md).
//! Where the file system refuses direct writes, bytes go through the page cache, with writeback
//! started as they come so the final sync has little left to do.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Alignment of direct writes' memory, length and file offset (a multiple of every logical block
/// size in use).
const ALIGN: usize = 4096;
/// Bytes staged per direct write.
const STAGE: usize = 2 << 20;
/// Buffered mode: start writing back every this many bytes.
const WRITEBACK: u64 = 32 << 20;

/// Stages are aligned to a huge page and asked to be backed by huge pages (Linux's transparent
/// huge pages in `madvise` mode, the usual default): a direct write pins the pages of its
/// buffer and the device releases them on completion, page by page, which 512 times fewer pages
/// make cheaper (less system time, measurably). Elsewhere the advice is ignored and nothing
/// changes.
pub(crate) use crate::model::sys::HUGE_PAGE;
use crate::model::sys::{advise_huge_pages, clear_direct, start_writeback};

/// A staging buffer: `HUGE_PAGE` spare bytes so an aligned window fits wherever the allocator
/// put it (the spare bytes are never touched, so they take no memory).
struct Stage {
    mem: Vec<u8>,
    /// Start of the aligned window in `mem`.
    at: usize,
    /// Bytes staged in the window.
    len: usize,
}

/// The stages of every part being written, shared: each part fills one, and the others are on
/// their way to the device or spare. A fresh stage costs more than its allocation: the kernel
/// zeroes its huge pages on first touch, and on a virtual machine each fresh huge page may also
/// fault in the host, so parts share stages and keep them rather than each making its own.
struct Pool {
    spare: Vec<Stage>,
    /// Stages in existence: spare, being filled, or being written.
    alive: usize,
    /// Parts writing directly; each holds the stage it fills.
    open: usize,
}

static POOL: std::sync::Mutex<Pool> = std::sync::Mutex::new(Pool {
    spare: Vec::new(),
    alive: 0,
    open: 0,
});
static RETURNED: std::sync::Condvar = std::sync::Condvar::new();
/// Stages beyond one per open part: on their way to the device while the parts fill the next.
const SLACK: usize = 2;

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // A panic elsewhere cannot leave the counts half-updated: keep going.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

impl Stage {
    /// A spare stage, or a new one while fewer than `open + SLACK` exist; otherwise wait for a
    /// writer to return one (a part that waits holds no stage, so one always comes back).
    fn take() -> Stage {
        let mut p = pool();
        loop {
            if let Some(s) = p.spare.pop() {
                return s;
            }
            if p.alive < p.open + SLACK {
                p.alive += 1;
                drop(p);
                return Stage::new();
            }
            p = RETURNED.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// No stage: what a part holds between two, or once finished.
    fn none() -> Stage {
        Stage {
            mem: Vec::new(),
            at: 0,
            len: 0,
        }
    }

    /// Make the stage spare again.
    fn give_back(mut self) {
        if self.mem.is_empty() {
            return;
        }
        self.len = 0;
        pool().spare.push(self);
        RETURNED.notify_one();
    }

    fn new() -> Stage {
        let mem = vec![0u8; STAGE + HUGE_PAGE];
        let at = mem.as_ptr().align_offset(HUGE_PAGE);
        advise_huge_pages(&mem[at..at + STAGE]);
        Stage { mem, at, len: 0 }
    }
}

impl Drop for Stage {
    /// A stage dropped rather than given back (a failed or abandoned part).
    fn drop(&mut self) {
        if !self.mem.is_empty() {
            pool().alive -= 1;
            RETURNED.notify_one();
        }
    }
}

/// A full stage for the writer thread: write it at `offset`, padded to `padded` bytes.
struct Job {
    stage: Stage,
    offset: u64,
    padded: usize,
}

enum Mode {
    /// Full stages are written by a thread of their own, so that the device's time overlaps the
    /// encoding instead of holding one of its threads.
    Direct {
        stage: Stage,
        jobs: Option<std::sync::mpsc::SyncSender<Job>>,
        /// One outcome per job; the stages themselves go back to the pool.
        done: std::sync::mpsc::Receiver<std::io::Result<()>>,
        writer: Option<std::thread::JoinHandle<()>>,
        /// Counted in the pool's open parts (until finished or dropped).
        open: bool,
    },
    Buffered {
        /// Bytes already handed to the kernel's writeback.
        flushed: u64,
    },
}

pub(super) struct Disk {
    file: std::sync::Arc<File>,
    mode: Mode,
    /// Bytes handed on so far (those of the stage being filled not included).
    written: u64,
}

impl Disk {
    /// Create (or truncate) `path`, for direct writes where the file system takes them.
    pub(super) fn create(path: &Path) -> std::io::Result<Disk> {
        if let Some(file) = open_direct(path) {
            let file = std::sync::Arc::new(file);
            let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(SLACK);
            let (outbox, done) = std::sync::mpsc::channel();
            let f = file.clone();
            let writer = std::thread::Builder::new()
                .name("prep-disk".into())
                .spawn(move || {
                    for job in inbox {
                        let outcome = write_direct(&f, job).map(Stage::give_back);
                        if outbox.send(outcome).is_err() {
                            return;
                        }
                    }
                })?;
            pool().open += 1;
            return Ok(Disk {
                file,
                mode: Mode::Direct {
                    stage: Stage::take(),
                    jobs: Some(jobs),
                    done,
                    writer: Some(writer),
                    open: true,
                },
                written: 0,
            });
        }
        Self::create_buffered(path)
    }

    /// Through the page cache, as where direct writes are refused.
    fn create_buffered(path: &Path) -> std::io::Result<Disk> {
        Ok(Disk {
            file: std::sync::Arc::new(File::create(path)?),
            mode: Mode::Buffered { flushed: 0 },
            written: 0,
        })
    }

    /// Whether bytes go to the device directly.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        matches!(self.mode, Mode::Direct { .. })
    }

    pub(super) fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        while !data.is_empty() {
            match &mut self.mode {
                Mode::Direct { stage, .. } => {
                    let n = (STAGE - stage.len).min(data.len());
                    let at = stage.at + stage.len;
                    stage.mem[at..at + n].copy_from_slice(&data[..n]);
                    stage.len += n;
                    data = &data[n..];
                    if stage.len == STAGE {
                        self.send_stage(STAGE)?;
                    }
                }
                Mode::Buffered { flushed } => {
                    self.file.write_all_at(data, self.written)?;
                    self.written += data.len() as u64;
                    if self.written - *flushed >= WRITEBACK {
                        start_writeback(&self.file, *flushed, self.written - *flushed);
                        *flushed = self.written;
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Hand the stage being filled to the writer thread, padded to `padded` bytes (a multiple
    /// of `ALIGN`; [`Disk::finish`] cuts the padding off again), and take another from the pool.
    fn send_stage(&mut self, padded: usize) -> std::io::Result<()> {
        let Mode::Direct {
            stage, jobs, done, ..
        } = &mut self.mode
        else {
            return Ok(());
        };
        // A write that failed is reported as soon as it is known.
        while let Ok(outcome) = done.try_recv() {
            outcome?;
        }
        // The full stage goes first, so that a part waiting for a stage holds none.
        let full = std::mem::replace(stage, Stage::none());
        let len = full.len;
        let job = Job {
            stage: full,
            offset: self.written,
            padded,
        };
        jobs.as_ref()
            .expect("open until finish")
            .send(job)
            .map_err(|_| writer_gone())?;
        self.written += len as u64;
        *stage = Stage::take();
        Ok(())
    }

    /// Write what is staged, wait for the writer, cut the file to its length and sync it.
    pub(super) fn finish(&mut self) -> std::io::Result<()> {
        if let Mode::Direct {
            stage,
            jobs,
            done,
            writer,
            open,
        } = &mut self.mode
        {
            let last = std::mem::replace(stage, Stage::none());
            let len = last.len;
            let jobs = jobs.take().expect("open until finish");
            if len > 0 {
                let job = Job {
                    padded: len.next_multiple_of(ALIGN),
                    stage: last,
                    offset: self.written,
                };
                jobs.send(job).map_err(|_| writer_gone())?;
                self.written += len as u64;
            } else {
                last.give_back();
            }
            drop(jobs);
            let mut first_error = None;
            for r in done.iter() {
                if let Err(e) = r {
                    first_error.get_or_insert(e);
                }
            }
            if let Some(w) = writer.take() {
                w.join().map_err(|_| writer_gone())?;
            }
            if std::mem::take(open) {
                pool().open -= 1;
            }
            if let Some(e) = first_error {
                return Err(e);
            }
            if len > 0 {
                self.file.set_len(self.written)?;
            }
        }
        self.file.sync_all()
    }
}

impl Drop for Disk {
    /// A part dropped unfinished: it no longer holds a place in the pool.
    fn drop(&mut self) {
        if let Mode::Direct {
            open: open @ true, ..
        } = &mut self.mode
        {
            *open = false;
            pool().open -= 1;
            RETURNED.notify_all();
        }
    }
}

fn writer_gone() -> std::io::Error {
    std::io::Error::other("the part's writer thread stopped")
}

/// Write a stage at its offset. A file system that opened the file for direct writes but refuses
/// them gets these bytes, and the rest of the part, through the page cache.
fn write_direct(file: &File, mut job: Job) -> std::io::Result<Stage> {
    use std::os::unix::fs::FileExt;
    let s = &mut job.stage;
    let window = &mut s.mem[s.at..s.at + job.padded];
    window[s.len..].fill(0);
    match file.write_all_at(window, job.offset) {
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            clear_direct(file)?;
            file.write_all_at(&window[..s.len], job.offset)?;
        }
        r => r?,
    }
    s.len = 0;
    Ok(job.stage)
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path) -> Option<File> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the lengths written, the file holds exactly the bytes, direct (where this file
    /// system takes it) or through the page cache.
    #[test]
    fn huge_page_advice_leaves_memory_as_it_was() {
        let mut table: Vec<u64> = (0..(3 << 20) as u64).collect();
        table[12345] = u64::MAX;
        advise_huge_pages(&table);
        advise_huge_pages(&table[..10]);
        advise_huge_pages::<u64>(&[]);
        assert_eq!(table[12345], u64::MAX);
        table[12345] = 12345;
        assert!(table.iter().enumerate().all(|(i, &v)| v == i as u64));
    }

    #[test]
    fn files_hold_exactly_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * STAGE + 12_345)
            .map(|i| (i * 7 + i / 4093) as u8)
            .collect();
        for (k, pieces) in [
            vec![0],
            vec![1],
            vec![ALIGN - 1, 1, ALIGN + 1],
            vec![STAGE],
            vec![STAGE - 1, 2, STAGE],
            vec![data.len()],
            vec![100_000; 10],
        ]
        .into_iter()
        .enumerate()
        {
            for buffered in [false, true] {
                let path = dir.path().join(format!("{k}-{buffered}"));
                let mut d = if buffered {
                    Disk::create_buffered(&path).unwrap()
                } else {
                    Disk::create(&path).unwrap()
                };
                let mut want = Vec::new();
                let mut at = 0;
                for &n in &pieces {
                    let n = n.min(data.len() - at);
                    d.write_all(&data[at..at + n]).unwrap();
                    want.extend_from_slice(&data[at..at + n]);
                    at += n;
                }
                d.finish().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), want, "case {k} {buffered}");
            }
        }
    }

    /// Many parts open at once share the pool's stages (one each plus `SLACK`, so parts wait for
    /// stages to come back from the device) and each file still holds exactly its bytes; parts
    /// dropped unfinished give their place back.
    #[test]
    fn parts_share_the_pool_without_waiting_forever() {
        let dir = tempfile::tempdir().unwrap();
        let parts = 12;
        let mut disks: Vec<Disk> = (0..parts)
            .map(|k| Disk::create(&dir.path().join(format!("p{k}"))).unwrap())
            .collect();
        let mut abandoned = Disk::create(&dir.path().join("abandoned")).unwrap();
        abandoned.write_all(&vec![1u8; STAGE + 7]).unwrap();
        drop(abandoned);
        let mut want: Vec<Vec<u8>> = vec![Vec::new(); parts];
        for round in 0..5usize {
            for (k, d) in disks.iter_mut().enumerate() {
                let piece: Vec<u8> = (0..STAGE / 2 + 333 * k + round)
                    .map(|i| (i + 31 * k + round) as u8)
                    .collect();
                d.write_all(&piece).unwrap();
                want[k].extend_from_slice(&piece);
            }
        }
        for (k, mut d) in disks.into_iter().enumerate() {
            d.finish().unwrap();
            let got = std::fs::read(dir.path().join(format!("p{k}"))).unwrap();
            assert!(got == want[k], "part {k}");
        }
    }

    /// Where the file system opens files for direct writes, whole stages and the padded tail
    /// go through without falling back to the page cache.
    #[cfg(target_os = "linux")]
    #[test]
    fn direct_writes_are_used_where_the_file_system_takes_them() {
        let dir = tempfile::tempdir().unwrap();
        if open_direct(&dir.path().join("probe")).is_none() {
            eprintln!("no direct writes on this file system; the buffered path is tested above");
            return;
        }
        let path = dir.path().join("x");
        let mut d = Disk::create(&path).unwrap();
        let data = vec![7u8; STAGE + 10];
        d.write_all(&data).unwrap();
        d.finish().unwrap();
        assert!(d.is_direct());
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }
}
