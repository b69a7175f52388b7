//! `prep upload`: its arguments, their mapping to [`UploadOptions`](prep::commands::upload::UploadOptions),
//! the run and its summary.

use super::{aws_options, AwsArgs, OutputArgs, PutArgs};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

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
    #[command(flatten)]
    pub put: PutArgs,
    /// Parts larger than this go up in multiple chunks
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = super::size)]
    pub multipart_threshold: u64,
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
    let (bucket, prefix) = prep::aws::parse_s3_url(&a.dest)?;
    let put = a.put.settings()?;
    let opts = UploadOptions {
        out: a.out.clone(),
        bucket,
        prefix,
        aws: aws_options(&a.aws, a.put.max_attempts),
        put,
        concurrency: a.put.concurrency.max(1),
        multipart_threshold: a.multipart_threshold,
        multipart_chunksize: a.put.multipart_chunksize,
        force: a.force,
        dry_run: a.dry_run,
        observer: a.output.observer("prep upload", false),
    };
    let r = upload::run(&opts)?;
    if a.output.json {
        outln!("{}", r.to_json());
    } else if a.dry_run {
        for o in &r.objects {
            outln!(
                "would upload s3://{}/{}  {} bytes{}",
                r.bucket,
                o.key,
                o.bytes,
                if o.multipart { " (multipart)" } else { "" }
            );
        }
        if let Some(t) = &r.import_table {
            outln!("with import-table.json:");
            outln!("{}", serde_json::to_string_pretty(t)?);
        }
        if let Some(why) = &r.unchecked {
            eprintln!("prep upload: note: {why}");
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
        outln!("{}", r.import_command);
    }
    Ok(0)
}
