//! `prep merge OUT`: the shards of one conversion (`prep convert --shard I/N`) made into one
//! import folder. It checks that every shard of the N is there once, that all converted the
//! same inputs with the same settings, and that the parts they list are in `data/` (and
//! nothing else is); finds duplicate keys across all shards (hashes first, then the keys
//! compared byte for byte); and writes `rejects.jsonl`, `duplicates.jsonl`,
//! `manifest-files.json`, `import-table.json` and, last, `manifest-summary.json` — the same
//! content a single run over the same inputs writes, apart from part names and sizes.

use crate::aws::AwsOptions;
use crate::input::source::InputObject;
use crate::model::keys::KeySchema;
use crate::model::manifest::PREP_FILES;
use crate::model::manifest::{InputRecord, OutputFacts};
use crate::model::rules;
use crate::model::shard::{KeyRecord, Shard, ShardReport, SHARDS_DIR};
use crate::output::folder::{LocalFolder, LOCK_FILE};
use crate::output::manifest::write_manifests;
use crate::output::s3::S3Prefix;
use crate::output::side::SideFile;
use crate::output::store::OutputStore;
use crate::output::Destination;
use crate::output::Lock;
use crate::pipeline::duplicates::{DupFinder, Spill};
use crate::run::Report;
use crate::run::{conversion_profile, write_duplicates, write_report_files};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct MergeOptions {
    pub out: Destination,
    pub aws: AwsOptions,
    /// Replace a merged output already there.
    pub force: bool,
    /// Set to stop the merge (it removes what it wrote).
    pub cancel: crate::pipeline::Cancel,
    /// Memory the duplicate-key index holds before it spills to disk.
    pub dup_memory: usize,
    /// Where it spills (default: inside the output folder, or the system's temporary folder
    /// for an S3 output).
    pub tmp_dir: Option<std::path::PathBuf>,
}

impl MergeOptions {
    fn spill(&self) -> Spill {
        Spill::for_output(&self.out, self.tmp_dir.as_deref(), self.dup_memory)
    }
}

/// The objects of the output, as listed at the start, by name (relative to the output).
struct Listing {
    objects: BTreeMap<String, Arc<dyn InputObject>>,
}

impl Listing {
    fn of(opts: &MergeOptions) -> Result<Listing> {
        let mut objects = BTreeMap::new();
        match &opts.out {
            Destination::Folder(dir) => {
                for sub in ["", "data", SHARDS_DIR] {
                    let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                        continue;
                    };
                    for e in entries.filter_map(|e| e.ok()) {
                        if !e.path().is_file() {
                            continue;
                        }
                        let name = e.file_name().to_string_lossy().into_owned();
                        let rel = if sub.is_empty() {
                            name
                        } else {
                            format!("{sub}/{name}")
                        };
                        let f = crate::input::source::LocalFile::open(&e.path())?;
                        objects.insert(rel, Arc::new(f) as Arc<dyn InputObject>);
                    }
                }
            }
            Destination::S3(d) => {
                let s3 = crate::input::s3::S3Inputs::new(&opts.aws)?;
                for o in s3.list_all(&d.bucket, &d.prefix)? {
                    let rel = o.key()[d.prefix.len()..].to_string();
                    objects.insert(rel, Arc::new(o) as Arc<dyn InputObject>);
                }
            }
            Destination::Nowhere => bail!("prep merge joins shards in a folder or an S3 prefix"),
        }
        Ok(Listing { objects })
    }

    fn reader(&self, name: &str, shown: &str) -> Result<Box<dyn Read + Send>> {
        let Some(o) = self.objects.get(name) else {
            bail!("{shown} is missing");
        };
        Ok(o.read_from(0)?)
    }
}

