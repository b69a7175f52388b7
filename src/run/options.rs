//! The options of a conversion run, as `prep convert`, `prep.encode` and a shard writer take
//! them, and what follows from them alone (the table's name, the output's facts).

use crate::encoding::target::{Target, Timestamps};
use crate::encoding::{Nulls, Syntax};
use crate::input::ReadOptions;
use crate::model::keys::KeySchema;
use crate::model::manifest::{Billing, OutputFacts};
use crate::model::observe::Observe;
use crate::model::shard::Shard;
use crate::output::{Compression, Destination};
use crate::shape::map::Entity;
use crate::shape::Shape;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    Reject,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DupMode {
    Warn,
    Error,
    Off,
}

/// Everything `prep convert` needs, independent of the command line.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Local files, folders and globs, and `s3://` objects, prefixes and globs.
    pub inputs: Vec<String>,
    /// How S3 inputs are reached.
    pub aws: crate::aws::AwsOptions,
    /// A local folder, or an S3 prefix written without a local copy.
    pub out: Destination,
    pub keys: KeySchema,
    pub table_name: Option<String>,
    pub syntax: Syntax,
    pub compression: Compression,
    pub level: Option<i32>,
    pub part_size: u64,
    pub nulls: Nulls,
    pub overrides: Vec<(String, Target)>,
    pub timestamps: Timestamps,
    pub on_error: OnError,
    pub duplicates: DupMode,
    /// Memory the duplicate-key index holds before it spills sorted runs to disk.
    pub dup_memory: usize,
    /// Where it spills (default: inside the output folder, or the system's temporary folder
    /// for an S3 output).
    pub tmp_dir: Option<std::path::PathBuf>,
    pub threads: usize,
    pub force: bool,
    pub read: ReadOptions,
    pub csv_infer: bool,
    /// Where progress and notices go.
    pub observer: Observe,
    /// Set to stop the run (it removes what it wrote).
    pub cancel: crate::pipeline::Cancel,
    /// One of N processes that convert the inputs together (`prep merge` joins them).
    pub shard: Option<Shard>,
    /// Computed keys and attributes, selected and renamed columns, the TTL attribute.
    pub shape: Shape,
    /// A map file's entity types, each with its inputs and shaping (then `inputs`, `shape` and
    /// `overrides` are unused).
    pub entities: Vec<Entity>,
    /// The billing of the table the import creates (import-table.json), from a map file.
    pub billing: Option<Billing>,
    /// Plain JSON inputs' dialect: `Some(true)` MongoDB Extended JSON, `Some(false)` plain,
    /// `None` told from each group's first documents (`$oid`, `$date`, …).
    pub json_mongodb: Option<bool>,
    /// Profile the items as they are written (`--report`): report.json and report.html beside
    /// the manifests, as `prep inspect` gives them.
    pub report: Option<crate::profile::ProfileOptions>,
}

/// Memory the duplicate-key index holds by default before it spills to disk (as the CLI's
/// `--dup-memory 256MiB`).
pub const DEFAULT_DUP_MEMORY: usize = 256 << 20;

/// The options of a conversion with prep convert's defaults: DynamoDB JSON, zstd, 512 MiB
/// parts, nulls left out, RFC 3339 timestamps, failing rows rejected, duplicates warned of.
pub fn default_options(keys: KeySchema, out: Destination) -> ConvertOptions {
    ConvertOptions {
        inputs: Vec::new(),
        aws: Default::default(),
        out,
        keys,
        table_name: None,
        syntax: Syntax::Json,
        compression: Compression::Zstd,
        level: None,
        part_size: 512 << 20,
        nulls: Nulls::Omit,
        overrides: Vec::new(),
        timestamps: Timestamps::Rfc3339,
        on_error: OnError::Reject,
        duplicates: DupMode::Warn,
        threads: 1,
        force: false,
        read: ReadOptions {
            batch_rows: 8192,
            keep_blank: false,
            blocks: Default::default(),
            csv: crate::input::csv::CsvOptions {
                delimiter: None,
                columns: None,
                sample_rows: 1000,
            },
            max_line: crate::input::parse::lines::DEFAULT_MAX_LINE,
        },
        csv_infer: false,
        observer: Default::default(),
        cancel: Default::default(),
        shard: None,
        shape: Default::default(),
        entities: Vec::new(),
        billing: None,
        json_mongodb: None,
        report: None,
        dup_memory: DEFAULT_DUP_MEMORY,
        tmp_dir: None,
    }
}

/// The table name for import-table.json: `--table`, the table definition's, or the output
/// folder's name (an S3 prefix's last level, or its bucket's name) made valid (3–255 of
/// `[a-zA-Z0-9_.-]`).
pub(crate) fn table_name(opts: &ConvertOptions, keys: &KeySchema) -> String {
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
        Destination::Nowhere => String::new(),
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

/// What the manifests say of the output as a whole under `opts`.
pub(crate) fn output_facts(opts: &ConvertOptions, keys: &KeySchema) -> OutputFacts {
    OutputFacts {
        table: table_name(opts, keys),
        format: opts.syntax.import_format().to_string(),
        compression: opts.compression.import_name().to_string(),
        billing: opts.billing.clone(),
    }
}

impl ConvertOptions {
    /// The output store, made ready and locked for the run (one shard's, for a shard).
    pub(crate) fn open_output(
        &self,
    ) -> anyhow::Result<(
        std::sync::Arc<dyn crate::output::store::OutputStore>,
        crate::output::Lock,
    )> {
        crate::output::open(
            &self.out,
            &self.aws,
            self.force,
            self.shard,
            self.observer.clone(),
        )
    }

    /// Where the duplicate-key index spills and how much it holds first.
    pub(crate) fn dup_spill(&self) -> crate::pipeline::duplicates::Spill {
        crate::pipeline::duplicates::Spill::for_output(
            &self.out,
            self.tmp_dir.as_deref(),
            self.dup_memory,
        )
    }
}
