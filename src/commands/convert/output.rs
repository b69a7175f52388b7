//! What a conversion leaves behind besides the parts: manifests, import-table.json, the closing
//! summary.

use super::{ConvertOptions, Report};
use crate::input::Source;
use crate::model::keys::KeySchema;
use crate::model::temporal;
use crate::output::store::OutputStore;
use crate::output::Destination;
use crate::pipeline::progress::human_bytes;
pub use crate::pipeline::progress::thousands;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The table name for import-table.json: `--table`, the table definition's, or the output
/// folder's name (an S3 prefix's last level, or its bucket's name) made valid (3–255 of
/// `[a-zA-Z0-9_.-]`).
pub fn table_name(opts: &ConvertOptions, keys: &KeySchema) -> String {
    if let Some(t) = opts.table_name.clone().or_else(|| keys.table_name.clone()) {
        return t;
    }
    let base = match &opts.out {
        Destination::Folder(out) => out
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
        Destination::S3(d) => d
            .prefix
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|l| !l.is_empty())
            .unwrap_or(&d.bucket)
            .to_string(),
    };
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(255)
        .collect();
    while name.len() < 3 {
        name.push_str("_tbl");
    }
    name.truncate(255);
    name
}

/// `createdAt`: now, or `SOURCE_DATE_EPOCH` for reproducible manifests.
fn created_at() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let mut out = Vec::new();
    temporal::write_timestamp(secs, 0, true, &mut out);
    String::from_utf8(out).expect("ascii")
}

/// A manifest, in place at once (the store names the object in its errors).
fn put(store: &dyn OutputStore, name: &str, body: &[u8]) -> Result<()> {
    Ok(store.put(name, body)?)
}

/// One input as the summary records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    pub path: String,
    pub format: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: Option<String>,
    pub etag: Option<String>,
    #[serde(rename = "versionId")]
    pub version_id: Option<String>,
    /// The entity type of a map file this input belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
}

impl InputRecord {
    /// The record of `s`, with the rows read from it and its SHA-256 (where known).
    pub fn of(s: &Source, rows: u64, sha256: Option<String>) -> InputRecord {
        InputRecord {
            path: s.display(),
            format: s.format.as_str().to_string(),
            rows,
            bytes: s.size,
            sha256,
            etag: s.object.etag(),
            version_id: s.object.version(),
            entity: None,
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "bytes": self.bytes,
            "sha256": self.sha256,
        });
        if let Some(e) = &self.etag {
            v["etag"] = json!(e);
        }
        if let Some(id) = &self.version_id {
            v["versionId"] = json!(id);
        }
        if let Some(e) = &self.entity {
            v["entity"] = json!(e);
        }
        v
    }
}

/// What the manifests say of the output as a whole, beside the parts and the counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputFacts {
    pub table: String,
    /// ImportTable's InputFormat and InputCompressionType.
    pub format: String,
    pub compression: String,
    /// The billing of the table the import creates (a map file's), for import-table.json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<super::map::Billing>,
}

impl OutputFacts {
    pub fn of(opts: &ConvertOptions, keys: &KeySchema) -> OutputFacts {
        OutputFacts {
            table: table_name(opts, keys),
            format: opts.syntax.import_format().to_string(),
            compression: opts.compression.import_name().to_string(),
            billing: opts.billing.clone(),
        }
    }
}

