//! The writer thread's state: it takes encoded batches in input order, finds duplicate keys
//! (or records them, in a shard), writes parts, rejects and duplicates, and counts.

use super::encode::Chunk;
use super::{output_facts, ConvertOptions, DupMode, OnError, Report};
use crate::encoding::arrow_rows::{key_json, KeyText};
use crate::encoding::Recycled;
use crate::model::keys::KeySchema;
use crate::model::manifest::{EntityCounts, InputRecord, OutputFacts};
use crate::model::shard::{KeyRecord, Shard, ShardReport, ShardSettings};
use crate::output::side::SideFile;
use crate::output::store::OutputStore;
use crate::output::{Compression, PartWriter};
use crate::pipeline::duplicates::DupFinder;
use anyhow::Result;
use std::sync::Arc;

/// The writer thread's state.
pub(crate) struct Writer {
    store: Arc<dyn OutputStore>,
    pub(crate) parts: PartWriter,
    dups: Option<DupFinder>,
    rejects: Option<SideFile>,
    /// Where rejects go: `rejects.jsonl`, or a shard's own file.
    rejects_name: String,
    /// A shard's record of its items' keys (hash, source, row, key), for `prep merge`.
    key_file: Option<SideFile>,
    pub(crate) report: Report,
    rows_by_source: Vec<u64>,
    source_names: Vec<String>,
    key_names: Vec<String>,
    on_error: OnError,
    /// Written batches whose bytes a part's SHA-256 thread or MD5 lane may still hold; each
    /// goes back to the encoders once nothing else does.
    in_flight: Vec<Arc<Vec<u8>>>,
    recycled: Recycled,
    /// A map's runs: the entity types in order, and each source's index among them (a plain
    /// run has no entity types).
    pub(crate) entity_names: Vec<String>,
    pub(crate) group_of: Vec<usize>,
    items_by_source: Vec<u64>,
    rejects_by_source: Vec<u64>,
    cancel: crate::pipeline::Cancel,
    /// What the items hold (`--report`), folded batch by batch.
    profiler: Option<crate::profile::Profiler>,
}

/// The entity type of source `source` in a map's run (`names` of the entity types, `group_of`
/// each source's index among them).
pub(crate) fn entity_of<'a>(
    names: &'a [String],
    group_of: &[usize],
    source: usize,
) -> Option<&'a str> {
    names.get(*group_of.get(source)?).map(String::as_str)
}

impl Writer {
    /// The writer of a run into `store`, over inputs named `source_names`.
    pub(crate) fn new(
        opts: &ConvertOptions,
        store: &Arc<dyn OutputStore>,
        keys: &KeySchema,
        source_names: Vec<String>,
        threads: usize,
        recycled: Recycled,
    ) -> Result<Writer> {
        let level = opts.level.unwrap_or(match opts.compression {
            Compression::Zstd => 1,
            Compression::Gzip => 6,
            Compression::None => 0,
        });
        let mut parts = PartWriter::to_store(
            store.clone(),
            opts.syntax.extension(),
            opts.compression,
            level,
            opts.part_size,
        )?;
        parts.zstd_workers = threads.clamp(1, 8) as u32;
        parts.gzip_workers = threads.max(1);
        if let Some(s) = opts.shard {
            parts.name_prefix = s.part_prefix();
        }
        let mut key_names = vec![keys.partition.name.clone()];
        key_names.extend(keys.sort.as_ref().map(|s| s.name.clone()));
        Ok(Writer {
            in_flight: Vec::new(),
            recycled,
            store: store.clone(),
            parts,
            // A shard leaves duplicate detection to `prep merge`: it records its keys instead.
            dups: (opts.duplicates != DupMode::Off && opts.shard.is_none())
                .then(|| DupFinder::new(Some(opts.dup_spill()))),
            key_file: match opts.shard {
                Some(s) if opts.duplicates != DupMode::Off => {
                    Some(SideFile::create(&**store, &s.keys_name())?)
                }
                _ => None,
            },
            rejects_name: match opts.shard {
                Some(s) => s.rejects_name(),
                None => crate::model::manifest::REJECTS.into(),
            },
            rejects: None,
            report: Report {
                out: opts.out.display(),
                facts: Some(output_facts(opts, keys)),
                shard: opts.shard,
                dup_mode_error: opts.duplicates == DupMode::Error,
                ..Report::default()
            },
            rows_by_source: vec![0; source_names.len()],
            cancel: opts.cancel.clone(),
            items_by_source: vec![0; source_names.len()],
            rejects_by_source: vec![0; source_names.len()],
            entity_names: Vec::new(),
            group_of: Vec::new(),
            profiler: opts.report.clone().map(|r| {
                let mut p = crate::profile::Profiler::new(Some(keys), r);
                p.set_places(source_names.clone());
                p
            }),
            source_names,
            key_names,
            on_error: opts.on_error,
        })
    }

