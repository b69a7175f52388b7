//! Rules for CSV files meant for the native CSV import (InputFormat CSV): header, delimiter,
//! HeaderList, key columns, RFC 4180 quoting, field counts, and what will import as strings.

use super::{excerpt, Finding, Report, ValidateOptions};
use crate::input::csv_split::{check_delimiter, Cell, Splitter};
use crate::input::parse::lines::open_decompressed;
use crate::input::Source;
use crate::model::keys::{KeyRole, KeySchema, ScalarType};
use crate::model::number;
use crate::model::rules::{self, Rule};
use anyhow::{Context, Result};
use std::io::Read;

const ALLOWED: &[u8] = b",;:|\t ";

/// One CSV record as the rules look at it: its fields, the line it starts on, its first bytes,
/// its quoting problem, and whether it was past the length limit (then without fields).
struct Record {
    fields: Vec<Vec<u8>>,
    line: u64,
    /// The record's first bytes, for excerpts.
    raw: Vec<u8>,
    quote_error: Option<String>,
    /// Past `--max-line-bytes`: skipped as it streamed, no field kept.
    over: bool,
}

/// The start of a record kept for its excerpt.
const RAW_KEPT: usize = 1024;

/// The records of a CSV file, split by the reader's own splitter ([`Splitter`], csv-core) with
/// its RFC 4180 quoting check on: one tokenizer for `convert` and `validate`.
struct Records<R: Read> {
    splitter: Splitter<R>,
    cells: Vec<Cell>,
}

impl<R: Read> Records<R> {
    fn next(&mut self) -> std::io::Result<Option<Record>> {
        let Some(r) = self.splitter.next_record(&mut self.cells)? else {
            return Ok(None);
        };
        let bytes = self.splitter.bytes();
        Ok(Some(Record {
            fields: self
                .cells
                .iter()
                .map(|&(s, e)| bytes[s..e].to_vec())
                .collect(),
            line: r.line,
            raw: self.splitter.raw().to_vec(),
            quote_error: r.quote.map(|q| q.to_string()),
            over: r.too_long.is_some(),
        }))
    }
}

fn looks_number(f: &[u8]) -> bool {
    !f.is_empty() && number::canonicalize(f, &mut Vec::new()).is_ok()
}

fn looks_bool(f: &[u8]) -> bool {
    f.eq_ignore_ascii_case(b"true") || f.eq_ignore_ascii_case(b"false")
}

