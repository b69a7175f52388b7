//! Plain JSON documents as columns: each line (or array element) of a plain JSON input is
//! checked (UTF-8, valid JSON, an object, no top-level name twice) in one pass that keeps its
//! top-level values as the text they are, and the fields the run's options name become one
//! text column of JSON each, so that keys, templates, `--type`, `--select` and the rest of the
//! column machinery apply to documents that differ from each other. The document itself is
//! the "rest" column, whose other fields the encoder streams into the item (checking what lies
//! deeper as it writes). A document that fails a check is a reject with its line; the rest of
//! the file goes on.

use super::{Batch, PreReject};
use crate::input::parse::lines::strip_cr;
use crate::model::rules;
use anyhow::Result;
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The name of the column of fields no option names. Attribute names cannot start with a NUL
/// in any input prep reads as columns, so it never meets a field's.
pub(crate) const REST_COLUMN: &str = "\u{0}rest";

/// Field metadata that marks a column of JSON cells: [`CELL_VALUE`] or [`CELL_REST`].
pub(crate) const JSON_CELL: &str = "prep:json";
pub(crate) const CELL_VALUE: &str = "value";
pub(crate) const CELL_REST: &str = "rest";
/// Field metadata of the rest column: the top-level names its encoder leaves to the named
/// columns, as a JSON array.
pub(crate) const JSON_SKIP: &str = "prep:json-skip";
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

/// The top-level names the rest column's encoder leaves out ([`JSON_SKIP`]).
pub(crate) fn rest_skip(field: &Field) -> Vec<String> {
    field
        .metadata()
        .get(JSON_SKIP)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
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
            let mut m = meta(CELL_REST);
            let taken: Vec<&str> = self.taken().collect();
            m.insert(
                JSON_SKIP.to_string(),
                serde_json::to_string(&taken).expect("names serialise"),
            );
            fields.push(Field::new(REST_COLUMN, DataType::Utf8, true).with_metadata(m));
        }
        Arc::new(Schema::new(fields))
    }

    /// The top-level fields the named columns take out of the rest.
    fn taken(&self) -> impl Iterator<Item = &str> {
        self.named
            .iter()
            .filter(|n| !n.hidden)
            .map(|n| n.name.as_str())
    }
}

/// The names of one object read so far, to find one that repeats: a scan while they are few,
/// a hash set past that (an object of 100,000 names costs linear time).
#[derive(Default)]
pub(crate) struct SeenNames<'a> {
    few: Vec<Cow<'a, str>>,
    many: Option<std::collections::HashSet<Cow<'a, str>>>,
}

impl<'a> SeenNames<'a> {
    /// Whether `name` is new to the object (and now remembered).
    pub(crate) fn insert(&mut self, name: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(name);
        }
        if self.few.contains(&name) {
            return false;
        }
        self.few.push(name);
        if self.few.len() > 32 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// A name (or a number's text) as serde_json reads it: borrowed from the document unless it
/// holds escapes. serde's own `Cow<str>` always copies, which cost an allocation per name.
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> serde::de::Visitor<'de> for NameVisitor {
    type Value = Name<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Owned(v)))
    }
}

/// What a reject says of a name an object repeats.
pub(crate) fn repeated_message(name: &str) -> String {
    format!("the name {name:?} appears twice in one object; what DynamoDB keeps is not defined, so write it once")
}

/// What a reject says of a document nested past serde_json's limit.
pub(crate) fn too_deep_message() -> String {
    format!(
        "the document nests JSON values more than 128 deep; DynamoDB allows {} levels of lists and maps",
        rules::MAX_NESTING
    )
}

/// A document's top-level fields: names as they read, values as the JSON text they are.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// The start of serde_json's private names.
const RESERVED: &str = "$serde_json::private::";
/// The name under which serde_json (arbitrary precision) hands a number's text to a visitor.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";
/// The start of the error a document that is no object gives; its kind follows.
const NOT_OBJECT: &str = "\u{0}not an object: ";
const REPEATED: &str = "\u{0}repeated: ";

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> serde::de::Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Members<'de>, A::Error> {
        // Room for a usual document's fields at once, instead of growing by doubling.
        let mut out: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::with_capacity(16);
        // The fields' own list is scanned for a repeat while it is short (a second list of
        // names, as [`SeenNames`] keeps, costs an allocation per document); hashed past that.
        let mut many: Option<std::collections::HashSet<Cow<'de, str>>> = None;
        while let Some(Name(k)) = m.next_key::<Name<'de>>()? {
            if out.is_empty() && k == NUMBER_TOKEN {
                return Err(serde::de::Error::custom(format!("{NOT_OBJECT}a number")));
            }
            if out.len() == 32 {
                many = Some(out.iter().map(|(n, _)| n.clone()).collect());
            }
            let seen = match &mut many {
                Some(set) => !set.insert(k.clone()),
                None => out.iter().any(|(n, _)| *n == k),
            };
            if seen {
                return Err(serde::de::Error::custom(format!("{REPEATED}{k}")));
            }
            out.push((k, m.next_value()?));
        }
        Ok(Members(out))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Members<'de>, A::Error> {
        Err(serde::de::Error::custom(format!("{NOT_OBJECT}an array")))
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Members<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT}a string")))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Members<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT}a boolean")))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Members<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT}null")))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Members<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT}a number")))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Members<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT}a number")))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Members<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT}a number")))
    }
}

