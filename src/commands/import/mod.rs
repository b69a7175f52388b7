//! `prep import`: start DynamoDB's ImportTable from an uploaded folder and follow it to the end,
//! then reconcile what arrived with the manifest.

pub mod request;

use crate::aws::AwsOptions;
use crate::aws::{describe, sdk_config};
use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::types::ImportStatus;
use request::Request;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Where the request comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A local output folder after `prep upload`.
    Folder(std::path::PathBuf),
    /// The uploaded manifests at s3://bucket/prefix/.
    S3 { bucket: String, prefix: String },
    /// Reattach to a running import.
    Status(String),
}

/// Settings ImportTable cannot make, printed as ready commands after success.
#[derive(Clone, Debug, Default)]
pub struct FollowUps {
    pub stream_view_type: Option<String>,
    pub ttl_attribute: Option<String>,
    pub pitr: bool,
    pub deletion_protection: bool,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub source: Source,
    pub aws: AwsOptions,
    pub overrides: request::Overrides,
    pub dry_run: bool,
    pub wait: bool,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    pub follow_ups: FollowUps,
    /// Where the import's state is told while it runs (every poll).
    pub observer: crate::model::observe::Observe,
}

/// How an import ended.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub import_arn: String,
    pub table_name: String,
    pub table_arn: Option<String>,
    pub status: String,
    pub processed_items: i64,
    pub imported_items: i64,
    pub error_count: i64,
    pub processed_bytes: i64,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub expected_items: Option<u64>,
    pub duplicates: Option<u64>,
    /// The data's uncompressed size from the manifest (what the import processes and bills).
    pub uncompressed_bytes: Option<u64>,
    pub reconciled: bool,
    /// ImportTable returned an earlier import with this client token, not the one asked for.
    pub token_conflict: bool,
    pub notes: Vec<String>,
    pub follow_up_commands: Vec<String>,
    pub request: Option<Value>,
    pub elapsed_s: f64,
}

impl ImportReport {
    pub fn exit_code(&self) -> i32 {
        if self.status == "COMPLETED" && self.error_count == 0 && self.reconciled {
            0
        } else {
            1
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "importArn": self.import_arn,
            "tableName": self.table_name,
            "tableArn": self.table_arn,
            "importStatus": self.status,
            "processedItemCount": self.processed_items,
            "importedItemCount": self.imported_items,
            "errorCount": self.error_count,
            "processedSizeBytes": self.processed_bytes,
            "failureCode": self.failure_code,
            "failureMessage": self.failure_message,
            "expectedItems": self.expected_items,
            "duplicateItems": self.duplicates,
            "reconciled": self.reconciled,
            "clientTokenConflict": self.token_conflict,
            "uncompressedBytes": self.uncompressed_bytes,
            "notes": self.notes,
            "followUpCommands": self.follow_up_commands,
            "elapsedSeconds": (self.elapsed_s * 10.0).round() / 10.0,
            "exitCode": self.exit_code(),
        })
    }

    pub fn human(&self) -> String {
        let mut s = format!(
            "prep import: {} — table {}\n  ImportStatus {}, ProcessedItemCount {}, ImportedItemCount {}, ErrorCount {}, {} bytes processed, {:.1} s\n",
            self.import_arn, self.table_name, self.status, self.processed_items, self.imported_items,
            self.error_count, self.processed_bytes, self.elapsed_s
        );
        if let Some(c) = &self.failure_code {
            s.push_str(&format!(
                "  FailureCode {c}: {}\n",
                self.failure_message.as_deref().unwrap_or("")
            ));
        }
        if let Some(e) = self.expected_items {
            s.push_str(&format!(
                "  manifest: {e} items expected{}; {}\n",
                self.duplicates
                    .filter(|d| *d > 0)
                    .map(|d| format!(" ({d} of them duplicate keys)"))
                    .unwrap_or_default(),
                if self.reconciled {
                    "reconciled"
                } else {
                    "NOT reconciled"
                }
            ));
        }
        for n in &self.notes {
            s.push_str(&format!("  {n}\n"));
        }
        if !self.follow_up_commands.is_empty() {
            s.push_str("  settings ImportTable cannot make, to run now:\n");
            for c in &self.follow_up_commands {
                s.push_str(&format!("    {c}\n"));
            }
        }
        s
    }
}

