//! The command line: the top-level parser and what every command shares (key and AWS options,
//! output flags, size and delimiter parsing). Each command has its own file holding its
//! arguments, their mapping to the library's options, the run and the rendering of its result.

/// `println!` to stdout that stops quietly when the reader has gone (a closed pipe:
/// `prep rules | head -5`), as ripgrep does, instead of panicking; any other write error is the
/// command's error. Used in the command files in place of `println!`/`print!`.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::out(&format!("{}\n", format_args!($($t)*)))? };
}
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out(&format!($($t)*))? };
}

mod convert;
mod import;
mod inspect;
mod merge;
mod observe;
mod rules;
mod upload;
mod validate;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use prep::model::keys::{Gsi, KeyAttr, KeySchema};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Parser, Debug)]
#[command(
    name = "prep",
    version,
    about = "Get data ready for DynamoDB Import from S3",
    long_about = "Get data ready for DynamoDB Import from S3.\n\n\
        convert   CSV/TSV (plain, .gz, .zst), Parquet, Arrow IPC files and streams, DynamoDB JSON\n\
        \x20         and Ion → key-checked DynamoDB JSON or Ion parts, manifests, rejects\n\
        validate  check DynamoDB JSON / Ion / CSV files, prep folders and DynamoDB exports\n\
        \x20         against the import rules (text, JSON, GitHub, SARIF, JUnit output)\n\
        inspect   what an import holds and will cost: sizes, attributes, key design, limits\n\
        \x20         (text, JSON, a self-contained HTML report)\n\
        merge     join the shards of a conversion (convert --shard I/N) into one import folder\n\
        upload    put a converted folder in S3: multipart, parallel, checksummed, resumable\n\
        import    start the DynamoDB import of an uploaded folder and follow it to the end\n\
        rules     list the rules prep checks, or explain one\n\n\
        Exit codes: 0 clean, 1 findings (rejected rows, rule errors), 2 could not run, 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Convert CSV/TSV, Parquet, Arrow IPC, DynamoDB JSON or Ion into key-checked DynamoDB JSON or Ion parts with manifests
    #[command(
        mut_arg("key", |a| a
            .help("Partition key NAME[:S|N|B] (type taken from the data when left out), or computed from a template: NAME=TEMPLATE (type S), e.g. PK=CUSTOMER#{id} (template syntax under --set)")
            .required_unless_present_any(["table_def", "map"])),
    )]
    Convert(Box<convert::ConvertArgs>),
    /// Check DynamoDB JSON / Ion / CSV files or folders against the import rules (for CI)
    #[command(
        mut_arg("key", |a| a.help("Partition key NAME[:S|N|B] (default: from a prep manifest, if any)")),
    )]
    Validate(Box<validate::ValidateArgs>),
    /// What an import holds and will cost: volume, item sizes, attributes, key design, limits (text, --json, --html)
    #[command(
        mut_arg("key", |a| a.help("Partition key NAME[:S|N|B] (default: from a prep manifest, if any)")),
        mut_arg("region", |a| a.help("Region whose prices and import quota apply, and of the bucket for s3:// paths (default: AWS_REGION, else us-east-1)")),
    )]
    Inspect(Box<inspect::InspectArgs>),
    /// Join the shards of a conversion (prep convert --shard I/N) into one import folder: manifests, rejects, duplicates across shards
    Merge(Box<merge::MergeArgs>),
    /// Upload a converted folder to S3 for ImportTable: multipart, parallel, checksummed, resumable
    #[command(mut_arg("endpoint_url", |a| a
        .help("S3 endpoint URL (also AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3)")))]
    Upload(Box<upload::UploadArgs>),
    /// Start the DynamoDB import of an uploaded folder and follow it to the end
    #[command(
        mut_arg("key", |a| a
            .help("Partition key NAME:S|N|B (replaces the key schema of import-table.json)")
            .value_name("NAME:T")),
        mut_arg("sort_key", |a| a.help("Sort key NAME:S|N|B").value_name("NAME:T")),
        mut_arg("gsi", |a| a
            .help("Global secondary index INDEX=PK:T[,SK:T] (repeatable, with --key)")
            .value_name("INDEX=PK:T[,SK:T]")),
        mut_arg("endpoint_url", |a| a.help("Endpoint URL for DynamoDB and S3 (also AWS_ENDPOINT_URL)")),
    )]
    Import(Box<import::ImportArgs>),
    /// List the rules prep checks, or explain one: prep rules K001
    Rules {
        /// A rule code (K001) or name (key-missing)
        code: Option<String>,
    },
}

