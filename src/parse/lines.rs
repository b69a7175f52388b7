//! Streaming line reading for item files (plain, gzip or zstd by magic bytes), with line numbers
//! and byte offsets, and an item reader that reports a bad line and carries on.

use super::{Item, LineFormat, ParseError};
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Open a file and undo gzip/zstd compression, told by the first bytes.
pub fn open_decompressed(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head)?;
    drop(f);
    let f = BufReader::with_capacity(1 << 20, File::open(path)?);
    Ok(if n >= 2 && head[..2] == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(f),
        ))
    } else if n == 4 && head == [0x28, 0xb5, 0x2f, 0xfd] {
        Box::new(BufReader::with_capacity(
            1 << 20,
            zstd::stream::read::Decoder::with_buffer(f)?,
        ))
    } else {
        Box::new(f)
    })
}

/// Lines of a byte stream: 1-based line number, byte offset of the line start (in the
/// uncompressed stream), the line without `\n` (a `\r` before it is kept for the caller).
pub struct LineReader<R: BufRead> {
    r: R,
    line: u64,
    offset: u64,
    pub buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(r: R) -> Self {
        LineReader {
            r,
            line: 0,
            offset: 0,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Read the next line into `self.buf`; returns (line, offset), or None at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, u64)>> {
        self.buf.clear();
        let n = self.r.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        let start = self.offset;
        self.offset += n as u64;
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        Ok(Some((self.line, start)))
    }
}

/// One line read back: where it is and what it holds.
#[derive(Debug)]
pub struct ReadItem {
    pub line: u64,
    pub offset: u64,
    pub item: Result<Item, ParseError>,
}

/// Items of a DynamoDB JSON or Ion file, one per line; malformed lines come as errors and
/// reading goes on.
pub struct ItemReader<R: BufRead> {
    lines: LineReader<R>,
    format: LineFormat,
}

impl ItemReader<Box<dyn BufRead + Send>> {
    pub fn open(path: &Path, format: LineFormat) -> Result<Self> {
        Ok(ItemReader {
            lines: LineReader::new(open_decompressed(path)?),
            format,
        })
    }
}

impl<R: BufRead> ItemReader<R> {
    pub fn new(r: R, format: LineFormat) -> Self {
        ItemReader {
            lines: LineReader::new(r),
            format,
        }
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
                Some(Ok(ReadItem {
                    line,
                    offset,
                    item: self.format.parse_line(text),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
