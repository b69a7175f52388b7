//! Streaming line reading for item files (plain, gzip or zstd by magic bytes), with line numbers
//! and byte offsets, and an item reader that reports a bad line and carries on.

use super::{Item, LineFormat, ParseError};
use crate::input::source::InputObject;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

enum Packing {
    Plain,
    Gzip,
    Zstd,
}

/// An input's compression, told by its first bytes.
fn sniff(obj: &dyn InputObject) -> Result<Packing> {
    let head = obj
        .read_range(0, 4)
        .with_context(|| format!("cannot read {}", obj.display()))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Packing::Gzip
    } else if head[..] == [0x28, 0xb5, 0x2f, 0xfd] {
        Packing::Zstd
    } else {
        Packing::Plain
    })
}

/// An input's bytes with gzip/zstd compression undone, told by the first bytes.
pub fn open_decompressed(obj: &dyn InputObject) -> Result<Box<dyn BufRead + Send>> {
    let packing = sniff(obj)?;
    decompressed(obj.read_from(0)?, packing)
}

fn decompressed(f: Box<dyn Read + Send>, packing: Packing) -> Result<Box<dyn BufRead + Send>> {
    let f = BufReader::with_capacity(1 << 20, f);
    Ok(match packing {
        Packing::Gzip => Box::new(BufReader::with_capacity(1 << 20, located_gzip(f))),
        Packing::Zstd => Box::new(BufReader::with_capacity(1 << 20, located_zstd(f)?)),
        Packing::Plain => Box::new(f),
    })
}

/// A gzip decoder (members one after another) whose errors are [`DamagedStream`]s.
pub(crate) fn located_gzip<R: BufRead + Send + 'static>(r: R) -> Box<dyn Read + Send> {
    let at = Arc::new(AtomicU64::new(0));
    Box::new(Located {
        r: flate2::bufread::MultiGzDecoder::new(Consumed { r, at: at.clone() }),
        compression: "gzip",
        at,
        out: 0,
    })
}

/// A zstd decoder whose errors are [`DamagedStream`]s.
pub(crate) fn located_zstd<R: BufRead + Send + 'static>(r: R) -> Result<Box<dyn Read + Send>> {
    let at = Arc::new(AtomicU64::new(0));
    Ok(Box::new(Located {
        r: zstd::stream::read::Decoder::with_buffer(Consumed { r, at: at.clone() })?,
        compression: "zstd",
        at,
        out: 0,
    }))
}

/// A compressed stream that cannot be decompressed: where the decoder stopped, so a report can
/// name the byte to look at. Carried inside the `std::io::Error` the reader returns.
#[derive(Debug, thiserror::Error)]
#[error("damaged {compression} stream near compressed byte {offset} (after {produced} uncompressed bytes): {cause}; the file is corrupt or truncated, so fetch or write it again")]
pub struct DamagedStream {
    pub compression: &'static str,
    /// Compressed bytes the decoder had taken when it failed.
    pub offset: u64,
    /// Uncompressed bytes it had produced before.
    pub produced: u64,
    pub cause: std::io::Error,
}

impl DamagedStream {
    /// The damaged stream behind an error, where there is one.
    pub fn find(e: &anyhow::Error) -> Option<&DamagedStream> {
        e.chain().find_map(|c| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<DamagedStream>())
        })
    }
}

/// Counts the bytes a decoder takes from its buffered input.
struct Consumed<R> {
    r: R,
    at: Arc<AtomicU64>,
}

impl<R: BufRead> Read for Consumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        self.at.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Consumed<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.r.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.r.consume(n);
        self.at.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A decoder whose errors say where in the compressed stream they happened.
struct Located<D> {
    r: D,
    compression: &'static str,
    at: Arc<AtomicU64>,
    out: u64,
}

impl<D: Read> Read for Located<D> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.r.read(buf) {
            Ok(n) => {
                self.out += n as u64;
                Ok(n)
            }
            Err(cause) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                DamagedStream {
                    compression: self.compression,
                    offset: self.at.load(Ordering::Relaxed),
                    produced: self.out,
                    cause,
                },
            )),
        }
    }
}