/// Runs the command; its exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Convert(args) => convert::run(*args),
        Cmd::Validate(args) => validate::run(*args),
        Cmd::Inspect(args) => inspect::run(*args),
        Cmd::Merge(args) => merge::run(*args),
        Cmd::Upload(args) => upload::run(*args),
        Cmd::Import(args) => import::run(*args),
        Cmd::Rules { code } => rules::run(code.as_deref()),
    }
}

/// What every command prints, the same way in each.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print nothing but errors (and the --json summary)
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Whether a progress bar is shown: on a terminal, unless told to be quiet or to print JSON.
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }

    /// The observer of `command`: a bar on a terminal; elsewhere, with `lines`, a line every ten
    /// seconds (for a long wait in a log), unless quiet or printing JSON; notices always.
    pub fn observer(&self, command: &'static str, lines: bool) -> prep::model::observe::Observe {
        let show = if self.progress() {
            observe::Show::Bar
        } else if lines && !self.quiet && !self.json {
            observe::Show::Lines(std::time::Duration::from_secs(10))
        } else {
            observe::Show::Nothing
        };
        observe::Cli::observe(command, show)
    }
}

/// The key schema options of convert, validate and import. What differs between the commands
/// (help, whether a key is required, whether its type is) is set on each subcommand in [`Cmd`]
/// and checked where the schema is built.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Partition key NAME[:S|N|B], or computed: NAME=TEMPLATE (type S), e.g. PK=CUSTOMER#{id}
    /// (convert; template syntax under --set)
    #[arg(long, value_name = "NAME[:T]|NAME=TEMPLATE")]
    pub key: Option<String>,
    /// Sort key NAME[:S|N|B], or computed: NAME=TEMPLATE, e.g. SK=ORDER#{created:%Y-%m-%d}#{id:010}
    #[arg(long, value_name = "NAME[:T]|NAME=TEMPLATE", requires = "key")]
    pub sort_key: Option<String>,
    /// Global secondary index INDEX=PK[:T][,SK[:T]] (repeatable)
    #[arg(long, value_name = "INDEX=PK[:T][,SK[:T]]")]
    pub gsi: Vec<String>,
    /// Keys and GSIs from a TableCreationParameters JSON or `aws dynamodb describe-table` output
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub table_def: Option<PathBuf>,
}

/// Where and as whom upload and import talk to AWS.
#[derive(Args, Debug)]
pub struct AwsArgs {
    /// AWS profile (default: the standard chain: environment, profiles, SSO, web identity, IMDS)
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint URL (also AWS_ENDPOINT_URL)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (bucket in the path), for S3-compatible servers
    #[arg(long)]
    pub path_style: bool,
}

/// S3 server-side encryption, as the header names it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SseArg {
    /// SSE-KMS (with --sse-kms-key-id, or the AWS managed key)
    #[value(name = "aws:kms")]
    AwsKms,
    /// SSE-S3
    #[value(name = "AES256")]
    Aes256,
}

impl SseArg {
    fn header_value(self) -> &'static str {
        match self {
            SseArg::AwsKms => "aws:kms",
            SseArg::Aes256 => "AES256",
        }
    }
}

