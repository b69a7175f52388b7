//! `prep upload` against a real S3-compatible server (moto in server mode on 127.0.0.1, started
//! here and stopped when each test ends), through the real AWS SDK, with a fault-injecting TCP
//! proxy for retries and interruptions.

mod common;

use common::servers::*;
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What the proxy does to a new connection.
#[derive(Clone, Copy)]
enum Fault {
    /// Close at once, before reading anything.
    Drop,
    /// Read the request head, answer 503 SlowDown, close.
    SlowDown,
    /// Forward both ways.
    Pass,
}

/// A TCP proxy on 127.0.0.1 in front of moto: the first connections get faults, and after
/// `cut_after` bytes forwarded upstream it stops forwarding (the server "dies").
struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: u16, faults: Vec<Fault>, cut_after: Option<u64>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0usize;
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let fault = faults.get(n).copied().unwrap_or(Fault::Pass);
                n += 1;
                let (stop3, sent) = (stop2.clone(), sent.clone());
                std::thread::spawn(move || handle(client, upstream, fault, cut_after, sent, stop3));
            }
        });
        Proxy { port, stop }
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn handle(
    mut client: TcpStream,
    upstream: u16,
    fault: Fault,
    cut_after: Option<u64>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    match fault {
        Fault::Drop => {
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::SlowDown => answer_slow_down(&mut client),
        Fault::Pass => {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let down = std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(Shutdown::Both);
            });
            let mut buf = vec![0u8; 64 * 1024];
            let mut server = server;
            loop {
                let n = match client.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let total = sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                if stop.load(Ordering::SeqCst) || cut_after.is_some_and(|c| total > c) {
                    break;
                }
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = server.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
            let _ = down.join();
        }
    }
}

fn keys(rt: &tokio::runtime::Runtime, url: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let r = rt
        .block_on(
            s3(url)
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .send(),
        )
        .unwrap();
    let mut v: Vec<String> = r
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    v.sort();
    v
}

fn get(rt: &tokio::runtime::Runtime, url: &str, bucket: &str, key: &str) -> Vec<u8> {
    rt.block_on(async {
        let o = s3(url)
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        o.body.collect().await.unwrap().into_bytes().to_vec()
    })
}

/// `prep upload` with the test credentials; returns (exit code, stdout, stderr).
fn upload(out: &Path, dest: &str, endpoint: &str, extra: &[&str]) -> (i32, String, String) {
    let o = prep()
        .args([
            "upload",
            out.to_str().unwrap(),
            dest,
            "--endpoint-url",
            endpoint,
            "--path-style",
            "--region",
            "us-east-1",
        ])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-do-not-print")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        !stdout.contains("test-secret-do-not-print")
            && !stderr.contains("test-secret-do-not-print")
    );
    (o.status.code().unwrap(), stdout, stderr)
}

/// A converted folder with parts of about `mib` MiB each (uncompressed).
fn converted(dir: &Path, rows: usize, part: &str, compress: &str) -> PathBuf {
    let mut body = String::from("pk,n,text\n");
    for i in 0..rows {
        body.push_str(&format!(
            "k{i:07},{i},\"some text {} with, commas\"\n",
            i * 7919 % 10007
        ));
    }
    let input = write(dir, "in.csv", &body);
    let out = dir.join("out");
    let (code, _, err) = convert(
        &out,
        &[
            &input,
            "--key",
            "pk",
            "--compress",
            compress,
            "--part-size",
            part,
        ],
    );
    assert_eq!(code, 0, "{err}");
    out
}

