//! A row as plain JSON, for rejects.jsonl: what the user needs to find and fix the row. Not on the
//! hot path (only rejected rows get here), so `serde_json::Value` is fine.

use crate::encoding::base64_into;
use crate::model::temporal;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Number, Value};

/// The row `i` of `batch` as a JSON object of column → value (nulls included as null).
pub fn row(batch: &RecordBatch, i: usize) -> Value {
    let mut m = Map::new();
    for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
        m.insert(f.name().clone(), value(col, i));
    }
    Value::Object(m)
}

fn text(f: impl FnOnce(&mut Vec<u8>)) -> Value {
    let mut v = Vec::new();
    f(&mut v);
    Value::String(String::from_utf8_lossy(&v).into_owned())
}

fn num(s: String) -> Value {
    // Keep the exact text: serde_json's arbitrary_precision parses it as written.
    serde_json::from_str::<Number>(&s)
        .map(Value::Number)
        .unwrap_or(Value::String(s))
}

fn decimal_text(unscaled: String, scale: i8) -> String {
    if scale <= 0 {
        return format!("{unscaled}{}", "0".repeat((-scale) as usize));
    }
    let (neg, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, unscaled),
    };
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

fn float(v: f64) -> Value {
    if v.is_finite() {
        num(ryu::Buffer::new().format_finite(v).to_string())
    } else {
        Value::String(v.to_string())
    }
}

/// One value as plain JSON.
pub fn value(a: &ArrayRef, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    macro_rules! int {
        ($t:ty) => {
            num(a.as_primitive::<$t>().value(i).to_string())
        };
    }
    macro_rules! t64 {
        ($t:ty) => {
            a.as_primitive::<$t>().value(i) as i64
        };
    }
    match a.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => {
            let v = a.as_primitive::<Float16Type>().value(i);
            let mut out = Vec::new();
            match crate::model::number::write_f16(v, &mut out) {
                Some(Ok(_)) => num(String::from_utf8_lossy(&out).into_owned()),
                _ => float(v.to_f64()),
            }
        }
        DataType::Float32 => {
            let v = a.as_primitive::<Float32Type>().value(i);
            if v.is_finite() {
                num(ryu::Buffer::new().format_finite(v).to_string())
            } else {
                Value::String(v.to_string())
            }
        }
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Decimal128(_, s) => num(decimal_text(
            a.as_primitive::<Decimal128Type>().value(i).to_string(),
            *s,
        )),
        DataType::Decimal256(_, s) => num(decimal_text(
            a.as_primitive::<Decimal256Type>().value(i).to_string(),
            *s,
        )),
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).to_string()),
        DataType::Binary => text(|o| base64_into(a.as_binary::<i32>().value(i), o)),
        DataType::LargeBinary => text(|o| base64_into(a.as_binary::<i64>().value(i), o)),
        DataType::BinaryView => text(|o| base64_into(a.as_binary_view().value(i), o)),
        DataType::FixedSizeBinary(_) => text(|o| base64_into(a.as_fixed_size_binary().value(i), o)),
        DataType::Date32 => text(|o| temporal::write_date(t64!(Date32Type), o)),
        DataType::Date64 => {
            text(|o| temporal::write_date(t64!(Date64Type).div_euclid(86_400_000), o))
        }
        DataType::Time32(TimeUnit::Second) => {
            text(|o| temporal::write_time_of_day(t64!(Time32SecondType), 0, o))
        }
        DataType::Time32(_) => {
            text(|o| temporal::write_time_of_day(t64!(Time32MillisecondType), 3, o))
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            text(|o| temporal::write_time_of_day(t64!(Time64MicrosecondType), 6, o))
        }
        DataType::Time64(_) => {
            text(|o| temporal::write_time_of_day(t64!(Time64NanosecondType), 9, o))
        }
        DataType::Timestamp(unit, tz) => {
            let (v, d) = match unit {
                TimeUnit::Second => (t64!(TimestampSecondType), 0),
                TimeUnit::Millisecond => (t64!(TimestampMillisecondType), 3),
                TimeUnit::Microsecond => (t64!(TimestampMicrosecondType), 6),
                TimeUnit::Nanosecond => (t64!(TimestampNanosecondType), 9),
            };
            text(|o| temporal::write_timestamp(v, d, tz.is_some(), o))
        }
        DataType::List(_) => list(a.as_list::<i32>().value(i)),
        DataType::LargeList(_) => list(a.as_list::<i64>().value(i)),
        DataType::FixedSizeList(_, _) => list(a.as_fixed_size_list().value(i)),
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut m = Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                m.insert(f.name().clone(), value(c, i));
            }
            Value::Object(m)
        }
        DataType::Map(_, _) => {
            let entries = a.as_map().value(i);
            let (k, v) = (entries.column(0), entries.column(1));
            let mut m = Map::new();
            for j in 0..entries.len() {
                let key = match value(k, j) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(key, value(v, j));
            }
            Value::Object(m)
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let k = d.normalized_keys()[i];
            value(d.values(), k)
        }
        other => Value::String(format!("<{other} value>")),
    }
}

fn list(items: ArrayRef) -> Value {
    Value::Array((0..items.len()).map(|j| value(&items, j)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal_text("652273".into(), 2), "6522.73");
        assert_eq!(decimal_text("-5".into(), 3), "-0.005");
        assert_eq!(decimal_text("5".into(), -2), "500");
    }
}
