//! Encoding Arrow values as DynamoDB attribute values, straight into output bytes.
//!
//! Column encoders (`ColumnEncoder`) write one value at a time into a reused buffer and return the type and
//! the DynamoDB size of what they wrote, so the item checks (keys, size, nesting) run in the same
//! pass as the encoding. The surface syntax (DynamoDB JSON or Ion text) is a small enum so the
//! same encoders serve both outputs.

pub use crate::model::bytes::{base64_into, put};
pub(crate) use escape::special_in_word;
pub use escape::{escape_into, find_escape, find_special};
#[doc(hidden)]
pub mod arrow_rows;
pub(crate) mod attrs;
pub(crate) mod escape;
#[doc(hidden)]
pub mod item_lines;
pub(crate) mod json_stream;
pub mod json_values;
#[doc(hidden)]
pub mod nested;
#[doc(hidden)]
pub mod plain;
#[doc(hidden)]
pub mod plan;
pub(crate) mod scalar;
#[doc(hidden)]
pub mod scan;
pub(crate) mod sets;
pub mod target;
pub(crate) mod text;
mod writer;

pub use writer::{ItemWriter, Recycled};

use crate::model::number;
use crate::model::rules::{self, Rule};

/// DynamoDB attribute value types. In the order of a profile's type tallies, which index them
/// by `as u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrType {
    S,
    N,
    B,
    Bool,
    Null,
    L,
    M,
    SS,
    NS,
    BS,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::S => "S",
            AttrType::N => "N",
            AttrType::B => "B",
            AttrType::Bool => "BOOL",
            AttrType::Null => "NULL",
            AttrType::L => "L",
            AttrType::M => "M",
            AttrType::SS => "SS",
            AttrType::NS => "NS",
            AttrType::BS => "BS",
        }
    }
}

/// The output surface syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `{"Item":{"pk":{"S":"a"}}}` lines (InputFormat DYNAMODB_JSON).
    Json,
    /// `$ion_1_0 {Item:{"pk":"a"}}` lines (InputFormat ION).
    Ion,
}

impl Syntax {
    pub fn import_format(self) -> &'static str {
        match self {
            Syntax::Json => "DYNAMODB_JSON",
            Syntax::Ion => "ION",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Syntax::Json => "json",
            Syntax::Ion => "ion",
        }
    }
}

/// How null values of top-level attributes and struct fields are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nulls {
    Omit,
    Null,
}

/// A value that could not be encoded: which rule it breaks and a message naming what and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFailure {
    pub rule: &'static Rule,
    pub message: String,
}

impl RuleFailure {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        RuleFailure {
            rule,
            message: message.into(),
        }
    }
}

/// What an encoder wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Written {
        ty: AttrType,
        size: usize,
    },
    /// Nothing to write (an empty set): the attribute is left out.
    Omit,
}

/// The heads of JSON values whose type is fixed by their column (see [`ColumnEncoder::json_head`]).
pub(crate) const HEAD_S: &[u8] = b"{\"S\":\"";
pub(crate) const HEAD_N: &[u8] = b"{\"N\":\"";
pub(crate) const HEAD_BOOL: &[u8] = b"{\"BOOL\":";

/// `,"name":` with the name escaped, for [`ItemWriter::quoted_name`]. The escapes are the same in JSON
/// and Ion.
pub(crate) fn quoted_name(name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 4);
    v.extend_from_slice(b",\"");
    escape_into(name.as_bytes(), &mut v);
    v.extend_from_slice(b"\":");
    v
}

/// Map keys become attribute names: 1 to 65,535 bytes.
pub(crate) fn check_name(name: &str) -> Result<(), RuleFailure> {
    if name.is_empty() {
        return Err(RuleFailure::new(
            &rules::ATTRIBUTE_NAME_EMPTY,
            "a map has an empty key",
        ));
    }
    if name.len() > rules::MAX_ATTRIBUTE_NAME_BYTES {
        return Err(RuleFailure::new(
            &rules::ATTRIBUTE_NAME_TOO_LONG,
            format!(
                "a map key is {} bytes; attribute names may be at most {}",
                name.len(),
                rules::MAX_ATTRIBUTE_NAME_BYTES
            ),
        ));
    }
    Ok(())
}

/// Which values of a column are null, when that is all [`ColumnEncoder::is_null`] would look at: the item
/// loop then tests a bit instead of making a call per value.
pub enum NullMask {
    /// No value is null.
    NoNulls,
    /// Null where the bit is clear.
    Bits(arrow_buffer::NullBuffer),
    /// Ask [`ColumnEncoder::is_null`] (dictionary values, columns of nulls, ...).
    Ask,
}

impl NullMask {
    /// From an Arrow array's validity bitmap.
    pub fn of(nulls: Option<&arrow_buffer::NullBuffer>) -> Self {
        match nulls {
            Some(b) if b.null_count() > 0 => NullMask::Bits(b.clone()),
            _ => NullMask::NoNulls,
        }
    }
}

