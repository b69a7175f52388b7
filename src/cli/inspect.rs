//! `prep inspect`: what an import holds and what it will cost, from one read of its items —
//! the arguments, their mapping to the validation pass with a profile, and the text view (the
//! JSON is the library's [`Summary`]; the HTML is [`prep::profile::html`]).

use super::{default_threads, key_schema, AwsArgs, DupArgs, KeyArgs, OutputArgs};
use anyhow::{Context, Result};
use clap::Args;
use prep::pipeline::progress::{human_bytes as bytes, thousands as count};
use prep::profile::html::{price, usd};
use prep::profile::{ProfileOptions, Summary};
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// prep output folders, DynamoDB export folders, DynamoDB JSON / Ion files (plain, .gz,
    /// .zst) or folders of them; or the same in S3 (s3://bucket/prefix/). Data files (.parquet,
    /// .arrow, .avro, .csv, .tsv, .jsonl, .ndjson; globs of them) are read as prep convert
    /// would convert them, in a dry run that keeps nothing
    #[arg(required_unless_present = "map", value_name = "PATH")]
    pub paths: Vec<String>,
    /// Data files of several entity types in one table: the map file of prep convert --map
    #[arg(long, value_name = "FILE.toml", conflicts_with_all = ["key", "table_def", "gsi"])]
    pub map: Option<PathBuf>,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The import's price per GB of uncompressed data, instead of prep's price table (which
    /// also gives the write and storage prices it compares with)
    #[arg(long, value_name = "USD")]
    pub price_per_gb: Option<f64>,
    /// Write the report as one self-contained HTML file (charts inline, nothing fetched)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// How many of the hottest keys and largest items to name
    #[arg(long, default_value = "10", value_name = "N")]
    pub top: usize,
    /// Memory for counting keys (all indexes together); past it, the distinct count and the
    /// spread of items per key are estimated from a sample of keys (the report says so, with
    /// the error)
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = super::size)]
    pub key_memory: u64,
    #[command(flatten)]
    pub dup: DupArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Worker threads (default: the number of cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Longest DynamoDB JSON / Ion line read (longer ones are skipped and counted as I001)
    #[arg(long, default_value = "8MiB", value_name = "SIZE", value_parser = super::max_line)]
    pub max_line_bytes: usize,
}

/// Table files (CSV too, typed as prep convert types it) and documents: inspected through a
/// dry-run conversion.
fn is_data_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let base = [".gz", ".zst", ".zstd"]
        .iter()
        .fold(lower.as_str(), |b, e| b.strip_suffix(e).unwrap_or(b));
    [
        ".parquet", ".arrow", ".arrows", ".feather", ".ipc", ".avro", ".csv", ".tsv", ".jsonl",
        ".ndjson",
    ]
    .iter()
    .any(|e| base.ends_with(e))
}

/// The profile of data files: the conversion prep convert would make of them (its default
/// options, `--map` or the key options), run into nowhere with its report.
fn dry_run(a: &InspectArgs, profile: ProfileOptions) -> Result<Summary> {
    use prep::commands::convert;
    use prep::commands::embed::default_options;
    let map = a
        .map
        .as_deref()
        .map(prep::shape::map::TableMap::read)
        .transpose()?;
    let keys = match &map {
        Some(m) => m.keys.clone(),
        None => key_schema(&a.keys)?.ok_or_else(|| {
            anyhow::anyhow!(
                "data files need the table's key: --key NAME[:S|N|B] (and --sort-key, --gsi), --table-def or --map"
            )
        })?,
    };
    let mut opts = default_options(keys, prep::output::Destination::Nowhere);
    opts.inputs = a.paths.clone();
    opts.csv_infer = true;
    opts.threads = a.threads.unwrap_or_else(default_threads);
    opts.dup_memory = a.dup.memory();
    opts.tmp_dir = a.dup.tmp_dir.clone();
    opts.read.max_line = a.max_line_bytes;
    opts.aws = prep::aws::AwsOptions {
        profile: a.aws.profile.clone(),
        region: a.aws.region.clone(),
        endpoint_url: a.aws.endpoint_url.clone(),
        path_style: a.aws.path_style,
        max_attempts: 8,
    };
    opts.report = Some(profile);
    if let Some(m) = map {
        opts.billing = m.billing;
        opts.entities = m.entities;
    }
    let report = convert::run(&opts)?;
    let mut s = report
        .profile
        .ok_or_else(|| anyhow::anyhow!("the conversion stopped before its report"))?;
    s.notes.push(
        "data files: profiled as prep convert would convert them (its default options), in a dry run; the files listed are the parts it would write".into(),
    );
    Ok(s)
}

