//! Plain JSON inputs through `prep convert`: JSON Lines and arrays of documents (plain, gzip,
//! zstd), every value read back by serde_json and compared with the documents as written,
//! rejects with their lines, every column option applied to documents, and MongoDB Extended
//! JSON as `mongoexport` writes it in its two modes.

mod common;

use common::*;
use serde_json::{json, Map, Value};
use std::io::Write;

/// A document as its item must read back (see `common::plain`): numbers as canonical text,
/// top-level nulls left out (`--nulls omit`), nested nulls kept as NULL.
fn expected(doc: &Value) -> Map<String, Value> {
    fn inner(v: &Value) -> Value {
        match v {
            Value::Number(n) => Value::String(canon(&n.to_string())),
            Value::Array(a) => Value::Array(a.iter().map(inner).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), inner(x))).collect())
            }
            other => other.clone(),
        }
    }
    doc.as_object()
        .unwrap()
        .iter()
        .filter(|(_, x)| !x.is_null())
        .map(|(k, x)| (k.clone(), inner(x)))
        .collect()
}

/// Documents that differ from each other as a document store's do, with the values that lose
/// digits or drift when converted by hand: integers past 2^53, decimals of 38 digits, tiny
/// exponents, escapes and non-BMP text, nested lists and maps, booleans and nulls.
fn documents() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..300u64 {
        let mut d = format!("{{\"id\": {i}");
        match i % 6 {
            0 => d.push_str(
                ", \"big\": 9007199254740993123, \"dec\": 1234567890123456789012345678.9012345678",
            ),
            1 => d.push_str(", \"tiny\": 1.5e-120, \"neg\": -0.000, \"exp\": 12E+3"),
            2 => d.push_str(
                r#", "s": "tab\there \"quoted\" \\ \u00e9 \ud83d\ude00 \u0001", "flag": false"#,
            ),
            3 => d.push_str(r#", "l": [1, "two", [3.0, {"four": null}], true, {}], "none": null"#),
            4 => d.push_str(r#", "m": {"a": {"b": {"c": [1e2, "x"]}}, "e": []}, "t": true"#),
            _ => d.push_str(r#", "unicode_名前": "値", "": "x""#),
        }
        d.push('}');
        // An empty name is a reject (V002): that document is counted, not written.
        out.push(d);
    }
    out
}

/// Each reject's line and rule code, in order.
fn lines_and_codes(out: &std::path::Path) -> Vec<(u64, String)> {
    rejects(out)
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn by_id(items: &[Map<String, Value>]) -> std::collections::BTreeMap<String, Map<String, Value>> {
    items
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_string(), m.clone()))
        .collect()
}

/// JSON Lines (plain, gzip, zstd) and a pretty-printed array give the same items, each equal
/// value for value to its document; counts reconcile.
#[test]
fn documents_become_items_value_for_value() {
    let d = tmp();
    let docs = documents();
    let text = docs.join("\n") + "\n";
    let plain = d.path().join("docs.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gzip = d.path().join("docs.jsonl.gz");
    std::fs::write(&gzip, gz.finish().unwrap()).unwrap();
    let zst = d.path().join("docs.ndjson.zst");
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    // The array's elements as written (serde_json would reorder or round nothing, but the
    // documents' own text is what is checked).
    let array = d.path().join("docs.json");
    std::fs::write(&array, format!("[\n  {}\n]\n", docs.join(",\n  "))).unwrap();
    let parsed: Vec<Value> = docs
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let want: std::collections::BTreeMap<String, Map<String, Value>> = parsed
        .iter()
        .filter(|v| !v.as_object().unwrap().contains_key(""))
        .map(|v| {
            let e = expected(v);
            (e["id"].as_str().unwrap().to_string(), e)
        })
        .collect();
    for (k, input) in [&plain, &gzip, &zst, &array].iter().enumerate() {
        let out = d.path().join(format!("out{k}"));
        let (code, s, err) = convert(&out, &[input.to_str().unwrap(), "--key", "id:N"]);
        assert_eq!(code, 1, "{input:?}: rejects make exit 1: {err}");
        assert_eq!(s["rowsRead"], 300, "{s}");
        assert_eq!(s["itemsWritten"], 250, "{s}");
        assert_eq!(s["rowsRejected"], 50, "{s}");
        let got = by_id(&check_output(&out));
        assert_eq!(got, want, "{input:?}");
        let rejects = rejects(&out);
        assert!(rejects.iter().all(|r| r["code"] == "V002"), "{rejects:?}");
        // Rejects point at the document's line: line k+1 in JSON Lines, k+2 in the array.
        let first = &rejects[0];
        assert_eq!(first["row"], 6);
        assert_eq!(first["line"], if k == 3 { 7 } else { 6 }, "{first}");
        assert_eq!(first["values"]["id"], 5, "{first}");
    }
}

/// Each bad document is a reject with its line and rule, and the rest of the file is read:
/// no JSON, no object, a repeated name at any depth, nesting past 32 levels, a number DynamoDB
/// cannot store, a pretty-printed document, a missing or mistyped key, a line past the limit.
#[test]
fn bad_documents_are_rejects_with_their_lines() {
    let d = tmp();
    let deep = format!(
        "{{\"id\":\"d\",\"x\":{}1{}}}",
        "[".repeat(33),
        "]".repeat(33)
    );
    let lines = [
        r#"{"id":"ok1","n":1}"#.to_string(),
        r#"{"id":"x","n":"#.to_string(),
        r#"[{"id":"in-array"}]"#.to_string(),
        r#""just a string""#.to_string(),
        r#"{"id":"r","m":{"a":1,"a":2}}"#.to_string(),
        deep,
        r#"{"id":"big","n":1e126}"#.to_string(),
        "{".to_string(),
        r#"{"name":"no id"}"#.to_string(),
        r#"{"id":{"nested":1}}"#.to_string(),
        format!("{{\"id\":\"long\",\"s\":\"{}\"}}", "x".repeat(1_100_000)),
        r#"{"id":"ok2"}"#.to_string(),
    ];
    let input = write(d.path(), "bad.jsonl", &(lines.join("\n") + "\n"));
    let out = d.path().join("out");
    let (code, s, err) = convert(&out, &[&input, "--key", "id:S", "--max-line-bytes", "1MiB"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        (s["rowsRead"].as_u64(), s["itemsWritten"].as_u64()),
        (Some(12), Some(2)),
        "{s}"
    );
    let got = lines_and_codes(&out);
    let want: Vec<(u64, &str)> = vec![
        (2, "J001"),
        (3, "J002"),
        (4, "J002"),
        (5, "A008"),
        (6, "V001"),
        (7, "N003"),
        (8, "J001"),
        (9, "K001"),
        (10, "K002"),
        (11, "I001"),
    ];
    let want: Vec<(u64, String)> = want.into_iter().map(|(l, c)| (l, c.to_string())).collect();
    assert_eq!(got, want);
    let r = rejects(&out);
    assert!(
        r[6]["message"].as_str().unwrap().contains("pretty-printed"),
        "{}",
        r[6]
    );
    assert_eq!(
        r[3]["values"]["line"],
        lines[4].as_str(),
        "a repeated name is shown as written"
    );
    let items = check_output(&out);
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ok1", "ok2"]);

    // In an array, a bad element is a reject with the line it starts on; the rest is read.
    let input = write(
        d.path(),
        "bad.json",
        "[\n{\"id\":\"a\"},\n{\"id\":\"b\" \"oops\": 1},\n7,\n{\"id\":\"c\",\n \"n\": 2}\n]\n",
    );
    let out = d.path().join("out-array");
    let (code, s, err) = convert(&out, &[&input, "--key", "id:S"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(s["itemsWritten"], 2, "{s}");
    let got = lines_and_codes(&out);
    assert_eq!(got, vec![(3, "J001".to_string()), (4, "J002".to_string())]);
    // A cut-off array is an error that names the line, not a silent end.
    let input = write(d.path(), "cut.json", "[\n{\"id\":\"a\"},\n{\"id\":\"b\"");
    let (code, _, err) = convert(&d.path().join("out-cut"), &[&input, "--key", "id:S"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cut.json") && err.contains("line 3") && err.contains("cut short"),
        "{err}"
    );
}

/// A single-table design from documents: keys from nested fields, computed attributes, a GSI,
/// `--type` making sets and numbers of arrays and text, `--drop`, `--rename`, a TTL computed
/// from an ISO-8601 string; the nested field a template reads stays in its map.
#[test]
fn every_column_option_applies_to_documents() {
    let d = tmp();
    let input = write(
        d.path(),
        "orders.jsonl",
        concat!(
            r#"{"user":{"id":7,"email":"a@x.com"},"order":12,"created":"2024-05-01T10:00:00Z","tags":["x","y"],"codes":"a; b","price":"19.90","note":"hi","secret":"s","extra":{"k":[1]}}"#,
            "\n",
            r#"{"user":{"id":8,"email":"b@x.com"},"order":13,"created":"2024-05-02T00:00:00Z","tags":[],"price":5}"#,
            "\n",
            r#"{"user":{"email":"c@x.com"},"order":14,"created":"2024-05-02T00:00:00Z"}"#,
            "\n",
            r#"{"user":{"id":9,"email":"e@x.com"},"order":15,"created":"yesterday"}"#,
            "\n",
            r#"{"user":{"id":10,"email":"d@x.com"},"order":16,"created":"2024-05-02T00:00:00Z","tags":"p,q","price":"abc"}"#,
            "\n",
        ),
    );
    let out = d.path().join("out");
    let (code, s, err) = convert(
        &out,
        &[
            &input,
            "--key",
            "PK=USER#{user.id}",
            "--sort-key",
            "SK=ORDER#{order:06}",
            "--gsi",
            "GSI1=GSI1PK",
            "--set",
            "GSI1PK=EMAIL#{user.email}",
            "--set",
            "type=Order",
            "--type",
            "tags=SS",
            "--type",
            "codes=SS:;",
            "--type",
            "price=N",
            "--drop",
            "secret",
            "--rename",
            "note=comment",
            "--ttl",
            "expires=created+30d",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(s["itemsWritten"], 2, "{s}");
    let items = check_output(&out);
    let first = items.iter().find(|i| i["PK"] == "USER#7").unwrap();
    let expires = 1_714_557_600 + 30 * 86_400;
    assert_eq!(
        Value::Object(first.clone()),
        json!({
            "PK": "USER#7",
            "SK": "ORDER#000012",
            "GSI1PK": "EMAIL#a@x.com",
            "type": "Order",
            "user": {"id": "7", "email": "a@x.com"},
            "order": "12",
            "created": "2024-05-01T10:00:00Z",
            "tags": ["x", "y"],
            "codes": ["a", "b"],
            "price": "19.9",
            "comment": "hi",
            "extra": {"k": ["1"]},
            "expires": expires.to_string(),
        })
    );
    // An empty array made a set is an empty set: left out.
    let second = items.iter().find(|i| i["PK"] == "USER#8").unwrap();
    assert!(!second.contains_key("tags"), "{second:?}");
    assert_eq!(second["GSI1PK"], "EMAIL#b@x.com");
    assert_eq!(second["price"], "5");
    let got = lines_and_codes(&out);
    assert_eq!(
        got,
        vec![(3, "M001".into()), (4, "E004".into()), (5, "V005".into())],
        "{:?}",
        rejects(&out)
    );

    // --select keeps only what it names (and the computed attributes); a declared TTL that is a
    // string in a document is E001.
    let input = write(
        d.path(),
        "ttl.jsonl",
        "{\"id\":\"a\",\"exp\":1893456000,\"x\":1,\"y\":2}\n{\"id\":\"b\",\"exp\":\"2030-01-01\",\"x\":1}\n{\"id\":\"c\",\"x\":3}\n",
    );
    let out = d.path().join("out-select");
    let (code, _, err) = convert(
        &out,
        &[
            &input, "--key", "id:S", "--select", "id,x,exp", "--ttl", "exp",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let items = check_output(&out);
    assert_eq!(
        items
            .iter()
            .map(|i| Value::Object(i.clone()))
            .collect::<Vec<_>>(),
        vec![
            json!({"id": "a", "exp": "1893456000", "x": "1"}),
            json!({"id": "c", "x": "3"})
        ]
    );
    let r = rejects(&out);
    assert_eq!((r.len(), r[0]["code"].as_str()), (1, Some("E001")), "{r:?}");

    // --nulls null: a field that is null is NULL, one that is absent stays absent, whether an
    // option names it (n) or not (m).
    let nulls = write(
        d.path(),
        "nulls.jsonl",
        "{\"id\":\"a\",\"n\":null,\"m\":null}\n{\"id\":\"b\"}\n",
    );
    let out = d.path().join("out-nulls");
    let (code, _, err) = convert(
        &out,
        &[&nulls, "--key", "id:S", "--type", "n=N", "--nulls", "null"],
    );
    assert_eq!(code, 0, "{err}");
    let items: Vec<Value> = check_output(&out).into_iter().map(Value::Object).collect();
    assert_eq!(
        items,
        vec![json!({"id": "a", "n": null, "m": null}), json!({"id": "b"})]
    );

    // A name repeated inside a field an option names is found as in the rest (A008), and
    // inside a MongoDB map whose first name starts with $.
    let repeats = write(
        d.path(),
        "repeats.jsonl",
        concat!(
            r#"{"id":"a","m":{"x":1,"x":2}}"#,
            "\n",
            r#"{"id":"b","m":{"x":1}}"#,
            "\n",
            r#"{"id":"c","m":{"$timestamp":{"t":1,"t":2}},"_x":{"$oid":"1"}}"#,
            "\n",
        ),
    );
    for args in [
        &["--select", "id,m"][..],
        &["--type", "m=M"],
        &["--json-dialect", "mongodb"],
    ] {
        let out = d.path().join("out-repeats");
        let _ = std::fs::remove_dir_all(&out);
        let (code, _, err) = convert(
            &out,
            &[&[repeats.as_str(), "--key", "id:S"][..], args].concat(),
        );
        assert_eq!(code, 1, "{args:?}: {err}");
        let items: Vec<Value> = check_output(&out).into_iter().map(Value::Object).collect();
        assert_eq!(items[0], json!({"id": "b", "m": {"x": "1"}}), "{args:?}");
        let got = lines_and_codes(&out);
        let a008 = |line| (line, "A008".to_string());
        assert_eq!(got, vec![a008(1), a008(3)], "{args:?}");
    }

    // A key whose type the documents decide must be declared; plain JSON and CSV do not mix.
    let out = d.path().join("out-undeclared");
    let (code, _, err) = convert(&out, &[&input, "--key", "id"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("declare the key type (e.g. --key id:S)"),
        "{err}"
    );
    let csv = write(d.path(), "t.csv", "id\na\n");
    let (code, _, err) = convert(
        &d.path().join("out-mixed"),
        &[&input, &csv, "--key", "id:S"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("plain JSON documents") && err.contains("t.csv"),
        "{err}"
    );
}

/// `mongoexport` in relaxed mode (the default) and canonical mode: the same collection, the
/// same items. ObjectIds and UUIDs are text, dates the other inputs' timestamps, 64-bit
/// integers and decimals exact numbers, binary data B; `_id` is the key.
#[test]
fn mongoexport_files_in_both_modes() {
    let d = tmp();
    let relaxed = concat!(
        r#"{"_id":{"$oid":"65f1a2b3c4d5e6f708192a3b"},"name":"Ann","age":41,"balance":{"$numberDecimal":"12345678901234567890.123456789"},"big":{"$numberLong":"9223372036854775807"},"ratio":0.25,"created":{"$date":"2024-03-13T10:20:30.456Z"},"old":{"$date":{"$numberLong":"-86400000"}},"pic":{"$binary":{"base64":"AAEC/w==","subType":"00"}},"ref":{"$binary":{"base64":"ASNFZ4mrze/+3LqYdlQyEA==","subType":"04"}},"tags":["a",{"$numberLong":"5"}],"addr":{"city":"Oslo","geo":{"$numberDouble":"59.91"}}}"#,
        "\n",
        r#"{"_id":{"$oid":"65f1a2b3c4d5e6f708192a3c"},"name":"Bob","age":7,"nothing":null}"#,
        "\n",
    );
    let canonical = concat!(
        r#"{"_id":{"$oid":"65f1a2b3c4d5e6f708192a3b"},"name":"Ann","age":{"$numberInt":"41"},"balance":{"$numberDecimal":"12345678901234567890.123456789"},"big":{"$numberLong":"9223372036854775807"},"ratio":{"$numberDouble":"0.25"},"created":{"$date":{"$numberLong":"1710325230456"}},"old":{"$date":{"$numberLong":"-86400000"}},"pic":{"$binary":{"base64":"AAEC/w==","subType":"00"}},"ref":{"$binary":{"base64":"ASNFZ4mrze/+3LqYdlQyEA==","subType":"04"}},"tags":["a",{"$numberLong":"5"}],"addr":{"city":"Oslo","geo":{"$numberDouble":"59.91"}}}"#,
        "\n",
        r#"{"_id":{"$oid":"65f1a2b3c4d5e6f708192a3c"},"name":"Bob","age":{"$numberInt":"7"},"nothing":null}"#,
        "\n",
    );
    let want = vec![
        json!({
            "_id": "65f1a2b3c4d5e6f708192a3b",
            "name": "Ann",
            "age": "41",
            "balance": "12345678901234567890.123456789",
            "big": "9223372036854775807",
            "ratio": "0.25",
            "created": "2024-03-13T10:20:30.456Z",
            "old": "1969-12-31T00:00:00.000Z",
            "pic": "AAEC/w==",
            "ref": "01234567-89ab-cdef-fedc-ba9876543210",
            "tags": ["a", "5"],
            "addr": {"city": "Oslo", "geo": "59.91"},
        }),
        json!({"_id": "65f1a2b3c4d5e6f708192a3c", "name": "Bob", "age": "7"}),
    ];
    for (name, text) in [("relaxed.json", relaxed), ("canonical.json", canonical)] {
        let input = write(d.path(), name, text);
        let out = d.path().join(format!("out-{name}"));
        // Told from the $oid/$date names, no option needed.
        let (code, _, err) = convert(&out, &[&input, "--key", "_id:S"]);
        assert_eq!(code, 0, "{name}: {err}");
        let items: Vec<Value> = check_output(&out).into_iter().map(Value::Object).collect();
        assert_eq!(items, want, "{name}");
        // The binary value is B in the part itself, the UUID S.
        let line = &lines(&out)[0];
        assert!(
            line.contains(r#""pic":{"B":"AAEC/w=="}"#) && line.contains(r#""ref":{"S":"#),
            "{line}"
        );
    }
    // Epoch timestamps as for every input; a date as a sort key.
    let input = write(d.path(), "c.json", canonical);
    let out = d.path().join("out-epoch");
    let (code, _, err) = convert(
        &out,
        &[
            &input,
            "--key",
            "_id:S",
            "--sort-key",
            "created:N",
            "--timestamps",
            "epoch-ms",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let items = check_output(&out);
    assert_eq!(items.len(), 1, "Bob has no created: K001");
    assert_eq!(items[0]["created"], "1710325230456");
    assert_eq!(items[0]["old"], "-86400000");
    // --json-dialect plain keeps the wrappers as maps, so an ObjectId is no S key.
    let out = d.path().join("out-plain");
    let (code, s, err) = convert(&out, &[&input, "--key", "_id:S", "--json-dialect", "plain"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(s["itemsWritten"], 0);
    assert!(rejects(&out).iter().all(|r| r["code"] == "K002"));
    let out = d.path().join("out-plain-ok");
    let (code, _, err) = convert(
        &out,
        &[&input, "--key", "name:S", "--json-dialect", "plain"],
    );
    assert_eq!(code, 0, "{err}");
    let items = check_output(&out);
    assert_eq!(
        Value::Object(items[1].clone())["age"],
        json!({"$numberInt": "7"})
    );
}

/// A map file whose entity types come from JSON Lines and CSV: each entity's documents or rows
/// shaped by its own section, in one table.
#[test]
fn map_files_take_json_entities() {
    let d = tmp();
    write(
        d.path(),
        "events.jsonl",
        concat!(
            r#"{"user":{"id":7},"at":"2024-05-01T10:00:00Z","kind":"login","meta":{"ip":"10.0.0.1"}}"#,
            "\n",
            r#"{"user":{"id":8},"at":"2024-05-02T11:00:00Z","kind":"logout"}"#,
            "\n",
        ),
    );
    write(d.path(), "users.csv", "id,email\n7,a@x.com\n");
    let map = write(
        d.path(),
        "app.toml",
        r#"
[table]
key = "PK:S"
sort_key = "SK:S"
ttl = "expires"

[entity.user]
inputs = ["users.csv"]
key = "USER#{id}"
sort_key = "PROFILE"

[entity.event]
inputs = ["events.jsonl"]
key = "USER#{user.id}"
sort_key = "EVENT#{at:%Y%m%d%H%M%S}"
set = { type = "Event" }
ttl = "at+30d"
"#,
    );
    let out = d.path().join("out");
    let (code, s, err) = convert(&out, &["--map", &map]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["itemsWritten"], 3, "{s}");
    let items = check_output(&out);
    let login = items
        .iter()
        .find(|i| i["SK"] == "EVENT#20240501100000")
        .unwrap();
    assert_eq!(
        Value::Object(login.clone()),
        json!({
            "PK": "USER#7",
            "SK": "EVENT#20240501100000",
            "type": "Event",
            "user": {"id": "7"},
            "at": "2024-05-01T10:00:00Z",
            "kind": "login",
            "meta": {"ip": "10.0.0.1"},
            "expires": (1_714_557_600 + 30 * 86_400).to_string(),
        })
    );
    assert!(items
        .iter()
        .any(|i| i["PK"] == "USER#7" && i["SK"] == "PROFILE"));
}
