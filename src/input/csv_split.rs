//! CSV records split 64 bytes at a time: the bytes the grammar cares about (delimiter, quote, CR,
//! LF) are found as one bit mask per window, and a record's cells are ranges of the read buffer
//! (quoted cells with doubled quotes are unescaped in place, which only ever shortens them).
//! The csv crate's parser looks at every byte through a state table, which showed as a large
//! share of a CSV conversion's CPU (BENCHMARKS.md).
//!
//! The grammar is csv_core's with `double_quote` on, no escape byte, no comments and CR, LF or
//! CRLF ending a record: a quote opens a quoted cell only as the cell's first byte (elsewhere it
//! is text); inside one, `""` is a quote, and text after the closing quote is kept as it is, up to
//! the next delimiter or line end; blank lines are skipped; the input ending inside a quoted cell
//! ends the record; a UTF-8 byte order mark at the start is dropped. Unlike the csv crate, a
//! record's line is the line its first byte is on (the crate reports the line after the previous
//! record, before any blank lines and the LF of CRLF).
#![allow(unsafe_code)]

use std::io::{self, Read};

/// Bytes asked of the reader at a time (when the buffer has room for them).
const READ: usize = 256 << 10;
/// Initialised bytes after the buffer's usable part, so a 64-byte window never leaves it.
const PAD: usize = 64;
/// The longest record kept by default (see [`Splitter::with_max_record`]): a longer one is read
/// on to its end without being kept, and returned as [`Record::too_long`]. The usual cause is a
/// quote that is never closed, which turns the rest of the file into one cell. Far above
/// DynamoDB's 400 KB item, so that rows a little too large are still read whole and rejected with
/// their size.
pub const MAX_RECORD: usize = crate::input::parse::lines::DEFAULT_MAX_LINE;
/// A window base no position is within 64 bytes of.
const NO_WINDOW: usize = isize::MAX as usize;

/// The bit mask of the delimiter, quote, CR and LF bytes among the 64 at `p`.
type Classify = unsafe fn(*const u8, u8) -> u64;

/// A cell: a range of [`Splitter::bytes`].
pub type Cell = (usize, usize);

/// A record returned by [`Splitter::next_record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The line the record starts on (1-based).
    pub line: u64,
    /// `Some(bytes)` when the record was longer than the limit: it was skipped as it streamed,
    /// and its cells are empty; `bytes` is its length up to its line end (or the input's end).
    pub too_long: Option<u64>,
}

/// Splits CSV text read from `R` into records.
pub struct Splitter<R> {
    inner: R,
    buf: Vec<u8>,
    /// The first byte not yet part of a returned record.
    start: usize,
    /// The end of the bytes read.
    end: usize,
    eof: bool,
    delim: u8,
    /// The line `start` is on (1-based).
    line: u64,
    classify: Classify,
    /// The window whose mask is cached: bytes `base..base + 64`.
    base: usize,
    mask: u64,
    /// Cells of the record being parsed that need unescaping: (cell index, raw range).
    quoted: Vec<(usize, usize, usize)>,
    /// Whether a UTF-8 byte order mark at the start of the input has been looked for.
    bom_checked: bool,
    /// The longest record kept ([`MAX_RECORD`] unless set).
    max_record: usize,
}

/// Where the byte-at-a-time walk over a record too long to keep is (csv_core's states for the
/// same grammar).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Skip {
    CellStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: `""` or the closing quote.
    QuoteSeen,
}

enum Parsed {
    /// A record; the next one starts at `next`, `lines` line ends later.
    Record { next: usize, lines: u64 },
    /// Nothing but line ends up to the end of the input.
    End,
    /// The record goes on past the bytes read.
    More,
}

impl<R: Read> Splitter<R> {
    /// `delim` must not be a quote, CR or LF (see [`check_delimiter`]).
    pub fn new(inner: R, delim: u8) -> Self {
        debug_assert!(check_delimiter(delim).is_ok());
        Splitter {
            inner,
            buf: vec![0; READ + PAD],
            start: 0,
            end: 0,
            eof: false,
            delim,
            line: 1,
            classify: classifier(),
            base: NO_WINDOW,
            mask: 0,
            quoted: Vec::new(),
            bom_checked: false,
            max_record: MAX_RECORD,
        }
    }