/// The shard reports under `shards/`, checked: N of them, each index once, one N.
fn reports(listing: &Listing, store: &dyn OutputStore) -> Result<Vec<ShardReport>> {
    let mut found: BTreeMap<u32, (Shard, String)> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for name in listing.objects.keys() {
        let Some(rest) = name
            .strip_prefix(&format!("{SHARDS_DIR}/shard-"))
            .and_then(|r| r.strip_suffix(".json"))
        else {
            continue;
        };
        let Some((i, n)) = rest.split_once("-of-") else {
            continue;
        };
        let (Ok(i), Ok(n)) = (i.parse::<u32>(), n.parse::<u32>()) else {
            continue;
        };
        *counts.entry(n).or_insert(0usize) += 1;
        found.insert(i, (Shard { index: i, count: n }, name.clone()));
    }
    if found.is_empty() {
        bail!(
            "{} holds no shard reports ({SHARDS_DIR}/shard-I-of-N.json): run prep convert --shard I/N --out {} for every I first",
            store.display(""),
            store.display("")
        );
    }
    if counts.len() > 1 {
        let list: Vec<String> = counts.iter().map(|(n, k)| format!("{k} of {n}")).collect();
        bail!(
            "{} holds shards of conversions split in different ways ({}): remove the shards of the other run (or convert again into a new folder)",
            store.display(SHARDS_DIR),
            list.join(", ")
        );
    }
    let n = *counts.keys().next().expect("one");
    let missing: Vec<String> = (0..n)
        .filter(|i| !found.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard(s) {} of {n} are missing from {} (no report: not run, still running, or failed); run prep convert --shard I/{n} for them, then merge again",
            missing.join(", "),
            store.display(SHARDS_DIR)
        );
    }
    let mut out = Vec::new();
    for (i, (shard, name)) in found {
        let shown = store.display(&name);
        let mut text = String::new();
        listing
            .reader(&name, &shown)?
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read {shown}"))?;
        let r: ShardReport = serde_json::from_str(&text)
            .with_context(|| format!("{shown} is not a prep shard report"))?;
        if r.shard != shard {
            bail!(
                "{shown} says it is shard {}/{}, its name says {i}/{n}: it was renamed; convert that shard again",
                r.shard.index,
                r.shard.count
            );
        }
        out.push(r);
    }
    Ok(out)
}

/// Every shard converted the same inputs (same objects, same versions) with the same settings.
fn check_agree(reports: &[ShardReport], store: &dyn OutputStore) -> Result<()> {
    let first = &reports[0];
    let same_input = |a: &InputRecord, b: &InputRecord| {
        a.path == b.path
            && a.format == b.format
            && a.bytes == b.bytes
            && a.etag == b.etag
            && a.version_id == b.version_id
    };
    for r in &reports[1..] {
        let shown = store.display(&r.shard.report_name());
        if r.settings != first.settings {
            bail!(
                "{shown} was converted with other settings than shard 0 ({:?} against {:?}): every shard must run the same command but for --shard",
                r.settings,
                first.settings
            );
        }
        let same = r.inputs.len() == first.inputs.len()
            && r.inputs
                .iter()
                .zip(&first.inputs)
                .all(|(a, b)| same_input(a, b));
        if !same {
            let at = r
                .inputs
                .iter()
                .zip(&first.inputs)
                .find(|(a, b)| !same_input(a, b))
                .map(|(a, b)| format!(": {} against {}", a.path, b.path))
                .unwrap_or_else(|| {
                    format!(": {} inputs against {}", r.inputs.len(), first.inputs.len())
                });
            bail!(
                "{shown} converted other inputs than shard 0{at} (an input changed or was added between the shards' runs); convert every shard again"
            );
        }
    }
    Ok(())
}

/// Merge the shards in `opts.out`. Errors are "could not merge" (exit 2).
pub fn run(opts: &MergeOptions) -> Result<Report> {
    let started = Instant::now();
    // Held to the end: no convert or other merge into the output meanwhile.
    let (store, _lock): (Arc<dyn OutputStore>, Lock) = match &opts.out {
        Destination::Nowhere => bail!("prep merge joins shards in a folder or an S3 prefix"),
        Destination::Folder(dir) => {
            if !dir.is_dir() {
                bail!("{} is not a folder", dir.display());
            }
            let folder = LocalFolder::new(dir);
            let lock = folder.lock(LOCK_FILE)?;
            let listing = Listing::of(opts)?;
            if listing
                .objects
                .keys()
                .any(|n| PREP_FILES.contains(&n.as_str()))
            {
                if !opts.force {
                    bail!(
                        "{} is merged already (it holds manifest-summary.json); pass --force to merge again",
                        dir.display()
                    );
                }
                // The summary first: without it the rest is an unfinished output.
                for f in PREP_FILES {
                    let p = dir.join(f);
                    if p.exists() {
                        std::fs::remove_file(&p)
                            .with_context(|| format!("cannot remove {}", p.display()))?;
                    }
                }
            }
            (Arc::new(folder), Lock::Folder(lock))
        }
        Destination::S3(d) => {
            let store = S3Prefix::connect(&opts.aws, d.clone(), Default::default())?;
            let lock = store.lock(opts.force, LOCK_FILE)?;
            store
                .prepare(opts.force, &|name| PREP_FILES.contains(&name))
                .map_err(|e| anyhow::anyhow!("{e:#}").context("the prefix is merged already"))?;
            (Arc::new(store), Lock::S3(lock))
        }
    };
    let listing = Listing::of(opts)?;
    let reports = reports(&listing, &*store)?;
    check_agree(&reports, &*store)?;
    let result = merge(
        &listing,
        &store,
        &reports,
        started,
        &opts.cancel,
        &opts.spill(),
    );
    if result.is_err() {
        store.discard();
    }
    result
}

