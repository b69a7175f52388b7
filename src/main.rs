//! The `prep` command: parse arguments, run a subcommand, map the outcome to an exit code
//! (0 clean, 1 findings such as rejected rows, 2 could not run).

mod cli;

use anyhow::{anyhow, bail, Result};
use clap::Parser;
use cli::{Cli, Cmd, ConvertArgs};
use prep::commands::convert::{self, ConvertOptions, DupMode, OnError};
use prep::encoding::plan::{Target, Timestamps};
use prep::encoding::{Nulls, Syntax};
use prep::input::{csv::CsvOptions, ReadOptions};
use prep::model::keys::{Gsi, KeyAttr, KeySchema};
use prep::model::rules;
use prep::output::{parse_size, Compression};
use std::io::IsTerminal;

fn main() {
    // Past a file size limit (`ulimit -f`) the kernel's SIGXFSZ would end the process without
    // a word; with a handler the write fails with "File too large" instead, and the error names
    // the file as every write error does.
    #[cfg(unix)]
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    prep::model::guard::quiet_panics_in_decoders();
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<prep::pipeline::Interrupted>().is_some() => {
            eprintln!(
                "prep: interrupted: the run stopped before its end and removed the parts and manifests it had written; nothing is complete, run it again"
            );
            130
        }
        Err(e) => {
            eprintln!("prep: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Convert(args) => run_convert(*args),
        Cmd::Validate(args) => run_validate(*args),
        Cmd::Upload(args) => run_upload(*args),
        Cmd::Import(args) => run_import(*args),
        Cmd::Rules { code } => run_rules(code.as_deref()),
    }
}

fn run_rules(code: Option<&str>) -> Result<i32> {
    match code {
        None => {
            for r in rules::ALL {
                println!(
                    "{}  {:<8} {:<26} {}",
                    r.code,
                    r.severity.as_str(),
                    r.name,
                    r.summary
                );
            }
        }
        Some(c) => {
            let r = rules::find(c)
                .ok_or_else(|| anyhow!("no rule {c:?}; `prep rules` lists them all"))?;
            println!("{} {} ({})\n", r.code, r.name, r.severity.as_str());
            println!("{}\n", r.summary);
            println!("{}\n", r.explanation);
            println!("Bad:\n  {}\n", r.bad);
            println!("Good:\n  {}", r.good);
        }
    }
    Ok(0)
}

/// The key schema the options give, if any.
fn key_schema(a: &cli::KeyArgs) -> Result<Option<KeySchema>> {
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
            partition: KeyAttr::parse(k)?,
            sort: sort_key.map(KeyAttr::parse).transpose()?,
            gsis: gsi.iter().map(|g| Gsi::parse(g)).collect::<Result<_>>()?,
        }),
        (None, None) => {
            if !gsi.is_empty() {
                bail!("--gsi needs --key (or --table-def)");
            }
            None
        }
    })
}