pub fn run(a: InspectArgs) -> Result<i32> {
    use prep::commands::validate::{self, ValidateOptions};
    super::no_key_templates(&a.keys, "prep inspect")?;
    let profile = ProfileOptions {
        top: a.top.max(1),
        memory: usize::try_from(a.key_memory).unwrap_or(usize::MAX),
        ..super::report_options(&a.aws, a.price_per_gb)?
    };
    let region = profile.region.clone();
    let data = a.paths.iter().filter(|p| is_data_file(p)).count();
    if data > 0 && data < a.paths.len() {
        anyhow::bail!(
            "inspect data files (Parquet, Arrow, Avro, CSV, JSON Lines) and import files or folders in separate runs"
        );
    }
    if a.map.is_some() || data > 0 {
        let s = dry_run(&a, profile)?;
        return show(&a, &s);
    }
    let opts = ValidateOptions {
        paths: a.paths.clone(),
        keys: key_schema(&a.keys)?,
        format: None,
        compression: None,
        header_list: None,
        delimiter: None,
        threads: a.threads.unwrap_or_else(default_threads),
        batch_rows: 8192,
        duplicates: true,
        dup_memory: a.dup.memory(),
        tmp_dir: a.dup.tmp_dir.clone(),
        region: Some(region),
        fast: true,
        max_line: a.max_line_bytes,
        ttl: None,
        aws: prep::aws::AwsOptions {
            profile: a.aws.profile.clone(),
            region: a.aws.region.clone(),
            endpoint_url: a.aws.endpoint_url.clone(),
            path_style: a.aws.path_style,
            max_attempts: 8,
        },
        profile: Some(profile),
    };
    let r = validate::run(&opts)?;
    let s = r.profile.expect("asked for a profile");
    show(&a, &s)
}