/// The shards' profile counts (`--report`) joined into the run's report.json and report.html.
/// Shards converted without `--report` leave none: then there is no report, and a warning when
/// only some of them have one.
fn merge_profiles(
    listing: &Listing,
    store: &dyn OutputStore,
    reports: &[ShardReport],
    keys: &KeySchema,
    report: &mut Report,
) -> Result<()> {
    let with = reports.iter().filter(|r| r.profile_file.is_some()).count();
    if with == 0 {
        return Ok(());
    }
    if with < reports.len() {
        report.warnings.push(format!(
            "only {with} of {} shards were converted with --report: no report was written (convert the others with --report, or run prep inspect on the output)",
            reports.len()
        ));
        return Ok(());
    }
    let mut states = Vec::with_capacity(reports.len());
    for r in reports {
        let name = r.profile_file.as_deref().expect("counted above");
        let shown = store.display(name);
        let mut text = String::new();
        listing
            .reader(name, &shown)?
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read {shown}"))?;
        let state: crate::profile::State = serde_json::from_str(&text).with_context(|| {
            format!("{shown} is not a profile prep wrote; convert that shard again")
        })?;
        states.push(state);
    }
    let mut profiler = crate::profile::Profiler::joined(Some(keys), &states)?;
    profiler.set_places(reports[0].inputs.iter().map(|i| i.path.clone()).collect());
    let summary = conversion_profile(profiler, store, report);
    write_report_files(store, &summary, "prep merge")?;
    report.profile = Some(summary);
    Ok(())
}

