//! Helpers for the CLI tests: run the real binary, read its output folder back.
#![allow(dead_code)]

pub mod servers;

// Also loaded by tests/reference, which the fuzz targets include on its own.
#[path = "../reference/crc.rs"]
#[allow(clippy::duplicate_mod)]
mod crc;
#[allow(unused_imports)]
pub use crc::crc64nvme;

use assert_cmd::Command;
use serde_json::{Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder, removed when dropped.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The lines of an output folder's rejects.jsonl (none when there is no such file).
pub fn rejects(out: &Path) -> Vec<serde_json::Value> {
    let p = out.join("rejects.jsonl");
    if p.exists() {
        read_jsonl(&p)
    } else {
        Vec::new()
    }
}

pub fn prep() -> Command {
    Command::cargo_bin("prep").unwrap()
}

/// `prep validate --output-format json` output split into its findings and its summary (every
/// line must be JSON; `context` is shown when one is not).
pub fn validate_json(stdout: &str, context: &str) -> (Vec<Value>, Value) {
    let mut findings = Vec::new();
    let mut summary = Value::Null;
    for l in stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|_| panic!("{l} / {context}"));
        if let Some(s) = v.get("summary") {
            summary = s.clone();
        } else {
            findings.push(v);
        }
    }
    (findings, summary)
}

/// `prep validate ARGS --output-format json`: (exit code, findings, summary); a run that could
/// not start (exit 2) fails the test.
pub fn validate(args: &[&str]) -> (i32, Vec<Value>, Value) {
    let o = prep()
        .arg("validate")
        .args(args)
        .args(["--output-format", "json"])
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(code != 2, "could not run: {stderr}");
    let (findings, summary) = validate_json(&stdout, &stderr);
    (code, findings, summary)
}

/// Run `prep convert` with `args`, plus `--out OUT --json`; returns (exit code, summary, stderr).
pub fn convert(out: &Path, args: &[&str]) -> (i32, Value, String) {
    let o = prep()
        .arg("convert")
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    let summary = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    if out.join("manifest-files.json").exists() {
        let items = check_output(out);
        if let Some(n) = summary["itemsWritten"].as_u64() {
            assert_eq!(
                items.len() as u64,
                n,
                "itemsWritten against the lines in the parts"
            );
        }
    }
    (code, summary, stderr)
}

/// Every item of an output folder parsed back by an independent full parser (serde_json for
/// DynamoDB JSON parts, ion-rs for Ion parts), framing and descriptors checked, as plain values
/// (see [`plain`]). Every test that runs `prep convert` goes through this, so an invalid line
/// cannot pass a test unnoticed.
pub fn check_output(out: &Path) -> Vec<Map<String, Value>> {
    let mut items = Vec::new();
    for p in parts(out) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = read_part(&p);
        let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"));
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} ends with a newline"
        );
        for (k, line) in text.lines().enumerate() {
            let at = format!("{name} line {}: {line}", k + 1);
            assert!(!line.contains('\r'), "no CR inside an item line: {at}");
            let attrs = if name.contains(".ion") {
                ion_item(line)
            } else {
                let m = std::panic::catch_unwind(|| item(line))
                    .unwrap_or_else(|_| panic!("not a DynamoDB JSON item: {at}"));
                m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()
            };
            items.push(attrs);
        }
    }
    items
}

/// Parse an Ion item line (`$ion_1_0 {Item:{...}}`) with ion-rs, checking DynamoDB's Ion
/// mapping (decimals only, sets as annotated lists), into the same plain values as [`plain`].
pub fn ion_item(line: &str) -> Map<String, Value> {
    use ion_rs::Element;
    assert!(
        line.starts_with("$ion_1_0 "),
        "Ion lines start with $ion_1_0: {line}"
    );
    let seq = Element::read_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("ion-rs cannot read {line}: {e}"));
    assert_eq!(seq.len(), 1, "one value per line: {line}");
    let top = seq.iter().next().unwrap().as_struct().expect("a struct");
    let fields: Vec<_> = top.fields().collect();
    assert_eq!(fields.len(), 1, "only an Item field: {line}");
    assert_eq!(fields[0].0.text(), Some("Item"));
    fields[0]
        .1
        .as_struct()
        .expect("Item is a struct")
        .fields()
        .map(|(k, v)| (k.text().expect("field name text").to_string(), ion_plain(v)))
        .collect()
}

