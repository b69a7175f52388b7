//! Plain JSON documents as columns: each line (or array element) of a plain JSON input is
//! parsed once, checked (valid JSON, an object, no name twice at any depth), and split into
//! the fields the run's options name — one text column of JSON each — and the rest, so that
//! keys, templates, `--type`, `--select` and the rest of the column machinery apply to
//! documents that differ from each other. A document that fails a check is a reject with its
//! line; the rest of the file goes on.

use super::{Batch, PreReject};
use crate::input::parse::lines::strip_cr;
use crate::model::rules;
use anyhow::Result;
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The name of the column of fields no option names. Attribute names cannot start with a NUL
/// in any input prep reads as columns, so it never meets a field's.
pub(crate) const REST_COLUMN: &str = "\u{0}rest";

/// Field metadata that marks a column of JSON cells: [`CELL_VALUE`] or [`CELL_REST`].
pub(crate) const JSON_CELL: &str = "prep:json";
pub(crate) const CELL_VALUE: &str = "value";
pub(crate) const CELL_REST: &str = "rest";
/// Field metadata naming the documents' dialect: [`DIALECT_MONGODB`] or absent (plain).
pub(crate) const JSON_DIALECT: &str = "prep:json-dialect";
pub(crate) const DIALECT_MONGODB: &str = "mongodb";

/// What a column of JSON cells holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// One field's value.
    Value,
    /// An object of the fields no option names, each a top-level attribute.
    Rest,
}

/// Whether `field` is a column of JSON cells, and whether they are MongoDB Extended JSON.
pub(crate) fn cell_of(field: &Field) -> Option<(Cell, bool)> {
    let m = field.metadata();
    let cell = match m.get(JSON_CELL).map(String::as_str) {
        Some(CELL_VALUE) => Cell::Value,
        Some(CELL_REST) => Cell::Rest,
        _ => return None,
    };
    Some((
        cell,
        m.get(JSON_DIALECT).map(String::as_str) == Some(DIALECT_MONGODB),
    ))
}

/// One field the options name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Named {
    pub(crate) name: String,
    /// Read only to compute others (a template's or a TTL's `a.b`): looked up through nested
    /// objects, and not taken out of the rest.
    pub(crate) hidden: bool,
}

/// How the documents of a group become columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) named: Vec<Named>,
    /// Whether the other fields are kept (no `--select`).
    pub(crate) rest: bool,
    pub(crate) mongo: bool,
}

impl Layout {
    /// The columns: the named fields, then the rest.
    pub(crate) fn schema(&self) -> SchemaRef {
        let meta = |kind: &str| {
            let mut m = HashMap::from([(JSON_CELL.to_string(), kind.to_string())]);
            if self.mongo {
                m.insert(JSON_DIALECT.to_string(), DIALECT_MONGODB.to_string());
            }
            m
        };
        let mut fields: Vec<Field> = self
            .named
            .iter()
            .map(|n| Field::new(&n.name, DataType::Utf8, true).with_metadata(meta(CELL_VALUE)))
            .collect();
        if self.rest {
            fields
                .push(Field::new(REST_COLUMN, DataType::Utf8, true).with_metadata(meta(CELL_REST)));
        }
        Arc::new(Schema::new(fields))
    }
}

/// A document, parsed and checked, or why it is no item.
fn document(line: &[u8]) -> Result<Map<String, Value>, (&'static rules::Rule, String)> {
    let text = std::str::from_utf8(strip_cr(line)).map_err(|e| {
        (
            &rules::JSON_NOT_PARSEABLE,
            format!("the document is not UTF-8 ({e}); JSON text is UTF-8"),
        )
    })?;
    let v: Value = serde_json::from_str(text).map_err(|e| {
        // serde_json stops at 128 nested values instead of recursing on.
        if e.to_string().starts_with("recursion limit exceeded") {
            (
                &rules::NESTING_TOO_DEEP,
                format!(
                    "the document nests JSON values more than 128 deep; DynamoDB allows {} levels of lists and maps",
                    rules::MAX_NESTING
                ),
            )
        } else if text.trim() == "{" {
            (
                &rules::JSON_NOT_PARSEABLE,
                "the line holds only \"{\": the document spans several lines (pretty-printed JSON); write one document per line, or make the file one JSON array".to_string(),
            )
        } else {
            (&rules::JSON_NOT_PARSEABLE, format!("not valid JSON: {e}"))
        }
    })?;
    if let Some(e) = crate::input::parse::json::repeated_name(text) {
        return Err((&rules::DUPLICATE_NAME, e.to_string()));
    }
    match v {
        Value::Object(m) => Ok(m),
        other => Err((
            &rules::JSON_NOT_OBJECT,
            format!(
                "the document is {}, not an object; each document becomes one item, whose attributes are an object's fields",
                match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    Value::Array(_) => "an array",
                    Value::Object(_) => unreachable!(),
                }
            ),
        )),
    }
}

/// `a.b.c` through nested objects.
fn nested<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = doc.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// What a rejected document's reject line shows: the document, or its text.
pub(crate) fn reject_values(line: &[u8]) -> Value {
    let text = String::from_utf8_lossy(strip_cr(line));
    serde_json::from_str::<Value>(&text).unwrap_or_else(|_| serde_json::json!({ "line": text }))
}

