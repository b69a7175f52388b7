//! The manifests an output gets last: manifest-files.json, import-table.json and, last of all,
//! manifest-summary.json (a folder with it is complete).

use super::store::OutputStore;
use crate::model::keys::KeySchema;
use crate::model::manifest::{
    self, ImportTable, InputRecord, OutputFacts, PartEntry, PartInfo, S3BucketSource, Summary,
    Throughput,
};
use crate::model::temporal;
use anyhow::Result;

/// The counts a summary records.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub items: u64,
    pub rows_read: u64,
    pub rejected: u64,
    pub duplicate_items: u64,
    pub duplicate_keys: u64,
    pub empty_sets_omitted: u64,
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

/// The import request for an output: its format, the table (with the billing a map file
/// gives) and, for an output in S3, where the import reads from.
pub(crate) fn import_table(
    facts: &OutputFacts,
    keys: &KeySchema,
    location: Option<(String, String, Option<String>)>,
) -> ImportTable {
    let mut table = keys.table_creation_parameters(&facts.table);
    if let Some(b) = &facts.billing {
        table.billing_mode = Some(b.mode.clone());
        if let (Some(r), Some(w)) = (b.read_capacity, b.write_capacity) {
            let throughput = Throughput {
                read_capacity_units: r as i64,
                write_capacity_units: w as i64,
            };
            table.provisioned_throughput = Some(throughput);
            for g in &mut table.global_secondary_indexes {
                g.provisioned_throughput = Some(throughput);
            }
        }
    }
    ImportTable {
        input_format: facts.format.clone(),
        input_compression_type: facts.compression.clone(),
        table_creation_parameters: table,
        s3_bucket_source: location.map(|(bucket, prefix, owner)| S3BucketSource {
            s3_bucket: bucket,
            s3_key_prefix: format!("{prefix}data/"),
            s3_bucket_owner: owner,
        }),
        input_format_options: None,
        client_token: None,
    }
}

/// manifest-files.json, import-table.json and, last, manifest-summary.json: a folder with the
/// summary is complete (`prep upload` and `prep validate` both go by it).
pub(crate) fn write_manifests(
    store: &dyn OutputStore,
    facts: &OutputFacts,
    inputs: &[InputRecord],
    keys: &KeySchema,
    parts: &[PartInfo],
    counts: &Counts,
) -> Result<()> {
    let location = store.s3_location();
    let mut files = String::new();
    for p in parts {
        let mut line = PartEntry {
            item_count: Some(p.items),
            md5_checksum: p.md5_base64.clone(),
            crc64nvme: Some(p.crc64nvme.clone()),
            sha256: None,
            uncompressed_bytes: Some(p.uncompressed),
            stored_bytes: Some(p.stored),
            data_file_s3_key: p.key.clone(),
            s3_key: None,
            etag: None,
        };
        // In S3 already: the keys and ETags `prep upload` would have added.
        if let Some((_, prefix, _)) = &location {
            line.s3_key = Some(format!("{prefix}{}", p.key));
            line.etag = Some(p.etag.clone().unwrap_or_default());
        }
        files.push_str(&line.to_line());
        files.push('\n');
    }
    put(store, manifest::MANIFEST_FILES, files.as_bytes())?;
    let summary = Summary {
        version: "2020-06-30".into(),
        tool: Some("prep".into()),
        tool_version: Some(env!("CARGO_PKG_VERSION").into()),
        created_at: Some(created_at()),
        manifest_files_s3_key: manifest::MANIFEST_FILES.into(),
        table_name: Some(facts.table.clone()),
        item_count: Some(counts.items),
        rows_read: Some(counts.rows_read),
        rejected_count: Some(counts.rejected),
        duplicate_count: Some(counts.duplicate_items),
        duplicate_key_count: Some(counts.duplicate_keys),
        empty_sets_omitted: Some(counts.empty_sets_omitted),
        output_format: Some(facts.format.clone()),
        compression: Some(facts.compression.clone()),
        part_count: Some(parts.len() as u64),
        uncompressed_bytes: Some(parts.iter().map(|p| p.uncompressed).sum()),
        stored_bytes: Some(parts.iter().map(|p| p.stored).sum()),
        key_schema: Some(keys.to_manifest()),
        s3_bucket: None,
        billed_size_bytes: None,
        inputs: inputs.to_vec(),
    };
    let import = import_table(facts, keys, location);
    put(
        store,
        manifest::IMPORT_TABLE,
        manifest::pretty(&import).as_bytes(),
    )?;
    put(
        store,
        manifest::MANIFEST_SUMMARY,
        manifest::pretty(&summary).as_bytes(),
    )?;
    Ok(())
}
