//! Single-table design through `prep convert`: key templates, --set, --ttl, --select, --drop,
//! --rename; every computed value read back from the parts with an independent parser, every
//! rejected row with its rule code, every bad option refused before a row is read.

mod common;

use arrow_array::builder::{StringBuilder, StructBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, Date32Array, Decimal128Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use common::*;
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn by(items: &[Map<String, Value>], attr: &str, value: &str) -> Map<String, Value> {
    items
        .iter()
        .find(|i| i.get(attr).and_then(Value::as_str) == Some(value))
        .unwrap_or_else(|| panic!("no item with {attr} = {value}: {items:?}"))
        .clone()
}

const ORDERS: &str = "order_id,customer_id,created,total,email,note
981,42,2024-05-01T10:00:00Z,19.90,a@x.com,hi
9,42,2024-04-01T10:00:00+02:00,5,b@x.com,
10,,2024-04-02T10:00:00Z,5,c@x.com,x
11,43,not a date,1.5,d@x.com,y
12,44,2024-04-03,7,,z
";

/// The orders of a single-table design from CSV: composite keys, an overloaded GSI key, a
/// constant type, a computed number, a TTL, a dropped and a renamed column.
#[test]
fn csv_rows_become_single_table_items() {
    let d = tmp();
    let input = write(d.path(), "orders.csv", ORDERS);
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(
        &out,
        &[
            &input,
            "--key",
            "PK=CUSTOMER#{customer_id}",
            "--sort-key",
            "SK=ORDER#{created:%Y-%m-%d}#{order_id:06}",
            "--gsi",
            "GSI1=GSI1PK",
            "--set",
            "GSI1PK=ORDER#{order_id}",
            "--set",
            "type=Order",
            "--set",
            "cents:N={order_id}00",
            "--set",
            "braces={{{customer_id}}}",
            "--ttl",
            "expires=created+90d",
            "--drop",
            "note",
            "--rename",
            "email=mail",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["rowsRead"], 5);
    assert_eq!(summary["itemsWritten"], 3);
    assert_eq!(summary["rowsRejected"], 2);
    assert_eq!(summary["rejectsByCode"], json!({"M001": 1, "M002": 1}));
    let items = check_output(&out);
    let a = by(&items, "SK", "ORDER#2024-05-01#000981");
    assert_eq!(
        Value::Object(a),
        json!({
            "PK": "CUSTOMER#42", "SK": "ORDER#2024-05-01#000981", "order_id": "981",
            "customer_id": "42", "created": "2024-05-01T10:00:00Z", "total": "19.9",
            "mail": "a@x.com", "GSI1PK": "ORDER#981", "type": "Order", "cents": "98100",
            "braces": "{42}", "expires": "1722333600",
        })
    );
    // An offset in the text is an instant: 10:00+02:00 is 08:00 UTC, the same day.
    let b = by(&items, "GSI1PK", "ORDER#9");
    assert_eq!(b["SK"], "ORDER#2024-04-01#000009");
    assert_eq!(b["expires"], (1_711_958_400i64 + 90 * 86_400).to_string());
    assert!(!b.contains_key("note") && !b.contains_key("email"));
    // A date alone is midnight UTC; an empty email is no attribute (nulls are left out).
    let c = by(&items, "GSI1PK", "ORDER#12");
    assert_eq!(c["SK"], "ORDER#2024-04-03#000012");
    assert_eq!(c["expires"], (1_712_102_400i64 + 90 * 86_400).to_string());
    assert!(!c.contains_key("mail"));
    let r = rejects(&out);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[0]["code"].as_str(), r[0]["row"].as_u64()),
        (Some("M001"), Some(3))
    );
    let m = r[0]["message"].as_str().unwrap();
    assert!(
        m.contains("PK") && m.contains("customer_id") && m.contains("null"),
        "{m}"
    );
    // The values of a rejected row are the row as read, before shaping.
    assert_eq!(r[0]["values"]["note"], "x");
    assert_eq!(r[1]["code"], "M002");
    assert!(r[1]["message"].as_str().unwrap().contains("not a date"));
    // The key schema of the run: computed keys are S.
    assert_eq!(summary["keySchema"]["partitionKey"]["type"], "S");
    assert!(
        summary["warnings"].as_array().unwrap().is_empty(),
        "{summary}"
    );
}