fn local_parts(out: &Path) -> Vec<(String, Vec<u8>)> {
    parts(out)
        .iter()
        .map(|p| {
            (
                format!("data/{}", p.file_name().unwrap().to_str().unwrap()),
                std::fs::read(p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn multipart_round_trip_layout_and_resume_skip() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = converted(d.path(), 300_000, "8MiB", "none");
    let local = local_parts(&out);
    assert!(
        local.len() >= 2 && local[0].1.len() > 6 << 20,
        "parts big enough for multipart"
    );
    let (code, stdout, err) = upload(
        &out,
        "s3://bkt/imports/run1",
        &moto.url(),
        &[
            "--multipart-threshold",
            "5MiB",
            "--multipart-chunksize",
            "5MiB",
            "--concurrency",
            "4",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("aws dynamodb import-table") && stdout.contains("--cli-input-json file://"),
        "{stdout}"
    );
    // Data under data/, manifests beside it.
    let mut want: Vec<String> = local
        .iter()
        .map(|(k, _)| format!("imports/run1/{k}"))
        .collect();
    want.extend(
        [
            "imports/run1/import-table.json",
            "imports/run1/manifest-files.json",
            "imports/run1/manifest-summary.json",
        ]
        .map(String::from),
    );
    want.sort();
    assert_eq!(keys(&rt, &moto.url(), "bkt", "imports/run1/"), want);
    for (k, bytes) in &local {
        assert_eq!(
            &get(&rt, &moto.url(), "bkt", &format!("imports/run1/{k}")),
            bytes,
            "{k}"
        );
    }
    // Each object carries the full-object CRC64-NVME the manifest records (multipart objects
    // included: S3 checked the whole against the parts it assembled), the plain CRC's.
    let files = read_jsonl(&out.join("manifest-files.json"));
    for f in &files {
        let key = f["dataFileS3Key"].as_str().unwrap();
        let bytes = &local.iter().find(|(k, _)| k == key).unwrap().1;
        assert_eq!(f["crc64nvme"], crc64nvme(bytes), "{key}");
        let h = rt
            .block_on(
                s3(&moto.url())
                    .head_object()
                    .bucket("bkt")
                    .key(format!("imports/run1/{key}"))
                    .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                    .send(),
            )
            .unwrap();
        assert_eq!(h.checksum_crc64_nvme(), f["crc64nvme"].as_str(), "{key}");
        if bytes.len() > 5 << 20 {
            // Sent in parts (a single PUT's type the server may leave out).
            assert_eq!(
                h.checksum_type(),
                Some(&aws_sdk_s3::types::ChecksumType::FullObject),
                "{key}"
            );
        }
    }
    // The manifests name the objects; import-table.json gets the bucket source, locally and in S3.
    let files = read_jsonl(&out.join("manifest-files.json"));
    assert!(files.iter().all(|f| f["s3Key"]
        .as_str()
        .unwrap()
        .starts_with("imports/run1/data/")
        && !f["etag"].as_str().unwrap().is_empty()));
    let it = read_json(&out.join("import-table.json"));
    assert_eq!(
        it["S3BucketSource"],
        serde_json::json!({"S3Bucket": "bkt", "S3KeyPrefix": "imports/run1/data/"})
    );
    let remote: Value = serde_json::from_slice(&get(
        &rt,
        &moto.url(),
        "bkt",
        "imports/run1/import-table.json",
    ))
    .unwrap();
    assert_eq!(remote, it);
    // Running again sends nothing.
    let (code, stdout, _) = upload(
        &out,
        "s3://bkt/imports/run1/",
        &moto.url(),
        &[
            "--multipart-threshold",
            "5MiB",
            "--multipart-chunksize",
            "5MiB",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["bytesSent"], 0);
    assert!(s["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["outcome"].as_str().unwrap().starts_with("skipped")));
}

/// A folder written by an earlier version (SHA-256 in its manifest, no CRC64-NVME) still
/// validates and uploads, its parts checked against their SHA-256; a part that no longer
/// matches it is refused by both, naming the digest.
#[test]
fn a_folder_of_an_earlier_version_with_sha256_still_checks_and_uploads() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    use sha2::Digest;
    let out = converted(d.path(), 20_000, "256KiB", "gzip");
    let local = local_parts(&out);
    assert!(local.len() >= 2, "several parts");
    let mf = out.join("manifest-files.json");
    let earlier = |corrupt: bool| {
        let mut text = String::new();
        for (i, mut line) in read_jsonl(&mf).into_iter().enumerate() {
            let key = line["dataFileS3Key"].as_str().unwrap().to_string();
            let bytes = &local.iter().find(|(k, _)| *k == key).unwrap().1;
            let mut sha: String = sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if corrupt && i == 1 {
                sha = sha.replace(&sha[..1], if &sha[..1] == "0" { "1" } else { "0" });
            }
            let o = line.as_object_mut().unwrap();
            o.remove("crc64nvme");
            o.insert("sha256".into(), sha.into());
            text.push_str(&format!("{line}\n"));
        }
        std::fs::write(&mf, text).unwrap();
    };
    earlier(false);
    let validate = |out: &Path| {
        let o = prep()
            .args(["validate", out.to_str().unwrap()])
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8(o.stdout).unwrap(),
        )
    };
    let (code, report) = validate(&out);
    assert_eq!(code, 0, "{report}");
    let (code, _, err) = upload(&out, "s3://bkt/old/", &moto.url(), &[]);
    assert_eq!(code, 0, "{err}");
    for (k, bytes) in &local {
        assert_eq!(
            &get(&rt, &moto.url(), "bkt", &format!("old/{k}")),
            bytes,
            "{k}"
        );
    }
    earlier(true);
    let (code, report) = validate(&out);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("X006") && report.contains("sha256 mismatch"),
        "{report}"
    );
    let (code, _, err) = upload(&out, "s3://bkt/old2/", &moto.url(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("sha256") && err.contains("convert again"),
        "{err}"
    );
    assert!(keys(&rt, &moto.url(), "bkt", "old2/").is_empty());
}

#[test]
fn refusals_before_anything_is_sent_and_dry_run() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = converted(d.path(), 5_000, "64KiB", "gzip");
    // --dry-run lists every object with its size and sends nothing.
    let (code, stdout, err) = upload(&out, "s3://bkt/p/", &moto.url(), &["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    let n_parts = local_parts(&out).len();
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("would upload s3://bkt/p/"))
            .count(),
        n_parts + 3
    );
    assert!(stdout.contains("p/data/part-00000.json.gz"));
    assert!(keys(&rt, &moto.url(), "bkt", "p/").is_empty());
    // A foreign object under data/ is refused, unless --force.
    rt.block_on(
        s3(&moto.url())
            .put_object()
            .bucket("bkt")
            .key("p/data/other.json")
            .body(b"x".to_vec().into())
            .send(),
    )
    .unwrap();
    let (code, _, err) = upload(&out, "s3://bkt/p/", &moto.url(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("p/data/other.json") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(keys(&rt, &moto.url(), "bkt", "p/").len(), 1, "nothing sent");
    let (code, _, err) = upload(&out, "s3://bkt/p/", &moto.url(), &["--force"]);
    assert_eq!(code, 0, "{err}");
    // A corrupted local part is refused before anything is sent.
    let part = parts(&out)[1].clone();
    let mut b = std::fs::read(&part).unwrap();
    b[10] ^= 1;
    std::fs::write(&part, b).unwrap();
    let (code, _, err) = upload(&out, "s3://bkt/q/", &moto.url(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("part-00001.json.gz") && err.contains("crc64nvme"),
        "{err}"
    );
    assert!(keys(&rt, &moto.url(), "bkt", "q/").is_empty());
    // An interrupted convert (no manifests) is refused.
    std::fs::remove_file(out.join("manifest-summary.json")).unwrap();
    let (code, _, err) = upload(&out, "s3://bkt/q/", &moto.url(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("manifest-summary.json") && err.contains("interrupted"),
        "{err}"
    );
}

#[test]
fn retries_through_dropped_connections_and_slowdowns() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = converted(d.path(), 120_000, "16MiB", "zstd");
    let faults = vec![
        Fault::Drop,
        Fault::SlowDown,
        Fault::Drop,
        Fault::SlowDown,
        Fault::SlowDown,
        Fault::Drop,
    ];
    let proxy = Proxy::start(moto.port, faults, None);
    let (code, _, err) = upload(
        &out,
        "s3://bkt/r/",
        &proxy.url(),
        &["--concurrency", "2", "--max-attempts", "10"],
    );
    assert_eq!(code, 0, "{err}");
    for (k, bytes) in local_parts(&out) {
        assert_eq!(get(&rt, &moto.url(), "bkt", &format!("r/{k}")), bytes);
    }
    // With one attempt per request the first fault is final, and the error names the object.
    let proxy = Proxy::start(moto.port, vec![Fault::SlowDown; 50], None);
    let (code, _, err) = upload(&out, "s3://bkt/r2/", &proxy.url(), &["--max-attempts", "1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("s3://bkt/r2/") && err.contains("again to resume")
            || err.contains("cannot list s3://bkt/r2/"),
        "{err}"
    );
}

#[test]
fn resumes_after_the_server_goes_away_mid_upload() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let out = converted(d.path(), 300_000, "12MiB", "none");
    let local = local_parts(&out);
    let total: u64 = local.iter().map(|(_, b)| b.len() as u64).sum();
    // The endpoint dies after about 60% of the bytes (mid-object, mid-multipart).
    let proxy = Proxy::start(moto.port, vec![], Some(total * 6 / 10));
    let args = [
        "--multipart-threshold",
        "5MiB",
        "--multipart-chunksize",
        "5MiB",
        "--concurrency",
        "2",
        "--max-attempts",
        "2",
        "--json",
    ];
    let (code, _, err) = upload(&out, "s3://bkt/s/", &proxy.url(), &args);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    assert!(
        !keys(&rt, &moto.url(), "bkt", "s/")
            .iter()
            .any(|k| k.ends_with("manifest-files.json")),
        "no manifest before all data"
    );
    drop(proxy);
    // Back up: the same command finishes the job without sending everything again.
    let proxy = Proxy::start(moto.port, vec![], None);
    let (code, stdout, err) = upload(&out, "s3://bkt/s/", &proxy.url(), &args);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert!(s["bytesSent"].as_u64().unwrap() < total, "{s}");
    let outcomes: Vec<&str> = s["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes
            .iter()
            .any(|o| o.starts_with("skipped") || o.starts_with("resumed")),
        "{outcomes:?}"
    );
    for (k, bytes) in &local {
        assert_eq!(
            &get(&rt, &moto.url(), "bkt", &format!("s/{k}")),
            bytes,
            "{k}"
        );
    }
    let uploads = rt
        .block_on(
            s3(&moto.url())
                .list_multipart_uploads()
                .bucket("bkt")
                .send(),
        )
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "no stale multipart uploads left"
    );
}

#[test]
fn convert_upload_import_into_a_table_and_scan_it() {
    let Some(moto) = Moto::start() else { return };
    let python = venv_bin("python").unwrap();
    let rt = rt();
    make_bucket(&rt, &moto.url(), "bkt");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    // users.csv rather than the all-types fixture: moto's lenient JSON parser silently drops lines
    // holding an empty map ({"M":{}}), which DynamoDB itself imports fine.
    let (code, _, err) = convert(
        &out,
        &[
            &fixture("users.csv"),
            "--key",
            "user_id",
            "--type",
            "tags=SS",
            "--compress",
            "gzip",
            "--table",
            "typed",
        ],
    );
    assert_eq!(code, 1, "three bad rows: {err}");
    let (code, _, err) = upload(&out, "s3://bkt/imp/", &moto.url(), &[]);
    assert_eq!(code, 0, "{err}");
    let script = r#"
import base64, boto3, json, sys, time
url, path = sys.argv[1], sys.argv[2]
req = json.load(open(path))
db = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
arn = db.import_table(**req)["ImportTableDescription"]["ImportArn"]
for _ in range(100):
    d = db.describe_import(ImportArn=arn)["ImportTableDescription"]
    if d["ImportStatus"] != "IN_PROGRESS":
        break
    time.sleep(0.2)
assert d["ImportStatus"] == "COMPLETED", d
items = []
kw = {"TableName": req["TableCreationParameters"]["TableName"]}
while True:
    r = db.scan(**kw)
    items += r["Items"]
    if "LastEvaluatedKey" not in r:
        break
    kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
for i in items:
    print(json.dumps(i, default=lambda b: base64.b64encode(b).decode()))
"#;
    let o = Command::new(python)
        .args([
            "-c",
            script,
            &moto.url(),
            out.join("import-table.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut scanned: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Value::Object(
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), plain(v)))
                    .collect(),
            )
        })
        .collect();
    let mut written: Vec<Value> = lines(&out)
        .iter()
        .map(|l| Value::Object(item(l).iter().map(|(k, v)| (k.clone(), plain(v))).collect()))
        .collect();
    let key = |v: &Value| v["user_id"].as_str().unwrap().to_string();
    scanned.sort_by_key(key);
    written.sort_by_key(key);
    assert_eq!(scanned.len(), 5);
    assert_eq!(scanned.len(), written.len());
    for (s, w) in scanned.iter().zip(&written) {
        let (s, w) = (s.as_object().unwrap(), w.as_object().unwrap());
        assert_eq!(
            s.keys().collect::<Vec<_>>().len(),
            w.len(),
            "{s:?} vs {w:?}"
        );
        for (k, wv) in w {
            // moto's lenient parser does not undo JSON escapes (\" \n); DynamoDB does. Such
            // strings are checked for presence and type only.
            let escaped = wv
                .as_str()
                .is_some_and(|t| t.chars().any(|c| c == '"' || c == '\\' || c < ' '));
            if escaped {
                assert!(s[k].is_string(), "{k}");
            } else {
                assert_eq!(&s[k], wv, "{k}");
            }
        }
    }
}

/// The server itself is killed mid-upload and restarted over the same storage: the next run
/// reuses the multipart parts that arrived and skips the finished objects.
#[test]
fn resumes_after_the_server_is_killed_and_restarted() {
    let Some(bin) = S3sFs::bin() else { return };
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("s3root");
    let mut server = S3sFs::start(&bin, &root);
    let rt = rt();
    rt.block_on(
        s3_with_secret(&server.url(), S3S_SECRET)
            .create_bucket()
            .bucket("bkt")
            .send(),
    )
    .unwrap();
    // About 48 MB: part-00000 (12 MiB) alone, then eight parts side by side (see
    // PartWriter): the first two past the multipart threshold, the others single PUTs.
    let out = converted(d.path(), 600_000, "12MiB", "none");
    let local = local_parts(&out);
    let total: u64 = local.iter().map(|(_, b)| b.len() as u64).sum();
    let args = [
        "--multipart-threshold",
        "5MiB",
        "--multipart-chunksize",
        "5MiB",
        "--concurrency",
        "2",
        "--max-attempts",
        "1",
        "--json",
    ];
    // Kill the server once about half the bytes have gone through.
    let proxy = Proxy::start(server.port, vec![], Some(total / 2));
    let (code, _, err) = upload(&out, "s3://bkt/k/", &proxy.url(), &args);
    assert_eq!(code, 2, "{err}");
    drop(proxy);
    assert!(
        out.join(".prep-upload.json").exists(),
        "the resume journal records acknowledged parts"
    );
    server.kill();
    let server = S3sFs::start(&bin, &root);
    let (code, stdout, err) = upload(&out, "s3://bkt/k/", &server.url(), &args);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    let outcomes: Vec<String> = s["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["outcome"].as_str().unwrap().to_string())
        .collect();
    assert!(
        outcomes.iter().any(|o| o.starts_with("resumed")),
        "multipart parts reused: {outcomes:?}"
    );
    assert!(s["bytesSent"].as_u64().unwrap() < total, "{s}");
    let client = s3_with_secret(&server.url(), S3S_SECRET);
    for (k, bytes) in &local {
        let got = rt.block_on(async {
            let o = client
                .get_object()
                .bucket("bkt")
                .key(format!("k/{k}"))
                .send()
                .await
                .unwrap();
            o.body.collect().await.unwrap().into_bytes().to_vec()
        });
        assert_eq!(&got, bytes, "{k}");
    }
    assert!(
        !out.join(".prep-upload.json").exists(),
        "the journal is gone once everything is up"
    );
}

/// With no AWS configuration at all (as on a new user's machine): `prep upload --dry-run`
/// prints its plan and the import-table.json it would write, and says the prefix could not be
/// checked and what to set; commands that need AWS say what to set instead of the SDK's words.
#[test]
fn without_aws_configuration_a_dry_run_plans_and_errors_say_what_to_set() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let (code, _, err) = convert(&out, &[&fixture("users.csv"), "--key", "user_id"]);
    assert_eq!(code, 1, "{err}");
    let bare = |args: &[&str]| {
        let o = prep()
            .args(args)
            .env("HOME", d.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    let (code, stdout, stderr) = bare(&[
        "upload",
        out.to_str().unwrap(),
        "s3://bucket/x/",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("would upload s3://bucket/x/data/part-00000.json.zst"),
        "{stdout}"
    );
    assert!(stdout.contains("\"S3KeyPrefix\": \"x/data/\""), "{stdout}");
    assert!(
        stderr.contains("could not be checked") && stderr.contains("--region"),
        "{stderr}"
    );
    let (code, _, stderr) = bare(&["validate", "s3://bucket/x/"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no AWS region is set: pass --region"),
        "{stderr}"
    );
    let (code, _, stderr) = bare(&["validate", "s3://bucket/x/", "--region", "us-east-1"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no AWS credentials were found: set AWS_ACCESS_KEY_ID"),
        "{stderr}"
    );
}
