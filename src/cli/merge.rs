//! `prep merge`: its arguments, the run and its summary (the same as a conversion's).

use super::{aws_options, AwsArgs, OutputArgs, PutArgs};
use anyhow::Result;
use clap::Args;
use prep::commands::merge::{self, MergeOptions};

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
    pub dup: super::DupArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: MergeArgs) -> Result<i32> {
    let opts = MergeOptions {
        out: a.put.destination(&a.out)?,
        aws: aws_options(&a.aws, a.put.max_attempts),
        force: a.force,
        cancel: Default::default(),
        dup_memory: a.dup.memory(),
        tmp_dir: a.dup.tmp_dir.clone(),
    };
    let report = merge::run(&opts)?;
    if a.output.json {
        outln!("{}", report.to_json());
    } else if !a.output.quiet {
        eprint!(
            "{}",
            prep::commands::convert::human_summary(&report, "prep merge")
        );
    }
    Ok(report.exit_code())
}
