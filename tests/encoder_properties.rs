//! The whole encoder as a property: generated Arrow batches of every supported type (strings of
//! every kind and random Unicode, integers and floats at their extremes, decimals, binaries,
//! dates, timestamps, dictionaries, lists, structs, maps, a null column; nulls anywhere) are
//! encoded to DynamoDB JSON and to Ion, parsed back by serde_json and ion-rs, and compared with
//! the input values worked out here from the Arrow arrays, independently of prep's encoders.

mod common;
mod reference;

use arrow_array::builder::{Int32Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow_array::types::{Int32Type, Int8Type};
use arrow_array::*;
use arrow_buffer::i256;
use arrow_schema::{DataType, Field, Fields};
use base64::Engine;
use prep::encoding::arrow_rows::ItemEncoder;
use prep::encoding::plan::Plan;
use prep::encoding::target::{EncodeOptions, Timestamps};
use prep::encoding::{ItemWriter, Nulls, Syntax};
use prep::model::keys::{KeyAttr, KeySchema};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    /// Text of the kinds that trip escaping: quotes, backslashes, control characters, spaces
    /// after line ends, emoji, right-to-left scripts, random code points.
    fn text(&mut self, max: u64) -> String {
        const PIECES: &[&str] = &[
            "\"",
            "\\",
            "\"#",
            "\\]",
            "\n  ",
            "\r\n",
            "\t",
            "\u{0}",
            "\u{1b}[2J",
            "\u{7f}",
            " ",
            "a",
            "Z",
            "0",
            "é",
            "😀",
            "👩‍👩‍👧",
            "\u{202e}",
            "שלום",
            "مرحبا",
            "C:\\Users\\",
            "{\"k\":1}",
            "#tag",
            "'",
            "$ion_1_0",
            "{{",
            "}}",
        ];
        let n = self.below(max + 1);
        let mut s = String::new();
        for _ in 0..n {
            if self.chance(20) {
                let c = char::from_u32(self.below(0x11_0000) as u32).unwrap_or('?');
                s.push(c);
            } else {
                s.push_str(self.pick(PIECES));
            }
        }
        s
    }
    fn bytes(&mut self, max: u64) -> Vec<u8> {
        (0..self.below(max + 1))
            .map(|_| self.next() as u8)
            .collect()
    }
}

fn opt<T>(r: &mut Rng, null_pct: u64, v: impl FnOnce(&mut Rng) -> T) -> Option<T> {
    (!r.chance(null_pct)).then(|| v(r))
}

/// Ints, floats and decimals at their edges.
fn edge_i64(r: &mut Rng) -> i64 {
    match r.below(6) {
        0 => r.pick(&[i64::MIN, i64::MAX, 0, -1, 1]),
        1 => r.next() as i64,
        _ => (r.next() % 2000) as i64 - 1000,
    }
}

fn edge_f64(r: &mut Rng) -> f64 {
    match r.below(8) {
        0 => r.pick(&[
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            1e125,
            9.999e125,
            1e126,
            1e-130,
            1e-131,
            0.1,
            1.0 / 3.0,
        ]),
        1 => f64::from_bits(r.next()),
        _ => (r.next() % 1_000_000) as f64 / 1000.0 - 500.0,
    }
}

fn edge_i128(r: &mut Rng) -> i128 {
    let max38 = 10i128.pow(38) - 1;
    match r.below(4) {
        0 => r.pick(&[max38, -max38, 0, 1, -1]),
        1 => ((r.next() as i128) << 64 | r.next() as i128) % (max38 + 1),
        _ => (r.next() % 100_000) as i128 - 50_000,
    }
}