/// How prep writes into S3 (`prep upload`, `prep convert --out s3://…`).
#[derive(Args, Debug)]
pub struct PutArgs {
    /// Refuse to write unless the destination bucket belongs to this account
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub expected_bucket_owner: Option<String>,
    /// Server-side encryption
    #[arg(long, value_enum)]
    pub sse: Option<SseArg>,
    /// KMS key for --sse aws:kms
    #[arg(long, value_name = "KEY_ID", requires = "sse")]
    pub sse_kms_key_id: Option<String>,
    /// Storage class (STANDARD, INTELLIGENT_TIERING, …)
    #[arg(long)]
    pub storage_class: Option<String>,
    /// S3 requests in flight, across and within objects
    #[arg(long, default_value = "8", value_name = "N")]
    pub concurrency: usize,
    /// Chunk size of multipart uploads (at least 5MiB)
    #[arg(long, default_value = "16MiB", value_name = "SIZE", value_parser = size)]
    pub multipart_chunksize: u64,
    /// Attempts per S3 request (throttling, 5xx and dropped connections are retried with backoff)
    #[arg(long, default_value = "8", value_name = "N")]
    pub max_attempts: u32,
}

impl PutArgs {
    /// `--out`: an `s3://bucket/prefix/` written with these settings, or a local folder.
    pub fn destination(&self, out: &str) -> Result<prep::output::Destination> {
        use prep::output::{s3::S3Destination, Destination};
        Ok(if out.starts_with("s3://") {
            let (bucket, prefix) = prep::aws::parse_s3_url(out)?;
            Destination::S3(S3Destination {
                bucket,
                prefix,
                put: self.settings()?,
                concurrency: self.concurrency.max(1),
                chunk_size: self.multipart_chunksize,
            })
        } else {
            Destination::Folder(PathBuf::from(out))
        })
    }

    /// The settings objects are created with, checked.
    pub fn settings(&self) -> Result<prep::aws::PutSettings> {
        if self.multipart_chunksize < 5 << 20 {
            bail!("--multipart-chunksize must be at least 5MiB (S3's smallest part)");
        }
        if self.sse_kms_key_id.is_some() && !matches!(self.sse, Some(SseArg::AwsKms)) {
            bail!("--sse-kms-key-id needs --sse aws:kms");
        }
        Ok(prep::aws::PutSettings {
            expected_bucket_owner: self.expected_bucket_owner.clone(),
            sse: self.sse.map(|s| s.header_value().to_string()),
            sse_kms_key_id: self.sse_kms_key_id.clone(),
            storage_class: self.storage_class.clone(),
        })
    }
}

/// The key schema the options give, if any.
/// The key attribute of `--key`/`--sort-key`: `NAME[:T]`, or `NAME=TEMPLATE` (computed, S).
fn key_attr(spec: &str) -> Result<KeyAttr> {
    Ok(prep::shape::Shape::parse_key(spec)?.0)
}

/// The key templates of `--key NAME=TEMPLATE` / `--sort-key`, as computed attributes.
pub fn key_templates(a: &KeyArgs) -> Result<Vec<prep::shape::Derived>> {
    let mut out = Vec::new();
    for k in [a.key.as_deref(), a.sort_key.as_deref()]
        .into_iter()
        .flatten()
    {
        out.extend(prep::shape::Shape::parse_key_template(k)?);
    }
    Ok(out)
}

/// Refuse key templates where there is nothing to compute them from (validate, import).
pub fn no_key_templates(a: &KeyArgs, command: &str) -> Result<()> {
    if !key_templates(a)?.is_empty() {
        bail!("{command} reads items as they are: --key NAME=TEMPLATE computes keys in prep convert; here give the key's name (and type), e.g. --key PK:S");
    }
    Ok(())
}

