//! What a conversion run did: the report `prep convert`, `prep merge` and a shard writer give
//! back, its `--json` form and its summary for people.

use crate::model::keys::KeySchema;
use crate::model::manifest::{EntityCounts, OutputFacts, PartInfo};
use crate::model::shard::Shard;
use crate::output::manifest::Counts;
use crate::pipeline::progress::{human_bytes, thousands};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a run did; the summary and `--json` are made from it.
#[derive(Debug, Default)]
pub struct Report {
    /// The output, as messages name it (a path or `s3://bucket/prefix/`).
    pub out: String,
    pub rows_read: u64,
    pub items_written: u64,
    pub rows_rejected: u64,
    pub rejects_by_code: BTreeMap<&'static str, u64>,
    pub duplicate_keys: u64,
    pub duplicate_items: u64,
    pub duplicate_examples: Vec<String>,
    pub empty_sets_omitted: u64,
    pub parts: Vec<PartInfo>,
    pub uncompressed_bytes: u64,
    pub stored_bytes: u64,
    pub elapsed_s: f64,
    pub failed_row: Option<String>,
    pub dup_mode_error: bool,
    pub key_schema: Option<KeySchema>,
    /// Things that converted but deserve a look (a stream that may be cut short, no items).
    pub warnings: Vec<String>,
    /// The run's format, compression and table name.
    pub facts: Option<OutputFacts>,
    /// The shard this run converted, if it converted one.
    pub shard: Option<Shard>,
    /// A map's run: rows, items and rejects per entity type, in the map's order.
    pub entities: Vec<EntityCounts>,
    /// What the items hold (`--report`), as written to report.json.
    pub profile: Option<crate::profile::Summary>,
    /// A shard's profile counts, for `prep merge` to join (`--report --shard`).
    pub(crate) profile_state: Option<crate::profile::State>,
}

impl Report {
    /// The counts its summary records.
    pub fn counts(&self) -> Counts {
        Counts {
            items: self.items_written,
            rows_read: self.rows_read,
            rejected: self.rows_rejected,
            duplicate_items: self.duplicate_items,
            duplicate_keys: self.duplicate_keys,
            empty_sets_omitted: self.empty_sets_omitted,
        }
    }

    /// 0: everything converted; 1: rows rejected, or duplicates under `--duplicates error`.
    pub fn exit_code(&self) -> i32 {
        if self.rows_rejected > 0
            || self.failed_row.is_some()
            || (self.dup_mode_error && self.duplicate_items > 0)
        {
            1
        } else {
            0
        }
    }

    pub fn to_json(&self) -> Value {
        let rate = if self.elapsed_s > 0.0 {
            (self.rows_read as f64 / self.elapsed_s).round()
        } else {
            0.0
        };
        json!({
            "out": self.out,
            "rowsRead": self.rows_read,
            "itemsWritten": self.items_written,
            "rowsRejected": self.rows_rejected,
            "rejectsByCode": self.rejects_by_code,
            "duplicateKeys": self.duplicate_keys,
            "duplicateItems": self.duplicate_items,
            "duplicateExamples": self.duplicate_examples,
            "emptySetsOmitted": self.empty_sets_omitted,
            "parts": self.parts.len(),
            "uncompressedBytes": self.uncompressed_bytes,
            "storedBytes": self.stored_bytes,
            "elapsedSeconds": (self.elapsed_s * 1000.0).round() / 1000.0,
            "rowsPerSecond": rate,
            "failedRow": self.failed_row,
            "keySchema": self.key_schema.as_ref().map(KeySchema::to_manifest),
            "warnings": self.warnings,
            "entities": self.entities,
            "report": self.profile.as_ref().map(|_| crate::model::manifest::REPORT_JSON),
            "exitCode": self.exit_code(),
        })
    }
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
    if let Some(p) = &r.profile {
        let cost = p
            .cost
            .as_ref()
            .map(|c| {
                format!(
                    ", import about {} in {}",
                    crate::profile::html::usd(c.import.usd),
                    c.region
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  report: {out}/{} and {out}/{} (item sizes p50 {} max {}{cost})",
            crate::model::manifest::REPORT_HTML,
            crate::model::manifest::REPORT_JSON,
            human_bytes(p.item_sizes.p50),
            human_bytes(p.item_sizes.max),
        );
    }
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