/// The report as asked: the HTML file, and JSON or text on stdout.
fn show(a: &InspectArgs, s: &Summary) -> Result<i32> {
    if let Some(path) = &a.html {
        let title = format!("prep inspect: {}", a.paths.join(" "));
        std::fs::write(path, prep::profile::html::render(s, &title))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if a.output.json {
        outln!("{}", serde_json::to_string_pretty(s)?);
    } else if !a.output.quiet {
        out!("{}", text(s));
        if let Some(path) = &a.html {
            outln!("report: {}", path.display());
        }
    }
    Ok(0)
}

/// A bar of `width` cells for `v` of `max`.
fn bar(v: u64, max: u64, width: usize) -> String {
    if max == 0 || v == 0 {
        return String::new();
    }
    let cells = ((v as f64 / max as f64) * width as f64).ceil() as usize;
    "█".repeat(cells.clamp(1, width))
}

/// The report for people: aligned, a bar per histogram row.
pub fn text(s: &Summary) -> String {
    let mut o = String::new();
    let v = &s.volume;
    let _ = writeln!(o, "Volume");
    let _ = writeln!(o, "  {:<28}{:>16}", "files", count(v.files as u64));
    for (what, n) in [("items", v.items), ("lines", v.lines)] {
        let _ = writeln!(o, "  {what:<28}{:>16}", count(n));
    }
    for (what, n) in [
        ("uncompressed (billed)", v.uncompressed_bytes),
        ("stored", v.stored_bytes),
        ("item bytes (DynamoDB size)", v.item_bytes),
    ] {
        let _ = writeln!(o, "  {what:<28}{:>16}", bytes(n));
    }
    let _ = writeln!(
        o,
        "  {:<28}{:>16} / {} / {}",
        "file size min / p50 / max",
        bytes(v.file_bytes.min),
        bytes(v.file_bytes.p50),
        bytes(v.file_bytes.max)
    );

    let _ = writeln!(o, "\nCost");
    match &s.cost {
        Some(c) => {
            let mut line = |what: &str, l: &prep::profile::CostLine| {
                let _ = writeln!(
                    o,
                    "  {what:<36}{:>14.3} {:<28} × {:<10}= {:>12}",
                    l.quantity,
                    l.unit,
                    price(l.price),
                    usd(l.usd)
                );
            };
            line("Import from S3", &c.import);
            if let Some(b) = &c.batch_write {
                line("BatchWriteItem on demand, instead", b);
            }
            if let Some(st) = &c.storage_monthly {
                line("storage a month, after", st);
            }
            let _ = writeln!(o, "  prices: {}, {}", c.region, c.source);
        }
        None => {
            let _ = writeln!(o, "  no prices for this region (see the notes)");
        }
    }

    let z = &s.item_sizes;
    let _ = writeln!(o, "\nItem sizes");
    let _ = writeln!(
        o,
        "  min {}  p50 {}  p90 {}  p99 {}  max {}  mean {:.0} B  near 400 KB: {}",
        bytes(z.min),
        bytes(z.p50),
        bytes(z.p90),
        bytes(z.p99),
        bytes(z.max),
        z.mean,
        count(z.near_limit)
    );
    let most = z.histogram.iter().map(|b| b.items).max().unwrap_or(0);
    for b in &z.histogram {
        let _ = writeln!(
            o,
            "  {:>9} – {:<9}{:>14}  {}",
            bytes(b.from),
            bytes(b.to),
            count(b.items),
            bar(b.items, most, 40)
        );
    }
    if !z.largest.is_empty() {
        let _ = writeln!(o, "  largest:");
        for l in &z.largest {
            let _ = writeln!(o, "  {:>12}  {}:{}", bytes(l.size), l.file, l.line);
        }
    }

    if !s.keys.is_empty() {
        let _ = writeln!(o, "\nKey design");
    }
    for k in &s.keys {
        let distinct = k.distinct_partition_keys.shown();
        let share = prep::profile::percent(k.items, v.items);
        let _ = writeln!(o, "  {}", k.title());
        let _ = writeln!(
            o,
            "    items {} ({share:.1} % of all), distinct partition keys {distinct}",
            count(k.items)
        );
        let est = if k.items_per_key.exact {
            ""
        } else {
            " (estimated)"
        };
        let _ = writeln!(
            o,
            "    items per key p50 {} p99 {} max {}{est}; bytes per key p50 {} p99 {} max {}",
            count(k.items_per_key.p50),
            count(k.items_per_key.p99),
            count(k.items_per_key.max),
            bytes(k.bytes_per_key.p50),
            bytes(k.bytes_per_key.p99),
            bytes(k.bytes_per_key.max)
        );
        if let Some(order) = &k.order {
            let _ = writeln!(o, "    {}", order.sentence());
        }
        let hot = k.hottest.first().map(|h| h.items).unwrap_or(0);
        for h in &k.hottest {
            let err = if h.error_at_most > 0 {
                format!(" (up to +{})", count(h.error_at_most))
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "    {:<36}{:>12}{err}  {}",
                clip(&h.key),
                count(h.items),
                bar(h.items, hot, 30)
            );
        }
    }

    let drifting: Vec<_> = s.attributes.names.iter().filter(|a| a.drift).collect();
    let _ = writeln!(
        o,
        "\nAttributes: {} names{}",
        count(s.attributes.names.len() as u64),
        if drifting.is_empty() {
            String::new()
        } else {
            format!(", {} with more than one type", drifting.len())
        }
    );
    for a in s.attributes.names.iter().take(30) {
        let types: Vec<String> = a
            .types
            .iter()
            .map(|t| format!("{} {}", t.ty, count(t.items)))
            .collect();
        let _ = writeln!(
            o,
            "  {:<28}{:>7.1} %  {}{}",
            clip(&a.name),
            a.share * 100.0,
            types.join(", "),
            if a.max_depth > 0 {
                format!("  depth {}", a.max_depth)
            } else {
                String::new()
            }
        );
    }
    if s.attributes.names.len() > 30 {
        let _ = writeln!(
            o,
            "  … {} more (--json lists all)",
            s.attributes.names.len() - 30
        );
    }
    for a in drifting {
        let _ = writeln!(o, "  ! {} has several types:", a.name);
        for t in &a.types {
            let _ = writeln!(
                o,
                "      {:<5}{:>12} items, first at {}:{}",
                t.ty,
                count(t.items),
                t.first.file,
                t.first.line
            );
        }
    }

    let _ = writeln!(o, "\nLimits");
    for l in &s.limits {
        let _ = writeln!(
            o,
            "  {:<4} {:<44}{:>16} of {}{}",
            if l.ok { "ok" } else { "OVER" },
            l.check,
            count(l.value as u64),
            count(l.limit as u64),
            if l.ok {
                String::new()
            } else {
                format!(": {}", l.note)
            }
        );
    }
    if s.findings.errors + s.findings.warnings > 0 {
        let rules: Vec<String> = s
            .findings
            .by_rule
            .iter()
            .map(|(k, n)| format!("{k} {}", count(*n)))
            .collect();
        let _ = writeln!(
            o,
            "  prep validate finds {} errors and {} warnings ({}): run it for the list",
            count(s.findings.errors),
            count(s.findings.warnings),
            rules.join(", ")
        );
    }
    for n in &s.notes {
        let _ = writeln!(o, "note: {n}");
    }
    o
}

fn clip(s: &str) -> String {
    if s.chars().count() > 34 {
        format!("{}…", s.chars().take(33).collect::<String>())
    } else {
        s.to_string()
    }
}
