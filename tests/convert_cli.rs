//! `prep convert` through the real binary: formats, options, checks, exit codes, output layout.

mod common;

use common::*;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

fn codes(out: &Path) -> Vec<String> {
    rejects(out)
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_input_format_converts_and_counts_reconcile() {
    let d = tmp();
    let csv = std::fs::read(fixture("users.csv")).unwrap();
    let gz = d.path().join("users.csv.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&csv).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let zst = d.path().join("users.csv.zst");
    std::fs::write(&zst, zstd::encode_all(&csv[..], 3).unwrap()).unwrap();
    let cases: Vec<(String, &str, u64, u64)> = vec![
        (fixture("types.parquet"), "pk", 7, 2),
        (fixture("types.arrow"), "pk", 7, 2),
        (fixture("types.arrows"), "pk", 7, 2),
        (fixture("users.csv"), "user_id", 8, 2),
        (gz.to_string_lossy().into(), "user_id", 8, 2),
        (zst.to_string_lossy().into(), "user_id", 8, 2),
    ];
    for (i, (input, key, rows, rejected)) in cases.iter().enumerate() {
        let out = d.path().join(format!("out{i}"));
        let (code, s, err) = convert(&out, &[input, "--key", key]);
        assert_eq!(code, 1, "{input}: {err}");
        assert_eq!(s["rowsRead"], *rows, "{input}");
        assert_eq!(s["rowsRejected"], *rejected, "{input}");
        assert_eq!(
            s["rowsRead"].as_u64().unwrap(),
            s["itemsWritten"].as_u64().unwrap() + s["rowsRejected"].as_u64().unwrap()
        );
        assert_eq!(lines(&out).len() as u64, rows - rejected);
        assert_eq!(rejects(&out).len() as u64, *rejected);
    }
    // The compressed CSVs give the same items as the plain one.
    assert_eq!(lines(&d.path().join("out3")), lines(&d.path().join("out4")));
    assert_eq!(lines(&d.path().join("out3")), lines(&d.path().join("out5")));
}

#[test]
fn type_mapping_exact_values() {
    let d = tmp();
    let out = d.path().join("o");
    convert(&out, &[&fixture("types.arrow"), "--key", "pk"]);
    let first = item(&lines(&out)[0]);
    let want = json!({
        "pk": {"S": "t1"}, "i8": {"N": "-128"}, "u64": {"N": "0"}, "f16": {"N": "1.5"},
        "f32": {"N": "0.1"}, "f64": {"N": "1.5"}, "dec": {"N": "6522.73"},
        "dec256": {"N": "12345678901234567890123456789012345678"}, "flag": {"BOOL": true},
        "bin": {"B": "aGVsbG8="}, "bin_fixed": {"B": "YWJjZA=="}, "d32": {"S": "2024-02-29"},
        "d64": {"S": "2024-02-29"}, "ts_s": {"S": "2024-01-02T03:04:05"},
        "ts_ms_utc": {"S": "2024-01-02T03:04:05.123Z"},
        "ts_us_tz": {"S": "2024-01-02T03:04:05.123456Z"},
        "ts_ns": {"S": "2023-11-14T22:13:20.123456789"},
        "t32_s": {"S": "01:02:03"}, "t32_ms": {"S": "01:02:03.004"},
        "t64_us": {"S": "01:02:03.000005"}, "t64_ns": {"S": "01:02:03.000000007"},
        "list_i": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]},
        "list_fixed": {"L": [{"N": "1.5"}, {"N": "2.5"}]},
        "obj": {"M": {"name": {"S": "Ada"}, "age": {"N": "36"}, "tags": {"L": [{"S": "x"}]}}},
        "kv": {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}, "dict": {"S": "red"},
    });
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(first.get(k), Some(v), "{k}");
    }
    assert!(!first.contains_key("nothing"), "all-null column left out");
    let second = item(&lines(&out)[1]);
    assert_eq!(second["u64"], json!({"N": "18446744073709551615"}));
    assert_eq!(second["i64"], json!({"N": "9223372036854775807"}));
    assert_eq!(
        second["s_large"],
        json!({"S": ""}),
        "empty strings are fine outside keys"
    );
    assert_eq!(second["d32"], json!({"S": "1969-12-31"}));
    assert_eq!(second["kv"], json!({"M": {}}));
    let fourth = item(&lines(&out)[3]);
    assert_eq!(fourth["list_i"], json!({"L": [{"NULL": true}, {"N": "5"}]}));
    assert_eq!(fourth["dec"], json!({"N": "1.5"}), "1.50 is written 1.5");
    assert_eq!(fourth["d32"], json!({"S": "0001-01-01"}));
}

#[test]
fn nulls_null_writes_null_attributes() {
    let d = tmp();
    let out = d.path().join("o");
    convert(
        &out,
        &[&fixture("types.arrow"), "--key", "pk", "--nulls", "null"],
    );
    let third = item(&lines(&out)[2]);
    assert_eq!(third["nothing"], json!({"NULL": true}));
    assert_eq!(third["obj"], json!({"NULL": true}));
    let second = item(&lines(&out)[1]);
    assert_eq!(second["obj"]["M"]["age"], json!({"NULL": true}));
}

#[test]
fn timestamps_as_epoch_numbers() {
    let d = tmp();
    let out = d.path().join("o");
    convert(
        &out,
        &[
            &fixture("types.arrow"),
            "--key",
            "pk",
            "--timestamps",
            "epoch-ms",
        ],
    );
    let first = item(&lines(&out)[0]);
    assert_eq!(first["ts_ms_utc"], json!({"N": "1704164645123"}));
    assert_eq!(first["ts_ns"], json!({"N": "1700000000123"}));
    assert_eq!(first["ts_s"], json!({"N": "1704164645000"}));
    let out = d.path().join("s");
    convert(
        &out,
        &[
            &fixture("types.arrow"),
            "--key",
            "pk",
            "--timestamps",
            "epoch-s",
        ],
    );
    assert_eq!(item(&lines(&out)[1])["ts_s"], json!({"N": "-1"}));
}

