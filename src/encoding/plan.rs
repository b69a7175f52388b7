//! The column plan: which DynamoDB type each Arrow column becomes (defaults, `--type` overrides,
//! declared key types, CSV inference), and building the encoder for a column's array.

use crate::encoding::nested::{DictEnc, ListEnc, MapEnc, NullEnc, Offsets, SetEnc, StructEnc};
use crate::encoding::scalar::{
    BoolEnc, BytesEnc, DecimalEnc, FloatEnc, IntEnc, TemporalEnc, TemporalKind,
};
use crate::encoding::target::{EncodeOptions, Target, Timestamps};
use crate::encoding::text::{TextArr, TextEnc, TextMode};
use crate::encoding::{AttrType, ColumnEncoder};
use crate::model::keys::{KeyRole, KeySchema, ScalarType};
use crate::model::rules;
use anyhow::{anyhow, bail, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, LargeStringArray, StringArray, StringViewArray};
use arrow_schema::{DataType, Schema, TimeUnit};

/// A key check on a column: its role and resolved type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyCheck {
    pub role: KeyRole,
    pub ty: ScalarType,
}

#[derive(Clone, Debug)]
pub struct ColumnPlan {
    pub name: String,
    pub target: Target,
    pub key: Option<KeyCheck>,
}

/// The plan for every column of the inputs.
#[derive(Clone, Debug)]
pub struct Plan {
    pub columns: Vec<ColumnPlan>,
    pub opts: EncodeOptions,
    /// The key schema with every key's type resolved: as declared, or taken from its column.
    pub keys: KeySchema,
}

impl Plan {
    /// Resolve targets and key types for `schema`. `inferred` gives per-column defaults (CSV
    /// inference); a key declared without a type takes its column's ([`Plan::keys`] has them).
    pub fn new(
        schema: &Schema,
        overrides: &[(String, Target)],
        inferred: Option<&[Target]>,
        keys: &KeySchema,
        opts: EncodeOptions,
    ) -> Result<Plan> {
        let mut resolved = keys.clone();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let listing = || names.join(", ");
        for (col, _) in overrides {
            if !names.contains(&col.as_str()) {
                bail!(
                    "--type names column {col:?}, which the input does not have (columns: {})",
                    listing()
                );
            }
        }
        for (attr, _) in keys.key_attributes() {
            if !names.contains(&attr.name.as_str()) {
                bail!(
                    "key attribute {:?} is not a column of the input (columns: {}); key names are case-sensitive",
                    attr.name,
                    listing()
                );
            }
        }
        let key_attrs = keys.key_attributes();
        let mut columns = Vec::with_capacity(names.len());
        for (idx, field) in schema.fields().iter().enumerate() {
            let name = field.name();
            if name.is_empty() {
                bail!(
                    "column {} has an empty name ({}): DynamoDB attribute names must be 1 to 65,535 bytes",
                    idx + 1,
                    rules::ATTRIBUTE_NAME_EMPTY.code
                );
            }
            if name.len() > rules::MAX_ATTRIBUTE_NAME_BYTES {
                bail!(
                    "column {} has a name of {} bytes ({}): the limit is 65,535",
                    idx + 1,
                    name.len(),
                    rules::ATTRIBUTE_NAME_TOO_LONG.code
                );
            }
            let explicit = overrides
                .iter()
                .rev()
                .find(|(c, _)| c == name)
                .map(|(_, t)| t.clone());
            let key = key_attrs.iter().find(|(a, _)| &a.name == name);
            let empty = arrow_array::new_empty_array(field.data_type());
            let mut target = match (&explicit, key.and_then(|(a, _)| a.ty)) {
                (Some(t), Some(kt)) => {
                    if *t != Target::from_key(kt) {
                        bail!("--type {name}={t} conflicts with the key declaration {name}:{kt}");
                    }
                    t.clone()
                }
                (Some(t), None) => t.clone(),
                // A declared key type wins over inference; where the column cannot be converted,
                // its values keep their own type and every row is rejected with a type mismatch.
                (None, Some(kt)) => {
                    let t = Target::from_key(kt);
                    if build_field(field, &empty, &t, &opts).is_ok() {
                        t
                    } else {
                        Target::Auto
                    }
                }
                (None, None) => inferred
                    .and_then(|i| i.get(idx).cloned())
                    .unwrap_or(Target::Auto),
            };
            if let Err(e) = build_field(field, &empty, &target, &opts) {
                if explicit.is_some() {
                    bail!("column {name:?}: {e}");
                }
                target = Target::Auto;
                build_field(field, &empty, &target, &opts)
                    .map_err(|e| anyhow!("column {name:?}: {e}"))?;
            }
            let key = match key {
                Some((attr, role)) => {
                    let ty = match attr.ty {
                        Some(t) => t,
                        None => {
                            let enc =
                                build_field(field, &empty, &target, &opts).expect("checked above");
                            if enc.ty().is_none()
                                && crate::encoding::json_values::cell_of(field).is_some()
                            {
                                bail!(
                                    "key {name:?} is a field of JSON documents, whose type each document decides: declare the key type (e.g. --key {name}:S)"
                                );
                            }
                            let t = match enc.ty() {
                                Some(AttrType::S) => ScalarType::S,
                                Some(AttrType::N) => ScalarType::N,
                                Some(AttrType::B) => ScalarType::B,
                                other => bail!(
                                    "key {name:?} is a {} column ({}), which cannot be a key; declare the key type (e.g. --key {name}:S) or convert the column with --type",
                                    other.map(AttrType::as_str).unwrap_or("JSON"),
                                    field.data_type()
                                ),
                            };
                            resolved.set_type(name, t);
                            t
                        }
                    };
                    Some(KeyCheck { role: *role, ty })
                }
                None => None,
            };
            columns.push(ColumnPlan {
                name: name.clone(),
                target,
                key,
            });
        }
        Ok(Plan {
            columns,
            opts,
            keys: resolved,
        })
    }
}