    /// Give back the batches that the parts have finished with.
    fn recycle(&mut self) {
        let mut k = 0;
        while k < self.in_flight.len() {
            if Arc::strong_count(&self.in_flight[k]) == 1 {
                if let Ok(buf) = Arc::try_unwrap(self.in_flight.swap_remove(k)) {
                    self.recycled.give(buf);
                }
            } else {
                k += 1;
            }
        }
    }

    pub(crate) fn take(&mut self, mut c: Chunk) -> Result<bool> {
        if self.cancel.is_cancelled() {
            return Err(crate::pipeline::Interrupted.into());
        }
        if let (Some(p), Some(f)) = (self.profiler.as_mut(), c.facts.take()) {
            p.add(f);
        }
        self.report.rows_read += c.rows;
        self.rows_by_source[c.source] += c.rows;
        self.report.empty_sets_omitted += c.encoded.empty_sets;
        if !c.rejects.is_empty() {
            if self.on_error == OnError::Fail {
                self.report.failed_row = Some(c.rejects[0].1.clone());
                self.report.rows_rejected += 1;
                return Ok(false);
            }
            if self.rejects.is_none() {
                self.rejects = Some(SideFile::create(&*self.store, &self.rejects_name)?);
            }
            let f = self.rejects.as_mut().expect("opened");
            for (code, line) in &c.rejects {
                f.line(line.as_bytes())?;
                *self.report.rejects_by_code.entry(code).or_default() += 1;
            }
            self.report.rows_rejected += c.rejects.len() as u64;
            self.rejects_by_source[c.source] += c.rejects.len() as u64;
        }
        let e = &c.encoded;
        if let Some(d) = self.dups.as_mut() {
            for k in 0..e.rows.len() {
                let row = c.first_row + e.rows[k] as u64 + 1;
                d.insert(e.keys.hashes[k], e.keys.get(k), c.source as u32, row)?;
            }
        }
        if let Some(f) = self.key_file.as_mut() {
            let mut buf = Vec::with_capacity(e.rows.len() * 48);
            for k in 0..e.rows.len() {
                let row = c.first_row + e.rows[k] as u64 + 1;
                let key = e.keys.get(k);
                KeyRecord::write(e.keys.hashes[k], c.source as u32, row, key, &mut buf);
            }
            f.bytes(&buf)?;
        }
        // The part's SHA-256 thread keeps the batch until it has caught up; no copy is made.
        let buf = Arc::new(std::mem::take(&mut c.encoded.buf));
        self.parts.write_shared_items(&buf, &c.encoded.ends)?;
        self.in_flight.push(buf);
        self.recycle();
        self.report.items_written += c.encoded.ends.len() as u64;
        self.items_by_source[c.source] += c.encoded.ends.len() as u64;
        Ok(true)
    }

    pub(crate) fn finish(mut self) -> Result<(Report, Vec<u64>)> {
        if self.cancel.is_cancelled() {
            self.parts.abandon();
            return Err(crate::pipeline::Interrupted.into());
        }
        self.parts.close()?;
        if let Some(d) = self.dups.take() {
            let sources: Vec<(String, Option<String>)> = (0..self.source_names.len())
                .map(|i| {
                    let entity = entity_of(&self.entity_names, &self.group_of, i);
                    (self.source_names[i].clone(), entity.map(str::to_string))
                })
                .collect();
            write_duplicates(
                d,
                &*self.store,
                &self.key_names,
                &sources,
                &self.cancel,
                &mut self.report,
            )?;
        }
        for f in [self.rejects.take(), self.key_file.take()]
            .into_iter()
            .flatten()
        {
            f.commit()?;
        }
        self.report.entities = self
            .entity_names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let mut e = EntityCounts {
                    name: name.clone(),
                    ..EntityCounts::default()
                };
                for i in (0..self.group_of.len()).filter(|&i| self.group_of[i] == k) {
                    e.rows_read += self.rows_by_source[i];
                    e.items_written += self.items_by_source[i];
                    e.rows_rejected += self.rejects_by_source[i];
                }
                e
            })
            .collect();
        self.report.parts = std::mem::take(&mut self.parts.parts);
        self.report.uncompressed_bytes = self.report.parts.iter().map(|p| p.uncompressed).sum();
        self.report.stored_bytes = self.report.parts.iter().map(|p| p.stored).sum();
        if let Some(p) = self.profiler.take() {
            match self.report.shard {
                // A shard's counts are joined by `prep merge`, which writes the report.
                Some(_) => self.report.profile_state = Some(p.state()),
                None => {
                    self.report.profile = Some(conversion_profile(p, &*self.store, &self.report));
                }
            }
        }
        Ok((self.report, self.rows_by_source))
    }
}

