//! `prep validate`: its arguments, their mapping to [`ValidateOptions`](prep::commands::validate::ValidateOptions),
//! the run and the rendering of its findings.

use super::{default_threads, key_schema, CompressionArg, KeyArgs, OutputArgs};
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::io::IsTerminal;

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
    /// Files (plain, .gz, .zst), prep output folders, DynamoDB export folders, or folders of data
    /// files; or s3://bucket/key, s3://bucket/prefix/ and globs of data files in S3
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The InputFormat the import will be given (a file that is something else is an error)
    #[arg(long, value_enum)]
    pub format: Option<DeclaredArg>,
    /// The InputCompressionType the import will be given
    #[arg(long, value_enum, ignore_case = true)]
    pub compression: Option<CompressionArg>,
    /// CSV: the HeaderList the import will be given (then no file has a header line)
    #[arg(long, value_delimiter = ',', value_name = "a,b,c")]
    pub header_list: Option<Vec<String>>,
    /// CSV delimiter the import will be given (default comma)
    #[arg(long, value_name = "C", value_parser = super::delimiter)]
    pub delimiter: Option<u8>,
    /// Region of the import, for the size quota (15 TB in us-east-1, us-west-2, eu-west-1; 1 TB
    /// elsewhere), and of the bucket for s3:// paths
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile for s3:// paths (default: the standard credential chain)
    #[arg(long)]
    pub profile: Option<String>,
    /// S3 endpoint URL for s3:// paths (also AWS_ENDPOINT_URL)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (bucket in the path), for S3-compatible servers
    #[arg(long)]
    pub path_style: bool,
    /// How findings are printed (--json is --output-format json)
    #[arg(long, value_enum, default_value = "text")]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Print at most N findings (all are still counted)
    #[arg(long, value_name = "N")]
    pub max_errors: Option<usize>,
    /// Exit 1 on errors only, or on warnings too
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Do not look for duplicate primary keys
    #[arg(long)]
    pub no_duplicates: bool,
    #[command(flatten)]
    pub dup: super::DupArgs,
    /// The table's TTL attribute: report values DynamoDB's TTL silently ignores (strings,
    /// milliseconds or microseconds, negative numbers: E001-E003)
    #[arg(long, value_name = "NAME")]
    pub ttl: Option<String>,
    /// Check every line with the full parser instead of the fast path (same findings; for
    /// comparing the two)
    #[arg(long, hide = true)]
    pub no_fast_path: bool,
    /// Worker threads (default: the number of cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Longest DynamoDB JSON / Ion line or CSV record read (longer ones are skipped as they
    /// stream and reported as I001; no valid item needs more than a few MB)
    #[arg(long, default_value = "8MiB", value_name = "SIZE", value_parser = super::max_line)]
    pub max_line_bytes: usize,
    /// Lines per batch
    #[arg(long, default_value = "8192", value_name = "N", hide = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_rows: u32,
}

pub fn run(a: ValidateArgs) -> Result<i32> {
    use prep::commands::validate::{self, report, Declared, ValidateOptions};
    super::no_key_templates(&a.keys, "prep validate")?;
    let keys = key_schema(&a.keys)?;
    let opts = ValidateOptions {
        paths: a.paths.clone(),
        keys,
        format: a.format.map(|f| match f {
            DeclaredArg::DynamodbJson => Declared::DynamodbJson,
            DeclaredArg::Ion => Declared::Ion,
            DeclaredArg::Csv => Declared::Csv,
        }),
        compression: a.compression.map(Into::into),
        header_list: a.header_list.clone(),
        delimiter: a.delimiter,
        threads: a.threads.unwrap_or_else(default_threads),
        batch_rows: a.batch_rows as usize,
        duplicates: !a.no_duplicates,
        dup_memory: a.dup.memory(),
        tmp_dir: a.dup.tmp_dir.clone(),
        region: a.region.clone(),
        fast: !a.no_fast_path,
        max_line: a.max_line_bytes,
        ttl: a.ttl.clone(),
        profile: None,
        aws: prep::aws::AwsOptions {
            profile: a.profile.clone(),
            region: a.region.clone(),
            endpoint_url: a.endpoint_url.clone(),
            path_style: a.path_style,
            max_attempts: 8,
        },
    };
    let r = validate::run(&opts)?;
    let format = match if a.output.json {
        OutputFormatArg::Json
    } else {
        a.output_format
    } {
        OutputFormatArg::Text => report::OutputFormat::Text,
        OutputFormatArg::Json => report::OutputFormat::Json,
        OutputFormatArg::Github => report::OutputFormat::Github,
        OutputFormatArg::Sarif => report::OutputFormat::Sarif,
        OutputFormatArg::Junit => report::OutputFormat::Junit,
    };
    let colour = format == report::OutputFormat::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    if !a.output.quiet || a.output.json {
        out!("{}", report::render(&r, format, a.max_errors, colour));
    }
    Ok(r.exit_code(matches!(a.fail_on, FailOn::Warning)))
}
