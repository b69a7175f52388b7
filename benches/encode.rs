//! Micro-benchmarks of the hot paths: encoding a batch to DynamoDB JSON and to Ion (with every
//! item check), number canonicalisation, escaping strings, item sizes, validating lines and part
//! digests. Run: cargo bench --bench encode

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use prep::encoding::arrow_rows::ItemEncoder;
use prep::encoding::plan::Plan;
use prep::encoding::target::{EncodeOptions, Timestamps};
use prep::encoding::{ItemWriter, Nulls, Syntax};
use prep::model::keys::{KeyAttr, KeySchema};
use prep::model::number;
use std::sync::Arc;

fn batch(rows: usize) -> RecordBatch {
    let pk: Vec<String> = (0..rows).map(|i| format!("user#{i:08}")).collect();
    let name: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 10 != 0).then(|| format!("Name \"{i}\" ünïcödé")))
        .collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("pk", Arc::new(StringArray::from(pk))),
        ("sk", Arc::new(Int64Array::from_iter_values(0..rows as i64))),
        ("name", Arc::new(StringArray::from(name))),
        (
            "price",
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| i as f64 / 3.0),
            )),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from_iter((0..rows).map(|i| Some(i % 2 == 0)))),
        ),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

fn encode(c: &mut Criterion) {
    let b = batch(8192);
    let keys = KeySchema {
        table_name: None,
        partition: KeyAttr::parse("pk:S").unwrap(),
        sort: Some(KeyAttr::parse("sk:N").unwrap()),
        gsis: vec![],
        vectors: Default::default(),
    };
    let plan = Plan::new(
        &b.schema(),
        &[],
        None,
        &keys,
        EncodeOptions {
            timestamps: Timestamps::Rfc3339,
        },
    )
    .unwrap();
    let mut g = c.benchmark_group("encode_batch");
    g.throughput(Throughput::Elements(b.num_rows() as u64));
    for (name, syn) in [("dynamodb_json", Syntax::Json), ("ion", Syntax::Ion)] {
        let enc = ItemEncoder::new(&plan, &b, syn, Nulls::Omit).unwrap();
        let mut w = ItemWriter::new(syn, Nulls::Omit);
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let e = enc.encode(b.num_rows(), &[], &mut w);
                w.out = e.buf;
                black_box(w.out.len())
            })
        });
    }
    g.finish();
}

fn numbers(c: &mut Criterion) {
    let texts: Vec<String> = (0..1000)
        .map(|i| format!("{}.{:02}0", i * 37, i % 100))
        .collect();
    let mut out = Vec::with_capacity(64);
    // As a CSV export writes them: integers, shortest floats, two-place decimals.
    let plain: Vec<String> = (0..1000)
        .map(|i| match i % 4 {
            0 => format!("{}", i * 7919),
            1 => format!("{}", (i as f64 * 0.7368911) + 12.0),
            2 => format!("-{}.{:02}", i * 104729, (i * 7) % 99 + 1),
            _ => format!("-{}", i % 1000 + 1),
        })
        .collect();
    c.bench_function("canonicalize_1000_plain_numbers", |bench| {
        bench.iter(|| {
            for t in &plain {
                out.clear();
                black_box(number::canonicalize(t.as_bytes(), &mut out).unwrap());
            }
        })
    });
    c.bench_function("canonicalize_1000_numbers", |bench| {
        bench.iter(|| {
            for t in &texts {
                out.clear();
                black_box(number::canonicalize(t.as_bytes(), &mut out).unwrap());
            }
        })
    });
}

/// Escaping short strings (keys, names, notes), the most common string work of a conversion.
fn escape_strings(c: &mut Criterion) {
    let words = [
        "user#0108660",
        "日本",
        "ε",
        "дельта",
        "quote\"d",
        "😀",
        "tab\there",
        "new\nline",
    ];
    let texts: Vec<String> = (0..1000)
        .map(|i| match i % 3 {
            0 => format!("user#{:09}", i * 7919),
            1 => format!("{} {} {i}", words[i % 8], words[(i / 8) % 8]),
            _ => format!("say \"{}\"\nand more", words[i % 8]),
        })
        .collect();
    let mut out = Vec::with_capacity(64 << 10);
    c.bench_function("escape_1000_short_strings", |bench| {
        bench.iter(|| {
            out.clear();
            for t in &texts {
                prep::encoding::escape_into(t.as_bytes(), &mut out);
            }
            black_box(out.len())
        })
    });
}

