//! `prep upload`: its arguments, their mapping to [`UploadOptions`](prep::commands::upload::UploadOptions),
//! the run and its summary.

use super::{aws_options, AwsArgs, OutputArgs};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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
    /// Server-side encryption
    #[arg(long, value_enum)]
    pub sse: Option<SseArg>,
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
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = super::size)]
    pub multipart_threshold: u64,
    /// Chunk size of multipart uploads (at least 5MiB)
    #[arg(long, default_value = "16MiB", value_name = "SIZE", value_parser = super::size)]
    pub multipart_chunksize: u64,
    /// Attempts per request (throttling, 5xx and dropped connections are retried with backoff)
    #[arg(long, default_value = "8", value_name = "N")]
    pub max_attempts: u32,
    /// Upload even when the data prefix holds objects that are not ours
    #[arg(long)]
    pub force: bool,
    /// List what would be sent, with sizes, and send nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: UploadArgs) -> Result<i32> {
    use prep::commands::upload::{self, Outcome, UploadOptions};
    let (bucket, prefix) = upload::parse_s3_url(&a.dest)?;
    let chunk = a.multipart_chunksize;
    if chunk < 5 << 20 {
        bail!("--multipart-chunksize must be at least 5MiB (S3's smallest part)");
    }
    if a.sse_kms_key_id.is_some() && !matches!(a.sse, Some(SseArg::AwsKms)) {
        bail!("--sse-kms-key-id needs --sse aws:kms");
    }
    let opts = UploadOptions {
        out: a.out.clone(),
        bucket,
        prefix,
        aws: aws_options(&a.aws, a.max_attempts),
        expected_bucket_owner: a.expected_bucket_owner.clone(),
        sse: a.sse.map(|s| s.header_value().to_string()),
        sse_kms_key_id: a.sse_kms_key_id.clone(),
        storage_class: a.storage_class.clone(),
        concurrency: a.concurrency.max(1),
        multipart_threshold: a.multipart_threshold,
        multipart_chunksize: chunk,
        force: a.force,
        dry_run: a.dry_run,
        progress: a.output.progress(),
    };
    let r = upload::run(&opts)?;
    if a.output.json {
        println!("{}", r.to_json());
    } else if a.dry_run {
        for o in &r.objects {
            println!(
                "would upload s3://{}/{}  {} bytes{}",
                r.bucket,
                o.key,
                o.bytes,
                if o.multipart { " (multipart)" } else { "" }
            );
        }
    } else if !a.output.quiet {
        let count =
            |f: &dyn Fn(&Outcome) -> bool| r.objects.iter().filter(|o| f(&o.outcome)).count();
        eprintln!(
            "prep upload: {} objects to s3://{}/{} ({} uploaded, {} resumed, {} already there), {} bytes sent in {:.2} s",
            r.objects.len(),
            r.bucket,
            r.prefix,
            count(&|o| *o == Outcome::Uploaded),
            count(&|o| matches!(o, Outcome::Resumed { .. })),
            count(&|o| *o == Outcome::Skipped),
            r.bytes_sent,
            r.elapsed_s
        );
        eprintln!(
            "  manifests: s3://{}/{}manifest-files.json, import-table.json",
            r.bucket, r.prefix
        );
        eprintln!("  import with:");
        println!("{}", r.import_command);
    }
    Ok(0)
}
