//! Re-encoding items read from DynamoDB JSON or Ion files (exports, earlier outputs) with the
//! same checks as Arrow rows: keys of the new key schema, numbers, sets, nesting, item size.

use super::arrow_rows::{encode_rows, missing_key, write_key, Encoded};
use super::check_name;
use super::sets::finish_set;
use super::text::text_number;
use super::{AttrType, ItemWriter, RuleFailure, Syntax, WriteOutcome};
use crate::encoding::plan::KeyCheck;
use crate::input::item_files::key_type_in_items;
use crate::input::parse::lines::strip_cr;
use crate::input::parse::{item_to_plain, AttrValue, LineFormat};
use crate::input::Source;
use crate::model::keys::KeyRole;
use crate::model::keys::{KeySchema, ScalarType};
use crate::model::rules::{self, Rule};
use arrow_array::{Array, BinaryArray};
use serde_json::Value;

/// Encodes the lines of item files.
pub struct LinesEncoder {
    pub format: LineFormat,
    /// Key attributes, table keys first.
    pub keys: Vec<(String, KeyCheck)>,
    pub syn: Syntax,
}

/// Raw scalar form of a value (as for Arrow keys): string bytes, canonical number, binary.
fn attr_raw(v: &AttrValue, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
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
fn number_raw(n: &str, buf: &mut Vec<u8>) -> Result<usize, RuleFailure> {
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

impl LinesEncoder {
    /// Encode every line but those in `skip` (rejected by the reader, sorted).
    pub fn encode(&self, lines: &BinaryArray, skip: &[usize], w: &mut ItemWriter) -> Encoded {
        w.syn = self.syn;
        encode_rows(lines.len(), skip, w, |i, w, key_buf, keys| {
            self.encode_line(strip_cr(lines.value(i)), w, key_buf, keys)
        })
    }

    /// Check and write one line; returns the item's size.
    pub fn encode_line(
        &self,
        line: &[u8],
        w: &mut ItemWriter,
        key_buf: &mut Vec<u8>,
        keys: &mut Vec<u8>,
    ) -> Result<usize, (&'static Rule, String)> {
        let item = self
            .format
            .parse_line(line)
            .map_err(|e| (e.rule, e.to_string()))?;
        let mut size = 0;
        let mut first = true;
        for (name, k) in self.keys.iter().filter(|(_, k)| k.role != KeyRole::Index) {
            let v = match item.iter().find(|(n, _)| n == name) {
                Some((_, AttrValue::Null)) | None => return Err(missing_key(name)),
                Some((_, v)) => v,
            };
            key_buf.clear();
            let actual = attr_raw(v, key_buf)
                .map_err(|f| (f.rule, format!("attribute {name}: {}", f.message)))?;
            w.name(name, first);
            size += write_key(name, *k, actual, key_buf, w, keys)?;
            first = false;
        }
        for (name, v) in &item {
            let key = self.keys.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
            match key {
                Some(k) if k.role != KeyRole::Index => continue,
                Some(k) if !matches!(v, AttrValue::Null) => {
                    key_buf.clear();
                    let actual = attr_raw(v, key_buf)
                        .map_err(|f| (f.rule, format!("attribute {name}: {}", f.message)))?;
                    w.name(name, first);
                    size += write_key(name, k, actual, key_buf, w, keys)?;
                    first = false;
                    continue;
                }
                _ => {}
            }
            if name.is_empty() {
                return Err((
                    &rules::ATTRIBUTE_NAME_EMPTY,
                    "an attribute name is empty".into(),
                ));
            }
            if name.len() > rules::MAX_ATTRIBUTE_NAME_BYTES {
                return Err((
                    &rules::ATTRIBUTE_NAME_TOO_LONG,
                    format!(
                        "an attribute name is {} bytes; the limit is 65,535",
                        name.len()
                    ),
                ));
            }
            let mark = w.out.len();
            w.name(name, first);
            match write_attr(v, w) {
                Ok(WriteOutcome::Written { size: s, .. }) => {
                    size += name.len() + s;
                    first = false;
                }
                Ok(WriteOutcome::Omit) => w.out.truncate(mark),
                Err(f) => return Err((f.rule, format!("attribute {name}: {}", f.message))),
            }
        }
        Ok(size)
    }

    /// What rejects.jsonl shows for a line: the item as plain JSON, or the raw line.
    pub fn reject_values(&self, line: &[u8]) -> Value {
        match self.format.parse_line(strip_cr(line)) {
            Ok(item) => item_to_plain(&item),
            Err(_) => serde_json::json!({ "line": String::from_utf8_lossy(line) }),
        }
    }
}
/// Key checks for item inputs (DynamoDB JSON / Ion): the declared types, and for a key declared
/// without one the type it has in the first item that has it; with them, the key schema with
/// every type resolved. When no item tells, `fallback` is used if given (validate goes on and
/// reports the items), else it is an error that says what to declare.
pub fn item_key_checks(
    sources: &[Source],
    keys: &KeySchema,
    fallback: Option<ScalarType>,
) -> anyhow::Result<(Vec<(String, KeyCheck)>, KeySchema)> {
    let mut resolved = keys.clone();
    let mut out = Vec::new();
    for (attr, role) in keys.key_attributes() {
        let ty = match attr.ty {
            Some(t) => t,
            None => {
                let t = match (key_type_in_items(sources, &attr.name), fallback) {
                    (Ok(t), _) => t,
                    (Err(_), Some(t)) => t,
                    (Err(e), None) => return Err(e),
                };
                resolved.set_type(&attr.name, t);
                t
            }
        };
        out.push((attr.name.clone(), KeyCheck { role, ty }));
    }
    Ok((out, resolved))
}
