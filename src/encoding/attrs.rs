//! Parsed attribute values ([`AttrValue`]: from DynamoDB JSON and Ion lines, and from plain
//! JSON documents) written with every check: numbers, sets, nesting, names.

use super::check_name;
use super::sets::finish_set;
use super::text::text_number;
use super::{AttrType, ItemWriter, RuleFailure, WriteOutcome};
use crate::input::parse::AttrValue;
use crate::model::rules;

/// Raw scalar form of a value (as for Arrow keys): string bytes, canonical number, binary.
pub(crate) fn attr_raw(v: &AttrValue, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
    Ok(match v {
        AttrValue::S(s) => {
            buf.extend_from_slice(s.as_bytes());
            AttrType::S
        }
        AttrValue::N(n) => {
            number_raw(n, buf)?;
            AttrType::N
        }
        AttrValue::B(b) => {
            buf.extend_from_slice(b);
            AttrType::B
        }
        AttrValue::Bool(_) => AttrType::Bool,
        AttrValue::Null => AttrType::Null,
        AttrValue::L(_) => AttrType::L,
        AttrValue::M(_) => AttrType::M,
        AttrValue::SS(_) => AttrType::SS,
        AttrValue::NS(_) => AttrType::NS,
        AttrValue::BS(_) => AttrType::BS,
    })
}

/// Canonicalise number text; a syntax error in a file is N001 (the import rejects it).
pub(crate) fn number_raw(n: &str, buf: &mut Vec<u8>) -> Result<usize, RuleFailure> {
    text_number(n, buf).map_err(|f| {
        if std::ptr::eq(f.rule, &rules::VALUE_CONVERSION) {
            RuleFailure::new(&rules::NUMBER_SYNTAX, f.message)
        } else {
            f
        }
    })
}

/// Write one attribute value with every check; sets that are empty are left out.
pub(crate) fn write_attr(v: &AttrValue, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
    let written = |ty, size| Ok(WriteOutcome::Written { ty, size });
    match v {
        AttrValue::S(s) => written(AttrType::S, w.s(s)),
        AttrValue::N(n) => {
            let mut buf = std::mem::take(&mut w.scratch);
            buf.clear();
            let r = number_raw(n, &mut buf).map(|size| WriteOutcome::Written {
                ty: AttrType::N,
                size: w.n(&buf, size),
            });
            w.scratch = buf;
            r
        }
        AttrValue::B(b) => written(AttrType::B, w.b(b)),
        AttrValue::Bool(b) => written(AttrType::Bool, w.bool(*b)),
        AttrValue::Null => written(AttrType::Null, w.null()),
        AttrValue::L(items) => {
            w.open(AttrType::L)?;
            let mut size = 3;
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                size += 1 + match write_attr(x, w)? {
                    WriteOutcome::Written { size, .. } => size,
                    // An empty set inside a list cannot be left out; NULL keeps the positions.
                    WriteOutcome::Omit => w.null(),
                };
            }
            w.close(AttrType::L);
            written(AttrType::L, size)
        }
        AttrValue::M(fields) => {
            w.open(AttrType::M)?;
            let mut size = 3;
            let mut first = true;
            for (k, x) in fields {
                check_name(k)?;
                let mark = w.out.len();
                w.name(k, first);
                match write_attr(x, w)? {
                    WriteOutcome::Written { size: s, .. } => {
                        size += 1 + k.len() + s;
                        first = false;
                    }
                    WriteOutcome::Omit => w.out.truncate(mark),
                }
            }
            w.close(AttrType::M);
            written(AttrType::M, size)
        }
        AttrValue::SS(v) => {
            w.members.clear();
            w.spans.clear();
            for s in v {
                let start = w.members.len();
                w.members.extend_from_slice(s.as_bytes());
                w.spans.push((start, w.members.len()));
            }
            finish_set(w, AttrType::SS)
        }
        AttrValue::NS(v) => {
            w.members.clear();
            w.spans.clear();
            for s in v {
                let start = w.members.len();
                let mut members = std::mem::take(&mut w.members);
                let r = number_raw(s, &mut members);
                w.members = members;
                r?;
                w.spans.push((start, w.members.len()));
            }
            finish_set(w, AttrType::NS)
        }
        AttrValue::BS(v) => {
            w.members.clear();
            w.spans.clear();
            for b in v {
                let start = w.members.len();
                w.members.extend_from_slice(b);
                w.spans.push((start, w.members.len()));
            }
            finish_set(w, AttrType::BS)
        }
    }
}