/// A batch of `rows` rows with a column of each supported type.
fn batch(r: &mut Rng, rows: usize) -> RecordBatch {
    let np = 15; // percent of nulls
    let mut cols: Vec<(&str, ArrayRef)> = Vec::new();
    let pk: Vec<String> = (0..rows).map(|i| format!("{}#{i}", r.text(6))).collect();
    cols.push(("pk", Arc::new(StringArray::from(pk))));
    let s: Vec<Option<String>> = (0..rows).map(|_| opt(r, np, |r| r.text(12))).collect();
    cols.push(("s", Arc::new(StringArray::from(s.clone()))));
    cols.push(("s_large", Arc::new(LargeStringArray::from(s.clone()))));
    cols.push(("s_view", Arc::new(StringViewArray::from(s))));
    let i8s: Vec<Option<i8>> = (0..rows)
        .map(|_| opt(r, np, |r| edge_i64(r) as i8))
        .collect();
    cols.push(("i8", Arc::new(Int8Array::from(i8s))));
    let i64s: Vec<Option<i64>> = (0..rows).map(|_| opt(r, np, edge_i64)).collect();
    cols.push(("i64", Arc::new(Int64Array::from(i64s))));
    let u64s: Vec<Option<u64>> = (0..rows)
        .map(|_| opt(r, np, |r| edge_i64(r) as u64))
        .collect();
    cols.push(("u64", Arc::new(UInt64Array::from(u64s))));
    let f64s: Vec<Option<f64>> = (0..rows).map(|_| opt(r, np, edge_f64)).collect();
    cols.push(("f64", Arc::new(Float64Array::from(f64s))));
    let f32s: Vec<Option<f32>> = (0..rows)
        .map(|_| opt(r, np, |r| edge_f64(r) as f32))
        .collect();
    cols.push(("f32", Arc::new(Float32Array::from(f32s))));
    let scale = r.below(43) as i8 - 5;
    let d: Vec<Option<i128>> = (0..rows).map(|_| opt(r, np, edge_i128)).collect();
    cols.push((
        "dec128",
        Arc::new(
            Decimal128Array::from(d.clone())
                .with_precision_and_scale(38, scale)
                .unwrap(),
        ),
    ));
    let d256: Vec<Option<i256>> = d.iter().map(|v| v.map(i256::from_i128)).collect();
    cols.push((
        "dec256",
        Arc::new(
            Decimal256Array::from(d256)
                .with_precision_and_scale(40, scale.max(0))
                .unwrap(),
        ),
    ));
    let b: Vec<Option<bool>> = (0..rows).map(|_| opt(r, np, |r| r.chance(50))).collect();
    cols.push(("bool", Arc::new(BooleanArray::from(b))));
    let bin: Vec<Option<Vec<u8>>> = (0..rows).map(|_| opt(r, np, |r| r.bytes(20))).collect();
    let bin_refs: Vec<Option<&[u8]>> = bin.iter().map(|v| v.as_deref()).collect();
    cols.push(("bin", Arc::new(BinaryArray::from(bin_refs.clone()))));
    cols.push(("bin_view", Arc::new(BinaryViewArray::from(bin_refs))));
    let days: Vec<Option<i32>> = (0..rows)
        .map(|_| opt(r, np, |r| (r.below(200_000) as i32) - 100_000))
        .collect();
    cols.push(("date", Arc::new(Date32Array::from(days))));
    let micros: Vec<Option<i64>> = (0..rows)
        .map(|_| {
            opt(r, np, |r| {
                (r.next() % 8_000_000_000_000_000) as i64 - 2_000_000_000_000_000
            })
        })
        .collect();
    cols.push((
        "ts",
        Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("UTC")),
    ));
    // Dictionaries of strings and of integers.
    let dict_words = ["x\"#y", "a\\]b", "\n  z", "😀", ""];
    let keys: Vec<Option<i32>> = (0..rows)
        .map(|_| opt(r, np, |r| r.below(dict_words.len() as u64) as i32))
        .collect();
    cols.push((
        "dict_s",
        Arc::new(
            DictionaryArray::<Int32Type>::try_new(
                Int32Array::from(keys),
                Arc::new(StringArray::from(dict_words.to_vec())),
            )
            .unwrap(),
        ),
    ));
    let keys8: Vec<Option<i8>> = (0..rows)
        .map(|_| opt(r, np, |r| r.below(3) as i8))
        .collect();
    cols.push((
        "dict_n",
        Arc::new(
            DictionaryArray::<Int8Type>::try_new(
                Int8Array::from(keys8),
                Arc::new(Int64Array::from(vec![i64::MIN, 0, 42])),
            )
            .unwrap(),
        ),
    ));
    // A list of strings with null elements, a struct, a map.
    let mut lb = ListBuilder::new(StringBuilder::new());
    for _ in 0..rows {
        if r.chance(np) {
            lb.append_null();
            continue;
        }
        for _ in 0..r.below(4) {
            let v = opt(r, 20, |r| r.text(5));
            lb.values().append_option(v);
        }
        lb.append(true);
    }
    cols.push(("list", Arc::new(lb.finish())));
    let fields = Fields::from(vec![
        Field::new("name \"q\"", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ]);
    let names: Vec<Option<String>> = (0..rows).map(|_| opt(r, 30, |r| r.text(5))).collect();
    let ns: Vec<Option<i64>> = (0..rows).map(|_| opt(r, 30, edge_i64)).collect();
    let valid: Vec<bool> = (0..rows).map(|_| !r.chance(np)).collect();
    cols.push((
        "struct",
        Arc::new(StructArray::new(
            fields,
            vec![
                Arc::new(StringArray::from(names)) as ArrayRef,
                Arc::new(Int64Array::from(ns)),
            ],
            Some(valid.into()),
        )),
    ));
    let mut mb = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for _ in 0..rows {
        if r.chance(np) {
            mb.append(false).unwrap();
            continue;
        }
        let n = r.below(3);
        for k in 0..n {
            mb.keys().append_value(format!("{}{k}", r.text(3)));
            mb.values().append_value(r.next() as i32);
        }
        mb.append(true).unwrap();
    }
    cols.push(("map", Arc::new(mb.finish())));
    cols.push(("nothing", Arc::new(NullArray::new(rows))));
    // The other integer widths, half floats, more binaries, dates, times and lists.
    let i16s: Vec<Option<i16>> = (0..rows)
        .map(|_| opt(r, np, |r| edge_i64(r) as i16))
        .collect();
    cols.push(("i16", Arc::new(Int16Array::from(i16s))));
    let u32s: Vec<Option<u32>> = (0..rows)
        .map(|_| opt(r, np, |r| edge_i64(r) as u32))
        .collect();
    cols.push(("u32", Arc::new(UInt32Array::from(u32s))));
    let f16s: Vec<Option<half::f16>> = (0..rows)
        .map(|_| opt(r, np, |r| half::f16::from_f64(edge_f64(r))))
        .collect();
    cols.push(("f16", Arc::new(Float16Array::from(f16s))));
    let lbin: Vec<Option<Vec<u8>>> = (0..rows).map(|_| opt(r, np, |r| r.bytes(9))).collect();
    let lbin_refs: Vec<Option<&[u8]>> = lbin.iter().map(|v| v.as_deref()).collect();
    cols.push(("bin_large", Arc::new(LargeBinaryArray::from(lbin_refs))));
    let fixed: Vec<Option<Vec<u8>>> = (0..rows)
        .map(|_| opt(r, np, |r| (0..4).map(|_| r.next() as u8).collect()))
        .collect();
    cols.push((
        "bin_fixed",
        Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(fixed.into_iter(), 4).unwrap(),
        ),
    ));
    let ms: Vec<Option<i64>> = (0..rows)
        .map(|_| {
            opt(r, np, |r| {
                (r.next() % 8_000_000_000_000) as i64 - 2_000_000_000_000
            })
        })
        .collect();
    cols.push(("date64", Arc::new(Date64Array::from(ms.clone()))));
    cols.push(("ts_naive_ms", Arc::new(TimestampMillisecondArray::from(ms))));
    let day_us: Vec<Option<i64>> = (0..rows)
        .map(|_| opt(r, np, |r| (r.next() % 86_400_000_000) as i64))
        .collect();
    cols.push(("time64_us", Arc::new(Time64MicrosecondArray::from(day_us))));
    let day_s: Vec<Option<i32>> = (0..rows)
        .map(|_| opt(r, np, |r| (r.next() % 86_400) as i32))
        .collect();
    cols.push(("time32_s", Arc::new(Time32SecondArray::from(day_s))));
    let mut llb =
        arrow_array::builder::LargeListBuilder::new(arrow_array::builder::Int64Builder::new());
    let mut flb = arrow_array::builder::FixedSizeListBuilder::new(Int32Builder::new(), 2);
    for _ in 0..rows {
        if r.chance(np) {
            llb.append_null();
        } else {
            for _ in 0..r.below(4) {
                let v = edge_i64(r);
                llb.values().append_value(v);
            }
            llb.append(true);
        }
        for _ in 0..2 {
            let v = opt(r, 20, |r| r.next() as i32);
            flb.values().append_option(v);
        }
        let valid = !r.chance(np);
        flb.append(valid);
    }
    cols.push(("list_large", Arc::new(llb.finish())));
    cols.push(("list_fixed", Arc::new(flb.finish())));
    RecordBatch::try_from_iter(cols).unwrap()
}

