//! What an independent conformance suite measured ImportTable to do (2026; `import-spec.md`,
//! "measured"), held against `prep validate` and `prep convert` through the real binary: the
//! item kinds that import cleanly, blank lines and empty objects, one object per defect the
//! suite lists, duplicates as extra writes, the rest of a file the import abandons, and
//! multi-attribute index keys.

mod common;

use common::*;
use serde_json::{json, Map, Value};
use std::path::Path;

fn validate_as(args: &[&str], format: &str) -> (i32, String) {
    let o = prep()
        .arg("validate")
        .args(args)
        .args(["--output-format", format])
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8(o.stdout).unwrap(),
    )
}

fn errors(findings: &[Value]) -> Vec<(String, Option<u64>)> {
    findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| (f["code"].as_str().unwrap().to_string(), f["line"].as_u64()))
        .collect()
}

fn codes(findings: &[Value]) -> Vec<&str> {
    findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

/// Items the suite found to import cleanly, one per line, with the table key `pk` (S) and `sk` (N).
fn clean_items() -> Vec<String> {
    let name255 = "n".repeat(255);
    let big = "z".repeat(380 * 1024);
    vec![
        r#"{"Item":{"pk":{"S":"unicode"},"sk":{"N":"1"},"s":{"S":"日本語 Ünïcödé 😀 \u00e9\u20ac"}}}"#.into(),
        r#"{"Item":{"pk":{"S":"escapes"},"sk":{"N":"2"},"s":{"S":"q\"u\\o\/te\n\t\r\b\f \u0001 \ud83d\ude00"}}}"#.into(),
        r#"{"Item":{"pk":{"S":"numbers"},"sk":{"N":"3"},"d38":{"N":"12345678901234567890123456789012345678"},"tiny":{"N":"1E-130"},"big":{"N":"9.99999E+37"},"neg":{"N":"-0.000123"},"zero":{"N":"0"},"max":{"N":"9.9999999999999999999999999999999999999E+125"}}}"#.into(),
        r#"{"Item":{"pk":{"S":"binary"},"sk":{"N":"4"},"empty":{"B":""},"raw":{"B":"//7/AIA="},"bs":{"BS":["//4=","AA=="]}}}"#.into(),
        r#"{"Item":{"pk":{"S":"strings"},"sk":{"N":"5"},"empty":{"S":""},"ss":{"SS":["","a","b"]}}}"#.into(),
        r#"{"Item":{"pk":{"S":"sets"},"sk":{"N":"6"},"ns":{"NS":["1","1.5","-2E+2","1E-130"]},"ss":{"SS":["x"]}}}"#.into(),
        r#"{"Item":{"pk":{"S":"empty collections"},"sk":{"N":"7"},"l":{"L":[]},"m":{"M":{}},"nested":{"M":{"l":{"L":[{"M":{}},{"L":[]},{"NULL":true},{"BOOL":false}]}}}}}"#.into(),
        format!(r#"{{"Item":{{"pk":{{"S":"names"}},"sk":{{"N":"8"}},"{name255}":{{"S":"255-byte name"}},"a.b.c":{{"S":"dotted"}},"#)
            + r#""name":{"S":"r"},"status":{"S":"r"},"date":{"S":"r"},"size":{"S":"r"},"key":{"S":"r"},"value":{"S":"r"},"count":{"S":"r"},"timestamp":{"S":"r"}}}"#,
        format!(r#"{{"Item":{{"pk":{{"S":"large"}},"sk":{{"N":"9"}},"body":{{"S":"{big}"}}}}}}"#),
        r#"{"Item":{"pk":{"S":"bools"},"sk":{"N":"10"},"t":{"BOOL":true},"n":{"NULL":true}}}"#.into(),
    ]
}

#[test]
fn items_that_import_cleanly_validate_clean_and_convert_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let items = clean_items();
    // Blank and whitespace-only lines among the items: the import skips them.
    let mut text = String::new();
    for (i, l) in items.iter().enumerate() {
        text.push_str(l);
        text.push('\n');
        match i {
            2 => text.push('\n'),
            5 => text.push_str("   \t\n"),
            _ => {}
        }
    }
    let file = write(dir.path(), "clean.json", &text);
    let empty = write(dir.path(), "empty.json", "");
    let keys = ["--key", "pk:S", "--sort-key", "sk:N"];

    let mut args = vec![file.as_str(), empty.as_str()];
    args.extend(keys);
    let (code, findings, summary) = validate(&args);
    assert_eq!(errors(&findings), [], "{findings:#?}");
    assert_eq!(codes(&findings), ["F004", "F004"], "{findings:#?}");
    assert_eq!(code, 0, "blank lines are warnings");
    assert_eq!(summary["items"], items.len() as u64);
    assert_eq!(summary["unreadItems"], 0);

    let want: Vec<Map<String, Value>> = items
        .iter()
        .map(|l| item(l).iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        .collect();
    for format in ["dynamodb-json", "ion"] {
        let out = dir.path().join(format!("out-{format}"));
        let mut args = vec![file.as_str(), empty.as_str(), "--format", format];
        args.extend(keys);
        let (code, s, stderr) = convert(&out, &args);
        assert_eq!(code, 0, "{format}: {stderr}");
        assert_eq!(
            s["rowsRead"],
            items.len() as u64,
            "blank lines are not rows"
        );
        // check_output parsed every item back with serde_json or ion-rs.
        assert_eq!(check_output(&out), want, "{format}");
        let (code, findings, _) = validate(&[out.to_str().unwrap()]);
        assert_eq!((code, findings.len()), (0, 0), "{format}: {findings:#?}");
    }
}

#[test]
fn a_zero_length_object_is_zero_items() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["empty.json", "empty.ion", "empty.json.gz"] {
        let path = dir.path().join(name);
        let bytes = if name.ends_with(".gz") {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, b"").unwrap();
            e.finish().unwrap()
        } else {
            Vec::new()
        };
        std::fs::write(&path, bytes).unwrap();
        let (code, findings, summary) = validate(&[path.to_str().unwrap(), "--key", "pk:S"]);
        assert_eq!((code, findings.len()), (0, 0), "{name}: {findings:#?}");
        assert_eq!(summary["items"], 0, "{name}");
        assert_eq!(summary["lines"], 0, "{name}");
    }
}

#[test]
fn twelve_items_and_a_blank_line_pass_and_fail_only_on_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..12 {
        if i == 7 {
            text.push('\n');
        }
        text.push_str(&format!("{{\"Item\":{{\"pk\":{{\"S\":\"k{i}\"}}}}}}\n"));
    }
    let file = write(dir.path(), "items.json", &text);
    let (code, findings, summary) = validate(&[&file, "--key", "pk:S"]);
    assert_eq!(code, 0);
    assert_eq!(codes(&findings), ["F004"]);
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings[0]["line"], 8);
    assert_eq!(summary["items"], 12);
    let (code, _, _) = validate(&[&file, "--key", "pk:S", "--fail-on", "warning"]);
    assert_eq!(code, 1);
    let explained = prep().args(["rules", "F004"]).output().unwrap();
    let explained = String::from_utf8(explained.stdout).unwrap();
    assert!(
        explained.contains("skips empty and whitespace-only lines"),
        "{explained}"
    );
}