pub fn run(opts: &ImportOptions) -> Result<ImportReport> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts))
}

async fn run_async(opts: &ImportOptions) -> Result<ImportReport> {
    let started = Instant::now();
    let conf = sdk_config(&opts.aws).await?;
    let db = aws_sdk_dynamodb::Client::new(&conf);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(opts.aws.path_style)
            .build(),
    );
    if let Source::Status(arn) = &opts.source {
        let mut report = ImportReport {
            import_arn: arn.clone(),
            ..Default::default()
        };
        follow(&db, opts, &mut report, started).await?;
        return Ok(report);
    }
    let req = Request::load(&opts.source, &s3, &opts.overrides).await?;
    let table = req.table_name()?;
    let mut report = ImportReport {
        table_name: table.clone(),
        expected_items: req.expected_items,
        duplicates: req.duplicates,
        uncompressed_bytes: req.uncompressed_bytes,
        request: Some(serde_json::to_value(&req.document)?),
        ..Default::default()
    };
    // Pre-flight: ImportTable only ever creates a new table.
    match db.describe_table().table_name(&table).send().await {
        Ok(_) => bail!(
            "table {table:?} already exists; ImportTable always creates a new table and never writes into an existing one. Choose another --table, or delete the table first"
        ),
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception());
            if !not_found {
                bail!("cannot check whether table {table:?} exists: {}", describe(&e));
            }
        }
    }
    req.check_s3(&s3).await?;
    if opts.dry_run {
        report.status = "DRY_RUN".into();
        report.reconciled = true;
        return Ok(report);
    }
    let out = req
        .to_sdk(&db)?
        .send()
        .await
        .map_err(|e| anyhow!("ImportTable failed: {}", describe(&e)))?;
    let d = out
        .import_table_description()
        .ok_or_else(|| anyhow!("ImportTable returned no description"))?;
    report.import_arn = d.import_arn().unwrap_or("").to_string();
    report.table_arn = d.table_arn().map(str::to_string);
    if let Some(diff) = req.differs_from(d) {
        report.status = d
            .import_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        report.reconciled = false;
        report.token_conflict = true;
        report.notes.push(format!(
            "--client-token {:?} was used before for another import ({}), and ImportTable returned that import instead of starting this one: {diff}. Use a new --client-token (or none) for this import",
            d.client_token().unwrap_or(""),
            report.import_arn,
        ));
        report.elapsed_s = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    if !opts.wait {
        report.status = d
            .import_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        report.reconciled = true;
        return Ok(report);
    }
    follow(&db, opts, &mut report, started).await?;
    Ok(report)
}

/// Poll DescribeImport with backoff until the import ends; fill the report.
async fn follow(
    db: &aws_sdk_dynamodb::Client,
    opts: &ImportOptions,
    report: &mut ImportReport,
    started: Instant,
) -> Result<()> {
    opts.observer.begin(None, "importing");
    let mut delay = opts.poll_initial;
    loop {
        let r = db
            .describe_import()
            .import_arn(&report.import_arn)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "DescribeImport {} failed: {}",
                    report.import_arn,
                    describe(&e)
                )
            })?;
        let d = r
            .import_table_description()
            .ok_or_else(|| anyhow!("DescribeImport returned no description"))?;
        let status = d
            .import_status()
            .cloned()
            .unwrap_or(ImportStatus::InProgress);
        report.status = status.as_str().to_string();
        report.processed_items = d.processed_item_count();
        report.imported_items = d.imported_item_count();
        report.error_count = d.error_count();
        report.processed_bytes = d.processed_size_bytes().unwrap_or(0);
        report.failure_code = d.failure_code().map(str::to_string);
        report.failure_message = d.failure_message().map(str::to_string);
        report.table_arn = d
            .table_arn()
            .map(str::to_string)
            .or(report.table_arn.take());
        if report.table_name.is_empty() {
            report.table_name = d
                .table_creation_parameters()
                .map(|t| t.table_name().to_string())
                .filter(|t| !t.is_empty())
                .or_else(|| table_from_arn(&report.import_arn))
                .unwrap_or_default();
        }
        opts.observer
            .advance(0, &progress_line(report, &status, started.elapsed()));
        if !matches!(status, ImportStatus::InProgress | ImportStatus::Cancelling) {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay.mul_f64(1.5)).min(opts.poll_max);
    }
    opts.observer.end();
    report.elapsed_s = started.elapsed().as_secs_f64();
    reconcile(report);
    if report.status != "COMPLETED" || report.error_count > 0 {
        let id = report
            .import_arn
            .rsplit('/')
            .next()
            .unwrap_or(&report.import_arn)
            .to_string();
        report.notes.push(format!(
            "item errors are logged in CloudWatch Logs: group /aws-dynamodb/imports, stream {id}/error"
        ));
        if report.status != "CANCELLED" {
            report.notes.push(format!(
                "the new table {} keeps the items that did import: delete it before retrying under the same name (aws dynamodb delete-table --table-name {})",
                report.table_name, report.table_name
            ));
        }
    } else {
        report.follow_up_commands = follow_up_commands(&opts.follow_ups, report);
    }
    Ok(())
}

