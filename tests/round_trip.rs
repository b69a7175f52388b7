//! Parse every line prep writes back and compare it with the Arrow input values, read by the
//! parquet / arrow-ipc readers directly (not through prep's readers).

mod common;

use arrow_array::RecordBatch;
use common::*;
use serde_json::Value;
use std::fs::File;

fn read_batches(name: &str) -> Vec<RecordBatch> {
    let path = fixture(name);
    if name.ends_with(".parquet") {
        parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            File::open(path).unwrap(),
            1024,
        )
        .unwrap()
        .map(Result::unwrap)
        .collect()
    } else if name.ends_with(".arrows") {
        arrow_ipc::reader::StreamReader::try_new(File::open(path).unwrap(), None)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    } else {
        arrow_ipc::reader::FileReader::try_new(File::open(path).unwrap(), None)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// Nulls dropped from objects (items and maps leave them out), kept in lists (NULL).
fn expected(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), expected(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(expected).collect()),
        other => normalise(other, false),
    }
}

#[test]
fn every_fixture_round_trips() {
    for name in ["types.parquet", "types.arrow", "types.arrows"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let (code, summary, stderr) =
            convert(&out, &[&fixture(name), "--key", "pk", "--compress", "zstd"]);
        assert_eq!(code, 1, "{name}: two bad rows → exit 1; {stderr}");
        let rejected: Vec<u64> = read_jsonl(&out.join("rejects.jsonl"))
            .iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect();
        assert_eq!(rejected, vec![6, 7], "{name}");
        let items = lines(&out);
        let mut expected_items = Vec::new();
        let mut row = 0u64;
        for b in read_batches(name) {
            for i in 0..b.num_rows() {
                row += 1;
                if !rejected.contains(&row) {
                    expected_items.push(expected(&prep::encoding::plain::row(&b, i)));
                }
            }
        }
        assert_eq!(summary["rowsRead"], 7);
        assert_eq!(items.len(), expected_items.len(), "{name}");
        for (line, want) in items.iter().zip(&expected_items) {
            let got: serde_json::Map<String, Value> = item(line)
                .iter()
                .map(|(k, v)| (k.clone(), plain(v)))
                .collect();
            assert_eq!(&Value::Object(got), want, "{name}: {line}");
        }
    }
}

#[test]
fn csv_round_trips_with_inferred_types() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (_, _, stderr) = convert(
        &out,
        &[
            &fixture("users.csv"),
            "--key",
            "user_id",
            "--compress",
            "none",
        ],
    );
    let mut rdr = csv::Reader::from_path(fixture("users.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let rejected: Vec<u64> = read_jsonl(&out.join("rejects.jsonl"))
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    let items = lines(&out);
    let mut k = 0;
    for (row, rec) in rdr.records().enumerate() {
        let Ok(rec) = rec else { continue };
        if rejected.contains(&(row as u64 + 1)) {
            continue;
        }
        let got = item(&items[k]);
        k += 1;
        for (h, cell) in headers.iter().zip(rec.iter()) {
            match got.get(h) {
                None => assert!(cell.is_empty(), "{h} missing: {stderr}"),
                Some(v) => {
                    let o = v.as_object().unwrap();
                    if let Some(n) = o.get("N") {
                        assert_eq!(canon(n.as_str().unwrap()), canon(cell));
                    } else if let Some(b) = o.get("BOOL") {
                        assert_eq!(b.as_bool().unwrap().to_string(), cell);
                    } else {
                        assert_eq!(o["S"].as_str().unwrap(), cell);
                    }
                }
            }
        }
    }
    assert_eq!(k, items.len());
}