/// Like [`open_decompressed`], for callers that read in large blocks of their own: a plain file
/// comes without a buffer in front of it, so its bytes are not copied twice.
pub(crate) fn open_decompressed_unbuffered(obj: &dyn InputObject) -> Result<Box<dyn Read + Send>> {
    let packing = sniff(obj)?;
    let f = obj.read_from(0)?;
    Ok(match packing {
        Packing::Plain => f,
        _ => Box::new(decompressed(f, packing)?),
    })
}

/// Lines of a byte stream: 1-based line number, byte offset of the line start (in the
/// uncompressed stream), the line without `\n` (a `\r` before it is kept for the caller).
pub(crate) struct LineReader<R: BufRead> {
    r: R,
    line: u64,
    offset: u64,
    pub buf: Vec<u8>,
    /// Bytes of the reader's buffer lent out by [`LineReader::next_line_ref`], consumed on the
    /// next call.
    lent: usize,
    /// The longest line kept (see [`DEFAULT_MAX_LINE`]).
    pub max_line: usize,
    /// Set when the last line returned was longer than `max_line`: its length. Only its first
    /// [`LONG_LINE_KEPT`] bytes were returned; the rest was skipped unread.
    pub too_long: Option<u64>,
}

/// The longest item line read by default. No item within DynamoDB's 400 KB needs more, even in
/// DynamoDB JSON with every byte escaped; a longer line is skipped as it streams (never held
/// whole) and rejected, so memory stays bounded whatever a file holds. `--max-line-bytes`.
pub const DEFAULT_MAX_LINE: usize = 8 << 20;

/// The start of an over-long line kept to show in a reject or finding.
pub(crate) const LONG_LINE_KEPT: usize = 256;

/// The reject of a line longer than the limit.
pub(crate) fn too_long_message(line: u64, len: u64, max: usize) -> String {
    format!(
        "line {line} is {len} bytes, over the {max}-byte limit for one line (--max-line-bytes); no item within DynamoDB's 400 KB needs that much, so it was skipped unread"
    )
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(r: R) -> Self {
        LineReader {
            r,
            line: 0,
            offset: 0,
            buf: Vec::with_capacity(4096),
            lent: 0,
            max_line: DEFAULT_MAX_LINE,
            too_long: None,
        }
    }

    /// Skip the rest of an over-long line (its first bytes are in `buf`), up to and including
    /// its newline, without keeping it.
    fn skip_rest(&mut self) -> std::io::Result<()> {
        let mut len = self.buf.len() as u64;
        self.buf.truncate(LONG_LINE_KEPT);
        loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            match memchr::memchr(b'\n', avail) {
                Some(p) => {
                    len += p as u64;
                    self.offset += p as u64 + 1;
                    self.r.consume(p + 1);
                    break;
                }
                None => {
                    let n = avail.len();
                    len += n as u64;
                    self.offset += n as u64;
                    self.r.consume(n);
                }
            }
        }
        self.too_long = Some(len);
        Ok(())
    }

    /// The next line (line number, bytes without `\n`), or None at the end. A line that lies
    /// whole in the reader's buffer is lent from there rather than copied.
    pub(crate) fn next_line_ref(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        self.r.consume(std::mem::take(&mut self.lent));
        self.buf.clear();
        self.too_long = None;
        loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                self.line += 1;
                return Ok(Some((self.line, &self.buf)));
            }
            if self.buf.len() > self.max_line {
                self.skip_rest()?;
                self.line += 1;
                return Ok(Some((self.line, &self.buf)));
            }
            match memchr::memchr(b'\n', avail) {
                Some(p) => {
                    self.offset += p as u64 + 1;
                    self.line += 1;
                    if self.buf.is_empty() {
                        self.lent = p + 1;
                        // Filling again returns the same, unconsumed bytes.
                        let avail = self.r.fill_buf()?;
                        return Ok(Some((self.line, &avail[..p])));
                    }
                    self.buf.extend_from_slice(&avail[..p]);
                    self.r.consume(p + 1);
                    return Ok(Some((self.line, &self.buf)));
                }
                None => {
                    let n = avail.len();
                    self.buf.extend_from_slice(avail);
                    self.offset += n as u64;
                    self.r.consume(n);
                }
            }
        }
    }

    /// Read the next line into `self.buf`; returns (line, offset), or None at the end.
    pub(crate) fn next_line(&mut self) -> std::io::Result<Option<(u64, u64)>> {
        let start = self.offset;
        let Some((line, _)) = self.next_line_ref()? else {
            return Ok(None);
        };
        if self.lent > 0 {
            // The line was lent from the reader's buffer (still unconsumed): copy it.
            let avail = self.r.fill_buf()?;
            self.buf.extend_from_slice(&avail[..self.lent - 1]);
        }
        Ok(Some((line, start)))
    }
}

