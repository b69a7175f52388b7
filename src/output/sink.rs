//! The hashing sink a part's bytes go through: it counts them, computes their MD5 (for
//! DynamoDB's manifest) and CRC64-NVME (S3's full-object checksum) inline or in the part
//! writer's lanes, and hands them to the store's sink on a thread of their own.

use super::store::PartSink;
use crate::hashing::{md5x, Crc64};
use md5::{Digest, Md5};
use std::collections::VecDeque;
use std::io::Write;
use std::ops::Range;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A file writer that hashes and counts what goes through it.
/// Either MD5 runs on the writing thread and the CRC beside the staging for the disk (see
/// [`disk`]) on a thread of their own that follows up to `BEHIND` pieces behind, so neither
/// waits for the other chunk by chunk; or both run in the part writer's lanes and that thread
/// only stages. Small writes (a compressor's output) are gathered into pieces first; encoded
/// batches are shared with the staging thread as they are, without a copy.
pub(super) struct Hashing {
    pub(super) chains: Chains,
    pub(super) bytes: u64,
    pub(super) buf: Vec<u8>,
    /// Whether the last gathered piece filled a whole [`HASH_CHUNK`]: a stream of small writes
    /// (a compressor's), so the next buffer is made that large at once. Otherwise the pieces
    /// gathered are a batch's remainder at a part's turn, and a buffer of their size is enough:
    /// one of `HASH_CHUNK` per part would hold memory the remainder never uses, and handing
    /// such buffers between threads fragments the allocator's heap.
    pub(super) chunked: bool,
    /// Pieces for the staging thread; `None` once finished.
    pub(super) tx: Option<SyncSender<Piece>>,
    pub(super) helper: Option<JoinHandle<std::io::Result<Staged>>>,
}

/// What the staging thread hands back: the CRC it computed (inline chains only) and the part it
/// wrote into.
pub(super) type Staged = (Option<Crc64>, Box<dyn PartSink>);

/// Where a part's digests are computed.
pub(super) enum Chains {
    /// MD5 as the bytes are written, the CRC on the staging thread.
    Inline(Md5),
    /// MD5 in lanes ([`md5x`]) beside the other open parts' (the CRC with it): the pieces wait
    /// in the queue until the part writer runs the lanes together ([`PartWriter::pump`]).
    Lane {
        md5: md5x::Md5,
        crc: Box<Crc64>,
        queue: VecDeque<Piece>,
    },
}

/// A range of bytes handed on: a gathered buffer or part of an encoded batch, shared by the
/// writer, the MD5 lanes' queue and the staging thread without a copy.
#[derive(Clone)]
pub(super) struct Piece {
    pub(super) data: Arc<Vec<u8>>,
    pub(super) range: Range<usize>,
}

impl Piece {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.data[self.range.clone()]
    }
}

/// A part's bytes, hashed and on the device.
pub(super) struct Hashed {
    pub(super) md5: [u8; 16],
    pub(super) crc: Crc64,
    pub(super) sink: Box<dyn PartSink>,
    pub(super) bytes: u64,
}

pub(super) const HASH_CHUNK: usize = 4 << 20;
/// Writes at least this large skip the gathering buffer.
pub(super) const UNGATHERED: usize = 512 << 10;
/// How many pieces the staging thread may lag behind (memory: this many batches or gathered
/// chunks) while it computes the CRC too; one when it only stages (a part in the lanes: eight
/// of them at once, and staging is a copy).
pub(super) const BEHIND: usize = 3;

impl Hashing {
    /// `lane`: leave the digests to the part writer's lanes instead of computing them here.
    pub(super) fn new(mut sink: Box<dyn PartSink>, lane: bool) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Piece>(if lane { 1 } else { BEHIND });
        let helper = std::thread::Builder::new()
            .name("prep-stage".into())
            .spawn(move || {
                let mut crc = (!lane).then(Crc64::default);
                for piece in rx {
                    if let Some(crc) = &mut crc {
                        crc.update(piece.bytes());
                    }
                    sink.write_all(piece.bytes())?;
                }
                Ok((crc, sink))
            })?;
        Ok(Hashing {
            chains: if lane {
                Chains::Lane {
                    md5: md5x::Md5::default(),
                    crc: Box::default(),
                    queue: VecDeque::new(),
                }
            } else {
                Chains::Inline(Md5::new())
            },
            bytes: 0,
            buf: Vec::new(),
            chunked: false,
            tx: Some(tx),
            helper: Some(helper),
        })
    }

    pub(super) fn send(&mut self, piece: Piece) -> std::io::Result<()> {
        let n = piece.range.len();
        match &mut self.chains {
            Chains::Inline(m) => m.update(piece.bytes()),
            Chains::Lane { queue, .. } => queue.push_back(piece.clone()),
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(piece).is_ok(),
            None => false,
        };
        if !sent {
            // The staging thread stopped: it failed to write; its error says why.
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| std::io::Error::other("the staging thread stopped early")));
        }
        self.bytes += n as u64;
        Ok(())
    }

    pub(super) fn join(&mut self) -> std::io::Result<Staged> {
        self.tx = None;
        match self.helper.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the staging thread failed"))),
            None => Err(std::io::Error::other("the staging thread already stopped")),
        }
    }

    pub(super) fn drain(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        self.chunked = buf.len() >= HASH_CHUNK;
        self.send(Piece {
            range: 0..buf.len(),
            data: Arc::new(buf),
        })
    }

    /// Bytes of an encoded batch, shared with the staging thread instead of copied.
    pub(super) fn write_shared(
        &mut self,
        data: &Arc<Vec<u8>>,
        range: Range<usize>,
    ) -> std::io::Result<()> {
        if range.len() < UNGATHERED {
            return self.write_all(&data[range]);
        }
        self.drain()?;
        self.send(Piece {
            data: data.clone(),
            range,
        })
    }

    /// Everything written, hashed and handed to the disk.
    pub(super) fn finish(mut self) -> std::io::Result<Hashed> {
        self.drain()?;
        let (inline_crc, sink) = self.join()?;
        let (md5, crc) = match std::mem::replace(&mut self.chains, Chains::Inline(Md5::new())) {
            Chains::Inline(m) => (
                m.finalize().into(),
                inline_crc.expect("hashed on the staging thread"),
            ),
            Chains::Lane {
                mut md5,
                mut crc,
                queue,
            } => {
                // Whatever the lanes have not reached yet (normally nothing: the writer runs
                // them before it closes a part).
                for p in queue {
                    md5x::update_one(&mut md5, p.bytes());
                    crc.update(p.bytes());
                }
                (md5.finish(), *crc)
            }
        };
        Ok(Hashed {
            md5,
            crc,
            sink,
            bytes: self.bytes,
        })
    }
}

