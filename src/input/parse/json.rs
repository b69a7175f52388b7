//! DynamoDB JSON lines: `{"Item":{"pk":{"S":"a"}}}`.

use super::{AttrValue, Item, ParseError};
use crate::model::rules;
use base64::Engine;
use serde_json::Value;

pub(crate) fn decode_b64(s: &str) -> Result<Vec<u8>, ParseError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| {
            ParseError::new(
                &rules::BAD_BASE64,
                format!("{s:?} is not padded standard base64 ({e})"),
            )
        })
}

/// Parse one line (without its newline).
pub(crate) fn parse_line(line: &str) -> Result<Item, ParseError> {
    if line.trim() == "{" {
        return Err(ParseError::new(
            &rules::PRETTY_PRINTED,
            "the line holds only \"{\": the item spans several lines (pretty-printed JSON); write one item per line",
        ));
    }
    let v: Value = serde_json::from_str(line).map_err(|e| {
        // serde_json stops at 128 nested values instead of recursing on (an item holds 32
        // levels of L/M, each two JSON values deep, inside two more).
        let mut err = if e.to_string().starts_with("recursion limit exceeded") {
            ParseError::new(
                &rules::NESTING_TOO_DEEP,
                format!(
                    "the line nests JSON values more than 128 deep ({e}); DynamoDB allows {} levels of lists and maps",
                    rules::MAX_NESTING
                ),
            )
        } else {
            ParseError::new(&rules::LINE_NOT_PARSEABLE, format!("not valid JSON: {e}"))
        };
        err.column = Some(e.column());
        err
    })?;
    // serde_json keeps the last of repeated names; a second pass looks for them (this is the
    // full path: lines get here only when the fast reader refused them).
    if let Err(e) = serde_json::from_str::<NoRepeatedNames>(line) {
        let mut err = ParseError::new(&rules::DUPLICATE_NAME, e.to_string());
        err.column = Some(e.column());
        return Err(err);
    }
    let obj = v.as_object().ok_or_else(|| {
        ParseError::new(
            &rules::ITEM_WRAPPER,
            "the line is not a JSON object; expected {\"Item\":{...}}",
        )
    })?;
    let item = obj.get("Item").ok_or_else(|| {
        ParseError::new(
            &rules::ITEM_WRAPPER,
            "no \"Item\" key; expected {\"Item\":{...}}",
        )
    })?;
    if let Some(k) = obj.keys().find(|k| *k != "Item") {
        return Err(ParseError::new(
            &rules::EXTRA_TOP_LEVEL_KEY,
            format!("top-level key {k:?} besides Item"),
        ));
    }
    let attrs = item.as_object().ok_or_else(|| {
        ParseError::new(&rules::ITEM_WRAPPER, "\"Item\" is not an object").at("Item")
    })?;
    let mut out = Vec::with_capacity(attrs.len());
    for (name, v) in attrs {
        let av = value(v).map_err(|e| e.at(name.clone()).at("Item"))?;
        out.push((name.clone(), av));
    }
    Ok(out)
}

fn wrong(desc: &str, want: &str) -> ParseError {
    ParseError::new(&rules::DESCRIPTOR_VALUE, format!("{desc} must hold {want}"))
}

fn strings<'a>(desc: &str, x: &'a Value) -> Result<Vec<&'a str>, ParseError> {
    let arr = x.as_array().ok_or_else(|| wrong(desc, "an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, e)| {
            e.as_str().ok_or_else(|| {
                ParseError::new(
                    &rules::SET_ELEMENT,
                    format!("{desc} member is {}, not a string", json_kind(e)),
                )
                .at(format!("[{i}]"))
                .at(desc.to_string())
            })
        })
        .collect()
}

/// A JSON value's kind, for messages ("a string").
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One attribute value object.
pub(crate) fn value(v: &Value) -> Result<AttrValue, ParseError> {
    let obj = v.as_object().ok_or_else(|| {
        ParseError::new(
            &rules::MULTIPLE_DESCRIPTORS,
            format!(
                "attribute value is {}, not an object with one type descriptor",
                json_kind(v)
            ),
        )
    })?;
    if obj.len() != 1 {
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        return Err(ParseError::new(
            &rules::MULTIPLE_DESCRIPTORS,
            if keys.is_empty() {
                "attribute value has no type descriptor".to_string()
            } else {
                format!("attribute value has {} type descriptors ({}); Supplied AttributeValue has more than one datatypes set", keys.len(), keys.join(", "))
            },
        ));
    }
    let (desc, x) = obj.iter().next().expect("one entry");
    let d = desc.as_str();
    let r = match d {
        "S" => AttrValue::S(x.as_str().ok_or_else(|| wrong(d, "a string"))?.to_string()),
        "N" => AttrValue::N(
            x.as_str()
                .ok_or_else(|| wrong(d, "a number as a string, e.g. {\"N\":\"1\"}"))?
                .to_string(),
        ),
        "B" => AttrValue::B(decode_b64(x.as_str().ok_or_else(|| wrong(d, "a base64 string"))?)?),
        "BOOL" => AttrValue::Bool(x.as_bool().ok_or_else(|| wrong(d, "true or false"))?),
        "NULL" => match x {
            Value::Bool(true) => AttrValue::Null,
            _ => {
                return Err(ParseError::new(
                    &rules::NULL_NOT_TRUE,
                    format!("NULL is {x}; Null attribute value types must have the value of true"),
                ))
            }
        },
        "L" => {
            let arr = x.as_array().ok_or_else(|| wrong(d, "an array"))?;
            let mut out = Vec::with_capacity(arr.len());
            for (i, e) in arr.iter().enumerate() {
                out.push(value(e).map_err(|err| err.at(format!("[{i}]")))?);
            }
            AttrValue::L(out)
        }
        "M" => {
            let m = x.as_object().ok_or_else(|| wrong(d, "an object"))?;
            let mut out = Vec::with_capacity(m.len());
            for (k, e) in m {
                out.push((k.clone(), value(e).map_err(|err| err.at(k.clone()))?));
            }
            AttrValue::M(out)
        }
        "SS" => AttrValue::SS(strings(d, x)?.into_iter().map(str::to_string).collect()),
        "NS" => AttrValue::NS(strings(d, x)?.into_iter().map(str::to_string).collect()),
        "BS" => {
            let mut out = Vec::new();
            for (i, s) in strings(d, x)?.into_iter().enumerate() {
                out.push(decode_b64(s).map_err(|e| e.at(format!("[{i}]")).at("BS"))?);
            }
            AttrValue::BS(out)
        }
        other => {
            return Err(ParseError::new(
                &rules::UNKNOWN_DESCRIPTOR,
                format!("unknown type descriptor {other:?}; expected S, N, B, BOOL, NULL, M, L, SS, NS or BS"),
            ))
        }
    };
    Ok(r)
}

