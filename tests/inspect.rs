//! `prep inspect`: every figure held to a generated set of items whose distribution is known
//! exactly (sizes, key frequencies, type drift, GSI sparsity), the estimates to their stated
//! error once the key counts outgrow their memory, a real dataset against a plain Python
//! computation, and the HTML report opened in headless Chromium.

mod common;
mod reference;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One generated item: its line and what the test knows of it.
struct Known {
    line: String,
    size: u64,
    pk: String,
    gsi: Option<String>,
    /// The type of `v`.
    v_type: &'static str,
}

/// DynamoDB's size of a number, by the reference.
fn n_size(text: &str) -> u64 {
    reference::number_plain(text).unwrap().1 as u64
}

/// 300 partition keys; key k has 1 + k % 7 items; every third item (by k + j) has the GSI key;
/// `v` is a string on the items of keys with k % 50 == 7, else a number; one item of 300,000
/// bytes of padding and one of 380,000 (near the limit). Items are written j-major, so the file
/// is not ordered by partition key.
fn generate() -> Vec<Known> {
    let mut out = Vec::new();
    for j in 0..7u64 {
        for k in 0..300u64 {
            if j > k % 7 {
                continue;
            }
            let pk = format!("user#{k:04}");
            let pad_len = match (k, j) {
                (0, 0) => 300_000,
                (1, 0) => 380_000,
                _ => 10 + ((k * 31 + j * 7) % 500) as usize,
            };
            let pad = "x".repeat(pad_len);
            let sk = j.to_string();
            let (v, v_type, v_size) = if k % 50 == 7 {
                (r#"{"S":"seven"}"#.to_string(), "S", 5)
            } else {
                let n = format!("{}", k * 1000 + j);
                (format!(r#"{{"N":"{n}"}}"#), "N", n_size(&n))
            };
            let mut attrs = vec![
                format!(r#""pk":{{"S":"{pk}"}}"#),
                format!(r#""sk":{{"N":"{sk}"}}"#),
                format!(r#""pad":{{"S":"{pad}"}}"#),
                format!(r#""v":{v}"#),
            ];
            let mut size = 2 + pk.len() as u64 + 2 + n_size(&sk) + 3 + pad_len as u64 + 1 + v_size;
            let gsi = ((k + j) % 3 == 0).then(|| format!("g{}", (k + j) % 5));
            if let Some(g) = &gsi {
                attrs.push(format!(r#""g":{{"S":"{g}"}}"#));
                size += 1 + g.len() as u64;
            }
            if k == 1 {
                // M → L → M: depth 3. Sizes: 3 + (1 + "a" + L(3 + (1 + 1) + (1 + M(3 + 1 + "b" + 1))))
                attrs.push(r#""m":{"M":{"a":{"L":[{"N":"1"},{"M":{"b":{"S":"c"}}}]}}}"#.into());
                size += 1 + (3 + 1 + 1 + (3 + (1 + 2) + (1 + (3 + 1 + 1 + 1))));
            }
            if k == 2 {
                let members: Vec<String> = (0..=j).map(|i| format!(r#""s{i}""#)).collect();
                attrs.push(format!(r#""set":{{"SS":[{}]}}"#, members.join(",")));
                size += 3 + 2 * (j + 1);
            }
            out.push(Known {
                line: format!(r#"{{"Item":{{{}}}}}"#, attrs.join(",")),
                size,
                pk,
                gsi,
                v_type,
            });
        }
    }
    out
}

/// The items in three files, plain, gzip and zstd.
fn write_files(dir: &Path, items: &[Known]) -> Vec<PathBuf> {
    let thirds: Vec<&[Known]> = items.chunks(items.len().div_ceil(3)).collect();
    let mut paths = Vec::new();
    for (i, chunk) in thirds.iter().enumerate() {
        let mut text = String::new();
        for k in *chunk {
            text.push_str(&k.line);
            text.push('\n');
        }
        let (name, bytes) = match i {
            0 => ("a.json".to_string(), text.into_bytes()),
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text.as_bytes()).unwrap();
                ("b.json.gz".to_string(), e.finish().unwrap())
            }
            _ => (
                "c.json.zst".to_string(),
                zstd::encode_all(text.as_bytes(), 3).unwrap(),
            ),
        };
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    paths
}

fn inspect(args: &[&str]) -> Value {
    let out = prep()
        .arg("inspect")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[test]
fn every_figure_matches_a_known_distribution() {
    let dir = tmp();
    let items = generate();
    let files = write_files(dir.path(), &items);
    let args: Vec<String> = files
        .iter()
        .map(|p| p.display().to_string())
        .chain(
            [
                "--key",
                "pk:S",
                "--sort-key",
                "sk:N",
                "--gsi",
                "byG=g:S",
                "--top",
                "5",
            ]
            .map(String::from),
        )
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = inspect(&args);
    assert_eq!(r["schema"], "prep.inspect/1");

    // Volume: items, and the billed bytes are the files' uncompressed bytes.
    let v = &r["volume"];
    let n = items.len() as u64;
    assert_eq!(v["items"], n);
    assert_eq!(v["files"], 3);
    let uncompressed: u64 = items.iter().map(|k| k.line.len() as u64 + 1).sum();
    assert_eq!(v["uncompressed_bytes"], uncompressed);
    let stored: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(v["stored_bytes"], stored);
    let item_bytes: u64 = items.iter().map(|k| k.size).sum();
    assert_eq!(v["item_bytes"], item_bytes);

    // Item sizes: exact quantiles by nearest rank, the histogram, the largest, near the limit.
    let mut sizes: Vec<u64> = items.iter().map(|k| k.size).collect();
    sizes.sort_unstable();
    let z = &r["item_sizes"];
    assert_eq!(z["min"], sizes[0]);
    assert_eq!(z["max"], *sizes.last().unwrap());
    for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
        assert_eq!(z[name], nearest_rank(&sizes, q), "{name}");
    }
    assert_eq!(z["near_limit"], 1);
    for b in z["histogram"].as_array().unwrap() {
        let (from, to) = (b["from"].as_u64().unwrap(), b["to"].as_u64().unwrap());
        let want = sizes.iter().filter(|&&s| s >= from && s < to).count() as u64;
        assert_eq!(b["items"], want, "{from}..{to}");
    }
    let largest = z["largest"].as_array().unwrap();
    assert_eq!(largest.len(), 5);
    assert_eq!(largest[0]["size"], sizes[sizes.len() - 1]);
    assert_eq!(largest[1]["size"], sizes[sizes.len() - 2]);
    // The 380,000-byte item is user#0001's first, on line 2 of a.json.
    assert!(largest[0]["file"].as_str().unwrap().ends_with("a.json"));
    assert_eq!(largest[0]["line"], 2);

    // Key design: the table's partition keys, exactly.
    let mut per_key: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for k in &items {
        let e = per_key.entry(&k.pk).or_default();
        e.0 += 1;
        e.1 += k.size;
    }
    let t = &r["keys"][0];
    assert_eq!(t["index"], Value::Null);
    assert_eq!(t["items"], n);
    assert_eq!(t["distinct_partition_keys"]["value"], 300);
    assert_eq!(t["distinct_partition_keys"]["exact"], true);
    let mut counts: Vec<u64> = per_key.values().map(|e| e.0).collect();
    counts.sort_unstable();
    let mut bytes: Vec<u64> = per_key.values().map(|e| e.1).collect();
    bytes.sort_unstable();
    assert_eq!(t["items_per_key"]["p50"], nearest_rank(&counts, 0.5));
    assert_eq!(t["items_per_key"]["p99"], nearest_rank(&counts, 0.99));
    assert_eq!(t["items_per_key"]["max"], 7);
    assert_eq!(t["bytes_per_key"]["max"], *bytes.last().unwrap());
    // The hottest: keys with k % 7 == 6 hold 7 items each; ties by key.
    let hottest = t["hottest"].as_array().unwrap();
    let want: Vec<String> = (0..300u64)
        .filter(|k| k % 7 == 6)
        .take(5)
        .map(|k| format!("user#{k:04}"))
        .collect();
    let got: Vec<&str> = hottest.iter().map(|h| h["key"].as_str().unwrap()).collect();
    assert_eq!(got, want);
    for h in hottest {
        assert_eq!(h["items"], 7);
        assert_eq!(h["error_at_most"], 0);
        assert_eq!(h["bytes"], per_key[h["key"].as_str().unwrap()].1);
    }
    // The largest collection is user#0001's (the 380,000-byte item).
    assert_eq!(t["largest_collections"][0]["key"], "user#0001");
    assert_eq!(t["largest_collections"][0]["bytes"], per_key["user#0001"].1);
    assert_eq!(t["max_key_bytes"], 9);

    // Ordering: within each file, the share of consecutive pairs whose partition key ascends.
    let (mut pairs, mut ascending) = (0u64, 0u64);
    for chunk in items.chunks(items.len().div_ceil(3)) {
        for w in chunk.windows(2) {
            pairs += 1;
            ascending += (w[1].pk >= w[0].pk) as u64;
        }
    }
    let order = &t["order"];
    assert!(
        (order["ascending_share"].as_f64().unwrap() - ascending as f64 / pairs as f64).abs()
            < 1e-12
    );
    assert_eq!(order["sorted_files"], serde_json::json!([]));
    assert_eq!(r["keys"][1].get("order"), None, "a GSI has no file order");

    // The sparse GSI: only the items with g.
    let g = &r["keys"][1];
    assert_eq!(g["index"], "byG");
    let with_g: Vec<&Known> = items.iter().filter(|k| k.gsi.is_some()).collect();
    assert_eq!(g["items"], with_g.len() as u64);
    assert_eq!(g["distinct_partition_keys"]["value"], 5);
    let mut g_counts: HashMap<&str, u64> = HashMap::new();
    for k in &with_g {
        *g_counts.entry(k.gsi.as_deref().unwrap()).or_default() += 1;
    }
    let top = &g["hottest"][0];
    assert_eq!(top["items"], *g_counts.values().max().unwrap());
    assert_eq!(top["items"], g_counts[top["key"].as_str().unwrap()]);

    // Attributes: shares, the drift of v with the first item of each type, depth, set sizes.
    let attrs = r["attributes"]["names"].as_array().unwrap();
    let attr = |name: &str| attrs.iter().find(|a| a["name"] == name).unwrap().clone();
    assert_eq!(attr("pk")["items"], n);
    assert_eq!(attr("pk")["drift"], false);
    let v = attr("v");
    assert_eq!(v["drift"], true);
    let s_items = items.iter().filter(|k| k.v_type == "S").count() as u64;
    let types = v["types"].as_array().unwrap();
    assert_eq!(types[0]["type"], "N");
    assert_eq!(types[1]["type"], "S");
    assert_eq!(types[1]["items"], s_items);
    // The first string v: user#0007's first item, line 8 of a.json.
    assert_eq!(types[1]["first"]["line"], 8);
    assert!(types[1]["first"]["file"]
        .as_str()
        .unwrap()
        .ends_with("a.json"));
    assert_eq!(attr("m")["max_depth"], 3);
    assert_eq!(attr("set")["set_members_max"], 3);
    assert_eq!(attr("g")["items"], with_g.len() as u64);

    // Cost: the import's price times the billed GB; write units per KB started, once for the
    // table and once more for each item the GSI holds.
    let c = &r["cost"];
    let gb = uncompressed as f64 / (1u64 << 30) as f64;
    assert!((c["import"]["quantity"].as_f64().unwrap() - gb).abs() < 1e-12);
    assert!((c["import"]["usd"].as_f64().unwrap() - gb * 0.15).abs() < 1e-12);
    let wru: u64 = items
        .iter()
        .map(|k| k.size.div_ceil(1024).max(1) * if k.gsi.is_some() { 2 } else { 1 })
        .sum();
    assert!((c["batch_write"]["quantity"].as_f64().unwrap() - wru as f64 / 1e6).abs() < 1e-12);
    let stored_bytes: u64 = items
        .iter()
        .map(|k| (k.size + 100) * if k.gsi.is_some() { 2 } else { 1 })
        .sum();
    let st = stored_bytes as f64 / (1u64 << 30) as f64;
    assert!((c["storage_monthly"]["quantity"].as_f64().unwrap() - st).abs() < 1e-12);

    // Limits and findings: the files mix compressions, which one import cannot take (X001
    // for the two files unlike the first); every other limit holds.
    assert_eq!(r["findings"]["by_rule"], serde_json::json!({"X001": 2}));
    for l in r["limits"].as_array().unwrap() {
        let validate = l["check"].as_str().unwrap().contains("prep validate");
        assert_eq!(l["ok"], !validate, "{l}");
    }
}

#[test]
fn counts_past_their_memory_are_estimates_within_their_error() {
    let dir = tmp();
    // 30,000 keys once each, and one key 3,000 times, spread through the file.
    let mut text = String::new();
    for i in 0..33_000u64 {
        let pk = if i % 11 == 0 {
            "hot".to_string()
        } else {
            format!("k{i}")
        };
        text.push_str(&format!(r#"{{"Item":{{"pk":{{"S":"{pk}"}}}}}}"#));
        text.push('\n');
    }
    let f = write(dir.path(), "many.json", &text);
    let distinct_true = 33_000 - 3_000 + 1;
    let r = inspect(&[&f, "--key", "pk:S", "--key-memory", "1"]);
    let t = &r["keys"][0];
    let d = &t["distinct_partition_keys"];
    assert_eq!(d["exact"], false);
    let err = d["relative_error"].as_f64().unwrap();
    assert!(err > 0.0 && err < 0.05, "{err}");
    let off = (d["value"].as_f64().unwrap() - distinct_true as f64).abs() / distinct_true as f64;
    assert!(off < 4.0 * err, "{d} against {distinct_true}");
    assert_eq!(t["items_per_key"]["exact"], false);
    let hot = &t["hottest"][0];
    assert_eq!(hot["key"], "hot");
    let (counted, slack) = (
        hot["items"].as_u64().unwrap(),
        hot["error_at_most"].as_u64().unwrap(),
    );
    assert!(counted <= 3000 && 3000 <= counted + slack, "{hot}");
    // With the default memory the same file is exact.
    let r = inspect(&[&f, "--key", "pk:S"]);
    assert_eq!(
        r["keys"][0]["distinct_partition_keys"]["value"],
        distinct_true
    );
    assert_eq!(r["keys"][0]["hottest"][0]["items"], 3000);
}

#[test]
fn a_prep_output_folder_takes_its_keys_from_the_manifest_and_counts_findings() {
    let dir = tmp();
    let out = dir.path().join("out");
    // The shop has rejects and duplicates on purpose (exit 1); the parts hold the good items.
    let (code, _, _) = convert(&out, &["--map", &fixture("single-table/shop.toml")]);
    assert_ne!(code, 2);
    let r = inspect(&[out.to_str().unwrap()]);
    let keys = r["keys"].as_array().unwrap();
    assert_eq!(keys[0]["partition"][0], "PK");
    assert_eq!(keys[0]["sort"][0], "SK");
    assert_eq!(keys[1]["index"], "GSI1");
    let lines = read_part_lines(&out);
    assert_eq!(r["volume"]["items"], lines.len() as u64);
    assert_eq!(r["findings"]["errors"], 0);

    // A file with a bad line and a duplicate: counted under findings, pointed to validate.
    let bad = write(
        dir.path(),
        "bad.json",
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n{\"Item\":{\"pk\":{\"S\":\"a\"}}}\nnot json\n",
    );
    let r = inspect(&[&bad, "--key", "pk:S"]);
    assert_eq!(r["volume"]["items"], 2);
    assert_eq!(r["volume"]["lines"], 3);
    assert_eq!(r["findings"]["by_rule"]["F001"], 1);
    // The import abandons a file at a line it cannot read: nothing follows "not json" here.
    assert!(
        !r["notes"].to_string().contains("abandon"),
        "{}",
        r["notes"]
    );
    let cut = write(
        dir.path(),
        "cut.json",
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\nnot json\n{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n",
    );
    let lost = inspect(&[&cut, "--key", "pk:S"]);
    assert!(
        lost["notes"]
            .to_string()
            .contains("1 items in 1 files lie behind"),
        "{}",
        lost["notes"]
    );
    assert_eq!(r["findings"]["by_rule"]["D001"], 1);
    let errors = r["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["check"].as_str().unwrap().contains("prep validate"))
        .unwrap()
        .clone();
    assert_eq!(errors["ok"], false);
    // Text: the same figures for people, and the pointer to validate.
    let text = prep()
        .args(["inspect", &bad, "--key", "pk:S"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("run it for the list"), "{text}");
    assert!(text.contains("Item sizes"), "{text}");
}

#[test]
fn a_region_without_prices_asks_for_one_and_an_override_is_used() {
    let dir = tmp();
    let f = write(dir.path(), "a.json", "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n");
    let r = inspect(&[&f, "--region", "ap-south-2"]);
    assert_eq!(r["cost"], Value::Null);
    assert!(
        r["notes"].to_string().contains("--price-per-gb"),
        "{}",
        r["notes"]
    );
    // The quota outside the three large regions is 1 TB.
    let quota = r["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["check"].as_str().unwrap().starts_with("stored size"))
        .unwrap()["limit"]
        .as_f64()
        .unwrap();
    assert_eq!(quota, 1e12);
    let r = inspect(&[&f, "--region", "ap-south-2", "--price-per-gb", "2"]);
    assert_eq!(r["cost"]["import"]["price"], 2.0);
    assert_eq!(r["cost"]["batch_write"], Value::Null);
    let out = prep()
        .args(["inspect", &f, "--price-per-gb=-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 or more"));
}

/// Every non-blank line of an output folder's parts.
fn read_part_lines(out: &Path) -> Vec<String> {
    lines(out)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The independent computation: the output's parts read by Python's json module, sizes by
/// DynamoDB's formula written in Python with `decimal`.
const PYTHON_FIGURES: &str = r#"
import json, sys, zstandard, gzip, glob, os, collections
from decimal import Decimal

def n_size(text):
    d = Decimal(text)
    if d == 0:
        return 1
    sign, digits, exp = d.as_tuple()
    digits = list(digits)
    while digits and digits[-1] == 0:
        digits.pop(); exp += 1
    while digits and digits[0] == 0:
        digits.pop(0)
    n = len(digits)
    lead = exp + n - 1
    size = 1 + (n + 1) // 2
    if n % 2 == 0 and lead % 2 == 0:
        size += 1
    if sign:
        size += 1
    return size

def size(v):
    (t, x), = v.items()
    if t == "S": return len(x.encode())
    if t == "N": return n_size(x)
    if t == "B": return len(__import__("base64").b64decode(x))
    if t in ("BOOL", "NULL"): return 1
    if t == "L": return 3 + sum(1 + size(e) for e in x)
    if t == "M": return 3 + sum(1 + len(k.encode()) + size(e) for k, e in x.items())
    if t == "SS": return sum(len(e.encode()) for e in x)
    if t == "NS": return sum(n_size(e) for e in x)
    if t == "BS": return sum(len(__import__("base64").b64decode(e)) for e in x)
    raise ValueError(t)

items = []
for p in sorted(glob.glob(os.path.join(sys.argv[1], "data", "*"))):
    raw = open(p, "rb").read()
    if p.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 30)
    elif p.endswith(".gz"):
        raw = gzip.decompress(raw)
    items += [json.loads(l)["Item"] for l in raw.decode().splitlines() if l.strip()]
sizes = sorted(sum(len(k.encode()) + size(v) for k, v in it.items()) for it in items)
pks = collections.Counter(next(iter(it[sys.argv[2]].values())) for it in items)
names = collections.Counter(k for it in items for k in it)
types = {k: sorted({t for it in items if k in it for t in it[k]}) for k in names}
rank = lambda q: sizes[max(1, min(len(sizes), -(-int(q * len(sizes) * 1000) // 1000))) - 1]
print(json.dumps({
    "items": len(items), "item_bytes": sum(sizes), "min": sizes[0], "max": sizes[-1],
    "p50": sizes[max(1, -(-len(sizes) // 2)) - 1],
    "distinct": len(pks), "hottest": pks.most_common(1)[0][1],
    "names": dict(names), "types": types,
}))
"#;

#[test]
fn a_real_dataset_agrees_with_a_plain_python_computation() {
    let Some(python) = servers_python("zstandard") else {
        return;
    };
    let dir = tmp();
    let out = dir.path().join("out");
    let (code, _, _) = convert(
        &out,
        &[
            &fixture("public/penguins-raw.csv"),
            "--key",
            "Species",
            "--sort-key",
            "Individual ID",
        ],
    );
    assert!(code == 0 || code == 1, "converted (duplicates allowed)");
    let r = inspect(&[out.to_str().unwrap()]);
    let py = std::process::Command::new(python)
        .args(["-c", PYTHON_FIGURES, out.to_str().unwrap(), "Species"])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let py: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(r["volume"]["items"], py["items"]);
    assert_eq!(r["volume"]["item_bytes"], py["item_bytes"]);
    for f in ["min", "max", "p50"] {
        assert_eq!(r["item_sizes"][f], py[f], "{f}");
    }
    assert_eq!(
        r["keys"][0]["distinct_partition_keys"]["value"],
        py["distinct"]
    );
    assert_eq!(r["keys"][0]["hottest"][0]["items"], py["hottest"]);
    let attrs = r["attributes"]["names"].as_array().unwrap();
    assert_eq!(attrs.len(), py["names"].as_object().unwrap().len());
    for a in attrs {
        let name = a["name"].as_str().unwrap();
        assert_eq!(a["items"], py["names"][name], "{name}");
        let mut types: Vec<&str> = a["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["type"].as_str().unwrap())
            .collect();
        types.sort_unstable();
        let want: Vec<&str> = py["types"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(types, want, "{name}");
    }
}

/// The test virtualenv's Python if it has `module` (skipped without, except under CI).
fn servers_python(module: &str) -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install {module} (scripts/install-test-tools.sh)"
    );
    eprintln!("skipping: run scripts/install-test-tools.sh for {module}");
    None
}
#[test]
fn the_billed_bytes_are_the_files_bytes_over_long_lines_and_a_missing_last_newline_included() {
    let dir = tmp();
    // Past --max-line-bytes (and the reader's doubling blocks): skipped as it streams.
    let long = format!(
        r#"{{"Item":{{"pk":{{"S":"{}"}}}}}}"#,
        "y".repeat(20_000_000)
    );
    let body = format!(
        "{{\"Item\":{{\"pk\":{{\"S\":\"a\"}}}}}}\r\n\n{long}\n{{\"Item\":{{\"pk\":{{\"S\":\"b\"}}}}}}"
    );
    let f = write(dir.path(), "a.json", &body);
    let r = inspect(&[&f, "--key", "pk:S", "--max-line-bytes", "1MiB"]);
    assert_eq!(r["volume"]["uncompressed_bytes"], body.len() as u64);
    assert_eq!(r["volume"]["lines"], 4);
    assert_eq!(r["volume"]["items"], 2);
    assert_eq!(r["findings"]["by_rule"]["I001"], 1);
}

/// Debian's Chromium, if installed (scripts/install-test-tools.sh installs it where it can);
/// skipped without it, except under CI.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        if found.is_some() {
            return found;
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install chromium (scripts/install-test-tools.sh)"
    );
    eprintln!(
        "skipping: install chromium (scripts/install-test-tools.sh) for the HTML report test"
    );
    None
}

#[test]
fn the_html_report_is_self_contained_and_draws_its_charts_in_a_real_browser() {
    let dir = tmp();
    let items = generate();
    let files = write_files(dir.path(), &items);
    let html = dir.path().join("report.html");
    let mut args: Vec<String> = vec!["inspect".into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    args.extend(
        [
            "--key",
            "pk:S",
            "--sort-key",
            "sk:N",
            "--gsi",
            "byG=g:S",
            "--html",
            html.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let out = prep().args(&args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap();
    // Nothing to fetch: no script, no stylesheet or image by reference, no remote font.
    for banned in ["<script", "src=", "href=", "@import", "url(", "<link"] {
        assert!(!text.contains(banned), "the report holds {banned:?}");
    }
    assert!(text.contains("user#0006"), "the hottest keys are named");
    assert!(text.contains("byG"), "the GSI is named");

    let Some(browser) = chromium() else {
        return;
    };
    let shot = dir.path().join("report.png");
    let profile = dir.path().join("chromium-profile");
    let run = std::process::Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1100,4200",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "chromium failed: {log}");
    // The page logs nothing to its console: no error, no failed load.
    assert!(!log.contains("CONSOLE"), "console output: {log}");

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let rgb = |hex: &str| {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
        [(v >> 16) as u8, (v >> 8) as u8, v as u8]
    };
    let painted = |hex: &str| {
        let want = rgb(hex);
        px.chunks(step).filter(|p| p[..3] == want).count()
    };
    // Each chart draws its bars in its own colour: every chart has painted pixels.
    use prep::profile::html::{COLOUR_FILES, COLOUR_GSI, COLOUR_HOT, COLOUR_SIZES};
    for (chart, colour) in [
        ("item sizes", COLOUR_SIZES),
        ("hottest keys", COLOUR_HOT),
        ("GSI coverage", COLOUR_GSI),
        ("file sizes", COLOUR_FILES),
    ] {
        let n = painted(colour);
        assert!(n > 500, "the {chart} chart drew {n} pixels of {colour}");
    }
    // And the page is not blank around them.
    let white = px
        .chunks(step)
        .filter(|p| p[..3] == [255, 255, 255])
        .count();
    assert!(white < px.len() / step, "a blank page");
}

/// The figures of a report that do not depend on how its items are named (by input and row in a
/// conversion's report, by part and line in an inspection).
fn placeless(r: &Value) -> Value {
    let mut r = r.clone();
    r["volume"]["per_file"] = Value::Null;
    r["item_sizes"]["largest"] = Value::Null;
    for a in r["attributes"]["names"].as_array_mut().unwrap() {
        for t in a["types"].as_array_mut().unwrap() {
            t["first"] = Value::Null;
        }
    }
    for k in ["findings", "limits", "notes"] {
        r[k] = Value::Null;
    }
    // The order of items is told per file: parts here, inputs there.
    r["keys"][0]["order"] = Value::Null;
    r
}

#[test]
fn convert_report_gives_what_inspect_of_its_output_gives_from_the_same_pass() {
    let dir = tmp();
    let map = fixture("single-table/shop.toml");
    for (name, extra) in [("json", vec![]), ("ion", vec!["--format", "ion"])] {
        let out = dir.path().join(name);
        let mut args = vec!["--map", map.as_str(), "--report"];
        args.extend(extra.iter().copied());
        let (code, summary, _) = convert(&out, &args);
        assert_eq!(code, 1, "the shop has a reject and a duplicate on purpose");
        assert_eq!(summary["report"], "report.json");
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let inspected = inspect(&[out.to_str().unwrap()]);
        assert_eq!(placeless(&report), placeless(&inspected), "{name}");
        // The conversion names items by input and row, and counts its own rejects.
        let largest = &report["item_sizes"]["largest"][0];
        assert!(
            largest["file"]
                .as_str()
                .unwrap()
                .contains("fixtures/single-table/"),
            "{largest}"
        );
        assert_eq!(report["findings"]["counted_by"], "prep convert");
        assert_eq!(report["findings"]["by_rule"]["M001"], 1);
        assert_eq!(report["findings"]["by_rule"]["D001"], 1);
        assert_eq!(report["findings"]["rejected_lines"], 1);
        // Parts are the report's files.
        let parts = report["volume"]["per_file"].as_array().unwrap();
        assert!(parts[0]["file"].as_str().unwrap().contains("/data/part-"));
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
    }
    // A shard has part of the items: its report would mislead.
    let out = prep()
        .args(["convert", &fixture("users.csv"), "--key", "id", "--out"])
        .arg(dir.path().join("s"))
        .args(["--shard", "0/2", "--report"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn convert_report_of_every_column_type_gives_what_inspect_of_its_output_gives() {
    // The column encoder notes each item as it writes it (sizes, types, nesting, set members,
    // key values): every Arrow type, sets made by --type, NULLs, and GSIs keyed by binary and
    // by two attributes, held to the written lines read back by inspect.
    let dir = tmp();
    let types = fixture("types.arrow");
    let ss = dir.path().join("sets.csv");
    std::fs::write(
        &ss,
        "id,ss,ns,bs,n\n1,a;b;c,1;2.50;3e2,YQ==;Yg==,7\n2,x,5,,\n3,,,,0.5\n4,q;r,8;9,YQ==,12\n",
    )
    .unwrap();
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("arrow", vec![types.as_str(), "--key", "pk"]),
        (
            "nulls",
            vec![
                types.as_str(),
                "--key",
                "pk",
                "--nulls",
                "null",
                "--gsi",
                "byBin=bin_fixed:B",
                "--gsi",
                "byTwo=s_large:S+i32:N,u8:N",
            ],
        ),
        (
            "sets",
            vec![
                ss.to_str().unwrap(),
                "--key",
                "id:N",
                "--type",
                "ss=SS:;",
                "--type",
                "ns=NS:;",
                "--type",
                "bs=BS:;",
                "--gsi",
                "byN=n:N",
            ],
        ),
    ];
    for (name, args) in runs {
        for extra in [vec![], vec!["--format", "ion"]] {
            let out = dir.path().join(format!("{name}{}", extra.len()));
            let mut a = args.clone();
            a.push("--report");
            a.extend(extra.iter().copied());
            convert(&out, &a);
            let report: Value =
                serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
            assert!(report["volume"]["items"].as_u64().unwrap() >= 3, "{name}");
            let inspected = inspect(&[out.to_str().unwrap()]);
            assert_eq!(
                placeless(&report),
                placeless(&inspected),
                "{name} {extra:?}"
            );
        }
    }
}

#[test]
fn data_files_are_inspected_as_prep_convert_would_write_them_without_writing_anything() {
    let dir = tmp();
    let out = dir.path().join("out");
    let map = fixture("single-table/shop.toml");
    let (code, _, _) = convert(&out, &["--map", &map, "--report"]);
    assert_eq!(code, 1);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    // The same map inspected: the same figures, items named by input and row alike.
    let dry = inspect(&["--map", &map]);
    let strip = |r: &Value| {
        let mut r = r.clone();
        r["volume"]["per_file"] = Value::Null;
        r["notes"] = Value::Null;
        r
    };
    assert_eq!(strip(&dry), strip(&report));
    assert!(dry["notes"].to_string().contains("dry run"));
    // The parts it would write are its files; nothing was written.
    let parts = dry["volume"]["per_file"].as_array().unwrap();
    assert!(parts[0]["file"]
        .as_str()
        .unwrap()
        .starts_with("(dry run)/data/part-"));
    let orders = fixture("single-table/orders.parquet");
    let r = inspect(&[&orders, "--key", "order_id:N", "--top", "3"]);
    assert_eq!(r["volume"]["items"], 120);
    assert_eq!(r["keys"][0]["distinct_partition_keys"]["value"], 120);
    // Data files and import files are inspected apart; data files need a key.
    let json = write(dir.path(), "a.json", "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n");
    for args in [vec![orders.as_str(), json.as_str()], vec![orders.as_str()]] {
        let o = prep().arg("inspect").args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty());
    }
}

#[test]
fn shards_with_report_leave_their_counts_and_merge_writes_the_run_s_report() {
    let dir = tmp();
    let map = fixture("single-table/shop.toml");
    let single = dir.path().join("single");
    let (code, _, _) = convert(&single, &["--map", &map, "--report"]);
    assert_eq!(code, 1);
    let sharded = dir.path().join("sharded");
    for i in 0..3 {
        let o = prep()
            .args(["convert", "--map", &map, "--report", "-q", "--shard"])
            .arg(format!("{i}/3"))
            .arg("--out")
            .arg(&sharded)
            .output()
            .unwrap();
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let state = sharded.join(format!("shards/shard-0000{i}-of-00003.profile.json"));
        assert!(state.exists(), "shard {i} keeps its counts");
    }
    assert!(
        !sharded.join("report.json").exists(),
        "no shard writes the run's report"
    );
    let o = prep().arg("merge").arg(&sharded).output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let one: Value =
        serde_json::from_slice(&std::fs::read(single.join("report.json")).unwrap()).unwrap();
    let merged: Value =
        serde_json::from_slice(&std::fs::read(sharded.join("report.json")).unwrap()).unwrap();
    // Everything but the parts' layout (their number, sizes and compression) is the single run's.
    let layoutless = |r: &Value| {
        let mut r = r.clone();
        let v = r["volume"].take();
        r["volume"] = serde_json::json!({
            "items": v["items"], "lines": v["lines"],
            "uncompressed_bytes": v["uncompressed_bytes"], "item_bytes": v["item_bytes"],
        });
        r["limits"] = Value::Null;
        // A source split between shards loses the pair across each split.
        r["keys"][0]["order"]["ascending_share"] = Value::Null;
        r
    };
    assert_eq!(layoutless(&merged), layoutless(&one));
    assert!(sharded.join("report.html").exists());

    // Shards converted without --report: a merge writes no report (and says nothing).
    let plain = dir.path().join("plain");
    for i in 0..2 {
        let o = prep()
            .args(["convert", "--map", &map, "-q", "--shard"])
            .arg(format!("{i}/2"))
            .arg("--out")
            .arg(&plain)
            .output()
            .unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)));
    }
    let o = prep().arg("merge").arg(&plain).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)));
    assert!(!plain.join("report.json").exists());
}

#[test]
fn files_sorted_by_partition_key_are_named() {
    let dir = tmp();
    let mut sorted = String::new();
    let mut shuffled = String::new();
    for i in 0..3000u64 {
        sorted.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"user#{:05}\"}}}}}}\n",
            i / 2
        ));
        let j = (i * 7919) % 3000;
        shuffled.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"user#{j:05}\"}}}}}}\n"
        ));
    }
    // Sorted as text, keys of different lengths (user#1, user#10, user#100, …): sorted by the
    // key's bytes, as validate's W001 compares them, not by length first.
    let mut keys: Vec<String> = (0..3000u64).map(|i| format!("user#{i}")).collect();
    keys.sort();
    let unpadded: String = keys
        .iter()
        .map(|k| format!("{{\"Item\":{{\"pk\":{{\"S\":\"{k}\"}}}}}}\n"))
        .collect();
    let a = write(dir.path(), "sorted.json", &sorted);
    let b = write(dir.path(), "shuffled.json", &shuffled);
    let c = write(dir.path(), "unpadded.json", &unpadded);
    let r = inspect(&[&a, &b, &c, "--key", "pk:S"]);
    let order = &r["keys"][0]["order"];
    assert_eq!(order["sorted_files"], serde_json::json!([a, c]));
    // The same files validate calls sorted (W001).
    let v = prep()
        .args([
            "validate",
            &a,
            &b,
            &c,
            "--key",
            "pk:S",
            "--output-format",
            "json",
        ])
        .output()
        .unwrap();
    // One finding a line, then the summary.
    let mut w001: Vec<String> = String::from_utf8(v.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|f| f["code"] == "W001")
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    w001.sort();
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(w001, want);
    let text = prep()
        .args(["inspect", &a, "--key", "pk:S"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("shuffle the rows"));
}