#[test]
fn overrides_convert_columns() {
    let d = tmp();
    let input = write(
        d.path(),
        "o.csv",
        "id,n,b,flag,ss,ns,bs,l,m,j,text_num\n\
         a,1.50,aGk=,TRUE,x;y,1;1.5;2,aGk=;aA==,\"[1,\"\"a\"\"]\",\"{\"\"k\"\":{\"\"z\"\":null}}\",12345678901234567890123456789012345678,007\n\
         b,2,,false,,,,[],{},\"\"\"s\"\"\",8\n",
    );
    let out = d.path().join("o");
    let (code, s, err) = convert(
        &out,
        &[
            &input,
            "--key",
            "id",
            "--type",
            "n=N",
            "--type",
            "b=B",
            "--type",
            "flag=BOOL",
            "--type",
            "ss=SS:;",
            "--type",
            "ns=NS:;",
            "--type",
            "bs=BS:;",
            "--type",
            "l=L",
            "--type",
            "m=M",
            "--type",
            "j=JSON",
            "--type",
            "text_num=S",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let a = item(&lines(&out)[0]);
    assert_eq!(a["n"], json!({"N": "1.5"}));
    assert_eq!(a["b"], json!({"B": "aGk="}));
    assert_eq!(a["flag"], json!({"BOOL": true}));
    assert_eq!(a["ss"], json!({"SS": ["x", "y"]}));
    assert_eq!(a["ns"], json!({"NS": ["1", "1.5", "2"]}));
    assert_eq!(a["bs"], json!({"BS": ["aGk=", "aA=="]}));
    assert_eq!(a["l"], json!({"L": [{"N": "1"}, {"S": "a"}]}));
    assert_eq!(a["m"], json!({"M": {"k": {"M": {"z": {"NULL": true}}}}}));
    assert_eq!(
        a["j"],
        json!({"N": "12345678901234567890123456789012345678"}),
        "JSON numbers stay exact"
    );
    assert_eq!(a["text_num"], json!({"S": "007"}));
    let b = item(&lines(&out)[1]);
    assert_eq!(b["j"], json!({"S": "s"}));
    assert_eq!(b["l"], json!({"L": []}));
    assert_eq!(b["m"], json!({"M": {}}));
    assert_eq!(s["emptySetsOmitted"], 0);

    // Sets from list columns; an empty set is left out and counted; duplicates reject the row.
    let out = d.path().join("sets");
    let (code, s, _) = convert(
        &out,
        &[
            &fixture("types.arrow"),
            "--key",
            "pk",
            "--type",
            "list_s=SS",
            "--type",
            "list_i=NS",
        ],
    );
    assert_eq!(code, 1);
    let first = item(&lines(&out)[0]);
    assert_eq!(first["list_s"], json!({"SS": ["a", "b"]}));
    assert_eq!(first["list_i"], json!({"NS": ["1", "2", "3"]}));
    assert!(s["emptySetsOmitted"].as_u64().unwrap() >= 1);
    let r = rejects(&out);
    assert!(
        r.iter().any(|r| r["code"] == "T002" && r["row"] == 5),
        "{r:?}"
    );
    assert!(
        r.iter().any(|r| r["code"] == "T003" && r["row"] == 4),
        "null member in NS: {r:?}"
    );
}

#[test]
fn bad_overrides_and_keys_cannot_run() {
    let d = tmp();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--key", "nope"],
        vec!["--key", "pk", "--type", "nope=S"],
        vec!["--key", "pk", "--type", "flag=B"],
        vec!["--key", "obj"],
        vec!["--key", "pk", "--type", "pk=N", "--key", "pk:S"],
        vec!["--key", "pk", "--type", "x"],
        vec!["--key", "pk", "--part-size", "12XB"],
        vec!["--key", "pk", "--compress", "lz4"],
        vec!["--key", "pk", "--gsi", "bad"],
        // Neither a key nor a table definition; a sort key without a partition key.
        vec![],
        vec!["--sort-key", "sk"],
        vec!["--key", "pk", "--table-def", "fixtures/table-def.json"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let out = d.path().join(format!("o{i}"));
        let mut a = vec![fixture("types.arrow")];
        a.extend(args.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, _, err) = convert(&out, &a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("error"), "{err}");
        assert!(!out.join("manifest-summary.json").exists());
    }
}

#[test]
fn declared_key_types_win_and_reject_what_cannot_fit() {
    let d = tmp();
    let input = write(d.path(), "k.csv", "id,v\n1,a\n2,b\nx3,c\n");
    // Inference says N for id … but not with the third row in the sample: it is S. Declared N
    // converts the first two rows and rejects the third as a key type mismatch.
    let out = d.path().join("n");
    let (code, s, _) = convert(&out, &[&input, "--key", "id:N"]);
    assert_eq!(code, 1);
    assert_eq!(s["itemsWritten"], 2);
    assert_eq!(codes(&out), vec!["K002"]);
    assert_eq!(item(&lines(&out)[0])["id"], json!({"N": "1"}));
    let summary = read_json(&out.join("manifest-summary.json"));
    assert_eq!(
        summary["keySchema"]["partitionKey"],
        json!({"name": "id", "type": "N"})
    );
    // Declared S on a numeric-looking column keeps the text.
    let input = write(d.path(), "k2.csv", "id,v\n1,a\n2,b\n");
    let out = d.path().join("s");
    convert(&out, &[&input, "--key", "id:S"]);
    assert_eq!(item(&lines(&out)[0])["id"], json!({"S": "1"}));
    // Type taken from the data: an integer column gives N (and the summary says so).
    let out = d.path().join("auto");
    let (_, s, _) = convert(&out, &[&fixture("types.arrow"), "--key", "i64"]);
    assert_eq!(
        s["keySchema"]["partitionKey"],
        json!({"name": "i64", "type": "N"})
    );
    let it = read_json(&out.join("import-table.json"));
    assert_eq!(
        it["TableCreationParameters"]["AttributeDefinitions"][0],
        json!({"AttributeName": "i64", "AttributeType": "N"})
    );
    // A BOOL column declared as a key of type B cannot convert: every row is a type mismatch.
    let out = d.path().join("bool");
    let (code, s, _) = convert(&out, &[&fixture("types.arrow"), "--key", "flag:B"]);
    assert_eq!(code, 1);
    assert_eq!(s["itemsWritten"], 0);
    assert!(codes(&out).iter().all(|c| c == "K002" || c == "K001"));
}

#[test]
fn key_checks() {
    let d = tmp();
    let long_pk = "p".repeat(2048);
    let too_long_pk = "p".repeat(2049);
    let long_sk = "s".repeat(1024);
    let too_long_sk = "s".repeat(1025);
    let body = format!(
        "pk,sk,g\n{long_pk},a,x\n{too_long_pk},b,x\nok,{long_sk},x\nok,{too_long_sk},x\n,c,x\nok2,,x\nok3,d,\nok4,e,notnum\n"
    );
    let input = write(d.path(), "keys.csv", &body);
    let out = d.path().join("o");
    let (code, s, err) = convert(
        &out,
        &[
            &input,
            "--key",
            "pk:S",
            "--sort-key",
            "sk:S",
            "--gsi",
            "byG=g:N",
            "--csv-types",
            "string",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let r = rejects(&out);
    let by_row: Vec<(u64, &str)> = r
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_row,
        vec![
            (1, "K006"),
            (2, "K004"),
            (3, "K006"),
            (4, "K005"),
            (5, "K001"),
            (6, "K001"),
            (8, "K006")
        ]
    );
    // Row 7 has no GSI key: simply not indexed, and written.
    assert_eq!(s["itemsWritten"], 1);
    assert!(r[0]["message"]
        .as_str()
        .unwrap()
        .contains("Type mismatch for key g"));
    assert_eq!(r[4]["line"], 6, "CSV rejects carry the line number");

    // Empty key values: an empty CSV cell is missing, an empty string from Arrow is K003.
    let out = d.path().join("empty");
    let (_, _, _) = convert(
        &out,
        &[
            &fixture("types.arrow"),
            "--key",
            "pk",
            "--sort-key",
            "s_large",
        ],
    );
    assert!(
        codes(&out).contains(&"K003".to_string()),
        "{:?}",
        codes(&out)
    );
}

#[test]
fn item_size_limit_is_exact() {
    let d = tmp();
    // Item = "pk" (2) + "a" (1) + "d" (1) + value: 409,600 needs a value of 409,596 bytes.
    let ok = "x".repeat(409_596);
    let big = "x".repeat(409_597);
    let input = write(d.path(), "size.csv", &format!("pk,d\na,{ok}\nb,{big}\n"));
    let out = d.path().join("o");
    let (code, s, _) = convert(&out, &[&input, "--key", "pk"]);
    assert_eq!(code, 1);
    assert_eq!(s["itemsWritten"], 1);
    let r = rejects(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["code"], "I001");
    assert_eq!(r[0]["row"], 2);
    assert!(
        r[0]["message"].as_str().unwrap().contains("409601"),
        "{}",
        r[0]["message"]
    );
}

#[test]
fn number_rules() {
    let d = tmp();
    let d38 = "12345678901234567890123456789012345678";
    let body = format!(
        "pk,n\na,1E-130\nb,1E-131\nc,{d38}\nd,{d38}9\ne,9.9999999999999999999999999999999999999E+125\nf,1E+126\ng,1.50\nh,-0\ni,abc\n"
    );
    let input = write(d.path(), "n.csv", &body);
    let out = d.path().join("o");
    let (code, _, _) = convert(&out, &[&input, "--key", "pk", "--type", "n=N"]);
    assert_eq!(code, 1);
    let r = rejects(&out);
    let by_row: Vec<(u64, &str)> = r
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_row,
        vec![(2, "N004"), (4, "N002"), (6, "N003"), (9, "V005")]
    );
    assert!(
        r[3]["message"].as_str().unwrap().contains("--type n=S"),
        "{}",
        r[3]["message"]
    );
    let got: Vec<Value> = lines(&out).iter().map(|l| item(l)["n"].clone()).collect();
    assert_eq!(
        got,
        vec![
            json!({"N": "1E-130"}),
            json!({"N": d38}),
            json!({"N": "9.9999999999999999999999999999999999999E+125"}),
            json!({"N": "1.5"}),
            json!({"N": "0"}),
        ]
    );
    // Floats that are no number (NaN, infinities: Parquet and Arrow can hold them) are N005.
    use arrow_array::{Float64Array, RecordBatch, StringArray};
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("pk", arrow_schema::DataType::Utf8, false),
        arrow_schema::Field::new("f", arrow_schema::DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
            std::sync::Arc::new(Float64Array::from(vec![
                1.5,
                f64::NAN,
                f64::INFINITY,
                -0.25,
            ])),
        ],
    )
    .unwrap();
    let path = d.path().join("f.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = d.path().join("floats");
    let (code, summary, _) = convert(&out, &[path.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 1);
    assert_eq!(summary["rejectsByCode"], json!({"N005": 2}), "{summary}");
    let good: Vec<Value> = lines(&out).iter().map(|l| item(l)["f"].clone()).collect();
    assert_eq!(good, [json!({"N": "1.5"}), json!({"N": "-0.25"})]);
}

#[test]
fn nesting_limit() {
    let d = tmp();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let body = format!("pk,j\na,\"{}\"\nb,\"{}\"\n", deep(32), deep(33));
    let input = write(d.path(), "deep.csv", &body);
    let out = d.path().join("o");
    let (code, s, _) = convert(&out, &[&input, "--key", "pk", "--type", "j=JSON"]);
    assert_eq!(code, 1);
    assert_eq!(s["itemsWritten"], 1);
    assert_eq!(codes(&out), vec!["V001"]);
    assert_eq!(rejects(&out)[0]["row"], 2);
}

#[test]
fn csv_inference_and_dialects() {
    let d = tmp();
    let out = d.path().join("o");
    let (code, _, err) = convert(&out, &[&fixture("users.csv"), "--key", "user_id"]);
    assert_eq!(code, 1, "{err}");
    let first = item(&lines(&out)[0]);
    assert_eq!(
        first["balance"],
        json!({"N": "1200.5"}),
        "numbers canonicalised from text"
    );
    assert_eq!(first["active"], json!({"BOOL": true}));
    assert_eq!(
        first["zip"],
        json!({"S": "01234"}),
        "leading zeros stay text"
    );
    assert_eq!(
        first["age"],
        json!({"S": "36"}),
        "a non-number in the sample makes the column S"
    );
    assert_eq!(first["bio"], json!({"S": "Wrote the first \"program\""}));
    let second = item(&lines(&out)[1]);
    assert_eq!(second["bio"], json!({"S": "line one\nline two"}));
    assert_eq!(second["name"], json!({"S": "Zoë Ünïcödé 日本"}));
    assert!(!second.contains_key("tags"), "empty cells are left out");

    // A cell that does not fit an inferred type later in the file is rejected, naming the fix.
    let input = write(d.path(), "late.csv", "pk,qty\na,1\nb,2\nc,three\n");
    let out = d.path().join("late");
    let (code, _, _) = convert(&out, &[&input, "--key", "pk", "--csv-sample-rows", "2"]);
    assert_eq!(code, 1);
    let r = rejects(&out);
    assert_eq!(r[0]["code"], "V005");
    assert!(r[0]["message"].as_str().unwrap().contains("--type qty=S"));

    // --csv-types string: everything is S.
    let out = d.path().join("str");
    convert(
        &out,
        &[
            &fixture("users.csv"),
            "--key",
            "user_id",
            "--csv-types",
            "string",
        ],
    );
    assert_eq!(item(&lines(&out)[0])["balance"], json!({"S": "1200.50"}));

    // BOM, CRLF and semicolons, as Excel writes them.
    let out = d.path().join("excel");
    let (code, _, err) = convert(
        &out,
        &[&fixture("excel.csv"), "--key", "id:N", "--delimiter", ";"],
    );
    assert_eq!(code, 0, "{err}");
    let items = lines(&out);
    assert_eq!(
        item(&items[0])["id"],
        json!({"N": "1"}),
        "BOM stripped from the first name"
    );
    assert_eq!(
        item(&items[1])["city"],
        json!({"S": "Saint-Étienne; Loire"})
    );
    assert_eq!(item(&items[2])["population"], json!({"N": "2752412"}));

    // No header: names from --columns; tab delimiter.
    let input = write(d.path(), "nohead.tsv", "a\t1\nb\t2\n");
    let out = d.path().join("nohead");
    let (code, s, err) = convert(
        &out,
        &[&input, "--key", "k", "--no-header", "--columns", "k,v"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["itemsWritten"], 2);
    assert_eq!(item(&lines(&out)[1])["v"], json!({"N": "2"}));

    // Invalid UTF-8 in a cell rejects that row (V004), not the file; so does a character cut
    // in two by a delimiter (the record's bytes are valid UTF-8 together, its cells are not).
    // Also when the bad bytes come after blocks of good ones (rows are only checked one by one
    // once a block holds bad UTF-8), or when the file ends inside a character.
    let mut late = b"pk,name\n".to_vec();
    for i in 0..20_000 {
        late.extend_from_slice(format!("k{i},Z\u{fc}rich \u{1F600}\n").as_bytes());
    }
    late.extend_from_slice(b"bad,Z\xfcrich\n");
    let cases: [(&str, &[u8]); 4] = [
        ("latin1", b"pk,name\na,Z\xfcrich\nb,ok\n"),
        ("split", b"pk,a,b\nx,\xc3,\xa9z\ny,\xc3\xa9,ok\n"),
        ("late_bad", &late),
        ("cut_at_end", b"pk,name\na,ok\nb,\xc3"),
    ];
    for (name, bytes) in cases {
        let p = d.path().join(format!("{name}.csv"));
        std::fs::write(&p, bytes).unwrap();
        let out = d.path().join(name);
        let (code, s, err) = convert(&out, &[p.to_str().unwrap(), "--key", "pk"]);
        assert_eq!(code, 1, "{name}: {err}");
        let good = if name == "late_bad" { 20_000 } else { 1 };
        assert_eq!(s["itemsWritten"], good, "{name}");
        assert_eq!(codes(&out), vec!["V004"], "{name}");
    }
    let split = d.path().join("split");
    assert_eq!(item(&lines(&split)[0])["a"], json!({"S": "\u{e9}"}));
}

#[test]
fn duplicates_across_inputs() {
    let d = tmp();
    let a = write(d.path(), "a.csv", "pk,sk,v\nx,1,a\ny,1,b\nx,2,c\n");
    let b = write(d.path(), "b.csv", "pk,sk,v\nx,1.0,d\nz,1,e\nx,1,f\n");
    let out = d.path().join("warn");
    let (code, s, err) = convert(&out, &[&a, &b, "--key", "pk", "--sort-key", "sk:N"]);
    assert_eq!(code, 0, "warnings only: {err}");
    assert_eq!(s["duplicateKeys"], 1);
    assert_eq!(s["duplicateItems"], 2, "x/1 appears three times (1.0 = 1)");
    assert_eq!(s["itemsWritten"], 6);
    let dups = read_jsonl(&out.join("duplicates.jsonl"));
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0]["key"], json!({"pk": "x", "sk": "1"}));
    assert_eq!(dups[0]["first"]["row"], 1);
    assert!(dups[0]["first"]["source"]
        .as_str()
        .unwrap()
        .ends_with("a.csv"));
    assert!(dups[0]["duplicate"]["source"]
        .as_str()
        .unwrap()
        .ends_with("b.csv"));
    assert_eq!(dups[1]["duplicate"]["row"], 3);
    let summary = read_json(&out.join("manifest-summary.json"));
    assert_eq!(summary["duplicateCount"], 2);

    let with_mode = |mode: &str| {
        let out = d.path().join(mode);
        let args = [
            &a,
            &b,
            "--key",
            "pk",
            "--sort-key",
            "sk:N",
            "--duplicates",
            mode,
        ];
        let (code, s, _) = convert(&out, &args);
        (out, code, s)
    };
    let (out, code, _) = with_mode("error");
    assert_eq!(code, 1);
    assert!(
        out.join("manifest-files.json").exists(),
        "output still complete"
    );

    let (out, code, s) = with_mode("off");
    assert_eq!(code, 0);
    assert_eq!(s["duplicateItems"], 0);
    assert!(!out.join("duplicates.jsonl").exists());
    // Without duplicate detection the encoders keep no keys; the items are the same.
    let (warned, _, _) = with_mode("warn");
    assert_eq!(lines(&out), lines(&warned));
}

/// Past `--dup-memory` the duplicate-key index spills sorted runs into `--tmp-dir` and finds
/// exactly what it finds in memory, in the same order; the spill is gone afterwards, and
/// `prep validate` (D001) counts the same duplicates spilled or not.
#[test]
fn a_spilled_duplicate_index_finds_the_same_duplicates() {
    let d = tmp();
    let mut csv = String::from("pk,sk,v\n");
    for i in 0..150_000u64 {
        // Every key below 30,000 comes back twice more, in scattered order.
        let k = if i < 90_000 { i % 30_000 } else { i };
        csv.push_str(&format!("user-{k},{},{i}\n", k % 7));
    }
    let input = write(d.path(), "users.csv", &csv);
    let spill = d.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let (code, s, err) = convert(
        &d.path().join("memory"),
        &[&input, "--key", "pk", "--sort-key", "sk:N"],
    );
    assert_eq!(code, 0, "{err}");
    let spilled = |out: &Path, dir: &Path| {
        let args = [
            &input,
            "--key",
            "pk",
            "--sort-key",
            "sk:N",
            "--dup-memory",
            "1MiB",
        ];
        convert(
            out,
            &[&args[..], &["--tmp-dir", dir.to_str().unwrap()]].concat(),
        )
    };
    let (code, t, err) = spilled(&d.path().join("spilled"), &spill);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["duplicateItems"], 60_000);
    assert_eq!(s["duplicateKeys"], 30_000);
    for k in ["duplicateItems", "duplicateKeys", "duplicateExamples"] {
        assert_eq!(s[k], t[k], "{k}");
    }
    let read = |o: &str| std::fs::read(d.path().join(o).join("duplicates.jsonl")).unwrap();
    assert_eq!(read("memory"), read("spilled"), "byte for byte");
    let first = &read_jsonl(&d.path().join("spilled").join("duplicates.jsonl"))[0];
    assert_eq!(first["first"]["row"], 1);
    assert_eq!(first["duplicate"]["row"], 30_001);
    assert_eq!(first["occurrence"], 2);
    assert_eq!(
        std::fs::read_dir(&spill).unwrap().count(),
        0,
        "the spill is removed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(d.path().join("memory"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".prep-duplicates")
        })
        .collect();
    assert!(leftovers.is_empty(), "nothing left in the output");

    // validate: the same count, in memory and spilled.
    let validate = |extra: &[&str]| {
        let o = prep()
            .args(["validate", d.path().join("memory").to_str().unwrap()])
            .args(["--output-format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8(o.stdout).unwrap();
        validate_json(&stdout, "validate")
    };
    let (a, sa) = validate(&[]);
    let (b, sb) = validate(&["--dup-memory", "1MiB", "--tmp-dir", spill.to_str().unwrap()]);
    let d001 = a.iter().filter(|f| f["code"] == "D001").count();
    assert_eq!(d001, 60_000, "{sa}");
    assert_eq!(a, b);
    assert_eq!(sa["errors"], sb["errors"]);

    // A spill folder that does not exist: exit 2, naming it, and nothing complete.
    let out = d.path().join("nowhere");
    let missing = d.path().join("no-such-folder");
    let (code, _, err) = spilled(&out, &missing);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no-such-folder") && err.contains("--tmp-dir"),
        "{err}"
    );
    assert!(!out.join("manifest-summary.json").exists());
}

#[test]
fn on_error_fail_leaves_nothing_complete() {
    let d = tmp();
    let out = d.path().join("o");
    let o = prep()
        .args([
            "convert",
            &fixture("users.csv"),
            "--key",
            "user_id",
            "--on-error",
            "fail",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("K001"), "{err}");
    assert!(err.contains("\"row\":5"), "{err}");
    assert!(!out.join("manifest-files.json").exists());
    assert!(!out.join("manifest-summary.json").exists());
    assert!(parts(&out).is_empty());
}

#[test]
fn output_layout_and_manifests() {
    let d = tmp();
    let out = d.path().join("o");
    let (code, s, _) = convert(
        &out,
        &[
            &fixture("types.parquet"),
            "--key",
            "pk",
            "--table-def",
            &fixture("table-def.json"),
            "--part-size",
            "1KB",
        ],
    );
    assert_eq!(
        code, 2,
        "table-def keys must be columns: user_id is not in types.parquet"
    );
    assert_eq!(s, Value::Null);

    let (code, s, err) = convert(
        &out,
        &[
            &fixture("users.csv"),
            "--table-def",
            &fixture("table-def.json"),
            "--part-size",
            "300B",
            "--compress",
            "gzip",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let files = read_jsonl(&out.join("manifest-files.json"));
    assert!(files.len() > 1, "300-byte parts split the output");
    // A whole run writes no shard reports, and leaves no empty shards/ folder.
    assert!(!out.join("shards").exists());
    assert_eq!(files.len() as u64, s["parts"].as_u64().unwrap());
    let mut items = 0;
    for (i, f) in files.iter().enumerate() {
        let key = f["dataFileS3Key"].as_str().unwrap();
        assert_eq!(key, format!("data/part-{i:05}.json.gz"));
        let bytes = std::fs::read(out.join(key)).unwrap();
        assert_eq!(f["storedBytes"], bytes.len());
        use base64::Engine;
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&bytes));
        assert_eq!(f["md5Checksum"], md5);
        let text = read_part(&out.join(key));
        assert_eq!(f["uncompressedBytes"], text.len());
        assert_eq!(f["itemCount"], text.iter().filter(|&&c| c == b'\n').count());
        assert!(text.len() <= 300 || f["itemCount"] == 1);
        items += f["itemCount"].as_u64().unwrap();
    }
    assert_eq!(items, s["itemsWritten"].as_u64().unwrap());
    let summary = read_json(&out.join("manifest-summary.json"));
    assert_eq!(summary["itemCount"], items);
    assert_eq!(summary["rejectedCount"], 2);
    assert_eq!(summary["outputFormat"], "DYNAMODB_JSON");
    assert_eq!(summary["compression"], "GZIP");
    assert_eq!(summary["tableName"], "users");
    assert_eq!(summary["inputs"][0]["rows"], 8);
    let input = std::fs::read(fixture("users.csv")).unwrap();
    assert_eq!(summary["inputs"][0]["crc64nvme"], crc64nvme(&input));
    assert_eq!(
        summary["keySchema"]["globalSecondaryIndexes"][0]["name"],
        "byZip"
    );
    let it = read_json(&out.join("import-table.json"));
    assert_eq!(it["InputFormat"], "DYNAMODB_JSON");
    assert_eq!(it["InputCompressionType"], "GZIP");
    let tcp = &it["TableCreationParameters"];
    assert_eq!(tcp["TableName"], "users");
    assert_eq!(tcp["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        tcp["KeySchema"],
        json!([{"AttributeName": "user_id", "KeyType": "HASH"}])
    );
    assert_eq!(tcp["GlobalSecondaryIndexes"][0]["IndexName"], "byZip");
    assert!(it.get("S3BucketSource").is_none(), "left for prep upload");
    // Nothing else in data/ (no temporary files left behind).
    for p in parts(&out) {
        assert!(p
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("part-"));
    }

    // describe-table output works the same.
    let out2 = d.path().join("o2");
    let (code, _, err) = convert(
        &out2,
        &[
            &fixture("users.csv"),
            "--table-def",
            &fixture("describe-table.json"),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(read_json(&out2.join("import-table.json")), {
        let mut v = it.clone();
        v["InputCompressionType"] = json!("ZSTD");
        v
    });
}

#[test]
fn zstd_parts_are_single_frames_and_decode() {
    let d = tmp();
    let out = d.path().join("o");
    convert(&out, &[&fixture("types.parquet"), "--key", "pk"]);
    let p = &parts(&out)[0];
    assert!(p.to_string_lossy().ends_with("part-00000.json.zst"));
    let raw = std::fs::read(p).unwrap();
    // One frame: decoding the first frame consumes the whole file.
    let mut dec = zstd::stream::read::Decoder::new(&raw[..])
        .unwrap()
        .single_frame();
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut dec, &mut text).unwrap();
    assert_eq!(text, read_part(p));
    let none = d.path().join("none");
    convert(
        &none,
        &[
            &fixture("types.parquet"),
            "--key",
            "pk",
            "--compress",
            "none",
        ],
    );
    assert_eq!(lines(&out), lines(&none));

    // The default level is 1 (BENCHMARKS.md has the measurements behind it): the same bytes as
    // an explicit --compress-level 1, different bytes from level 2 (whose window is larger, so
    // even the frame header differs).
    let at = |level: &str| {
        let o = d.path().join(format!("l{level}"));
        convert(
            &o,
            &[
                &fixture("types.parquet"),
                "--key",
                "pk",
                "--compress-level",
                level,
            ],
        );
        std::fs::read(&parts(&o)[0]).unwrap()
    };
    assert_eq!(raw, at("1"));
    assert_ne!(raw, at("2"));
}

#[test]
fn same_output_whatever_the_thread_count() {
    let d = tmp();
    let mut body = String::from("pk,n,s\n");
    for i in 0..5000 {
        body.push_str(&format!(
            "k{},{},\"text {i}, with comma\"\n",
            i % 4000,
            i as f64 / 7.0
        ));
    }
    body.push_str(",1,missing key\n");
    let input = write(d.path(), "big.csv", &body);
    let run = |threads: &str, name: &str| {
        let out = d.path().join(name);
        let (code, _, err) = convert(
            &out,
            &[
                &input,
                "--key",
                "pk",
                "--threads",
                threads,
                "--batch-rows",
                "97",
                "--part-size",
                "64KiB",
            ],
        );
        assert_eq!(code, 1, "{err}");
        out
    };
    let a = run("1", "t1");
    let b = run("2", "t2");
    let c = run("4", "t4");
    let pa = parts(&a);
    assert!(pa.len() > 2);
    for other in [&b, &c] {
        let pb = parts(other);
        assert_eq!(pa.len(), pb.len());
        for (x, y) in pa.iter().zip(&pb) {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{x:?}"
            );
        }
        for f in ["manifest-files.json", "rejects.jsonl", "duplicates.jsonl"] {
            assert_eq!(
                std::fs::read(a.join(f)).unwrap(),
                std::fs::read(other.join(f)).unwrap(),
                "{f}"
            );
        }
    }
}

#[test]
fn inputs_as_directories_and_globs_with_schema_checks() {
    let d = tmp();
    let dir = d.path().join("in");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    write(&dir, "b.csv", "pk,v\nb,2\n");
    write(&dir.join("sub"), "c.csv", "pk,v\nc,3\n");
    write(&dir, "a.csv", "pk,v\na,1\n");
    write(&dir, "_SUCCESS", "");
    write(&dir, "notes.txt", "ignored");
    let out = d.path().join("dir");
    let (code, s, err) = convert(&out, &[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["itemsWritten"], 3);
    let pks: Vec<Value> = lines(&out).iter().map(|l| item(l)["pk"].clone()).collect();
    assert_eq!(
        pks,
        vec![json!({"S": "a"}), json!({"S": "b"}), json!({"S": "c"})],
        "sorted walk"
    );

    let out = d.path().join("glob");
    let pattern = format!("{}/*.csv", dir.display());
    let (code, s, _) = convert(&out, &[&pattern, "--key", "pk"]);
    assert_eq!(code, 0);
    assert_eq!(s["itemsWritten"], 2);

    write(&dir, "z.csv", "pk,w\nz,1\n");
    let out = d.path().join("bad");
    let (code, _, err) = convert(&out, &[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 2);
    assert!(err.contains("z.csv") && err.contains("\"v\""), "{err}");

    let (code, _, err) = convert(&d.path().join("x"), &["/no/such/file.csv", "--key", "pk"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/file.csv"), "{err}");
}

#[test]
fn out_folder_rules_and_quiet() {
    let d = tmp();
    let out = d.path().join("o");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    let (code, _, err) = convert(
        &out,
        &[&fixture("excel.csv"), "--key", "id", "--delimiter", ";"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    let (code, _, _) = convert(
        &out,
        &[
            &fixture("excel.csv"),
            "--key",
            "id",
            "--delimiter",
            ";",
            "--force",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        out.join("keep.txt").exists(),
        "--force replaces only prep's files"
    );
    assert!(out.join("manifest-files.json").exists());

    // Not a terminal: only the summary, on stderr; --quiet: nothing.
    let out2 = d.path().join("q");
    let o = prep()
        .args([
            "convert",
            &fixture("excel.csv"),
            "--key",
            "id",
            "--delimiter",
            ";",
            "--out",
        ])
        .arg(&out2)
        .output()
        .unwrap();
    assert!(o.stdout.is_empty());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("3 rows read = 3 items written + 0 rejected"),
        "{err}"
    );
    assert_eq!(check_output(&out2).len(), 3);
    let out3 = d.path().join("q3");
    let o = prep()
        .args([
            "convert",
            &fixture("excel.csv"),
            "--key",
            "id",
            "--delimiter",
            ";",
            "--quiet",
            "--out",
        ])
        .arg(&out3)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
    assert_eq!(check_output(&out3).len(), 3);
}

#[test]
fn ion_output_lines() {
    let d = tmp();
    let out = d.path().join("o");
    let (code, s, err) = convert(
        &out,
        &[
            &fixture("types.arrow"),
            "--key",
            "pk",
            "--format",
            "ion",
            "--compress",
            "none",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(s["itemsWritten"], 5);
    let p = &parts(&out)[0];
    assert!(p.to_string_lossy().ends_with("part-00000.ion"));
    let first = &lines(&out)[0];
    assert!(
        first.starts_with("$ion_1_0 {Item:{\"pk\":\"t1\","),
        "{first}"
    );
    assert!(first.contains("\"i8\":-128."), "{first}");
    assert!(first.contains("\"dec\":6522.73,"), "{first}");
    assert!(first.contains("\"bin\":{{aGVsbG8=}}"), "{first}");
    assert!(first.contains("\"list_i\":[1.,2.,3.]"), "{first}");
    assert!(first.ends_with("}}"));
    let it = read_json(&out.join("import-table.json"));
    assert_eq!(it["InputFormat"], "ION");
}

#[test]
fn rules_command() {
    let o = prep().arg("rules").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    for r in prep::model::rules::ALL {
        assert!(text.contains(r.code), "{}", r.code);
    }
    let o = prep().args(["rules", "I001"]).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("409,600") && text.contains("Bad:") && text.contains("Good:"));
    assert_eq!(
        prep()
            .args(["rules", "Z999"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn table_name_level_and_epoch_us() {
    let d = tmp();
    let out = d.path().join("o");
    let (code, _, err) = convert(
        &out,
        &[
            &fixture("excel.csv"),
            "--key",
            "id:N",
            "--delimiter",
            ";",
            "--table",
            "cities.v2",
            "--compress-level",
            "19",
            "--gsi",
            "byCity=city:S",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let it = read_json(&out.join("import-table.json"));
    assert_eq!(it["TableCreationParameters"]["TableName"], "cities.v2");
    assert_eq!(
        it["TableCreationParameters"]["AttributeDefinitions"],
        json!([{"AttributeName": "id", "AttributeType": "N"}, {"AttributeName": "city", "AttributeType": "S"}])
    );
    assert_eq!(lines(&out).len(), 3);
    let (code, _, err) = convert(
        &d.path().join("bad"),
        &[&fixture("excel.csv"), "--key", "id", "--table", "x!"],
    );
    assert_eq!(code, 2, "{err}");
    let out = d.path().join("us");
    convert(
        &out,
        &[
            &fixture("types.arrow"),
            "--key",
            "pk",
            "--timestamps",
            "epoch-us",
        ],
    );
    assert_eq!(
        item(&lines(&out)[0])["ts_ms_utc"],
        json!({"N": "1704164645123000"})
    );
}

/// CRLF line ends, blank lines, a byte order mark, quoted line ends and doubled quotes: the
/// items are the cells, and a reject names the line its row starts on.
#[test]
fn csv_line_ends_quotes_and_lines() {
    let d = tmp();
    let body = "\u{feff}pk,note\r\n\r\na,\"one\r\ntwo\"\r\nb,\"say \"\"hi\"\"\"\r\n\r\n\r\nc,x,extra\r\nd,\"q\"tail\r\n";
    let input = write(d.path(), "crlf.csv", body);
    let out = d.path().join("o");
    let (code, s, _) = convert(&out, &[&input, "--key", "pk"]);
    assert_eq!(code, 1);
    assert_eq!(s["itemsWritten"], 3);
    let got: Vec<(Value, Value)> = lines(&out)
        .iter()
        .map(|l| (item(l)["pk"].clone(), item(l)["note"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!({"S": "a"}), json!({"S": "one\r\ntwo"})),
            (json!({"S": "b"}), json!({"S": "say \"hi\""})),
            (json!({"S": "d"}), json!({"S": "qtail"})),
        ]
    );
    let r = rejects(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["code"], "C001");
    assert_eq!(r[0]["row"], 3);
    assert_eq!(r[0]["line"], 8, "the line the rejected row starts on");
}

/// A quote or a line end cannot delimit cells: a clear error, before anything is written.
#[test]
fn csv_delimiter_that_cannot_be() {
    let d = tmp();
    let input = write(d.path(), "q.csv", "pk\"n\na\"1\n");
    let out = d.path().join("o");
    let (code, _, err) = convert(&out, &[&input, "--key", "pk", "--delimiter", "\""]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be the CSV delimiter"), "{err}");
}

/// Dictionary columns of every value type (strings, integers, binary) serve as partition key,
/// sort key and GSI key, with the key type taken from the dictionary's values or declared.
#[test]
fn dictionary_columns_are_keys() {
    use arrow_array::types::{Int16Type, Int32Type, Int8Type};
    use arrow_array::{
        ArrayRef, BinaryArray, DictionaryArray, Int16Array, Int32Array, Int64Array, Int8Array,
        RecordBatch, StringArray,
    };
    use std::sync::Arc;
    let d = tmp();
    let origin = DictionaryArray::<Int32Type>::try_new(
        Int32Array::from(vec![0, 1, 0, 2]),
        Arc::new(StringArray::from(vec!["SFO", "JFK \"#1\"", "C:\\]x"])),
    )
    .unwrap();
    let seq = DictionaryArray::<Int16Type>::try_new(
        Int16Array::from(vec![0, 0, 1, 2]),
        Arc::new(Int64Array::from(vec![7, -3, i64::MAX])),
    )
    .unwrap();
    let tag = DictionaryArray::<Int8Type>::try_new(
        Int8Array::from(vec![Some(1), None, Some(0), Some(1)]),
        Arc::new(BinaryArray::from(vec![&b"\x00\xff"[..], b"hi"])),
    )
    .unwrap();
    let b = RecordBatch::try_from_iter(vec![
        ("origin", Arc::new(origin) as ArrayRef),
        ("seq", Arc::new(seq) as ArrayRef),
        ("tag", Arc::new(tag) as ArrayRef),
    ])
    .unwrap();
    let path = d.path().join("dict.arrow");
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&path).unwrap(), &b.schema())
            .unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    let input = path.to_str().unwrap();
    for (i, keys) in [
        vec![
            "--key",
            "origin",
            "--sort-key",
            "seq",
            "--gsi",
            "by_tag=tag",
        ],
        vec![
            "--key",
            "origin:S",
            "--sort-key",
            "seq:N",
            "--gsi",
            "by_tag=tag:B",
        ],
        vec!["--key", "tag", "--sort-key", "origin"],
        vec!["--key", "seq", "--gsi", "by_origin=origin,seq"],
    ]
    .into_iter()
    .enumerate()
    {
        for format in ["dynamodb-json", "ion"] {
            let out = d.path().join(format!("o{i}-{format}"));
            let mut args = vec![input, "--format", format];
            args.extend(&keys);
            let (code, s, err) = convert(&out, &args);
            let items = check_output(&out);
            if keys[1] == "tag" {
                // The null tag is a missing partition key: one K001 reject.
                assert_eq!((code, s["rowsRejected"].as_u64()), (1, Some(1)), "{err}");
                assert_eq!(codes(&out), ["K001"]);
                assert_eq!(items.len(), 3);
            } else {
                assert_eq!(code, 0, "{keys:?}: {err}");
                assert_eq!(items.len(), 4);
            }
            let summary = read_json(&out.join("manifest-summary.json"));
            let ks = &summary["keySchema"];
            let ty = |v: &Value| v["type"].as_str().unwrap().to_string();
            match keys[1] {
                "origin" | "origin:S" => {
                    assert_eq!(ty(&ks["partitionKey"]), "S");
                    assert_eq!(ty(&ks["sortKey"]), "N");
                    assert_eq!(ty(&ks["globalSecondaryIndexes"][0]["partitionKey"]), "B");
                    assert_eq!(items[1]["origin"], "JFK \"#1\"");
                    assert_eq!(items[3]["origin"], "C:\\]x");
                    assert_eq!(items[3]["seq"], i64::MAX.to_string());
                    assert_eq!(items[0]["tag"], "aGk=");
                    assert!(items[1].get("tag").is_none(), "a null GSI key is left out");
                }
                "tag" => {
                    assert_eq!(ty(&ks["partitionKey"]), "B");
                    assert_eq!(ty(&ks["sortKey"]), "S");
                    assert_eq!(items[1]["tag"], "AP8=");
                }
                _ => {
                    assert_eq!(ty(&ks["partitionKey"]), "N");
                    assert_eq!(items[2]["seq"], "-3");
                }
            }
        }
    }
}

/// Input folders with symlink loops (`sub/up -> ..`, `self -> .`) are walked once: every file
/// read once, no hang; a file whose name is not UTF-8 is read, not skipped. Same for validate.
#[test]
fn symlink_loops_and_non_utf8_names() {
    use std::os::unix::ffi::OsStrExt;
    let d = tmp();
    let root = d.path().join("in");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("a.csv"), "id,v\n1,a\n2,b\n").unwrap();
    std::fs::write(root.join("sub/b.csv"), "id,v\n3,c\n").unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.csv");
    std::fs::write(root.join(odd), "id,v\n4,d\n").unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(".", root.join("self")).unwrap();
    let out = d.path().join("out");
    let started = std::time::Instant::now();
    let (code, s, err) = convert(&out, &[root.to_str().unwrap(), "--key", "id:N"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rowsRead"], 4, "{s}");
    assert_eq!(s["duplicateCount"].as_u64().unwrap_or(0), 0, "{s}");
    assert!(started.elapsed().as_secs() < 60);
    let inputs = &read_json(&out.join("manifest-summary.json"))["inputs"];
    assert_eq!(inputs.as_array().unwrap().len(), 3, "{inputs}");
    // validate walks the same folder once too.
    let o = prep()
        .args([
            "validate",
            root.to_str().unwrap(),
            "--key",
            "id:S",
            "--output-format",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let (_, summary) = validate_json(&stdout, "");
    assert_eq!(summary["files"], 3, "{summary}");
}

/// Repeated names in DynamoDB JSON and Ion lines (an attribute, the partition key, a map key, a
/// descriptor, two Item wrappers) are rejects with their own rule (A008), never last-wins; an
/// item of 100,000 attributes converts in linear time.
#[test]
fn repeated_names_are_rejected_and_wide_items_are_linear() {
    let d = tmp();
    let json = [
        r#"{"Item":{"pk":{"S":"ok"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"x":{"S":"1"},"x":{"S":"2"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"pk":{"S":"b"}}}"#,
        r#"{"Item":{"pk":{"S":"c"},"m":{"M":{"k":{"S":"1"},"k":{"S":"2"}}}}}"#,
        r#"{"Item":{"pk":{"S":"d"},"x":{"S":"1","S":"2"}}}"#,
        r#"{"Item":{"pk":{"S":"e"}},"Item":{"pk":{"S":"f"}}}"#,
    ];
    let ion = [
        r#"$ion_1_0 {Item:{"pk":"ok"}}"#,
        r#"$ion_1_0 {Item:{"pk":"a","x":"1","x":"2"}}"#,
        r#"$ion_1_0 {Item:{"pk":"a","pk":"b"}}"#,
        r#"$ion_1_0 {Item:{"pk":"c","m":{"k":"1","k":"2"}}}"#,
        r#"$ion_1_0 {Item:{"pk":"e"},Item:{"pk":"f"}}"#,
    ];
    for (name, lines) in [("dups.json", &json[..]), ("dups.ion", &ion[..])] {
        let p = write(d.path(), name, &(lines.join("\n") + "\n"));
        let out = d.path().join(format!("out-{name}"));
        let (code, s, err) = convert(&out, &[&p, "--key", "pk:S"]);
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(s["itemsWritten"], 1, "{name}");
        let rej = rejects(&out);
        assert_eq!(rej.len(), lines.len() - 1, "{name}: {rej:?}");
        assert!(rej.iter().all(|r| r["code"] == "A008"), "{name}: {rej:?}");
    }
    // 100,000 attributes in one line (4 MB).
    let mut line = String::from(r#"{"Item":{"pk":{"S":"wide"}"#);
    for i in 0..100_000 {
        line.push_str(&format!(r#","a{i}":{{"N":"{i}"}}"#));
    }
    line.push_str("}}\n");
    let p = write(d.path(), "wide.json", &line);
    let started = std::time::Instant::now();
    let out = d.path().join("out-wide");
    let (code, s, err) = convert(&out, &[&p, "--key", "pk:S"]);
    // Too large an item (I001) or written: either way decided quickly.
    assert!(code <= 1, "{err}");
    assert_eq!(s["rowsRead"], 1);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

/// OUT is locked for the whole run: a second run into it is refused (exit 2) and touches
/// nothing; OUT inside an input folder (or an input inside OUT) is refused before anything is
/// read or removed, --force or not.
#[test]
fn out_is_locked_and_kept_apart_from_inputs() {
    let d = tmp();
    let input = write(d.path(), "in.csv", "id,v\n1,a\n");
    let out = d.path().join("out");
    let (code, _, err) = convert(&out, &[&input, "--key", "id:N"]);
    assert_eq!(code, 0, "{err}");
    let before = lines(&out);
    // Another run holds the lock.
    let lock = std::fs::File::open(out.join(".prep-lock")).unwrap();
    lock.lock().unwrap();
    let (code, _, err) = convert(&out, &[&input, "--key", "id:N", "--force"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("in use by another prep run"), "{err}");
    assert_eq!(lines(&out), before, "the refused run left OUT as it was");
    lock.unlock().unwrap();
    let (code, _, err) = convert(&out, &[&input, "--key", "id:N", "--force"]);
    assert_eq!(code, 0, "{err}");

    let folder = d.path().join("inputs");
    std::fs::create_dir_all(&folder).unwrap();
    let inner = write(&folder, "a.csv", "id,v\n1,a\n");
    let nested = folder.join("out");
    for args in [
        vec![folder.to_str().unwrap()],
        vec![folder.to_str().unwrap(), "--force"],
    ] {
        let mut a = args.clone();
        a.extend(["--key", "id:N"]);
        let (code, _, err) = convert(&nested, &a);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("inside the input folder"), "{err}");
        assert!(!nested.exists(), "nothing created");
        let (code, _, err) = convert(&folder, &a);
        assert_eq!(code, 2, "{err}");
    }
    let (code, _, err) = convert(&folder, &[&inner, "--key", "id:N", "--force"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is inside --out"), "{err}");
    assert!(Path::new(&inner).exists());
}

/// A line of 200 MB without a newline, and 128 MiB of zeros behind a 130 KB gzip stream (a
/// decompression bomb with no line end): convert and validate skip them as they stream (one
/// I001 reject / finding each), with peak memory far below the line's size; the lines around
/// them are converted; counts reconcile.
#[test]
fn memory_is_bounded_whatever_one_line_holds() {
    let d = tmp();
    let good = "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n";
    let long = d.path().join("long.json");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&long).unwrap());
        f.write_all(good.as_bytes()).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
    }
    let bomb = d.path().join("bomb.json.gz");
    {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&bomb).unwrap(),
            flate2::Compression::best(),
        );
        e.write_all(good.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..128 {
            e.write_all(&zeros).unwrap();
        }
        e.finish().unwrap();
    }
    // A CSV row whose quote is never closed: the rest of the file is one record.
    let quote = d.path().join("quote.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&quote).unwrap());
        f.write_all(b"pk,v\na,1\nb,\"").unwrap();
        let chunk = "x,\n".repeat(1 << 18);
        for _ in 0..200 {
            f.write_all(chunk.as_bytes()).unwrap();
        }
    }
    for input in [&long, &bomb, &quote] {
        let out = d.path().join(format!(
            "out-{}",
            input.file_name().unwrap().to_string_lossy()
        ));
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("prep"));
        cmd.args([
            "convert",
            input.to_str().unwrap(),
            "--key",
            "pk:S",
            "--json",
            "--threads",
            "2",
            "--max-line-bytes",
            "4MiB",
            "--out",
        ])
        .arg(&out);
        let (o, peak) = run_measured(cmd);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        let s: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (
                s["rowsRead"].as_u64(),
                s["itemsWritten"].as_u64(),
                s["rowsRejected"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{s}"
        );
        assert_eq!(codes(&out), ["I001"]);
        let rejects = std::fs::read_to_string(out.join("rejects.jsonl")).unwrap();
        let line = if input == &quote { 3 } else { 2 };
        assert!(
            rejects.contains(&format!("line {line} is ")),
            "{input:?}: {rejects}"
        );
        assert!(peak < 100, "convert peaked at {peak} MiB on {input:?}");
        check_output(&out);
        let (code, stdout, peak) = validate_measured(input, "pk:S");
        assert_eq!(code, Some(1), "{stdout}");
        // Validate checks CSV for the native import, where the quote is the finding.
        let code = if input == &quote { "C006" } else { "I001" };
        assert!(stdout.contains(&format!("\"{code}\"")), "{stdout}");
        assert!(peak < 100, "validate peaked at {peak} MiB on {input:?}");
    }
}

/// A CSV of 100,000 columns (2.7 MB) converts and validates in linear time and bounded memory
/// (it took 85-127 s and 1.3 GB: a scan per column, and batches sized by rows alone).
#[test]
fn wide_csv_is_linear() {
    let d = tmp();
    let n = 100_000;
    let mut text = (0..n)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for r in 0..3 {
        // Row 0 small enough to be an item (most cells empty), the others over 400 KB.
        let row: Vec<String> = (0..n)
            .map(|i| {
                if r == 0 && i > 10 {
                    String::new()
                } else {
                    (r * n + i).to_string()
                }
            })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let p = write(d.path(), "wide.csv", &text);
    let out = d.path().join("out");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("prep"));
    cmd.args(["convert", &p, "--key", "c0:N", "--json", "--out"])
        .arg(&out);
    let started = std::time::Instant::now();
    let (o, peak) = run_measured(cmd);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (s["itemsWritten"].as_u64(), s["rowsRejected"].as_u64()),
        (Some(1), Some(2)),
        "{s}"
    );
    assert_eq!(codes(&out), ["I001", "I001"]);
    assert_eq!(check_output(&out)[0].len(), 11);
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    assert!(peak < 256, "peak {peak} MiB");
    let started = std::time::Instant::now();
    let o = prep()
        .args(["validate", &p, "--key", "c0:N"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}

/// SIGINT (Ctrl-C) mid-run: the run stops promptly, removes its temporary and finished parts
/// (no `.part-*.tmp` is left for validate to flag), says so, and exits 130.
#[test]
fn ctrl_c_stops_and_cleans_up() {
    let d = tmp();
    let mut text = String::from("id,name,v\n");
    for i in 0..600_000 {
        text.push_str(&format!("{i},name {i},{}.5\n", i % 977));
    }
    let p = write(d.path(), "big.csv", &text);
    let out = d.path().join("out");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("prep"))
        .args([
            "convert",
            &p,
            "--key",
            "id:N",
            "--compress",
            "none",
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first part to be open, then interrupt.
    let started = std::time::Instant::now();
    while !std::fs::read_dir(out.join("data"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
    {
        assert!(started.elapsed().as_secs() < 60, "no part appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let interrupted_at = std::time::Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(interrupted_at.elapsed().as_secs() < 20, "stopped promptly");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left: Vec<_> = walk_files(&out);
    assert!(
        left.iter().all(|p| p.file_name().unwrap() == ".prep-lock"),
        "only the lock file is left: {left:?}"
    );
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// An Arrow IPC file cut short is an error naming its footer (not "Invalid argument (os error
/// 22)"); a stream cut before its end-of-stream marker converts what it holds with a warning; an
/// empty item file, and a run that writes no item, warn.
#[test]
fn truncated_arrow_and_empty_inputs_are_told() {
    let d = tmp();
    let full = std::fs::read(fixture("types.arrow")).unwrap();
    let cut = d.path().join("cut.arrow");
    std::fs::write(&cut, &full[..full.len() - 100]).unwrap();
    let (code, _, err) = convert(
        &d.path().join("o1"),
        &[cut.to_str().unwrap(), "--key", "pk"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("footer is missing or damaged") && err.contains("cut.arrow"),
        "{err}"
    );
    assert!(!err.contains("os error 22"), "{err}");

    let stream = std::fs::read(fixture("types.arrows")).unwrap();
    assert_eq!(
        stream[stream.len() - 8..],
        [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
    );
    let cut = d.path().join("cut.arrows");
    std::fs::write(&cut, &stream[..stream.len() - 8]).unwrap();
    let (code, s, err) = convert(
        &d.path().join("o2"),
        &[cut.to_str().unwrap(), "--key", "pk"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(s["rowsRead"], 7);
    assert!(
        s["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no end-of-stream marker"),
        "{s}"
    );
    let (_, s, _) = convert(
        &d.path().join("o3"),
        &[&fixture("types.arrows"), "--key", "pk"],
    );
    assert_eq!(s["warnings"], json!([]), "{s}");

    // Cut inside a record batch: said so, once (it was "failed to fill whole buffer"
    // twice, with no hint).
    let cut = d.path().join("cut-in-batch.arrows");
    std::fs::write(&cut, &stream[..stream.len() - 108]).unwrap();
    let (code, _, err) = convert(
        &d.path().join("o6"),
        &[cut.to_str().unwrap(), "--key", "pk"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cut-in-batch.arrows: the input ends inside record batch 2 (after 4 rows): it was cut short"),
        "{err}"
    );
    assert!(!err.contains("fill whole buffer"), "{err}");

    // Damaged inside its buffers: arrow's reader panics on these bytes; prep reports the file
    // as corrupt, with no panic message on the terminal.
    let mut damaged = full.clone();
    damaged[3000..3100].fill(0xff);
    let bad = d.path().join("damaged.arrow");
    std::fs::write(&bad, &damaged).unwrap();
    let (code, _, err) = convert(
        &d.path().join("o7"),
        &[bad.to_str().unwrap(), "--key", "pk"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("damaged.arrow: the arrow decoder failed on damaged data"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // A CSV cut inside its gzip stream: the error names the file, the line and the byte.
    let csv = std::fs::read(fixture("public/seattle-weather.csv")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&csv).unwrap();
    let gz = e.finish().unwrap();
    let cut = d.path().join("cut.csv.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let (code, _, err) = convert(
        &d.path().join("o5"),
        &[cut.to_str().unwrap(), "--key", "date"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cut.csv.gz") && err.contains("damaged gzip stream near compressed byte"),
        "{err}"
    );
    assert_eq!(err.matches("cut.csv.gz").count(), 1, "named once: {err}");

    let empty = write(d.path(), "empty.json", "");
    let (code, s, err) = convert(&d.path().join("o4"), &[&empty, "--key", "pk:S"]);
    assert_eq!(code, 0, "{err}");
    let w: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(w.iter().any(|w| w.contains("the file is empty")), "{w:?}");
    assert!(
        w.iter().any(|w| w.contains("no items were written")),
        "{w:?}"
    );
}

/// A Parquet file whose pages carry CRCs: a byte flipped inside a page (which still decodes,
/// plain and uncompressed) is an error naming the file, not silently different data.
#[test]
fn parquet_page_checksums_are_checked() {
    let d = tmp();
    let (code, s, err) = convert(
        &d.path().join("ok"),
        &[&fixture("checksummed.parquet"), "--key", "pk"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["itemsWritten"], 20);
    let mut bytes = std::fs::read(fixture("checksummed.parquet")).unwrap();
    let at = bytes.windows(10).position(|w| w == b"value-0007").unwrap();
    bytes[at + 7] = b'X';
    let bad = d.path().join("bad.parquet");
    std::fs::write(&bad, bytes).unwrap();
    let (code, _, err) = convert(
        &d.path().join("bad"),
        &[bad.to_str().unwrap(), "--key", "pk"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.parquet") && err.contains("CRC"), "{err}");
}

/// Past a file size limit (`ulimit -f`) the run ends with an error naming the file it could not
/// write (exit 2) and removes what it wrote, instead of dying of SIGXFSZ.
#[test]
fn a_file_size_limit_is_an_error_not_a_signal() {
    let d = tmp();
    // prep convert under `ulimit -f 64`: (exit code, stderr).
    let limited = |args: &str| {
        let bin = assert_cmd::cargo::cargo_bin("prep");
        let script = format!("ulimit -f 64; exec '{}' convert {args}", bin.display());
        let o = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let out = d.path().join("out");
    let (code, stderr) = limited(&format!(
        "'{}' --out '{}' --key date --compress none",
        fixture("public/seattle-weather.csv"),
        out.display()
    ));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("File too large") && stderr.contains(".part-00000"),
        "{stderr}"
    );
    assert!(!out.join("data").exists());
    // Every row rejected (no key), with values large enough to pass the limit in rejects.jsonl:
    // the error names that file.
    let mut text = String::from("id,v\n");
    for _ in 0..200 {
        text.push_str(&format!(",{}\n", "x".repeat(1000)));
    }
    let input = write(d.path(), "nokeys.csv", &text);
    let out = d.path().join("out2");
    let (code, stderr) = limited(&format!("'{input}' --out '{}' --key id:N", out.display()));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("File too large") && stderr.contains("rejects.jsonl"),
        "{stderr}"
    );
}

/// A full disk (a 512 KiB tmpfs, where the machine lets the tests mount one): "No space left
/// on device" naming the file, exit 2, and the run removes what it wrote — for a part and for
/// `rejects.jsonl` alike.
#[test]
fn a_full_disk_is_an_error_that_names_the_file() {
    struct Mounted(std::path::PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let d = tmp();
    let disk = d.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&disk)
        .output();
    if !matches!(&mounted, Ok(o) if o.status.success()) {
        eprintln!("skipped: this machine does not let the tests mount a tmpfs ({mounted:?})");
        return;
    }
    let _mounted = Mounted(disk.clone());
    let mut text = String::from("id,v\n");
    for i in 0..2000 {
        text.push_str(&format!("{i},{}\n", "x".repeat(1000)));
    }
    let input = write(d.path(), "big.csv", &text);
    let out = disk.join("out");
    let (code, _, err) = convert(&out, &[&input, "--key", "id:N", "--compress", "none"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("No space left on device") && err.contains(".part-00000"),
        "{err}"
    );
    assert!(!out.join("data").exists(), "the run removes its parts");
    // Every row rejected (no key): the reject file fills the disk.
    let text = text.replace("\n", "\n,");
    let input = write(d.path(), "nokeys.csv", &text);
    let out = disk.join("out2");
    let (code, _, err) = convert(&out, &[&input, "--key", "id:N"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("rejects.jsonl"),
        "{err}"
    );
}

/// `--profile` naming a profile that no AWS file defines is an error that says so (it was
/// reported as "A region must be set"), for upload and import alike.
#[test]
fn a_missing_aws_profile_is_named() {
    let d = tmp();
    let out = d.path().join("out");
    let (code, _, err) = convert(
        &out,
        &[&fixture("excel.csv"), "--key", "id:N", "--delimiter", ";"],
    );
    assert_eq!(code, 0, "{err}");
    let config = write(
        d.path(),
        "config",
        "[default]\nregion = us-east-1\n[profile other]\nregion = eu-west-1\n",
    );
    let creds = write(
        d.path(),
        "credentials",
        "[third]\naws_access_key_id = x\naws_secret_access_key = y\n",
    );
    for args in [
        vec![
            "upload",
            out.to_str().unwrap(),
            "s3://bucket/prefix/",
            "--profile",
            "nosuch",
        ],
        vec!["import", out.to_str().unwrap(), "--profile", "nosuch"],
    ] {
        let o = prep()
            .args(&args)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("AWS profile \"nosuch\" is not defined"),
            "{args:?}: {stderr}"
        );
    }
}

/// Lone CR line ends (old Mac files): convert and validate read the same rows, for CSV (a CR
/// ends a record, as in the csv crate) and for item lines (only LF ends a line: one bad line).
#[test]
fn convert_and_validate_agree_on_lone_cr() {
    let d = tmp();
    let csv = write(d.path(), "cr.csv", "id,v\r1,a\r2,b\r");
    let json = write(
        d.path(),
        "cr.json",
        "{\"Item\":{\"id\":{\"N\":\"1\"}}}\r{\"Item\":{\"id\":{\"N\":\"2\"}}}\r",
    );
    for (input, rows, items) in [(&csv, 2, 2), (&json, 1, 0)] {
        let (_, s, err) = convert(
            &d.path().join(format!("o-{rows}")),
            &[input, "--key", "id:N"],
        );
        assert_eq!(
            (s["rowsRead"].as_u64(), s["itemsWritten"].as_u64()),
            (Some(rows), Some(items)),
            "{input}: {err}"
        );
        let o = prep()
            .args([
                "validate",
                input,
                "--key",
                "id:N",
                "--output-format",
                "json",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let (_, summary) = validate_json(&stdout, "");
        assert_eq!(
            (summary["lines"].as_u64(), summary["items"].as_u64()),
            (Some(rows), Some(items)),
            "{input}: {stdout}"
        );
    }
}