fn merge(
    listing: &Listing,
    store: &Arc<dyn OutputStore>,
    reports: &[ShardReport],
    started: Instant,
    cancel: &crate::pipeline::Cancel,
    spill: &Spill,
) -> Result<Report> {
    let settings = &reports[0].settings;
    let keys = KeySchema::from_manifest(&settings.key_schema, None)
        .context("the shard reports hold no key schema")?;

    // The parts: every listed one in data/ with its size (and ETag in S3), nothing else there.
    let mut report = Report {
        out: store.display(""),
        facts: Some(settings.facts.clone()),
        dup_mode_error: settings.duplicates == "error",
        key_schema: Some(keys.clone()),
        ..Report::default()
    };
    let mut listed = std::collections::BTreeSet::new();
    for r in reports {
        for p in &r.parts {
            let shown = store.display(&p.key);
            let Some(o) = listing.objects.get(&p.key) else {
                bail!(
                    "{shown} is listed by shard {} but is not there; convert that shard again",
                    r.shard.index
                );
            };
            let (size, etag) = (o.size(), o.etag());
            if size != p.stored {
                bail!(
                    "{shown} is {size} bytes, shard {} wrote {}; convert that shard again",
                    r.shard.index,
                    p.stored
                );
            }
            if let (Some(want), Some(got)) = (&p.etag, &etag) {
                if want != got {
                    bail!("{shown} changed after shard {} wrote it (ETag {got}, it wrote {want}); convert that shard again", r.shard.index);
                }
            }
            listed.insert(p.key.clone());
            report.parts.push(p.clone());
        }
        report.rows_read += r.rows_read;
        report.items_written += r.items_written;
        report.rows_rejected += r.rows_rejected;
        report.empty_sets_omitted += r.empty_sets_omitted;
        for (code, n) in &r.rejects_by_code {
            let code = rules::find(code).map(|r| r.code).unwrap_or("?");
            *report.rejects_by_code.entry(code).or_default() += n;
        }
        for e in &r.entities {
            match report.entities.iter_mut().find(|x| x.name == e.name) {
                Some(x) => {
                    x.rows_read += e.rows_read;
                    x.items_written += e.items_written;
                    x.rows_rejected += e.rows_rejected;
                }
                None => report.entities.push(e.clone()),
            }
        }
        for w in &r.warnings {
            if !report.warnings.contains(w) {
                report.warnings.push(w.clone());
            }
        }
    }
    if let Some(stray) = listing
        .objects
        .keys()
        .find(|k| k.starts_with("data/") && !listed.contains(*k))
    {
        bail!(
            "{} is under data/ but no shard wrote it; the import would read it as data. Remove it (or a shard of another run), then merge again",
            store.display(stray)
        );
    }
    if report.parts.len() > rules::MAX_IMPORT_OBJECTS {
        bail!(
            "the shards wrote {} parts; one import reads at most {}: convert again with a larger --part-size or fewer shards",
            report.parts.len(),
            rules::MAX_IMPORT_OBJECTS
        );
    }
    report.parts.sort_by(|a, b| a.key.cmp(&b.key));
    report.uncompressed_bytes = report.parts.iter().map(|p| p.uncompressed).sum();
    report.stored_bytes = report.parts.iter().map(|p| p.stored).sum();
    // The import's size quota (as `prep validate` checks it, X003): 15 TB in us-east-1,
    // us-west-2 and eu-west-1, 1 TB elsewhere.
    const TB: u64 = 1_000_000_000_000;
    if report.stored_bytes > 15 * TB {
        report.warnings.push(format!(
            "the parts hold {} bytes, over the import quota (15 TB in us-east-1, us-west-2 and eu-west-1, 1 TB elsewhere): split the import",
            report.stored_bytes
        ));
    } else if report.stored_bytes > TB {
        report.warnings.push(format!(
            "the parts hold {} bytes: over the import quota outside us-east-1, us-west-2 and eu-west-1 (1 TB)",
            report.stored_bytes
        ));
    }

    // Rejects, in shard order: the order of a single run.
    let mut rejects: Option<SideFile> = None;
    for r in reports {
        let Some(name) = &r.rejects_file else {
            continue;
        };
        let shown = store.display(name);
        if rejects.is_none() {
            rejects = Some(SideFile::create(&**store, crate::model::manifest::REJECTS)?);
        }
        let f = rejects.as_mut().expect("just made");
        let mut lines = BufReader::new(listing.reader(name, &shown)?);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = lines
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {shown}"))?;
            if n == 0 {
                break;
            }
            f.line(line.strip_suffix(b"\n").unwrap_or(&line))?;
        }
    }
    if let Some(f) = rejects {
        f.commit()?;
    }

    // Duplicate keys across all shards, found in shard order as a single run finds them.
    let mut key_names = vec![keys.partition.name.clone()];
    key_names.extend(keys.sort.as_ref().map(|s| s.name.clone()));
    if settings.duplicates != "off" {
        let mut index = DupFinder::new(Some(spill.clone()));
        for r in reports {
            let Some(name) = &r.keys_file else {
                bail!(
                    "shard {} recorded no keys, though duplicates are checked",
                    r.shard.index
                );
            };
            let shown = store.display(name);
            let mut keys_in = BufReader::with_capacity(1 << 20, listing.reader(name, &shown)?);
            let mut items = 0u64;
            while let Some(k) =
                KeyRecord::read(&mut keys_in).with_context(|| format!("cannot read {shown}"))?
            {
                items += 1;
                index.insert(k.hash, &k.key, k.source, k.row)?;
            }
            if items != r.items_written {
                bail!(
                    "{shown} holds {items} keys, shard {} wrote {} items: it is incomplete; convert that shard again",
                    r.shard.index,
                    r.items_written
                );
            }
        }
        let sources: Vec<(String, Option<String>)> = reports[0]
            .inputs
            .iter()
            .map(|i| (i.path.clone(), i.entity.clone()))
            .collect();
        write_duplicates(index, &**store, &key_names, &sources, cancel, &mut report)?;
    }

    // The inputs: rows summed over the shards, each digest from the shard that hashed it.
    let mut inputs = reports[0].inputs.clone();
    for (k, input) in inputs.iter_mut().enumerate() {
        input.rows = reports.iter().map(|r| r.inputs[k].rows).sum();
        input.crc64nvme = reports.iter().find_map(|r| r.inputs[k].crc64nvme.clone());
        input.sha256 = reports.iter().find_map(|r| r.inputs[k].sha256.clone());
    }
    if cancel.is_cancelled() {
        return Err(crate::pipeline::Interrupted.into());
    }
    report.elapsed_s = started.elapsed().as_secs_f64();
    merge_profiles(listing, &**store, reports, &keys, &mut report)?;
    let facts: &OutputFacts = &settings.facts;
    write_manifests(
        &**store,
        facts,
        &inputs,
        &keys,
        &report.parts,
        &report.counts(),
    )?;
    Ok(report)
}