/// A number's text by the reference, or None where DynamoDB cannot store it.
fn number(text: &str) -> Option<Value> {
    reference::number_plain(text)
        .ok()
        .map(|(t, _)| Value::String(t))
}

/// What the item of row `i` must hold, as plain values (see tests/common `plain`): None where
/// the row must be rejected (a number DynamoDB cannot store, a map key repeated).
fn expected(b: &RecordBatch, i: usize) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    for (f, col) in b.schema().fields().iter().zip(b.columns()) {
        if col.is_null(i) || col.logical_nulls().is_some_and(|n| n.is_null(i)) {
            continue;
        }
        if let Some(v) = value(col.as_ref(), i)? {
            m.insert(f.name().clone(), v);
        }
    }
    Some(m)
}

/// A non-null value: Some(None) where it is left out, None where the row is rejected.
fn value(a: &dyn Array, i: usize) -> Option<Option<Value>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    let b64 = |v: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(v));
    macro_rules! int {
        ($t:ty) => {
            number(&a.as_primitive::<$t>().value(i).to_string())?
        };
    }
    // Floats are compared by value after parsing (the shortest text is the encoder's choice);
    // a non-finite one, or one DynamoDB cannot store, rejects the row.
    let float = |v: f64, width: &str| -> Option<Value> {
        if !v.is_finite() {
            return None;
        }
        number(&format!("{v:e}"))?;
        Some(Value::String(format!("{width}:{v:e}")))
    };
    Some(Some(match a.data_type() {
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).into()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).into()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).into()),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::Float16 => float(a.as_primitive::<Float16Type>().value(i).to_f64(), "f16")?,
        DataType::LargeBinary => b64(a.as_binary::<i64>().value(i)),
        DataType::FixedSizeBinary(_) => b64(a.as_fixed_size_binary().value(i)),
        DataType::Date64 => {
            let ms = a.as_primitive::<arrow_array::types::Date64Type>().value(i);
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            Value::String(t.format("%Y-%m-%d").to_string())
        }
        DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, None) => {
            let ms = a
                .as_primitive::<arrow_array::types::TimestampMillisecondType>()
                .value(i);
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            Value::String(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
        }
        DataType::Time64(_) => {
            let us = a
                .as_primitive::<arrow_array::types::Time64MicrosecondType>()
                .value(i);
            let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                (us / 1_000_000) as u32,
                (us % 1_000_000) as u32 * 1000,
            )
            .unwrap();
            Value::String(t.format("%H:%M:%S%.6f").to_string())
        }
        DataType::Time32(_) => {
            let s = a
                .as_primitive::<arrow_array::types::Time32SecondType>()
                .value(i);
            let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(s as u32, 0).unwrap();
            Value::String(t.format("%H:%M:%S").to_string())
        }
        DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            let v = match a.data_type() {
                DataType::LargeList(_) => a.as_list::<i64>().value(i),
                _ => a.as_fixed_size_list().value(i),
            };
            let mut out = Vec::new();
            for k in 0..v.len() {
                out.push(if v.is_null(k) {
                    Value::Null
                } else {
                    value(v.as_ref(), k)?.unwrap()
                });
            }
            Value::Array(out)
        }
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i), "f64")?,
        DataType::Float32 => float(a.as_primitive::<Float32Type>().value(i) as f64, "f32")?,
        DataType::Decimal128(_, s) => {
            let v = a
                .as_primitive::<arrow_array::types::Decimal128Type>()
                .value(i);
            number(&format!("{v}e{}", -(*s as i32)))?
        }
        DataType::Decimal256(_, s) => {
            let v = a
                .as_primitive::<arrow_array::types::Decimal256Type>()
                .value(i);
            number(&format!("{v}e{}", -(*s as i32)))?
        }
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Binary => b64(a.as_binary::<i32>().value(i)),
        DataType::BinaryView => b64(a.as_binary_view().value(i)),
        DataType::Date32 => {
            let d = a.as_primitive::<arrow_array::types::Date32Type>().value(i);
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                + chrono::Duration::days(d as i64);
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        DataType::Timestamp(_, Some(_)) => {
            let us = a
                .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                .value(i);
            let t = chrono::DateTime::from_timestamp_micros(us).unwrap();
            Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let k = d.normalized_keys()[i];
            return value(d.values().as_ref(), k);
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let v = l.value(i);
            let mut out = Vec::new();
            for k in 0..v.len() {
                out.push(if v.is_null(k) {
                    Value::Null
                } else {
                    value(v.as_ref(), k)?.unwrap()
                });
            }
            Value::Array(out)
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut m = Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                if !c.is_null(i) {
                    if let Some(v) = value(c.as_ref(), i)? {
                        m.insert(f.name().clone(), v);
                    }
                }
            }
            Value::Object(m)
        }
        DataType::Map(_, _) => {
            let e = a.as_map().value(i);
            let keys = e.column(0).as_string::<i32>();
            let mut m = Map::new();
            for k in 0..e.len() {
                let v = value(e.column(1).as_ref(), k)?.unwrap();
                if m.insert(keys.value(k).to_string(), v).is_some() {
                    return None;
                }
            }
            Value::Object(m)
        }
        other => panic!("no expectation for {other}"),
    }))
}

