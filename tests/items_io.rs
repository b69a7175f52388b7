//! Ion output, and DynamoDB JSON / Ion / export folders as input.

mod common;

use base64::Engine;
use common::*;
use ion_rs::{Element, IonType};
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn all_bytes(out: &Path) -> Vec<u8> {
    parts(out).iter().flat_map(|p| read_part(p)).collect()
}

/// Convert `input` with `args` into `out`; panics unless the exit code is `want`.
fn run(out: &Path, input: &str, args: &[&str], want: i32) -> Value {
    let mut a = vec![input];
    a.extend_from_slice(args);
    let (code, s, err) = convert(out, &a);
    assert_eq!(code, want, "{input} {args:?}: {err}");
    s
}

#[test]
fn every_fixture_round_trips_through_ion_in_both_directions() {
    let d = tmp();
    let cases: &[(&str, &[&str])] = &[
        ("types.parquet", &["--key", "pk"]),
        ("types.arrow", &["--key", "pk", "--nulls", "null"]),
        (
            "types.arrows",
            &["--key", "pk", "--type", "list_s=SS", "--type", "list_i=NS"],
        ),
        ("users.csv", &["--key", "user_id", "--type", "tags=SS"]),
        ("excel.csv", &["--key", "id:N", "--delimiter", ";"]),
    ];
    for (i, (name, args)) in cases.iter().enumerate() {
        let base = d.path().join(format!("{i}"));
        fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
            let mut v: Vec<&str> = args.to_vec();
            v.extend_from_slice(extra);
            v
        }
        let json_direct = base.join("json");
        let ion_direct = base.join("ion");
        let code = if name.starts_with("excel") { 0 } else { 1 };
        run(
            &json_direct,
            &fixture(name),
            &with(args, &["--compress", "none"]),
            code,
        );
        run(
            &ion_direct,
            &fixture(name),
            &with(args, &["--format", "ion", "--compress", "zstd"]),
            code,
        );
        let key: Vec<&str> = args[..2].to_vec();
        // Ion → DynamoDB JSON equals the direct DynamoDB JSON, byte for byte.
        let back = base.join("ion2json");
        let mut a = key.clone();
        a.extend(["--compress", "none"]);
        run(&back, ion_direct.to_str().unwrap(), &a, 0);
        assert_eq!(
            all_bytes(&back),
            all_bytes(&json_direct),
            "{name}: Ion → JSON"
        );
        // DynamoDB JSON → Ion equals the direct Ion.
        let fwd = base.join("json2ion");
        let mut a = key.clone();
        a.extend(["--format", "ion", "--compress", "gzip"]);
        run(&fwd, json_direct.to_str().unwrap(), &a, 0);
        assert_eq!(
            all_bytes(&fwd),
            all_bytes(&ion_direct),
            "{name}: JSON → Ion"
        );
    }
}

