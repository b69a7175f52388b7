//! `prep import`: its arguments, their mapping to [`ImportOptions`](prep::commands::import::ImportOptions),
//! the run and its summary.

use super::{aws_options, key_schema, AwsArgs, KeyArgs, OutputArgs};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

/// The billing mode of the table the import creates.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BillingArg {
    #[value(name = "PAY_PER_REQUEST")]
    PayPerRequest,
    #[value(name = "PROVISIONED")]
    Provisioned,
}

impl BillingArg {
    fn as_str(self) -> &'static str {
        match self {
            BillingArg::PayPerRequest => "PAY_PER_REQUEST",
            BillingArg::Provisioned => "PROVISIONED",
        }
    }
}

/// What a DynamoDB stream records.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StreamViewArg {
    #[value(name = "NEW_IMAGE")]
    NewImage,
    #[value(name = "OLD_IMAGE")]
    OldImage,
    #[value(name = "NEW_AND_OLD_IMAGES")]
    NewAndOldImages,
    #[value(name = "KEYS_ONLY")]
    KeysOnly,
}

impl StreamViewArg {
    fn as_str(self) -> &'static str {
        match self {
            StreamViewArg::NewImage => "NEW_IMAGE",
            StreamViewArg::OldImage => "OLD_IMAGE",
            StreamViewArg::NewAndOldImages => "NEW_AND_OLD_IMAGES",
            StreamViewArg::KeysOnly => "KEYS_ONLY",
        }
    }
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
    /// Billing mode of the new table (default PAY_PER_REQUEST; PROVISIONED with --rcu/--wcu)
    #[arg(long, value_enum)]
    pub billing_mode: Option<BillingArg>,
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
    #[arg(long, value_enum)]
    pub stream_view_type: Option<StreamViewArg>,
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
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: ImportArgs) -> Result<i32> {
    use prep::commands::import::{self, FollowUps, ImportOptions, Source};
    let source = match (&a.status, &a.source) {
        (Some(arn), _) => Source::Status(arn.clone()),
        (None, Some(s)) if s.starts_with("s3://") => {
            let (bucket, prefix) = prep::aws::parse_s3_url(s)?;
            Source::S3 { bucket, prefix }
        }
        (None, Some(s)) => Source::Folder(s.into()),
        (None, None) => bail!("give OUT, s3://bucket/prefix/ or --status ARN"),
    };
    super::no_key_templates(&a.keys, "prep import")?;
    let keys = key_schema(&a.keys)?;
    if let Some(k) = &keys {
        let mut all = vec![&k.partition];
        all.extend(k.sort.as_ref());
        if let Some(x) = all.iter().find(|x| x.ty.is_none()) {
            bail!(
                "--key/--sort-key {}: give the type (NAME:S, NAME:N or NAME:B)",
                x.name
            );
        }
    }
    if let Some(t) = &a.table {
        prep::model::keys::check_table_or_index_name(t)?;
    }
    if (a.rcu.is_some() || a.wcu.is_some())
        && !matches!(a.billing_mode, Some(BillingArg::Provisioned))
    {
        bail!("--rcu/--wcu need --billing-mode PROVISIONED");
    }
    let opts = ImportOptions {
        source,
        aws: aws_options(&a.aws, 5),
        overrides: import::request::Overrides {
            table: a.table.clone(),
            keys,
            billing_mode: a.billing_mode.map(|b| b.as_str().to_string()),
            rcu: a.rcu,
            wcu: a.wcu,
            sse_kms_key: a.sse.as_ref().map(|s| {
                if s == "aws:kms" {
                    String::new()
                } else {
                    s.clone()
                }
            }),
            client_token: a.client_token.clone(),
        },
        dry_run: a.dry_run,
        wait: !a.no_wait,
        poll_initial: std::time::Duration::from_secs_f64(a.poll_interval.max(0.05)),
        poll_max: std::time::Duration::from_secs(30),
        follow_ups: FollowUps {
            stream_view_type: a
                .stream_view_type
                .map(|v| v.as_str().to_string())
                .or_else(|| {
                    table_def_setting(
                        a.keys.table_def.as_deref(),
                        &["StreamSpecification", "StreamViewType"],
                    )
                    .and_then(|v| v.as_str().map(str::to_string))
                }),
            ttl_attribute: a.ttl_attribute.clone(),
            pitr: a.pitr,
            deletion_protection: a.deletion_protection
                || table_def_setting(a.keys.table_def.as_deref(), &["DeletionProtectionEnabled"])
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            tags: a
                .tag
                .iter()
                .map(|t| import::parse_tag(t))
                .collect::<Result<_>>()?,
        },
        observer: a.output.observer("prep import", true),
    };
    let r = import::run(&opts)?;
    if a.dry_run {
        let doc = r.request.clone().unwrap_or_default();
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        if !a.output.quiet {
            eprintln!("prep import: pre-flight checks passed; --dry-run: nothing was sent");
        }
        return Ok(0);
    }
    if r.token_conflict {
        if a.output.json {
            outln!("{}", r.to_json());
        } else {
            eprint!("{}", r.human());
        }
        return Ok(1);
    }
    if !a.no_wait || a.output.json {
        if a.output.json {
            outln!("{}", r.to_json());
        } else if a.no_wait {
            outln!("{}", r.import_arn);
        } else if !a.output.quiet || r.exit_code() != 0 {
            eprint!("{}", r.human());
        }
    } else {
        outln!("{}", r.import_arn);
        if !a.output.quiet {
            eprintln!(
                "prep import: started ({}); follow it with: prep import --status {}",
                r.status, r.import_arn
            );
        }
        return Ok(0);
    }
    Ok(if a.no_wait { 0 } else { r.exit_code() })
}

/// A setting from a table definition (describe-table output or TableCreationParameters) that
/// ImportTable cannot apply, e.g. the stream view type.
fn table_def_setting(path: Option<&std::path::Path>, at: &[&str]) -> Option<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path?).ok()?).ok()?;
    let mut v = doc
        .get("Table")
        .or_else(|| doc.get("TableCreationParameters"))
        .unwrap_or(&doc);
    for k in at {
        v = v.get(k)?;
    }
    Some(v.clone())
}
