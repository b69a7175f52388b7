//! Avro object container files written by fastavro (tests/avro_files.py) in every codec, with
//! every Avro type and logical type: converted as the same values written to Parquet by pyarrow
//! are (every existing type rule applies), read back by serde_json; uuids as their text, exact
//! decimals; a union of two types besides null refused naming the field; a file cut short is an
//! error naming the file.

mod common;

use common::servers::{moto_with_bucket, prep_aws, s3, venv_bin};
use common::*;
use serde_json::Value;
use std::path::Path;

/// The files, written by fastavro into `dir`; `None` (skipped) without the test tools, except
/// under CI.
fn written(dir: &Path) -> Option<()> {
    let python = venv_bin("python")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/avro_files.py");
    for codec in ["null", "deflate", "snappy", "zstandard", "union"] {
        let out = match codec {
            "union" => dir.join("union.avro"),
            c => dir.join(c),
        };
        let o = std::process::Command::new(&python)
            .arg(&script)
            .arg(&out)
            .arg(codec)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("No module named 'fastavro'") {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install fastavro (scripts/install-test-tools.sh)"
            );
            eprintln!("skipping: run scripts/install-test-tools.sh to install fastavro");
            return None;
        }
        assert!(o.status.success(), "{err}");
    }
    Some(())
}

/// The items of `input` and the rows and rules of its rejects (row 257's empty key).
fn items(out: &Path, input: &Path) -> (Vec<serde_json::Map<String, Value>>, Vec<Value>) {
    let (code, summary, err) = convert(out, &[input.to_str().unwrap(), "--key", "id"]);
    assert_eq!(code, 1, "one row is rejected: {err}");
    assert_eq!(summary["itemsWritten"], 299, "{summary}");
    let rejected = rejects(out)
        .iter()
        .map(|r| serde_json::json!([r["row"], r["code"]]))
        .collect();
    (lines(out).iter().map(|l| item(l)).collect(), rejected)
}

#[test]
fn avro_files_in_every_codec_convert_as_the_same_values_in_parquet_do() {
    let d = tmp();
    if written(d.path()).is_none() {
        return;
    }
    let (want, want_rejects) = items(
        &d.path().join("from-parquet"),
        &d.path().join("null.parquet"),
    );
    assert_eq!(want_rejects.len(), 1, "{want_rejects:?}");
    for codec in ["null", "deflate", "snappy", "zstandard"] {
        // Every file is read in several units (split at its blocks), in order.
        let (got, got_rejects) = items(
            &d.path().join(format!("from-{codec}")),
            &d.path().join(format!("{codec}.avro")),
        );
        assert_eq!(got.len(), want.len(), "{codec}");
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{codec}: item {k}");
        }
        assert_eq!(
            got_rejects, want_rejects,
            "{codec}: the rejected row's number"
        );
    }
    // The values themselves, as DynamoDB types: exact decimals, uuids as text (nested too),
    // timestamps in UTC with a Z, local ones without, enums as strings, records as maps.
    let first = &want[0];
    let s = |name: &str| first[name]["S"].as_str().unwrap().to_string();
    assert_eq!(
        first["dec"]["N"], "-12345678901234567890.0123456789",
        "{first:?}"
    );
    assert_eq!(s("u"), "00000000-0000-0000-0000-000000000000");
    assert_eq!(
        first["addr"]["M"]["ref"]["S"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(s("ts_us"), "1969-12-31T23:59:59.000001Z");
    assert_eq!(s("lts_us"), "2024-06-01T12:00:00.000005");
    assert_eq!(s("day"), "2024-02-29");
    assert_eq!(s("color"), "RED");
    assert_eq!(first["n_long"]["N"], "9007199254740992");
    assert_eq!(first["raw"]["B"], "AAD/");
    assert!(first.get("opt").is_none(), "a null union is left out");
    let second = &want[2];
    assert_eq!(
        second["ids"]["L"][1]["S"],
        "00000000-0000-0002-0000-000000000001"
    );
}

#[test]
fn unions_beyond_null_and_damaged_files_are_refused_naming_what() {
    let d = tmp();
    if written(d.path()).is_none() {
        return;
    }
    let union = d.path().join("union.avro");
    let (code, _, err) = convert(
        &d.path().join("o1"),
        &[union.to_str().unwrap(), "--key", "id"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("either"), "names the field: {err}");
    // Cut short in its blocks: an error naming the file, never a partial output.
    let whole = std::fs::read(d.path().join("deflate.avro")).unwrap();
    let cut = d.path().join("cut.avro");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let out = d.path().join("o2");
    let (code, _, err) = convert(&out, &[cut.to_str().unwrap(), "--key", "id"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("cut.avro"), "{err}");
    assert!(!out.join("manifest-summary.json").exists());
    // Told by its magic bytes whatever its name.
    let unnamed = d.path().join("events-0001");
    std::fs::copy(d.path().join("snappy.avro"), &unnamed).unwrap();
    let (code, summary, err) = convert(
        &d.path().join("o3"),
        &[unnamed.to_str().unwrap(), "--key", "id"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(summary["itemsWritten"], 299, "{summary}");
    // Not a format the import reads: validate says so.
    let (code, findings, _) = validate(&[d.path().join("null.avro").to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        findings
            .iter()
            .any(|f| f["message"].as_str().unwrap_or("").contains("avro")),
        "{findings:?}"
    );
}

/// Avro objects in S3 (uncompressed and zstandard blocks) convert to the same items as the
/// local files, with the files' CRC64-NVME.
#[test]
fn avro_objects_in_s3_convert_as_local_files_do() {
    let d = tmp();
    if written(d.path()).is_none() {
        return;
    }
    let Some((moto, rt, _)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    for name in ["null.avro", "zstandard.avro"] {
        let local = d.path().join(name);
        let body = std::fs::read(&local).unwrap();
        rt.block_on(
            s3(&url)
                .put_object()
                .bucket("bkt")
                .key(format!("in/{name}"))
                .body(body.clone().into())
                .send(),
        )
        .unwrap();
        let a = d.path().join(format!("local-{name}"));
        let (want, _) = items(&a, &local);
        let b = d.path().join(format!("s3-{name}"));
        let o = prep_aws()
            .args(["convert", &format!("s3://bkt/in/{name}"), "--key", "id"])
            .args(["--endpoint-url", &url, "--path-style", "--out"])
            .arg(&b)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got: Vec<_> = lines(&b).iter().map(|l| item(l)).collect();
        assert_eq!(got, want, "{name}");
        let summary = read_json(&b.join("manifest-summary.json"));
        assert_eq!(
            summary["inputs"][0]["crc64nvme"],
            crc64nvme(&body),
            "{name}"
        );
        assert_eq!(summary["inputs"][0]["format"], "avro", "{name}");
    }
}
