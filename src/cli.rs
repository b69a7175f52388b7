//! Command-line definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "prep",
    version,
    about = "Get data ready for DynamoDB Import from S3: convert, check, validate",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The key schema options of convert, validate and import. What differs between the commands
/// (help, whether a key is required, whether its type is) is set on each subcommand in [`Cmd`]
/// and checked where the schema is built.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Partition key NAME[:S|N|B]
    #[arg(long, value_name = "NAME[:T]")]
    pub key: Option<String>,
    /// Sort key NAME[:S|N|B]
    #[arg(long, value_name = "NAME[:T]", requires = "key")]
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

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Convert CSV, Parquet or Arrow IPC files into key-checked DynamoDB JSON parts with manifests
    #[command(
        mut_arg("key", |a| a
            .help("Partition key NAME[:S|N|B] (type taken from the data when left out)")
            .required_unless_present("table_def")),
    )]
    Convert(Box<ConvertArgs>),
    /// Check DynamoDB JSON / Ion / CSV files or folders against the import rules (for CI)
    #[command(
        mut_arg("key", |a| a.help("Partition key NAME[:S|N|B] (default: from a prep manifest, if any)")),
    )]
    Validate(Box<ValidateArgs>),
    /// Upload a converted folder to S3 for ImportTable: multipart, parallel, checksummed, resumable
    #[command(mut_arg("endpoint_url", |a| a
        .help("S3 endpoint URL (also AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3)")))]
    Upload(Box<UploadArgs>),
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
    Import(Box<ImportArgs>),
    /// List the rules prep checks, or explain one: prep rules K001
    Rules {
        /// A rule code (K001) or name (key-missing)
        code: Option<String>,
    },
}

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
    /// Do not look for duplicates (saves the memory of the key index)
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
    /// Input files, directories (recursed, sorted) or globs: CSV (also .csv.gz/.csv.zst), Parquet, Arrow IPC
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output folder (data/ parts, manifests, rejects); must be new or empty unless --force
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Table name for import-table.json (default: from --table-def, else the output folder's name)
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "dynamodb-json")]
    pub format: OutFormat,
    /// Compression of every part: zstd, gzip or none
    #[arg(long, default_value = "zstd", value_name = "zstd|gzip|none")]
    pub compress: String,
    /// Compression level (zstd 1-19, default 1; gzip 0-9, default 6)
    #[arg(long, value_name = "N")]
    pub compress_level: Option<i32>,
    /// Largest part, in uncompressed item bytes (e.g. 64MiB, 1GB)
    #[arg(long, default_value = "512MiB", value_name = "SIZE")]
    pub part_size: String,
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
    /// Worker threads (default: the number of cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Replace prep's files in a non-empty --out
    #[arg(long)]
    pub force: bool,
    /// Print nothing (errors aside)
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// CSV delimiter (one character; `tab` or \t for tab). Default: comma (tab for .tsv)
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,
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
    #[arg(long, default_value = "8MiB", value_name = "SIZE")]
    pub max_line_bytes: String,
    /// Rows per batch (memory is about batch × threads × row size)
    #[arg(long, default_value = "8192", value_name = "N", hide = true)]
    pub batch_rows: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeclaredArg {
    #[value(name = "dynamodb-json")]
    DynamodbJson,
    Ion,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormatArg {
    Text,
    Json,
    Github,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Files (plain, .gz, .zst), prep output folders, DynamoDB export folders, or folders of data files
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The InputFormat the import will be given (a file that is something else is an error)
    #[arg(long, value_enum)]
    pub format: Option<DeclaredArg>,
    /// The InputCompressionType the import will be given: gzip, zstd or none
    #[arg(long, value_name = "gzip|zstd|none")]
    pub compression: Option<String>,
    /// CSV: the HeaderList the import will be given (then no file has a header line)
    #[arg(long, value_delimiter = ',', value_name = "a,b,c")]
    pub header_list: Option<Vec<String>>,
    /// CSV delimiter the import will be given (default comma)
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,
    /// Region of the import, for the size quota (15 TB in us-east-1, us-west-2, eu-west-1; 1 TB elsewhere)
    #[arg(long)]
    pub region: Option<String>,
    /// How findings are printed
    #[arg(long, value_enum, default_value = "text")]
    pub output_format: OutputFormatArg,
    /// Print at most N findings (all are still counted)
    #[arg(long, value_name = "N")]
    pub max_errors: Option<usize>,
    /// Exit 1 on errors only, or on warnings too
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Do not look for duplicate primary keys (saves the memory of the key index)
    #[arg(long)]
    pub no_duplicates: bool,
    /// Check every line with the full parser instead of the fast path (same findings; for
    /// comparing the two)
    #[arg(long, hide = true)]
    pub no_fast_path: bool,
    /// Worker threads (default: the number of cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Longest DynamoDB JSON / Ion line or CSV record read (longer ones are skipped as they
    /// stream and reported as I001; no valid item needs more than a few MB)
    #[arg(long, default_value = "8MiB", value_name = "SIZE")]
    pub max_line_bytes: String,
    /// Lines per batch
    #[arg(long, default_value = "8192", value_name = "N", hide = true)]
    pub batch_rows: usize,
}

#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The output folder of prep convert
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// Destination: s3://bucket/prefix/ (parts go to prefix/data/, manifests to prefix/)
    #[arg(value_name = "S3_URL")]
    pub dest: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Refuse to write unless the bucket belongs to this account
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub expected_bucket_owner: Option<String>,
    /// Server-side encryption: aws:kms or AES256
    #[arg(long, value_parser = ["aws:kms", "AES256"])]
    pub sse: Option<String>,
    /// KMS key for --sse aws:kms
    #[arg(long, value_name = "KEY_ID", requires = "sse")]
    pub sse_kms_key_id: Option<String>,
    /// Storage class (STANDARD, INTELLIGENT_TIERING, …)
    #[arg(long)]
    pub storage_class: Option<String>,
    /// Requests in flight, across and within files
    #[arg(long, default_value = "8", value_name = "N")]
    pub concurrency: usize,
    /// Parts larger than this go up in multiple chunks
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    pub multipart_threshold: String,
    /// Chunk size of multipart uploads (at least 5MiB)
    #[arg(long, default_value = "16MiB", value_name = "SIZE")]
    pub multipart_chunksize: String,
    /// Attempts per request (throttling, 5xx and dropped connections are retried with backoff)
    #[arg(long, default_value = "8", value_name = "N")]
    pub max_attempts: u32,
    /// Upload even when the data prefix holds objects that are not ours
    #[arg(long)]
    pub force: bool,
    /// List what would be sent, with sizes, and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// OUT (after prep upload) or s3://bucket/prefix/ (the uploaded manifests); not with --status
    #[arg(value_name = "OUT|S3_URL", required_unless_present = "status")]
    pub source: Option<String>,
    /// Reattach to a running import and follow it
    #[arg(long, value_name = "IMPORT_ARN", conflicts_with = "source")]
    pub status: Option<String>,
    /// Name of the table to create (default: from import-table.json)
    #[arg(long)]
    pub table: Option<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// PAY_PER_REQUEST (default) or PROVISIONED (with --rcu/--wcu)
    #[arg(long, value_parser = ["PAY_PER_REQUEST", "PROVISIONED"])]
    pub billing_mode: Option<String>,
    /// Read capacity units for PROVISIONED
    #[arg(long)]
    pub rcu: Option<i64>,
    /// Write capacity units for PROVISIONED
    #[arg(long)]
    pub wcu: Option<i64>,
    /// Encrypt the table with KMS: the AWS managed key (--sse aws:kms) or a key id/ARN (--sse KEY)
    #[arg(long, value_name = "aws:kms|KEY_ID")]
    pub sse: Option<String>,
    /// Idempotency token: retrying with the same token does not start a second import
    #[arg(long)]
    pub client_token: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Print the request it would send, after the pre-flight checks, and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Print the ImportArn and return without waiting
    #[arg(long)]
    pub no_wait: bool,
    /// First polling interval in seconds (it backs off up to 30 s)
    #[arg(long, default_value = "2", value_name = "SECONDS")]
    pub poll_interval: f64,
    /// After success, print the command that enables streams with this view type
    #[arg(long, value_name = "NEW_IMAGE|OLD_IMAGE|NEW_AND_OLD_IMAGES|KEYS_ONLY")]
    pub stream_view_type: Option<String>,
    /// After success, print the command that enables TTL on this attribute
    #[arg(long, value_name = "ATTRIBUTE")]
    pub ttl_attribute: Option<String>,
    /// After success, print the command that enables point-in-time recovery
    #[arg(long)]
    pub pitr: bool,
    /// After success, print the command that enables deletion protection
    #[arg(long)]
    pub deletion_protection: bool,
    /// After success, print the command that tags the table (repeatable KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub tag: Vec<String>,
    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Print nothing but the summary
    #[arg(long, short)]
    pub quiet: bool,
}
