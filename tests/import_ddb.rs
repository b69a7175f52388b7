//! `prep import` against moto's DynamoDB ImportTable (and S3), started on 127.0.0.1 per test.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::servers::*;
use common::*;
use serde_json::Value;
use std::path::Path;

fn to_plain(v: &AttributeValue) -> Value {
    use base64::Engine;
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => Value::String(canon(n)),
        AttributeValue::B(b) => b64(b.as_ref()),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(l) => Value::Array(l.iter().map(to_plain).collect()),
        AttributeValue::M(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), to_plain(v))).collect())
        }
        AttributeValue::Ss(v) => Value::Array(v.iter().map(|s| Value::String(s.clone())).collect()),
        AttributeValue::Ns(v) => Value::Array(v.iter().map(|s| Value::String(canon(s))).collect()),
        AttributeValue::Bs(v) => Value::Array(v.iter().map(|b| b64(b.as_ref())).collect()),
        _ => panic!("unknown attribute value"),
    }
}

fn scan(rt: &tokio::runtime::Runtime, url: &str, table: &str) -> Vec<Value> {
    let mut items: Vec<Value> =
        rt.block_on(async {
            let mut out = Vec::new();
            let mut start = None;
            loop {
                let r = dynamodb(url)
                    .scan()
                    .table_name(table)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .unwrap();
                out.extend(r.items().iter().map(|i| {
                    Value::Object(i.iter().map(|(k, v)| (k.clone(), to_plain(v))).collect())
                }));
                match r.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
            out
        });
    items.sort_by_key(|v| v.to_string());
    items
}

fn written(out: &Path) -> Vec<Value> {
    let mut v: Vec<Value> = lines(out)
        .iter()
        .map(|l| Value::Object(item(l).iter().map(|(k, v)| (k.clone(), plain(v))).collect()))
        .collect();
    v.sort_by_key(|v| v.to_string());
    v
}

/// Items equal, except strings with JSON escapes, which moto's lenient parser does not undo.
fn assert_same_items(scanned: &[Value], written: &[Value]) {
    assert_eq!(scanned.len(), written.len());
    let by_key = |v: &[Value]| -> std::collections::BTreeMap<String, Value> {
        v.iter().map(|x| (x["id"].to_string(), x.clone())).collect()
    };
    let (s, w) = (by_key(scanned), by_key(written));
    for (k, wv) in &w {
        let sv = s.get(k).unwrap_or_else(|| panic!("{k} not imported"));
        for (a, x) in wv.as_object().unwrap() {
            let escaped = x
                .as_str()
                .is_some_and(|t| t.chars().any(|c| c == '"' || c == '\\' || c < ' '));
            if !escaped {
                assert_eq!(&sv[a], x, "{k}.{a}");
            }
        }
        assert_eq!(
            sv.as_object().unwrap().len(),
            wv.as_object().unwrap().len(),
            "{k}"
        );
    }
}

fn dataset(dir: &Path) -> String {
    let mut body = String::from("id,n,price,flag,tags,note\n");
    for i in 0..300 {
        body.push_str(&format!(
            "id{i:04},{i},{}.{:02},{},\"a,b{}\",note {i}\n",
            i * 3,
            i % 100,
            i % 2 == 0,
            i % 7
        ));
    }
    write(dir, "in.csv", &body)
}

fn setup(moto: &Moto, dir: &Path, compress: &str, table: &str, prefix: &str) -> std::path::PathBuf {
    let out = dir.join(format!("out-{table}"));
    let input = dataset(dir);
    let (code, _, err) = convert(
        &out,
        &[
            &input,
            "--key",
            "id",
            "--type",
            "tags=SS",
            "--compress",
            compress,
            "--table",
            table,
        ],
    );
    assert_eq!(code, 0, "{err}");
    upload(moto, &out, &format!("s3://bkt/{prefix}/"));
    out
}

/// `prep upload OUT URL` into the moto server's S3.
fn upload(moto: &Moto, out: &Path, url: &str) {
    let o = prep_aws()
        .args([
            "upload",
            out.to_str().unwrap(),
            url,
            "--endpoint-url",
            &moto.url(),
            "--path-style",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn import(moto: &Moto, args: &[&str]) -> (i32, String, String) {
    let o = prep_aws()
        .arg("import")
        .args(args)
        .args([
            "--endpoint-url",
            &moto.url(),
            "--path-style",
            "--poll-interval",
            "0.1",
        ])
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

#[test]
fn convert_upload_import_scan_gzip_and_none() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    for (compress, table) in [("gzip", "typed_gzip"), ("none", "typed_none")] {
        let out = setup(&moto, d.path(), compress, table, table);
        let (code, stdout, err) = import(
            &moto,
            &[
                out.to_str().unwrap(),
                "--json",
                "--pitr",
                "--stream-view-type",
                "NEW_IMAGE",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let s: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(s["importStatus"], "COMPLETED");
        assert_eq!(s["importedItemCount"], 300);
        assert_eq!(s["expectedItems"], 300);
        assert_eq!(s["reconciled"], true);
        assert_eq!(s["followUpCommands"].as_array().unwrap().len(), 2);
        assert_same_items(&scan(&rt, &moto.url(), table), &written(&out));
    }
    // From the uploaded manifests in S3, with another table name.
    let (code, _, err) = import(&moto, &["s3://bkt/typed_gzip/", "--table", "from_s3"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("ImportStatus COMPLETED") && err.contains("reconciled"),
        "{err}"
    );
    assert_eq!(scan(&rt, &moto.url(), "from_s3").len(), 300);
}

#[test]
fn a_bad_item_fails_the_import_with_counts_and_hints() {
    let Some((moto, _rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = d.path().join("out");
    let input = dataset(d.path());
    let (code, _, _) = convert(
        &out,
        &[
            &input,
            "--key",
            "id",
            "--compress",
            "none",
            "--table",
            "bad_one",
        ],
    );
    assert_eq!(code, 0);
    // Inject an item with the wrong key type after convert, and re-seal the manifest so the
    // upload accepts it (as if the file had been edited by hand).
    let part = out.join("data/part-00000.json");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.extend_from_slice(b"{\"Item\":{\"id\":{\"N\":\"1\"}}}\n");
    std::fs::write(&part, &bytes).unwrap();
    use base64::Engine;
    use md5::Digest;
    let mf = out.join("manifest-files.json");
    let mut line: Value = serde_json::from_str(
        std::fs::read_to_string(&mf)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    line["storedBytes"] = bytes.len().into();
    line["uncompressedBytes"] = bytes.len().into();
    line["itemCount"] = (line["itemCount"].as_u64().unwrap() + 1).into();
    line["md5Checksum"] = base64::engine::general_purpose::STANDARD
        .encode(md5::Md5::digest(&bytes))
        .into();
    line["crc64nvme"] = crc64nvme(&bytes).into();
    std::fs::write(&mf, format!("{line}\n")).unwrap();
    upload(&moto, &out, "s3://bkt/bad/");
    let (code, _, err) = import(&moto, &[out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ErrorCount 1"), "{err}");
    assert!(err.contains("ImportStatus FAILED"), "{err}");
    assert!(
        err.contains("/aws-dynamodb/imports") && err.contains("/error"),
        "{err}"
    );
    assert!(err.contains("delete-table --table-name bad_one"), "{err}");
}

#[test]
fn existing_tables_are_refused_and_dry_run_sends_nothing() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = setup(&moto, d.path(), "gzip", "exists", "ex");
    rt.block_on(
        dynamodb(&moto.url())
            .create_table()
            .table_name("exists")
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type("S".into())
                    .build()
                    .unwrap(),
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type("HASH".into())
                    .build()
                    .unwrap(),
            )
            .billing_mode("PAY_PER_REQUEST".into())
            .send(),
    )
    .unwrap();
    let (code, _, err) = import(&moto, &[out.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already exists") && err.contains("new table"),
        "{err}"
    );
    assert!(
        scan(&rt, &moto.url(), "exists").is_empty(),
        "no import touched it"
    );
    // --dry-run: the request after the pre-flight checks, and no table.
    let (code, stdout, err) = import(
        &moto,
        &[
            out.to_str().unwrap(),
            "--table",
            "dry",
            "--dry-run",
            "--billing-mode",
            "PROVISIONED",
            "--rcu",
            "7",
            "--wcu",
            "9",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let req: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(req["S3BucketSource"]["S3KeyPrefix"], "ex/data/");
    assert_eq!(req["TableCreationParameters"]["TableName"], "dry");
    assert_eq!(
        req["TableCreationParameters"]["ProvisionedThroughput"]["WriteCapacityUnits"],
        9
    );
    let exists = rt
        .block_on(
            dynamodb(&moto.url())
                .describe_table()
                .table_name("dry")
                .send(),
        )
        .is_ok();
    assert!(!exists);
    // A stray object in the data prefix is refused before the import.
    rt.block_on(
        s3(&moto.url())
            .put_object()
            .bucket("bkt")
            .key("ex/data/zz.json")
            .body(b"x".to_vec().into())
            .send(),
    )
    .unwrap();
    let (code, _, err) = import(&moto, &[out.to_str().unwrap(), "--table", "stray"]);
    assert_eq!(code, 2);
    assert!(err.contains("ex/data/zz.json"), "{err}");
    // Not uploaded yet: no S3BucketSource.
    let out2 = d.path().join("not-uploaded");
    convert(&out2, &[&dataset(d.path()), "--key", "id"]);
    let (code, _, err) = import(&moto, &[out2.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("prep upload"), "{err}");
}

#[test]
fn no_wait_then_status() {
    let Some((moto, _rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = setup(&moto, d.path(), "none", "later", "later");
    let (code, stdout, err) = import(
        &moto,
        &[
            out.to_str().unwrap(),
            "--no-wait",
            "--client-token",
            "tok-1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let arn = stdout.trim();
    assert!(
        arn.starts_with("arn:aws:dynamodb:") && arn.contains("/import/"),
        "{arn}"
    );
    assert!(err.contains("prep import --status"), "{err}");
    let (code, stdout, err) = import(&moto, &["--status", arn, "--json"]);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["importStatus"], "COMPLETED");
    assert_eq!(s["importedItemCount"], 300);
    assert_eq!(s["tableName"], "later");
}

#[test]
fn follow_ups_from_a_table_definition() {
    let Some((moto, _rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = setup(&moto, d.path(), "gzip", "defs", "defs");
    let def = write(
        d.path(),
        "describe.json",
        r#"{"Table":{"TableName":"from_def","AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],
            "KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],
            "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"},
            "DeletionProtectionEnabled":true}}"#,
    );
    let (code, stdout, err) = import(
        &moto,
        &[
            out.to_str().unwrap(),
            "--table-def",
            &def,
            "--table",
            "from_def",
            "--json",
            "--tag",
            "team=data",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    let cmds: Vec<&str> = s["followUpCommands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(cmds.len(), 3, "{cmds:?}");
    assert!(cmds[0].contains("StreamViewType=NEW_AND_OLD_IMAGES"));
    assert!(cmds[1].contains("--deletion-protection-enabled"));
    assert!(cmds[2].contains("tag-resource") && cmds[2].contains("Key=team,Value=data"));
}

/// The single-table shop (fixtures/single-table): three entity types converted with a map,
/// uploaded and imported into one table; the table holds every item the parts hold, keyed by
/// PK and SK (the one duplicate key once).
#[test]
fn a_single_table_design_imports_and_scans_back() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = d.path().join("shop");
    // moto reads gzip and plain parts (not zstd).
    let (code, summary, err) = convert(
        &out,
        &[
            "--map",
            &fixture("single-table/shop.toml"),
            "--compress",
            "gzip",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(summary["itemsWritten"], 400);
    upload(&moto, &out, "s3://bkt/shop/");
    let (code, _, err) = import(&moto, &[out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let key = |v: &Value| format!("{}|{}", v["PK"], v["SK"]);
    let scanned: std::collections::BTreeMap<String, Value> = scan(&rt, &moto.url(), "shop")
        .into_iter()
        .map(|v| (key(&v), v))
        .collect();
    // (The key written twice is compared by its key only: the import keeps either item.)
    let written: std::collections::BTreeMap<String, Value> =
        written(&out).into_iter().map(|v| (key(&v), v)).collect();
    assert_eq!(scanned.len(), 399);
    assert_eq!(
        scanned.keys().collect::<Vec<_>>(),
        written.keys().collect::<Vec<_>>()
    );
    for (k, w) in &written {
        if k.contains("LINE#0001") && k.contains("00001005") {
            continue;
        }
        assert_eq!(&scanned[k], w, "{k}");
    }
    let types: std::collections::BTreeSet<&str> = scanned
        .values()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["Customer", "Order", "OrderLine"]
    );
}