/// What is known while an import runs: DescribeImport's counters stay 0 until it ends
/// (measured), so a running import shows its status, time and size, and the counters only once
/// they are final.
fn progress_line(r: &ImportReport, status: &ImportStatus, elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    let time = format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if matches!(status, ImportStatus::InProgress | ImportStatus::Cancelling) {
        let mut what = Vec::new();
        if let Some(e) = r.expected_items {
            what.push(format!("{e} items"));
        }
        if let Some(b) = r.uncompressed_bytes {
            what.push(format!(
                "{} uncompressed (billed)",
                crate::pipeline::progress::human_bytes(b)
            ));
        }
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(", importing {}", what.join(", "))
        };
        format!(
            "{} {time}{what}; DynamoDB reports the counts when the import ends",
            r.status
        )
    } else {
        format!(
            "{} {time} — {} items processed{}, {} imported, {} errors, {} bytes processed",
            r.status,
            r.processed_items,
            r.expected_items
                .map(|e| format!(" of {e}"))
                .unwrap_or_default(),
            r.imported_items,
            r.error_count,
            r.processed_bytes,
        )
    }
}

fn reconcile(r: &mut ImportReport) {
    let Some(expected) = r.expected_items else {
        r.reconciled = r.error_count == 0;
        r.notes
            .push("no manifest item count to reconcile against (reattached with --status)".into());
        return;
    };
    let dups = r.duplicates.unwrap_or(0);
    let imported = r.imported_items.max(0) as u64;
    let processed = r.processed_items.max(0) as u64;
    r.reconciled = r.error_count == 0 && processed == expected && imported == expected;
    if !r.reconciled && r.error_count == 0 && imported + dups == expected {
        r.reconciled = true;
        r.notes.push(format!(
            "{dups} fewer items than the manifest lists: the manifest counted {dups} duplicate primary keys, which overwrite each other"
        ));
    } else if !r.reconciled {
        r.notes.push(format!(
            "the manifest lists {expected} items, the import processed {processed} and imported {imported}"
        ));
    }
}

fn follow_up_commands(f: &FollowUps, r: &ImportReport) -> Vec<String> {
    let t = &r.table_name;
    let mut v = Vec::new();
    if let Some(view) = &f.stream_view_type {
        v.push(format!(
            "aws dynamodb update-table --table-name {t} --stream-specification StreamEnabled=true,StreamViewType={view}"
        ));
    }
    if let Some(a) = &f.ttl_attribute {
        v.push(format!(
            "aws dynamodb update-time-to-live --table-name {t} --time-to-live-specification Enabled=true,AttributeName={a}"
        ));
    }
    if f.pitr {
        v.push(format!(
            "aws dynamodb update-continuous-backups --table-name {t} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
        ));
    }
    if f.deletion_protection {
        v.push(format!(
            "aws dynamodb update-table --table-name {t} --deletion-protection-enabled"
        ));
    }
    if !f.tags.is_empty() {
        let arn = r.table_arn.clone().unwrap_or_else(|| "<table-arn>".into());
        let tags: Vec<String> = f
            .tags
            .iter()
            .map(|(k, v)| format!("Key={k},Value={v}"))
            .collect();
        v.push(format!(
            "aws dynamodb tag-resource --resource-arn {arn} --tags {}",
            tags.join(" ")
        ));
    }
    v
}

