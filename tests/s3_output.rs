//! `prep convert --out s3://bucket/prefix/`: the import folder written straight into S3 (moto
//! and s3s-fs on 127.0.0.1, through the real AWS SDK), byte for byte the local output, with
//! every fault a long upload meets: dropped connections, 503 SlowDown, a server killed and
//! started again, Ctrl-C; a prefix that already holds an output; `prep import` on the result.

mod common;

use common::servers::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A CSV of `rows` rows of about 200 bytes, with rows that are rejected (no key: rows 5 and
/// rows − 3) and keys that appear twice (every 10,000th row repeats the row before it).
fn dataset(dir: &Path, rows: usize) -> PathBuf {
    use std::fmt::Write as _;
    let mut s = String::from("id,name,score,note\n");
    for i in 0..rows {
        let id = if i == 5 || i == rows - 3 {
            String::new()
        } else if i % 10_000 == 9_999 {
            (i - 1).to_string()
        } else {
            i.to_string()
        };
        let _ = writeln!(
            s,
            "{id},name {i} \"quoted\",{}.{},{}",
            i * 7 % 1000,
            i % 97,
            "n".repeat(150 + i % 13)
        );
    }
    let p = dir.join("data.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// The conversion options of these tests: parts that stay whole-sized (gzip level 0), so a
/// part of a few MiB is several 5 MiB chunks.
const ARGS: &[&str] = &[
    "--key",
    "id:N",
    "--compress",
    "gzip",
    "--compress-level",
    "0",
    "--multipart-chunksize",
    "5MiB",
];

/// `prep convert INPUT ARGS… --out OUT` against `url`: (exit code, summary, stderr).
fn convert_to(url: &str, input: &Path, out: &str, extra: &[&str]) -> (i32, Value, String) {
    let o = prep_aws()
        .arg("convert")
        .arg(input)
        .args(ARGS)
        .args(extra)
        .args([
            "--endpoint-url",
            url,
            "--path-style",
            "--json",
            "--out",
            out,
        ])
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every object under `prefix`: (key relative to it, bytes), by key.
fn objects(client: &aws_sdk_s3::Client, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let rt = rt();
    let listed = rt
        .block_on(prep::aws::list_objects(client, "bkt", prefix, None))
        .unwrap();
    listed
        .into_iter()
        .map(|o| {
            let body = rt
                .block_on(client.get_object().bucket("bkt").key(&o.key).send())
                .unwrap()
                .body;
            let bytes = rt.block_on(body.collect()).unwrap().into_bytes().to_vec();
            (o.key[prefix.len()..].to_string(), bytes)
        })
        .collect()
}

/// Multipart uploads still open under `prefix`.
fn open_uploads(client: &aws_sdk_s3::Client, prefix: &str) -> usize {
    rt().block_on(
        client
            .list_multipart_uploads()
            .bucket("bkt")
            .prefix(prefix)
            .send(),
    )
    .map(|r| r.uploads().len())
    .unwrap_or(0)
}

/// The S3 output under `prefix` is the local output `local`: the same parts, rejects and
/// duplicates byte for byte, the same manifests plus the keys, ETags and S3BucketSource that
/// `prep upload` adds, the summary last; no upload left open.
fn assert_same_output(client: &aws_sdk_s3::Client, prefix: &str, local: &Path) {
    let objs = objects(client, prefix);
    let names: Vec<&str> = objs.iter().map(|(k, _)| k.as_str()).collect();
    let mut want: Vec<String> = parts(local)
        .iter()
        .map(|p| format!("data/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    for f in [
        "duplicates.jsonl",
        "import-table.json",
        "manifest-files.json",
        "manifest-summary.json",
        "rejects.jsonl",
    ] {
        if local.join(f).exists() {
            want.push(f.to_string());
        }
    }
    want.sort();
    assert_eq!(names, want, "the objects under {prefix}");
    let get = |name: &str| -> &[u8] { &objs.iter().find(|(k, _)| k == name).unwrap().1 };
    for name in &want {
        if name.starts_with("data/") || name.ends_with(".jsonl") {
            assert!(
                get(name) == std::fs::read(local.join(name)).unwrap(),
                "{name} differs from the local output"
            );
        }
    }
    let etag = |key: &str| -> String {
        rt().block_on(client.head_object().bucket("bkt").key(key).send())
            .unwrap()
            .e_tag()
            .unwrap()
            .to_string()
    };
    let local_files = read_jsonl(&local.join("manifest-files.json"));
    let s3_files: Vec<Value> = std::str::from_utf8(get("manifest-files.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(s3_files.len(), local_files.len());
    for (s, l) in s3_files.iter().zip(&local_files) {
        let key = format!("{prefix}{}", l["dataFileS3Key"].as_str().unwrap());
        let data = get(l["dataFileS3Key"].as_str().unwrap());
        assert_eq!(l["crc64nvme"], crc64nvme(data), "{key}");
        let mut expected = l.clone();
        expected["s3Key"] = Value::from(key.clone());
        expected["etag"] = Value::from(etag(&key));
        assert_eq!(*s, expected);
    }
    let mut import: Value = serde_json::from_slice(get("import-table.json")).unwrap();
    assert_eq!(
        import["S3BucketSource"],
        serde_json::json!({"S3Bucket": "bkt", "S3KeyPrefix": format!("{prefix}data/")})
    );
    import.as_object_mut().unwrap().remove("S3BucketSource");
    let mut local_import = read_json(&local.join("import-table.json"));
    // The default table name is the folder's or the prefix's last level.
    local_import["TableCreationParameters"]["TableName"] =
        import["TableCreationParameters"]["TableName"].clone();
    assert_eq!(import, local_import);
    let summary: Value = serde_json::from_slice(get("manifest-summary.json")).unwrap();
    let local_summary = read_json(&local.join("manifest-summary.json"));
    for f in [
        "itemCount",
        "rowsRead",
        "rejectedCount",
        "duplicateCount",
        "partCount",
        "storedBytes",
        "inputs",
    ] {
        assert_eq!(summary[f], local_summary[f], "{f}");
    }
    assert_eq!(
        open_uploads(client, prefix),
        0,
        "no multipart upload left open"
    );
}

/// `prep convert INPUT ARGS… --out OUT` started through a proxy in front of the server on
/// `port` that holds every request once 7 MiB have gone through (in the second chunk).
fn held_convert(
    port: u16,
    secret: &str,
    input: &Path,
    out: &str,
) -> (FaultProxy, std::process::Child) {
    let proxy = FaultProxy::start(port, usize::MAX, 0, 0);
    proxy
        .hold_at
        .store(7 << 20, std::sync::atomic::Ordering::SeqCst);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_prep"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .arg("convert")
        .arg(input)
        .args(ARGS)
        .args(["--endpoint-url", &proxy.url(), "--path-style", "--quiet"])
        .args(["--out", out])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (proxy, child)
}

fn local_output(input: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("local");
    if !out.exists() {
        let (code, _, err) = convert_to("http://127.0.0.1:9", input, out.to_str().unwrap(), &[]);
        assert_eq!(code, 1, "{err}");
    }
    out
}

#[test]
fn the_s3_output_is_the_local_output_and_imports_as_it_is() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let client = s3(&url);
    let input = dataset(d.path(), 60_000);
    let local = local_output(&input, d.path());
    let (code, summary, err) = convert_to(&url, &input, "s3://bkt/exports/run1/", &[]);
    assert_eq!(code, 1, "rows are rejected: {err}");
    assert_eq!(summary["rowsRejected"], 2, "{summary}");
    assert_eq!(summary["duplicateItems"], 6, "{summary}");
    assert_eq!(summary["out"], "s3://bkt/exports/run1/", "{summary}");
    assert_same_output(&client, "exports/run1/", &local);
    // The part went up in chunks: its ETag is a multipart one.
    let files = objects(&client, "exports/run1/");
    let manifest = std::str::from_utf8(
        &files
            .iter()
            .find(|(k, _)| k == "manifest-files.json")
            .unwrap()
            .1,
    )
    .unwrap()
    .to_string();
    assert!(manifest.contains("-3\\\""), "three chunks: {manifest}");
    // S3 checked the whole part's CRC64-NVME (a full-object checksum), and keeps it.
    let line = read_jsonl(&local.join("manifest-files.json"))[0].clone();
    let h = rt
        .block_on(
            client
                .head_object()
                .bucket("bkt")
                .key(format!(
                    "exports/run1/{}",
                    line["dataFileS3Key"].as_str().unwrap()
                ))
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send(),
        )
        .unwrap();
    assert_eq!(h.checksum_crc64_nvme(), line["crc64nvme"].as_str());
    assert_eq!(
        h.checksum_type(),
        Some(&aws_sdk_s3::types::ChecksumType::FullObject)
    );
    // The table name defaults to the prefix's last level.
    let import = &files
        .iter()
        .find(|(k, _)| k == "import-table.json")
        .unwrap()
        .1;
    assert!(String::from_utf8_lossy(import).contains("\"TableName\": \"run1\""));

    // The human summary says where it all went and how to import it.
    let o = prep_aws()
        .args(["convert", &fixture("users.csv"), "--key", "user_id"])
        .args(["--compress", "gzip"])
        .args([
            "--endpoint-url",
            &url,
            "--path-style",
            "--out",
            "s3://bkt/users/",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("s3://bkt/users/rejects.jsonl"), "{err}");
    assert!(
        err.contains("import with: prep import s3://bkt/users/"),
        "{err}"
    );
    // `prep import` takes the prefix as it is.
    let o = prep_aws()
        .args(["import", "s3://bkt/users/", "--endpoint-url", &url])
        .args(["--path-style", "--poll-interval", "0.2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let scanned = rt
        .block_on(dynamodb(&url).scan().table_name("users").send())
        .unwrap();
    assert_eq!(scanned.count(), 6, "{err}");
}

#[test]
fn dropped_connections_and_slowdowns_during_part_uploads_are_retried() {
    let Some(bin) = S3sFs::bin() else { return };
    let d = tempfile::tempdir().unwrap();
    let server = S3sFs::start(&bin, &d.path().join("s3"));
    let client = s3_with_secret(&server.url(), S3S_SECRET);
    rt().block_on(client.create_bucket().bucket("bkt").send())
        .unwrap();
    let input = dataset(d.path(), 60_000);
    let local = local_output(&input, d.path());
    // Three connections cut after 1 MiB of their request (inside a chunk's body), and two
    // answered 503 SlowDown.
    let proxy = FaultProxy::start(server.port, 1 << 20, 3, 2);
    let (code, _, err) = convert_to(&proxy.url(), &input, "s3://bkt/out/", &[]);
    assert_eq!(code, 1, "{err}");
    let left = |a: &std::sync::atomic::AtomicUsize| a.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(left(&proxy.cuts_left), 0, "every cut happened");
    assert_eq!(left(&proxy.slowdowns_left), 0, "every 503 happened");
    assert_same_output(&client, "out/", &local);
}

#[test]
fn a_server_killed_mid_run_and_started_again_costs_retries_only() {
    let Some(bin) = S3sFs::bin() else { return };
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("s3");
    let mut server = S3sFs::start(&bin, &root);
    rt().block_on(
        s3_with_secret(&server.url(), S3S_SECRET)
            .create_bucket()
            .bucket("bkt")
            .send(),
    )
    .unwrap();
    let input = dataset(d.path(), 60_000);
    let local = local_output(&input, d.path());
    let (proxy, child) = held_convert(server.port, S3S_SECRET, &input, "s3://bkt/out/");
    // In the middle of the second chunk: the server goes, and comes back a second later on
    // another port (same files), as a restarted server behind a load balancer would.
    proxy.wait_held();
    server.kill();
    std::thread::sleep(std::time::Duration::from_millis(300));
    proxy.release();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let server = S3sFs::start(&bin, &root);
    proxy
        .upstream
        .store(server.port, std::sync::atomic::Ordering::SeqCst);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "rows rejected, nothing failed: {err}"
    );
    let client = s3_with_secret(&server.url(), S3S_SECRET);
    assert_same_output(&client, "out/", &local);
}

#[test]
fn a_prefix_with_an_output_is_refused_and_force_replaces_it() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let client = s3(&url);
    let input = dataset(d.path(), 2_000);
    let local = d.path().join("small");
    let (code, _, err) = convert_to("http://127.0.0.1:9", &input, local.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/p/", &[]);
    assert_eq!(code, 1, "{err}");
    let before = objects(&client, "p/");
    // Again: refused, nothing touched.
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/p/", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already holds a finished prep output") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(objects(&client, "p/"), before);
    // A stray object under data/, a note beside it, and an upload a killed run left open.
    let put = |key: &str| {
        rt.block_on(
            client
                .put_object()
                .bucket("bkt")
                .key(key)
                .body(b"x".to_vec().into())
                .send(),
        )
        .unwrap();
    };
    put("p/data/stray.json");
    put("p/notes.txt");
    // The lock a killed run left: refused, saying what to do; --force takes it over.
    put("p/.prep-lock");
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/p/", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in use by another prep run") && err.contains("killed"),
        "{err}"
    );
    rt.block_on(
        client
            .create_multipart_upload()
            .bucket("bkt")
            .key("p/data/part-00007.json.gz")
            .send(),
    )
    .unwrap();
    assert_eq!(open_uploads(&client, "p/"), 1);
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/p/", &["--force"]);
    assert_eq!(code, 1, "{err}");
    let after = objects(&client, "p/");
    assert!(after.iter().any(|(k, _)| k == "notes.txt"), "left alone");
    assert!(
        !after.iter().any(|(k, _)| k == "data/stray.json"),
        "deleted"
    );
    rt.block_on(
        client
            .delete_object()
            .bucket("bkt")
            .key("p/notes.txt")
            .send(),
    )
    .unwrap();
    assert_same_output(&client, "p/", &local);
    // Parts without a summary: an output that did not finish.
    rt.block_on(
        client
            .delete_object()
            .bucket("bkt")
            .key("p/manifest-summary.json")
            .send(),
    )
    .unwrap();
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/p/", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did not finish"), "{err}");
    // An output inside an S3 input (or the other way round) is refused before anything runs.
    let o = prep_aws()
        .args([
            "convert",
            "s3://bkt/p/",
            "--key",
            "id:N",
            "--endpoint-url",
            &url,
        ])
        .args(["--path-style", "--out", "s3://bkt/p/again/"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("inside the input"), "{err}");
    // A missing bucket is named.
    let (code, _, err) = convert_to(&url, &input, "s3://nobucket/p/", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("s3://nobucket/p/"), "{err}");
}

#[test]
fn failed_and_interrupted_runs_leave_nothing_in_s3() {
    let Some((moto, _rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let client = s3(&url);
    let input = dataset(d.path(), 60_000);
    // --on-error fail: the first bad row stops the run; nothing of it stays.
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/f/", &["--on-error", "fail"]);
    assert_eq!(code, 1, "{err}");
    assert!(objects(&client, "f/").is_empty(), "{err}");
    // Ctrl-C while a chunk is on its way: exit 130, the upload aborted, no object left.
    let (proxy, child) = held_convert(moto.port, "test", &input, "s3://bkt/i/");
    proxy.wait_held();
    assert_eq!(open_uploads(&client, "i/"), 1, "a chunk is on its way");
    // A second run into the same prefix meanwhile is refused, touching nothing.
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/i/", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("in use by another prep run"), "{err}");
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    proxy.release();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(objects(&client, "i/").is_empty(), "{err}");
    assert_eq!(
        open_uploads(&client, "i/"),
        0,
        "the upload was aborted: {err}"
    );
    // The same prefix then converts without --force.
    let (code, _, err) = convert_to(&url, &input, "s3://bkt/i/", &[]);
    assert_eq!(code, 1, "{err}");
}

/// Rows of `id,pad` where pad is 2,000 hex digits of which 192 are random: the stream is
/// gigabytes while its zstd-compressed copy, the parts and their chunks stay small on disk.
fn wide_rows(first: u64, rows: u64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ first;
    for i in first..first + rows {
        write!(out, "{i},").unwrap();
        for _ in 0..12 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..16 {
                out.push(b"0123456789abcdef"[((x >> (4 * k)) & 15) as usize]);
            }
        }
        out.extend(std::iter::repeat_n(b'f', 2_000 - 192));
        out.push(b'\n');
    }
}

/// A multi-GB stream converted S3 → S3 in bounded memory: the object read in windows and
/// decompressed as it streams, parts uploaded in chunks as they are made, nothing held whole
/// and no local file. The object is zstd-compressed so that the test needs only a few hundred
/// MB of disk for the local S3 server, whatever machine runs it; the reader, the batches, the
/// encoders and the uploads see the 2.2 GB as they would uncompressed. (The same run over
/// 200 MB and 800 MB streams levels off at the same peak: the bound does not grow with it.)
#[test]
#[ignore = "converts a 2.2 GB stream through the local S3 server (half a minute); the README's test command runs it with --include-ignored"]
fn a_multi_gb_object_converts_s3_to_s3_in_bounded_memory() {
    let Some(bin) = S3sFs::bin() else { return };
    let d = tempfile::tempdir().unwrap();
    // The local S3 server keeps the compressed input, the parts and their uploaded chunks on
    // disk (a full disk shows only as its InternalError on an upload).
    let free = free_bytes(d.path());
    assert!(
        free > 512 << 20,
        "the multi-GB S3 test needs 512 MiB free under {}, there are {free} bytes",
        d.path().display()
    );
    let server = S3sFs::start(&bin, &d.path().join("s3"));
    let client = s3_with_secret(&server.url(), S3S_SECRET);
    let rt = rt();
    rt.block_on(client.create_bucket().bucket("bkt").send())
        .unwrap();
    // 1.1 million rows of 2 KB: 2.2 GB of CSV, compressed as it is generated.
    const ROWS: u64 = 1_100_000;
    const PER_BLOCK: u64 = 32_000;
    let mut z = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    let mut size = 0u64;
    let mut buf = b"id,pad\n".to_vec();
    for first in (0..ROWS).step_by(PER_BLOCK as usize) {
        wide_rows(first, PER_BLOCK.min(ROWS - first), &mut buf);
        size += buf.len() as u64;
        std::io::Write::write_all(&mut z, &buf).unwrap();
        buf.clear();
    }
    let object = z.finish().unwrap();
    let object_bytes = object.len();
    rt.block_on(
        client
            .put_object()
            .bucket("bkt")
            .key("in/big.csv.zst")
            .body(object.into())
            .send(),
    )
    .unwrap();
    assert!(size > 2_000_000_000, "{size}");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_prep"));
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", S3S_SECRET)
        .env("AWS_REGION", "us-east-1")
        .args([
            "convert",
            "s3://bkt/in/big.csv.zst",
            "--key",
            "id:N",
            "--json",
        ])
        .args(["--part-size", "256MiB", "--multipart-chunksize", "5MiB"])
        // The bound under test is the stream's: batches and chunks. The duplicate index grows
        // with the number of keys (by design, and documented), so it is off here.
        .args(["--duplicates", "off", "--batch-rows", "256"])
        .args(["--endpoint-url", &server.url(), "--path-style"])
        .args(["--out", "s3://bkt/out/"]);
    let (o, peak_mib) = run_measured(cmd);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["rowsRead"], ROWS, "{summary}");
    assert_eq!(summary["itemsWritten"], ROWS, "{summary}");
    // The parts are in S3 as the manifest lists them (several, each in several chunks).
    let listed = rt
        .block_on(prep::aws::list_objects(&client, "bkt", "out/data/", None))
        .unwrap();
    let manifest = rt
        .block_on(
            client
                .get_object()
                .bucket("bkt")
                .key("out/manifest-files.json")
                .send(),
        )
        .unwrap()
        .body;
    let manifest = rt.block_on(manifest.collect()).unwrap().into_bytes();
    let lines: Vec<Value> = std::str::from_utf8(&manifest)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 8, "{} parts", lines.len());
    assert_eq!(listed.len(), lines.len());
    let stored: u64 = lines
        .iter()
        .map(|l| l["storedBytes"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, listed.iter().map(|o| o.size).sum::<u64>());
    eprintln!(
        "S3 → S3, {size} bytes ({object_bytes} compressed): peak RSS {peak_mib} MiB, \
         {stored} bytes of parts"
    );
    // Every part but the last is larger than a chunk, so each went up as a multipart upload.
    for l in &lines[..lines.len() - 1] {
        assert!(l["storedBytes"].as_u64().unwrap() > 5 << 20, "{l}");
    }
    assert!(
        peak_mib < 200,
        "peak RSS {peak_mib} MiB converting a {size}-byte object S3 → S3"
    );
}

/// Free bytes on the file system holding `dir` (`df -Pk`).
fn free_bytes(dir: &Path) -> u64 {
    let o = std::process::Command::new("df")
        .arg("-Pk")
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text.lines().nth(1).unwrap_or("");
    line.split_whitespace()
        .nth(3)
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(u64::MAX, |kb| kb * 1024)
}