/// Every Ion line prep writes is read by ion-rs with DynamoDB's types: N as decimal, sets as
/// annotated lists, B as blob.
#[test]
fn ion_rs_reads_every_line_with_dynamodb_types() {
    let d = tmp();
    let out = d.path().join("o");
    run(
        &out,
        &fixture("types.arrow"),
        &[
            "--key",
            "pk",
            "--format",
            "ion",
            "--type",
            "list_s=SS",
            "--type",
            "list_i=NS",
            "--nulls",
            "null",
        ],
        1,
    );
    let text = String::from_utf8(all_bytes(&out)).unwrap();
    let mut checked = 0;
    for line in text.lines() {
        assert!(line.starts_with("$ion_1_0 {Item:{"), "{line}");
        let seq = Element::read_all(line.as_bytes()).unwrap();
        assert_eq!(seq.len(), 1, "one value per line");
        let item = seq
            .get(0)
            .unwrap()
            .as_struct()
            .unwrap()
            .get("Item")
            .unwrap()
            .as_struct()
            .unwrap();
        for (name, v) in item.fields() {
            let name = name.text().unwrap();
            let want = match name {
                "pk" | "s_large" | "s_view" | "d32" | "ts_s" | "t32_s" | "dict" => IonType::String,
                "i8" | "u64" | "f16" | "f32" | "f64" | "dec" | "dec256" => IonType::Decimal,
                "bin" | "bin_fixed" => IonType::Blob,
                "flag" => IonType::Bool,
                "obj" | "kv" => IonType::Struct,
                "list_fixed" | "list_s" | "list_i" => IonType::List,
                _ => continue,
            };
            if v.is_null() {
                continue;
            }
            assert_eq!(v.ion_type(), want, "{name} in {line}");
            checked += 1;
        }
        if let Some(v) = item.get("list_s") {
            if !v.is_null() {
                assert!(v.annotations().contains("$dynamodb_SS"), "{line}");
            }
        }
        if let Some(v) = item.get("list_i") {
            if !v.is_null() {
                assert!(v.annotations().contains("$dynamodb_NS"), "{line}");
                for m in v.as_list().unwrap().iter() {
                    assert_eq!(m.ion_type(), IonType::Decimal);
                }
            }
        }
        if let Some(l) = item.get("list_fixed").and_then(|v| v.as_list()) {
            for m in l.iter() {
                assert_eq!(
                    m.ion_type(),
                    IonType::Decimal,
                    "floats are decimals: {line}"
                );
            }
        }
    }
    assert!(checked > 40, "{checked}");
    // Exact decimal values survive.
    let first = Element::read_all(text.lines().next().unwrap().as_bytes()).unwrap();
    let item = first
        .get(0)
        .unwrap()
        .as_struct()
        .unwrap()
        .get("Item")
        .unwrap()
        .as_struct()
        .unwrap();
    let dec = item.get("dec256").unwrap().as_decimal().unwrap();
    assert_eq!(
        prep::model::number::canonical(&prep::input::parse::ion::decimal_text(&dec)).unwrap(),
        "12345678901234567890123456789012345678"
    );
}

#[test]
fn ion_text_details() {
    let d = tmp();
    let input = write(
        d.path(),
        "e.csv",
        "pk,n,small,big,s,b\n\"we\"\"ird\\\",42,0.00000015,1e100,\"tab\there\nnl\",aGk=\n",
    );
    let out = d.path().join("o");
    run(
        &out,
        &input,
        &[
            "--key",
            "pk",
            "--format",
            "ion",
            "--compress",
            "none",
            "--type",
            "small=N",
            "--type",
            "big=N",
            "--type",
            "b=B",
        ],
        0,
    );
    let line = lines(&out)[0].clone();
    assert_eq!(
        line,
        r#"$ion_1_0 {Item:{"pk":"we\"ird\\","n":42.,"small":0.00000015,"big":1d100,"s":"tab\there\nnl","b":{{aGk=}}}}"#
    );
    let v = Element::read_one(line.trim_start_matches("$ion_1_0 ").as_bytes()).unwrap();
    let item = v
        .as_struct()
        .unwrap()
        .get("Item")
        .unwrap()
        .as_struct()
        .unwrap();
    assert_eq!(item.get("pk").unwrap().as_string(), Some("we\"ird\\"));
    assert_eq!(item.get("s").unwrap().as_string(), Some("tab\there\nnl"));
    assert_eq!(item.get("small").unwrap().ion_type(), IonType::Decimal);
}

