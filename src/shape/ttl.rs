//! Time to live: epoch seconds computed from a column (`--ttl NAME=COLUMN[+DURATION]`), and the
//! check of a TTL attribute's values. DynamoDB's TTL reads a Number of seconds since the epoch
//! and silently ignores anything else (a string, a value in milliseconds), so such values are
//! reported instead of imported as items that never expire.

use crate::encoding::plan::build;
use crate::encoding::target::{EncodeOptions, Target, Timestamps};
use crate::model::rules::{self, Rule};
use crate::shape::time;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, Int64Array};
use arrow_schema::{DataType, TimeUnit};

/// 5000-01-01T00:00:00Z in seconds: a TTL beyond it is a value in milliseconds or
/// microseconds (the present in milliseconds is about year 56000 read as seconds).
pub(crate) const MAX_TTL_SECONDS: i64 = 95_617_584_000;

/// The unit of an integer epoch column (`COLUMN:ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl EpochUnit {
    pub fn parse(s: &str) -> Option<EpochUnit> {
        Some(match s {
            "s" => EpochUnit::Seconds,
            "ms" => EpochUnit::Millis,
            "us" => EpochUnit::Micros,
            "ns" => EpochUnit::Nanos,
            _ => return None,
        })
    }

    fn per_second(self) -> i64 {
        match self {
            EpochUnit::Seconds => 1,
            EpochUnit::Millis => 1_000,
            EpochUnit::Micros => 1_000_000,
            EpochUnit::Nanos => 1_000_000_000,
        }
    }
}

/// Whether a column of type `dt` can give TTL seconds.
pub(crate) fn check_source_type(dt: &DataType) -> Result<(), String> {
    match dt {
        DataType::Timestamp(_, _)
        | DataType::Date32
        | DataType::Date64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => Ok(()),
        d if d.is_integer() || d.is_floating() => Ok(()),
        DataType::Dictionary(_, v) => check_source_type(v),
        d => Err(format!(
            "it is a {d} column; a TTL is computed from a timestamp, a date, ISO-8601 text or epoch seconds"
        )),
    }
}