/// Item sizes of canonical numbers (the part of the size formula that is not a byte count).
fn item_size(c: &mut Criterion) {
    let nums: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            let mut o = Vec::new();
            number::canonicalize(format!("{}.{}", i * 7919, i % 97).as_bytes(), &mut o).unwrap();
            o
        })
        .collect();
    c.bench_function("number_size_1000", |bench| {
        bench.iter(|| {
            nums.iter()
                .map(|n| number::canonical_size(n))
                .sum::<usize>()
        })
    });
}

/// Validating DynamoDB JSON lines: parse, every rule, key checks (what prep validate runs).
fn validate_lines(c: &mut Criterion) {
    use arrow_array::BinaryArray;
    use prep::encoding::item_lines::LinesEncoder;
    use prep::encoding::plan::KeyCheck;
    use prep::input::parse::LineFormat;
    use prep::model::keys::{KeyRole, ScalarType};
    let lines: Vec<String> = (0..4096)
        .map(|i| format!(r#"{{"Item":{{"pk":{{"S":"user#{i:08}"}},"sk":{{"N":"{i}"}},"name":{{"S":"Name \"{i}\" ünïcödé"}},"price":{{"N":"{}.25"}},"flag":{{"BOOL":true}},"tags":{{"SS":["a","b"]}}}}}}"#, i * 3))
        .collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let arr = BinaryArray::from_iter_values(lines.iter().map(|l| l.as_bytes()));
    let enc = LinesEncoder {
        format: LineFormat::DynamodbJson,
        keys: vec![
            (
                "pk".into(),
                KeyCheck {
                    role: KeyRole::Partition,
                    ty: ScalarType::S,
                },
            ),
            (
                "sk".into(),
                KeyCheck {
                    role: KeyRole::Sort,
                    ty: ScalarType::N,
                },
            ),
        ],
        syn: Syntax::Json,
    };
    let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
    w.strict = true;
    w.discard = true;
    // The lines are clean: both paths below measure accepting them, not reporting errors.
    assert!(enc.encode(&arr, &[], &mut w).rejects.is_empty());
    let mut scanner = prep::encoding::scan::LineScanner::new(&enc.keys);
    let mut key = Vec::new();
    for l in &lines {
        assert!(scanner.scan(l.as_bytes(), &mut key).is_some(), "{l}");
    }
    let mut g = c.benchmark_group("validate");
    g.throughput(Throughput::Bytes(bytes as u64));
    // The full parser (item model, then every rule while re-encoding).
    g.bench_function("dynamodb_json_lines_full", |bench| {
        bench.iter(|| {
            let e = enc.encode(&arr, &[], &mut w);
            w.out = e.buf;
            black_box(e.rejects.len())
        })
    });
    // The allocation-free scanner that prep validate runs first.
    g.bench_function("dynamodb_json_lines_fast", |bench| {
        bench.iter(|| {
            key.clear();
            let mut size = 0;
            for l in &lines {
                size += scanner.scan(l.as_bytes(), &mut key).unwrap_or(0);
            }
            black_box(size)
        })
    });
    g.finish();
}

/// A part's digests: MD5 (the crate one part after the other, against the parts in lanes), the
/// CRC64-NVME prep records, and the SHA-256 it recorded before.
fn part_digests(c: &mut Criterion) {
    use md5::Digest;
    use prep::hashing::lanes::{self, LANES};
    use prep::hashing::md5x;
    const PART: usize = 4 << 20;
    let parts: Vec<Vec<u8>> = (0..LANES)
        .map(|l| (0..PART).map(|i| (i * 31 + l * 7) as u8).collect())
        .collect();
    let mut g = c.benchmark_group("part_digests");
    g.throughput(Throughput::Bytes((PART * LANES) as u64));
    g.bench_function("md5_crate_one_by_one", |bench| {
        bench.iter(|| {
            for p in &parts {
                black_box(md5::Md5::digest(p));
            }
        })
    });
    g.bench_function("md5x_lanes", |bench| {
        bench.iter(|| {
            let mut ms: Vec<md5x::Md5> = vec![md5x::Md5::default(); LANES];
            let mut it = ms.iter_mut();
            lanes::update(std::array::from_fn(|l| {
                Some((it.next().expect("one per lane"), &parts[l][..]))
            }));
            ms.into_iter().map(md5x::Md5::finish).for_each(|d| {
                black_box(d);
            });
        })
    });
    g.bench_function("sha2_crate_one_by_one", |bench| {
        bench.iter(|| {
            for p in &parts {
                black_box(sha2::Sha256::digest(p));
            }
        })
    });
    g.bench_function("crc64nvme_one_by_one", |bench| {
        bench.iter(|| {
            for p in &parts {
                black_box(prep::hashing::Crc64::of(p).value());
            }
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    encode,
    numbers,
    escape_strings,
    item_size,
    validate_lines,
    part_digests
);
criterion_main!(benches);