/// One object per defect the suite lists: exactly one error each, on its line.
#[test]
fn each_defect_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |k: u32| format!(r#"{{"Item":{{"pk":{{"S":"a{k}"}},"sk":{{"N":"{k}"}}}}}}"#);
    let defects = [
        (
            "no-item.json",
            r#"{"Itm":{"pk":{"S":"b"},"sk":{"N":"1"}}}"#,
            "F002",
        ),
        ("no-pk.json", r#"{"Item":{"sk":{"N":"1"}}}"#, "K001"),
        ("no-sk.json", r#"{"Item":{"pk":{"S":"b"}}}"#, "K001"),
        (
            "sk-type.json",
            r#"{"Item":{"pk":{"S":"b"},"sk":{"S":"1"}}}"#,
            "K002",
        ),
        (
            "truncated.json",
            r#"{"Item":{"pk":{"S":"b"},"sk":{"N":"1"}"#,
            "F001",
        ),
        (
            "empty-name.json",
            r#"{"Item":{"pk":{"S":"b"},"sk":{"N":"1"},"":{"S":"x"}}}"#,
            "V002",
        ),
    ];
    for (name, bad, code) in defects {
        // The defect on line 2 of 2, so no item is lost behind it.
        let file = write(dir.path(), name, &format!("{}\n{bad}\n", ok(1)));
        let (exit, findings, summary) = validate(&[&file, "--key", "pk:S", "--sort-key", "sk:N"]);
        assert_eq!(errors(&findings), [(code.to_string(), Some(2))], "{name}");
        assert_eq!(findings.len(), 1, "{name}: {findings:#?}");
        assert_eq!(exit, 1, "{name}");
        assert_eq!(summary["unreadItems"], 0, "{name}");
    }
}

#[test]
fn duplicates_are_one_warning_per_extra_write() {
    let dir = tempfile::tempdir().unwrap();
    // Five writes for three keys (the import counts 5 imported items, the table holds 3).
    let keys = ["a", "b", "a", "c", "a"];
    let text: String = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!("{{\"Item\":{{\"pk\":{{\"S\":\"{k}\"}},\"v\":{{\"N\":\"{i}\"}}}}}}\n")
        })
        .collect();
    let file = write(dir.path(), "dups.json", &text);
    let (code, findings, _) = validate(&[&file, "--key", "pk:S"]);
    assert_eq!(code, 0);
    let lines: Vec<(&str, u64)> = findings
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(lines, [("D001", 3), ("D001", 5)]);
}