fn offsets_of(a: &dyn Array) -> Option<(Offsets, ArrayRef)> {
    match a.data_type() {
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            Some((Offsets::I32(l.offsets().clone()), l.values().clone()))
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>();
            Some((Offsets::I64(l.offsets().clone()), l.values().clone()))
        }
        DataType::FixedSizeList(_, n) => {
            let l = a.as_fixed_size_list();
            Some((Offsets::Fixed(*n as usize), l.values().clone()))
        }
        _ => None,
    }
}

fn text_arr(a: &dyn Array) -> Option<Box<dyn TextArr>> {
    match a.data_type() {
        DataType::Utf8 => Some(Box::new(a.as_string::<i32>().clone()) as Box<dyn TextArr>),
        DataType::LargeUtf8 => Some(Box::new(a.as_string::<i64>().clone())),
        DataType::Utf8View => Some(Box::new(a.as_string_view().clone())),
        _ => None,
    }
}

fn text_enc<A: TextArr + 'static>(a: A, target: &Target) -> Result<Box<dyn ColumnEncoder>, String> {
    let mode = match target {
        Target::Auto | Target::S => TextMode::S,
        Target::N => TextMode::N,
        Target::B => TextMode::B,
        Target::Bool => TextMode::Bool,
        Target::Set { kind, delim } => TextMode::Set {
            kind: *kind,
            delim: delim.clone().unwrap_or_else(|| ",".into()),
        },
        Target::L => TextMode::Json {
            expect: Some(AttrType::L),
        },
        Target::M => TextMode::Json {
            expect: Some(AttrType::M),
        },
        Target::Json => TextMode::Json { expect: None },
    };
    Ok(Box::new(TextEnc { a, mode }))
}

