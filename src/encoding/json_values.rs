//! Values of plain JSON documents (JSON Lines and arrays, MongoDB Extended JSON) as DynamoDB
//! values. A document reaches the encoders as Arrow text columns of JSON: one per field that
//! the options name (keys, templates, `--type`, `--select`, …), whose type each document
//! decides, and one "rest" column holding the document, whose other fields are streamed from
//! its text into the item as top-level attributes (`json_stream`). Numbers keep their text
//! (serde_json's arbitrary precision); MongoDB's wrappers (`{"$oid": …}`, `{"$date": …}`,
//! `{"$numberLong": …}`, …) become S, N, B and timestamps.

use super::attrs::{attr_raw, number_raw, write_attr};
use super::target::{Target, Timestamps};
use super::text::{short, text_base64, text_bool, text_number};
use super::WriteOutcome;
use super::{AttrType, ColumnEncoder, ItemWriter, NullMask, RuleFailure};
pub(crate) use crate::input::json_docs::{cell_of, rest_skip, Cell};
use crate::input::parse::json::json_kind;
use crate::input::parse::AttrValue;
use crate::model::rules;
use arrow_array::{Array, StringArray};
use serde_json::Value;

/// Parse one cell (a value of a document the reader checked, so valid JSON), refusing an
/// object that repeats a name at any depth: a tree keeps only one of the two values.
pub(crate) fn parse(text: &str) -> Result<Value, RuleFailure> {
    let v = serde_json::from_str(text).map_err(|e| {
        RuleFailure::new(
            &rules::JSON_NOT_PARSEABLE,
            format!("value {} is not valid JSON ({e})", short(text)),
        )
    })?;
    if matches!(v, Value::Object(_) | Value::Array(_))
        && crate::input::parse::json::repeats_a_name(text)
    {
        return Err(RuleFailure::new(
            &rules::DUPLICATE_NAME,
            "an object repeats a name; what DynamoDB keeps is not defined, so write it once",
        ));
    }
    Ok(v)
}

fn conversion(message: String) -> RuleFailure {
    RuleFailure::new(&rules::VALUE_CONVERSION, message)
}

/// A JSON value as a DynamoDB value: string → S, number → N (its text), true/false → BOOL,
/// null → NULL, array → L, object → M. `mongo`: MongoDB's wrappers are read, their timestamps
/// written as `timestamps` says.
pub(crate) fn to_attr(v: &Value, mongo: Option<Timestamps>) -> Result<AttrValue, RuleFailure> {
    Ok(match v {
        Value::Null => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => AttrValue::N(n.to_string()),
        Value::String(s) => AttrValue::S(s.clone()),
        Value::Array(items) => AttrValue::L(
            items
                .iter()
                .map(|x| to_attr(x, mongo))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            if let Some(t) = mongo {
                if let Some(v) = mongo_scalar(m, t)? {
                    return Ok(v);
                }
            }
            let mut out = Vec::with_capacity(m.len());
            for (k, x) in m {
                out.push((k.clone(), to_attr(x, mongo)?));
            }
            AttrValue::M(out)
        }
    })
}