/// A file whose line 3 is not an item, with blank lines and another bad line behind it.
fn abandoned_file(dir: &Path) -> String {
    let ok = |k: u32| format!(r#"{{"Item":{{"pk":{{"S":"k{k}"}}}}}}"#);
    let lines = [
        ok(1),
        ok(2),
        r#"{"Item":{"pk":{"S":"k3"}}"#.to_string(),
        ok(4),
        String::new(),
        ok(5),
        r#"{"pk":{"S":"k6"}}"#.to_string(),
        ok(7),
        "  ".to_string(),
    ];
    write(dir, "lost.json", &(lines.join("\n") + "\n"))
}

#[test]
fn the_rest_of_a_file_after_a_line_that_is_no_item_is_reported_lost() {
    let dir = tempfile::tempdir().unwrap();
    let file = abandoned_file(dir.path());
    let other = write(
        dir.path(),
        "fine.json",
        "{\"Item\":{\"pk\":{\"S\":\"x\"}}}\n{\"Item\":{\"pk\":{\"S\":\"y\"}}}\n",
    );
    let args = [file.as_str(), other.as_str(), "--key", "pk:S"];
    let (code, findings, summary) = validate(&args);
    assert_eq!(code, 1);
    let first = findings.iter().find(|f| f["line"] == 3).unwrap();
    assert_eq!(first["code"], "F001");
    // Lines 4 to 8, less the blank line 5: four lines the import never reads.
    assert_eq!(
        first["unread"],
        json!({"items": 4, "firstLine": 4, "lastLine": 8})
    );
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains("4 more items (lines 4-8) would never be read"),
        "{message}"
    );
    // Only the first such line of a file carries the count; the later one is an error of its own.
    let later = findings.iter().find(|f| f["line"] == 7).unwrap();
    assert_eq!(later["code"], "F002");
    assert!(later["unread"].is_null());
    assert_eq!(summary["unreadItems"], 4);
    assert_eq!(summary["unreadFiles"], 1);

    let (_, text) = validate_as(&args, "text");
    assert!(
        text.contains("4 items in 1 file would never be read by the import"),
        "{text}"
    );
    assert!(text.contains("4 more items (lines 4-8)"), "{text}");
    let (_, github) = validate_as(&args, "github");
    assert!(
        github.lines().any(|l| l.starts_with("::error ")
            && l.contains("line=3")
            && l.contains("4 more items (lines 4-8)")),
        "{github}"
    );
    assert!(github.contains("4 items in 1 file would never be read"));
    let (_, sarif) = validate_as(&args, "sarif");
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == 3)
        .unwrap();
    assert_eq!(result["properties"]["unreadItems"], 4);
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("would never be read"));
    let (_, junit) = validate_as(&args, "junit");
    assert!(junit.contains("4 more items (lines 4-8)"), "{junit}");

    // A bad last line loses nothing: no count.
    let tail = write(
        dir.path(),
        "tail.json",
        "{\"Item\":{\"pk\":{\"S\":\"x\"}}}\n{\"Item\":\n\n",
    );
    let (_, findings, summary) = validate(&[&tail, "--key", "pk:S"]);
    let bad = findings.iter().find(|f| f["code"] == "F001").unwrap();
    assert!(bad["unread"].is_null());
    assert_eq!(summary["unreadItems"], 0);
}

/// Across batches: the count goes on through every later batch of the file.
#[test]
fn lost_items_are_counted_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":\n");
    for i in 0..100 {
        text.push_str(&format!("{{\"Item\":{{\"pk\":{{\"S\":\"k{i}\"}}}}}}\n"));
    }
    let file = write(dir.path(), "many.json", &text);
    let (_, findings, summary) = validate(&[
        &file,
        "--key",
        "pk:S",
        "--batch-rows",
        "7",
        "--threads",
        "2",
    ]);
    let bad = findings.iter().find(|f| f["code"] == "F001").unwrap();
    assert_eq!(
        bad["unread"],
        json!({"items": 100, "firstLine": 3, "lastLine": 102})
    );
    assert_eq!(summary["unreadItems"], 100);
}

