//! A plain JSON input that is one top-level array of documents (`[{…},{…}]`, an API dump or a
//! `mongoexport --jsonArray` file): its elements are cut out of the stream one at a time and go
//! on as rows of the same one-column batches as JSON Lines, numbered by the line each starts
//! on. The array is never held whole; an element past the line limit is skipped as it streams.

use super::{Batch, ReadOptions, Source, Unit};
use crate::input::item_files::send_rows;
use crate::input::parse::lines::{open_decompressed, LONG_LINE_KEPT};
use anyhow::{bail, Context, Result};
use std::io::BufRead;
use std::sync::mpsc::SyncSender;

/// One element of the array: the line it starts on, its bytes (the first [`LONG_LINE_KEPT`]
/// of them when it is too long), and its whole length when that is past the limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Element {
    pub line: u64,
    pub bytes: Vec<u8>,
    pub too_long: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before the opening `[`.
    Start,
    /// After `[` or a `,`: an element (or, right after `[`, the closing `]`) comes next.
    Before { first: bool },
    /// After an element: `,` or `]`.
    After,
    /// After the closing `]`: only white space.
    End,
}

/// Cuts the elements of a top-level JSON array out of a byte stream. Element boundaries are
/// found by counting brackets outside strings; whether each element is valid JSON is for the
/// document reader to say (its row is rejected with its line, and the rest goes on).
pub(crate) struct Splitter {
    phase: Phase,
    /// Lines passed so far (1-based number of the current line).
    line: u64,
    max: usize,
    /// Bytes of a byte order mark read.
    bom: usize,
    /// Nothing read yet.
    at_start: bool,
}

impl Splitter {
    pub(crate) fn new(max_element: usize) -> Self {
        Splitter {
            phase: Phase::Start,
            line: 1,
            max: max_element,
            bom: 0,
            at_start: true,
        }
    }

    /// The next element, or `None` after the closing `]` and the end of the stream. A stream
    /// that is no array, or ends inside one, is an error naming the line.
    pub(crate) fn next(&mut self, r: &mut dyn BufRead) -> Result<Option<Element>> {
        loop {
            let buf = r.fill_buf()?;
            if !buf.is_empty() {
                self.at_start = false;
            }
            if buf.is_empty() {
                return match self.phase {
                    Phase::End => Ok(None),
                    Phase::Start if self.at_start => Ok(None),
                    _ => bail!(
                        "line {}: the file ends inside its top-level array (no closing ]); the file is cut short",
                        self.line
                    ),
                };
            }
            let mut used = 0;
            while used < buf.len() {
                let c = buf[used];
                // A byte order mark before the array, however the reads cut it.
                if self.phase == Phase::Start && self.bom < 3 && c == b"\xEF\xBB\xBF"[self.bom] {
                    self.bom += 1;
                    used += 1;
                    continue;
                }
                match (self.phase, c) {
                    (_, b'\n') => {
                        self.line += 1;
                        used += 1;
                    }
                    (_, b' ' | b'\t' | b'\r') => used += 1,
                    (Phase::Start, b'[') => {
                        self.phase = Phase::Before { first: true };
                        used += 1;
                    }
                    (Phase::Before { first: true } | Phase::After, b']') => {
                        self.phase = Phase::End;
                        used += 1;
                    }
                    (Phase::After, b',') => {
                        self.phase = Phase::Before { first: false };
                        used += 1;
                    }
                    (Phase::Before { .. }, b',' | b']') => bail!(
                        "line {}: the top-level array has an empty element (\"{}\" where a document belongs)",
                        self.line,
                        c as char
                    ),
                    (Phase::Before { .. }, _) => {
                        r.consume(used);
                        let e = self.element(r)?;
                        self.phase = Phase::After;
                        return Ok(Some(e));
                    }
                    (Phase::Start, _) => bail!(
                        "line {}: a JSON array input starts with [, not {:?}",
                        self.line,
                        c as char
                    ),
                    (Phase::After, _) => bail!(
                        "line {}: {:?} after a document of the top-level array, where , or ] belongs",
                        self.line,
                        c as char
                    ),
                    (Phase::End, _) => bail!(
                        "line {}: {:?} after the top-level array's closing ]; a JSON array input holds one array",
                        self.line,
                        c as char
                    ),
                }
            }
            r.consume(used);
        }
    }

