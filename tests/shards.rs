//! `prep convert --shard I/N` and `prep merge`: N shard runs and a merge give what one run
//! gives (items in the same order, the same rejects and duplicates — across shards too — and
//! the same manifests but for part names and sizes), in a local folder and in an S3 prefix; a
//! missing, repeated or mismatched shard is refused.

mod common;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Inputs split several ways: three Parquet files of many row groups (each a unit), with rows
/// that are rejected (no key) and keys repeated within and across files.
fn inputs(dir: &Path) -> PathBuf {
    let inp = dir.join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("id", arrow_schema::DataType::Int64, true),
        arrow_schema::Field::new("name", arrow_schema::DataType::Utf8, true),
        arrow_schema::Field::new("score", arrow_schema::DataType::Int64, true),
    ]));
    for f in 0..3i64 {
        let file = std::fs::File::create(inp.join(format!("b{f}.parquet"))).unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(700 + 100 * f as usize))
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
        let n = 4000i64;
        let ids: Vec<Option<i64>> = (0..n)
            .map(|i| match i {
                _ if (i + f) % 997 == 0 => None,
                _ if i % 40 == 0 => Some(200_000 + i % 9), // repeats in and across files
                _ if i % 333 == 1 => Some(i),              // the same keys in every file
                _ => Some(f * 100_000 + i),
            })
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("p \"{f}\" {i}")),
                )),
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 7))),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    inp
}

const ARGS: &[&str] = &["--key", "id:N", "--table", "tbl", "--compress", "gzip"];