/// One line read back: where it is and what it holds.
#[derive(Debug)]
pub(crate) struct ReadItem {
    pub line: u64,
    /// Where the line starts (the tests check the reader's offsets through it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub offset: u64,
    pub item: Result<Item, ParseError>,
}

/// Items of a DynamoDB JSON or Ion file, one per line; malformed lines come as errors and
/// reading goes on.
pub(crate) struct ItemReader<R: BufRead> {
    lines: LineReader<R>,
    format: LineFormat,
}

impl ItemReader<Box<dyn BufRead + Send>> {
    pub(crate) fn open(obj: &dyn InputObject, format: LineFormat) -> Result<Self> {
        Ok(ItemReader {
            lines: LineReader::new(open_decompressed(obj)?),
            format,
        })
    }
}

impl<R: BufRead> Iterator for ItemReader<R> {
    type Item = std::io::Result<ReadItem>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.lines.next_line() {
            Ok(None) => None,
            Err(e) => Some(Err(e)),
            Ok(Some((line, offset))) => {
                let text = self
                    .lines
                    .buf
                    .strip_suffix(b"\r")
                    .unwrap_or(&self.lines.buf);
                let item = match self.lines.too_long {
                    Some(len) => Err(ParseError::new(
                        &crate::model::rules::ITEM_TOO_LARGE,
                        too_long_message(line, len, self.lines.max_line),
                    )),
                    None => self.format.parse_line(text),
                };
                Some(Ok(ReadItem { line, offset, item }))
            }
        }
    }
}

/// A line without its end: the `\n` that lines read in blocks keep, then a `\r` before it.
pub fn strip_cr(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
impl<R: BufRead> ItemReader<R> {
    pub(crate) fn new(r: R, format: LineFormat) -> Self {
        ItemReader {
            lines: LineReader::new(r),
            format,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lent and copied lines are the same lines, whatever the buffer size (lines across buffer
    /// boundaries, blank lines, `\r`, no final newline), and the two calls can be mixed.
    #[test]
    fn lent_lines_match_copied_lines() {
        for text in [
            &b"ab\ncd\r\n\n\nlong line here\nlast"[..],
            b"\n",
            b"",
            b"one\n",
            b"x\ny\n",
        ] {
            let mut want = Vec::new();
            let mut r = LineReader::new(text);
            while let Some((line, _)) = r.next_line().unwrap() {
                want.push((line, r.buf.clone()));
            }
            for cap in [1, 2, 3, 5, 64] {
                let mut r = LineReader::new(std::io::BufReader::with_capacity(cap, text));
                let mut got = Vec::new();
                loop {
                    // Alternate the two calls.
                    if got.len() % 2 == 0 {
                        match r.next_line_ref().unwrap() {
                            Some((line, t)) => got.push((line, t.to_vec())),
                            None => break,
                        }
                    } else {
                        match r.next_line().unwrap() {
                            Some((line, _)) => got.push((line, r.buf.clone())),
                            None => break,
                        }
                    }
                }
                assert_eq!(got, want, "capacity {cap}: {text:?}");
            }
        }
    }

    #[test]
    fn reports_bad_lines_and_continues() {
        let text = "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"b\"}}\n\n{\"Item\":{\"pk\":{\"NULL\":false}}}\n{\"Item\":{\"pk\":{\"S\":\"e\"}}}\n";
        let got: Vec<ReadItem> = ItemReader::new(text.as_bytes(), LineFormat::DynamodbJson)
            .map(Result::unwrap)
            .collect();
        assert_eq!(got.len(), 5);
        assert!(got[0].item.is_ok());
        assert_eq!(got[1].item.as_ref().unwrap_err().rule.code, "F001");
        assert_eq!(got[1].line, 2);
        assert_eq!(got[1].offset, 26);
        assert_eq!(got[2].item.as_ref().unwrap_err().rule.code, "F004");
        assert_eq!(got[3].item.as_ref().unwrap_err().rule.code, "A003");
        assert_eq!(got[4].line, 5);
        assert!(got[4].item.is_ok());
    }
}
