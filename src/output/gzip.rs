//! gzip compressed by several threads, as pigz does it, into one ordinary gzip member.
//!
//! Deflate at the usual levels runs at tens of MB/s on one core, far slower than items are
//! encoded, so one stream compressed on the writer's thread decided the speed of every gzip
//! conversion. Here the stream is cut into pieces of a fixed size; each piece is deflated on
//! a worker thread with the last 32 KiB before it as its dictionary (what deflate may refer
//! back to anyway) and ends on a byte boundary (a sync flush; the last piece ends the stream),
//! so the pieces, written in order, are one deflate stream. Their CRC-32s are combined into
//! the member's. Where the cuts fall depends only on the bytes written, never on the number
//! of threads or their timing: a part is byte-identical whatever the machine.

use flate2::{Compress, Compression, FlushCompress, Status};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Uncompressed bytes a piece holds (the last one fewer): large enough that the dictionary
/// and the flush cost nothing measurable in size, small enough to spread a part over threads.
pub(crate) const PIECE: usize = 1 << 20;

/// How far back deflate refers: the dictionary a piece starts with.
const WINDOW: usize = 32 << 10;

/// A piece deflated, with the CRC-32 of its uncompressed bytes.
type Deflated = io::Result<(Vec<u8>, crc32fast::Hasher)>;

struct Job {
    input: Vec<u8>,
    dict: Vec<u8>,
    last: bool,
    reply: SyncSender<Deflated>,
}

/// A gzip member written to `out`, deflated by `workers` threads (none: on the caller's).
pub struct GzipWriter<W: Write> {
    /// Taken by `finish`.
    out: Option<W>,
    piece_size: usize,
    piece: Vec<u8>,
    /// The last [`WINDOW`] bytes before `piece`.
    dict: Vec<u8>,
    workers: Vec<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    turn: usize,
    /// Pieces handed to the workers, oldest first, not yet written.
    pending: VecDeque<Receiver<Deflated>>,
    level: Compression,
    crc: crc32fast::Hasher,
    /// Uncompressed bytes written.
    len: u64,
}