/// `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/import/ID` → NAME.
fn table_from_arn(arn: &str) -> Option<String> {
    let rest = arn.split_once(":table/")?.1;
    Some(rest.split('/').next()?.to_string())
}

/// Parse `KEY=VALUE`.
pub fn parse_tag(s: &str) -> Result<(String, String)> {
    let (k, v) = s
        .split_once('=')
        .with_context(|| format!("--tag {s:?}: expected KEY=VALUE"))?;
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciliation() {
        let mut r = ImportReport {
            status: "COMPLETED".into(),
            processed_items: 10,
            imported_items: 10,
            expected_items: Some(10),
            duplicates: Some(0),
            ..Default::default()
        };
        reconcile(&mut r);
        assert!(r.reconciled);
        assert_eq!(r.exit_code(), 0);
        let mut r = ImportReport {
            status: "COMPLETED".into(),
            processed_items: 10,
            imported_items: 8,
            expected_items: Some(10),
            duplicates: Some(2),
            ..Default::default()
        };
        reconcile(&mut r);
        assert!(r.reconciled, "duplicates explain the shortfall");
        let mut r = ImportReport {
            status: "COMPLETED".into(),
            processed_items: 9,
            imported_items: 9,
            expected_items: Some(10),
            duplicates: Some(0),
            ..Default::default()
        };
        reconcile(&mut r);
        assert!(!r.reconciled);
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn progress_shows_what_is_known_while_the_counters_are_zero() {
        let mut r = ImportReport {
            status: "IN_PROGRESS".into(),
            expected_items: Some(12_000),
            uncompressed_bytes: Some(3 << 30),
            ..Default::default()
        };
        let line = progress_line(&r, &ImportStatus::InProgress, Duration::from_secs(3725));
        assert_eq!(
            line,
            "IN_PROGRESS 1:02:05, importing 12000 items, 3.0 GiB uncompressed (billed); DynamoDB reports the counts when the import ends"
        );
        assert!(!line.contains("0 items processed"), "{line}");
        r.status = "COMPLETED".into();
        r.processed_items = 12_000;
        r.imported_items = 12_000;
        r.processed_bytes = 3 << 30;
        let line = progress_line(&r, &ImportStatus::Completed, Duration::from_secs(61));
        assert_eq!(
            line,
            "COMPLETED 0:01:01 — 12000 items processed of 12000, 12000 imported, 0 errors, 3221225472 bytes processed"
        );
        // Reattached with --status: no manifest, still no false counters.
        let bare = ImportReport {
            status: "IN_PROGRESS".into(),
            ..Default::default()
        };
        assert_eq!(
            progress_line(&bare, &ImportStatus::InProgress, Duration::ZERO),
            "IN_PROGRESS 0:00:00; DynamoDB reports the counts when the import ends"
        );
    }

    #[test]
    fn follow_ups() {
        let r = ImportReport {
            table_name: "t1".into(),
            table_arn: Some("arn:aws:dynamodb:us-east-1:1:table/t1".into()),
            ..Default::default()
        };
        let f = FollowUps {
            stream_view_type: Some("NEW_IMAGE".into()),
            ttl_attribute: Some("expires".into()),
            pitr: true,
            deletion_protection: true,
            tags: vec![("team".into(), "data".into())],
        };
        let c = follow_up_commands(&f, &r);
        assert_eq!(c.len(), 5);
        assert!(c[0].contains("StreamViewType=NEW_IMAGE"));
        assert!(c[4].contains(
            "--resource-arn arn:aws:dynamodb:us-east-1:1:table/t1 --tags Key=team,Value=data"
        ));
        assert_eq!(parse_tag("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(
            table_from_arn("arn:aws:dynamodb:us-east-1:1:table/t.x/import/0123").as_deref(),
            Some("t.x")
        );
        assert!(parse_tag("ab").is_err());
    }
}
