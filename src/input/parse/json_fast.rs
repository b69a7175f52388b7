//! The fast path for DynamoDB JSON lines: serde straight into the item model, no
//! `serde_json::Value` in between. It accepts a line only if the full parser would accept it
//! with the same item; anything else (errors, duplicate keys) goes to the full parser, which then
//! says exactly what is wrong. Tests cross-check the two on every fixture line.

use super::{AttrValue, Item};
use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parse a line, or `None` when the full parser must look at it.
pub(super) fn parse_line(line: &str) -> Option<Item> {
    let mut de = serde_json::Deserializer::from_str(line);
    let item = de.deserialize_map(LineVisitor).ok()?;
    de.end().ok()?;
    Some(item)
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("{\"Item\":{...}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Item, A::Error> {
        let key: std::borrow::Cow<'de, str> = m
            .next_key()?
            .ok_or_else(|| de::Error::custom("empty line object"))?;
        if key != "Item" {
            return Err(de::Error::custom("not Item"));
        }
        let item = m.next_value_seed(AttrMapSeed)?;
        if m.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("more than Item"));
        }
        Ok(item)
    }
}

struct AttrMapSeed;

impl<'de> DeserializeSeed<'de> for AttrMapSeed {
    type Value = Vec<(String, AttrValue)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(AttrMapVisitor)
    }
}

struct AttrMapVisitor;

impl<'de> Visitor<'de> for AttrMapVisitor {
    type Value = Vec<(String, AttrValue)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of attribute values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(String, AttrValue)> = Vec::new();
        while let Some(k) = m.next_key::<String>()? {
            let v = m.next_value_seed(ValueSeed)?;
            out.push((k, v));
        }
        // A repeated name goes to the full parser, which reports it. Sorted names, not a scan
        // per name: an item may hold 100,000 attributes.
        let repeated = if out.len() <= 8 {
            (1..out.len()).any(|i| out[..i].iter().any(|(n, _)| *n == out[i].0))
        } else {
            let mut names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
            names.sort_unstable();
            names.windows(2).any(|w| w[0] == w[1])
        };
        if repeated {
            return Err(de::Error::custom("duplicate attribute name"));
        }
        Ok(out)
    }
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = AttrValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<AttrValue, D::Error> {
        d.deserialize_map(ValueVisitor)
    }
}

struct ValueVisitor;

struct ListSeed;

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<AttrValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<AttrValue>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of attribute values")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element_seed(ValueSeed)? {
                    out.push(v);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

fn b64<E: de::Error>(s: &str) -> Result<Vec<u8>, E> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| E::custom("bad base64"))
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = AttrValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<AttrValue, A::Error> {
        let desc: std::borrow::Cow<'de, str> = m
            .next_key()?
            .ok_or_else(|| de::Error::custom("no descriptor"))?;
        let v = match desc.as_ref() {
            "S" => AttrValue::S(m.next_value()?),
            "N" => AttrValue::N(m.next_value()?),
            "B" => AttrValue::B(b64(&m.next_value::<std::borrow::Cow<'de, str>>()?)?),
            "BOOL" => AttrValue::Bool(m.next_value()?),
            "NULL" => {
                if !m.next_value::<bool>()? {
                    return Err(de::Error::custom("NULL false"));
                }
                AttrValue::Null
            }
            "L" => AttrValue::L(m.next_value_seed(ListSeed)?),
            "M" => AttrValue::M(m.next_value_seed(AttrMapSeed)?),
            "SS" => AttrValue::SS(m.next_value()?),
            "NS" => AttrValue::NS(m.next_value()?),
            "BS" => {
                let v: Vec<std::borrow::Cow<'de, str>> = m.next_value()?;
                AttrValue::BS(v.iter().map(|s| b64(s)).collect::<Result<_, _>>()?)
            }
            _ => return Err(de::Error::custom("unknown descriptor")),
        };
        if m.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("several descriptors"));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with the full parser: same item when it accepts, and it never
    /// accepts a line the full parser refuses.
    #[test]
    fn agrees_with_the_full_parser() {
        let lines = [
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.50"},"b":{"B":"aGk="},"t":{"BOOL":true},"z":{"NULL":true},"l":{"L":[{"S":"x"},{"N":"2"},{"L":[]}]},"m":{"M":{"k":{"S":"v"},"e":{"M":{}}}},"ss":{"SS":["a","b"]},"ns":{"NS":["1"]},"bs":{"BS":["aGk="]}}}"#,
            r#"{"Item":{"pk":{"S":"we\"ird\\ \u00e9 \ud83d\ude00"}}}"#,
            r#"{"Item":{}}"#,
            r#"  {"Item":{"pk":{"S":"a"}}}  "#,
            r#"{"Item":{"pk":{"S":"a"}}"#,
            r#"{"pk":{"S":"a"}}"#,
            r#"[{"Item":{}}]"#,
            r#"{"Item":{"pk":{"S":"a"}},"x":1}"#,
            r#"{"Item":{"pk":{"STR":"a"}}}"#,
            r#"{"Item":{"pk":{"S":"a","N":"1"}}}"#,
            r#"{"Item":{"pk":{}}}"#,
            r#"{"Item":{"x":{"NULL":false}}}"#,
            r#"{"Item":{"x":{"B":"aGk"}}}"#,
            r#"{"Item":{"x":{"N":1}}}"#,
            r#"{"Item":{"x":{"SS":["a",1]}}}"#,
            r#"{"Item":{"x":{"S":"\ud800"}}}"#,
            r#"{"Item":{"a":{"S":"1"},"a":{"S":"2"}}}"#,
            r#"{"Item":{"pk":{"S":"a"}},"Item":{"pk":{"S":"b"}}}"#,
            r#"{"Item":{"x":{"BS":["aGk=","!!"]}}}"#,
            r#"{"Item":{"x":{"L":[{"S":"a"},{"Q":"b"}]}}}"#,
            r#"{"Item":{"x":{"BOOL":"true"}}}"#,
            r#"{"Item":{"x":{"M":[]}}}"#,
            r#"{"Item":{"pk":{"S":"a"}}} trailing"#,
        ];
        for l in lines {
            let full = super::super::json::parse_line(l);
            if let Some(fast) = parse_line(l) {
                assert_eq!(Ok(fast), full, "{l}");
            }
        }
        assert!(
            parse_line(lines[0]).is_some(),
            "the common case takes the fast path"
        );
        assert!(parse_line(lines[1]).is_some());
    }
}
