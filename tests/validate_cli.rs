//! `prep validate` through the real binary: every rule fires on a bad fixture (exactly that code,
//! at the right line) and stays quiet on a near-identical good one; folders; output formats.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn codes_lines(f: &[Value]) -> Vec<(String, Option<u64>)> {
    f.iter()
        .map(|x| (x["code"].as_str().unwrap().to_string(), x["line"].as_u64()))
        .collect()
}

struct Case {
    code: &'static str,
    name: &'static str,
    bad: Vec<u8>,
    good: Vec<u8>,
    args: Vec<String>,
    /// Arguments for the good file when they differ (a rule about the arguments themselves).
    good_args: Option<Vec<String>>,
    line: Option<u64>,
}

fn lines_of(items: &[&str]) -> Vec<u8> {
    let mut s = items.join("\n");
    s.push('\n');
    s.into_bytes()
}

fn item_case(code: &'static str, bad: &str, good: &str) -> Case {
    Case {
        code,
        name: "f.json",
        bad: lines_of(&[r#"{"Item":{"pk":{"S":"first"}}}"#, bad]),
        good: lines_of(&[r#"{"Item":{"pk":{"S":"first"}}}"#, good]),
        args: vec!["--key".into(), "pk:S".into()],
        line: Some(2),
        good_args: None,
    }
}

fn with_args(mut c: Case, args: &[&str]) -> Case {
    c.args = args.iter().map(|s| s.to_string()).collect();
    c
}

fn cases() -> Vec<Case> {
    let deep = |n: usize| format!("{}{{\"S\":\"x\"}}{}", "{\"L\":[".repeat(n), "]}".repeat(n));
    let big = "x".repeat(409_600);
    let ok_big = "x".repeat(409_590);
    let long_name = "n".repeat(65_536);
    let d38 = "12345678901234567890123456789012345678";
    let mut v = vec![
        item_case(
            "F001",
            r#"{"Item":{"pk":{"S":"a"}}"#,
            r#"{"Item":{"pk":{"S":"a"}}}"#,
        ),
        item_case(
            "F002",
            r#"{"pk":{"S":"a"}}"#,
            r#"{"Item":{"pk":{"S":"a"}}}"#,
        ),
        item_case(
            "F003",
            r#"{"Item":{"pk":{"S":"a"}},"x":1}"#,
            r#"{"Item":{"pk":{"S":"a"}}}"#,
        ),
        item_case(
            "A001",
            r#"{"Item":{"pk":{"S":"a"},"x":{"STR":"a"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"x":{"S":"a"}}}"#,
        ),
        item_case(
            "A002",
            r#"{"Item":{"pk":{"S":"a"},"x":{"S":"a","N":"1"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"x":{"S":"a"}}}"#,
        ),
        item_case(
            "A003",
            r#"{"Item":{"pk":{"S":"a"},"x":{"NULL":false}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"x":{"NULL":true}}}"#,
        ),
        item_case(
            "A004",
            r#"{"Item":{"pk":{"S":"a"},"x":{"B":"aGk"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"x":{"B":"aGk="}}}"#,
        ),
        item_case(
            "A005",
            r#"{"Item":{"pk":{"S":"a"},"x":{"N":1}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"x":{"N":"1"}}}"#,
        ),
        item_case(
            "K001",
            r#"{"Item":{"x":{"S":"a"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"x":{"S":"a"}}}"#,
        ),
        item_case(
            "K002",
            r#"{"Item":{"pk":{"N":"1"}}}"#,
            r#"{"Item":{"pk":{"S":"1"}}}"#,
        ),
        item_case(
            "K003",
            r#"{"Item":{"pk":{"S":""}}}"#,
            r#"{"Item":{"pk":{"S":"a"}}}"#,
        ),
        item_case(
            "K008",
            r#"{"Item":{"pk":{"M":{"id":{"S":"a"}}}}}"#,
            r#"{"Item":{"pk":{"S":"a"}}}"#,
        ),
        item_case(
            "N001",
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1,5"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.5"}}}"#,
        ),
        item_case(
            "N002",
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"n":{{"N":"{d38}9"}}}}}}"#),
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"n":{{"N":"{d38}"}}}}}}"#),
        ),
        item_case(
            "N003",
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E+126"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E+125"}}}"#,
        ),
        item_case(
            "N004",
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E-131"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1E-130"}}}"#,
        ),
        item_case(
            "T001",
            r#"{"Item":{"pk":{"S":"a"},"s":{"SS":[]}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"s":{"SS":["x"]}}}"#,
        ),
        item_case(
            "T002",
            r#"{"Item":{"pk":{"S":"a"},"s":{"NS":["1","1.0"]}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"s":{"NS":["1","1.5"]}}}"#,
        ),
        item_case(
            "T003",
            r#"{"Item":{"pk":{"S":"a"},"s":{"SS":["x",1]}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"s":{"SS":["x","1"]}}}"#,
        ),
        item_case(
            "V001",
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"l":{}}}}}"#, deep(33)),
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"l":{}}}}}"#, deep(32)),
        ),
        item_case(
            "V002",
            r#"{"Item":{"pk":{"S":"a"},"":{"S":"x"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"y":{"S":"x"}}}"#,
        ),
        item_case(
            "V003",
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"{long_name}":{{"S":"x"}}}}}}"#),
            &format!(
                r#"{{"Item":{{"pk":{{"S":"a"}},"{}":{{"S":"x"}}}}}}"#,
                &long_name[1..]
            ),
        ),
        item_case(
            "I001",
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"d":{{"S":"{big}"}}}}}}"#),
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"d":{{"S":"{ok_big}"}}}}}}"#),
        ),
        item_case(
            "D001",
            r#"{"Item":{"pk":{"S":"first"}}}"#,
            r#"{"Item":{"pk":{"S":"second"}}}"#,
        ),
    ];
    // Blank line, BOM, pretty-printed.
    v.push(Case {
        code: "F004",
        name: "f.json",
        bad: b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n\n{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n".to_vec(),
        good: b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n".to_vec(),
        args: vec!["--key".into(), "pk".into()],
        line: Some(2),
        good_args: None,
    });
    v.push(Case {
        code: "F005",
        name: "f.json",
        bad: b"\xEF\xBB\xBF{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n".to_vec(),
        good: b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n".to_vec(),
        args: vec!["--key".into(), "pk".into()],
        line: Some(1),
        good_args: None,
    });
    v.push(Case {
        code: "F006",
        name: "f.json",
        bad: b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\n".to_vec(),
        good: b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n".to_vec(),
        args: vec!["--key".into(), "pk".into()],
        line: Some(2),
        good_args: None,
    });
    v.push(Case {
        code: "V004",
        name: "f.json",
        bad: b"{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"Z\xfcrich\"}}}\n"
            .to_vec(),
        good: "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"Zürich\"}}}\n"
            .as_bytes()
            .to_vec(),
        args: vec!["--key".into(), "pk".into()],
        line: Some(2),
        good_args: None,
    });
    // Keys: lengths and GSIs.
    let p2049 = "p".repeat(2049);
    v.push(item_case(
        "K004",
        &format!(r#"{{"Item":{{"pk":{{"S":"{p2049}"}}}}}}"#),
        &format!(r#"{{"Item":{{"pk":{{"S":"{}"}}}}}}"#, &p2049[1..]),
    ));
    let s1025 = "s".repeat(1025);
    v.push(with_args(
        item_case(
            "K005",
            &format!(r#"{{"Item":{{"pk":{{"S":"a"}},"sk":{{"S":"{s1025}"}}}}}}"#),
            &format!(
                r#"{{"Item":{{"pk":{{"S":"a"}},"sk":{{"S":"{}"}}}}}}"#,
                &s1025[1..]
            ),
        ),
        &["--key", "pk:S", "--sort-key", "sk:S"],
    ));
    // The first line has sk too, so the sort key is only checked where we mean it.
    for c in v.iter_mut().filter(|c| c.code == "K005") {
        c.bad = lines_of(&[
            r#"{"Item":{"pk":{"S":"first"},"sk":{"S":"1"}}}"#,
            std::str::from_utf8(&c.bad).unwrap().lines().nth(1).unwrap(),
        ]);
        c.good = lines_of(&[
            r#"{"Item":{"pk":{"S":"first"},"sk":{"S":"1"}}}"#,
            std::str::from_utf8(&c.good)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap(),
        ]);
    }
    v.push(with_args(
        item_case(
            "K006",
            r#"{"Item":{"pk":{"S":"a"},"g":{"N":"1"}}}"#,
            r#"{"Item":{"pk":{"S":"a"},"g":{"S":"1"}}}"#,
        ),
        &["--key", "pk:S", "--gsi", "byG=g:S"],
    ));
    v.push(with_args(
        item_case(
            "K007",
            r#"{"Item":{"pk":{"S":"a"},"g":{"S":""}}}"#,
            r#"{"Item":{"pk":{"S":"a"}}}"#,
        ),
        &["--key", "pk:S", "--gsi", "byG=g:S"],
    ));
    // Ion.
    let ion = |code, bad: &str, good: &str| Case {
        code,
        name: "f.ion",
        bad: lines_of(&[r#"$ion_1_0 {Item:{"pk":"first"}}"#, bad]),
        good: lines_of(&[r#"$ion_1_0 {Item:{"pk":"first"}}"#, good]),
        args: vec!["--key".into(), "pk:S".into()],
        line: Some(2),
        good_args: None,
    };
    v.push(ion(
        "A006",
        r#"$ion_1_0 {Item:{"pk":"a","n":42}}"#,
        r#"$ion_1_0 {Item:{"pk":"a","n":42.}}"#,
    ));
    v.push(ion(
        "A007",
        r#"$ion_1_0 {Item:{"pk":"a","t":2024-01-01T}}"#,
        r#"$ion_1_0 {Item:{"pk":"a","t":"2024-01-01"}}"#,
    ));
    // CSV for the native import.
    let csv = |code, bad: &str, good: &str, line: Option<u64>, args: &[&str]| Case {
        code,
        name: "f.csv",
        bad: bad.as_bytes().to_vec(),
        good: good.as_bytes().to_vec(),
        args: args.iter().map(|s| s.to_string()).collect(),
        line,
        good_args: None,
    };
    v.push(csv(
        "C001",
        "pk,name\na,b\nc,d,e\n",
        "pk,name\na,b\nc,\"d,e\"\n",
        Some(3),
        &["--key", "pk"],
    ));
    v.push(csv(
        "C002",
        "a,1\nc,d\n",
        "pk,name\na,1x\nc,d\n",
        Some(1),
        &[],
    ));
    v.push(csv(
        "C003",
        "pk#name\na#b\n",
        "pk;name\na;b\n",
        None,
        &["--delimiter", "#"],
    ));
    v.push(csv(
        "C004",
        "a,b\n",
        "a,b\n",
        None,
        &["--header-list", "pk,na\"me"],
    ));
    for c in v.iter_mut() {
        match c.code {
            "C003" => c.good_args = Some(vec!["--delimiter".into(), ";".into()]),
            "C004" => c.good_args = Some(vec!["--header-list".into(), "pk,name".into()]),
            _ => {}
        }
    }
    v.push(csv(
        "C005",
        "PK,name\na,b\n",
        "pk,name\na,b\n",
        Some(1),
        &["--key", "pk"],
    ));
    v.push(csv(
        "C006",
        "pk,name\na,say \"hi\"\n",
        "pk,name\na,\"say \"\"hi\"\"\"\n",
        Some(2),
        &["--key", "pk"],
    ));
    v.push(csv(
        "C007",
        "pk,name,name\na,b,c\n",
        "pk,name,nick\na,b,c\n",
        Some(1),
        &["--key", "pk"],
    ));
    v.push(csv(
        "W003",
        "pk,price\na,12.5\n",
        "pk,price\na,twelve\n",
        None,
        &["--key", "pk"],
    ));
    v.push(csv(
        "W004",
        "id,name\n1,a\n2,b\n",
        "id,name\n1,a\n2,b\n",
        None,
        &["--key", "id:S"],
    ));
    for c in v.iter_mut().filter(|c| c.code == "W004") {
        c.good = b"id,name\nu1,a\nu2,b\n".to_vec();
    }
    v.push(csv(
        "F005",
        "\u{feff}pk,name\na,b\n",
        "pk,name\na,b\n",
        Some(1),
        &["--key", "pk"],
    ));
    v.push(item_case(
        "A008",
        r#"{"Item":{"pk":{"S":"a"},"x":{"S":"1"},"x":{"S":"2"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"x":{"S":"2"}}}"#,
    ));
    v.push(Case {
        name: "f.ion",
        bad: lines_of(&[
            r#"$ion_1_0 {Item:{"pk":"first"}}"#,
            r#"$ion_1_0 {Item:{"pk":"a","m":{"k":"1","k":"2"}}}"#,
        ]),
        good: lines_of(&[
            r#"$ion_1_0 {Item:{"pk":"first"}}"#,
            r#"$ion_1_0 {Item:{"pk":"a","m":{"k":"1","j":"2"}}}"#,
        ]),
        ..item_case("A008", "", "")
    });
    v.push(csv(
        "I001",
        &format!("pk,name\na,{big}\n"),
        &format!("pk,name\na,{ok_big}\n"),
        Some(2),
        &["--key", "pk"],
    ));
    v.push(csv(
        "K001",
        "pk,name\n,b\n",
        "pk,name\na,b\n",
        Some(2),
        &["--key", "pk"],
    ));
    // TTL values DynamoDB's TTL would ignore (--ttl names the attribute).
    for (code, bad) in [
        (
            "E001",
            r#"{"Item":{"pk":{"S":"a"},"exp":{"S":"2030-01-01"}}}"#,
        ),
        (
            "E002",
            r#"{"Item":{"pk":{"S":"a"},"exp":{"N":"1893456000000"}}}"#,
        ),
        ("E003", r#"{"Item":{"pk":{"S":"a"},"exp":{"N":"-1"}}}"#),
    ] {
        v.push(with_args(
            item_case(
                code,
                bad,
                r#"{"Item":{"pk":{"S":"a"},"exp":{"N":"1893456000"}}}"#,
            ),
            &["--key", "pk:S", "--ttl", "exp"],
        ));
    }
    v
}

/// The arguments a printed rule example needs (the rule registry's bad and good examples name
/// the attributes `pk`, `sk`, `gsi_pk` and `expires`).
fn example_args(code: &str) -> Vec<&'static str> {
    match code {
        "K005" => vec!["--key", "pk:S", "--sort-key", "sk:S"],
        "K006" | "K007" => vec!["--key", "pk:S", "--gsi", "gsi1=gsi_pk:S"],
        c if c.starts_with('E') => vec!["--key", "pk:S", "--ttl", "expires"],
        _ => vec!["--key", "pk:S"],
    }
}

/// A printed example as item lines, when it is one (its note in parentheses dropped, `\n`
/// between lines made a line end).
fn example_lines(text: &str) -> Option<String> {
    let text = match text.find("   (") {
        Some(k) => &text[..k],
        None => text,
    };
    let t = text.trim();
    if !(t.starts_with("{\"Item\"") || t.starts_with("$ion_1_0")) {
        return None;
    }
    // `<2049 bytes>` (and `<2048 bytes or fewer>`) stands for a value of that length.
    let mut out = t.replace("\\n", "\n");
    while let Some(a) = out.find('<') {
        let b = a + out[a..].find('>')?;
        let n: usize = out[a + 1..b].split(' ').next()?.parse().ok()?;
        out.replace_range(a..=b, &"x".repeat(n));
    }
    Some(out)
}

/// The registry's printed examples (`prep rules CODE`) that are item lines are run: the bad one
/// gives exactly its rule, the good one nothing. (The others describe inputs in words; each of
/// those rules has a fixture: `every_rule_in_the_registry_is_tested`.)
#[test]
fn the_printed_examples_of_every_rule_are_run() {
    let d = tmp();
    let mut ran = 0;
    for r in prep::model::rules::ALL {
        let (Some(bad), Some(good)) = (example_lines(r.bad), example_lines(r.good)) else {
            continue;
        };
        let name = if bad.starts_with("$ion") {
            "x.ion"
        } else {
            "x.json"
        };
        for (which, text) in [("bad", &bad), ("good", &good)] {
            let path = d.path().join(format!("{}-{which}-{name}", r.code));
            std::fs::write(&path, format!("{text}\n")).unwrap();
            let mut args = vec![path.to_str().unwrap()];
            args.extend(example_args(r.code));
            let (_, f, _) = validate(&args);
            let codes: Vec<&str> = f.iter().map(|x| x["code"].as_str().unwrap()).collect();
            if which == "bad" {
                assert_eq!(
                    codes,
                    [r.code],
                    "{}'s printed bad example {text:?}: {f:?}",
                    r.code
                );
            } else {
                assert!(
                    codes.is_empty(),
                    "{}'s printed good example {text:?}: {f:?}",
                    r.code
                );
            }
        }
        ran += 1;
    }
    assert!(ran >= 30, "only {ran} printed examples are item lines");
}

/// Every rule of the registry has a fixture that makes it fire and a good one that does not:
/// here (`cases()`, the printed examples above), or in the test named beside it. A new rule
/// without one fails this test.
#[test]
fn every_rule_in_the_registry_is_tested() {
    let elsewhere: &[(&str, &str, &str)] = &[
        ("N005", "tests/convert_cli.rs", "fn number_rules"),
        (
            "J001",
            "tests/json_inputs.rs",
            "fn bad_documents_are_rejects_with_their_lines",
        ),
        (
            "J002",
            "tests/json_inputs.rs",
            "fn bad_documents_are_rejects_with_their_lines",
        ),
        ("V005", "tests/convert_cli.rs", "fn number_rules"),
        (
            "M001",
            "tests/single_table.rs",
            "fn csv_rows_become_single_table_items",
        ),
        (
            "M002",
            "tests/single_table.rs",
            "fn csv_rows_become_single_table_items",
        ),
        (
            "M003",
            "tests/single_table.rs",
            "fn computed_keys_meet_the_key_rules",
        ),
        (
            "E004",
            "src/shape/ttl.rs",
            "fn seconds_from_every_kind_of_column",
        ),
        ("X001", "tests/validate_cli.rs", "fn folder_rules"),
        (
            "X002",
            "tests/validate_cli.rs",
            "fn more_than_50_000_objects_is_x002",
        ),
        ("X004", "tests/validate_cli.rs", "fn folder_rules"),
        ("X005", "tests/validate_cli.rs", "fn folder_rules"),
        (
            "X006",
            "tests/validate_cli.rs",
            "fn prep_outputs_validate_clean_and_tampering_is_found",
        ),
        (
            "X007",
            "tests/validate_cli.rs",
            "fn damaged_parts_are_findings_and_the_other_parts_are_checked",
        ),
        (
            "W001",
            "tests/validate_cli.rs",
            "fn sorted_input_and_uneven_parts_warn",
        ),
        (
            "W002",
            "tests/validate_cli.rs",
            "fn sorted_input_and_uneven_parts_warn",
        ),
        (
            "X003",
            "src/commands/validate/folder.rs",
            "fn the_import_quota_depends_on_the_region",
        ),
    ];
    let root = env!("CARGO_MANIFEST_DIR");
    let mut tested: std::collections::BTreeSet<&str> = cases().iter().map(|c| c.code).collect();
    for r in prep::model::rules::ALL {
        if example_lines(r.bad).is_some() && example_lines(r.good).is_some() {
            tested.insert(r.code);
        }
    }
    for (code, file, test) in elsewhere {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        assert!(text.contains(test), "{code}: {file} has no {test}");
        assert!(text.contains(code), "{code}: {file} never names it");
        tested.insert(code);
    }
    let untested: Vec<&str> = prep::model::rules::ALL
        .iter()
        .map(|r| r.code)
        .filter(|c| !tested.contains(c))
        .collect();
    assert!(untested.is_empty(), "rules without a fixture: {untested:?}");
}

/// More objects than one import reads (50,000) is X002; 50,000 is fine.
#[test]
fn more_than_50_000_objects_is_x002() {
    let d = tmp();
    let dir = d.path().join("many");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..50_000 {
        std::fs::write(dir.join(format!("p{i:05}.json")), b"").unwrap();
    }
    let (code, f, _) = validate(&[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");
    std::fs::write(dir.join("p50000.json"), b"").unwrap();
    let (code, f, _) = validate(&[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 1);
    assert_eq!(codes_lines(&f), [("X002".to_string(), None)], "{f:?}");
}

/// The full parser alone gives the same findings and counts as the fast path with it.
fn same_without_fast_path(args: &[&str], fast: (i32, &Vec<Value>, &Value)) {
    let mut full = args.to_vec();
    full.push("--no-fast-path");
    let (code, f, summary) = validate(&full);
    assert_eq!((code, &f, &summary), fast, "{args:?}");
}

#[test]
fn every_rule_fires_exactly_on_its_bad_fixture_and_not_on_the_good_one() {
    let d = tmp();
    for (i, c) in cases().into_iter().enumerate() {
        let dir = d.path().join(format!("{i}-{}", c.code));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join(format!("bad-{}", c.name));
        let good = dir.join(format!("good-{}", c.name));
        std::fs::write(&bad, &c.bad).unwrap();
        std::fs::write(&good, &c.good).unwrap();
        let mut args: Vec<&str> = vec![bad.to_str().unwrap()];
        args.extend(c.args.iter().map(String::as_str));
        let (code, f, summary) = validate(&args);
        same_without_fast_path(&args, (code, &f, &summary));
        let got = codes_lines(&f);
        assert_eq!(got, vec![(c.code.to_string(), c.line)], "{}: {f:?}", c.code);
        let severity = prep::model::rules::find(c.code).unwrap().severity;
        assert_eq!(
            code,
            if severity == prep::model::rules::Severity::Error {
                1
            } else {
                0
            },
            "{}",
            c.code
        );
        let mut args: Vec<&str> = vec![good.to_str().unwrap()];
        args.extend(
            c.good_args
                .as_ref()
                .unwrap_or(&c.args)
                .iter()
                .map(String::as_str),
        );
        let (code, f, summary) = validate(&args);
        same_without_fast_path(&args, (code, &f, &summary));
        assert_eq!(code, 0, "{} good: {f:?}", c.code);
        assert!(f.is_empty(), "{} good: {f:?}", c.code);
    }
}

#[test]
fn warnings_fail_only_with_fail_on_warning() {
    let d = tmp();
    let p = write(
        d.path(),
        "dup.json",
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n",
    );
    let (code, f, s) = validate(&[&p, "--key", "pk"]);
    assert_eq!(code, 0);
    assert_eq!(s["warnings"], 1);
    assert!(
        f[0]["message"].as_str().unwrap().contains("dup.json:1"),
        "{f:?}"
    );
    let (code, _, _) = validate(&[&p, "--key", "pk", "--fail-on", "warning"]);
    assert_eq!(code, 1);
    let (_, f, _) = validate(&[&p, "--key", "pk", "--no-duplicates"]);
    assert!(f.is_empty());
}

#[test]
fn sorted_input_and_uneven_parts_warn() {
    let d = tmp();
    let dir = d.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let mut sorted = String::new();
    for i in 0..2000 {
        sorted.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"user#{i:06}\"}},\"pad\":{{\"S\":\"{}\"}}}}}}\n",
            "x".repeat(600)
        ));
    }
    std::fs::write(dir.join("a.json"), &sorted).unwrap();
    std::fs::write(dir.join("b.json"), "{\"Item\":{\"pk\":{\"S\":\"zz\"}}}\n").unwrap();
    std::fs::write(dir.join("c.json"), "{\"Item\":{\"pk\":{\"S\":\"zy\"}}}\n").unwrap();
    let (code, f, _) = validate(&[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 0);
    let mut got: Vec<String> = f
        .iter()
        .map(|x| x["code"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, vec!["W001", "W002"], "{f:?}");
    // Shuffled, even: nothing.
    let mut lines: Vec<&str> = sorted.lines().collect();
    lines.reverse();
    lines.swap(10, 1500);
    let shuffled: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let rest: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("a.json"), shuffled).unwrap();
    std::fs::write(dir.join("b.json"), rest).unwrap();
    std::fs::remove_file(dir.join("c.json")).unwrap();
    let (code, f, _) = validate(&[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 0);
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn folder_rules() {
    let d = tmp();
    // Mixed compression and a marker file in a plain data folder.
    let dir = d.path().join("mixed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.json"), "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n").unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b"{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n").unwrap();
    std::fs::write(dir.join("b.json.gz"), e.finish().unwrap()).unwrap();
    std::fs::write(dir.join("_SUCCESS"), "").unwrap();
    let (code, f, _) = validate(&[dir.to_str().unwrap(), "--key", "pk"]);
    assert_eq!(code, 1);
    let got: Vec<(String, String)> = f
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().into(),
                x["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .into(),
            )
        })
        .collect();
    let mut got = got;
    got.sort();
    assert_eq!(
        got,
        vec![
            ("X001".to_string(), "b.json.gz".to_string()),
            ("X004".to_string(), "_SUCCESS".to_string())
        ]
    );

    // Declared compression or format that does not match the files.
    let (code, f, _) = validate(&[
        dir.join("b.json.gz").to_str().unwrap(),
        "--key",
        "pk",
        "--compression",
        "zstd",
    ]);
    assert_eq!(code, 1);
    assert_eq!(codes_lines(&f), vec![("X005".to_string(), None)]);
    let (_, f, _) = validate(&[
        dir.join("a.json").to_str().unwrap(),
        "--key",
        "pk",
        "--format",
        "ion",
    ]);
    assert_eq!(codes_lines(&f), vec![("X005".to_string(), None)]);
    let (code, f, _) = validate(&[
        dir.join("a.json").to_str().unwrap(),
        "--key",
        "pk",
        "--format",
        "dynamodb-json",
        "--compression",
        "none",
    ]);
    assert_eq!(code, 0, "{f:?}");
}

#[test]
fn prep_outputs_validate_clean_and_tampering_is_found() {
    let d = tmp();
    for (i, (input, args)) in [
        (fixture("types.parquet"), vec!["--key", "pk"]),
        (
            fixture("users.csv"),
            vec![
                "--key",
                "user_id",
                "--type",
                "tags=SS",
                "--format",
                "ion",
                "--part-size",
                "300B",
            ],
        ),
        (
            fixture("excel.csv"),
            vec!["--key", "id:N", "--delimiter", ";", "--compress", "gzip"],
        ),
    ]
    .iter()
    .enumerate()
    {
        let out = d.path().join(format!("o{i}"));
        let mut a = vec![input.as_str()];
        a.extend(args.iter());
        convert(&out, &a);
        // The key schema comes from the manifest.
        let (code, f, s) = validate(&[out.to_str().unwrap()]);
        assert_eq!(code, 0, "{input}: {f:?}");
        assert!(f.is_empty(), "{input}: {f:?}");
        assert!(s["items"].as_u64().unwrap() > 0);
        assert!(
            s["notes"][0].as_str().unwrap().contains("key schema from"),
            "{s}"
        );
    }
    let out = d.path().join("o1");
    // A stray file under data/, and a changed part.
    std::fs::write(out.join("data").join("notes.txt"), "x").unwrap();
    let part = out.join("data").join("part-00001.ion.zst");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.push(0);
    std::fs::write(&part, bytes).unwrap();
    let (code, f, _) = validate(&[out.to_str().unwrap()]);
    assert_eq!(code, 1);
    let mut got: Vec<&str> = f.iter().map(|x| x["code"].as_str().unwrap()).collect();
    got.sort();
    got.dedup();
    assert!(got.contains(&"X004") && got.contains(&"X006"), "{f:?}");
    // An item count that does not match.
    let out = d.path().join("o2");
    let mf = out.join("manifest-files.json");
    let text = std::fs::read_to_string(&mf)
        .unwrap()
        .replace("\"itemCount\":3", "\"itemCount\":4");
    std::fs::write(&mf, text).unwrap();
    let (code, f, _) = validate(&[out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        f.iter()
            .any(|x| x["code"] == "X006" && x["message"].as_str().unwrap().contains("itemCount")),
        "{f:?}"
    );
}

#[test]
fn export_folders_validate_clean_and_print_the_import_prefix() {
    let d = tmp();
    let dir = d.path().join("AWSDynamoDB").join("01700000000000-abcd1234");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let lines = "{\"Item\":{\"id\":{\"S\":\"1\"},\"n\":{\"N\":\"1.5\"}}}\n{\"Item\":{\"id\":{\"S\":\"2\"},\"tags\":{\"SS\":[\"a\"]}}}\n";
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(lines.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    std::fs::write(dir.join("data").join("abc.json.gz"), &gz).unwrap();
    use base64::Engine;
    use md5::Digest;
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&gz));
    std::fs::write(
        dir.join("manifest-files.json"),
        format!("{}\n", json!({"itemCount": 2, "md5Checksum": md5, "etag": "x", "dataFileS3Key": "exports/AWSDynamoDB/01700000000000-abcd1234/data/abc.json.gz"})),
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest-summary.json"),
        json!({"version": "2020-06-30", "s3Bucket": "my-bucket", "itemCount": 2, "outputFormat": "DYNAMODB_JSON",
               "manifestFilesS3Key": "exports/AWSDynamoDB/01700000000000-abcd1234/manifest-files.json"}).to_string(),
    )
    .unwrap();
    let (code, f, s) = validate(&[dir.to_str().unwrap(), "--key", "id:S"]);
    assert_eq!(code, 0, "{f:?}");
    assert!(f.is_empty());
    let notes = s["notes"].to_string();
    assert!(
        notes.contains("s3://my-bucket/exports/AWSDynamoDB/01700000000000-abcd1234/data/"),
        "{notes}"
    );
    // The same in text.
    let o = prep()
        .args(["validate", dir.to_str().unwrap(), "--key", "id:S"])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("S3KeyPrefix exports/AWSDynamoDB/01700000000000-abcd1234/data/"),
        "{text}"
    );
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
}

fn many_bad_lines(dir: &Path) -> String {
    let mut s = String::new();
    for i in 0..10_000 {
        s.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"k{i}\"}},\"x\":{{\"NULL\":false}}}}}}\n"
        ));
    }
    write(dir, "bad.json", &s)
}

#[test]
fn counts_everything_but_prints_max_errors() {
    let d = tmp();
    let p = many_bad_lines(d.path());
    let (code, f, s) = validate(&[
        &p,
        "--key",
        "pk",
        "--max-errors",
        "7",
        "--threads",
        "2",
        "--batch-rows",
        "333",
    ]);
    assert_eq!(code, 1);
    assert_eq!(f.len(), 7);
    assert_eq!(s["errors"], 10_000);
    assert_eq!(s["byRule"]["A003"], 10_000);
    let lines: Vec<u64> = f.iter().map(|x| x["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (1..=7).collect::<Vec<u64>>(), "in file order");
    let o = prep()
        .args(["validate", &p, "--key", "pk", "--max-errors", "3"])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.matches("error A003").count(), 3);
    assert!(text.contains("9997 more findings not shown"), "{text}");
    assert!(text.contains("10000 errors"), "{text}");
}

#[test]
fn github_and_junit_outputs_are_well_formed() {
    let d = tmp();
    let p = write(
        d.path(),
        "x,y.json",
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"N\":\"1\"}}}\n{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n",
    );
    let o = prep()
        .args(["validate", &p, "--key", "pk:S", "--output-format", "github"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8(o.stdout).unwrap();
    let ann: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(ann.len(), 2, "{text}");
    for a in &ann {
        // ::LEVEL file=…,line=N,title=…::message
        let rest = a.strip_prefix("::").unwrap();
        let (cmd, msg) = rest.split_once("::").unwrap();
        let (level, props) = cmd.split_once(' ').unwrap();
        assert!(level == "error" || level == "warning");
        let props: Vec<(&str, &str)> = props
            .split(',')
            .map(|p| p.split_once('=').unwrap())
            .collect();
        assert_eq!(props[0].0, "file");
        assert!(
            props[0].1.ends_with("x%2Cy.json"),
            "commas in file names are escaped: {a}"
        );
        assert_eq!(props[1].0, "line");
        props[1].1.parse::<u64>().unwrap();
        assert!(!msg.is_empty());
    }
    assert!(ann[0].starts_with("::error ") && ann[0].contains(",line=2,"));
    assert!(ann[1].starts_with("::warning ") && ann[1].contains(",line=3,"));

    let o = prep()
        .args(["validate", &p, "--key", "pk:S", "--output-format", "junit"])
        .output()
        .unwrap();
    let xml = String::from_utf8(o.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("failures"), Some("1"));
    let case = suite
        .children()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(failure.attribute("type"), Some("K002"));
    assert!(failure.text().unwrap().contains("Type mismatch for key pk"));
    // A clean run is a passing test case.
    let good = write(d.path(), "good.json", "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n");
    let o = prep()
        .args([
            "validate",
            &good,
            "--key",
            "pk:S",
            "--output-format",
            "junit",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let xml = String::from_utf8(o.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
}

#[test]
fn sarif_structure() {
    let d = tmp();
    let p = many_bad_lines(d.path());
    let o = prep()
        .args([
            "validate",
            &p,
            "--key",
            "pk",
            "--output-format",
            "sarif",
            "--max-errors",
            "5",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "prep");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), prep::model::rules::ALL.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert_eq!(r["ruleId"], "A003");
        assert_eq!(r["level"], "error");
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    // Against the official SARIF 2.1.0 schema, when the test tools are installed.
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/sarif-schema-2.1.0.json");
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let have = schema.exists()
        && python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import jsonschema"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the test tools (scripts/install-test-tools.sh)"
        );
        eprintln!("skipping the schema check: run scripts/install-test-tools.sh");
        return;
    }
    let sarif = d.path().join("out.sarif");
    std::fs::write(&sarif, &o.stdout).unwrap();
    let status = std::process::Command::new(&python)
        .args([
            "-c",
            "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2])); jsonschema.validators.validator_for(s)(s).validate(d); print('valid')",
            schema.to_str().unwrap(),
            sarif.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "SARIF output does not validate against the official schema"
    );
}

#[test]
fn text_output_groups_by_file_with_excerpts_and_paths() {
    let d = tmp();
    let a = write(
        d.path(),
        "a.json",
        "{\"Item\":{\"pk\":{\"S\":\"a\"},\"m\":{\"M\":{\"tags\":{\"SS\":[\"x\",2]}}}}}\n",
    );
    let b = write(d.path(), "b.json", "{\"Item\":{\"x\":{\"S\":\"a\"}}}\n");
    let o = prep()
        .args(["validate", &a, &b, "--key", "pk"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8(o.stdout).unwrap();
    let ia = text.find(&format!("{a}\n")).unwrap();
    let ib = text.find(&format!("{b}\n")).unwrap();
    assert!(ia < ib);
    assert!(text.contains("Item.m.tags.SS[1]"), "{text}");
    assert!(
        text.contains("    | {\"Item\":{\"x\":{\"S\":\"a\"}}}"),
        "{text}"
    );
    assert!(!text.contains("\x1b["), "no colour when not a terminal");
    assert!(text.contains("2 errors, 0 warnings in 2 files"), "{text}");
    // Could not run: exit 2.
    let o = prep()
        .args(["validate", "/no/such/file.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn pre_commit_hook_runs_with_the_real_tool() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pre_commit = root.join(".venv/bin/pre-commit");
    if !pre_commit.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install pre-commit (scripts/install-test-tools.sh)"
        );
        eprintln!("skipping: run scripts/install-test-tools.sh to install pre-commit");
        return;
    }
    let d = tmp();
    let repo = d.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let s = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(
            s.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&s.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "t@example.com"]);
    git(&["config", "user.name", "t"]);
    std::fs::create_dir_all(repo.join("data")).unwrap();
    std::fs::write(
        repo.join("data/good.json"),
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("data/bad.json"),
        "{\"Item\":{\"pk\":{\"S\":\"a\"},\"x\":{\"NULL\":false}}}\n",
    )
    .unwrap();
    // Config JSON is not data: the hook leaves it alone (it would be F002 noise).
    std::fs::write(repo.join("package.json"), "{\"name\": \"app\"}\n").unwrap();
    git(&["add", "."]);
    // The hook definitions are read from this repository's .pre-commit-hooks.yaml; prep itself
    // comes from PATH (the `prep-validate-system` hook), built by this test run.
    let bin = assert_cmd::cargo::cargo_bin("prep");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let run = |files: &[&str]| {
        let mut c = std::process::Command::new(&pre_commit);
        c.args([
            "try-repo",
            root.to_str().unwrap(),
            "prep-validate-system",
            "--files",
        ])
        .args(files)
        .current_dir(&repo)
        .env("PATH", &path)
        .env("PRE_COMMIT_HOME", d.path().join("cache"));
        c.output().unwrap()
    };
    let o = run(&["data/good.json", "package.json"]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["data/good.json", "data/bad.json", "package.json"]);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("A003"), "{out}");
    assert!(!out.contains("package.json"), "{out}");
}

/// A part damaged after it was written (one byte flipped in a compressed part of a few hundred
/// KB) is a finding in every output format: the checksum mismatch (X006) and the unreadable
/// stream with the byte it stopped at (X007); the other parts are still checked; exit 1.
#[test]
fn damaged_parts_are_findings_and_the_other_parts_are_checked() {
    let d = tmp();
    let mut csv = String::from("id,name\n");
    for i in 0..60_000 {
        // Shuffled ids: sorted input would add a W001 warning per part.
        csv.push_str(&format!("{},name {i}\n", i * 7919 % 60_000));
    }
    let input = write(d.path(), "in.csv", &csv);
    for compress in ["gzip", "zstd"] {
        let out = d.path().join(format!("out-{compress}"));
        let (code, s, err) = convert(
            &out,
            &[
                &input,
                "--key",
                "id:N",
                "--compress",
                compress,
                "--part-size",
                "1MB",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let all = parts(&out);
        assert!(all.len() >= 2, "{all:?}");
        let part = &all[0];
        let mut bytes = std::fs::read(part).unwrap();
        assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
        let at = bytes.len() / 2;
        bytes[at] ^= 0x55;
        std::fs::write(part, bytes).unwrap();
        let dir = out.to_str().unwrap();
        let (code, f, summary) = validate(&[dir]);
        assert_eq!(code, 1, "{compress}: {f:?}");
        let name = part.file_name().unwrap().to_str().unwrap();
        let x007: Vec<&Value> = f.iter().filter(|x| x["code"] == "X007").collect();
        assert_eq!(x007.len(), 1, "{compress}: {f:?}");
        assert!(
            x007[0]["file"].as_str().unwrap().ends_with(name),
            "{x007:?}"
        );
        let msg = x007[0]["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("damaged {compress} stream near compressed byte")),
            "{msg}"
        );
        assert!(
            f.iter().any(|x| x["code"] == "X006"
                && x["file"].as_str().unwrap().ends_with(name)
                && x["message"].as_str().unwrap().contains("md5Checksum")),
            "{compress}: {f:?}"
        );
        // The other parts were read to their end: more items checked than the damaged part
        // could hold, and no finding of theirs.
        let total = s["itemsWritten"].as_u64().unwrap();
        let checked = summary["items"].as_u64().unwrap();
        assert!(
            checked >= total / 2 && checked < total,
            "{checked} of {total}"
        );
        assert!(
            f.iter()
                .all(|x| x["file"].as_str().unwrap().ends_with(name)),
            "{f:?}"
        );
        for format in ["text", "github", "junit", "sarif"] {
            let o = prep()
                .args(["validate", dir, "--output-format", format])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert_eq!(o.status.code(), Some(1), "{format}: {text}");
            assert!(
                text.contains("X007") && text.contains("X006"),
                "{format}: {text}"
            );
        }
    }
}

/// A line nested thousands deep (Ion or DynamoDB JSON) is a V001 finding / reject with its line
/// number; the lines around it are checked and converted (no stack overflow).
#[test]
fn deep_nesting_is_a_finding_not_a_crash() {
    let d = tmp();
    let n = 3000;
    let files = [
        (
            "deep.ion",
            format!(
                "$ion_1_0 {{Item:{{\"pk\":\"a\"}}}}\n$ion_1_0 {{Item:{{\"pk\":\"b\",\"x\":{}1.{}}}}}\n$ion_1_0 {{Item:{{\"pk\":\"c\",\"m\":{}1.{}}}}}\n$ion_1_0 {{Item:{{\"pk\":\"d\"}}}}\n",
                "[".repeat(n),
                "]".repeat(n),
                "{a:".repeat(n),
                "}".repeat(n)
            ),
        ),
        (
            "deep.json",
            format!(
                "{{\"Item\":{{\"pk\":{{\"S\":\"a\"}}}}}}\n{{\"Item\":{{\"pk\":{{\"S\":\"b\"}},\"x\":{}{{\"N\":\"1\"}}{}}}}}\n{{\"Item\":{{\"pk\":{{\"S\":\"c\"}},\"x\":{}{{\"N\":\"1\"}}{}}}}}\n{{\"Item\":{{\"pk\":{{\"S\":\"d\"}}}}}}\n",
                "{\"L\":[".repeat(n),
                "]}".repeat(n),
                "{\"M\":{\"a\":".repeat(n),
                "}}".repeat(n)
            ),
        ),
    ];
    for (name, text) in files {
        let p = write(d.path(), name, &text);
        let (code, f, summary) = validate(&[&p, "--key", "pk:S"]);
        assert_eq!(code, 1, "{name}");
        let got: Vec<(String, Option<u64>)> = codes_lines(&f);
        assert_eq!(got.len(), 2, "{name}: {f:?}");
        for (k, (code, line)) in got.iter().enumerate() {
            assert_eq!(line, &Some(k as u64 + 2), "{name}: {f:?}");
            assert_eq!(code, "V001", "{name}: {f:?}");
        }
        assert_eq!(summary["items"], 2, "{name}");
        let out = d.path().join(format!("out-{name}"));
        let (code, s, err) = convert(&out, &[&p, "--key", "pk:S"]);
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(
            (s["itemsWritten"].as_u64(), s["rowsRejected"].as_u64()),
            (Some(2), Some(2)),
            "{name}"
        );
    }
}

/// manifest-summary.json is written last: a folder without it (a convert killed between the
/// manifests) is incomplete for validate (X006, exit 1) as it is for upload.
#[test]
fn a_folder_without_its_summary_is_incomplete() {
    let d = tmp();
    let out = d.path().join("o");
    let (code, _, err) = convert(&out, &[&fixture("users.csv"), "--key", "user_id"]);
    assert_eq!(code, 1, "{err}");
    for missing in ["manifest-summary.json", "import-table.json"] {
        let copy = d.path().join(format!("copy-{missing}"));
        std::fs::create_dir_all(copy.join("data")).unwrap();
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && p.file_name().unwrap() != missing {
                std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
            }
        }
        for p in parts(&out) {
            std::fs::copy(&p, copy.join("data").join(p.file_name().unwrap())).unwrap();
        }
        let (code, f, _) = validate(&[copy.to_str().unwrap(), "--key", "user_id"]);
        assert_eq!(code, 1);
        assert!(
            f.iter().any(|x| x["code"] == "X006"
                && x["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("{missing} is missing"))),
            "{f:?}"
        );
        let o = prep()
            .args(["upload", copy.to_str().unwrap(), "s3://bucket/x/"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains(missing));
    }
}

/// Control characters from the data (an OSC sequence that retitles the terminal, a CSI that
/// clears it, C1 controls) are shown escaped in the human outputs, never sent raw.
#[test]
fn control_characters_from_the_data_never_reach_the_terminal() {
    let d = tmp();
    let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m";
    let body = format!(
        "{{\"Item\":{{\"pk\":{{\"S\":\"a\"}},\"x\":{{\"N\":\"{}\"}}}}}}\n",
        evil.replace('\u{1b}', "\\u001b")
            .replace('\u{7}', "\\u0007")
            .replace('\u{9b}', "\\u009b")
    );
    let raw_bad = format!("{{\"Item\":{{\"pk\":{{\"S\":\"{evil}\"}}}}\n");
    let p = write(
        d.path(),
        &format!("f{}.json", '\u{1b}'),
        &format!("{body}{raw_bad}"),
    );
    for format in ["text", "github"] {
        let o = prep()
            .args(["validate", &p, "--key", "pk:S", "--output-format", format])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{format}: {out:?}"
        );
        assert!(out.contains("\\u{1b}"), "{format}: {out}");
    }
}

/// CSV meant for the native import with a quote that is never closed before 200 MB of text,
/// and with a 20 MB cell: validate keeps at most --max-line-bytes of a record (C006 and I001
/// findings with their lines), in bounded memory.
#[test]
fn csv_records_past_the_limit_are_findings_in_bounded_memory() {
    let d = tmp();
    let big = "x".repeat(20 << 20);
    let cell = d.path().join("cell.csv");
    std::fs::write(&cell, format!("pk,v\na,b\nc,{big}\ne,f\n")).unwrap();
    let unclosed = d.path().join("unclosed.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&unclosed).unwrap());
        f.write_all(b"pk,v\na,b\nc,\"open").unwrap();
        let chunk = vec![b'y'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
    }
    for (path, code, line) in [(&cell, "I001", 3), (&unclosed, "C006", 3)] {
        let (exit, stdout, peak) = validate_measured(path, "pk");
        assert_eq!(exit, Some(1), "{stdout}");
        let (findings, _) = validate_json(&stdout, "");
        assert!(
            findings
                .iter()
                .any(|f| f["code"] == code && f["line"] == line),
            "{path:?}: {findings:?}"
        );
        assert!(peak < 100, "validate peaked at {peak} MiB on {path:?}");
    }
}

/// A reader that closes early (`prep rules | head -5`, `prep validate … | head -1`): output stops
/// quietly, as ripgrep's does, with the command's own exit code; never a panic (exit 101).
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tmp();
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!("{{\"Item\":{{\"pk\":{{\"N\":\"{i}\"}}}}}}\n"));
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, text).unwrap();
    let bad = bad.to_str().unwrap();
    let runs: [(&[&str], i32); 4] = [
        (&["rules"], 0),
        (&["rules", "F004"], 0),
        (
            &["validate", bad, "--key", "pk:S", "--output-format", "json"],
            1,
        ),
        (&["validate", bad, "--key", "pk:S"], 1),
    ];
    for (args, want) in runs {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("prep"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before the command writes a byte.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(o.status.code(), Some(want), "{args:?}: {stderr}");
    }
}

/// A file that is not data (README.md) is never read as CSV: convert refuses it and validate
/// calls it X004, naming what prep reads (was: 207 items made of Markdown lines, 246 CSV errors).
#[test]
fn a_file_that_is_not_data_is_refused() {
    let readme = format!("{}/README.md", env!("CARGO_MANIFEST_DIR"));
    let (code, findings, _) = validate(&[&readme, "--key", "user_id"]);
    assert_eq!(code, 1);
    assert_eq!(codes_lines(&findings), [("X004".to_string(), None)]);
    let message = findings[0]["message"].as_str().unwrap();
    assert!(message.contains("a .md file is not data"), "{message}");
    let d = tmp();
    let o = prep()
        .args(["convert", &readme, "--key", "user_id", "--out"])
        .arg(d.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("a .md file is not data"), "{stderr}");
    // A name without any extension is read by its content, and the run says what it guessed;
    // a named one is not remarked on.
    let plain = write(
        d.path(),
        "users",
        &std::fs::read_to_string(fixture("users.csv")).unwrap(),
    );
    let (_, summary, _) = convert(&d.path().join("guessed"), &[&plain, "--key", "user_id"]);
    let warnings = summary["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("users: its name has no data extension")
            && w.as_str().unwrap().contains("read as CSV")),
        "{warnings:?}"
    );
    let (_, summary, _) = convert(
        &d.path().join("named"),
        &[&fixture("users.csv"), "--key", "user_id"],
    );
    assert!(
        summary["warnings"].as_array().unwrap().is_empty(),
        "{summary}"
    );
}