/// Turn a batch of document lines into the layout's columns. Rows the reader rejected stay
/// rejected (their cells null); documents that fail a check join them.
pub(crate) fn to_columns(mut b: Batch, layout: &Layout) -> Result<Batch> {
    let lines = b.rows.column(0).as_binary::<i32>().clone();
    let n = lines.len();
    let mut cells: Vec<StringBuilder> = layout
        .named
        .iter()
        .map(|_| StringBuilder::with_capacity(n, n * 16))
        .collect();
    let mut rest = StringBuilder::with_capacity(n, lines.value_data().len());
    let skip: std::collections::HashSet<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
    let taken: std::collections::HashSet<&str> = layout
        .named
        .iter()
        .filter(|n| !n.hidden)
        .map(|n| n.name.as_str())
        .collect();
    let mut out: Vec<u8> = Vec::new();
    for i in 0..n {
        let doc = if skip.contains(&i) {
            None
        } else {
            match document(lines.value(i)) {
                Ok(d) => Some(d),
                Err((rule, message)) => {
                    // A document that repeats a name is shown as written: parsed, it would
                    // show one of the two values.
                    let values = match std::ptr::eq(rule, &rules::DUPLICATE_NAME) {
                        true => serde_json::json!({
                            "line": String::from_utf8_lossy(strip_cr(lines.value(i)))
                        }),
                        false => reject_values(lines.value(i)),
                    };
                    b.pre_rejects.push(PreReject {
                        index: i,
                        rule,
                        message,
                        values,
                    });
                    None
                }
            }
        };
        let Some(doc) = doc else {
            cells.iter_mut().for_each(StringBuilder::append_null);
            rest.append_null();
            continue;
        };
        for (named, col) in layout.named.iter().zip(&mut cells) {
            let v = match named.hidden {
                true => nested(&doc, &named.name).or_else(|| doc.get(&named.name)),
                false => doc.get(&named.name),
            };
            match v {
                // Absent is Arrow's null; a JSON null is the text `null`, which `--nulls null`
                // writes as NULL where an absent field stays absent.
                None => col.append_null(),
                Some(v) => {
                    out.clear();
                    serde_json::to_writer(&mut out, v).expect("a parsed value serialises");
                    col.append_value(std::str::from_utf8(&out).expect("serde_json writes UTF-8"));
                }
            }
        }
        if layout.rest {
            let mut others = doc;
            others.retain(|k, _| !taken.contains(k.as_str()));
            out.clear();
            serde_json::to_writer(&mut out, &Value::Object(others))
                .expect("a parsed value serialises");
            rest.append_value(std::str::from_utf8(&out).expect("serde_json writes UTF-8"));
        }
    }
    let mut columns: Vec<ArrayRef> = cells
        .into_iter()
        .map(|mut c| Arc::new(c.finish()) as ArrayRef)
        .collect();
    if layout.rest {
        columns.push(Arc::new(rest.finish()));
    }
    b.pre_rejects.sort_by_key(|r| r.index);
    b.rows = RecordBatch::try_new_with_options(
        layout.schema(),
        columns,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(n)),
    )?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::BinaryBuilder;

    fn batch(lines: &[&str]) -> Batch {
        let mut b = BinaryBuilder::new();
        for l in lines {
            b.append_value(l);
        }
        Batch {
            source: 0,
            first_row: 0,
            rows: RecordBatch::try_new(
                crate::input::item_files::schema(),
                vec![Arc::new(b.finish()) as ArrayRef],
            )
            .unwrap(),
            lines: Some((1..=lines.len() as u64).collect()),
            pre_rejects: Vec::new(),
            input_bytes: 0,
        }
    }

    #[test]
    fn documents_split_into_named_fields_and_the_rest() {
        let layout = Layout {
            named: vec![
                Named {
                    name: "id".into(),
                    hidden: false,
                },
                Named {
                    name: "a.b".into(),
                    hidden: true,
                },
            ],
            rest: true,
            mongo: false,
        };
        let b = to_columns(
            batch(&[
                r#"{"id": 1.50, "a": {"b": "x"}, "z": null}"#,
                r#"{"a": 1}"#,
                r#"[1]"#,
                r#"{"id": 1, "id": 2}"#,
                r#"{"id": "#,
                "{\"s\": \"\u{e9}\"}\r\n",
                r#"{"id": null}"#,
            ]),
            &layout,
        )
        .unwrap();
        let col = |k: usize| b.rows.column(k).as_string::<i32>().clone();
        let (id, ab, rest) = (col(0), col(1), col(2));
        assert_eq!(id.value(0), "1.50");
        assert_eq!(ab.value(0), "\"x\"");
        assert_eq!(rest.value(0), r#"{"a":{"b":"x"},"z":null}"#);
        assert!(id.is_null(1) && ab.is_null(1));
        assert_eq!(
            (id.is_null(6), id.value(6)),
            (false, "null"),
            "null is not absent"
        );
        assert_eq!(rest.value(1), r#"{"a":1}"#);
        assert_eq!(rest.value(5), "{\"s\":\"\u{e9}\"}");
        let codes: Vec<(usize, &str)> = b
            .pre_rejects
            .iter()
            .map(|r| (r.index, r.rule.code))
            .collect();
        assert_eq!(codes, vec![(2, "J002"), (3, "A008"), (4, "J001")]);
        assert!(rest.is_null(2) && rest.is_null(3) && rest.is_null(4));
        assert_eq!(
            b.pre_rejects[2].values,
            serde_json::json!({"line": "{\"id\": "})
        );
    }
}