    /// Read one element from its first byte up to the `,` or `]` that ends it (left unread).
    fn element(&mut self, r: &mut dyn BufRead) -> Result<Element> {
        let line = self.line;
        let mut bytes = Vec::new();
        let mut len = 0u64;
        let mut depth = 0u64;
        let (mut in_string, mut escaped) = (false, false);
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                if depth == 0 && !in_string {
                    bail!(
                        "line {}: the file ends inside its top-level array (no closing ]); the file is cut short",
                        self.line
                    );
                }
                bail!(
                    "line {}: the file ends inside the document that starts on line {line}; the file is cut short",
                    self.line
                );
            }
            let mut end = None;
            for (k, &c) in buf.iter().enumerate() {
                if c == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match c {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => {
                        end = Some(k);
                        break;
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(buf.len());
            len += take as u64;
            if len as usize <= self.max {
                bytes.extend_from_slice(&buf[..take]);
            } else if bytes.len() < LONG_LINE_KEPT {
                let room = LONG_LINE_KEPT - bytes.len().min(LONG_LINE_KEPT);
                bytes.extend_from_slice(&buf[..take.min(room)]);
                bytes.truncate(LONG_LINE_KEPT);
            } else {
                bytes.truncate(LONG_LINE_KEPT);
            }
            r.consume(take);
            if end.is_some() {
                break;
            }
        }
        // White space between the element and its `,` is not part of it (line breaks there were
        // counted already).
        let too_long = (len as usize > self.max).then_some(len);
        if too_long.is_none() {
            while bytes.last().is_some_and(|c| c.is_ascii_whitespace()) {
                bytes.pop();
            }
        }
        Ok(Element {
            line,
            bytes,
            too_long,
        })
    }
}

pub(crate) fn read(
    src: &Source,
    unit: &Unit,
    opts: &ReadOptions,
    tx: &SyncSender<Result<Batch>>,
) -> Result<()> {
    let mut r = open_decompressed(&*src.object)?;
    let mut split = Splitter::new(opts.max_line);
    send_rows(src, unit, opts, tx, |rows| {
        match split
            .next(&mut r)
            .with_context(|| format!("cannot read {}", src.display()))?
        {
            None => Ok(false),
            Some(e) => {
                rows.push(e.line, &e.bytes);
                if let Some(len) = e.too_long {
                    rows.too_long(e.line, len, opts);
                }
                Ok(true)
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, max: usize, chunk: usize) -> Result<Vec<(u64, String, Option<u64>)>> {
        // A reader that hands out `chunk` bytes at a time, so elements cross buffer edges.
        let r = std::io::BufReader::with_capacity(chunk, text.as_bytes());
        let mut r: Box<dyn BufRead> = Box::new(r);
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        while let Some(e) = s.next(&mut *r)? {
            out.push((
                e.line,
                String::from_utf8_lossy(&e.bytes).into_owned(),
                e.too_long,
            ));
        }
        Ok(out)
    }

    #[test]
    fn elements_with_their_lines() {
        let text = "\u{feff}[\n  {\"a\": \"x,]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]} ,\n3, \"s\"\n,{\n}\n]\n";
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let got = split(text, 1 << 20, chunk).unwrap();
            assert_eq!(
                got,
                vec![
                    (2, r#"{"a": "x,]}\""}"#.to_string(), None),
                    (3, r#"{"b": [1, {"c": 2}]}"#.to_string(), None),
                    (4, "3".to_string(), None),
                    (4, "\"s\"".to_string(), None),
                    (5, "{\n}".to_string(), None),
                ],
                "chunk {chunk}"
            );
        }
        assert_eq!(split("[]", 10, 1).unwrap(), vec![]);
        assert_eq!(split(" [ ] \n", 10, 1).unwrap(), vec![]);
        assert_eq!(split("", 10, 1).unwrap(), vec![]);
    }

    #[test]
    fn long_elements_are_cut_and_measured() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(1000));
        let text = format!("[{big},{{\"b\":1}}]");
        let got = split(&text, 100, 16).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].2, Some(big.len() as u64));
        assert_eq!(got[0].1.len(), LONG_LINE_KEPT);
        assert_eq!(got[1], (1, "{\"b\":1}".to_string(), None));
    }

    /// Two documents without a comma between them are one element, which is no JSON: the
    /// document reader rejects it with its line, and the rest of the array is read.
    #[test]
    fn a_missing_comma_makes_one_bad_element() {
        let got = split("[\n{\"a\":1} {\"b\":2},\n{\"c\":3}]", 1 << 20, 3).unwrap();
        assert_eq!(
            got,
            vec![
                (2, "{\"a\":1} {\"b\":2}".to_string(), None),
                (3, "{\"c\":3}".to_string(), None)
            ]
        );
        let e = split("[{\"a\":1} 5]", 1 << 20, 3).unwrap();
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn broken_arrays_name_their_line() {
        for (text, want) in [
            (
                "[{\"a\":1}",
                "line 1: the file ends inside its top-level array",
            ),
            (
                "[{\"a\":1",
                "ends inside the document that starts on line 1",
            ),
            ("[{\"a\":1},]", "empty element"),
            ("[,{\"a\":1}]", "empty element"),
            ("[{\"a\":1}]\n[]", "line 2: '[' after the top-level array"),
            ("{\"a\":1}", "starts with [, not '{'"),
        ] {
            let e = split(text, 1 << 20, 3).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