/// A document's top-level fields, checked, or why it is no item.
fn document(line: &[u8]) -> Result<Members<'_>, (&'static rules::Rule, String)> {
    let text = simdutf8::compat::from_utf8(strip_cr(line)).map_err(|e| {
        (
            &rules::JSON_NOT_PARSEABLE,
            format!("the document is not UTF-8 ({e}); JSON text is UTF-8"),
        )
    })?;
    // serde_json hands numbers (arbitrary precision) and raw values to visitors as objects
    // under these names: an object that has one cannot be told from them.
    static RESERVED_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(RESERVED));
    if RESERVED_FINDER.find(text.as_bytes()).is_some() {
        return Err((
            &rules::JSON_NOT_PARSEABLE,
            format!("the document has a name starting with {RESERVED:?}, which the JSON reader reserves; rename the field"),
        ));
    }
    let members = serde_json::from_str::<Members>(text).map_err(|e| {
        let m = e.to_string();
        // What the reader found before the end (a string, a repeated name) counts only when
        // the document is JSON to its end; one that is not is that first, and the error is the
        // one a full read meets first (nesting past 128 before a cut end, say).
        let syntax = serde_json::from_str::<Value>(text).err();
        if syntax.is_none() && !(m.starts_with(NOT_OBJECT) || m.starts_with(REPEATED)) {
            return (&rules::JSON_NOT_PARSEABLE, format!("not valid JSON: {e}"));
        }
        if let Some(e) = syntax {
            // serde_json stops at 128 nested values instead of recursing on.
            if e.to_string().starts_with("recursion limit exceeded") {
                return (&rules::NESTING_TOO_DEEP, too_deep_message());
            }
            if text.trim() == "{" {
                return (
                    &rules::JSON_NOT_PARSEABLE,
                    "the line holds only \"{\": the document spans several lines (pretty-printed JSON); write one document per line, or make the file one JSON array".to_string(),
                );
            }
            return (&rules::JSON_NOT_PARSEABLE, format!("not valid JSON: {e}"));
        }
        let at = |s: &'_ str| s.rsplit_once(" at line ").map_or(s, |(x, _)| x).to_string();
        match m.strip_prefix(NOT_OBJECT) {
            Some(kind) => (
                &rules::JSON_NOT_OBJECT,
                format!(
                    "the document is {}, not an object; each document becomes one item, whose attributes are an object's fields",
                    at(kind)
                ),
            ),
            None => (
                &rules::DUPLICATE_NAME,
                repeated_message(&at(m.strip_prefix(REPEATED).unwrap_or(&m))),
            ),
        }
    })?;
    Ok(members)
}

impl<'a> Members<'a> {
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// `a.b.c` through nested objects.
fn nested<'a>(doc: &Members<'a>, path: &str) -> Option<&'a RawValue> {
    let mut parts = path.split('.');
    let mut v = doc.get(parts.next()?)?;
    for p in parts {
        v = serde_json::from_str::<Members>(v.get()).ok()?.get(p)?;
    }
    Some(v)
}