/// The value of a MongoDB Extended JSON wrapper (`{"$oid": "…"}`, …), or `None` for an object
/// that is none (kept as a map: `$timestamp`, `$regex` and other BSON types that DynamoDB has
/// no type for, and any object with other names).
pub(crate) fn mongo_scalar(
    m: &serde_json::Map<String, Value>,
    timestamps: Timestamps,
) -> Result<Option<AttrValue>, RuleFailure> {
    let mut names = m.keys();
    let (Some(first), second) = (names.next(), names.next()) else {
        return Ok(None);
    };
    let text = |name: &str, v: &Value| -> Result<String, RuleFailure> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(conversion(format!(
                "MongoDB {{\"{name}\": …}} holds {}, not a string",
                json_kind(other)
            ))),
        }
    };
    let v = &m[first];
    Ok(Some(match (first.as_str(), second.map(String::as_str)) {
        ("$oid", None) | ("$uuid", None) | ("$symbol", None) => AttrValue::S(text(first, v)?),
        ("$numberLong" | "$numberInt" | "$numberDecimal", None) => AttrValue::N(text(first, v)?),
        ("$numberDouble", None) => {
            let t = text(first, v)?;
            if matches!(t.as_str(), "NaN" | "Infinity" | "-Infinity") {
                return Err(RuleFailure::new(
                    &rules::NUMBER_NOT_FINITE,
                    format!("MongoDB {{\"$numberDouble\": \"{t}\"}} is not a finite number; DynamoDB numbers are finite"),
                ));
            }
            AttrValue::N(t)
        }
        ("$date", None) => mongo_date(v, timestamps)?,
        ("$binary", None) => match v {
            Value::Object(b) => {
                let data = b.get("base64").map(|x| text("base64", x)).transpose()?;
                let sub = b.get("subType").map(|x| text("subType", x)).transpose()?;
                match (data, sub, b.len()) {
                    (Some(d), Some(s), 2) => binary(&d, &s)?,
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        },
        // The legacy form mongoexport wrote before Extended JSON v2.
        ("$binary", Some("$type")) | ("$type", Some("$binary")) if m.len() == 2 => binary(
            &text("$binary", &m["$binary"])?,
            &text("$type", &m["$type"])?,
        )?,
        _ => return Ok(None),
    }))
}

/// BSON binary: a UUID (subtype 3 or 4, 16 bytes) as its text, other subtypes as B.
fn binary(data: &str, subtype: &str) -> Result<AttrValue, RuleFailure> {
    let mut bytes = Vec::new();
    text_base64(data, &mut bytes)?;
    let sub = u8::from_str_radix(subtype, 16).map_err(|_| {
        conversion(format!(
            "MongoDB $binary subType {subtype:?} is not a hexadecimal byte"
        ))
    })?;
    if matches!(sub, 3 | 4) && bytes.len() == 16 {
        let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        return Ok(AttrValue::S(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )));
    }
    Ok(AttrValue::B(bytes))
}

/// `{"$date": …}`: an ISO-8601 string (relaxed mode), `{"$numberLong": "ms"}` (canonical mode,
/// and relaxed for dates before 1970 or after 9999) or a number of milliseconds (legacy), as
/// the other inputs' timestamps: RFC 3339 in UTC with milliseconds, or epoch numbers.
fn mongo_date(v: &Value, timestamps: Timestamps) -> Result<AttrValue, RuleFailure> {
    let millis: i128 = match v {
        Value::String(s) => {
            let (secs, nanos) = crate::model::temporal::parse_iso8601(s).ok_or_else(|| {
                conversion(format!(
                    "MongoDB {{\"$date\": {}}} is not an ISO-8601 timestamp",
                    short(s)
                ))
            })?;
            secs as i128 * 1000 + (nanos / 1_000_000) as i128
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("$numberLong") => match &o["$numberLong"] {
            Value::String(s) => s.parse::<i64>().map_err(|_| {
                conversion(format!(
                    "MongoDB {{\"$date\": {{\"$numberLong\": {}}}}} is not a whole number of milliseconds",
                    short(s)
                ))
            })? as i128,
            other => {
                return Err(conversion(format!(
                    "MongoDB {{\"$date\": {{\"$numberLong\": …}}}} holds {}, not a string",
                    json_kind(other)
                )))
            }
        },
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            conversion(format!(
                "MongoDB {{\"$date\": {n}}} is not a whole number of milliseconds"
            ))
        })? as i128,
        other => {
            return Err(conversion(format!(
                "MongoDB {{\"$date\": …}} holds {}, not a timestamp",
                json_kind(other)
            )))
        }
    };
    let ms = i64::try_from(millis)
        .map_err(|_| conversion("MongoDB $date is out of range".to_string()))?;
    Ok(match timestamps {
        Timestamps::Rfc3339 => {
            let mut out = Vec::with_capacity(24);
            crate::model::temporal::write_timestamp(ms, 3, true, &mut out);
            AttrValue::S(String::from_utf8(out).expect("ASCII"))
        }
        Timestamps::Epoch(digits) => {
            let v: i128 = match digits {
                0 => ms.div_euclid(1000) as i128,
                d if d <= 3 => ms as i128 / 10i128.pow(3 - d),
                d => ms as i128 * 10i128.pow(d - 3),
            };
            AttrValue::N(v.to_string())
        }
    })
}

