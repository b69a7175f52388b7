//! The fields of plain JSON documents that no option names, streamed from the document's text
//! into the item as top-level attributes: serde_json's tokens drive visitors that write each
//! value as they read it (no tree in between), checking names, repeated names, numbers and
//! nesting on the way. MongoDB's wrappers, small objects, are read whole and mapped by
//! [`super::json_values`].

use super::attrs::{number_raw, write_attr};
use super::json_values::{mongo_scalar, parse, to_attr, utf8_cells};
use super::target::Timestamps;
use super::WriteOutcome;
use super::{check_name, AttrType, ColumnEncoder, ItemWriter, NullMask, Nulls, RuleFailure};
use crate::input::json_docs::{repeated_message, too_deep_message, Name, SeenNames, NUMBER_TOKEN};
use crate::model::rules;
use arrow_array::{Array, StringArray};
use serde_json::Value;

/// The fields of JSON documents that no option names: each a top-level attribute. The cells
/// are the whole documents; the fields the options name (`skip`) are written by their columns.
pub(crate) struct JsonRestEnc {
    a: StringArray,
    mongo: Option<Timestamps>,
    skip: Vec<String>,
}

impl JsonRestEnc {
    pub(crate) fn new(
        a: &dyn Array,
        mongo: Option<Timestamps>,
        skip: Vec<String>,
    ) -> Result<Self, String> {
        Ok(JsonRestEnc {
            a: utf8_cells(a)?,
            mongo,
            skip,
        })
    }
}

impl ColumnEncoder for JsonRestEnc {
    fn is_null(&self, i: usize) -> bool {
        self.a.is_null(i)
    }
    fn null_mask(&self) -> NullMask {
        NullMask::of(self.a.nulls())
    }
    fn ty(&self) -> Option<AttrType> {
        None
    }
    fn spreads(&self) -> bool {
        true
    }
    fn write_spread(
        &self,
        i: usize,
        w: &mut ItemWriter,
        first: &mut bool,
    ) -> Result<usize, RuleFailure> {
        write_fields(self.a.value(i), &self.skip, self.mongo, w, first)
    }
}

/// One document's values streamed from their JSON text into the item, without a tree in
/// between: the way every document's fields that no option names are written.
struct Stream<'w> {
    w: &'w mut ItemWriter,
    mongo: Option<Timestamps>,
    /// The rule a value broke (serde's error only says that one did).
    failed: Option<RuleFailure>,
}

impl Stream<'_> {
    fn fail<E: serde::de::Error>(&mut self, f: RuleFailure) -> E {
        self.failed = Some(f);
        E::custom("rule")
    }
}

/// What a streamed value was: a null (not written: the caller decides), or written with its
/// DynamoDB size.
enum Streamed {
    Null,
    Size(usize),
}

struct ValueSeed<'s, 'w>(&'s mut Stream<'w>);