#[test]
fn ion_lines_that_are_no_item_abandon_the_rest_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "items.ion",
        "$ion_1_0 {Item:{\"pk\":\"a\"}}\n$ion_1_0 {Other:{\"pk\":\"b\"}}\n$ion_1_0 {Item:{\"pk\":\"c\"}}\n",
    );
    let (_, findings, summary) = validate(&[&file, "--key", "pk:S"]);
    assert_eq!(codes(&findings), ["F002"]);
    assert_eq!(
        findings[0]["unread"],
        json!({"items": 1, "firstLine": 3, "lastLine": 3})
    );
    assert_eq!(summary["unreadItems"], 1);
}

/// A GSI keyed by two partition-key and two sort-key attributes, end to end: convert checks
/// every attribute on every item, import-table.json and the manifest carry all four, validate
/// reads them back from the manifest and from a table definition, and the CSV lint types them.
#[test]
fn multi_attribute_index_keys() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        r#"{"Item":{"pk":{"S":"o1"},"country":{"S":"DE"},"city":{"S":"Berlin"},"year":{"N":"2024"},"month":{"N":"5"}}}"#,
        r#"{"Item":{"pk":{"S":"o2"},"country":{"S":"FR"},"city":{"N":"75"},"year":{"N":"2024"},"month":{"N":"6"}}}"#,
        r#"{"Item":{"pk":{"S":"o3"},"country":{"S":"FR"},"city":{"S":"Paris"},"year":{"N":"2024"},"month":{"S":"June"}}}"#,
        r#"{"Item":{"pk":{"S":"o4"},"country":{"S":""},"city":{"S":"Lyon"}}}"#,
        r#"{"Item":{"pk":{"S":"o5"},"city":{"S":"Nice"}}}"#,
    ];
    let input = write(dir.path(), "orders.json", &(rows.join("\n") + "\n"));
    let gsi = "byPlace=country:S+city:S,year:N+month:N";
    let out = dir.path().join("out");
    let (code, s, stderr) = convert(&out, &[&input, "--key", "pk:S", "--gsi", gsi]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(s["itemsWritten"], 2);
    let rejects: Vec<(String, u64)> = read_jsonl(&out.join("rejects.jsonl"))
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().into(),
                r["row"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rejects,
        [("K006".into(), 2), ("K006".into(), 3), ("K007".into(), 4)]
    );
    let import = read_json(&out.join("import-table.json"));
    let tcp = &import["TableCreationParameters"];
    assert_eq!(
        tcp["GlobalSecondaryIndexes"][0]["KeySchema"],
        json!([
            {"AttributeName": "country", "KeyType": "HASH"},
            {"AttributeName": "city", "KeyType": "HASH"},
            {"AttributeName": "year", "KeyType": "RANGE"},
            {"AttributeName": "month", "KeyType": "RANGE"},
        ])
    );
    let defs: Vec<(String, String)> = tcp["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["AttributeName"].as_str().unwrap().into(),
                d["AttributeType"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("pk", "S"),
        ("country", "S"),
        ("city", "S"),
        ("year", "N"),
        ("month", "N"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(defs, want);
    let summary = read_json(&out.join("manifest-summary.json"));
    let g = &summary["keySchema"]["globalSecondaryIndexes"][0];
    assert_eq!(g["partitionKeys"].as_array().unwrap().len(), 2);
    assert_eq!(g["sortKeys"][1], json!({"name": "month", "type": "N"}));

    // The folder validates clean with the keys of its manifest...
    let (code, findings, _) = validate(&[out.to_str().unwrap()]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    // ...and validate really reads the fourth attribute from it: declared S, the one item that
    // has it (o5 has no month: not indexed) is K006.
    let mut edited = summary.clone();
    edited["keySchema"]["globalSecondaryIndexes"][0]["sortKeys"][1]["type"] = json!("S");
    std::fs::write(
        out.join("manifest-summary.json"),
        serde_json::to_string_pretty(&edited).unwrap(),
    )
    .unwrap();
    let (_, findings, _) = validate(&[out.to_str().unwrap()]);
    assert_eq!(codes(&findings), ["K006"], "{findings:#?}");
    assert!(findings[0]["message"].as_str().unwrap().contains("month"));

    // The import-table.json prep wrote, as a table definition for a file of items.
    let (_, findings, _) = validate(&[
        &input,
        "--table-def",
        out.join("import-table.json").to_str().unwrap(),
    ]);
    assert_eq!(
        errors(&findings),
        [
            ("K006".into(), Some(2)),
            ("K006".into(), Some(3)),
            ("K007".into(), Some(4))
        ]
    );

    // The native CSV import types every key attribute of the index.
    let csv = write(
        dir.path(),
        "orders.csv",
        "pk,country,city,year,month\no1,DE,Berlin,2024,5\no2,FR,Paris,2024,June\n",
    );
    let (_, findings, _) = validate(&[&csv, "--key", "pk:S", "--gsi", gsi]);
    assert_eq!(errors(&findings), [("K006".into(), Some(3))]);
}
