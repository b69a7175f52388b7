//! `prep merge`: its arguments, the run and its summary (the same as a conversion's).

use super::{aws_options, AwsArgs, OutputArgs, PutArgs};
use anyhow::Result;
use clap::Args;
use prep::commands::convert::merge::{self, MergeOptions};
use prep::output::{s3::S3Destination, Destination};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The folder or S3 prefix (s3://bucket/prefix/) the shards converted into
    #[arg(value_name = "OUT")]
    pub out: String,
    /// Merge again over an earlier merge's manifests (after a shard was converted again)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub put: PutArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: MergeArgs) -> Result<i32> {
    let out = if a.out.starts_with("s3://") {
        let (bucket, prefix) = prep::aws::parse_s3_url(&a.out)?;
        Destination::S3(S3Destination {
            bucket,
            prefix,
            put: a.put.settings()?,
            concurrency: a.put.concurrency.max(1),
            chunk_size: a.put.multipart_chunksize,
        })
    } else {
        Destination::Folder(PathBuf::from(&a.out))
    };
    let opts = MergeOptions {
        out,
        aws: aws_options(&a.aws, a.put.max_attempts),
        force: a.force,
    };
    let report = merge::run(&opts)?;
    if a.output.json {
        println!("{}", report.to_json());
    } else if !a.output.quiet {
        eprint!(
            "{}",
            prep::commands::convert::output::human_summary(&report, "prep merge")
        );
    }
    Ok(report.exit_code())
}