    /// Records longer than `max` bytes are skipped as they stream.
    pub fn with_max_record(mut self, max: usize) -> Self {
        self.max_record = max;
        self
    }

    /// The line the next record starts on, or a blank line before it.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The bytes the cells of the last record index.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The next record's cells into `cells` (ranges of [`Self::bytes`], valid until the next
    /// call), and the line it starts on; `None` at the end of the input. A record longer than
    /// the limit comes back with no cells and [`Record::too_long`] set.
    pub fn next_record(&mut self, cells: &mut Vec<Cell>) -> io::Result<Option<Record>> {
        if !self.bom_checked {
            while self.end < 3 && !self.eof {
                self.fill()?;
            }
            if self.buf[..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.start = 3;
            }
            self.bom_checked = true;
        }
        loop {
            cells.clear();
            self.quoted.clear();
            match self.parse(cells) {
                Parsed::Record { next, lines } => {
                    let line = self.line;
                    for &(i, s, e) in &self.quoted {
                        cells[i] = (s, unescape(&mut self.buf, s, e));
                    }
                    self.start = next;
                    self.line += lines;
                    return Ok(Some(Record {
                        line,
                        too_long: None,
                    }));
                }
                Parsed::End => return Ok(None),
                Parsed::More => {
                    if !self.fill()? {
                        cells.clear();
                        let line = self.line;
                        let len = self.skip_record()?;
                        return Ok(Some(Record {
                            line,
                            too_long: Some(len),
                        }));
                    }
                }
            }
        }
    }

    /// Reads on past the record at `start` (which fills the buffer up to the limit) to its end,
    /// without keeping it: the bytes after it are left at `start`. Returns the record's length.
    fn skip_record(&mut self) -> io::Result<u64> {
        let mut state = Skip::CellStart;
        let mut len = 0u64;
        loop {
            let mut k = self.start;
            let mut stop = None;
            while k < self.end {
                let b = self.buf[k];
                state = match state {
                    Skip::Quoted => match b {
                        b'"' => Skip::QuoteSeen,
                        b'\n' => {
                            self.line += 1;
                            Skip::Quoted
                        }
                        _ => Skip::Quoted,
                    },
                    Skip::QuoteSeen if b == b'"' => Skip::Quoted,
                    Skip::CellStart if b == b'"' => Skip::Quoted,
                    _ if b == self.delim => Skip::CellStart,
                    _ if b == b'\r' || b == b'\n' => {
                        stop = Some(k);
                        break;
                    }
                    _ => Skip::Unquoted,
                };
                k += 1;
            }
            if let Some(k) = stop {
                len += (k - self.start) as u64;
                self.start = k;
                self.base = NO_WINDOW;
                return Ok(len);
            }
            len += (self.end - self.start) as u64;
            self.start = self.end;
            if self.eof {
                return Ok(len);
            }
            // Nothing before `end` is kept: read into the whole buffer again.
            self.start = 0;
            self.end = 0;
            self.base = NO_WINDOW;
            // Capped as in `fill`: the records after this one must not be found whole past the
            // limit without `fill` seeing them.
            self.read_more(self.max_record + 1)?;
        }
    }