#[test]
fn malformed_item_lines_are_rejected_with_their_line_and_the_rest_converts() {
    let d = tmp();
    let body = [
        r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.50"}}}"#,
        r#"{"Item":{"pk":{"S":"b"}}"#,
        r#"{"Item":{"pk":{"S":"c"},"x":{"NULL":false}}}"#,
        "",
        r#"{"Item":{"pk":{"S":"d"},"x":{"S":"a","N":"1"}}}"#,
        r#"{"Item":{"pk":{"S":"e"},"b":{"B":"not base64"}}}"#,
        r#"{"Item":{"pk":{"S":"f"},"s":{"S":"\ud800"}}}"#,
        r#"{"Item":{"pk":{"N":"7"}}}"#,
        r#"{"Item":{"pk":{"S":"g"},"ns":{"NS":["1","1.0"]}}}"#,
        r#"{"Item":{"pk":{"S":"h"},"ss":{"SS":[]}}}"#,
        r#"{"Item":{"pk":{"S":"i"},"n":{"N":"1E+126"}}}"#,
        r#"{"Item":{"pk":{"S":"z"}}}"#,
    ]
    .join("\n");
    let input = write(d.path(), "items.json", &(body + "\n"));
    let out = d.path().join("o");
    let s = run(&out, &input, &["--key", "pk:S", "--compress", "none"], 1);
    let r = read_jsonl(&out.join("rejects.jsonl"));
    let got: Vec<(u64, &str)> = r
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "F001"),
            (3, "A003"),
            (5, "A002"),
            (6, "A004"),
            (7, "F001"),
            (8, "K002"),
            (9, "T002"),
            (11, "N003")
        ]
    );
    assert_eq!(
        r[0]["values"],
        json!({"line": r#"{"Item":{"pk":{"S":"b"}}"#})
    );
    assert_eq!(
        r[1]["values"]["line"],
        r#"{"Item":{"pk":{"S":"c"},"x":{"NULL":false}}}"#
    );
    assert_eq!(r[5]["values"], json!({"pk": 7}));
    let pks: Vec<Value> = lines(&out).iter().map(|l| item(l)["pk"].clone()).collect();
    assert_eq!(
        pks,
        vec![json!({"S": "a"}), json!({"S": "h"}), json!({"S": "z"})]
    );
    assert_eq!(item(&lines(&out)[0])["n"], json!({"N": "1.5"}));
    assert_eq!(s["emptySetsOmitted"], 1);
    assert_eq!(s["rowsRead"], 11, "the blank line is not a row");

    let ion = [
        r#"$ion_1_0 {Item:{"pk":"a","n":42.}}"#,
        r#"$ion_1_0 {Item:{"pk":"b","n":42}}"#,
        r#"$ion_1_0 {Item:{"pk":"c""#,
        r#"$ion_1_0 {Item:{"pk":"d","t":2024-01-01T}}"#,
        r#"$ion_1_0 {Item:{"pk":"e","f":1.5e0}}"#,
        r#"$ion_1_0 {Item:{"pk":"f","s":$dynamodb_SS::["x",1.]}}"#,
        r#"$ion_1_0 {Item:{"pk":"g"}}"#,
    ]
    .join("\n");
    let input = write(d.path(), "items.ion", &(ion + "\n"));
    let out = d.path().join("ion");
    run(&out, &input, &["--key", "pk", "--compress", "none"], 1);
    let got: Vec<(u64, String)> = read_jsonl(&out.join("rejects.jsonl"))
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (2, "A006"),
        (3, "F001"),
        (4, "A007"),
        (5, "A006"),
        (6, "T003"),
    ]
    .iter()
    .map(|(l, c)| (*l, c.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(lines(&out).len(), 2);
}

/// An export laid out as DynamoDB writes it: AWSDynamoDB/<id>/ with manifests and gzip data.
fn make_export(root: &Path, items: &[Vec<&str>]) -> std::path::PathBuf {
    let dir = root.join("AWSDynamoDB").join("01700000000000-abcd1234");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut manifest = String::new();
    let mut total = 0;
    for (i, lines) in items.iter().enumerate() {
        let name = format!("file{i}abc.json.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for l in lines {
            writeln!(e, "{l}").unwrap();
        }
        let bytes = e.finish().unwrap();
        std::fs::write(dir.join("data").join(&name), &bytes).unwrap();
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&bytes));
        manifest.push_str(
            &json!({
                "itemCount": lines.len(),
                "md5Checksum": md5,
                "etag": "abc-1",
                "dataFileS3Key": format!("prefix/AWSDynamoDB/01700000000000-abcd1234/data/{name}"),
            })
            .to_string(),
        );
        manifest.push('\n');
        total += lines.len();
    }
    std::fs::write(dir.join("manifest-files.json"), manifest).unwrap();
    std::fs::write(
        dir.join("manifest-summary.json"),
        json!({"version": "2020-06-30", "itemCount": total, "outputFormat": "DYNAMODB_JSON",
               "manifestFilesS3Key": "prefix/AWSDynamoDB/01700000000000-abcd1234/manifest-files.json"})
            .to_string(),
    )
    .unwrap();
    dir
}