/// Floats are compared by value: the written text must parse back to the same float.
fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::String(g), Value::String(w)) => {
            if let Some(f) = w.strip_prefix("f64:") {
                return g.parse::<f64>().ok() == f.parse::<f64>().ok();
            }
            if let Some(f) = w.strip_prefix("f32:") {
                return g.parse::<f32>().ok() == f.parse::<f32>().ok();
            }
            if let Some(f) = w.strip_prefix("f16:") {
                let back = g.parse::<f64>().ok().map(half::f16::from_f64);
                return back == f.parse::<f64>().ok().map(half::f16::from_f64);
            }
            g == w
        }
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b))
        }
        (Value::Object(g), Value::Object(w)) => {
            g.len() == w.len() && w.iter().all(|(k, v)| g.get(k).is_some_and(|x| same(x, v)))
        }
        _ => got == want,
    }
}

/// Encode a generated batch both ways and check every row; returns (items written, rows
/// rejected) of the JSON run.
fn check(seed: u64, rows: usize) -> (usize, usize) {
    let mut r = Rng(seed | 1);
    let b = batch(&mut r, rows);
    let keys = KeySchema {
        table_name: None,
        partition: KeyAttr::parse("pk").unwrap(),
        sort: None,
        gsis: vec![],
        vectors: Default::default(),
    };
    let opts = EncodeOptions {
        timestamps: Timestamps::Rfc3339,
    };
    let plan = Plan::new(&b.schema(), &[], None, &keys, opts).unwrap();
    let mut counts = (0, 0);
    for syn in [Syntax::Json, Syntax::Ion] {
        let enc = ItemEncoder::new(&plan, &b, syn, Nulls::Omit).unwrap();
        let mut w = ItemWriter::new(syn, Nulls::Omit);
        let e = enc.encode(b.num_rows(), &[], &mut w);
        assert_eq!(e.rows.len() + e.rejects.len(), rows, "rows reconcile");
        if syn == Syntax::Json {
            counts = (e.rows.len(), e.rejects.len());
        }
        let mut start = 0;
        let mut written = e.rows.iter().zip(&e.ends).peekable();
        for i in 0..rows {
            let want = expected(&b, i);
            match written.peek() {
                Some((&row, &end)) if row as usize == i => {
                    written.next();
                    let line = std::str::from_utf8(&e.buf[start..end]).expect("UTF-8");
                    start = end;
                    let line = line.strip_suffix('\n').expect("a line ends with \\n");
                    let got: Map<String, Value> = match syn {
                        Syntax::Json => common::item(line)
                            .iter()
                            .map(|(k, v)| (k.clone(), common::plain(v)))
                            .collect(),
                        Syntax::Ion => common::ion_item(line),
                    };
                    let want = want.unwrap_or_else(|| {
                        panic!("{syn:?} row {i} written but must be rejected: {line}")
                    });
                    assert!(
                        same(&Value::Object(got.clone()), &Value::Object(want.clone())),
                        "{syn:?} row {i}:\n got  {got:?}\n want {want:?}\n line {line}"
                    );
                }
                _ => {
                    let why = e.rejects.iter().find(|x| x.index == i).unwrap();
                    assert!(
                        want.is_none(),
                        "{syn:?} row {i} rejected ({} {}) but expected {want:?}",
                        why.rule.code,
                        why.message
                    );
                }
            }
        }
    }
    counts
}

/// The generator is not so hostile that every row is rejected, nor so tame that none is.
#[test]
fn the_generated_batches_hold_written_and_rejected_rows() {
    let (written, rejected) = check(0x5eed, 2000);
    assert!(
        written > 500 && rejected > 20,
        "{written} written, {rejected} rejected"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_type_round_trips_through_json_and_ion(seed in any::<u64>(), rows in 1usize..120) {
        check(seed, rows);
    }
}