/// A value as `target` asks: `Auto` and `Json` keep its own type; the others convert what
/// converts (a number to S, numeric text to N, base64 text to B, an array or delimited text to
/// a set) and refuse the rest.
fn coerce(v: AttrValue, target: &Target) -> Result<AttrValue, RuleFailure> {
    let refuse = |v: &AttrValue| {
        Err(conversion(format!(
            "a JSON {} value cannot be written as {target}",
            v.type_name()
        )))
    };
    Ok(match (target, v) {
        (Target::Auto | Target::Json, v) => v,
        (Target::S, v @ AttrValue::S(_)) => v,
        (Target::S, AttrValue::N(n)) => AttrValue::S(n),
        (Target::N, v @ AttrValue::N(_)) => v,
        (Target::N, AttrValue::S(s)) => {
            text_number(&s, &mut Vec::new())?;
            AttrValue::N(s)
        }
        (Target::B, v @ AttrValue::B(_)) => v,
        (Target::B, AttrValue::S(s)) => {
            let mut b = Vec::new();
            text_base64(&s, &mut b)?;
            AttrValue::B(b)
        }
        (Target::Bool, v @ AttrValue::Bool(_)) => v,
        (Target::Bool, AttrValue::S(s)) => AttrValue::Bool(text_bool(&s)?),
        (Target::L, v @ AttrValue::L(_)) => v,
        (Target::M, v @ AttrValue::M(_)) => v,
        (Target::Set { kind, delim }, v) => {
            let members: Vec<AttrValue> = match v {
                AttrValue::L(items) => items,
                AttrValue::S(s) => s
                    .split(delim.as_deref().unwrap_or(","))
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| AttrValue::S(p.to_string()))
                    .collect(),
                other => return refuse(&other),
            };
            let member = |m: &AttrValue| {
                conversion(format!(
                    "a {} member of a {} set; its members are {}",
                    m.type_name(),
                    kind.as_str(),
                    match kind {
                        AttrType::NS => "numbers or numeric strings",
                        AttrType::BS => "base64 strings",
                        _ => "strings or numbers",
                    }
                ))
            };
            match kind {
                AttrType::NS => AttrValue::NS(
                    members
                        .into_iter()
                        .map(|m| match m {
                            AttrValue::N(n) => Ok(n),
                            AttrValue::S(s) => text_number(&s, &mut Vec::new()).map(|_| s),
                            m => Err(member(&m)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                AttrType::BS => AttrValue::BS(
                    members
                        .into_iter()
                        .map(|m| match m {
                            AttrValue::B(b) => Ok(b),
                            AttrValue::S(s) => {
                                let mut b = Vec::new();
                                text_base64(&s, &mut b).map(|()| b)
                            }
                            m => Err(member(&m)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => AttrValue::SS(
                    members
                        .into_iter()
                        .map(|m| match m {
                            AttrValue::S(s) | AttrValue::N(s) => Ok(s),
                            m => Err(member(&m)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
            }
        }
        (_, v) => return refuse(&v),
    })
}

pub(crate) fn utf8_cells(a: &dyn Array) -> Result<StringArray, String> {
    a.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| format!("a column of JSON cells is {}, not Utf8", a.data_type()))
}

/// One field of JSON documents, written as `target`.
pub(crate) struct JsonCellEnc {
    a: StringArray,
    target: Target,
    mongo: Option<Timestamps>,
}

impl JsonCellEnc {
    pub(crate) fn new(
        a: &dyn Array,
        target: &Target,
        mongo: Option<Timestamps>,
    ) -> Result<Self, String> {
        Ok(JsonCellEnc {
            a: utf8_cells(a)?,
            target: target.clone(),
            mongo,
        })
    }

    fn value(&self, i: usize) -> Result<AttrValue, RuleFailure> {
        coerce(to_attr(&parse(self.a.value(i))?, self.mongo)?, &self.target)
    }

    /// [`ColumnEncoder::raw`] of a string without escapes or of a number, as S or N, straight
    /// from its JSON text (the cells are the text of valid JSON values); `None` for anything
    /// else, which takes the full path.
    fn raw_plain(&self, text: &str, buf: &mut Vec<u8>) -> Result<Option<AttrType>, RuleFailure> {
        let b = text.as_bytes();
        let string = b.len() >= 2 && b[0] == b'"' && !b[1..].contains(&b'\\');
        let number = matches!(b.first(), Some(b'-' | b'0'..=b'9'));
        Ok(match (&self.target, string, number) {
            (Target::Auto | Target::Json | Target::S, true, _) => {
                buf.extend_from_slice(&b[1..b.len() - 1]);
                Some(AttrType::S)
            }
            (Target::Auto | Target::Json | Target::N, _, true) => {
                number_raw(text, buf)?;
                Some(AttrType::N)
            }
            (Target::S, _, true) => {
                buf.extend_from_slice(b);
                Some(AttrType::S)
            }
            _ => None,
        })
    }
}

impl ColumnEncoder for JsonCellEnc {
    /// Absent (Arrow's null) or JSON's `null`.
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i) || self.a.value(i) == "null"
    }
    fn absent(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::Ask
    }
    fn ty(&self) -> Option<AttrType> {
        match &self.target {
            Target::Auto | Target::Json => None,
            Target::S => Some(AttrType::S),
            Target::N => Some(AttrType::N),
            Target::B => Some(AttrType::B),
            Target::Bool => Some(AttrType::Bool),
            Target::Set { kind, .. } => Some(*kind),
            Target::L => Some(AttrType::L),
            Target::M => Some(AttrType::M),
        }
    }
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        // Keys are plain strings and numbers: read from their text, without a tree.
        if let Some(ty) = self.raw_plain(self.a.value(i), buf)? {
            return Ok(ty);
        }
        let v = self.value(i)?;
        if let AttrValue::N(n) = &v {
            number_raw(n, buf)?;
            return Ok(AttrType::N);
        }
        attr_raw(&v, buf)
    }
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        // A plain string or number as its text says (a number made S keeps its text as
        // written); anything else through the tree.
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let plain = self.raw_plain(self.a.value(i), &mut buf);
        let r = match plain {
            Ok(Some(ty)) => Ok(WriteOutcome::Written {
                ty,
                size: w.scalar(ty, &buf),
            }),
            Ok(None) => self.value(i).and_then(|v| write_attr(&v, w)),
            Err(f) => Err(f),
        };
        w.scratch = buf;
        r
    }
}

/// What a JSON cell is as text, for templates and TTL computations: a string's text, a
/// number's, `true`/`false`, a MongoDB wrapper's value (a `$date` as RFC 3339); `None` for
/// null, arrays and objects. The flag says whether the value is a number.
pub(crate) fn scalar_text(cell: &str, mongo: bool) -> Option<(String, bool)> {
    let v = serde_json::from_str::<Value>(cell).ok()?;
    let mongo = mongo.then_some(Timestamps::Rfc3339);
    match to_attr(&v, mongo).ok()? {
        AttrValue::S(s) => Some((s, false)),
        AttrValue::N(n) => Some((n, true)),
        AttrValue::Bool(b) => Some((b.to_string(), false)),
        _ => None,
    }
}

/// A column of JSON cells as plain text ([`scalar_text`]), for the shaping step: `null`, like
/// an absent field, is null there.
pub fn text_view(a: &dyn Array, mongo: bool) -> Result<StringArray, String> {
    let cells = utf8_cells(a)?;
    Ok(cells
        .iter()
        .map(|c| c.and_then(|c| scalar_text(c, mongo)).map(|(t, _)| t))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Nulls, Syntax};

    fn written(v: &Value, mongo: Option<Timestamps>, target: &Target) -> Result<String, String> {
        let av = to_attr(v, mongo)
            .and_then(|a| coerce(a, target))
            .map_err(|e| format!("{} {}", e.rule.code, e.message))?;
        let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
        write_attr(&av, &mut w).map_err(|e| format!("{} {}", e.rule.code, e.message))?;
        Ok(String::from_utf8(w.out).unwrap())
    }

    fn j(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn plain_json_types() {
        for (doc, want) in [
            (r#""a\"b""#, r#"{"S":"a\"b"}"#),
            (
                "12345678901234567890123456789012345678",
                r#"{"N":"12345678901234567890123456789012345678"}"#,
            ),
            ("1.50e3", r#"{"N":"1500"}"#),
            ("-0.000", r#"{"N":"0"}"#),
            ("true", r#"{"BOOL":true}"#),
            ("null", r#"{"NULL":true}"#),
            (
                r#"[1,"x",null,[]]"#,
                r#"{"L":[{"N":"1"},{"S":"x"},{"NULL":true},{"L":[]}]}"#,
            ),
            (
                r#"{"b":{"c":false}}"#,
                r#"{"M":{"b":{"M":{"c":{"BOOL":false}}}}}"#,
            ),
            (r#"{"$oid":"x"}"#, r#"{"M":{"$oid":{"S":"x"}}}"#),
        ] {
            assert_eq!(
                written(&j(doc), None, &Target::Auto).unwrap(),
                want,
                "{doc}"
            );
        }
        let e = written(&j("1e200"), None, &Target::Auto).unwrap_err();
        assert!(e.starts_with("N003"), "{e}");
        assert!(written(
            &j("123456789012345678901234567890123456789"),
            None,
            &Target::Auto
        )
        .is_err());
    }

    #[test]
    fn targets_convert_what_converts() {
        let t = |s: &str| match s {
            "S" => Target::S,
            "N" => Target::N,
            "B" => Target::B,
            "BOOL" => Target::Bool,
            "L" => Target::L,
            "M" => Target::M,
            "SS" => Target::Set {
                kind: AttrType::SS,
                delim: None,
            },
            "SS:;" => Target::Set {
                kind: AttrType::SS,
                delim: Some(";".into()),
            },
            "NS" => Target::Set {
                kind: AttrType::NS,
                delim: None,
            },
            other => unreachable!("{other}"),
        };
        for (doc, target, want) in [
            ("12", "S", Ok(r#"{"S":"12"}"#)),
            (r#""12.0""#, "N", Ok(r#"{"N":"12"}"#)),
            (r#""aGk=""#, "B", Ok(r#"{"B":"aGk="}"#)),
            (r#""TRUE""#, "BOOL", Ok(r#"{"BOOL":true}"#)),
            (r#"["b","a",3]"#, "SS", Ok(r#"{"SS":["b","a","3"]}"#)),
            (r#"[2,"1.0"]"#, "NS", Ok(r#"{"NS":["2","1"]}"#)),
            (r#""a; b;;c""#, "SS:;", Ok(r#"{"SS":["a","b","c"]}"#)),
            ("[1]", "L", Ok(r#"{"L":[{"N":"1"}]}"#)),
            (r#""x""#, "N", Err("V005")),
            ("true", "S", Err("V005")),
            ("[1]", "M", Err("V005")),
            (r#"[{"a":1}]"#, "SS", Err("V005")),
            (r#"["a","a"]"#, "SS", Err("T002")),
        ] {
            let got = written(&j(doc), None, &t(target));
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(w), "{doc} as {target}"),
                Err(code) => {
                    let e = got.unwrap_err();
                    assert!(e.starts_with(code), "{doc} as {target}: {e}");
                }
            }
        }
    }

    #[test]
    fn mongodb_wrappers() {
        let m = Some(Timestamps::Rfc3339);
        for (doc, want) in [
            (
                r#"{"$oid":"5f1a2b3c4d5e6f7a8b9c0d1e"}"#,
                r#"{"S":"5f1a2b3c4d5e6f7a8b9c0d1e"}"#,
            ),
            (
                r#"{"$date":"2020-01-02T03:04:05.678Z"}"#,
                r#"{"S":"2020-01-02T03:04:05.678Z"}"#,
            ),
            (
                r#"{"$date":"2020-01-02T04:04:05+01:00"}"#,
                r#"{"S":"2020-01-02T03:04:05.000Z"}"#,
            ),
            (
                r#"{"$date":{"$numberLong":"-1000"}}"#,
                r#"{"S":"1969-12-31T23:59:59.000Z"}"#,
            ),
            (
                r#"{"$date":1577836800000}"#,
                r#"{"S":"2020-01-01T00:00:00.000Z"}"#,
            ),
            (
                r#"{"$numberLong":"9223372036854775807"}"#,
                r#"{"N":"9223372036854775807"}"#,
            ),
            (r#"{"$numberInt":"-5"}"#, r#"{"N":"-5"}"#),
            (r#"{"$numberDouble":"1.5E+3"}"#, r#"{"N":"1500"}"#),
            (
                r#"{"$numberDecimal":"1234567890.123456789012345678901234"}"#,
                r#"{"N":"1234567890.123456789012345678901234"}"#,
            ),
            (
                r#"{"$binary":{"base64":"aGk=","subType":"00"}}"#,
                r#"{"B":"aGk="}"#,
            ),
            (
                r#"{"$binary":{"base64":"ASNFZ4mrze/+3LqYdlQyEA==","subType":"04"}}"#,
                r#"{"S":"01234567-89ab-cdef-fedc-ba9876543210"}"#,
            ),
            (r#"{"$binary":"aGk=","$type":"00"}"#, r#"{"B":"aGk="}"#),
            (
                r#"{"$uuid":"01234567-89ab-cdef-fedc-ba9876543210"}"#,
                r#"{"S":"01234567-89ab-cdef-fedc-ba9876543210"}"#,
            ),
            (
                r#"{"$timestamp":{"t":1,"i":2}}"#,
                r#"{"M":{"$timestamp":{"M":{"t":{"N":"1"},"i":{"N":"2"}}}}}"#,
            ),
            (
                r#"{"$oid":"a","x":1}"#,
                r#"{"M":{"$oid":{"S":"a"},"x":{"N":"1"}}}"#,
            ),
            (r#"[{"$numberLong":"1"}]"#, r#"{"L":[{"N":"1"}]}"#),
        ] {
            assert_eq!(written(&j(doc), m, &Target::Auto).unwrap(), want, "{doc}");
        }
        for (digits, want) in [(0, "-1"), (3, "-1"), (6, "-1000")] {
            assert_eq!(
                written(
                    &j(r#"{"$date":{"$numberLong":"-1"}}"#),
                    Some(Timestamps::Epoch(digits)),
                    &Target::Auto
                )
                .unwrap(),
                format!(r#"{{"N":"{want}"}}"#)
            );
        }
        for (doc, code) in [
            (r#"{"$numberDouble":"NaN"}"#, "N005"),
            (r#"{"$oid":5}"#, "V005"),
            (r#"{"$date":"yesterday"}"#, "V005"),
            (r#"{"$numberLong":"12x"}"#, "N001"),
        ] {
            let e = written(&j(doc), m, &Target::Auto).unwrap_err();
            assert!(e.starts_with(code), "{doc}: {e}");
        }
        assert_eq!(
            scalar_text(r#"{"$date":"2020-01-02T03:04:05Z"}"#, true),
            Some(("2020-01-02T03:04:05.000Z".into(), false))
        );
        assert_eq!(scalar_text("12.50", false), Some(("12.50".into(), true)));
        assert_eq!(scalar_text("[1]", false), None);
    }
}