    /// Move the unparsed bytes to the front and read more after them; `false` (nothing read)
    /// when the record at `start` is already longer than the limit.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.base = NO_WINDOW;
        if self.end > self.max_record {
            return Ok(false);
        }
        if self.buf.len() - PAD - self.end < READ / 2 {
            // One record fills most of the buffer: twice the room, up to just past the limit.
            let room = (2 * (self.buf.len() - PAD)).min(self.max_record + READ);
            self.buf.resize(room.max(self.buf.len() - PAD) + PAD, 0);
        }
        // No more than one byte past the limit, so that a record is kept exactly when it is no
        // longer than the limit (the byte after it, its line end, is read with it).
        self.read_more(self.max_record + 1)?;
        Ok(true)
    }

    /// Read after `end`, into the buffer's room up to `limit` bytes (`end < limit`).
    fn read_more(&mut self, limit: usize) -> io::Result<()> {
        let room = (self.buf.len() - PAD).min(limit);
        loop {
            match self.inner.read(&mut self.buf[self.end..room]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            return Ok(());
        }
    }

    /// The first delimiter, quote, CR or LF at or after `from`, or `end`.
    #[inline]
    fn find(&mut self, mut from: usize) -> usize {
        loop {
            if from >= self.end {
                return self.end;
            }
            let mut off = from.wrapping_sub(self.base);
            if off >= 64 {
                // SAFETY: `from < end <= buf.len() - PAD`, so the 64 bytes at `from` are inside
                // the buffer; `classify` was chosen for this CPU by `classifier`.
                self.mask = unsafe { (self.classify)(self.buf.as_ptr().add(from), self.delim) };
                self.base = from;
                off = 0;
            }
            let m = self.mask >> off;
            if m != 0 {
                return (from + m.trailing_zeros() as usize).min(self.end);
            }
            from = self.base + 64;
        }
    }

    /// The first delimiter, CR or LF at or after `from` (quotes inside a cell are text).
    #[inline]
    fn find_unquoted(&mut self, mut from: usize) -> usize {
        loop {
            let k = self.find(from);
            if k < self.end && self.buf[k] == b'"' {
                from = k + 1;
            } else {
                return k;
            }
        }
    }

    /// One record from `start`, without changing the bytes (a record cut by the end of the
    /// buffer is parsed again after [`Self::fill`]).
    fn parse(&mut self, cells: &mut Vec<Cell>) -> Parsed {
        let end = self.end;
        let mut p = self.start;
        // Blank lines, and the line end of the record before.
        loop {
            if p == end {
                self.start = p;
                return if self.eof { Parsed::End } else { Parsed::More };
            }
            match self.buf[p] {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            p += 1;
        }
        self.start = p;
        let mut lines = 0;
        loop {
            if p < end && self.buf[p] == b'"' {
                let mut q = p + 1;
                let mut escaped = false;
                loop {
                    let k = self.find(q);
                    if k == end {
                        if !self.eof {
                            return Parsed::More;
                        }
                        // The input ends inside the quotes.
                        self.quoted.push((cells.len(), p, end));
                        cells.push((p, end));
                        return Parsed::Record { next: end, lines };
                    }
                    match self.buf[k] {
                        b'"' => {
                            let after = if k + 1 < end {
                                self.buf[k + 1]
                            } else if self.eof {
                                b'\n'
                            } else {
                                return Parsed::More;
                            };
                            if after == b'"' {
                                escaped = true;
                                q = k + 2;
                                continue;
                            }
                            let stop = if after == self.delim || after == b'\r' || after == b'\n' {
                                // The cell is what the quotes hold.
                                if escaped {
                                    self.quoted.push((cells.len(), p, k + 1));
                                }
                                cells.push((p + 1, k));
                                (k + 1).min(end)
                            } else {
                                // Text after the closing quote belongs to the cell.
                                let t = self.find_unquoted(k + 1);
                                if t == end && !self.eof {
                                    return Parsed::More;
                                }
                                self.quoted.push((cells.len(), p, t));
                                cells.push((p, t));
                                t
                            };
                            if stop < end && self.buf[stop] == self.delim {
                                p = stop + 1;
                                break;
                            }
                            return Parsed::Record { next: stop, lines };
                        }
                        b'\n' => {
                            lines += 1;
                            q = k + 1;
                        }
                        _ => q = k + 1,
                    }
                }
            } else {
                let k = self.find_unquoted(p);
                if k == end && !self.eof {
                    return Parsed::More;
                }
                cells.push((p, k));
                if k < end && self.buf[k] == self.delim {
                    p = k + 1;
                } else {
                    return Parsed::Record { next: k, lines };
                }
            }
        }
    }
}

/// Delimiters the grammar allows: any byte but the quote and the line ends.
pub fn check_delimiter(delim: u8) -> Result<(), String> {
    match delim {
        b'"' | b'\r' | b'\n' => Err(format!(
            "{:?} cannot be the CSV delimiter (it is the quote or a line end)",
            delim as char
        )),
        _ => Ok(()),
    }
}

/// The quoted cell `buf[s..e]` (from its opening quote) unescaped in place from `s`: `""` is a
/// quote, the closing quote ends the quoted part and what follows it is text. Its new end.
fn unescape(buf: &mut [u8], s: usize, e: usize) -> usize {
    let (mut r, mut w) = (s + 1, s);
    while let Some(off) = memchr::memchr(b'"', &buf[r..e]) {
        let k = r + off;
        buf.copy_within(r..k, w);
        w += k - r;
        if k + 1 < e && buf[k + 1] == b'"' {
            buf[w] = b'"';
            w += 1;
            r = k + 2;
        } else {
            // The closing quote: the rest is text, quotes included.
            r = k + 1;
            buf.copy_within(r..e, w);
            return w + (e - r);
        }
    }
    buf.copy_within(r..e, w);
    w + (e - r)
}

fn classifier() -> Classify {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            return x86::avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return x86::avx2;
        }
    }
    portable
}