/// Lint one CSV file. `first_header` carries the first file's header to the next files.
pub(crate) fn lint(
    src: &Source,
    opts: &ValidateOptions,
    keys: Option<&KeySchema>,
    first_header: &mut Option<Vec<String>>,
    report: &mut Report,
) -> Result<()> {
    let file = src.display();
    let add = |report: &mut Report,
               rule: &'static Rule,
               line: Option<u64>,
               msg: String,
               ex: Option<&[u8]>| {
        report.add(Finding {
            rule,
            file: file.clone(),
            line,
            column: None,
            message: msg,
            excerpt: ex.map(excerpt),
            unread: None,
        })
    };
    let delim = opts.delimiter.unwrap_or(b',');
    if !ALLOWED.contains(&delim) {
        add(
            report,
            &rules::CSV_DELIMITER,
            None,
            format!(
                "delimiter {:?} is not one of , ; : | tab space",
                delim as char
            ),
            None,
        );
    }
    let mut r = open_decompressed(&*src.object)?;
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < 3 {
        match r.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let bom = head[..n] == [0xEF, 0xBB, 0xBF];
    if bom {
        add(
            report,
            &rules::BOM,
            Some(1),
            "the file starts with a UTF-8 byte order mark; the first column name would include it"
                .into(),
            None,
        );
    }
    let rest: Box<dyn Read> = if bom {
        Box::new(r)
    } else {
        Box::new(std::io::Cursor::new(head[..n].to_vec()).chain(r))
    };
    if check_delimiter(delim).is_err() {
        add(
            report,
            &rules::CSV_DELIMITER,
            None,
            format!(
                "delimiter {:?} is the quote or a line end: the file cannot be read with it",
                delim as char
            ),
            None,
        );
        return Ok(());
    }
    let mut sc = Records {
        splitter: Splitter::new(rest, delim)
            .with_max_record(opts.max_line)
            .linting(RAW_KEPT),
        cells: Vec::new(),
    };
    let mut header_missing = false;
    let mut header: Vec<String> = match &opts.header_list {
        Some(h) => {
            let bad = h.is_empty()
                || h.len() > 255
                || h.iter().any(|n| {
                    n.is_empty()
                        || n.bytes()
                            .any(|c| !(0x20..0x7f).contains(&c) || c == b'"' || c == b',')
                });
            if bad {
                add(
                    report,
                    &rules::CSV_HEADER_LIST,
                    None,
                    format!(
                        "HeaderList {h:?} must be 1-255 names of printable ASCII without \" or ,"
                    ),
                    None,
                );
            }
            h.clone()
        }
        None => {
            let Some(rec) = sc.next().with_context(|| format!("cannot read {file}"))? else {
                add(
                    report,
                    &rules::CSV_HEADER_MISSING,
                    Some(1),
                    "the file is empty: no header line".into(),
                    None,
                );
                return Ok(());
            };
            let names: Vec<String> = rec
                .fields
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            let looks_like_data = names.iter().any(|n| looks_number(n.as_bytes()));
            let differs = first_header.as_ref().is_some_and(|h| *h != names);
            if looks_like_data
                || (differs && first_header.as_ref().map(Vec::len) == Some(names.len()))
            {
                header_missing = true;
                add(
                    report,
                    &rules::CSV_HEADER_MISSING,
                    Some(1),
                    "the first line looks like data, not a header; every CSV object needs its own header line (or give HeaderList)".into(),
                    Some(&rec.raw),
                );
            }
            // Hashed: a header of 100,000 names costs linear time.
            let mut seen = std::collections::HashSet::with_capacity(names.len());
            for n in &names {
                if !seen.insert(n) {
                    add(
                        report,
                        &rules::CSV_DUPLICATE_HEADER,
                        Some(1),
                        format!("column {n:?} appears twice in the header"),
                        Some(&rec.raw),
                    );
                }
            }
            if first_header.is_none() {
                *first_header = Some(names.clone());
            }
            names
        }
    };
    if header.is_empty() {
        header.push(String::new());
    }
    // Key columns, by index.
    let mut key_cols: Vec<(usize, String, KeyRole, Option<ScalarType>)> = Vec::new();
    if let Some(k) = keys {
        for (attr, role) in k.key_attributes() {
            match header.iter().position(|h| *h == attr.name) {
                Some(i) => key_cols.push((i, attr.name.clone(), role, attr.ty)),
                None if role != KeyRole::Index => add(
                    report,
                    &rules::CSV_KEY_COLUMN,
                    Some(1),
                    format!(
                        "key column {:?} is not in the header (names are case-sensitive): {}",
                        attr.name,
                        header.join(",")
                    ),
                    None,
                ),
                None => {}
            }
        }
    }
    let cols = header.len();
    let mut numeric = vec![true; cols];
    let mut boolean = vec![true; cols];
    let mut seen = vec![false; cols];
    while let Some(rec) = sc.next().with_context(|| format!("cannot read {file}"))? {
        report.lines += 1;
        if rec.fields.len() == 1 && rec.fields[0].is_empty() {
            continue;
        }
        let line = Some(rec.line);
        if let Some(q) = &rec.quote_error {
            add(report, &rules::CSV_QUOTE, line, q.clone(), Some(&rec.raw));
            continue;
        }
        if rec.over {
            add(
                report,
                &rules::ITEM_TOO_LARGE,
                line,
                format!(
                    "the row is over {} bytes (--max-line-bytes), so its item is over 409,600: look for a quote that is never closed; the row was not kept",
                    opts.max_line
                ),
                Some(&rec.raw),
            );
            continue;
        }
        if rec.fields.len() != cols {
            add(
                report,
                &rules::CSV_FIELD_COUNT,
                line,
                format!(
                    "the row has {} fields, the header has {cols}",
                    rec.fields.len()
                ),
                Some(&rec.raw),
            );
            continue;
        }
        if let Some(c) = rec
            .fields
            .iter()
            .position(|f| std::str::from_utf8(f).is_err())
        {
            add(
                report,
                &rules::INVALID_UTF8,
                line,
                format!("column {} is not valid UTF-8", header[c]),
                Some(&rec.raw),
            );
            continue;
        }
        report.items += 1;
        for (c, f) in rec.fields.iter().enumerate() {
            if f.is_empty() {
                continue;
            }
            seen[c] = true;
            // As prep convert infers: no leading zeros, so codes like 01234 stay text.
            numeric[c] &= crate::input::csv::looks_numeric(f);
            boolean[c] &= looks_bool(f);
        }
        let mut key_bad = false;
        for (i, name, role, ty) in &key_cols {
            let v = &rec.fields[*i];
            let bad: Option<(&'static Rule, String)> = if v.is_empty() {
                match role {
                    KeyRole::Index => None,
                    _ => Some((
                        &rules::KEY_MISSING,
                        format!("Missing the key {name} in the item (empty cell)"),
                    )),
                }
            } else if *ty == Some(ScalarType::N) && !looks_number(v) {
                Some((
                    if *role == KeyRole::Index {
                        &rules::GSI_KEY_TYPE
                    } else {
                        &rules::KEY_TYPE
                    },
                    format!(
                        "key {name} is declared N but {:?} is not a number",
                        String::from_utf8_lossy(v)
                    ),
                ))
            } else if *role == KeyRole::Partition && v.len() > rules::MAX_PARTITION_KEY_BYTES {
                Some((
                    &rules::PARTITION_KEY_TOO_LONG,
                    format!(
                        "partition key {name} is {} bytes; the limit is 2048",
                        v.len()
                    ),
                ))
            } else if *role == KeyRole::Sort && v.len() > rules::MAX_SORT_KEY_BYTES {
                Some((
                    &rules::SORT_KEY_TOO_LONG,
                    format!("sort key {name} is {} bytes; the limit is 1024", v.len()),
                ))
            } else {
                None
            };
            if let Some((rule, msg)) = bad {
                add(report, rule, line, msg, Some(&rec.raw));
                key_bad = true;
                break;
            }
        }
        if !key_bad {
            // The item the import makes of the row: every non-empty cell, S but for N keys.
            let size: usize = rec
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.is_empty())
                .map(|(c, f)| {
                    let n_key = key_cols
                        .iter()
                        .any(|(i, _, _, ty)| *i == c && *ty == Some(ScalarType::N));
                    let value = if n_key {
                        crate::model::number::checked_size(f).unwrap_or(f.len())
                    } else {
                        f.len()
                    };
                    header[c].len() + value
                })
                .sum();
            if size > rules::MAX_ITEM_BYTES {
                add(
                    report,
                    &rules::ITEM_TOO_LARGE,
                    line,
                    format!(
                        "the row's item is {size} bytes; DynamoDB's limit is {} (Item size has exceeded the maximum allowed size)",
                        rules::MAX_ITEM_BYTES
                    ),
                    Some(&rec.raw),
                );
            }
        }
    }
    let key_names: Vec<&str> = key_cols.iter().map(|(_, n, _, _)| n.as_str()).collect();
    // A CSV import types only keys: a TTL column arrives as a string, which TTL ignores.
    if let Some(t) = &opts.ttl {
        if header.iter().any(|h| h == t) && !key_names.contains(&t.as_str()) {
            add(
                report,
                &rules::TTL_NOT_NUMBER,
                None,
                format!("the TTL attribute {t} will import as a string (the CSV import types only keys), which DynamoDB's TTL ignores: no item would expire. Convert with prep convert --ttl {t}, which writes it as N"),
                None,
            );
        }
    }
    let typed: Vec<&str> = (0..cols)
        .filter(|&c| {
            seen[c] && (numeric[c] || boolean[c]) && !key_names.contains(&header[c].as_str())
        })
        .map(|c| header[c].as_str())
        .collect();
    if !typed.is_empty() && !header_missing {
        add(
            report,
            &rules::CSV_STRING_COLUMNS,
            None,
            format!(
                "columns {} look numeric or boolean but will import as S (the CSV import types only keys); prep convert keeps their types",
                typed.join(", ")
            ),
            None,
        );
    }
    for (i, name, _, ty) in &key_cols {
        if *ty == Some(ScalarType::S) && seen[*i] && numeric[*i] {
            add(
                report,
                &rules::CSV_NUMERIC_KEY,
                None,
                format!("key column {name} holds only numbers but is declared S; declare it N if it is a number"),
                None,
            );
        }
    }
    Ok(())
}