/// The report of a conversion's items (a whole run's, or the shards' joined by `prep merge`):
/// the parts are its files, its items are named by input and row, its rejects and duplicates
/// are its findings.
pub(crate) fn conversion_profile(
    mut p: crate::profile::Profiler,
    store: &dyn OutputStore,
    report: &Report,
) -> crate::profile::Summary {
    p.set_files(
        report
            .parts
            .iter()
            .map(|part| crate::profile::FileFigures {
                file: store.display(&part.key),
                stored_bytes: part.stored,
                uncompressed_bytes: part.uncompressed,
                lines: part.items,
                items: part.items,
            })
            .collect(),
    );
    let mut by_rule: std::collections::BTreeMap<String, u64> = report
        .rejects_by_code
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    if report.duplicate_items > 0 {
        by_rule.insert(
            crate::model::rules::DUPLICATE_KEY.code.to_string(),
            report.duplicate_items,
        );
    }
    p.finish(crate::profile::Findings {
        errors: report.rows_rejected,
        // Extra items of a key stay in the parts (they overwrite each other in the table)
        // unless the run refused them.
        warnings: report.duplicate_items,
        by_rule,
        rejected_lines: report.rows_rejected,
        counted_by: crate::profile::CountedBy::Convert,
    })
}

/// report.json and report.html beside the manifests (before them: a folder with its summary
/// is complete).
pub(crate) fn write_report_files(
    store: &dyn OutputStore,
    profile: &crate::profile::Summary,
    command: &str,
) -> Result<()> {
    use crate::model::manifest::{REPORT_HTML, REPORT_JSON};
    use anyhow::Context;
    let json = serde_json::to_vec_pretty(profile)?;
    store
        .put(REPORT_JSON, &json)
        .with_context(|| format!("cannot write {}", store.display(REPORT_JSON)))?;
    let title = format!("{command}: {}", store.display("").trim_end_matches('/'));
    let html = crate::profile::html::render(profile, &title);
    store
        .put(REPORT_HTML, html.as_bytes())
        .with_context(|| format!("cannot write {}", store.display(REPORT_HTML)))?;
    Ok(())
}

/// A shard's report, last: what `prep merge` needs to write the manifests of the whole run.
pub(crate) fn write_shard_report(
    store: &dyn OutputStore,
    opts: &ConvertOptions,
    s: Shard,
    facts: OutputFacts,
    inputs: Vec<InputRecord>,
    keys: &KeySchema,
    report: &Report,
) -> Result<()> {
    let r = ShardReport {
        tool: "prep".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        shard: s,
        settings: ShardSettings {
            facts,
            key_schema: keys.to_manifest(),
            duplicates: format!("{:?}", opts.duplicates).to_ascii_lowercase(),
            part_size: opts.part_size,
            nulls: format!("{:?}", opts.nulls),
            timestamps: format!("{:?}", opts.timestamps),
            shaping: shaping_text(opts),
        },
        inputs,
        parts: report.parts.clone(),
        rows_read: report.rows_read,
        items_written: report.items_written,
        rows_rejected: report.rows_rejected,
        rejects_by_code: report
            .rejects_by_code
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect(),
        empty_sets_omitted: report.empty_sets_omitted,
        warnings: report.warnings.clone(),
        rejects_file: (report.rows_rejected > 0).then(|| s.rejects_name()),
        keys_file: (opts.duplicates != DupMode::Off).then(|| s.keys_name()),
        entities: report.entities.clone(),
        profile_file: report.profile_state.as_ref().map(|_| s.profile_name()),
    };
    if let Some(state) = &report.profile_state {
        store.put(&s.profile_name(), &serde_json::to_vec(state)?)?;
    }
    let body = serde_json::to_vec_pretty(&r)?;
    Ok(store.put(&s.report_name(), &body)?)
}

/// The run's shaping as text for a shard's settings (empty when rows are not shaped).
fn shaping_text(opts: &ConvertOptions) -> String {
    let mut parts = Vec::new();
    if !opts.shape.is_empty() {
        parts.push(format!("{:?}", opts.shape));
    }
    for e in &opts.entities {
        parts.push(format!(
            "{}: {:?} {:?} {:?}",
            e.name, e.inputs, e.shape, e.overrides
        ));
    }
    parts.join("; ")
}