#[test]
fn export_folders_convert_and_tampering_is_refused() {
    let d = tmp();
    let dir = make_export(
        d.path(),
        &[
            vec![
                r#"{"Item":{"id":{"S":"1"},"v":{"N":"1.0"},"tags":{"SS":["a"]}}}"#,
                r#"{"Item":{"id":{"S":"2"},"m":{"M":{"x":{"L":[{"NULL":true}]}}}}}"#,
            ],
            vec![r#"{"Item":{"id":{"S":"3"},"b":{"B":"aGk="}}}"#],
        ],
    );
    let out = d.path().join("o");
    let s = run(
        &out,
        dir.to_str().unwrap(),
        &["--key", "id", "--format", "ion", "--compress", "none"],
        0,
    );
    assert_eq!(s["itemsWritten"], 3);
    let text = String::from_utf8(all_bytes(&out)).unwrap();
    assert!(
        text.contains(r#"{Item:{"id":"1","v":1.,"tags":$dynamodb_SS::["a"]}}"#),
        "{text}"
    );
    let summary = read_json(&out.join("manifest-summary.json"));
    assert_eq!(summary["inputs"][0]["format"], "dynamodb-json");
    // The key type came from the data.
    assert_eq!(summary["keySchema"]["partitionKey"]["type"], "S");

    // The parent folder works too (the walk finds the export inside).
    let out2 = d.path().join("o2");
    let s = run(
        &out2,
        d.path().join("AWSDynamoDB").to_str().unwrap(),
        &["--key", "id"],
        0,
    );
    assert_eq!(s["itemsWritten"], 3);

    // A changed data file is refused, naming it.
    let victim = dir.join("data").join("file1abc.json.gz");
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let (code, _, err) = convert(
        &d.path().join("o3"),
        &[dir.to_str().unwrap(), "--key", "id"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("file1abc.json.gz") && err.contains("md5Checksum mismatch"),
        "{err}"
    );

    // A manifest whose itemCount disagrees is refused too, and leaves no complete output.
    let dir2 = make_export(
        &d.path().join("second"),
        &[vec![r#"{"Item":{"id":{"S":"1"}}}"#]],
    );
    let mf = dir2.join("manifest-files.json");
    let text = std::fs::read_to_string(&mf)
        .unwrap()
        .replace("\"itemCount\":1", "\"itemCount\":2");
    std::fs::write(&mf, text).unwrap();
    let o4 = d.path().join("o4");
    let (code, _, err) = convert(&o4, &[dir2.to_str().unwrap(), "--key", "id"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("itemCount mismatch") && err.contains("file0abc.json.gz"),
        "{err}"
    );
    assert!(!o4.join("manifest-files.json").exists());
}

#[test]
fn prep_output_is_an_input_and_keys_are_rechecked() {
    let d = tmp();
    let first = d.path().join("first");
    run(
        &first,
        &fixture("users.csv"),
        &["--key", "user_id", "--type", "tags=SS"],
        1,
    );
    // Re-key for a table whose partition key is zip: every item has it, as S.
    let second = d.path().join("second");
    let s = run(
        &second,
        first.to_str().unwrap(),
        &["--key", "zip", "--sort-key", "user_id"],
        1,
    );
    assert_eq!(s["itemsWritten"], 4);
    let r = read_jsonl(&second.join("rejects.jsonl"));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["code"], "K001", "u004 has no zip");
    assert!(r[0]["source"]
        .as_str()
        .unwrap()
        .ends_with("part-00000.json.zst"));
    // Mixing item inputs with table inputs is refused.
    let (code, _, err) = convert(
        &d.path().join("mix"),
        &[
            first.to_str().unwrap(),
            &fixture("excel.csv"),
            "--key",
            "user_id",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("together with table inputs"), "{err}");
    // --type does not apply to item inputs.
    let (code, _, _) = convert(
        &d.path().join("t"),
        &[
            first.to_str().unwrap(),
            "--key",
            "user_id",
            "--type",
            "age=N",
        ],
    );
    assert_eq!(code, 2);
}