fn aws_options(a: &cli::AwsArgs, max_attempts: u32) -> prep::commands::upload::AwsOptions {
    prep::commands::upload::AwsOptions {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        path_style: a.path_style,
        max_attempts,
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn run_validate(a: cli::ValidateArgs) -> Result<i32> {
    use prep::commands::validate::{self, report, Declared, ValidateOptions};
    let keys = key_schema(&a.keys)?;
    let compression = a
        .compression
        .as_deref()
        .map(|c| {
            Compression::parse(c)
                .ok_or_else(|| anyhow!("--compression {c:?}: expected gzip, zstd or none"))
        })
        .transpose()?;
    let delimiter = a.delimiter.as_deref().map(parse_delimiter).transpose()?;
    if a.batch_rows == 0 {
        bail!("--batch-rows must be at least 1");
    }
    let opts = ValidateOptions {
        paths: a.paths.clone(),
        keys,
        format: a.format.map(|f| match f {
            cli::DeclaredArg::DynamodbJson => Declared::DynamodbJson,
            cli::DeclaredArg::Ion => Declared::Ion,
            cli::DeclaredArg::Csv => Declared::Csv,
        }),
        compression,
        header_list: a.header_list.clone(),
        delimiter,
        threads: a.threads.unwrap_or_else(default_threads),
        batch_rows: a.batch_rows,
        duplicates: !a.no_duplicates,
        region: a.region.clone(),
        fast: !a.no_fast_path,
        max_line: parse_max_line(&a.max_line_bytes)?,
    };
    let r = validate::run(&opts)?;
    let format = match a.output_format {
        cli::OutputFormatArg::Text => report::OutputFormat::Text,
        cli::OutputFormatArg::Json => report::OutputFormat::Json,
        cli::OutputFormatArg::Github => report::OutputFormat::Github,
        cli::OutputFormatArg::Sarif => report::OutputFormat::Sarif,
        cli::OutputFormatArg::Junit => report::OutputFormat::Junit,
    };
    let colour = format == report::OutputFormat::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    print!("{}", report::render(&r, format, a.max_errors, colour));
    Ok(r.exit_code(matches!(a.fail_on, cli::FailOn::Warning)))
}

fn run_import(a: cli::ImportArgs) -> Result<i32> {
    use prep::commands::import::{self, FollowUps, ImportOptions, Source};
    let source = match (&a.status, &a.source) {
        (Some(arn), _) => Source::Status(arn.clone()),
        (None, Some(s)) if s.starts_with("s3://") => {
            let (bucket, prefix) = prep::commands::upload::parse_s3_url(s)?;
            Source::S3 { bucket, prefix }
        }
        (None, Some(s)) => Source::Folder(s.into()),
        (None, None) => bail!("give OUT, s3://bucket/prefix/ or --status ARN"),
    };
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
    if (a.rcu.is_some() || a.wcu.is_some()) && a.billing_mode.as_deref() != Some("PROVISIONED") {
        bail!("--rcu/--wcu need --billing-mode PROVISIONED");
    }
    let opts = ImportOptions {
        source,
        aws: aws_options(&a.aws, 5),
        overrides: import::request::Overrides {
            table: a.table.clone(),
            keys,
            billing_mode: a.billing_mode.clone(),
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
            stream_view_type: a.stream_view_type.clone().or_else(|| {
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
        progress: !a.quiet && !a.json && std::io::stderr().is_terminal(),
        quiet: a.quiet || a.json,
    };
    let r = import::run(&opts)?;
    if a.dry_run {
        let doc = r.request.clone().unwrap_or_default();
        println!("{}", serde_json::to_string_pretty(&doc)?);
        if !a.quiet {
            eprintln!("prep import: pre-flight checks passed; --dry-run: nothing was sent");
        }
        return Ok(0);
    }
    if !a.no_wait || a.json {
        if a.json {
            println!("{}", r.to_json());
        } else if a.no_wait {
            println!("{}", r.import_arn);
        } else {
            eprint!("{}", r.human());
        }
    } else {
        println!("{}", r.import_arn);
        if !a.quiet {
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

fn run_upload(a: cli::UploadArgs) -> Result<i32> {
    use prep::commands::upload::{self, Outcome, UploadOptions};
    let (bucket, prefix) = upload::parse_s3_url(&a.dest)?;
    let chunk = parse_size(&a.multipart_chunksize)?;
    if chunk < 5 << 20 {
        bail!("--multipart-chunksize must be at least 5MiB (S3's smallest part)");
    }
    if a.sse_kms_key_id.is_some() && a.sse.as_deref() != Some("aws:kms") {
        bail!("--sse-kms-key-id needs --sse aws:kms");
    }
    let opts = UploadOptions {
        out: a.out.clone(),
        bucket,
        prefix,
        aws: aws_options(&a.aws, a.max_attempts),
        expected_bucket_owner: a.expected_bucket_owner.clone(),
        sse: a.sse.clone(),
        sse_kms_key_id: a.sse_kms_key_id.clone(),
        storage_class: a.storage_class.clone(),
        concurrency: a.concurrency.max(1),
        multipart_threshold: parse_size(&a.multipart_threshold)?,
        multipart_chunksize: chunk,
        force: a.force,
        dry_run: a.dry_run,
        progress: !a.quiet && !a.json && std::io::stderr().is_terminal(),
    };
    let r = upload::run(&opts)?;
    if a.json {
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
    } else if !a.quiet {
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

/// `--max-line-bytes`: at least 1 MiB (a valid item's line can be over 400 KB with escapes).
fn parse_max_line(s: &str) -> Result<usize> {
    let n = parse_size(s)?;
    if n < 1 << 20 {
        bail!("--max-line-bytes {s}: at least 1MiB (a valid item's line can reach a few MB)");
    }
    usize::try_from(n).map_err(|_| anyhow!("--max-line-bytes {s}: too large"))
}

fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => bail!("--delimiter {s:?}: expected one ASCII character (or `tab`)"),
    }
}

fn convert_options(a: &ConvertArgs) -> Result<ConvertOptions> {
    let keys = key_schema(&a.keys)?.ok_or_else(|| anyhow!("--key or --table-def is required"))?;
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
    let compression = Compression::parse(&a.compress)
        .ok_or_else(|| anyhow!("--compress {:?}: expected zstd, gzip or none", a.compress))?;
    if a.batch_rows == 0 {
        bail!("--batch-rows must be at least 1");
    }
    Ok(ConvertOptions {
        inputs: a.inputs.clone(),
        out: a.out.clone(),
        keys,
        table_name: a.table.clone(),
        syntax: match a.format {
            cli::OutFormat::DynamodbJson => Syntax::Json,
            cli::OutFormat::Ion => Syntax::Ion,
        },
        compression,
        level: a.compress_level,
        part_size: parse_size(&a.part_size)?,
        nulls: match a.nulls {
            cli::NullsArg::Omit => Nulls::Omit,
            cli::NullsArg::Null => Nulls::Null,
        },
        overrides,
        timestamps: match a.timestamps {
            cli::TimestampsArg::Rfc3339 => Timestamps::Rfc3339,
            cli::TimestampsArg::EpochS => Timestamps::Epoch(0),
            cli::TimestampsArg::EpochMs => Timestamps::Epoch(3),
            cli::TimestampsArg::EpochUs => Timestamps::Epoch(6),
        },
        on_error: match a.on_error {
            cli::OnErrorArg::Reject => OnError::Reject,
            cli::OnErrorArg::Fail => OnError::Fail,
        },
        duplicates: match a.duplicates {
            cli::DuplicatesArg::Warn => DupMode::Warn,
            cli::DuplicatesArg::Error => DupMode::Error,
            cli::DuplicatesArg::Off => DupMode::Off,
        },
        threads: a.threads.unwrap_or_else(default_threads),
        force: a.force,
        read: ReadOptions {
            batch_rows: a.batch_rows,
            keep_blank: false,
            blocks: Default::default(),
            csv: CsvOptions {
                delimiter: a.delimiter.as_deref().map(parse_delimiter).transpose()?,
                columns: if a.no_header { a.columns.clone() } else { None },
                sample_rows: a.csv_sample_rows,
            },
            max_line: parse_max_line(&a.max_line_bytes)?,
        },
        csv_infer: matches!(a.csv_types, cli::CsvTypes::Infer),
        progress: !a.quiet && std::io::stderr().is_terminal(),
    })
}

fn run_convert(a: ConvertArgs) -> Result<i32> {
    let opts = convert_options(&a)?;
    // Ctrl-C (or SIGTERM): the first asks the run to stop and remove what it wrote (no
    // `.part-*.tmp` is left), a second ends the process at once.
    let _ = ctrlc::set_handler(|| {
        if prep::pipeline::interrupted() {
            std::process::exit(130);
        }
        eprintln!("prep: stopping (interrupted); press Ctrl-C again to quit at once");
        prep::pipeline::interrupt();
    });
    let report = convert::run(&opts)?;
    if a.json {
        println!("{}", report.to_json());
    } else if !a.quiet || report.failed_row.is_some() {
        eprint!("{}", convert::output::human_summary(&report, &opts));
    }
    Ok(report.exit_code())
}