impl<W: Write> GzipWriter<W> {
    /// `level` 0–9; `workers` threads of its own (0 or 1: deflate on the caller's thread);
    /// `piece_size` 1 MiB but in tests.
    pub fn new(
        mut out: W,
        level: u32,
        workers: usize,
        piece_size: usize,
    ) -> io::Result<GzipWriter<W>> {
        let level = Compression::new(level.min(9));
        out.write_all(&header(level))?;
        let mut w = GzipWriter {
            out: Some(out),
            piece_size: piece_size.max(1),
            piece: Vec::new(),
            dict: Vec::new(),
            workers: Vec::new(),
            threads: Vec::new(),
            turn: 0,
            pending: VecDeque::new(),
            level,
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        if workers <= 1 {
            return Ok(w);
        }
        for i in 0..workers {
            // Two pieces queued per worker keep it busy while the writer catches up.
            let (tx, rx) = sync_channel::<Job>(2);
            let t = std::thread::Builder::new()
                .name(format!("prep-gzip-{i}"))
                .spawn(move || {
                    for job in rx {
                        let d = deflate(level, &job.input, &job.dict, job.last);
                        // The writer gone (dropped unfinished) wants no answer.
                        let _ = job.reply.send(d);
                    }
                })?;
            w.workers.push(tx);
            w.threads.push(t);
        }
        Ok(w)
    }

    /// Deflate the piece being filled (the last one: end the stream).
    fn submit(&mut self, last: bool) -> io::Result<()> {
        let input = std::mem::replace(&mut self.piece, Vec::with_capacity(self.piece_size));
        let from = input.len().saturating_sub(WINDOW);
        // The next piece's dictionary: this piece's tail, after what came before if short.
        let mut next_dict = if input.len() >= WINDOW {
            Vec::new()
        } else {
            self.dict[self.dict.len().saturating_sub(WINDOW - input.len())..].to_vec()
        };
        next_dict.extend_from_slice(&input[from..]);
        let dict = std::mem::replace(&mut self.dict, next_dict);
        if self.workers.is_empty() {
            let d = deflate(self.level, &input, &dict, last);
            return self.put(d);
        }
        let (reply, answer) = sync_channel(1);
        let worker = &self.workers[self.turn % self.workers.len()];
        self.turn += 1;
        worker
            .send(Job {
                input,
                dict,
                last,
                reply,
            })
            .map_err(|_| stopped())?;
        self.pending.push_back(answer);
        // Bounded: at most two pieces in flight per worker, besides the one being filled.
        while self.pending.len() > 2 * self.workers.len() {
            self.take_oldest()?;
        }
        Ok(())
    }

    fn take_oldest(&mut self) -> io::Result<()> {
        let answer = self.pending.pop_front().expect("pending");
        let d = answer.recv().map_err(|_| stopped())?;
        self.put(d)
    }

    fn put(&mut self, d: Deflated) -> io::Result<()> {
        let (bytes, crc) = d?;
        self.crc.combine(&crc);
        self.out.as_mut().ok_or_else(stopped)?.write_all(&bytes)
    }

    /// End the member (the last piece, every piece still in flight, the trailer) and give the
    /// writer back.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.take_oldest()?;
        }
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.clone().finalize().to_le_bytes());
        // The member's size field is the length modulo 2^32, as gzip defines it.
        trailer[4..].copy_from_slice(&(self.len as u32).to_le_bytes());
        let mut out = self.out.take().ok_or_else(stopped)?;
        out.write_all(&trailer)?;
        self.stop();
        Ok(out)
    }

    fn stop(&mut self) {
        self.workers.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl<W: Write> Write for GzipWriter<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        self.len += n as u64;
        while !buf.is_empty() {
            let take = (self.piece_size - self.piece.len()).min(buf.len());
            self.piece.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            // A full piece waits for the next byte: the last piece is the one `finish` ends.
            if self.piece.len() == self.piece_size && !buf.is_empty() {
                self.submit(false)?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for GzipWriter<W> {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stopped() -> io::Error {
    io::Error::other("a gzip compression thread stopped")
}

/// The ten bytes of a gzip member's header, as flate2's encoder writes them: no name, no
/// time, the level's hint, an unknown system.
fn header(level: Compression) -> [u8; 10] {
    let hint = if level.level() >= Compression::best().level() {
        2
    } else if level.level() <= Compression::fast().level() {
        4
    } else {
        0
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, hint, 255]
}

/// One piece as raw deflate: begun with `dict` as what came before, ended on a byte boundary
/// (or, for the last piece, ending the stream).
fn deflate(level: Compression, input: &[u8], dict: &[u8], last: bool) -> Deflated {
    // A fresh compressor per piece: zlib-rs's reset leaves some of the fastest levels' state
    // behind, and a piece's bytes must depend on nothing but its input and dictionary.
    let c = &mut Compress::new(level, false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    let start = c.total_in();
    loop {
        let done = (c.total_in() - start) as usize;
        let status = c
            .compress_vec(&input[done..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = (c.total_in() - start) as usize == input.len();
        // Finished once every byte is in and the flush had room to complete.
        let finished = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => all_in && out.len() < out.capacity(),
        };
        if finished {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    Ok((out, crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Text that deflate finds matches in, near and far, with bytes that do not repeat.
    fn text(n: usize, seed: u64) -> Vec<u8> {
        let mut next = crate::testing::xorshift(seed);
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            let r = next();
            match r % 4 {
                0 => v.extend_from_slice(b"{\"Item\":{\"pk\":{\"S\":\"user#"),
                1 => v.extend_from_slice(format!("{}\"}}}}\n", r % 100_000).as_bytes()),
                _ => v.push((r >> 8) as u8),
            }
        }
        v.truncate(n);
        v
    }

    fn gzip(data: &[u8], level: u32, workers: usize, piece: usize, cuts: &[usize]) -> Vec<u8> {
        let mut w = GzipWriter::new(Vec::new(), level, workers, piece).unwrap();
        // Written in pieces that do not line up with the gzip pieces.
        let mut at = 0;
        for &c in cuts {
            let c = c.min(data.len());
            if c > at {
                w.write_all(&data[at..c]).unwrap();
                at = c;
            }
        }
        w.write_all(&data[at..]).unwrap();
        w.finish().unwrap()
    }

    /// One gzip member, read by flate2's decoder: its bytes and what follows it.
    fn gunzip(gz: &[u8]) -> (Vec<u8>, usize) {
        let mut d = flate2::bufread::GzDecoder::new(gz);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        (out, d.into_inner().len())
    }

    #[test]
    fn pieces_make_one_member_that_reads_back_whatever_the_threads() {
        for (n, piece) in [
            (0, 100),
            (1, 100),
            (99, 100),
            (100, 100),
            (101, 100),
            (5000, 1000),
            (100_000, 7000),
            (300_000, 50_000),
            (300_000, 1 << 20),
        ] {
            let data = text(n, n as u64 + 1);
            for level in [0, 1, 6, 9] {
                let one = gzip(&data, level, 0, piece, &[3, 1000, 1001, 40_000]);
                let (back, rest) = gunzip(&one);
                assert!(back == data, "{n} bytes, pieces of {piece}, level {level}");
                assert_eq!(rest, 0, "one member, nothing after it");
                for workers in [1, 2, 3, 8] {
                    let many = gzip(&data, level, workers, piece, &[piece, 7]);
                    assert!(
                        many == one,
                        "{n} bytes, level {level}: {workers} workers wrote other bytes"
                    );
                }
            }
        }
    }

    /// Each piece starts from the 32 KiB before it, so cutting costs next to nothing in size,
    /// even when pieces are shorter than the window (the dictionary then spans several).
    #[test]
    fn pieces_keep_the_ratio_of_one_stream() {
        let data = text(600_000, 9);
        let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        one.write_all(&data).unwrap();
        let one = one.finish().unwrap().len();
        // Each piece ends its deflate block, so short pieces pay for more block headers.
        for (piece, slack) in [(10_000, 20), (100_000, 100), (PIECE, 200)] {
            let cut = gzip(&data, 6, 2, piece, &[]).len();
            assert!(
                cut <= one + one / slack + 64,
                "pieces of {piece}: {cut} bytes against {one}"
            );
        }
    }

    /// The header is flate2's, and the trailer holds the CRC-32 and the length modulo 2^32.
    #[test]
    fn header_and_trailer_are_gzips() {
        let data = text(70_000, 3);
        let gz = gzip(&data, 6, 2, 10_000, &[]);
        let mut plain = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        plain.write_all(&data).unwrap();
        let plain = plain.finish().unwrap();
        assert_eq!(gz[..10], plain[..10]);
        assert_eq!(gz[gz.len() - 8..], plain[plain.len() - 8..]);
        assert_eq!(header(Compression::new(1))[8], 4);
        assert_eq!(header(Compression::new(9))[8], 2);
    }

    /// A sink that fails is an error from `write` or `finish`, never a hang or a panic, with
    /// workers or without.
    #[test]
    fn a_failing_sink_is_an_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(GzipWriter::new(Full, 6, 2, 100).is_err());
        struct After(usize);
        impl Write for After {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.0 < b.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let data = text(50_000, 4);
        for workers in [0, 3] {
            let mut w = GzipWriter::new(After(100), 6, workers, 1000).unwrap();
            let r = w.write_all(&data).and_then(|_| w.finish().map(|_| ()));
            assert!(r.is_err(), "{workers} workers");
        }
    }
}
