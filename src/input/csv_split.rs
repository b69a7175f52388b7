//! CSV records from a byte stream, by csv-core's state machine (the parser under the csv crate):
//! each record's cells unescaped into one buffer, the line each record starts on, and records
//! past a length limit skipped as they stream rather than held.
//!
//! A hand-written splitter (64 bytes at a time with AVX2 / AVX-512 masks) was 1.46 times as fast
//! as the csv crate at splitting alone, but that was under a tenth of a CSV conversion end to
//! end, below the bar for keeping hand-written code (BENCHMARKS.md, "CSV splitter"); so the crate
//! does the parsing, and this module only adds what prep needs around it.
//!
//! The grammar is csv-core's with `double_quote` on, no escape byte, no comments and CR, LF or
//! CRLF ending a record: a quote opens a quoted cell only as the cell's first byte (elsewhere it
//! is text); inside one, `""` is a quote, and text after the closing quote is kept as it is, up to
//! the next delimiter or line end; blank lines are skipped; the input ending inside a quoted cell
//! ends the record; a UTF-8 byte order mark at the very start is dropped. Unlike the csv crate, a
//! record's line is the line its first byte is on (the crate reports the line after the previous
//! record, before any blank lines and the LF of CRLF).

use csv_core::{ReadRecordResult, ReaderBuilder, Terminator};
use std::io::{self, Read};

/// Bytes asked of the reader at a time.
const READ: usize = 256 << 10;
/// The longest record kept by default (see [`Splitter::with_max_record`]): a longer one is read
/// on to its end without being kept, and returned as [`Record::too_long`]. The usual cause is a
/// quote that is never closed, which turns the rest of the file into one cell. Far above
/// DynamoDB's 400 KB item, so that rows a little too large are still read whole and rejected with
/// their size.
pub(crate) const MAX_RECORD: usize = crate::input::parse::lines::DEFAULT_MAX_LINE;

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
    /// The first quoting problem in it, when the splitter lints ([`Splitter::linting`]).
    pub quote: Option<QuoteProblem>,
}

/// Quoting that RFC 4180 (and DynamoDB's CSV import) refuses, which csv-core reads past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteProblem {
    /// A quote inside a value that does not start with one (field numbers from 1).
    QuoteInUnquoted { field: usize },
    /// Text between a closing quote and the next delimiter or line end.
    TextAfterQuote { field: usize },
    /// The input ends inside a quoted value.
    NeverClosed,
}

impl std::fmt::Display for QuoteProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            QuoteProblem::QuoteInUnquoted { field } => write!(
                f,
                "field {field} has a quote inside an unquoted value; quote the field and double the quote"
            ),
            QuoteProblem::TextAfterQuote { field } => {
                write!(f, "field {field} has text after its closing quote")
            }
            QuoteProblem::NeverClosed => f.write_str("a quoted field is never closed"),
        }
    }
}

/// Where the quoting check is in a record (RFC 4180's states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted value: `""` or the closing quote.
    AfterQuote,
}

/// The quoting check of [`Splitter::linting`]: a walk over each record's bytes beside the
/// parser, and the record's first bytes for excerpts.
struct Lint {
    delim: u8,
    state: Quoting,
    /// The field being read, from 1.
    field: usize,
    problem: Option<QuoteProblem>,
    raw: Vec<u8>,
    raw_kept: usize,
}

impl Lint {
    fn start(&mut self) {
        self.state = Quoting::FieldStart;
        self.field = 1;
        self.problem = None;
        self.raw.clear();
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &c in bytes {
            let quoted = self.state == Quoting::Quoted;
            if (quoted || (c != b'\r' && c != b'\n')) && self.raw.len() < self.raw_kept {
                self.raw.push(c);
            }
            self.state = match (self.state, c) {
                (Quoting::Quoted, b'"') => Quoting::AfterQuote,
                (Quoting::Quoted, _) => Quoting::Quoted,
                (Quoting::AfterQuote, b'"') => Quoting::Quoted,
                (_, b'\r' | b'\n') => Quoting::FieldStart,
                (_, c) if c == self.delim => {
                    self.field += 1;
                    Quoting::FieldStart
                }
                (Quoting::FieldStart, b'"') => Quoting::Quoted,
                (Quoting::FieldStart, _) => Quoting::Unquoted,
                (Quoting::Unquoted, c) => {
                    if c == b'"' {
                        self.found(QuoteProblem::QuoteInUnquoted { field: self.field });
                    }
                    Quoting::Unquoted
                }
                (Quoting::AfterQuote, _) => {
                    self.found(QuoteProblem::TextAfterQuote { field: self.field });
                    Quoting::Unquoted
                }
            };
        }
    }