fn run(args: &[&str]) -> (Option<i32>, String) {
    let o = prep().args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The inputs converted by one `prep convert` (rows are rejected: exit 1).
fn single_run(inp: &Path, dir: &Path) -> PathBuf {
    let single = dir.join("single");
    let (code, err) = run(&[
        &[
            "convert",
            inp.to_str().unwrap(),
            "--out",
            single.to_str().unwrap(),
            "-q",
        ],
        ARGS,
    ]
    .concat());
    assert_eq!(code, Some(1), "rows are rejected: {err}");
    single
}

fn convert_shard(inp: &Path, out: &Path, shard: &str, extra: &[&str]) -> (Option<i32>, String) {
    let (i, o) = (inp.to_str().unwrap(), out.to_str().unwrap());
    run(&[
        &["convert", i, "--out", o, "--shard", shard, "-q"],
        ARGS,
        extra,
    ]
    .concat())
}

/// A merged output equals the single run's: the items in order, rejects and duplicates byte for
/// byte, manifests but for part names and sizes.
fn assert_same_as_single(single: &Path, merged: &Path) {
    assert_eq!(lines(single), lines(merged), "the items, in order");
    check_output(merged);
    for f in ["rejects.jsonl", "duplicates.jsonl", "import-table.json"] {
        assert_eq!(
            std::fs::read_to_string(single.join(f)).unwrap(),
            std::fs::read_to_string(merged.join(f)).unwrap(),
            "{f}"
        );
    }
    let strip = |p: &Path| {
        let mut v = read_json(&p.join("manifest-summary.json"));
        for f in ["createdAt", "partCount", "storedBytes"] {
            v.as_object_mut().unwrap().remove(f);
        }
        v
    };
    assert_eq!(strip(single), strip(merged));
    let items = |p: &Path| -> u64 {
        read_jsonl(&p.join("manifest-files.json"))
            .iter()
            .map(|l| l["itemCount"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(items(single), items(merged));
}

#[test]
fn three_shards_and_a_merge_equal_one_run() {
    let d = tempfile::tempdir().unwrap();
    let inp = inputs(d.path());
    let single = single_run(&inp, d.path());
    let s = read_json(&single.join("manifest-summary.json"));
    assert!(s["duplicateCount"].as_u64().unwrap() > 100, "{s}");
    assert!(s["rejectedCount"].as_u64().unwrap() > 5, "{s}");

    let out = d.path().join("sharded");
    for i in 0..3 {
        let (code, err) = convert_shard(&inp, &out, &format!("{i}/3"), &[]);
        assert_eq!(code, Some(1), "shard {i}: {err}");
    }
    // Each shard converted some of the units (the Parquet row groups spread over shards).
    let reports: Vec<Value> = (0..3)
        .map(|i| read_json(&out.join(format!("shards/shard-0000{i}-of-00003.json"))))
        .collect();
    for r in &reports {
        assert!(r["itemsWritten"].as_u64().unwrap() > 0, "{r}");
    }
    let rows: u64 = reports
        .iter()
        .map(|r| r["rowsRead"].as_u64().unwrap())
        .sum();
    assert_eq!(rows, s["rowsRead"].as_u64().unwrap(), "every row once");
    assert!(
        !out.join("manifest-summary.json").exists(),
        "no manifest before the merge"
    );
    let (code, err) = run(&["merge", out.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("prep merge:") && err.contains("rejected"),
        "{err}"
    );
    assert_same_as_single(&single, &out);
    // The merged folder validates as the single run's does.
    let v = |p: &Path| {
        let o = prep()
            .args(["validate", p.to_str().unwrap(), "--output-format", "json"])
            .output()
            .unwrap();
        let (findings, summary) = validate_json(&String::from_utf8_lossy(&o.stdout), "validate");
        let mut codes: Vec<String> = findings
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        codes.sort();
        (o.status.code(), codes, summary["items"].clone())
    };
    assert_eq!(v(&single), v(&out));

    // One shard per unit and more shards than units work too (empty shards write reports).
    let many = d.path().join("many");
    for i in 0..20 {
        let (code, err) = convert_shard(&inp, &many, &format!("{i}/20"), &[]);
        assert!(code == Some(0) || code == Some(1), "shard {i}: {err}");
    }
    let (code, err) = run(&["merge", many.to_str().unwrap(), "-q"]);
    assert_eq!(code, Some(1), "{err}");
    assert_same_as_single(&single, &many);
}

#[test]
fn a_missing_repeated_or_mismatched_shard_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let inp = inputs(d.path());
    let out = d.path().join("out");
    let o = out.to_str().unwrap();
    for i in [0, 2] {
        let (code, err) = convert_shard(&inp, &out, &format!("{i}/3"), &[]);
        assert_eq!(code, Some(1), "{err}");
    }
    let (code, err) = run(&["merge", o]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shard(s) 1 of 3 are missing"), "{err}");
    assert!(!out.join("manifest-summary.json").exists());
    // The same shard again: refused unless --force.
    let (code, err) = convert_shard(&inp, &out, "2/3", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("already holds this shard's output"), "{err}");
    // Shard 1 with other settings.
    let (code, err) = convert_shard(&inp, &out, "1/3", &["--nulls", "null"]);
    assert_eq!(code, Some(1), "{err}");
    let (code, err) = run(&["merge", o]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("other settings than shard 0"), "{err}");
    let (code, err) = convert_shard(&inp, &out, "1/3", &["--force"]);
    assert_eq!(code, Some(1), "{err}");
    // A shard of a conversion split in four, beside the three.
    let (code, err) = convert_shard(&inp, &out, "3/4", &[]);
    assert_eq!(code, Some(1), "{err}");
    let (code, err) = run(&["merge", o]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("split in different ways"), "{err}");
    for f in std::fs::read_dir(out.join("shards")).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().contains("of-00004") {
            std::fs::remove_file(p).unwrap();
        }
    }
    for f in std::fs::read_dir(out.join("data")).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().contains("part-00003-") {
            std::fs::remove_file(p).unwrap();
        }
    }
    // An input that changed between the shards' runs.
    let changed = d.path().join("changed");
    std::fs::create_dir(&changed).unwrap();
    for e in std::fs::read_dir(&inp).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, changed.join(p.file_name().unwrap())).unwrap();
    }
    let other = d.path().join("other");
    let c = changed.to_str().unwrap();
    for i in 0..2 {
        let (code, err) = convert_shard(&changed, &other, &format!("{i}/2"), &[]);
        assert_eq!(code, Some(1), "{err}");
    }
    std::fs::copy(inp.join("b0.parquet"), changed.join("b1.parquet")).unwrap();
    let (code, err) = convert_shard(&changed, &other, "1/2", &["--force"]);
    assert!(code == Some(0) || code == Some(1), "{err}");
    let (code, err) = run(&["merge", other.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err} ({c})");
    assert!(err.contains("other inputs than shard 0"), "{err}");
    // A stray object under data/: it would be imported.
    std::fs::write(out.join("data/stray.json"), "{}\n").unwrap();
    let (code, err) = run(&["merge", o]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no shard wrote it"), "{err}");
    std::fs::remove_file(out.join("data/stray.json")).unwrap();
    let (code, err) = run(&["merge", o, "-q"]);
    assert_eq!(code, Some(1), "{err}");
    // Merged: again only with --force; a shard run into a merged folder too.
    let (code, err) = run(&["merge", o]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("merged already"), "{err}");
    let (code, err) = run(&["merge", o, "--force", "-q"]);
    assert_eq!(code, Some(1), "{err}");
    let (code, err) = convert_shard(&inp, &out, "0/3", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("or a merged output"), "{err}");
}

#[test]
fn the_shard_index_comes_from_the_orchestrator() {
    let d = tempfile::tempdir().unwrap();
    let inp = inputs(d.path());
    let out = d.path().join("out");
    for (var, i) in [
        ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
        ("JOB_COMPLETION_INDEX", "1"),
    ] {
        let o = prep()
            .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
            .env_remove("JOB_COMPLETION_INDEX")
            .env(var, i)
            .args([
                "convert",
                inp.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .args(["--shard", "2", "-q"])
            .args(ARGS)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        assert!(out
            .join(format!("shards/shard-0000{i}-of-00002.json"))
            .exists());
    }
    let o = prep()
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("JOB_COMPLETION_INDEX")
        .args([
            "convert",
            inp.to_str().unwrap(),
            "--out",
            "x",
            "--shard",
            "2",
        ])
        .args(ARGS)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("AWS_BATCH_JOB_ARRAY_INDEX"), "{err}");
    let (code, err) = run(&["merge", out.to_str().unwrap(), "-q"]);
    assert_eq!(code, Some(1), "{err}");
}

/// Shards written into one S3 prefix and merged there: the merged prefix validates and imports
/// as it is, and holds the single run's items.
#[test]
fn shards_into_an_s3_prefix_merge_there() {
    use common::servers::*;
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let inp = inputs(d.path());
    let single = single_run(&inp, d.path());
    let aws = ["--endpoint-url", url.as_str(), "--path-style"];
    for i in 0..3 {
        let o = prep_aws()
            .args(["convert", inp.to_str().unwrap(), "--out", "s3://bkt/sh/"])
            .args(["--shard", &format!("{i}/3"), "-q"])
            .args(ARGS)
            .args(aws)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{o:?}");
    }
    let o = prep_aws()
        .args(["merge", "s3://bkt/sh/", "-q"])
        .args(aws)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let o = prep_aws()
        .args(["validate", "s3://bkt/sh/", "--output-format", "json"])
        .args(aws)
        .output()
        .unwrap();
    let (findings, summary) = validate_json(&String::from_utf8_lossy(&o.stdout), "validate");
    assert!(
        findings
            .iter()
            .all(|f| f["code"] == "D001" || f["code"] == "W001"),
        "{findings:?}"
    );
    assert!(
        summary["notes"]
            .to_string()
            .contains("S3KeyPrefix sh/data/"),
        "{summary}"
    );
    // The merged prefix holds the single run's items, in the same order.
    let client = s3(&url);
    let get = |key: &str| -> Vec<u8> {
        let body = rt
            .block_on(client.get_object().bucket("bkt").key(key).send())
            .unwrap()
            .body;
        rt.block_on(body.collect()).unwrap().into_bytes().to_vec()
    };
    let mut items = Vec::new();
    for l in read_jsonl_bytes(&get("sh/manifest-files.json")) {
        let part = get(l["s3Key"].as_str().unwrap());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&part[..]), &mut text)
            .unwrap();
        items.extend(text.lines().map(str::to_string));
    }
    assert_eq!(items, lines(&single));
    assert_eq!(
        String::from_utf8(get("sh/rejects.jsonl")).unwrap(),
        std::fs::read_to_string(single.join("rejects.jsonl")).unwrap()
    );
    assert_eq!(
        String::from_utf8(get("sh/duplicates.jsonl")).unwrap(),
        std::fs::read_to_string(single.join("duplicates.jsonl")).unwrap()
    );
}

fn read_jsonl_bytes(b: &[u8]) -> Vec<Value> {
    std::str::from_utf8(b)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