pub fn key_schema(a: &KeyArgs) -> Result<Option<KeySchema>> {
    let (gsi, sort_key) = (&a.gsi, a.sort_key.as_deref());
    Ok(match (a.table_def.as_deref(), a.key.as_deref()) {
        (Some(p), _) => {
            let mut ks = KeySchema::from_table_def(p)?;
            for g in gsi {
                ks.gsis.push(Gsi::parse(g)?);
            }
            Some(ks)
        }
        (None, Some(k)) => Some(KeySchema {
            table_name: None,
            partition: key_attr(k)?,
            sort: sort_key.map(key_attr).transpose()?,
            gsis: gsi.iter().map(|g| Gsi::parse(g)).collect::<Result<_>>()?,
            vectors: Default::default(),
        }),
        (None, None) => {
            if !gsi.is_empty() {
                bail!("--gsi needs --key (or --table-def)");
            }
            None
        }
    })
}

pub fn aws_options(a: &AwsArgs, max_attempts: u32) -> prep::aws::AwsOptions {
    prep::aws::AwsOptions {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        path_style: a.path_style,
        max_attempts,
    }
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Where the duplicate-key index spills, and how much it holds first.
#[derive(Args, Debug, Clone)]
pub struct DupArgs {
    /// Memory the duplicate-key index holds before it spills sorted runs to disk (e.g. 1GiB)
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = size)]
    pub dup_memory: u64,
    /// Folder for the duplicate-key index's spill (default: inside a local --out, else the
    /// system's temporary folder); it needs about 40 bytes per item plus the key bytes, and
    /// is removed at the end
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<std::path::PathBuf>,
}

impl DupArgs {
    pub fn memory(&self) -> usize {
        usize::try_from(self.dup_memory).unwrap_or(usize::MAX)
    }
}

/// What a report is asked (`--region`, `--price-per-gb`).
pub fn report_options(
    a: &AwsArgs,
    price_per_gb: Option<f64>,
) -> Result<prep::profile::ProfileOptions> {
    prep::profile::ProfileOptions::for_region(a.region.as_deref(), price_per_gb)
        .map_err(|e| anyhow!("--price-per-gb: {e}"))
}

/// A size such as `512MiB`, `64MB`, `1GB` or `1048576` (a clap value parser).
pub fn size(s: &str) -> Result<u64> {
    parse_size(s)
}

/// `--max-line-bytes`: at least 1 MiB (a valid item's line can be over 400 KB with escapes).
pub fn max_line(s: &str) -> Result<usize> {
    let n = parse_size(s)?;
    if n < 1 << 20 {
        bail!("at least 1MiB (a valid item's line can reach a few MB)");
    }
    usize::try_from(n).map_err(|_| anyhow!("too large"))
}

/// A CSV delimiter: one ASCII character, or `tab` (a clap value parser).
pub fn delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => bail!("expected one ASCII character (or `tab`)"),
    }
}

/// `--compress` / `--compression`: one compression for every part, as ImportTable wants.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CompressionArg {
    #[value(alias = "zst")]
    Zstd,
    #[value(alias = "gz")]
    Gzip,
    None,
}

impl From<CompressionArg> for prep::output::Compression {
    fn from(c: CompressionArg) -> Self {
        match c {
            CompressionArg::Zstd => prep::output::Compression::Zstd,
            CompressionArg::Gzip => prep::output::Compression::Gzip,
            CompressionArg::None => prep::output::Compression::None,
        }
    }
}

/// Set once stdout's reader has gone: later output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Write `s` to stdout (see [`outln!`]).
pub fn out(s: &str) -> Result<()> {
    use std::io::Write;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut o = std::io::stdout().lock();
    match o.write_all(s.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => Ok(r.map_err(|e| anyhow!("cannot write to standard output: {e}"))?),
    }
}

/// Parse sizes like `512MiB`, `64MB`, `1GB`, `1048576`.
fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .with_context(|| format!("{s:?} is not a size (e.g. 512MiB, 64MB, 1GB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        u => bail!("{s:?}: unknown size unit {u:?} (use B, KB, KiB, MB, MiB, GB, GiB)"),
    };
    let bytes = (v * mult as f64).round();
    if bytes < 1.0 {
        bail!("{s:?}: a size must be at least 1 byte");
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("64MB").unwrap(), 64_000_000);
        assert_eq!(parse_size("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MB").is_err());
    }
}
