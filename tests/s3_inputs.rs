//! `prep convert` reading its inputs from S3 (moto in server mode on 127.0.0.1, through the
//! real AWS SDK): single objects, prefixes and globs of every input format give the same parts
//! as the same files read locally; an object that changes during a run is an error.

mod common;

use common::servers::*;
use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn put(rt: &tokio::runtime::Runtime, url: &str, key: &str, body: Vec<u8>) {
    rt.block_on(
        s3(url)
            .put_object()
            .bucket("bkt")
            .key(key)
            .body(body.into())
            .send(),
    )
    .unwrap();
}

/// `prep convert` with the test credentials and moto's endpoint: (exit code, summary, stderr).
fn convert_s3(url: &str, out: &Path, args: &[&str]) -> (i32, Value, String) {
    let o = prep_aws()
        .arg("convert")
        .args(args)
        .args(["--endpoint-url", url, "--path-style", "--json", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code().unwrap_or(-1),
        summary,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The data parts of an output folder: (name, bytes), by name.
fn parts_of(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.join("data"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn s3_objects_prefixes_and_globs_convert_as_local_files_do() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    // Every input format, and a gzip CSV and a DynamoDB JSON file made from a fixture.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(fixture("public/seattle-weather.csv")).unwrap())
        .unwrap();
    let weather_gz = d.path().join("weather.csv.gz");
    std::fs::write(&weather_gz, gz.finish().unwrap()).unwrap();
    let items = d.path().join("items.json");
    std::fs::write(
        &items,
        "{\"Item\":{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"1.50\"}}}\n{\"Item\":{\"pk\":{\"S\":\"b\"},\"l\":{\"L\":[{\"BOOL\":true}]}}}\n",
    )
    .unwrap();
    // Plain JSON documents: JSON Lines in zstd, and one array over several lines.
    let docs = d.path().join("docs.jsonl.zst");
    std::fs::write(
        &docs,
        zstd::encode_all(
            &b"{\"id\":1,\"n\":1.50,\"m\":{\"a\":[1,\"x\"]}}\n{\"id\":2,\"s\":\"\xc3\xa9\"}\n"[..],
            3,
        )
        .unwrap(),
    )
    .unwrap();
    let array = d.path().join("docs.json");
    std::fs::write(&array, "[\n  {\"id\": 1},\n  {\"id\": 2, \"x\": null}\n]\n").unwrap();
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (
            docs.display().to_string(),
            "in/docs.jsonl.zst",
            vec!["--key", "id:N"],
        ),
        (
            array.display().to_string(),
            "in/docs.json",
            vec!["--key", "id:N"],
        ),
        (
            fixture("types.parquet"),
            "in/types.parquet",
            vec!["--key", "pk"],
        ),
        (
            fixture("types.arrow"),
            "in/types.arrow",
            vec!["--key", "pk"],
        ),
        (
            fixture("types.arrows"),
            "in/types.arrows",
            vec!["--key", "pk"],
        ),
        (
            fixture("users.csv"),
            "in/users.csv",
            vec!["--key", "user_id", "--type", "tags=SS"],
        ),
        (
            weather_gz.display().to_string(),
            "in/weather.csv.gz",
            vec!["--key", "date"],
        ),
        (
            items.display().to_string(),
            "in/items.json",
            vec!["--key", "pk"],
        ),
    ];
    for (local, key, _) in &cases {
        put(&rt, &url, key, std::fs::read(local).unwrap());
    }
    for (k, (local, key, args)) in cases.iter().enumerate() {
        let a = d.path().join(format!("local{k}"));
        let (code_local, s_local, err) =
            convert_s3(&url, &a, &[&[local.as_str()], &args[..]].concat());
        assert!(code_local <= 1, "{local}: {err}");
        let b = d.path().join(format!("s3-{k}"));
        let s3_url = format!("s3://bkt/{key}");
        let (code, s, err) = convert_s3(&url, &b, &[&[s3_url.as_str()], &args[..]].concat());
        assert_eq!(code, code_local, "{key}: {err}");
        assert_eq!(parts_of(&a), parts_of(&b), "{key}: the same parts");
        for field in ["rowsRead", "itemsWritten", "rowsRejected"] {
            assert_eq!(s[field], s_local[field], "{key} {field}: {s}");
        }
        check_output(&b);
        let summary: Value =
            serde_json::from_slice(&std::fs::read(b.join("manifest-summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["inputs"][0]["path"], s3_url.as_str(), "{summary}");
        let etag = rt
            .block_on(s3(&url).head_object().bucket("bkt").key(*key).send())
            .unwrap()
            .e_tag()
            .unwrap()
            .to_string();
        assert_eq!(summary["inputs"][0]["etag"], etag.as_str(), "{summary}");
        let local_summary: Value =
            serde_json::from_slice(&std::fs::read(a.join("manifest-summary.json")).unwrap())
                .unwrap();
        assert_eq!(
            summary["inputs"][0]["crc64nvme"], local_summary["inputs"][0]["crc64nvme"],
            "{key}: the input's CRC64-NVME"
        );
    }

    // A prefix: the objects under it in key order, markers and hidden names left out, as a
    // local folder with the same files.
    let folder = d.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    for name in ["a.csv", "b.csv"] {
        let body = format!("id,v\n1{name},x\n2{name},y\n");
        std::fs::write(folder.join(name), &body).unwrap();
        put(&rt, &url, &format!("csv/{name}"), body.into_bytes());
    }
    put(&rt, &url, "csv/_SUCCESS", Vec::new());
    put(&rt, &url, "csv/.hidden.csv", b"junk".to_vec());
    let a = d.path().join("local-folder");
    let (code, s_local, err) = convert_s3(&url, &a, &[folder.to_str().unwrap(), "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    for arg in ["s3://bkt/csv/", "s3://bkt/csv", "s3://bkt/csv/*.csv"] {
        let b = d.path().join(format!("prefix-{}", arg.len()));
        let (code, s, err) = convert_s3(&url, &b, &[arg, "--key", "id"]);
        assert_eq!(code, 0, "{arg}: {err}");
        assert_eq!(s["rowsRead"], 4, "{arg}: {s}");
        assert_eq!(parts_of(&a), parts_of(&b), "{arg}");
        assert_eq!(s["itemsWritten"], s_local["itemsWritten"]);
    }

    // Nothing there, and a bucket that does not exist: errors that name them.
    let (code, _, err) = convert_s3(
        &url,
        &d.path().join("none"),
        &["s3://bkt/nope/", "--key", "id"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s3://bkt/nope/") && err.contains("no object"),
        "{err}"
    );
    let (code, _, err) = convert_s3(
        &url,
        &d.path().join("none2"),
        &["s3://nobucket/x.csv", "--key", "id"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nobucket"), "{err}");
}

/// An object rewritten after the run listed it: its reads carry the listed ETag, so they fail
/// and say why instead of mixing two versions; a small object read whole before the change
/// goes on being read from that one copy, the version listed.
#[test]
fn an_object_that_changes_during_a_run_is_an_error() {
    let Some((moto, rt, _d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let big = |v: &str| -> Vec<u8> {
        let mut b = format!("id,v\n1,{v}\n").into_bytes();
        b.resize(5 << 20, b'\n');
        b
    };
    put(&rt, &url, "x.csv", b"id,v\n1,a\n".to_vec());
    put(&rt, &url, "big.csv", big("a"));
    let aws = prep::aws::AwsOptions {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.clone()),
        path_style: true,
        max_attempts: 2,
    };
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let inputs = prep::input::s3::S3Inputs::new(&aws).unwrap();
    use prep::input::source::InputObject;
    let small = inputs.discover("s3://bkt/x.csv").unwrap().remove(0);
    let large = inputs.discover("s3://bkt/big.csv").unwrap().remove(0);
    assert_eq!((small.size(), small.name().as_str()), (9, "x.csv"));
    assert_eq!(&small.read_range(3, 4).unwrap()[..], b"v\n1,");
    assert_eq!(&large.read_range(3, 4).unwrap()[..], b"v\n1,");
    put(&rt, &url, "x.csv", b"id,v\n2,b\n".to_vec());
    put(&rt, &url, "big.csv", big("b"));
    let e = large.read_range(0, 4).unwrap_err().to_string();
    assert!(e.contains("changed since the run listed it"), "{e}");
    assert_eq!(&small.read_range(5, 3).unwrap()[..], b"1,a");
    // Let go, it is read by ranges again, and the change is found.
    small.release();
    let e = small.read_range(0, 4).unwrap_err().to_string();
    assert!(e.contains("changed since the run listed it"), "{e}");
}

/// A TCP proxy in front of moto that closes a connection once it has carried `cut_after`
/// response bytes, `cuts` times in all: a GET's body stops in the middle, as when a
/// connection drops.
struct CuttingProxy {
    port: u16,
    cuts_left: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Response bytes carried, all connections together.
    carried: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Requests passed on (client writes that start with an HTTP method).
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl CuttingProxy {
    fn start(upstream: u16, cut_after: usize, cuts: usize) -> CuttingProxy {
        Self::start_with(upstream, cut_after, cuts, 0)
    }

    /// As [`Self::start`], and the first `slowdowns` connections are answered 503 SlowDown.
    fn start_with(upstream: u16, cut_after: usize, cuts: usize, slowdowns: usize) -> CuttingProxy {
        use std::io::Read;
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts_left = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(cuts));
        let left = cuts_left.clone();
        let carried_all = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let total = carried_all.clone();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = requests.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            for conn in listener.incoming() {
                let total = total.clone();
                let Ok(mut client) = conn else { continue };
                n += 1;
                if n <= slowdowns {
                    answer_slow_down(&mut client);
                    continue;
                }
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let left = left.clone();
                let counted = counted.clone();
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = c2.read(&mut buf) {
                        let methods: [&[u8]; 5] =
                            [b"GET ", b"HEAD ", b"PUT ", b"POST ", b"DELETE "];
                        if methods.iter().any(|m| buf[..n].starts_with(m)) {
                            counted.fetch_add(1, Ordering::SeqCst);
                        }
                        if s2.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s2.shutdown(Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut carried = 0usize;
                    loop {
                        let n = match server.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if carried + n > cut_after
                            && left
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                                    c.checked_sub(1)
                                })
                                .is_ok()
                        {
                            let _ = client.write_all(&buf[..cut_after.saturating_sub(carried)]);
                            break;
                        }
                        carried += n;
                        total.fetch_add(n as u64, Ordering::SeqCst);
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                });
            }
        });
        CuttingProxy {
            port,
            cuts_left,
            carried: carried_all,
            requests,
        }
    }
}

/// Many small objects under one prefix (as Spark writes them): one GET each, whatever reads
/// them (format detection, the CSV header, the rows, the digest), and the same output and input
/// digests as the same files converted locally.
#[test]
fn many_small_objects_take_one_get_each() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let local = d.path().join("files");
    std::fs::create_dir(&local).unwrap();
    let objects = 150;
    for i in 0..objects {
        let mut text = String::from("id,n,name\n");
        for r in 0..20 {
            text.push_str(&format!("{i}-{r},{r},name {}\n", i * 31 + r));
        }
        let name = format!("part-{i:05}.csv");
        std::fs::write(local.join(&name), &text).unwrap();
        put(&rt, &url, &format!("small/{name}"), text.into_bytes());
    }
    let a = d.path().join("local");
    let (code, _, err) = convert_s3(&url, &a, &[local.to_str().unwrap(), "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    let proxy = CuttingProxy::start(moto.port, usize::MAX, 0);
    let purl = format!("http://127.0.0.1:{}", proxy.port);
    let b = d.path().join("s3");
    let (code, s, err) = convert_s3(&purl, &b, &["s3://bkt/small/", "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rowsRead"], objects * 20, "{s}");
    assert_eq!(parts_of(&a), parts_of(&b));
    let requests = proxy.requests.load(std::sync::atomic::Ordering::SeqCst);
    // The listing and one GET per object.
    assert!(
        requests >= objects && requests <= objects + 3,
        "{requests} requests for {objects} objects"
    );
    let (la, lb) = (summary_of(&a), summary_of(&b));
    for i in 0..objects as usize {
        let crc = &la["inputs"][i]["crc64nvme"];
        assert!(crc.is_string(), "{la}");
        assert_eq!(&lb["inputs"][i]["crc64nvme"], crc, "input {i}");
    }
}

/// Connections dropped in the middle of GETs (three times): each read resumes with a ranged
/// GET from where it stopped, and the parts are those of the local file.
#[test]
fn dropped_connections_during_gets_resume_where_they_stopped() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let mut text = String::from("id,name,score\n");
    for i in 0..60_000 {
        text.push_str(&format!("{i},name {i} with some text,{}.5\n", i % 977));
    }
    let local = d.path().join("big.csv");
    std::fs::write(&local, &text).unwrap();
    put(&rt, &url, "big/big.csv", text.into_bytes());
    let a = d.path().join("local");
    let (code, _, err) = convert_s3(&url, &a, &[local.to_str().unwrap(), "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    let proxy = CuttingProxy::start(moto.port, 300_000, 3);
    let b = d.path().join("s3");
    let purl = format!("http://127.0.0.1:{}", proxy.port);
    let (code, s, err) = convert_s3(&purl, &b, &["s3://bkt/big/big.csv", "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rowsRead"], 60_000, "{s}");
    assert_eq!(parts_of(&a), parts_of(&b));
    assert_eq!(
        proxy.cuts_left.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the connections were cut"
    );

    // Without faults, a CSV object is read once (plus the first small windows of the reads
    // that stop early: format detection, type inference): its SHA-256 for the manifest comes
    // from the conversion's own read (it was read a second time for it).
    let size = std::fs::metadata(&local).unwrap().len();
    let quiet = CuttingProxy::start(moto.port, usize::MAX, 0);
    let c = d.path().join("once");
    let qurl = format!("http://127.0.0.1:{}", quiet.port);
    let (code, _, err) = convert_s3(&qurl, &c, &["s3://bkt/big/big.csv", "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    let carried = quiet.carried.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        carried > size && carried < size + size / 2,
        "{carried} bytes carried for an object of {size}"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(c.join("manifest-summary.json")).unwrap()).unwrap();
    let local_summary: Value =
        serde_json::from_slice(&std::fs::read(a.join("manifest-summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["inputs"][0]["crc64nvme"],
        local_summary["inputs"][0]["crc64nvme"]
    );
}

/// A Parquet object of many row groups, with bloom filters written after each row group (so
/// the row groups' reads leave gaps between them): read once — its SHA-256 for the manifest
/// comes from the row groups' ranged GETs, in whatever order they finish, and the few bytes no
/// read fetched — and equal to the local file's. A shard that reads only some of the row groups
/// but owns the first still records the whole object's SHA-256 (it reads the object whole
/// beside its conversion); the other shard records none. A footer too large for the end
/// fetched with it is read all the same.
#[test]
fn a_parquet_object_is_read_once_for_its_rows_and_its_digest() {
    use arrow_array::{Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("id", arrow_schema::DataType::Int64, false),
        arrow_schema::Field::new("name", arrow_schema::DataType::Utf8, false),
    ]));
    let local = d.path().join("many.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(5_000))
        .set_bloom_filter_enabled(true)
        .set_bloom_filter_position(parquet::file::properties::BloomFilterPosition::AfterRowGroup)
        .build();
    let n = 60_000i64;
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("name {i} {}", i * 7919 % 10007)),
            )),
        ],
    )
    .unwrap();
    let meta = write_parquet(&local, &batch, props);
    assert_eq!(meta.num_row_groups(), 12);
    let body = std::fs::read(&local).unwrap();
    let size = body.len();
    put(&rt, &moto.url(), "pq/many.parquet", body);
    let a = d.path().join("local");
    let (code, _, err) = convert_s3(&moto.url(), &a, &[local.to_str().unwrap(), "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    let local_crc = summary_of(&a)["inputs"][0]["crc64nvme"].clone();
    assert!(local_crc.is_string(), "{local_crc}");

    let proxy = CuttingProxy::start(moto.port, usize::MAX, 0);
    let purl = format!("http://127.0.0.1:{}", proxy.port);
    let b = d.path().join("s3");
    let (code, s, err) = convert_s3(&purl, &b, &["s3://bkt/pq/many.parquet", "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rowsRead"], n, "{s}");
    assert_eq!(parts_of(&a), parts_of(&b));
    assert_eq!(summary_of(&b)["inputs"][0]["crc64nvme"], local_crc);
    let carried = proxy.carried.load(std::sync::atomic::Ordering::SeqCst) as usize;
    assert!(
        carried > size && carried < size + size / 5,
        "{carried} bytes carried for an object of {size}: it was read more than once"
    );

    // Two shards: the first owns the first row group and records the digest.
    for (i, want) in [(0, local_crc.clone()), (1, Value::Null)] {
        let c = d.path().join(format!("shard{i}"));
        let shard = format!("{i}/2");
        let (code, _, err) = convert_s3(
            &moto.url(),
            &c,
            &["s3://bkt/pq/many.parquet", "--key", "id", "--shard", &shard],
        );
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_slice(
            &std::fs::read(c.join("shards").join(format!("shard-{i:05}-of-00002.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            report["inputs"][0]["crc64nvme"], want,
            "shard {i}: {report}"
        );
        assert!(report["rowsRead"].as_u64().unwrap() < n as u64, "{report}");
    }

    // A footer larger than the end fetched in one GET with it (64 KiB): 400 columns in 8 row
    // groups; the rest of the footer is fetched apart, and the output is the local file's.
    let wide = d.path().join("wide.parquet");
    let fields: Vec<arrow_schema::Field> = (0..400)
        .map(|c| {
            arrow_schema::Field::new(format!("column_{c}"), arrow_schema::DataType::Int64, false)
        })
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(10))
        .build();
    let columns: Vec<arrow_array::ArrayRef> = (0..400i64)
        .map(|c| Arc::new(Int64Array::from_iter_values((0..80).map(|r| r * 1000 + c))) as _)
        .collect();
    let meta = write_parquet(
        &wide,
        &RecordBatch::try_new(schema, columns).unwrap(),
        props,
    );
    let body = std::fs::read(&wide).unwrap();
    let footer = u32::from_le_bytes(body[body.len() - 8..body.len() - 4].try_into().unwrap());
    assert!(footer > 64 << 10, "footer of {footer} bytes");
    assert_eq!(meta.num_row_groups(), 8);
    put(&rt, &moto.url(), "pq/wide.parquet", body);
    let a = d.path().join("wide-local");
    let (code, _, err) = convert_s3(
        &moto.url(),
        &a,
        &[wide.to_str().unwrap(), "--key", "column_0"],
    );
    assert_eq!(code, 0, "{err}");
    let b = d.path().join("wide-s3");
    let (code, s, err) = convert_s3(
        &moto.url(),
        &b,
        &["s3://bkt/pq/wide.parquet", "--key", "column_0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rowsRead"], 80, "{s}");
    assert_eq!(parts_of(&a), parts_of(&b));
    assert_eq!(
        summary_of(&b)["inputs"][0]["crc64nvme"],
        summary_of(&a)["inputs"][0]["crc64nvme"]
    );
}

/// `batch` written to `path` as Parquet with `props`; its metadata.
fn write_parquet(
    path: &Path,
    batch: &arrow_array::RecordBatch,
    props: parquet::file::properties::WriterProperties,
) -> parquet::file::metadata::ParquetMetaData {
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap()
}

fn summary_of(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest-summary.json")).unwrap()).unwrap()
}

/// `prep validate` of data files in S3 (a prefix, an object, a glob) finds what it finds in the
/// same files on disk, on the same lines; a prep folder's prefix is refused for now, saying what
/// to do.
#[test]
fn validate_reads_data_files_in_s3() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let folder = d.path().join("v");
    std::fs::create_dir(&folder).unwrap();
    let files = [
        (
            "a.json",
            "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"N\":\"1\"}}}\nnot json\n",
        ),
        (
            "b.json",
            "{\"Item\":{\"pk\":{\"S\":\"b\"},\"x\":{\"N\":\"1e999\"}}}\n{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n",
        ),
    ];
    for (name, body) in files {
        std::fs::write(folder.join(name), body).unwrap();
        put(&rt, &url, &format!("v/{name}"), body.as_bytes().to_vec());
    }
    let run = |arg: &str| {
        let o = prep_aws()
            .args(["validate", arg, "--key", "pk:S", "--output-format", "json"])
            .args(["--endpoint-url", &url, "--path-style"])
            .output()
            .unwrap();
        let (findings, summary) = validate_json(&String::from_utf8_lossy(&o.stdout), arg);
        let mut got: Vec<(String, Option<u64>, String)> = findings
            .iter()
            .map(|f| {
                let file = f["file"].as_str().unwrap_or("");
                let name = file.rsplit('/').next().unwrap_or("").to_string();
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["line"].as_u64(),
                    name,
                )
            })
            .collect();
        got.sort();
        (
            o.status.code(),
            got,
            summary,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, want, s_local, err) = run(folder.to_str().unwrap());
    assert_eq!(code, Some(1), "{err}");
    assert!(want.len() >= 3, "{want:?}");
    for arg in ["s3://bkt/v/", "s3://bkt/v/*.json"] {
        let (code, got, s, err) = run(arg);
        assert_eq!(code, Some(1), "{arg}: {err}");
        assert_eq!(got, want, "{arg}");
        assert_eq!(s["items"], s_local["items"], "{arg}: {s}");
        assert_eq!(s["bytes"], s_local["bytes"], "{arg}: {s}");
    }
    let (code, got, _, err) = run("s3://bkt/v/b.json");
    assert_eq!(code, Some(1), "{err}");
    assert!(!got.is_empty());
}

/// `prep validate` of a prep output in S3 (written by `convert --out s3://`, or uploaded) and of
/// a DynamoDB export in S3 checks the parts against the manifests as for a local folder, finds a
/// changed part and a stray object, and names the S3KeyPrefix to import from.
#[test]
fn validate_checks_outputs_and_exports_in_s3_against_their_manifests() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let run = |args: &[&str]| {
        let o = prep_aws()
            .arg("validate")
            .args(args)
            .args([
                "--output-format",
                "json",
                "--endpoint-url",
                &url,
                "--path-style",
            ])
            .output()
            .unwrap();
        let (findings, summary) = validate_json(&String::from_utf8_lossy(&o.stdout), args[0]);
        let mut got: Vec<(String, String)> = findings
            .iter()
            .map(|f| {
                let file = f["file"].as_str().unwrap_or("");
                let name = file.rsplit('/').next().unwrap_or("").to_string();
                (f["code"].as_str().unwrap().to_string(), name)
            })
            .collect();
        got.sort();
        (o.status.code(), got, summary)
    };
    let local = d.path().join("out");
    let users = fixture("users.csv");
    for out in [local.to_str().unwrap(), "s3://bkt/out/"] {
        let o = prep_aws()
            .args([
                "convert",
                &users,
                "--key",
                "user_id",
                "--endpoint-url",
                &url,
            ])
            .args(["--path-style", "--quiet", "--out", out])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{o:?}");
    }
    let (code, want, s_local) = run(&[local.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{want:?}");
    let (code, got, s) = run(&["s3://bkt/out/"]);
    assert_eq!((code, &got), (Some(0), &want), "{s}");
    assert_eq!(s["items"], s_local["items"], "{s}");
    assert!(
        s["notes"].to_string().contains("S3KeyPrefix out/data/"),
        "{s}"
    );
    // A part changed after the manifest was written, and an object the manifest does not list.
    let part = std::fs::read_dir(local.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let name = part.file_name().unwrap().to_str().unwrap().to_string();
    let mut plain = zstd::decode_all(&std::fs::read(&part).unwrap()[..]).unwrap();
    plain.extend_from_slice(b"{\"Item\":{\"user_id\":{\"S\":\"zz\"}}}\n");
    put(
        &rt,
        &url,
        &format!("out/data/{name}"),
        zstd::encode_all(&plain[..], 1).unwrap(),
    );
    put(&rt, &url, "out/data/extra.json", b"{}\n".to_vec());
    let (code, got, _) = run(&["s3://bkt/out/"]);
    assert_eq!(code, Some(1));
    assert!(
        got.contains(&("X004".into(), "extra.json".into())),
        "{got:?}"
    );
    assert!(got.contains(&("X006".into(), name.clone())), "{got:?}");

    // A DynamoDB export in S3, as DynamoDB writes it.
    let export = "exports/AWSDynamoDB/01700000000000-abcd1234";
    let lines = "{\"Item\":{\"id\":{\"S\":\"1\"}}}\n{\"Item\":{\"id\":{\"S\":\"2\"}}}\n";
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(lines.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    use base64::Engine;
    use md5::Digest;
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&gz));
    put(&rt, &url, &format!("{export}/data/abc.json.gz"), gz);
    put(
        &rt,
        &url,
        &format!("{export}/manifest-files.json"),
        format!(
            "{}\n",
            serde_json::json!({"itemCount": 2, "md5Checksum": md5, "dataFileS3Key": format!("{export}/data/abc.json.gz")})
        )
        .into_bytes(),
    );
    put(
        &rt,
        &url,
        &format!("{export}/manifest-summary.json"),
        serde_json::json!({"version": "2020-06-30", "s3Bucket": "bkt", "itemCount": 2,
            "manifestFilesS3Key": format!("{export}/manifest-files.json")})
        .to_string()
        .into_bytes(),
    );
    let arg = format!("s3://bkt/{export}/");
    let (code, got, s) = run(&[&arg, "--key", "id:S"]);
    assert_eq!(code, Some(0), "{got:?}");
    assert_eq!(s["items"], 2, "{s}");
    assert!(
        s["notes"]
            .to_string()
            .contains(&format!("S3KeyPrefix {export}/data/")),
        "{s}"
    );
}

/// The second S3 server the suite uses, s3s-fs (objects are files under its root): the same
/// inputs read from it give the local files' parts.
#[test]
fn s3s_fs_serves_inputs_as_moto_does() {
    let Some(bin) = S3sFs::bin() else { return };
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir_all(root.join("bkt/in")).unwrap();
    let server = S3sFs::start(&bin, &root);
    let url = server.url();
    let cases = [
        ("types.parquet", vec!["--key", "pk"]),
        ("types.arrow", vec!["--key", "pk"]),
        ("types.arrows", vec!["--key", "pk"]),
        ("public/seattle-weather.csv", vec!["--key", "date"]),
    ];
    for (k, (name, args)) in cases.iter().enumerate() {
        let file = name.rsplit('/').next().unwrap();
        std::fs::copy(fixture(name), root.join("bkt/in").join(file)).unwrap();
        let a = d.path().join(format!("local{k}"));
        let (code_local, s_local, err) =
            convert_s3(&url, &a, &[&[fixture(name).as_str()], &args[..]].concat());
        assert!(code_local <= 1, "{name}: {err}");
        let b = d.path().join(format!("s3-{k}"));
        let s3_url = format!("s3://bkt/in/{file}");
        let (code, s, err) = convert_s3(&url, &b, &[&[s3_url.as_str()], &args[..]].concat());
        assert_eq!(code, code_local, "{name}: {err}");
        assert_eq!(parts_of(&a), parts_of(&b), "{name}: the same parts");
        assert_eq!(s["itemsWritten"], s_local["itemsWritten"], "{name}");
    }
    // The whole prefix at once: every object, in key order.
    let (code, s, err) = convert_s3(
        &url,
        &d.path().join("prefix"),
        &["s3://bkt/in/*.arrow*", "--key", "pk"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(s["rowsRead"], 14, "{s}");
}

/// In a versioned bucket the manifest records the version each input was read at; in an
/// unversioned one it records none.
#[test]
fn versioned_buckets_record_the_version_read() {
    let Some((moto, rt, d)) = moto_with_bucket() else {
        return;
    };
    let url = moto.url();
    let client = s3(&url);
    rt.block_on(client.create_bucket().bucket("ver").send())
        .unwrap();
    rt.block_on(
        client
            .put_bucket_versioning()
            .bucket("ver")
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    for body in ["id,v\n1,a\n", "id,v\n1,b\n2,c\n"] {
        rt.block_on(
            client
                .put_object()
                .bucket("ver")
                .key("x.csv")
                .body(body.as_bytes().to_vec().into())
                .send(),
        )
        .unwrap();
    }
    let latest = rt
        .block_on(client.head_object().bucket("ver").key("x.csv").send())
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let out = d.path().join("v");
    let (code, s, err) = convert_s3(&url, &out, &["s3://ver/x.csv", "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rowsRead"], 2, "the latest version: {s}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest-summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["inputs"][0]["versionId"],
        latest.as_str(),
        "{summary}"
    );

    put(&rt, &url, "plain.csv", b"id,v\n1,a\n".to_vec());
    let out = d.path().join("p");
    let (code, _, err) = convert_s3(&url, &out, &["s3://bkt/plain.csv", "--key", "id"]);
    assert_eq!(code, 0, "{err}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest-summary.json")).unwrap()).unwrap();
    assert!(summary["inputs"][0].get("versionId").is_none(), "{summary}");
}