/// One Arrow column (or child array) as DynamoDB values.
pub trait ColumnEncoder: Send + Sync {
    fn is_null(&self, i: usize) -> bool;

    /// Whether null value `i` is absent rather than null (a field a JSON document does not
    /// have, against one that is `null`): `--nulls null` writes NULL for null values only.
    fn absent(&self, i: usize) -> bool {
        let _ = i;
        false
    }

    /// See [`NullMask`]; encoders whose `is_null` reads only their array's validity bitmap say so.
    fn null_mask(&self) -> NullMask {
        NullMask::Ask
    }

    /// The type every non-null value gets, when it is fixed (`None` for JSON cells).
    fn ty(&self) -> Option<AttrType>;

    /// Raw scalar form (string bytes, canonical number text, raw binary) of value `i`, for keys
    /// and set members. Non-scalar encoders refuse.
    fn raw(&self, i: usize, buf: &mut Vec<u8>) -> Result<AttrType, RuleFailure> {
        let _ = (i, buf);
        Err(RuleFailure::new(
            &rules::KEY_NESTED,
            format!(
                "a {} value cannot be a key or set member",
                self.ty().map(AttrType::as_str).unwrap_or("JSON")
            ),
        ))
    }

    /// The JSON text every written value of this encoder starts with (`{"N":"`), when there is
    /// one: the item loop then writes it together with the attribute's name, and the value's
    /// remainder with [`ColumnEncoder::write_rest`].
    fn json_head(&self) -> Option<&'static [u8]> {
        None
    }

    /// Value `i` (not null) in JSON, less its [`ColumnEncoder::json_head`]. Only called on encoders that
    /// have a head.
    fn write_rest(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let _ = (i, w);
        unreachable!("write_rest is only called where json_head is Some")
    }

    /// Whether value `i` is several top-level attributes (the fields of JSON documents that no
    /// option names) rather than one: the item loop then calls [`ColumnEncoder::write_spread`].
    fn spreads(&self) -> bool {
        false
    }

    /// Write value `i` (not null) as top-level attributes, each with its name (the first one
    /// of the item with none before it, as `first` says; set false once one is written).
    /// Returns their size, names included.
    fn write_spread(
        &self,
        i: usize,
        w: &mut ItemWriter,
        first: &mut bool,
    ) -> Result<usize, RuleFailure> {
        let _ = (i, w, first);
        unreachable!("write_spread is only called where spreads is true")
    }

    /// Write value `i` (not null) in the output syntax.
    fn write(&self, i: usize, w: &mut ItemWriter) -> Result<WriteOutcome, RuleFailure> {
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let r = self.raw(i, &mut buf).map(|ty| WriteOutcome::Written {
            ty,
            size: w.scalar(ty, &buf),
        });
        w.scratch = buf;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The null mask says what `is_null` says, for whole and sliced arrays, with and without
    /// nulls.
    #[test]
    fn null_masks_agree_with_is_null() {
        use arrow_array::{Array, Int64Array};
        let with = Int64Array::from(vec![Some(1), None, Some(3), None, Some(5), Some(6)]);
        let without = Int64Array::from(vec![1, 2, 3]);
        for a in [with.clone(), with.slice(1, 4), with.slice(4, 2), without] {
            let enc = scalar::IntEnc {
                a: a.clone(),
                as_text: false,
            };
            let mask = enc.null_mask();
            if a.null_count() == 0 {
                assert!(matches!(mask, NullMask::NoNulls));
            }
            for i in 0..a.len() {
                let masked = match &mask {
                    NullMask::NoNulls => false,
                    NullMask::Bits(b) => b.is_null(i),
                    NullMask::Ask => unreachable!("integers have a bitmap"),
                };
                assert_eq!(masked, enc.is_null(i), "{i} of {a:?}");
            }
        }
    }

    /// Where an encoder has a JSON head, the head and [`ColumnEncoder::write_rest`] write exactly what
    /// [`ColumnEncoder::write`] writes, with the same type and size, and fail on the same values.
    #[test]
    fn heads_and_rests_write_what_write_writes() {
        use crate::encoding::plan::build;
        use crate::encoding::target::{EncodeOptions, Target, Timestamps};
        use arrow_array::types::TimestampMicrosecondType;
        use arrow_array::*;
        use std::sync::Arc;
        let cols: Vec<(ArrayRef, Target)> = vec![
            (
                Arc::new(Int64Array::from(vec![0, -7, 1200, i64::MIN])),
                Target::Auto,
            ),
            (Arc::new(Int32Array::from(vec![0, -7, 1200, 5])), Target::S),
            (
                Arc::new(Float64Array::from(vec![0.5, -1e300, f64::NAN, 3.0])),
                Target::Auto,
            ),
            (
                Arc::new(
                    Decimal128Array::from(vec![1250, -1, 0, i128::MAX])
                        .with_precision_and_scale(38, 2)
                        .unwrap(),
                ),
                Target::Auto,
            ),
            (
                Arc::new(BooleanArray::from(vec![true, false, true, false])),
                Target::Auto,
            ),
            (
                Arc::new(PrimitiveArray::<TimestampMicrosecondType>::from(vec![
                    0,
                    1_600_000_000_123_456,
                    -1,
                    253_402_300_799_999_999,
                ])),
                Target::Auto,
            ),
            (
                Arc::new(StringArray::from(vec!["a\"b\n", "", "é😀", "x"])),
                Target::Auto,
            ),
            (
                Arc::new(StringArray::from(vec!["1.50", "-0", "1e400", "x"])),
                Target::N,
            ),
        ];
        for timestamps in [Timestamps::Rfc3339, Timestamps::Epoch(3)] {
            let opts = EncodeOptions { timestamps };
            for (a, target) in &cols {
                let enc = build(a, target, &opts).unwrap();
                let head = enc.json_head().expect("every one of these has a head");
                for i in 0..a.len() {
                    let mut whole = ItemWriter::new(Syntax::Json, Nulls::Omit);
                    let want = enc.write(i, &mut whole);
                    let mut split = ItemWriter::new(Syntax::Json, Nulls::Omit);
                    split.out.extend_from_slice(head);
                    let got = enc.write_rest(i, &mut split);
                    match (want, got) {
                        (
                            Ok(WriteOutcome::Written { ty, size }),
                            Ok(WriteOutcome::Written { ty: t, size: n }),
                        ) => {
                            assert_eq!((ty, size), (t, n), "{a:?} {i}");
                            assert_eq!(whole.out, split.out, "{a:?} {i}");
                        }
                        (Err(e), Err(f)) => assert!(std::ptr::eq(e.rule, f.rule), "{a:?} {i}"),
                        (want, got) => panic!("{a:?} {i}: {want:?} against {got:?}"),
                    }
                }
            }
        }
    }

    /// Buffers given back come out empty with their memory kept, and no more than `keep` wait.
    #[test]
    fn recycled_buffers_come_back_empty_and_are_bounded() {
        let r = Recycled::new(2);
        for k in 0..3 {
            r.give(vec![k as u8; 100 + k]);
        }
        let a = r.take().expect("kept");
        assert!(a.is_empty() && a.capacity() >= 100);
        assert!(r.take().is_some());
        assert!(r.take().is_none(), "the third was dropped");
    }

    /// `put` appends exactly what `extend_from_slice` would, at every short length and whatever
    /// room the vector has left.
    #[test]
    fn put_appends_the_bytes() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            for start in 0..20 {
                for cap in [0, start, start + 1, start + 16, 64] {
                    let mut got = Vec::with_capacity(cap);
                    got.extend((0..start).map(|k| 200 + k as u8));
                    let mut want = got.clone();
                    put(&mut got, &src[..n]);
                    want.extend_from_slice(&src[..n]);
                    assert_eq!(got, want, "n {n} start {start} cap {cap}");
                }
            }
        }
    }

    /// A number written through `n_with` is the canonical text in each syntax, and a failed one
    /// leaves nothing behind.
    #[test]
    fn numbers_written_in_place() {
        for (syn, want) in [(Syntax::Json, "x{\"N\":\"1.5\"}"), (Syntax::Ion, "x1.5")] {
            let mut w = ItemWriter::new(syn, Nulls::Omit);
            w.out.push(b'x');
            let size = w.n_with(|o| number::canonicalize(b"1.50", o)).unwrap();
            assert_eq!(
                (String::from_utf8(w.out.clone()).unwrap(), size),
                (want.into(), 3)
            );
            assert!(w.n_with(|o| number::canonicalize(b"1.5x", o)).is_err());
            assert!(w
                .n_with(|o| {
                    o.extend_from_slice(b"12");
                    Err(())
                })
                .is_err());
            assert_eq!(
                String::from_utf8(w.out).unwrap(),
                want,
                "nothing left of a failure"
            );
        }
    }

    #[test]
    fn quoted_names_take_their_comma_only_after_the_first() {
        let q = quoted_name("a\"b");
        assert_eq!(q, b",\"a\\\"b\":");
        let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
        w.quoted_name(&q, true);
        w.quoted_name(&quoted_name("c"), false);
        assert_eq!(w.out, b"\"a\\\"b\":,\"c\":");
    }

    #[test]
    fn syntax_tokens() {
        let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
        w.s("x");
        w.n(b"1.5", 3);
        w.b(b"hi");
        w.bool(true);
        w.null();
        assert_eq!(
            String::from_utf8(w.out).unwrap(),
            r#"{"S":"x"}{"N":"1.5"}{"B":"aGk="}{"BOOL":true}{"NULL":true}"#
        );
        let mut w = ItemWriter::new(Syntax::Ion, Nulls::Omit);
        w.s("x");
        w.n(b"15", 2);
        w.b(b"hi");
        w.bool(false);
        w.null();
        w.set_open(AttrType::NS);
        w.set_member(AttrType::N, b"1E-8");
        w.set_close();
        assert_eq!(
            String::from_utf8(w.out).unwrap(),
            r#""x"15.{{aGk=}}falsenull$dynamodb_NS::[1d-8]"#
        );
    }
}