/// [`build`] for a column of `field`: a column of JSON cells (plain JSON inputs) gets the
/// JSON encoders.
pub(crate) fn build_field(
    field: &arrow_schema::Field,
    array: &ArrayRef,
    target: &Target,
    opts: &EncodeOptions,
) -> Result<Box<dyn ColumnEncoder>, String> {
    use crate::encoding::json_stream::JsonRestEnc;
    use crate::encoding::json_values::{cell_of, rest_skip, Cell, JsonCellEnc};
    let Some((cell, mongo)) = cell_of(field) else {
        return build(array, target, opts);
    };
    let mongo = mongo.then_some(opts.timestamps);
    Ok(match cell {
        Cell::Value => Box::new(JsonCellEnc::new(array.as_ref(), target, mongo)?),
        Cell::Rest if matches!(target, Target::Auto | Target::Json) => {
            Box::new(JsonRestEnc::new(array.as_ref(), mongo, rest_skip(field))?)
        }
        Cell::Rest => {
            return Err(format!(
                "the documents' other fields cannot be written as {target}"
            ))
        }
    })
}

/// Build the encoder that writes `array` as `target`.
pub fn build(
    array: &ArrayRef,
    target: &Target,
    opts: &EncodeOptions,
) -> Result<Box<dyn ColumnEncoder>, String> {
    let dt = array.data_type();
    let unsupported = || Err(format!("a {dt} column cannot be written as {target}"));
    macro_rules! int {
        ($t:ty) => {
            match target {
                Target::Auto | Target::N => Ok(Box::new(IntEnc::<$t> {
                    a: array.as_primitive::<$t>().clone(),
                    as_text: false,
                }) as Box<dyn ColumnEncoder>),
                Target::S => Ok(Box::new(IntEnc::<$t> {
                    a: array.as_primitive::<$t>().clone(),
                    as_text: true,
                })),
                _ => unsupported(),
            }
        };
    }
    macro_rules! float {
        ($t:ty) => {
            match target {
                Target::Auto | Target::N | Target::S => Ok(Box::new(FloatEnc::<$t> {
                    a: array.as_primitive::<$t>().clone(),
                    as_text: *target == Target::S,
                }) as Box<dyn ColumnEncoder>),
                _ => unsupported(),
            }
        };
    }
    macro_rules! temporal {
        ($t:ty, $kind:expr) => {{
            let kind = $kind;
            let ok = match (target, kind) {
                (Target::Auto, _) | (Target::S, _) => true,
                (Target::N, TemporalKind::Timestamp { .. }) => true,
                _ => false,
            };
            if !ok {
                return unsupported();
            }
            let kind = match (target, kind) {
                (Target::S, TemporalKind::Timestamp { digits, utc, .. }) => {
                    TemporalKind::Timestamp {
                        digits,
                        utc,
                        epoch: None,
                    }
                }
                (Target::N, TemporalKind::Timestamp { digits, utc, epoch }) => {
                    TemporalKind::Timestamp {
                        digits,
                        utc,
                        epoch: Some(epoch.unwrap_or(0)),
                    }
                }
                (_, k) => k,
            };
            Ok(Box::new(TemporalEnc::<$t> {
                a: array.as_primitive::<$t>().clone(),
                kind,
            }) as Box<dyn ColumnEncoder>)
        }};
    }
    let epoch = match opts.timestamps {
        Timestamps::Rfc3339 => None,
        Timestamps::Epoch(d) => Some(d),
    };
    match dt {
        DataType::Null => match target {
            Target::Auto | Target::S | Target::N | Target::B | Target::Bool => {
                Ok(Box::new(NullEnc))
            }
            _ => unsupported(),
        },
        DataType::Utf8 => text_enc::<StringArray>(array.as_string::<i32>().clone(), target),
        DataType::LargeUtf8 => {
            text_enc::<LargeStringArray>(array.as_string::<i64>().clone(), target)
        }
        DataType::Utf8View => text_enc::<StringViewArray>(array.as_string_view().clone(), target),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => float!(Float16Type),
        DataType::Float32 => float!(Float32Type),
        DataType::Float64 => float!(Float64Type),
        DataType::Decimal128(_, scale) => match target {
            Target::Auto | Target::N | Target::S => Ok(Box::new(DecimalEnc::<Decimal128Type> {
                a: array.as_primitive().clone(),
                scale: *scale,
                as_text: *target == Target::S,
            })),
            _ => unsupported(),
        },
        DataType::Decimal256(_, scale) => match target {
            Target::Auto | Target::N | Target::S => Ok(Box::new(DecimalEnc::<Decimal256Type> {
                a: array.as_primitive().clone(),
                scale: *scale,
                as_text: *target == Target::S,
            })),
            _ => unsupported(),
        },
        DataType::Boolean => {
            let ty = match target {
                Target::Auto | Target::Bool => AttrType::Bool,
                Target::S => AttrType::S,
                Target::N => AttrType::N,
                _ => return unsupported(),
            };
            Ok(Box::new(BoolEnc {
                a: array.as_boolean().clone(),
                ty,
            }))
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            let as_text = match target {
                Target::Auto | Target::B => false,
                Target::S => true,
                _ => return unsupported(),
            };
            Ok(match dt {
                DataType::Binary => Box::new(BytesEnc {
                    a: array.as_binary::<i32>().clone(),
                    as_text,
                }) as Box<dyn ColumnEncoder>,
                DataType::LargeBinary => Box::new(BytesEnc {
                    a: array.as_binary::<i64>().clone(),
                    as_text,
                }),
                DataType::BinaryView => Box::new(BytesEnc {
                    a: array.as_binary_view().clone(),
                    as_text,
                }),
                _ => Box::new(BytesEnc {
                    a: array.as_fixed_size_binary().clone(),
                    as_text,
                }),
            })
        }
        DataType::Date32 => temporal!(Date32Type, TemporalKind::Date32),
        DataType::Date64 => temporal!(Date64Type, TemporalKind::Date64),
        DataType::Time32(TimeUnit::Second) => {
            temporal!(Time32SecondType, TemporalKind::Time { digits: 0 })
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            temporal!(Time32MillisecondType, TemporalKind::Time { digits: 3 })
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            temporal!(Time64MicrosecondType, TemporalKind::Time { digits: 6 })
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            temporal!(Time64NanosecondType, TemporalKind::Time { digits: 9 })
        }
        DataType::Timestamp(unit, tz) => {
            let utc = tz.is_some();
            match unit {
                TimeUnit::Second => temporal!(
                    TimestampSecondType,
                    TemporalKind::Timestamp {
                        digits: 0,
                        utc,
                        epoch
                    }
                ),
                TimeUnit::Millisecond => temporal!(
                    TimestampMillisecondType,
                    TemporalKind::Timestamp {
                        digits: 3,
                        utc,
                        epoch
                    }
                ),
                TimeUnit::Microsecond => temporal!(
                    TimestampMicrosecondType,
                    TemporalKind::Timestamp {
                        digits: 6,
                        utc,
                        epoch
                    }
                ),
                TimeUnit::Nanosecond => temporal!(
                    TimestampNanosecondType,
                    TemporalKind::Timestamp {
                        digits: 9,
                        utc,
                        epoch
                    }
                ),
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            let (offsets, values) = offsets_of(array.as_ref()).expect("list type");
            let nulls = array.logical_nulls();
            match target {
                Target::Auto | Target::L => Ok(Box::new(ListEnc {
                    nulls,
                    offsets,
                    child: build(&values, &Target::Auto, opts)?,
                })),
                Target::Set { kind, delim: None } => {
                    let member = match kind {
                        AttrType::SS => Target::S,
                        AttrType::NS => Target::N,
                        _ => Target::B,
                    };
                    let child = build(&values, &member, opts)
                        .map_err(|e| format!("{kind:?} members: {e}"))?;
                    Ok(Box::new(SetEnc {
                        nulls,
                        offsets,
                        child,
                        kind: *kind,
                    }))
                }
                _ => unsupported(),
            }
        }
        DataType::Struct(fields) => match target {
            Target::Auto | Target::M => {
                let s = array.as_struct();
                let mut out = Vec::with_capacity(fields.len());
                for (f, col) in fields.iter().zip(s.columns()) {
                    if f.name().is_empty() {
                        return Err(format!(
                            "a struct field has an empty name ({})",
                            rules::ATTRIBUTE_NAME_EMPTY.code
                        ));
                    }
                    out.push((f.name().clone(), build(col, &Target::Auto, opts)?));
                }
                Ok(Box::new(StructEnc {
                    nulls: array.logical_nulls(),
                    fields: out,
                }))
            }
            _ => unsupported(),
        },
        DataType::Map(_, _) => match target {
            Target::Auto | Target::M => {
                let m = array.as_map();
                let keys = text_arr(m.keys().as_ref()).ok_or_else(|| {
                    format!(
                        "map keys of type {} cannot be attribute names (only string keys)",
                        m.keys().data_type()
                    )
                })?;
                Ok(Box::new(MapEnc {
                    nulls: array.logical_nulls(),
                    offsets: Offsets::I32(m.offsets().clone()),
                    keys,
                    values: build(m.values(), &Target::Auto, opts)?,
                }))
            }
            _ => unsupported(),
        },
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary();
            let values = build(d.values(), target, opts)?;
            // No values means every key is null; but an empty array (the one the plan is made
            // from) keeps its value type, so a dictionary key column's type comes from it.
            let keys = match (d.values().is_empty(), array.is_empty()) {
                (true, false) => return Ok(Box::new(NullEnc)),
                (true, true) => Vec::new(),
                (false, _) => d.normalized_keys(),
            };
            Ok(Box::new(DictEnc {
                key_nulls: d.keys().logical_nulls(),
                keys,
                values,
            }))
        }
        _ => Err(format!(
            "columns of type {dt} are not supported; convert it before (or drop it)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_targets() {
        assert_eq!(Target::parse("s").unwrap(), Target::S);
        assert_eq!(
            Target::parse("SS:;").unwrap(),
            Target::Set {
                kind: AttrType::SS,
                delim: Some(";".into())
            }
        );
        assert_eq!(
            Target::parse("NS").unwrap(),
            Target::Set {
                kind: AttrType::NS,
                delim: None
            }
        );
        assert_eq!(Target::parse("json").unwrap(), Target::Json);
        assert!(Target::parse("X").is_err());
        assert!(Target::parse("N:;").is_err());
        assert!(Target::parse("SS:").is_err());
    }

    /// A key declared without a type takes its column's, in the plan's key schema; the
    /// caller's schema is left as it was.
    #[test]
    fn key_types_come_from_their_columns_into_the_plan() {
        use arrow_schema::{DataType, Field};
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("sk", DataType::Utf8, true),
        ]);
        let keys = KeySchema {
            table_name: None,
            partition: crate::model::keys::KeyAttr::parse("id").unwrap(),
            sort: Some(crate::model::keys::KeyAttr::parse("sk").unwrap()),
            gsis: Vec::new(),
            vectors: Default::default(),
        };
        let opts = EncodeOptions {
            timestamps: Timestamps::Rfc3339,
        };
        let plan = Plan::new(&schema, &[], None, &keys, opts).unwrap();
        assert_eq!(plan.keys.partition.ty, Some(ScalarType::N));
        assert_eq!(plan.keys.sort.as_ref().unwrap().ty, Some(ScalarType::S));
        assert_eq!(keys.partition.ty, None);
    }
}