/// A problem with one row's TTL.
pub(crate) type Problem = (usize, &'static Rule, String);

/// Whether `secs` works as a TTL, and if not, what to say.
pub(crate) fn check_seconds(secs: i64) -> Result<(), (&'static Rule, String)> {
    if secs < 0 {
        return Err((
            &rules::TTL_NEGATIVE,
            format!("{secs} is before 1970; DynamoDB's TTL ignores it and the item never expires"),
        ));
    }
    if secs > MAX_TTL_SECONDS {
        let unit = if secs > MAX_TTL_SECONDS * 1_000_000 {
            "microseconds (or finer)"
        } else if secs > MAX_TTL_SECONDS * 1_000 {
            "milliseconds or microseconds"
        } else {
            "milliseconds"
        };
        return Err((
            &rules::TTL_NOT_SECONDS,
            format!("{secs} is after the year 5000: it looks like {unit}, and DynamoDB's TTL reads seconds, so the item would never expire"),
        ));
    }
    Ok(())
}

/// Epoch seconds from `a` (its unit for integer columns), plus `offset`; nulls stay null. Rows
/// whose value gives no valid TTL are null in the result and listed.
pub(crate) fn compute(a: &ArrayRef, unit: EpochUnit, offset: i64) -> (Int64Array, Vec<Problem>) {
    // A dictionary's values are computed once, then looked up by each row's key.
    if let DataType::Dictionary(_, _) = a.data_type() {
        let d = a.as_any_dictionary();
        let (values, value_problems) = compute(d.values(), unit, offset);
        let keys = d.normalized_keys();
        let bad: std::collections::HashMap<usize, (&'static Rule, String)> = value_problems
            .into_iter()
            .map(|(k, rule, m)| (k, (rule, m)))
            .collect();
        let mut problems = Vec::new();
        let out: Int64Array = (0..a.len())
            .map(|i| {
                if d.keys().is_null(i) {
                    return None;
                }
                let k = keys[i];
                if let Some((rule, m)) = bad.get(&k) {
                    problems.push((i, *rule, m.clone()));
                    return None;
                }
                (!values.is_null(k)).then(|| values.value(k))
            })
            .collect();
        return (out, problems);
    }
    let mut problems = Vec::new();
    let n = a.len();
    let mut out: Vec<Option<i64>> = Vec::with_capacity(n);
    let per = unit.per_second();
    let from_int = |v: i128| -> Result<Option<i64>, String> {
        i64::try_from(v.div_euclid(per as i128))
            .map(Some)
            .map_err(|_| format!("{v} is out of range"))
    };
    let values = |i: usize| -> Result<Option<i64>, String> {
        if a.is_null(i) {
            return Ok(None);
        }
        let secs = match a.data_type() {
            DataType::Timestamp(u, _) => {
                let (v, per) = match u {
                    TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(i), 1),
                    TimeUnit::Millisecond => {
                        (a.as_primitive::<TimestampMillisecondType>().value(i), 1_000)
                    }
                    TimeUnit::Microsecond => (
                        a.as_primitive::<TimestampMicrosecondType>().value(i),
                        1_000_000,
                    ),
                    TimeUnit::Nanosecond => (
                        a.as_primitive::<TimestampNanosecondType>().value(i),
                        1_000_000_000,
                    ),
                };
                Some(v.div_euclid(per))
            }
            DataType::Date32 => Some(a.as_primitive::<Date32Type>().value(i) as i64 * 86_400),
            DataType::Date64 => Some(a.as_primitive::<Date64Type>().value(i).div_euclid(1000)),
            DataType::Int8 => from_int(a.as_primitive::<Int8Type>().value(i) as i128)?,
            DataType::Int16 => from_int(a.as_primitive::<Int16Type>().value(i) as i128)?,
            DataType::Int32 => from_int(a.as_primitive::<Int32Type>().value(i) as i128)?,
            DataType::Int64 => from_int(a.as_primitive::<Int64Type>().value(i) as i128)?,
            DataType::UInt8 => from_int(a.as_primitive::<UInt8Type>().value(i) as i128)?,
            DataType::UInt16 => from_int(a.as_primitive::<UInt16Type>().value(i) as i128)?,
            DataType::UInt32 => from_int(a.as_primitive::<UInt32Type>().value(i) as i128)?,
            DataType::UInt64 => from_int(a.as_primitive::<UInt64Type>().value(i) as i128)?,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                let v = match a.data_type() {
                    DataType::Float16 => a.as_primitive::<Float16Type>().value(i).to_f64(),
                    DataType::Float32 => a.as_primitive::<Float32Type>().value(i) as f64,
                    _ => a.as_primitive::<Float64Type>().value(i),
                };
                if !v.is_finite() {
                    return Err(format!("{v} is not a time"));
                }
                let s = (v / per as f64).floor();
                if s.abs() >= 9.2e18 {
                    return Err(format!("{v} is out of range"));
                }
                Some(s as i64)
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let s = match a.data_type() {
                    DataType::Utf8 => a.as_string::<i32>().value(i),
                    DataType::LargeUtf8 => a.as_string::<i64>().value(i),
                    _ => a.as_string_view().value(i),
                };
                text_seconds(s, per)?
            }
            d => return Err(format!("a {d} value is not a time")),
        };
        match secs {
            None => Ok(None),
            Some(s) => s
                .checked_add(offset)
                .map(Some)
                .ok_or_else(|| "the time is out of range".into()),
        }
    };
    for i in 0..n {
        match values(i) {
            Ok(Some(s)) => match check_seconds(s) {
                Ok(()) => out.push(Some(s)),
                Err((rule, m)) => {
                    problems.push((i, rule, m));
                    out.push(None);
                }
            },
            Ok(None) => out.push(None),
            Err(m) => {
                problems.push((i, &rules::TTL_SOURCE, m));
                out.push(None);
            }
        }
    }
    (Int64Array::from(out), problems)
}

