//! Re-encoding items read from DynamoDB JSON or Ion files (exports, earlier outputs) with the
//! same checks as Arrow rows: keys of the new key schema, numbers, sets, nesting, item size.

use super::arrow_rows::{encode_rows, missing_key, write_key, Encoded};
use super::attrs::{attr_raw, write_attr};
use super::{ItemWriter, Syntax, WriteOutcome};
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