/// A Parquet file with typed columns: integers padded, decimals exact, timestamps with a zone
/// formatted in UTC, dates, struct fields, and the rows whose values cannot be rendered.
#[test]
fn typed_columns_render_as_prep_writes_them() {
    let d = tmp();
    let address = Fields::from(vec![
        Field::new("city", DataType::Utf8, true),
        Field::new("zip", DataType::Utf8, true),
    ]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("price", DataType::Decimal128(12, 2), true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("America/New_York".into())),
            true,
        ),
        Field::new("day", DataType::Date32, true),
        Field::new("address", DataType::Struct(address.clone()), true),
        Field::new("blob", DataType::Binary, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let mut sb = StructBuilder::from_fields(address, 4);
    for (city, zip, valid) in [
        (Some("Zürich"), Some("8001"), true),
        (Some("Oslo"), None, true),
        (None, None, false),
        (Some("Lyon"), Some("69001"), true),
    ] {
        sb.field_builder::<StringBuilder>(0)
            .unwrap()
            .append_option(city);
        sb.field_builder::<StringBuilder>(1)
            .unwrap()
            .append_option(zip);
        sb.append(valid);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![
            Some(7),
            Some(-3),
            Some(12345678901),
            Some(4),
        ])),
        Arc::new(
            Decimal128Array::from(vec![Some(1990), Some(500), Some(-1), Some(0)])
                .with_precision_and_scale(12, 2)
                .unwrap(),
        ),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(1_714_557_600_123_456),
                Some(0),
                Some(-1),
                None,
            ])
            .with_timezone("America/New_York"),
        ),
        Arc::new(Date32Array::from(vec![
            Some(19_844),
            Some(0),
            Some(-1),
            Some(1),
        ])),
        Arc::new(sb.finish()),
        Arc::new(BinaryArray::from_opt_vec(vec![
            Some(b"x"),
            None,
            None,
            None,
        ])),
        Arc::new(arrow_array::StringArray::from(vec!["a", "b", "c", "d"])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let path = d.path().join("t.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(
        &out,
        &[
            path.to_str().unwrap(),
            "--key",
            "PK=ITEM#{id:05}",
            "--set",
            "price_text=${price}",
            "--set",
            "when={at:%F %T.%6f}|{at}",
            "--set",
            "doy={day:%Y/%j}|{day}",
            "--set",
            "where={address.city}-{address.zip}",
            "--set",
            "price_again:N={price}",
            "--select",
            "id,price",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let items = check_output(&out);
    assert_eq!(items.len(), 1, "{summary}");
    assert_eq!(
        Value::Object(items[0].clone()),
        json!({
            "id": "7", "price": "19.9", "PK": "ITEM#00007", "price_text": "$19.9",
            "when": "2024-05-01 10:00:00.123456|2024-05-01T10:00:00.123456Z",
            "doy": "2024/122|2024-05-01", "where": "Zürich-8001", "price_again": "19.9",
        })
    );
    let r = rejects(&out);
    let got: Vec<(u64, &str)> = r
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    // Row 2: zip is null inside a present struct; row 3: the struct is null; row 4: no time.
    assert_eq!(got, vec![(2, "M001"), (3, "M001"), (4, "M001")], "{r:?}");
    assert!(r[0]["message"].as_str().unwrap().contains("address.zip"));
    // The sign counts in the padded width; wider values are written whole.
    let (_, _, _) = convert(
        &d.path().join("out2"),
        &[
            path.to_str().unwrap(),
            "--key",
            "PK={id:05}",
            "--select",
            "id",
        ],
    );
    let pks: Vec<String> = check_output(&d.path().join("out2"))
        .iter()
        .map(|i| i["PK"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pks, ["00007", "-0003", "12345678901", "00004"]);
    // Every column passed on as the reader hands it over (Parquet's text comes as views).
    let (code, summary, stderr) = convert(
        &d.path().join("out4"),
        &[
            path.to_str().unwrap(),
            "--key",
            "PK={id:05}",
            "--set",
            "n={address.city}",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["itemsWritten"], 3, "{summary}");
    let items = check_output(&d.path().join("out4"));
    assert_eq!(
        items[0]["address"],
        json!({"city": "Zürich", "zip": "8001"})
    );
    assert_eq!(items[0]["name"], "a");
    // A binary column cannot be part of a template: refused before any row is read.
    let o = prep()
        .args([
            "convert",
            path.to_str().unwrap(),
            "--key",
            "PK=B#{blob}",
            "--out",
        ])
        .arg(d.path().join("out3"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("binary") && e.contains("{blob}"), "{e}");
    assert!(!d.path().join("out3").join("manifest-files.json").exists());
}

/// Options that cannot work exit 2 before any row is read, naming what is wrong and what to
/// write instead.
#[test]
fn bad_shaping_options_are_refused_before_reading() {
    let d = tmp();
    let input = write(d.path(), "orders.csv", ORDERS);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--key", "PK=CUSTOMER#{customer}"],
            &["\"customer\"", "did you mean", "customer_id"],
        ),
        (&["--key", "id:N=X#{order_id}"], &["type S"]),
        (
            &["--key", "order_id", "--set", "x={order_id"],
            &["no closing"],
        ),
        (&["--key", "order_id", "--set", "x=a}b"], &["'}}'"]),
        (
            &["--key", "order_id", "--set", "x={order_id:8}"],
            &["{order_id:08}"],
        ),
        (
            &["--key", "order_id", "--set", "x={created:%Q}"],
            &["%Q", "%Y"],
        ),
        (&["--key", "order_id", "--set", "x:Q=1"], &["not S or N"]),
        (
            &["--key", "order_id", "--set", "x=1", "--set", "x=2"],
            &["computed twice"],
        ),
        (&["--key", "PK=A", "--set", "PK=B"], &["computed twice"]),
        (
            &["--key", "order_id", "--rename", "email=note"],
            &["both make attribute \"note\""],
        ),
        (
            &["--key", "order_id", "--rename", "email=x", "--set", "x=1"],
            &["--rename email=x"],
        ),
        (
            &["--key", "order_id", "--rename", "mail=x"],
            &["--rename", "\"mail\"", "email"],
        ),
        (
            &["--key", "order_id", "--select", "order_id,totl"],
            &["--select", "\"totl\"", "total"],
        ),
        (
            &["--key", "order_id", "--drop", "nope"],
            &["--drop", "\"nope\""],
        ),
        (
            &[
                "--key", "order_id", "--select", "order_id", "--drop", "note",
            ],
            &["--select and --drop"],
        ),
        (
            &["--key", "order_id", "--select", "total"],
            &["key attribute \"order_id\""],
        ),
        (
            &["--key", "order_id", "--ttl", "exp=creatd+90d"],
            &["\"creatd\"", "created"],
        ),
        (
            &["--key", "order_id", "--ttl", "exp=created+90x"],
            &["duration"],
        ),
        (
            &["--key", "order_id", "--ttl", "exp=created:hours"],
            &["not s, ms, us or ns"],
        ),
        (
            &["--key", "order_id", "--ttl", "expiry"],
            &["no attribute \"expiry\""],
        ),
        (
            &["--key", "order_id", "--rename", "note=x", "--drop", "note"],
            &["left out"],
        ),
    ];
    for (args, wants) in cases {
        let out = d.path().join("out");
        let o = prep()
            .arg("convert")
            .arg(&input)
            .args(*args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        for w in *wants {
            assert!(e.contains(w), "{args:?}: {w:?} not in {e}");
        }
        assert!(!out.join("manifest-files.json").exists(), "{args:?}");
        let _ = std::fs::remove_dir_all(&out);
    }
    // Templates are for tables: item inputs and the commands that read items refuse them.
    let items = write(
        d.path(),
        "items.json",
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n",
    );
    let o = prep()
        .args(["convert", &items, "--key", "pk", "--set", "x=1", "--out"])
        .arg(d.path().join("o2"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CSV, Parquet and Arrow"));
    let o = prep()
        .args(["validate", &items, "--key", "PK=X#{pk}"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("prep convert"));
}

/// Computed keys go through every key rule: sizes, duplicates across rows, and the sort-key
/// padding warning.
#[test]
fn computed_keys_meet_the_key_rules() {
    let d = tmp();
    let long = "x".repeat(2044);
    let body = format!("id,kind,name\n1,a,{long}\n2,a,short\n3,b,dup\n3,b,dup\n10,b,ten\n");
    let input = write(d.path(), "t.csv", &body);
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(
        &out,
        &[
            &input,
            "--key",
            "PK=NAME#{name}",
            "--sort-key",
            "SK=N#{id}",
            "--duplicates",
            "error",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["rejectsByCode"], json!({"K004": 1}), "{summary}");
    assert_eq!(summary["duplicateItems"], 1);
    let dups = read_jsonl(&out.join("duplicates.jsonl"));
    assert_eq!(dups[0]["key"], json!({"PK": "NAME#dup", "SK": "N#3"}));
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().unwrap();
    assert!(w.starts_with("M003") && w.contains("{id:010}"), "{w}");
    // Padded, there is no warning.
    let (_, summary, _) = convert(
        &d.path().join("out2"),
        &[
            &input,
            "--key",
            "PK=NAME#{name}",
            "--sort-key",
            "SK=N#{id:04}",
        ],
    );
    assert!(
        summary["warnings"].as_array().unwrap().is_empty(),
        "{summary}"
    );
}

/// A declared TTL attribute is checked: strings, milliseconds and negative values are rejected
/// with their codes; `COLUMN:ms` reads milliseconds.
#[test]
fn ttl_values_that_dynamodb_would_ignore_are_rejected() {
    let d = tmp();
    let body = "id,exp,ms,iso\n1,1893456000,1893456000000,2030-01-01T00:00:00Z\n2,1893456000000,1893456000123,2030-01-01\n3,-5,0,1969-12-31\n4,,,\n";
    let input = write(d.path(), "t.csv", body);
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(&out, &[&input, "--key", "id", "--ttl", "exp"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        summary["rejectsByCode"],
        json!({"E002": 1, "E003": 1}),
        "{summary}"
    );
    let r = rejects(&out);
    assert!(r[0]["message"].as_str().unwrap().contains("milliseconds"));
    // A string attribute is no TTL at all.
    let out = d.path().join("out2");
    let (code, summary, _) = convert(&out, &[&input, "--key", "id", "--ttl", "iso"]);
    assert_eq!(code, 1);
    assert_eq!(summary["rejectsByCode"], json!({"E001": 3}), "{summary}");
    // Computed from milliseconds and from ISO text; a row without a value has no TTL.
    let out = d.path().join("out3");
    let (code, summary, stderr) = convert(
        &out,
        &[
            &input,
            "--key",
            "id",
            "--ttl",
            "ttl=ms:ms+12h",
            "--set",
            "t2:N={iso:%s}",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["rejectsByCode"], json!({"M001": 1}), "{summary}");
    let items = check_output(&out);
    assert_eq!(by(&items, "id", "1")["ttl"], "1893499200");
    assert_eq!(by(&items, "id", "2")["ttl"], "1893499200");
    assert_eq!(by(&items, "id", "3")["ttl"], "43200");
    assert_eq!(by(&items, "id", "1")["t2"], "1893456000");
    // A number template whose text is no number is rejected as a value that does not fit its
    // type (V005), as a CSV cell under --type N is.
    let out = d.path().join("out5");
    let (code, summary, _) = convert(&out, &[&input, "--key", "id", "--set", "n:N={iso}"]);
    assert_eq!(code, 1);
    assert_eq!(
        summary["rejectsByCode"],
        json!({"M001": 1, "V005": 3}),
        "{summary}"
    );
    let out = d.path().join("out4");
    let (_, summary, _) = convert(&out, &[&input, "--key", "id", "--ttl", "ttl=iso-1d"]);
    assert_eq!(summary["rejectsByCode"], json!({"E003": 1}), "{summary}");
    let items = check_output(&out);
    assert_eq!(by(&items, "id", "1")["ttl"], "1893369600");
    assert!(!by(&items, "id", "4").contains_key("ttl"));
}

/// `prep validate --ttl`: the values DynamoDB's TTL would ignore in item files, and a CSV
/// import's TTL column (every non-key CSV column imports as a string).
#[test]
fn validate_reports_ttl_values_the_import_would_ignore() {
    let d = tmp();
    let items = write(
        d.path(),
        "t.json",
        concat!(
            "{\"Item\":{\"pk\":{\"S\":\"a\"},\"exp\":{\"N\":\"1893456000\"}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"b\"},\"exp\":{\"N\":\"1893456000000\"}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"c\"},\"exp\":{\"S\":\"2030-01-01\"}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"d\"},\"exp\":{\"N\":\"-3\"}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"e\"},\"expires_note\":{\"S\":\"exp\"}}}\n",
        ),
    );
    let (code, findings, summary) = validate(&[&items, "--key", "pk", "--ttl", "exp"]);
    assert_eq!(code, 1);
    let got: Vec<(u64, &str)> = findings
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![(2, "E002"), (3, "E001"), (4, "E003")],
        "{findings:?}"
    );
    assert_eq!(summary["errors"], 3, "{summary}");
    // Without --ttl there is nothing to say.
    let (code, findings, _) = validate(&[&items, "--key", "pk"]);
    assert_eq!((code, findings.len()), (0, 0));
    let csv = write(d.path(), "t.csv", "pk,exp\na,1893456000\n");
    let (code, findings, _) = validate(&[&csv, "--key", "pk", "--ttl", "exp"]);
    assert_eq!(code, 1);
    assert!(findings.iter().any(|f| f["code"] == "E001"), "{findings:?}");
    // What prep convert --ttl writes passes.
    let out = d.path().join("out");
    let (code, _, stderr) = convert(&out, &[&csv, "--key", "pk", "--ttl", "exp"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, findings, _) = validate(&[out.to_str().unwrap(), "--ttl", "exp"]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:?}");
}

/// The shop of fixtures/single-table: three entity types from CSV and Parquet into one table,
/// each with its templates; counts per entity, the entity in rejects and duplicates, the sparse
/// GSI, the TTL; and the output passes `prep validate --ttl`.
#[test]
fn a_map_puts_several_entity_types_into_one_table() {
    let d = tmp();
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(&out, &["--map", &fixture("single-table/shop.toml")]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        summary["entities"],
        json!([
            {"name": "customer", "rowsRead": 40, "itemsWritten": 40, "rowsRejected": 0},
            {"name": "order", "rowsRead": 120, "itemsWritten": 119, "rowsRejected": 1},
            {"name": "line", "rowsRead": 241, "itemsWritten": 241, "rowsRejected": 0},
        ]),
        "{summary}"
    );
    assert_eq!(summary["rowsRead"], 401);
    assert!(
        summary["warnings"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    let items = check_output(&out);
    let customer = by(&items, "PK", "CUSTOMER#7");
    assert_eq!(customer["SK"], "PROFILE");
    assert_eq!(customer["GSI1PK"], "EMAIL#c7@example.com");
    assert_eq!(customer["GSI1SK"], "CUSTOMER#000007");
    assert!(customer.contains_key("signedUp") && !customer.contains_key("expires"));
    let order = by(&items, "orderNo", "1000");
    assert_eq!(order["PK"], "CUSTOMER#1");
    assert_eq!(order["SK"], "ORDER#2024-01-01#00001000");
    assert_eq!(order["GSI1PK"], "STATUS#NEW");
    assert_eq!(order["GSI1SK"], "2024-01-01T00:00:00.000Z");
    assert_eq!(order["total"], "10");
    assert_eq!(
        order["expires"],
        (1_704_067_200i64 + 730 * 86_400).to_string()
    );
    assert!(!order.contains_key("customer_id"));
    let line = by(&items, "SK", "LINE#0002");
    assert!(line["PK"].as_str().unwrap().starts_with("ORDER#0000"));
    assert!(line.contains_key("quantity") && !line.contains_key("GSI1PK"));
    let r = read_jsonl(&out.join("rejects.jsonl"));
    assert_eq!(
        (r[0]["entity"].as_str(), r[0]["code"].as_str()),
        (Some("order"), Some("M001"))
    );
    let dups = read_jsonl(&out.join("duplicates.jsonl"));
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["first"]["entity"], "line");
    // The table of the map: its name, the GSI with its key types, and the manifests' inputs.
    let table = read_json(&out.join("import-table.json"));
    let tcp = &table["TableCreationParameters"];
    assert_eq!(tcp["TableName"], "shop");
    assert_eq!(tcp["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(tcp["GlobalSecondaryIndexes"][0]["IndexName"], "GSI1");
    let manifest = read_json(&out.join("manifest-summary.json"));
    let entities: Vec<&str> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["entity"].as_str().unwrap())
        .collect();
    assert_eq!(entities, ["customer", "order", "line"]);
    let (code, findings, _) = validate(&[out.to_str().unwrap(), "--ttl", "expires"]);
    assert_eq!(code, 0);
    assert!(findings.iter().all(|f| f["code"] == "D001"), "{findings:?}");
}

/// Two entity types that make the same primary key (the classic single-table bug) are
/// duplicates; a key attribute typed differently by two entities, and map files that do not
/// parse or name unknown options, exit 2 saying where.
#[test]
fn map_entities_share_one_key_space_and_bad_maps_are_refused() {
    let d = tmp();
    write(d.path(), "a.csv", "id,name\n1,x\n2,y\n");
    write(d.path(), "b.csv", "ref,kind\n2,z\n3,w\n");
    let map = write(
        d.path(),
        "m.toml",
        "[table]\nkey = \"PK\"\nbilling_mode = \"PROVISIONED\"\nread_capacity = 3\nwrite_capacity = 4\n\n[entity.a]\ninputs = [\"a.csv\"]\nkey = \"ITEM#{id}\"\n\n[entity.b]\ninputs = [\"b.csv\"]\nkey = \"ITEM#{ref}\"\n",
    );
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(
        &out,
        &["--map", &map, "--duplicates", "error", "--threads", "1"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["duplicateItems"], 1, "{summary}");
    let dups = read_jsonl(&out.join("duplicates.jsonl"));
    assert_eq!(dups[0]["key"], json!({"PK": "ITEM#2"}));
    assert_eq!(
        (
            dups[0]["first"]["entity"].as_str(),
            dups[0]["duplicate"]["entity"].as_str()
        ),
        (Some("a"), Some("b"))
    );
    let example = summary["duplicateExamples"][0].as_str().unwrap();
    assert!(
        example.contains("a ") && example.contains("b "),
        "{example}"
    );
    let tcp = &read_json(&out.join("import-table.json"))["TableCreationParameters"];
    assert_eq!(tcp["BillingMode"], "PROVISIONED");
    assert_eq!(
        tcp["ProvisionedThroughput"],
        json!({"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    );

    let bad: &[(&str, &[&str])] = &[
        ("[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"a.csv\"]\nkey = \"ITEM#{nme}\"\n", &["[entity.a]", "\"nme\"", "name"]),
        ("[table]\nkey = \"id\"\n[entity.a]\ninputs = [\"a.csv\"]\n[entity.b]\ninputs = [\"b.csv\"]\nkey = \"X\"\n", &["key attribute", "in [entity.a]", "in [entity.b]"]),
        ("[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"a.csv\"]\nkye = \"x\"\n", &["line 5", "kye", "inputs, key, sort_key"]),
        ("[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"none*.csv\"]\nkey = \"x\"\n", &["[entity.a]", "matches no file"]),
    ];
    for (text, wants) in bad {
        let map = write(d.path(), "bad.toml", text);
        let o = prep()
            .args(["convert", "--map", &map, "--out"])
            .arg(d.path().join("o"))
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {e}");
        for w in *wants {
            assert!(e.contains(w), "{text}: {w:?} not in {e}");
        }
    }
    // The map says the keys and inputs: the same on the command line is refused.
    let o = prep()
        .args(["convert", "--map", &map, "--key", "PK", "--out"])
        .arg(d.path().join("o2"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("leave out --key"));
}

/// A map's run in shards, then merged: the items, counts per entity and duplicates of the
/// single run.
#[test]
fn a_map_converts_in_shards_and_merges() {
    let d = tmp();
    let single = d.path().join("single");
    let map = fixture("single-table/shop.toml");
    let (_, want, _) = convert(&single, &["--map", &map]);
    let out = d.path().join("sharded");
    for i in 0..3 {
        let (code, _, stderr) = convert(&out, &["--map", &map, "--shard", &format!("{i}/3")]);
        assert!(code <= 1, "{stderr}");
    }
    let o = prep()
        .arg("merge")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        o.status.code().unwrap() <= 1,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let merged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(merged["entities"], want["entities"], "{merged}");
    assert_eq!(merged["duplicateItems"], want["duplicateItems"]);
    let mut a = lines(&single);
    let mut b = lines(&out);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let dups = read_jsonl(&out.join("duplicates.jsonl"));
    assert_eq!(dups[0]["duplicate"]["entity"], "line");
}

/// A map's table with a multi-attribute GSI (ImportTable's 2025 index keys): the index in
/// import-table.json with every attribute typed, and its attributes checked on the items of the
/// entity types that have them.
#[test]
fn a_map_declares_multi_attribute_index_keys() {
    let d = tmp();
    write(
        d.path(),
        "shops.csv",
        "id,country,city,year,month\n1,DE,Berlin,2024,5\n2,FR,,2024,6\n3,US,NYC,x,7\n",
    );
    write(d.path(), "notes.csv", "id,text\n1,hello\n");
    let map = write(
        d.path(),
        "m.toml",
        "[table]\nkey = \"PK:S\"\ngsi = [\"byPlace=country:S+city:S,year:N+month:N\"]\n\n[entity.shop]\ninputs = [\"shops.csv\"]\nkey = \"SHOP#{id}\"\n\n[entity.note]\ninputs = [\"notes.csv\"]\nkey = \"NOTE#{id}\"\n",
    );
    let out = d.path().join("out");
    let (code, summary, stderr) = convert(&out, &["--map", &map]);
    assert_eq!(code, 1, "{stderr}");
    // An empty city is no attribute (not indexed); a year that is no number is K006.
    assert_eq!(summary["rejectsByCode"], json!({"K006": 1}), "{summary}");
    assert_eq!(summary["itemsWritten"], 3);
    let tcp = &read_json(&out.join("import-table.json"))["TableCreationParameters"];
    let g = &tcp["GlobalSecondaryIndexes"][0];
    assert_eq!(
        g["KeySchema"],
        json!([
            {"AttributeName": "country", "KeyType": "HASH"},
            {"AttributeName": "city", "KeyType": "HASH"},
            {"AttributeName": "year", "KeyType": "RANGE"},
            {"AttributeName": "month", "KeyType": "RANGE"},
        ])
    );
    let types: Vec<(String, String)> = tcp["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().into(),
                a["AttributeType"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        types.contains(&("year".into(), "N".into()))
            && types.contains(&("city".into(), "S".into())),
        "{types:?}"
    );
    let (code, findings, _) = validate(&[out.to_str().unwrap()]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:?}");
}
