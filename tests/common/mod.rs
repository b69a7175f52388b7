//! Helpers for the CLI tests: run the real binary, read its output folder back.
#![allow(dead_code)]

pub mod servers;

use assert_cmd::Command;
use serde_json::{Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn prep() -> Command {
    Command::cargo_bin("prep").unwrap()
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
    (code, summary, stderr)
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

/// Plain JSON from Arrow (prep::encode::plain) with numbers as canonical strings and nulls
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