/// Seconds from a text cell: an integer (epoch, in `per` units a second) or ISO-8601.
fn text_seconds(s: &str, per: i64) -> Result<Option<i64>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.bytes()
        .enumerate()
        .all(|(k, c)| c.is_ascii_digit() || (k == 0 && c == b'-'))
        && t != "-"
    {
        let v: i128 = t.parse().map_err(|_| format!("{t:?} is out of range"))?;
        return i64::try_from(v.div_euclid(per as i128))
            .map(Some)
            .map_err(|_| format!("{t:?} is out of range"));
    }
    match time::parse_iso8601(t) {
        Some((secs, _)) => Ok(Some(secs)),
        None => Err(format!(
            "{t:?} is neither epoch seconds nor an ISO-8601 date or timestamp"
        )),
    }
}

/// The rows of a declared TTL attribute's column `a` whose values DynamoDB's TTL would ignore.
/// `numeric_text`: a text column written as N (CSV with inferred or declared N): its numbers
/// are read; otherwise text is a string, which TTL ignores.
pub(crate) fn check_column(a: &ArrayRef, numeric_text: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    let dt = match a.data_type() {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        d => d.clone(),
    };
    let text = matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let number = dt.is_integer()
        || dt.is_floating()
        || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..));
    if !(text || number) {
        return (0..a.len())
            .filter(|&i| !a.is_null(i))
            .map(|i| {
                (
                    i,
                    &rules::TTL_NOT_NUMBER,
                    format!("a {dt} value is not a Number; DynamoDB's TTL reads a Number of epoch seconds, so the item would never expire"),
                )
            })
            .collect();
    }
    // Each cell's text as prep writes it (numbers canonical), through one encoder for the column.
    let target = if number { Target::N } else { Target::S };
    let opts = EncodeOptions {
        timestamps: Timestamps::Rfc3339,
    };
    let Ok(enc) = build(a, &target, &opts) else {
        return problems;
    };
    let mut v = Vec::new();
    for i in 0..a.len() {
        if enc.is_null(i) {
            continue;
        }
        v.clear();
        if enc.raw(i, &mut v).is_err() {
            // A value the encoder cannot write (NaN) is its to reject.
            continue;
        }
        let v = String::from_utf8_lossy(&v);
        if text && !numeric_text {
            problems.push((
                i,
                &rules::TTL_NOT_NUMBER,
                format!("{v:?} is a string; DynamoDB's TTL reads a Number of epoch seconds and ignores strings, so the item would never expire. Compute the seconds with --ttl NAME=COLUMN"),
            ));
            continue;
        }
        // Text that is no number is the encoder's to reject (N001); fractions count by their
        // whole seconds.
        if let Ok(x) = v.trim().parse::<f64>() {
            let secs = x.floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64;
            if let Err((rule, m)) = check_seconds(secs) {
                problems.push((i, rule, m));
            }
        }
    }
    problems
}

/// [`check_column`] for a field of JSON documents: a number is read as epoch seconds; a
/// string (a MongoDB date too, unless written as epoch numbers), a boolean, an array or an
/// object is no Number, which TTL ignores.
pub(crate) fn check_json_column(a: &ArrayRef, mongo: bool) -> Vec<Problem> {
    let Some(cells) = a.as_any().downcast_ref::<arrow_array::StringArray>() else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let Some(cell) = cell.filter(|c| *c != "null") else {
            continue;
        };
        match crate::encoding::json_values::scalar_text(cell, mongo) {
            Some((n, true)) => {
                if let Ok(x) = n.trim().parse::<f64>() {
                    let secs = x.floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64;
                    if let Err((rule, m)) = check_seconds(secs) {
                        problems.push((i, rule, m));
                    }
                }
            }
            _ => problems.push((
                i,
                &rules::TTL_NOT_NUMBER,
                format!("{} is not a number; DynamoDB's TTL reads a Number of epoch seconds and ignores any other type, so the item would never expire. Compute the seconds with --ttl NAME=FIELD", crate::encoding::text::short(cell)),
            )),
        }
    }
    problems
}

