//! The `prep` command: parse arguments, run a subcommand, map the outcome to an exit code
//! (0 clean, 1 findings such as rejected rows, 2 could not run).

mod cli;

use anyhow::{anyhow, bail, Result};
use clap::Parser;
use cli::{Cli, Cmd, ConvertArgs};
use prep::convert::{self, ConvertOptions, DupMode, OnError};
use prep::encode::{Nulls, Syntax};
use prep::model::keys::{Gsi, KeyAttr, KeySchema};
use prep::plan::{Target, Timestamps};
use prep::read::{csv::CsvOptions, ReadOptions};
use prep::rules;
use prep::sink::{parse_size, Compression};
use std::io::IsTerminal;

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
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

fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => bail!("--delimiter {s:?}: expected one ASCII character (or `tab`)"),
    }
}

fn convert_options(a: &ConvertArgs) -> Result<ConvertOptions> {
    let keys = match &a.table_def {
        Some(p) => {
            let mut ks = KeySchema::from_table_def(p)?;
            for g in &a.gsi {
                ks.gsis.push(Gsi::parse(g)?);
            }
            ks
        }
        None => KeySchema {
            table_name: None,
            partition: KeyAttr::parse(a.key.as_deref().expect("clap requires --key"))?,
            sort: a.sort_key.as_deref().map(KeyAttr::parse).transpose()?,
            gsis: a.gsi.iter().map(|g| Gsi::parse(g)).collect::<Result<_>>()?,
        },
    };
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
        threads: a.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        force: a.force,
        read: ReadOptions {
            batch_rows: a.batch_rows,
            csv: CsvOptions {
                delimiter: a.delimiter.as_deref().map(parse_delimiter).transpose()?,
                columns: if a.no_header { a.columns.clone() } else { None },
                sample_rows: a.csv_sample_rows,
            },
        },
        csv_infer: matches!(a.csv_types, cli::CsvTypes::Infer),
        progress: !a.quiet && std::io::stderr().is_terminal(),
    })
}

fn run_convert(a: ConvertArgs) -> Result<i32> {
    let opts = convert_options(&a)?;
    let report = convert::run(&opts)?;
    if a.json {
        println!("{}", report.to_json());
    } else if !a.quiet || report.failed_row.is_some() {
        eprint!("{}", convert::output::human_summary(&report, &opts));
    }
    Ok(report.exit_code())
}