/// manifest-files.json, import-table.json and, last, manifest-summary.json: a folder with the
/// summary is complete (`prep upload` and `prep validate` both go by it).
pub fn write_manifests(
    store: &dyn OutputStore,
    facts: &OutputFacts,
    inputs: &[InputRecord],
    keys: &KeySchema,
    report: &Report,
) -> Result<()> {
    let location = store.s3_location();
    let mut files = String::new();
    for p in &report.parts {
        let mut line = json!({
            "itemCount": p.items,
            "md5Checksum": p.md5_base64,
            "sha256": p.sha256_hex,
            "uncompressedBytes": p.uncompressed,
            "storedBytes": p.stored,
            "dataFileS3Key": p.key,
        });
        // In S3 already: the keys and ETags `prep upload` would have added.
        if let Some((_, prefix, _)) = &location {
            line["s3Key"] = json!(format!("{prefix}{}", p.key));
            line["etag"] = json!(p.etag.as_deref().unwrap_or(""));
        }
        writeln!(files, "{line}").expect("string write");
    }
    put(store, crate::model::files::MANIFEST_FILES, files.as_bytes())?;

    let table = &facts.table;
    let inputs: Vec<Value> = inputs.iter().map(InputRecord::to_json).collect();
    let summary = json!({
        "version": "2020-06-30",
        "tool": "prep",
        "toolVersion": env!("CARGO_PKG_VERSION"),
        "createdAt": created_at(),
        "manifestFilesS3Key": crate::model::files::MANIFEST_FILES,
        "tableName": table,
        "itemCount": report.items_written,
        "rowsRead": report.rows_read,
        "rejectedCount": report.rows_rejected,
        "duplicateCount": report.duplicate_items,
        "duplicateKeyCount": report.duplicate_keys,
        "emptySetsOmitted": report.empty_sets_omitted,
        "outputFormat": facts.format,
        "compression": facts.compression,
        "partCount": report.parts.len(),
        "uncompressedBytes": report.uncompressed_bytes,
        "storedBytes": report.stored_bytes,
        "keySchema": keys.to_manifest(),
        "inputs": inputs,
    });
    let mut import = json!({
        "InputFormat": facts.format,
        "InputCompressionType": facts.compression,
        "TableCreationParameters": keys.table_creation_parameters(table),
    });
    if let Some(b) = &facts.billing {
        let tcp = &mut import["TableCreationParameters"];
        tcp["BillingMode"] = json!(b.mode);
        if let (Some(r), Some(w)) = (b.read_capacity, b.write_capacity) {
            let throughput = json!({"ReadCapacityUnits": r, "WriteCapacityUnits": w});
            tcp["ProvisionedThroughput"] = throughput.clone();
            if let Some(g) = tcp
                .get_mut("GlobalSecondaryIndexes")
                .and_then(Value::as_array_mut)
            {
                for i in g {
                    i["ProvisionedThroughput"] = throughput.clone();
                }
            }
        }
    }
    if let Some((bucket, prefix, owner)) = location {
        let mut source = json!({"S3Bucket": bucket, "S3KeyPrefix": format!("{prefix}data/")});
        if let Some(o) = owner {
            source["S3BucketOwner"] = json!(o);
        }
        import["S3BucketSource"] = source;
    }
    put(
        store,
        crate::model::files::IMPORT_TABLE,
        format!("{}\n", serde_json::to_string_pretty(&import)?).as_bytes(),
    )?;
    put(
        store,
        crate::model::files::MANIFEST_SUMMARY,
        format!("{}\n", serde_json::to_string_pretty(&summary)?).as_bytes(),
    )?;
    Ok(())
}

/// The closing summary for people.
pub fn human_summary(r: &Report, command: &str) -> String {
    let mut s = String::new();
    let out = r.out.trim_end_matches('/');
    let (format, compression) = (
        r.facts.as_ref().map_or("", |f| f.format.as_str()),
        r.facts.as_ref().map_or("", |f| f.compression.as_str()),
    );
    if let Some(row) = &r.failed_row {
        let _ = writeln!(
            s,
            "{command}: stopped at the first failing row (--on-error fail); nothing was written to {out}"
        );
        let _ = writeln!(s, "  {row}");
        return s;
    }
    let _ = writeln!(
        s,
        "{command}{}: {} rows read = {} items written + {} rejected",
        r.shard
            .map(|s| format!(" (shard {} of {})", s.index, s.count))
            .unwrap_or_default(),
        thousands(r.rows_read),
        thousands(r.items_written),
        thousands(r.rows_rejected)
    );
    for e in &r.entities {
        let _ = writeln!(
            s,
            "  {}: {} rows = {} items + {} rejected",
            e.name,
            thousands(e.rows_read),
            thousands(e.items_written),
            thousands(e.rows_rejected)
        );
    }
    if r.rows_rejected > 0 && r.shard.is_none() {
        let codes: Vec<String> = r
            .rejects_by_code
            .iter()
            .map(|(c, n)| {
                let name = crate::model::rules::find(c).map(|r| r.name).unwrap_or("");
                format!("{c} {name}: {}", thousands(*n))
            })
            .collect();
        let _ = writeln!(
            s,
            "  rejected rows are in {}/rejects.jsonl ({})",
            out,
            codes.join(", ")
        );
    }
    if r.duplicate_items > 0 {
        let _ = writeln!(
            s,
            "  {}: {} primary keys appear more than once ({} extra items; the import would keep one of each at random) — see {}/duplicates.jsonl",
            if r.dup_mode_error { "error" } else { "warning" },
            thousands(r.duplicate_keys),
            thousands(r.duplicate_items),
            out
        );
        for e in &r.duplicate_examples {
            let _ = writeln!(s, "    e.g. {e}");
        }
    }
    if r.empty_sets_omitted > 0 {
        let _ = writeln!(
            s,
            "  {} empty sets left out (DynamoDB has no empty sets)",
            thousands(r.empty_sets_omitted)
        );
    }
    for w in &r.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    let _ = writeln!(
        s,
        "  {} parts in {}/data ({} {}, {} uncompressed, {} stored)",
        r.parts.len(),
        out,
        format,
        compression,
        human_bytes(r.uncompressed_bytes),
        human_bytes(r.stored_bytes)
    );
    if let Some(sh) = r.shard {
        let _ = writeln!(
            s,
            "  its rejects and keys are in {out}/shards/{}.*; when all {} shards are done: prep merge {out}/",
            sh.tag(),
            sh.count
        );
    } else if r.out.starts_with("s3://") {
        let _ = writeln!(s, "  import with: prep import {out}/");
    }
    let rate = if r.elapsed_s > 0.0 {
        r.rows_read as f64 / r.elapsed_s
    } else {
        0.0
    };
    let _ = writeln!(
        s,
        "  {:.2} s, {} rows/s",
        r.elapsed_s,
        thousands(rate as u64)
    );
    s
}