/// What a rejected document's reject line shows: the document, or its text where it is no JSON
/// or repeats a name (parsed, it would show one of the two values).
pub(crate) fn reject_values(line: &[u8]) -> Value {
    let text = String::from_utf8_lossy(strip_cr(line));
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if !crate::input::parse::json::repeats_a_name(&text) => v,
        _ => serde_json::json!({ "line": text }),
    }
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
    // The rest column is the lines themselves where every one is UTF-8 (the usual case: the
    // same buffers, no copy), rejected rows null.
    let mut valid = Vec::with_capacity(n);
    let mut all_utf8 = true;
    let skip: std::collections::HashSet<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
    for i in 0..n {
        let doc = if skip.contains(&i) {
            None
        } else {
            match document(lines.value(i)) {
                Ok(d) => Some(d),
                Err((rule, message)) => {
                    b.pre_rejects.push(PreReject {
                        index: i,
                        rule,
                        message,
                        values: reject_values(lines.value(i)),
                        unheld: 0,
                    });
                    None
                }
            }
        };
        let Some(doc) = doc else {
            cells.iter_mut().for_each(StringBuilder::append_null);
            valid.push(false);
            all_utf8 &= std::str::from_utf8(lines.value(i)).is_ok();
            continue;
        };
        for (named, col) in layout.named.iter().zip(&mut cells) {
            let v = match named.hidden {
                true => nested(&doc, &named.name).or_else(|| doc.get(&named.name)),
                false => doc.get(&named.name),
            };
            // Absent is Arrow's null; a JSON null is the text `null`, which `--nulls null`
            // writes as NULL where an absent field stays absent.
            match v {
                None => col.append_null(),
                Some(v) => col.append_value(v.get()),
            }
        }
        valid.push(true);
    }
    let mut columns: Vec<ArrayRef> = cells
        .into_iter()
        .map(|mut c| Arc::new(c.finish()) as ArrayRef)
        .collect();
    if layout.rest {
        let nulls = arrow_buffer::NullBuffer::from(valid.clone());
        let rest = if all_utf8 {
            StringArray::try_new(
                lines.offsets().clone(),
                lines.values().clone(),
                Some(nulls).filter(|n| n.null_count() > 0),
            )?
        } else {
            (0..n)
                .map(|i| {
                    valid[i]
                        .then(|| std::str::from_utf8(strip_cr(lines.value(i))).ok())
                        .flatten()
                })
                .collect()
        };
        columns.push(Arc::new(rest));
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

    #[test]
    fn seen_names_find_every_repeat_listed_or_hashed() {
        // Objects of each size a repeat can be found in: in the list of the first names, and
        // once the names are hashed; each name repeated once, at the end.
        for n in [1usize, 7, 32, 33, 34, 100] {
            let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
            for repeat in 0..n {
                let mut seen = SeenNames::default();
                for name in &names {
                    assert!(seen.insert(Cow::Borrowed(name)), "{n} names: {name} is new");
                }
                // An escaped name read into an owned string equals its borrowed twin.
                assert!(
                    !seen.insert(Cow::Owned(names[repeat].clone())),
                    "{n} names: n{repeat} repeats"
                );
                assert!(seen.insert(Cow::Borrowed("other")), "{n} names");
            }
        }
    }

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
        // (Repeated names deeper down are the encoder's to find, as it writes them.)
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
        // The rest is the document; its encoder skips the named fields.
        assert_eq!(rest.value(0), r#"{"id": 1.50, "a": {"b": "x"}, "z": null}"#);
        assert_eq!(
            crate::input::json_docs::rest_skip(b.rows.schema().field(2)),
            ["id"]
        );
        assert!(id.is_null(1) && ab.is_null(1));
        assert_eq!(
            (id.is_null(6), id.value(6)),
            (false, "null"),
            "null is not absent"
        );
        assert_eq!(rest.value(1), r#"{"a": 1}"#);
        assert_eq!(rest.value(5), "{\"s\": \"\u{e9}\"}\r\n", "the line as read");
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

    /// A line that is not UTF-8 is a reject (J001), and the others still become documents
    /// (their rest column copied, since the lines' buffer as a whole is not UTF-8).
    #[test]
    fn a_line_that_is_not_utf8_is_a_reject() {
        let mut bb = BinaryBuilder::new();
        for l in [&b"{\"id\":1}"[..], b"{\"id\":\"\xff\"}", b"{\"id\":3}\n"] {
            bb.append_value(l);
        }
        let mut b = batch(&[]);
        b.rows = RecordBatch::try_new(
            crate::input::item_files::schema(),
            vec![Arc::new(bb.finish()) as ArrayRef],
        )
        .unwrap();
        let layout = Layout {
            named: vec![Named {
                name: "id".into(),
                hidden: false,
            }],
            rest: true,
            mongo: false,
        };
        let b = to_columns(b, &layout).unwrap();
        let rest = b.rows.column(1).as_string::<i32>().clone();
        assert_eq!(rest.value(0), "{\"id\":1}");
        assert!(rest.is_null(1));
        assert_eq!(rest.value(2), "{\"id\":3}");
        assert_eq!(b.pre_rejects.len(), 1);
        assert_eq!(
            (b.pre_rejects[0].index, b.pre_rejects[0].rule.code),
            (1, "J001")
        );
    }
}