impl Drop for Hashing {
    /// An abandoned part: let the staging thread finish what it was given before the caller
    /// removes the file, rather than leave it running detached.
    fn drop(&mut self) {
        if self.helper.is_some() {
            let _ = self.join();
        }
    }
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() >= UNGATHERED {
            self.drain()?;
            self.send(Piece {
                data: Arc::new(buf.to_vec()),
                range: 0..buf.len(),
            })?;
            return Ok(buf.len());
        }
        let need = self.buf.len() + buf.len();
        if need > self.buf.capacity() {
            let grown = match self.chunked {
                true => HASH_CHUNK,
                false => (2 * self.buf.capacity()).min(HASH_CHUNK),
            };
            self.buf.reserve_exact(grown.max(need) - self.buf.len());
        }
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= HASH_CHUNK {
            self.drain()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.drain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::disk;
    use std::path::Path;

    /// A write that fails on the staging thread surfaces as the write's (or the finish's)
    /// error, whichever comes first: it is never lost because that thread runs behind MD5.
    #[cfg(target_os = "linux")]
    #[test]
    pub(super) fn a_failed_disk_write_is_reported() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        // MD5 inline or left to the lanes: the staging thread's failure surfaces either way.
        for lane in [false, true] {
            let mut h = Hashing::new(Box::new(disk::Disk::create(full).unwrap()), lane).unwrap();
            let batch = Arc::new(vec![b'x'; UNGATHERED]);
            let mut err = None;
            for _ in 0..BEHIND + 3 {
                if let Err(e) = h.write_shared(&batch, 0..batch.len()) {
                    err = Some(e);
                    break;
                }
            }
            let err = match err {
                Some(e) => e,
                None => h
                    .finish()
                    .err()
                    .expect("the write failed, so must the part"),
            };
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "lane {lane}: {err}");
        }
    }

    /// A batch's remainder is gathered in a buffer of its size; a stream of small writes (a
    /// compressor's) in buffers of a whole chunk once one has filled.
    #[test]
    pub(super) fn gathering_buffers_fit_what_they_gather() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        let mut h = Hashing::new(Box::new(disk::Disk::create(&path).unwrap()), false).unwrap();
        let batch = Arc::new(vec![b'b'; 3 * UNGATHERED]);
        h.write_shared(&batch, 0..batch.len() - 1000).unwrap();
        h.write_shared(&batch, batch.len() - 1000..batch.len())
            .unwrap();
        assert_eq!((h.buf.len(), h.buf.capacity()), (1000, 1000));
        let small = [b's'; 1000];
        for _ in 0..200 {
            h.write_all(&small).unwrap();
        }
        assert!(h.buf.capacity() < 2 * h.buf.len() + small.len());
        while !h.chunked {
            h.write_all(&small).unwrap();
        }
        h.write_all(&small).unwrap();
        assert_eq!(h.buf.capacity(), HASH_CHUNK);
        let done = h.finish().unwrap();
        done.sink.commit().unwrap();
        assert_eq!(done.bytes, std::fs::metadata(&path).unwrap().len());
    }

    /// Shared batches, gathered small writes and large borrowed writes hash and land in order.
    #[test]
    pub(super) fn shared_gathered_and_borrowed_writes_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        let mut h = Hashing::new(Box::new(disk::Disk::create(&path).unwrap()), false).unwrap();
        let mut want = Vec::new();
        for k in 0..40usize {
            let piece: Vec<u8> = (0..(k * 37_123) % (3 * UNGATHERED))
                .map(|i| (i * 7 + k) as u8)
                .collect();
            match k % 3 {
                0 => {
                    // A range that leaves out the batch's first byte, as a part boundary would.
                    let from = 1.min(piece.len());
                    let shared = Arc::new(piece.clone());
                    h.write_shared(&shared, from..piece.len()).unwrap();
                    want.extend_from_slice(&piece[from..]);
                }
                1 => {
                    h.write_all(&piece).unwrap();
                    want.extend_from_slice(&piece);
                }
                _ => {
                    for c in piece.chunks(1000) {
                        h.write_all(c).unwrap();
                    }
                    want.extend_from_slice(&piece);
                }
            }
        }
        let done = h.finish().unwrap();
        let (bytes, md5, crc) = (done.bytes, done.md5, done.crc);
        done.sink.commit().unwrap();
        assert_eq!(bytes, want.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), want);
        assert_eq!(md5[..], Md5::digest(&want)[..]);
        assert_eq!(crc.base64(), crate::testing::crc64nvme(&want));
        assert_eq!(crc.len(), want.len() as u64);
    }
}