    fn found(&mut self, p: QuoteProblem) {
        self.problem.get_or_insert(p);
    }

    /// The record's problem, once it has ended (at a line end or the input's end).
    fn finish(&mut self) -> Option<QuoteProblem> {
        if self.state == Quoting::Quoted {
            self.found(QuoteProblem::NeverClosed);
        }
        self.problem
    }
}

/// Splits CSV text read from `R` into records.
pub struct Splitter<R> {
    inner: R,
    delim: u8,
    core: csv_core::Reader,
    /// Input read and not yet handed to the parser: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// No byte has been handed to the parser yet (it drops a byte order mark only then).
    first: bool,
    /// The current record's cells, unescaped, and where each ends.
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// The longest record kept ([`MAX_RECORD`] unless set).
    max_record: usize,
    /// The quoting check, when asked for.
    lint: Option<Lint>,
}

impl<R: Read> Splitter<R> {
    /// `delim` must not be a quote, CR or LF (see [`check_delimiter`]).
    pub fn new(inner: R, delim: u8) -> Self {
        debug_assert!(check_delimiter(delim).is_ok());
        Splitter {
            inner,
            delim,
            core: ReaderBuilder::new()
                .delimiter(delim)
                .quote(b'"')
                .double_quote(true)
                .terminator(Terminator::CRLF)
                .build(),
            buf: vec![0; READ],
            start: 0,
            end: 0,
            eof: false,
            first: true,
            out: vec![0; 4096],
            out_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            max_record: MAX_RECORD,
            lint: None,
        }
    }

    /// Also check each record's quoting as RFC 4180 wants it ([`Record::quote`]) and keep its
    /// first `raw_kept` bytes ([`Self::raw`]): for validating CSV meant for DynamoDB's own CSV
    /// import, which is stricter than the reading.
    pub fn linting(mut self, raw_kept: usize) -> Self {
        self.lint = Some(Lint {
            delim: self.delim,
            state: Quoting::FieldStart,
            field: 1,
            problem: None,
            raw: Vec::new(),
            raw_kept,
        });
        self
    }

    /// The first bytes of the last record (line ends outside quotes left out), when linting.
    pub fn raw(&self) -> &[u8] {
        self.lint.as_ref().map_or(&[], |l| &l.raw[..])
    }

    /// Records longer than `max` bytes are skipped as they stream.
    pub fn with_max_record(mut self, max: usize) -> Self {
        self.max_record = max;
        self
    }

    /// The line the next record starts on, or a blank line before it.
    pub fn line(&self) -> u64 {
        self.core.line()
    }

    /// The bytes the cells of the last record index.
    pub fn bytes(&self) -> &[u8] {
        &self.out[..self.out_len]
    }