/// Whether `text` (valid JSON) has an object that repeats a name, at any depth.
pub(crate) fn repeats_a_name(text: &str) -> bool {
    serde_json::from_str::<NoRepeatedNames>(text).is_err()
}

/// A JSON value read only to find an object that repeats a name, at any depth.
struct NoRepeatedNames;

impl<'de> serde::Deserialize<'de> for NoRepeatedNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoRepeatedNames)
    }
}

impl<'de> serde::de::Visitor<'de> for NoRepeatedNames {
    type Value = NoRepeatedNames;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self, A::Error> {
        while s.next_element::<NoRepeatedNames>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self, A::Error> {
        // Hashed, so an object of 100,000 names costs linear time.
        let mut names = std::collections::HashSet::new();
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            if !names.insert(k.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the name {k:?} appears twice in one object; what DynamoDB keeps is not defined, so write it once"
                )));
            }
            m.next_value::<NoRepeatedNames>()?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> &'static str {
        parse_line(line).unwrap_err().rule.code
    }

    #[test]
    fn reads_every_type() {
        let line = r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.50"},"b":{"B":"aGk="},"t":{"BOOL":true},"z":{"NULL":true},"l":{"L":[{"S":"x"},{"N":"2"}]},"m":{"M":{"k":{"S":"v"}}},"ss":{"SS":["a","b"]},"ns":{"NS":["1"]},"bs":{"BS":["aGk="]}}}"#;
        let item = parse_line(line).unwrap();
        assert_eq!(item[0], ("pk".into(), AttrValue::S("a".into())));
        assert_eq!(item[1].1, AttrValue::N("1.50".into()));
        assert_eq!(item[2].1, AttrValue::B(b"hi".to_vec()));
        assert_eq!(item[4].1, AttrValue::Null);
        assert_eq!(item[9].1, AttrValue::BS(vec![b"hi".to_vec()]));
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(code(r#"{"Item":{"pk":{"S":"a"}}"#), "F001");
        assert_eq!(code(r#"{"pk":{"S":"a"}}"#), "F002");
        assert_eq!(code(r#"[{"Item":{}}]"#), "F002");
        assert_eq!(code(r#"{"Item":{"pk":{"S":"a"}},"x":1}"#), "F003");
        let framed = |l: &str| {
            super::super::LineFormat::DynamodbJson
                .parse_line(l.as_bytes())
                .unwrap_err()
                .rule
                .code
        };
        assert_eq!(framed(""), "F004");
        assert_eq!(framed("\u{feff}{\"Item\":{}}"), "F005");
        assert_eq!(code(r#"{"Item":{"pk":{"STR":"a"}}}"#), "A001");
        assert_eq!(code(r#"{"Item":{"pk":{"S":"a","N":"1"}}}"#), "A002");
        assert_eq!(code(r#"{"Item":{"pk":{}}}"#), "A002");
        assert_eq!(code(r#"{"Item":{"x":{"NULL":false}}}"#), "A003");
        assert_eq!(code(r#"{"Item":{"x":{"B":"aGk"}}}"#), "A004");
        assert_eq!(code(r#"{"Item":{"x":{"N":1}}}"#), "A005");
        assert_eq!(code(r#"{"Item":{"x":{"SS":["a",1]}}}"#), "T003");
        // A lone surrogate escape is not valid UTF-16 text.
        assert_eq!(code(r#"{"Item":{"x":{"S":"\ud800"}}}"#), "F001");
        let e = parse_line(r#"{"Item":{"m":{"M":{"tags":{"SS":["a",2]}}}}}"#).unwrap_err();
        assert_eq!(e.path_text(), "Item.m.tags.SS[1]");
        let e = parse_line(r#"{"Item":{"pk":{"S":"a"}"#).unwrap_err();
        assert!(e.column.is_some());
    }
}