/// One line of duplicates.jsonl, its fields in the documented order.
#[derive(serde::Serialize)]
struct DuplicateLine<'a> {
    key: KeyText<'a>,
    first: Place<'a>,
    duplicate: Place<'a>,
    occurrence: u32,
}

/// Where an item of a duplicate pair came from.
#[derive(serde::Serialize)]
struct Place<'a> {
    source: &'a str,
    row: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity: Option<&'a str>,
}

/// Find the duplicates among the keys `index` recorded and write them into duplicates.jsonl,
/// in input order, each naming its key, the item it repeats and how many times the key has
/// been seen (`sources`: each source's name and entity type); the counts and the first few go
/// into `report`.
pub(crate) fn write_duplicates(
    index: DupFinder,
    store: &dyn OutputStore,
    key_names: &[String],
    sources: &[(String, Option<String>)],
    cancel: &crate::pipeline::Cancel,
    report: &mut Report,
) -> Result<()> {
    let mut found = index.finish()?;
    report.duplicate_keys = found.keys_with_duplicates;
    report.duplicate_items = found.extra_items;
    let mut file: Option<SideFile> = None;
    let name = |i: u32| sources.get(i as usize).map_or("", |s| s.0.as_str());
    let entity = |i: u32| sources.get(i as usize).and_then(|s| s.1.as_deref());
    let at = |i: u32, row: u64| match entity(i) {
        Some(e) => format!("{e} {}:{row}", name(i)),
        None => format!("{}:{row}", name(i)),
    };
    let mut n = 0u64;
    let mut text = Vec::new();
    while let Some(d) = found.next_duplicate()? {
        n += 1;
        if n.is_multiple_of(4096) && cancel.is_cancelled() {
            return Err(crate::pipeline::Interrupted.into());
        }
        let first = d.first;
        if report.duplicate_examples.len() < 5 {
            report.duplicate_examples.push(format!(
                "{} at {} and {}",
                key_json(key_names, &d.key),
                at(first.source, first.row),
                at(d.source, d.row)
            ));
        }
        // Entities are named where both items have one.
        let entities = entity(first.source).zip(entity(d.source));
        let line = DuplicateLine {
            key: KeyText {
                names: key_names,
                key: &d.key,
            },
            first: Place {
                source: name(first.source),
                row: first.row,
                entity: entities.map(|e| e.0),
            },
            duplicate: Place {
                source: name(d.source),
                row: d.row,
                entity: entities.map(|e| e.1),
            },
            occurrence: first.seen,
        };
        text.clear();
        serde_json::to_writer(&mut text, &line).expect("a line serializes");
        if file.is_none() {
            file = Some(SideFile::create(store, crate::model::manifest::DUPLICATES)?);
        }
        file.as_mut().expect("opened").line(&text)?;
    }
    if let Some(f) = file {
        f.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A duplicates.jsonl line written from its struct has the bytes of the same line built as
    /// a JSON tree (field order, entities only where both items have one, binary keys as
    /// base64, text escaped).
    #[test]
    fn a_duplicate_line_has_the_tree_built_lines_bytes() {
        let names = ["pk".to_string(), "sk".to_string()];
        let mut key = Vec::new();
        crate::encoding::arrow_rows::push_key_part(&mut key, b'S', "a \"q\" é\n".as_bytes());
        crate::encoding::arrow_rows::push_key_part(&mut key, b'B', &[0, 255, 7]);
        for entities in [None, Some(("order", "line"))] {
            let line = DuplicateLine {
                key: KeyText {
                    names: &names,
                    key: &key,
                },
                first: Place {
                    source: "in/a.csv",
                    row: 1,
                    entity: entities.map(|e| e.0),
                },
                duplicate: Place {
                    source: "in\\b.csv",
                    row: u64::MAX,
                    entity: entities.map(|e| e.1),
                },
                occurrence: 3,
            };
            let mut tree = serde_json::json!({
                "key": key_json(&names, &key),
                "first": {"source": "in/a.csv", "row": 1},
                "duplicate": {"source": "in\\b.csv", "row": u64::MAX},
                "occurrence": 3,
            });
            if let Some((a, b)) = entities {
                tree["first"]["entity"] = serde_json::json!(a);
                tree["duplicate"]["entity"] = serde_json::json!(b);
            }
            assert_eq!(
                serde_json::to_string(&line).unwrap(),
                tree.to_string(),
                "{entities:?}"
            );
        }
        assert_eq!(
            key_json(&names, &key).to_string(),
            r#"{"pk":"a \"q\" é\n","sk":"AP8H"}"#
        );
    }
}
