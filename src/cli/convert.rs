//! `prep convert`: its arguments, their mapping to [`ConvertOptions`], the run and its summary.

use super::{
    aws_options, default_threads, key_schema, AwsArgs, CompressionArg, KeyArgs, OutputArgs, PutArgs,
};
use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use prep::commands::convert::{self, ConvertOptions, DupMode, OnError};
use prep::encoding::target::{Target, Timestamps};
use prep::encoding::{Nulls, Syntax};
use prep::input::{csv::CsvOptions, ReadOptions};
use prep::shape::Shape;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutFormat {
    #[value(name = "dynamodb-json")]
    DynamodbJson,
    Ion,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum NullsArg {
    /// Leave null attributes out of the item
    Omit,
    /// Write {"NULL":true}
    Null,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnErrorArg {
    /// Write failing rows to OUT/rejects.jsonl and go on
    Reject,
    /// Stop at the first failing row
    Fail,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DuplicatesArg {
    /// Report duplicate primary keys, exit 0
    Warn,
    /// Report them and exit 1
    Error,
    /// Do not look for duplicates
    Off,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CsvTypes {
    /// N or BOOL where every sampled cell of a column fits, else S
    Infer,
    /// Every CSV column is S (unless --type says otherwise)
    String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TimestampsArg {
    /// RFC 3339 strings (S)
    Rfc3339,
    /// Seconds since the epoch (N)
    #[value(name = "epoch-s")]
    EpochS,
    /// Milliseconds since the epoch (N)
    #[value(name = "epoch-ms")]
    EpochMs,
    /// Microseconds since the epoch (N)
    #[value(name = "epoch-us")]
    EpochUs,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input files, directories (recursed, sorted) or globs, local or in S3 (s3://bucket/key,
    /// s3://bucket/prefix/, s3://bucket/exports/*.parquet): CSV/TSV (plain, .gz, .zst), Parquet,
    /// Arrow IPC files (.arrow, .feather) and streams (.arrows), DynamoDB JSON or Ion items
    /// (plain, .gz, .zst; DynamoDB export folders too)
    #[arg(required_unless_present = "map", value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Several entity types into one table: a TOML file with a [table] section (name, key,
    /// sort_key, gsi, definition, ttl, billing_mode, read_capacity, write_capacity) and one
    /// [entity.NAME] section per entity type (inputs, key and sort_key templates, set, select,
    /// drop, rename, ttl, types). Inputs, keys and shaping then come from the file
    #[arg(long, value_name = "FILE.toml")]
    pub map: Option<std::path::PathBuf>,
    /// Output folder (data/ parts, manifests, rejects), or an S3 prefix written straight into
    /// with no local copy (s3://bucket/prefix/: parts under prefix/data/, manifests beside them,
    /// ready for prep import). Must be new or empty (for S3: no data/ objects or manifests)
    /// unless --force
    #[arg(long, short, value_name = "DIR|S3_URL")]
    pub out: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Table name for import-table.json (default: from --table-def, else the output folder's name)
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "dynamodb-json")]
    pub format: OutFormat,
    /// Compression of every part
    #[arg(long, value_enum, default_value = "zstd", ignore_case = true)]
    pub compress: CompressionArg,
    /// Compression level (zstd 1-19, default 1; gzip 0-9, default 6)
    #[arg(long, value_name = "N")]
    pub compress_level: Option<i32>,
    /// Largest part, in uncompressed item bytes (e.g. 64MiB, 1GB)
    #[arg(long, default_value = "512MiB", value_name = "SIZE", value_parser = super::size)]
    pub part_size: u64,
    /// Null values: leave the attribute out, or write NULL
    #[arg(long, value_enum, default_value = "omit")]
    pub nulls: NullsArg,
    /// Column type override COLUMN=TYPE: S, N, B, BOOL, SS, NS, BS (SS:; splits text on ;), L, M, JSON
    #[arg(long = "type", value_name = "COLUMN=TYPE")]
    pub types: Vec<String>,
    /// How timestamps are written
    #[arg(long, value_enum, default_value = "rfc3339")]
    pub timestamps: TimestampsArg,
    /// What to do with a row that would fail the import
    #[arg(long, value_enum, default_value = "reject")]
    pub on_error: OnErrorArg,
    /// What duplicate primary keys mean for the exit code
    #[arg(long, value_enum, default_value = "warn")]
    pub duplicates: DuplicatesArg,
    #[command(flatten)]
    pub dup: super::DupArgs,
    /// Worker threads (default: the number of cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Replace prep's files in a non-empty --out (for s3://: delete the data/ objects and
    /// manifests there, and abort multipart uploads a killed run left)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub put: PutArgs,
    /// Convert only shard I of N (0-based): N processes with I = 0…N-1 convert every input
    /// exactly once into one --out, then `prep merge OUT` writes the manifests. `--shard N`
    /// takes I from AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// CSV delimiter (one character; `tab` or \t for tab). Default: comma (tab for .tsv)
    #[arg(long, value_name = "C", value_parser = super::delimiter)]
    pub delimiter: Option<u8>,
    /// CSV files have no header line; name the columns with --columns
    #[arg(long, requires = "columns")]
    pub no_header: bool,
    /// Column names for headerless CSV: a,b,c
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "a,b,c",
        requires = "no_header"
    )]
    pub columns: Option<Vec<String>>,
    /// How CSV cells are typed
    #[arg(long, value_enum, default_value = "infer")]
    pub csv_types: CsvTypes,
    /// Rows sampled per CSV column by --csv-types infer
    #[arg(long, default_value = "1000", value_name = "N")]
    pub csv_sample_rows: usize,
    /// Longest DynamoDB JSON / Ion line or CSV record read (longer ones are skipped as they
    /// stream and reported as I001; no valid item needs more than a few MB)
    #[arg(long, default_value = "8MiB", value_name = "SIZE", value_parser = super::max_line)]
    pub max_line_bytes: usize,
    /// Add or replace an attribute computed from a template: NAME=TEMPLATE (S) or
    /// NAME:N=TEMPLATE (N), e.g. --set GSI1PK=EMAIL#{email}, --set type=Order (a constant).
    /// Templates: literal text with {column} placeholders; {a.b} a struct field; {id:08} an
    /// integer zero-padded to width 8; {created:%Y-%m-%d} a date or timestamp (or ISO-8601 text)
    /// formatted with %Y %m %d %H %M %S %j %s %3f %6f %9f %F %T %%, in UTC; {{ and }} literal
    /// braces. A row whose value is null or empty is rejected (M001) (repeatable)
    #[arg(long = "set", value_name = "NAME[:N]=TEMPLATE")]
    pub sets: Vec<String>,
    /// Only these source columns become attributes (computed ones always do): a,b,c
    #[arg(long, value_delimiter = ',', value_name = "a,b,c")]
    pub select: Option<Vec<String>>,
    /// These source columns do not become attributes (templates may still use them): x,y
    #[arg(long, value_delimiter = ',', value_name = "x,y")]
    pub drop: Vec<String>,
    /// Write column OLD as attribute NEW (repeatable)
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    /// The TTL attribute: NAME=COLUMN[:ms|:us|:ns][+DURATION] writes NAME as N epoch seconds from
    /// a timestamp, date, ISO-8601 or epoch column (+90d, +12h, +1d12h); NAME alone checks an
    /// existing attribute. Values TTL would ignore (strings, milliseconds, negative) are rejected
    /// (E001-E004)
    #[arg(long, value_name = "NAME[=COLUMN[+DURATION]]")]
    pub ttl: Option<String>,
    /// Plain JSON inputs: MongoDB Extended JSON ({"$oid": …}, {"$date": …}, {"$numberLong": …})
    /// read as S, timestamps, N and B, or plain JSON where those are maps. Default: mongodb
    /// where the first documents have $oid/$date/$numberLong/$numberDecimal, else plain
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub json_dialect: Option<JsonDialect>,
    /// Also write report.json and report.html beside the manifests: what the output holds and
    /// what its import will cost, as `prep inspect` tells it, from this same pass (prices for
    /// --region, else AWS_REGION, else us-east-1; with --shard, each shard keeps its counts and
    /// prep merge writes the report)
    #[arg(long)]
    pub report: bool,
    /// With --report: the import's price per GB of uncompressed data, instead of prep's table
    #[arg(long, value_name = "USD", requires = "report")]
    pub price_per_gb: Option<f64>,
    /// Rows per batch (memory is about batch × threads × row size)
    #[arg(long, default_value = "8192", value_name = "N", hide = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_rows: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonDialect {
    /// MongoDB Extended JSON (mongoexport, relaxed or canonical)
    Mongodb,
    /// JSON as it is: objects with $ names stay maps
    Plain,
}

/// The shaping the arguments ask for: key templates first, then --set in order, then --ttl.
fn shape(a: &ConvertArgs) -> Result<Shape> {
    Shape::from_options(
        super::key_templates(&a.keys)?,
        &a.sets,
        a.select.clone(),
        a.drop.clone(),
        &a.rename,
        a.ttl.as_deref(),
    )
}

/// With --map, the keys, inputs and shaping come from the map file; the options that say the
/// same on the command line are refused rather than silently overridden.
fn refuse_beside_map(a: &ConvertArgs) -> Result<()> {
    let given = [
        (!a.inputs.is_empty(), "INPUT"),
        (a.keys.key.is_some(), "--key"),
        (a.keys.sort_key.is_some(), "--sort-key"),
        (!a.keys.gsi.is_empty(), "--gsi"),
        (a.keys.table_def.is_some(), "--table-def"),
        (!a.sets.is_empty(), "--set"),
        (a.select.is_some(), "--select"),
        (!a.drop.is_empty(), "--drop"),
        (!a.rename.is_empty(), "--rename"),
        (a.ttl.is_some(), "--ttl"),
        (!a.types.is_empty(), "--type"),
    ];
    let clash: Vec<&str> = given.iter().filter(|g| g.0).map(|g| g.1).collect();
    if !clash.is_empty() {
        anyhow::bail!(
            "--map takes the table's keys, inputs and shaping from the map file; leave out {} (write them into [table] or an [entity.NAME] section)",
            clash.join(", ")
        );
    }
    Ok(())
}

fn options(a: &ConvertArgs) -> Result<ConvertOptions> {
    let map = match &a.map {
        Some(path) => {
            refuse_beside_map(a)?;
            Some(prep::shape::map::TableMap::read(path)?)
        }
        None => None,
    };
    let keys = match &map {
        Some(m) => m.keys.clone(),
        None => key_schema(&a.keys)?.ok_or_else(|| anyhow!("--key or --table-def is required"))?,
    };
    if let Some(t) = &a.table {
        prep::model::keys::check_table_or_index_name(t)?;
    }
    let overrides = a
        .types
        .iter()
        .map(|t| {
            let (col, ty) = t
                .rsplit_once('=')
                .ok_or_else(|| anyhow!("--type {t:?}: expected COLUMN=TYPE"))?;
            Ok((col.to_string(), Target::parse(ty)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ConvertOptions {
        inputs: a.inputs.clone(),
        aws: aws_options(&a.aws, a.put.max_attempts),
        out: a.put.destination(&a.out)?,
        keys,
        table_name: a.table.clone(),
        syntax: match a.format {
            OutFormat::DynamodbJson => Syntax::Json,
            OutFormat::Ion => Syntax::Ion,
        },
        compression: a.compress.into(),
        level: a.compress_level,
        part_size: a.part_size,
        nulls: match a.nulls {
            NullsArg::Omit => Nulls::Omit,
            NullsArg::Null => Nulls::Null,
        },
        overrides,
        timestamps: match a.timestamps {
            TimestampsArg::Rfc3339 => Timestamps::Rfc3339,
            TimestampsArg::EpochS => Timestamps::Epoch(0),
            TimestampsArg::EpochMs => Timestamps::Epoch(3),
            TimestampsArg::EpochUs => Timestamps::Epoch(6),
        },
        on_error: match a.on_error {
            OnErrorArg::Reject => OnError::Reject,
            OnErrorArg::Fail => OnError::Fail,
        },
        duplicates: match a.duplicates {
            DuplicatesArg::Warn => DupMode::Warn,
            DuplicatesArg::Error => DupMode::Error,
            DuplicatesArg::Off => DupMode::Off,
        },
        dup_memory: a.dup.memory(),
        tmp_dir: a.dup.tmp_dir.clone(),
        threads: a.threads.unwrap_or_else(default_threads),
        force: a.force,
        read: ReadOptions {
            batch_rows: a.batch_rows as usize,
            keep_blank: false,
            blocks: Default::default(),
            csv: CsvOptions {
                delimiter: a.delimiter,
                columns: if a.no_header { a.columns.clone() } else { None },
                sample_rows: a.csv_sample_rows,
            },
            max_line: a.max_line_bytes,
        },
        csv_infer: matches!(a.csv_types, CsvTypes::Infer),
        observer: a.output.observer("prep convert", false),
        cancel: Default::default(),
        shard: a
            .shard
            .as_deref()
            .map(prep::model::shard::Shard::parse)
            .transpose()?,
        shape: shape(a)?,
        billing: map.as_ref().and_then(|m| m.billing.clone()),
        json_mongodb: a.json_dialect.map(|d| d == JsonDialect::Mongodb),
        entities: map.map(|m| m.entities).unwrap_or_default(),
        report: match a.report {
            true => Some(super::report_options(&a.aws, a.price_per_gb)?),
            false => None,
        },
    })
}

pub fn run(a: ConvertArgs) -> Result<i32> {
    let opts = options(&a)?;
    // Ctrl-C (or SIGTERM): the first asks the run to stop and remove what it wrote (no
    // `.part-*.tmp` is left), a second ends the process at once.
    let cancel = opts.cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if cancel.is_cancelled() {
            std::process::exit(130);
        }
        eprintln!("prep: stopping (interrupted); press Ctrl-C again to quit at once");
        cancel.cancel();
    });
    let report = convert::run(&opts)?;
    if a.output.json {
        outln!("{}", report.to_json());
    } else if !a.output.quiet || report.failed_row.is_some() {
        eprint!(
            "{}",
            prep::commands::convert::human_summary(&report, "prep convert")
        );
    }
    Ok(report.exit_code())
}