/// # Safety
/// The 64 bytes at `p` are readable.
unsafe fn portable(p: *const u8, delim: u8) -> u64 {
    // SAFETY: the caller's.
    let w = unsafe { std::slice::from_raw_parts(p, 64) };
    w.iter().enumerate().fold(0, |m, (i, &c)| {
        let hit = c == delim || c == b'"' || c == b'\r' || c == b'\n';
        m | (hit as u64) << i
    })
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512BW is present and the 64 bytes at `p` are readable.
    #[target_feature(enable = "avx512bw")]
    pub unsafe fn avx512(p: *const u8, delim: u8) -> u64 {
        // SAFETY: the caller's; the load is unaligned.
        let v = unsafe { _mm512_loadu_si512(p.cast()) };
        let eq = |b: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8));
        eq(delim) | eq(b'"') | eq(b'\r') | eq(b'\n')
    }

    /// # Safety
    /// AVX2 is present and the 64 bytes at `p` are readable.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2(p: *const u8, delim: u8) -> u64 {
        let half = |p: *const u8| {
            // SAFETY: the caller's; the load is unaligned.
            let v = unsafe { _mm256_loadu_si256(p.cast()) };
            let eq = |b: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8));
            let hits = _mm256_or_si256(
                _mm256_or_si256(eq(delim), eq(b'"')),
                _mm256_or_si256(eq(b'\r'), eq(b'\n')),
            );
            _mm256_movemask_epi8(hits) as u32 as u64
        };
        // SAFETY: both halves are inside the caller's 64 bytes.
        half(p) | half(unsafe { p.add(32) }) << 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `n` bytes per read, to cut records at every place.
    struct Dribble<'a>(&'a [u8], usize);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn split(text: &[u8], delim: u8, block: usize, classify: Classify) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut s = Splitter::new(Dribble(text, block), delim);
        s.classify = classify;
        let mut cells = Vec::new();
        let mut out = Vec::new();
        while let Some(r) = s.next_record(&mut cells).unwrap() {
            let b = s.bytes();
            out.push((
                r.line,
                cells.iter().map(|&(a, z)| b[a..z].to_vec()).collect(),
            ));
        }
        out
    }

    /// The csv crate's records for the same text.
    fn reference(text: &[u8], delim: u8) -> Vec<Vec<Vec<u8>>> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delim)
            .from_reader(text);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while r.read_byte_record(&mut rec).unwrap() {
            out.push(rec.iter().map(|f| f.to_vec()).collect());
        }
        out
    }

    fn classifiers() -> Vec<Classify> {
        let mut all: Vec<Classify> = vec![portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(x86::avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512bw") {
                all.push(x86::avx512);
            }
        }
        all
    }

    fn check(text: &[u8], delim: u8) {
        let want = reference(text, delim);
        for classify in classifiers() {
            for block in [1, 2, 3, 7, 64, 1000, READ] {
                let got = split(text, delim, block, classify);
                let cells: Vec<_> = got.iter().map(|(_, c)| c.clone()).collect();
                assert_eq!(
                    cells,
                    want,
                    "block {block}: {:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn same_records_as_the_csv_crate() {
        for text in [
            &b""[..],
            b"\n\r\n\r",
            b"a",
            b"a,b\nc,d\n",
            b"a,b\r\nc,d\r\n",
            b"a,b\rc,d\r\re",
            b"a,\n,b\n,\n",
            b"\"x\ny\",b\nc\n",
            b"a\"b,\"c\"d\"e\",\"f\"\"g\"\n\"h",
            b"\"\",\"\"\"\",\"\"\"\"\"\"\n",
            b"\"a,b\r\nc\",\"d\"\r\n\"e\"",
            b"\"unterminated,\nline",
            b"\"closed\"",
            b"\"closed\"x",
            b"x\"",
            b"\"a\"\"",
            b"\xef\xbb\xbfh1,h2\n1,2",
        ] {
            check(text, b',');
        }
        check(b"a\tb\t\"c\td\"\n\t\n", b'\t');
        check(b"a;b,c;\"d;\"\";e\"", b';');
    }

    /// Random text over the grammar's bytes, long enough to cross windows and reads.
    #[test]
    fn same_records_as_the_csv_crate_on_random_text() {
        let alphabet = b"ab,\"\"\r\n\n \xc3\xa9";
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15);
        for len in [10, 63, 64, 65, 200, 3000] {
            for _ in 0..60 {
                let text: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                check(&text, b',');
            }
        }
    }

    #[test]
    fn lines_are_where_records_start() {
        let text = b"a\n\n\"b\nc\"\r\n\r\nd,\"\n\"\ne";
        let got = split(text, b',', 3, classifier());
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 3, 6, 8]);
    }

    /// A record longer than the buffer grows it.
    #[test]
    fn long_records() {
        let cell = "x".repeat(3 * READ);
        let text = format!("{cell},\"{cell}\"\"\"\nb\n");
        let got = split(text.as_bytes(), b',', READ, classifier());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1[0].len(), 3 * READ);
        assert_eq!(got[0].1[1], format!("{cell}\"").into_bytes());
        assert_eq!(got[1], (2, vec![b"b".to_vec()]));
    }

    /// A quote that is never closed makes the rest of the input one record: past the limit it
    /// is skipped as it streams (the buffer stays near the limit), and comes back as one record
    /// marked too long, with the line it starts on and its length; the records after it read
    /// as they are, on their own lines.
    #[test]
    fn records_past_the_limit_are_skipped() {
        let body = "x,\n".repeat(1 << 20);
        let text = format!("a,b\nc,\"{body}\"\r\nd,\"e\"\"\"\n\nf");
        for block in [64 << 10, READ] {
            let mut s =
                Splitter::new(Dribble(text.as_bytes(), block), b',').with_max_record(1 << 20);
            let mut cells = Vec::new();
            let mut got = Vec::new();
            while let Some(r) = s.next_record(&mut cells).unwrap() {
                let b = s.bytes();
                got.push((
                    r,
                    cells
                        .iter()
                        .map(|&(a, z)| b[a..z].to_vec())
                        .collect::<Vec<_>>(),
                ));
            }
            let rec = |line, too_long| Record { line, too_long };
            assert_eq!(
                got,
                [
                    (rec(1, None), vec![b"a".to_vec(), b"b".to_vec()]),
                    (rec(2, Some(body.len() as u64 + 4)), vec![]),
                    (
                        rec(3 + (1 << 20), None),
                        vec![b"d".to_vec(), b"e\"".to_vec()]
                    ),
                    (rec(5 + (1 << 20), None), vec![b"f".to_vec()]),
                ],
                "block {block}"
            );
            assert!(s.buf.len() <= (1 << 20) + READ + PAD, "{}", s.buf.len());
        }
        // Cut by the end of the input inside its quotes.
        let text = format!("c,\"{body}");
        let mut s = Splitter::new(text.as_bytes(), b',').with_max_record(1000);
        let mut cells = Vec::new();
        let r = s.next_record(&mut cells).unwrap().unwrap();
        assert_eq!(
            r,
            Record {
                line: 1,
                too_long: Some(text.len() as u64)
            }
        );
        assert!(cells.is_empty());
        assert_eq!(s.next_record(&mut cells).unwrap(), None);
    }

    #[test]
    fn delimiters_that_cannot_be() {
        for d in [b'"', b'\r', b'\n'] {
            assert!(check_delimiter(d).is_err());
        }
        assert!(check_delimiter(b'\t').is_ok());
    }
}