/// An Ion value of an item as a plain value (see [`plain`]).
pub fn ion_plain(e: &ion_rs::Element) -> Value {
    use base64::Engine;
    use ion_rs::IonType;
    let set = ["$dynamodb_SS", "$dynamodb_NS", "$dynamodb_BS"]
        .into_iter()
        .find(|a| e.annotations().contains(a));
    if e.is_null() {
        assert_eq!(e.ion_type(), IonType::Null, "only untyped null: {e}");
        return Value::Null;
    }
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match e.ion_type() {
        IonType::String => Value::String(e.as_string().unwrap().to_string()),
        IonType::Bool => Value::Bool(e.as_bool().unwrap()),
        IonType::Decimal => {
            let d = e.as_decimal().unwrap();
            let c = d.coefficient();
            let text = format!(
                "{}{}E{}",
                if c.is_negative() { "-" } else { "" },
                c.magnitude(),
                d.exponent()
            );
            Value::String(canon(&text))
        }
        IonType::Blob => b64(e.as_blob().unwrap()),
        IonType::Struct => Value::Object(
            e.as_struct()
                .unwrap()
                .fields()
                .map(|(k, v)| (k.text().unwrap().to_string(), ion_plain(v)))
                .collect(),
        ),
        IonType::List => {
            let l = e.as_sequence().unwrap();
            match set {
                Some("$dynamodb_SS") => Value::Array(
                    l.iter()
                        .map(|m| Value::String(m.as_string().expect("SS of strings").into()))
                        .collect(),
                ),
                Some("$dynamodb_NS") => Value::Array(
                    l.iter()
                        .map(|m| {
                            assert_eq!(m.ion_type(), IonType::Decimal, "NS of decimals: {e}");
                            ion_plain(m)
                        })
                        .collect(),
                ),
                Some(_) => Value::Array(
                    l.iter()
                        .map(|m| b64(m.as_blob().expect("BS of blobs")))
                        .collect(),
                ),
                None => Value::Array(l.iter().map(ion_plain).collect()),
            }
        }
        other => panic!("{other} is not a DynamoDB Ion type (numbers are decimals): {e}"),
    }
}

/// The data files of an output folder, sorted.
pub fn parts(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out.join("data"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A part's bytes, decompressed by its extension.
pub fn read_part(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).unwrap();
    let name = p.to_string_lossy();
    if name.ends_with(".zst") {
        zstd::decode_all(&raw[..]).unwrap()
    } else if name.ends_with(".gz") {
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut s)
            .unwrap();
        s
    } else {
        raw
    }
}

/// Every item line of the output, in order.
pub fn lines(out: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for p in parts(out) {
        let text = String::from_utf8(read_part(&p)).unwrap();
        assert!(text.ends_with('\n'), "a part ends with a newline");
        v.extend(text.lines().map(str::to_string));
    }
    v
}

/// Parse a DynamoDB JSON line, checking its framing, and return the attribute map.
pub fn item(line: &str) -> Map<String, Value> {
    let v: Value = serde_json::from_str(line).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "only an Item key: {line}");
    obj["Item"].as_object().unwrap().clone()
}

/// Canonical number text, for comparing numbers written differently (1.50 = 1.5).
pub fn canon(s: &str) -> String {
    prep::model::number::canonical(s).unwrap_or_else(|_| s.to_string())
}

/// A DynamoDB attribute value as plain JSON (numbers canonical strings, B base64 strings),
/// checking that each value carries exactly one descriptor.
pub fn plain(v: &Value) -> Value {
    let o = v.as_object().expect("attribute value is an object");
    assert_eq!(o.len(), 1, "exactly one descriptor: {v}");
    let (t, x) = o.iter().next().unwrap();
    match t.as_str() {
        "S" | "B" => Value::String(x.as_str().unwrap().to_string()),
        "N" => Value::String(canon(x.as_str().unwrap())),
        "BOOL" => Value::Bool(x.as_bool().unwrap()),
        "NULL" => {
            assert_eq!(x, &Value::Bool(true));
            Value::Null
        }
        "L" => Value::Array(x.as_array().unwrap().iter().map(plain).collect()),
        "M" => Value::Object(
            x.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), plain(v)))
                .collect(),
        ),
        "SS" | "BS" => x.clone(),
        "NS" => Value::Array(
            x.as_array()
                .unwrap()
                .iter()
                .map(|n| Value::String(canon(n.as_str().unwrap())))
                .collect(),
        ),
        other => panic!("unknown descriptor {other}"),
    }
}

/// Plain JSON from Arrow (prep::encoding::plain) with numbers as canonical strings and nulls
/// dropped from objects, the way items leave them out.
pub fn normalise(v: &Value, drop_nulls: bool) -> Value {
    match v {
        Value::Number(n) => Value::String(canon(&n.to_string())),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, false)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !(drop_nulls && x.is_null()))
                .map(|(k, x)| (k.clone(), normalise(x, drop_nulls)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Write a CSV file under `dir`.
pub fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

/// Run a command, sampling its resident memory every few milliseconds; returns its output and
/// the peak resident set seen (VmHWM, in MiB).
pub fn run_measured(mut cmd: std::process::Command) -> (std::process::Output, u64) {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        stdout.read_to_end(&mut v).unwrap();
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        stderr.read_to_end(&mut v).unwrap();
        v
    });
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            for l in text.lines() {
                if let Some(v) = l.strip_prefix("VmHWM:") {
                    let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak_kb = peak_kb.max(kb);
                }
            }
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let output = std::process::Output {
        status,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    };
    (output, peak_kb / 1024)
}

/// `prep validate PATH --key KEY --output-format json --max-line-bytes 4MiB` under
/// [`run_measured`]: (exit code, stdout, peak RSS in MiB).
pub fn validate_measured(path: &std::path::Path, key: &str) -> (Option<i32>, String, u64) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("prep"));
    cmd.arg("validate").arg(path).args([
        "--key",
        key,
        "--output-format",
        "json",
        "--max-line-bytes",
        "4MiB",
    ]);
    let (o, peak) = run_measured(cmd);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        peak,
    )
}