impl<'de> serde::de::DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Streamed;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Streamed, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Streamed;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Streamed, E> {
        Ok(Streamed::Size(self.0.w.bool(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Streamed, E> {
        Ok(Streamed::Size(self.0.w.s(v)))
    }
    fn visit_unit<E>(self) -> Result<Streamed, E> {
        Ok(Streamed::Null)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Streamed, E> {
        self.number(&v.to_string())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Streamed, E> {
        self.number(&v.to_string())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Streamed, E> {
        self.number(&v.to_string())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Streamed, A::Error> {
        let st = self.0;
        if let Err(f) = st.w.open(AttrType::L) {
            return Err(st.fail(f));
        }
        let mut size = 3;
        let mut k = 0usize;
        loop {
            if k > 0 {
                st.w.out.push(b',');
            }
            match seq.next_element_seed(ValueSeed(st))? {
                None => {
                    if k > 0 {
                        st.w.out.pop();
                    }
                    break;
                }
                Some(Streamed::Null) => size += 1 + st.w.null(),
                Some(Streamed::Size(s)) => size += 1 + s,
            }
            k += 1;
        }
        st.w.close(AttrType::L);
        Ok(Streamed::Size(size))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Streamed, A::Error> {
        let st = self.0;
        let Some(Name(first)) = map.next_key::<Name<'de>>()? else {
            if let Err(f) = st.w.open(AttrType::M) {
                return Err(st.fail(f));
            }
            st.w.close(AttrType::M);
            return Ok(Streamed::Size(3));
        };
        if first == NUMBER_TOKEN {
            let Name(text) = map.next_value::<Name<'de>>()?;
            return ValueSeed(st).number(&text);
        }
        if let (Some(t), true) = (st.mongo, first.starts_with('$')) {
            // A MongoDB wrapper, or a map whose first name starts with `$`: read whole (they
            // are small), then written as the wrapper's value or as the map it is.
            // Each value is taken as its text and parsed on its own, so that a name repeated
            // inside it is found (a tree keeps one of the two).
            let mut m = serde_json::Map::new();
            let mut key = Some(first.into_owned());
            while let Some(k) = key {
                if m.contains_key(&k) {
                    return Err(st.fail(repeated(&k)));
                }
                let raw = map.next_value::<&'de serde_json::value::RawValue>()?;
                match parse(raw.get()) {
                    Ok(v) => m.insert(k, v),
                    Err(f) => return Err(st.fail(f)),
                };
                key = map.next_key::<String>()?;
            }
            let written = match mongo_scalar(&m, t) {
                Ok(Some(v)) => write_attr(&v, st.w),
                Ok(None) => to_attr(&Value::Object(m), st.mongo).and_then(|v| write_attr(&v, st.w)),
                Err(f) => Err(f),
            };
            return match written {
                Ok(WriteOutcome::Written { size, .. }) => Ok(Streamed::Size(size)),
                Ok(WriteOutcome::Omit) => Ok(Streamed::Null),
                Err(f) => Err(st.fail(f)),
            };
        }
        if let Err(f) = st.w.open(AttrType::M) {
            return Err(st.fail(f));
        }
        let mut size = 3;
        let mut seen = SeenNames::default();
        let mut key = Some(first);
        let mut first_name = true;
        while let Some(k) = key {
            if let Err(f) = check_name(&k) {
                return Err(st.fail(f));
            }
            if !seen.insert(k.clone()) {
                return Err(st.fail(repeated(&k)));
            }
            st.w.name(&k, first_name);
            first_name = false;
            size += 1 + k.len();
            size += match map.next_value_seed(ValueSeed(st))? {
                Streamed::Null => st.w.null(),
                Streamed::Size(s) => s,
            };
            key = map.next_key::<Name<'de>>()?.map(|n| n.0);
        }
        st.w.close(AttrType::M);
        Ok(Streamed::Size(size))
    }
}

impl ValueSeed<'_, '_> {
    fn number<E: serde::de::Error>(self, text: &str) -> Result<Streamed, E> {
        match self.0.w.n_with(|out| number_raw(text, out)) {
            Ok(size) => Ok(Streamed::Size(size)),
            Err(f) => Err(self.0.fail(f)),
        }
    }
}

fn repeated(name: &str) -> RuleFailure {
    RuleFailure::new(&rules::DUPLICATE_NAME, repeated_message(name))
}

/// A document's top-level fields, but those in `skip`, each written as an attribute.
struct TopSeed<'s, 'w, 'k> {
    st: &'s mut Stream<'w>,
    skip: &'k [String],
    first: &'s mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for TopSeed<'_, '_, '_> {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopSeed<'_, '_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let st = self.st;
        let mut size = 0;
        while let Some(Name(k)) = map.next_key::<Name<'de>>()? {
            if self.skip.iter().any(|s| *s == k) {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let at =
                |f: RuleFailure| RuleFailure::new(f.rule, format!("attribute {k}: {}", f.message));
            if let Err(f) = check_name(&k) {
                return Err(st.fail(at(f)));
            }
            let mark = st.w.out.len();
            st.w.name(&k, *self.first);
            match map.next_value_seed(ValueSeed(st)) {
                Ok(Streamed::Null) if st.w.nulls == Nulls::Null => {
                    size += k.len() + st.w.null();
                    *self.first = false;
                }
                Ok(Streamed::Null) => st.w.out.truncate(mark),
                Ok(Streamed::Size(s)) => {
                    size += k.len() + s;
                    *self.first = false;
                }
                Err(e) => {
                    if let Some(f) = st.failed.take() {
                        st.failed = Some(at(f));
                    }
                    return Err(e);
                }
            }
        }
        Ok(size)
    }
}

/// Write the top-level fields of document `text` but those in `skip` as attributes (nulls as
/// `--nulls` says); returns their size. Nested values are checked as they are written: names,
/// repeated names, numbers, nesting.
pub(crate) fn write_fields(
    text: &str,
    skip: &[String],
    mongo: Option<Timestamps>,
    w: &mut ItemWriter,
    first: &mut bool,
) -> Result<usize, RuleFailure> {
    use serde::de::DeserializeSeed;
    let mut st = Stream {
        w,
        mongo,
        failed: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let r = TopSeed {
        st: &mut st,
        skip,
        first,
    }
    .deserialize(&mut de)
    .and_then(|size| de.end().map(|()| size));
    r.map_err(|e| match st.failed.take() {
        Some(f) => f,
        None if e.to_string().starts_with("recursion limit exceeded") => {
            RuleFailure::new(&rules::NESTING_TOO_DEEP, too_deep_message())
        }
        None => RuleFailure::new(&rules::JSON_NOT_PARSEABLE, format!("not valid JSON: {e}")),
    })
}