/// Whether an item's TTL attribute value works as a TTL (`prep validate --ttl`).
pub(crate) fn check_value(
    v: &crate::input::parse::AttrValue,
) -> Result<(), (&'static Rule, String)> {
    use crate::input::parse::AttrValue;
    match v {
        AttrValue::N(text) => match text.trim().parse::<f64>() {
            Ok(x) => check_seconds(x.floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64),
            Err(_) => Ok(()),
        },
        AttrValue::Null => Ok(()),
        other => Err((
            &rules::TTL_NOT_NUMBER,
            format!(
                "the value is of type {}; DynamoDB's TTL reads a Number of epoch seconds and ignores any other type, so the item would never expire",
                other.type_name()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{StringArray, TimestampMillisecondArray};
    use std::sync::Arc;

    #[test]
    fn seconds_from_every_kind_of_column() {
        let ts: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![Some(1_714_521_600_999), None])
                .with_timezone("UTC"),
        );
        let (v, p) = compute(&ts, EpochUnit::Seconds, 90 * 86_400);
        assert!(p.is_empty());
        assert_eq!(v.value(0), 1_714_521_600 + 90 * 86_400);
        assert!(v.is_null(1));
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            "2024-05-01T00:00:00Z",
            "1714521600",
            "",
            "soon",
            "1714521600000",
        ]));
        let (v, p) = compute(&text, EpochUnit::Seconds, 0);
        assert_eq!((v.value(0), v.value(1)), (1_714_521_600, 1_714_521_600));
        assert!(v.is_null(2));
        assert_eq!(
            p.iter().map(|p| (p.0, p.1.code)).collect::<Vec<_>>(),
            vec![(3, "E004"), (4, "E002")]
        );
        let (v, p) = compute(&text.slice(4, 1), EpochUnit::Millis, 0);
        assert!(p.is_empty());
        assert_eq!(v.value(0), 1_714_521_600);
        let old: ArrayRef = Arc::new(StringArray::from(vec!["1960-01-01"]));
        assert_eq!(compute(&old, EpochUnit::Seconds, 0).1[0].1.code, "E003");
    }

    /// Dictionary columns (a category of dates, as Parquet writers encode them) are computed
    /// and checked through their values.
    #[test]
    fn dictionary_columns_are_read_through_their_values() {
        use arrow_array::types::Int32Type;
        use arrow_array::DictionaryArray;
        let dates: DictionaryArray<Int32Type> =
            vec![Some("2024-05-01"), Some("soon"), None, Some("2024-05-01")]
                .into_iter()
                .collect();
        let dates: ArrayRef = Arc::new(dates);
        let (v, p) = compute(&dates, EpochUnit::Seconds, 60);
        assert_eq!((v.value(0), v.value(3)), (1_714_521_660, 1_714_521_660));
        assert!(v.is_null(1) && v.is_null(2));
        assert_eq!(
            p.iter().map(|p| (p.0, p.1.code)).collect::<Vec<_>>(),
            vec![(1, "E004")]
        );
        let ms: DictionaryArray<Int32Type> = vec![Some("1714521600000"), Some("1714521600")]
            .into_iter()
            .collect();
        let ms: ArrayRef = Arc::new(ms);
        let p = check_column(&ms, true);
        assert_eq!(
            p.iter().map(|p| (p.0, p.1.code)).collect::<Vec<_>>(),
            vec![(0, "E002")]
        );
        assert_eq!(check_column(&ms, false).len(), 2);
    }

    #[test]
    fn declared_ttl_values_are_checked() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1_714_521_600),
            Some(1_714_521_600_000),
            Some(-5),
            None,
        ]));
        let p = check_column(&ints, false);
        assert_eq!(
            p.iter().map(|p| (p.0, p.1.code)).collect::<Vec<_>>(),
            vec![(1, "E002"), (2, "E003")]
        );
        let text: ArrayRef = Arc::new(StringArray::from(vec!["1714521600", "2024-05-01"]));
        assert_eq!(check_column(&text, false).len(), 2);
        assert_eq!(check_column(&text, true).len(), 0);
        assert!(check_column(&text, false)[1]
            .2
            .contains("--ttl NAME=COLUMN"));
    }
}