    /// Read more input once the parser has taken all of it.
    fn fill(&mut self) -> io::Result<()> {
        self.start = 0;
        self.end = 0;
        // The parser drops a byte order mark only when its first input holds all three bytes,
        // and takes an input that is empty once the mark is dropped for the end of the data.
        while !self.eof && (self.end == 0 || (self.first && self.end < 4)) {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next record's cells into `cells` (ranges of [`Self::bytes`], valid until the next
    /// call), and the line it starts on; `None` at the end of the input. A record longer than
    /// the limit comes back with no cells and [`Record::too_long`] set.
    pub fn next_record(&mut self, cells: &mut Vec<Cell>) -> io::Result<Option<Record>> {
        cells.clear();
        self.out_len = 0;
        self.ends_len = 0;
        // Set once the record's first byte (past blank lines) has gone to the parser.
        let mut line = None;
        // The record's bytes handed to the parser so far, from its first byte.
        let mut len = 0u64;
        let mut skipping = false;
        if let Some(l) = &mut self.lint {
            l.start();
        }
        loop {
            if self.start == self.end && !self.eof {
                self.fill()?;
            }
            let input = &self.buf[self.start..self.end];
            // The parser counts line ends; the line of the next byte it reads.
            let line_before = self.core.line();
            let (res, nin, nout, nend) = self.core.read_record(
                input,
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            let mut taken = &input[..nin];
            if std::mem::take(&mut self.first) && taken.starts_with(b"\xEF\xBB\xBF") {
                // The byte order mark the parser dropped.
                taken = &taken[3..];
            }
            if line.is_none() {
                // Blank lines before the record are not part of it.
                let blank = taken
                    .iter()
                    .position(|&b| b != b'\r' && b != b'\n')
                    .unwrap_or(taken.len());
                if blank < taken.len() {
                    let ends = taken[..blank].iter().filter(|&&b| b == b'\n').count();
                    line = Some(line_before + ends as u64);
                }
                taken = &taken[blank..];
            }
            len += taken.len() as u64;
            if let Some(l) = &mut self.lint {
                l.feed(taken);
            }
            self.start += nin;
            self.out_len += nout;
            self.ends_len += nend;
            match res {
                ReadRecordResult::Record => {
                    let line = line.unwrap_or(line_before);
                    let quote = self.lint.as_mut().and_then(Lint::finish);
                    // The line end that closed the record is not part of it.
                    if nin > 0 && matches!(taken.last(), Some(b'\r' | b'\n')) {
                        len -= 1;
                    }
                    if skipping || len > self.max_record as u64 {
                        self.out_len = 0;
                        self.ends_len = 0;
                        return Ok(Some(Record {
                            line,
                            too_long: Some(len),
                            quote,
                        }));
                    }
                    let mut from = 0;
                    for &e in &self.ends[..self.ends_len] {
                        cells.push((from, e));
                        from = e;
                    }
                    return Ok(Some(Record {
                        line,
                        too_long: None,
                        quote,
                    }));
                }
                ReadRecordResult::End => return Ok(None),
                ReadRecordResult::InputEmpty => {
                    if self.start == self.end && self.eof {
                        // The parser has had everything: an empty input tells it so.
                        continue;
                    }
                }
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {}
            }
            if !skipping && len > self.max_record as u64 {
                // Past the limit: the rest of the record is parsed but not kept.
                skipping = true;
            }
            if skipping {
                self.out_len = 0;
                self.ends_len = 0;
            } else if res == ReadRecordResult::OutputFull {
                let n = self.out.len() * 2;
                self.out.resize(n, 0);
            } else if res == ReadRecordResult::OutputEndsFull {
                let n = self.ends.len() * 2;
                self.ends.resize(n, 0);
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

    fn split(text: &[u8], delim: u8, block: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut s = Splitter::new(Dribble(text, block), delim);
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

    fn check(text: &[u8], delim: u8) {
        let want = reference(text, delim);
        for block in [1, 2, 3, 7, 64, 1000, READ] {
            let got = split(text, delim, block);
            let cells: Vec<_> = got.iter().map(|(_, c)| c.clone()).collect();
            assert_eq!(
                cells,
                want,
                "block {block}: {:?}",
                String::from_utf8_lossy(text)
            );
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
        let got = split(text, b',', 3);
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 3, 6, 8]);
    }

    /// A record longer than a read is gathered whole.
    #[test]
    fn long_records() {
        let cell = "x".repeat(3 * READ);
        let text = format!("{cell},\"{cell}\"\"\"\nb\n");
        let got = split(text.as_bytes(), b',', READ);
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
            let rec = |line, too_long| Record {
                line,
                too_long,
                quote: None,
            };
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
            assert!(s.out.len() <= 2 * ((1 << 20) + READ), "{}", s.out.len());
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
                too_long: Some(text.len() as u64),
                quote: None,
            }
        );
        assert!(cells.is_empty());
        assert_eq!(s.next_record(&mut cells).unwrap(), None);
    }

    /// Linting finds the first quoting problem of each record, whatever the read sizes, and
    /// keeps the record's first bytes; the records are the same as without it.
    #[test]
    fn linting_reports_quoting_problems() {
        let text = b"a,b\nx\"y,\"ok\"\n\"q\"z,1\n\"multi\nline\",2\r\n3,\"open";
        for block in [1, 2, 5, 64] {
            let mut s = Splitter::new(Dribble(text, block), b',').linting(6);
            let mut cells = Vec::new();
            let mut got = Vec::new();
            while let Some(r) = s.next_record(&mut cells).unwrap() {
                got.push((r.line, r.quote, s.raw().to_vec(), cells.len()));
            }
            assert_eq!(
                got,
                [
                    (1, None, b"a,b".to_vec(), 2),
                    (
                        2,
                        Some(QuoteProblem::QuoteInUnquoted { field: 1 }),
                        b"x\"y,\"o".to_vec(),
                        2
                    ),
                    (
                        3,
                        Some(QuoteProblem::TextAfterQuote { field: 1 }),
                        b"\"q\"z,1".to_vec(),
                        2
                    ),
                    (4, None, b"\"multi".to_vec(), 2),
                    (6, Some(QuoteProblem::NeverClosed), b"3,\"ope".to_vec(), 2),
                ],
                "block {block}"
            );
        }
        assert_eq!(
            QuoteProblem::TextAfterQuote { field: 2 }.to_string(),
            "field 2 has text after its closing quote"
        );
    }

    #[test]
    fn delimiters_that_cannot_be() {
        for d in [b'"', b'\r', b'\n'] {
            assert!(check_delimiter(d).is_err());
        }
        assert!(check_delimiter(b'\t').is_ok());
    }
}
