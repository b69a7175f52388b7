//! Folder-level checks: prep output folders and DynamoDB export folders (manifests against data
//! files), plain folders of data files, and rules over the whole set of objects of one import.

use super::{DataFile, Declared, Finding, Report, ValidateOptions};
use crate::input::Packing;
use crate::model::keys::KeySchema;
use crate::model::manifest::{PartEntry, Summary};
use crate::model::rules;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What a manifest says a data file holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Expect {
    pub items: Option<u64>,
    pub md5: Option<String>,
    pub crc64nvme: Option<String>,
    /// What earlier versions of prep recorded instead of the CRC.
    pub sha256: Option<String>,
    pub stored_bytes: Option<u64>,
}

/// Names that are never data: the import would read them as items and fail.
fn non_data_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with('_')
        || n.starts_with('.')
        || n.starts_with("manifest")
        || n == crate::model::manifest::IMPORT_TABLE
        || n == crate::model::manifest::REJECTS
        || n == crate::model::manifest::DUPLICATES
        || [".crc", ".md", ".txt", ".yaml", ".yml", ".tmp"]
            .iter()
            .any(|e| n.ends_with(e))
}

/// The files under `dir`, each once (see [`crate::input::Seen`]: symlink loops end).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    fn inner(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut crate::input::Seen) -> Result<()> {
        if !seen.first(dir) {
            return Ok(());
        }
        for p in crate::input::sorted_entries(dir)? {
            if p.is_dir() {
                inner(&p, out, seen)?;
            } else if seen.first(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    inner(dir, out, &mut crate::input::Seen::default())
}

/// Compare data files' checksums and sizes with their manifest entries (X006 findings). Local
/// files are hashed together (see [`crate::hashing::files_digests`]); S3 objects are read for it
/// one after the other, beside the line checks' own read.
pub(crate) fn verify_files(files: &[(DataFile, Expect)]) -> Result<Vec<Finding>> {
    let files: Vec<&(DataFile, Expect)> = files
        .iter()
        .filter(|(_, e)| {
            e.md5.is_some()
                || e.crc64nvme.is_some()
                || e.sha256.is_some()
                || e.stored_bytes.is_some()
        })
        .collect();
    // SHA-256 (slow) only for manifests of earlier versions that carry it.
    let wanted = |files: &[&(DataFile, Expect)]| crate::hashing::Wanted {
        md5: files.iter().any(|(_, e)| e.md5.is_some()),
        crc64: files.iter().any(|(_, e)| e.crc64nvme.is_some()),
        sha256: files.iter().any(|(_, e)| e.sha256.is_some()),
    };
    let (remote, local): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|(f, _)| f.object.is_some());
    let paths: Vec<&Path> = local.iter().map(|(f, _)| f.path.as_path()).collect();
    let digests = crate::hashing::files_digests(&paths, wanted(&local))?;
    let mut out = Vec::new();
    for ((f, e), d) in local.into_iter().zip(digests) {
        out.extend(compare(&f.path, e, d));
    }
    for f_e in remote {
        let (f, e) = f_e;
        let o = f.object.as_ref().expect("partitioned");
        let d = crate::input::source::digests(&**o, wanted(&[f_e]))?;
        out.extend(compare(&f.path, e, d));
    }
    Ok(out)
}

/// Where a folder's manifests and data are: a local folder or an S3 prefix. Names are relative
/// to its root, `/` between levels.
pub(crate) trait FolderView {
    /// How findings name `name` (a path or an `s3://` URI).
    fn shown(&self, name: &str) -> String;
    /// The text of a small object (a manifest); `None` when there is none.
    fn text(&self, name: &str) -> Result<Option<String>>;
    fn exists(&self, name: &str) -> bool;
    /// Every data file under the level `under` (`""`: all), with its name, in name order.
    fn files(&self, under: &str) -> Result<Vec<(String, DataFile)>>;
    /// Where an import reads this folder's parts from, for the closing note (S3 only).
    fn import_prefix(&self) -> Option<String> {
        None
    }
}

/// A local folder.
pub(crate) struct LocalView<'a>(pub &'a Path);

impl FolderView for LocalView<'_> {
    fn shown(&self, name: &str) -> String {
        if name.is_empty() {
            return self.0.display().to_string();
        }
        self.0.join(name).display().to_string()
    }

    fn text(&self, name: &str) -> Result<Option<String>> {
        let p = self.0.join(name);
        if !p.is_file() {
            return Ok(None);
        }
        Ok(Some(
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?,
        ))
    }

    fn exists(&self, name: &str) -> bool {
        self.0.join(name).is_file()
    }

    fn files(&self, under: &str) -> Result<Vec<(String, DataFile)>> {
        let dir = self.0.join(under);
        let mut all = Vec::new();
        if dir.is_dir() {
            walk(&dir, &mut all)?;
        }
        Ok(all
            .into_iter()
            .map(|p| {
                let rel = p
                    .strip_prefix(self.0)
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                (
                    rel,
                    DataFile {
                        path: p,
                        expect: None,
                        object: None,
                    },
                )
            })
            .collect())
    }
}

fn compare(path: &Path, e: &Expect, d: crate::hashing::FileDigests) -> Vec<Finding> {
    let size = d.bytes;
    let shown = path.display().to_string();
    let mismatch = |what: &str, want: &str, got: &str| {
        Finding::file(
            &rules::MANIFEST_MISMATCH,
            shown.clone(),
            format!("{what} mismatch: the manifest says {want}, the file has {got}; it was changed or is incomplete"),
        )
    };
    let mut out = Vec::new();
    for (what, want, got) in [
        ("md5Checksum", &e.md5, &d.md5_base64),
        ("crc64nvme", &e.crc64nvme, &d.crc64nvme),
        ("sha256", &e.sha256, &d.sha256_hex),
    ] {
        if let (Some(want), Some(got)) = (want, got) {
            if want != got {
                out.push(mismatch(what, want, got));
            }
        }
    }
    if let Some(want) = e.stored_bytes.filter(|w| *w != size) {
        out.push(mismatch(
            "storedBytes",
            &want.to_string(),
            &size.to_string(),
        ));
    }
    out
}

/// Check a folder; returns the data files to validate item by item.
pub(crate) fn check_folder(
    dir: &dyn FolderView,
    keys: &mut Option<KeySchema>,
    report: &mut Report,
) -> Result<Vec<DataFile>> {
    let Some(text) = dir.text(crate::model::manifest::MANIFEST_FILES)? else {
        let mut out = Vec::new();
        for (rel, f) in dir.files("")? {
            let name = rel.rsplit('/').next().unwrap_or("");
            if non_data_name(name) {
                report.add(Finding::file(
                    &rules::NON_DATA_OBJECT,
                    f.path.display().to_string(),
                    "not a data file, but an import of this folder would read it as one; move it out of the data prefix",
                ));
            } else {
                out.push(f);
            }
        }
        return Ok(out);
    };
    let summary: Option<Summary> = dir
        .text(crate::model::manifest::MANIFEST_SUMMARY)?
        .and_then(|t| serde_json::from_str(&t).ok());
    let is_prep = summary.as_ref().is_some_and(Summary::is_prep);
    // A prep output is complete once manifest-summary.json is there (written last, after
    // import-table.json); `prep upload` refuses a folder without them, and so does this check.
    let incomplete = |what: &str| {
        Finding::file(
            &rules::MANIFEST_MISMATCH,
            dir.shown(""),
            format!("{what} is missing: the folder is not a complete output (was the convert interrupted?); convert again"),
        )
    };
    if summary.is_none() {
        report.add(incomplete(crate::model::manifest::MANIFEST_SUMMARY));
    } else if is_prep && !dir.exists(crate::model::manifest::IMPORT_TABLE) {
        report.add(incomplete(crate::model::manifest::IMPORT_TABLE));
    }
    if keys.is_none() {
        let recorded = summary.as_ref().and_then(|s| {
            KeySchema::from_manifest(s.key_schema.as_ref()?, s.table_name.as_deref())
        });
        if let Some(k) = recorded {
            report.notes.push(format!(
                "key schema from {}: {}{}",
                dir.shown(crate::model::manifest::MANIFEST_SUMMARY),
                k.partition.name,
                k.sort
                    .as_ref()
                    .map(|s| format!(", {}", s.name))
                    .unwrap_or_default()
            ));
            *keys = Some(k);
        }
    }
    let mf_name = dir.shown(crate::model::manifest::MANIFEST_FILES);
    let mut present: std::collections::BTreeMap<String, DataFile> =
        dir.files("data")?.into_iter().collect();
    let mut out = Vec::new();
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = (i + 1) as u64;
        let p = match PartEntry::parse(line) {
            Ok(p) => p,
            Err(e) => {
                report
                    .add(Finding::file(&rules::MANIFEST_MISMATCH, &mf_name, e.to_string()).at(at));
                continue;
            }
        };
        let key = p.data_file_s3_key.as_str();
        let name = format!("data/{}", key.rsplit('/').next().unwrap_or(key));
        let Some(file) = present.remove(&name) else {
            let shown = dir.shown(&name);
            let again = listed.contains(&name);
            report.add(
                Finding::file(
                    &rules::MANIFEST_MISMATCH,
                    &mf_name,
                    if again {
                        format!("{key} is listed twice")
                    } else {
                        format!("{key} is listed but {shown} does not exist")
                    },
                )
                .at(at),
            );
            continue;
        };
        listed.push(name);
        out.push(DataFile {
            expect: Some(Expect {
                items: p.item_count,
                md5: Some(p.md5_checksum.clone()).filter(|m| !m.is_empty()),
                crc64nvme: p.crc64nvme.clone(),
                sha256: p.sha256.clone(),
                stored_bytes: p.stored_bytes,
            }),
            ..file
        });
    }
    // Anything else under data/ would be imported too.
    for f in present.into_values() {
        report.add(Finding::file(
            &rules::NON_DATA_OBJECT,
            f.path.display().to_string(),
            "this file is under data/ but not in manifest-files.json; the import would read it as data",
        ));
    }
    if !is_prep {
        let s = summary.as_ref();
        let data_prefix = s
            .map(|s| s.manifest_files_s3_key.as_str())
            .filter(|k| !k.is_empty())
            .map(|k| {
                format!(
                    "{}data/",
                    k.trim_end_matches(crate::model::manifest::MANIFEST_FILES)
                )
            });
        let bucket = s.and_then(|s| s.s3_bucket.as_deref());
        let prefix =
            data_prefix.unwrap_or_else(|| "<export prefix>/AWSDynamoDB/<ExportId>/data/".into());
        report.notes.push(match bucket {
            Some(b) => format!(
                "import this export with S3Bucket {b}, S3KeyPrefix {prefix} (s3://{b}/{prefix})"
            ),
            None => format!("import this export with S3KeyPrefix {prefix}"),
        });
    } else if let Some(p) = dir.import_prefix() {
        report.notes.push(p);
    }
    Ok(out)
}

/// Rules over all objects of one import: one format and compression, object count, size quota,
/// even part sizes.
pub(crate) fn check_set(
    kinds: &[(Declared, Packing, String)],
    files: &[DataFile],
    opts: &ValidateOptions,
    report: &mut Report,
) {
    if let Some((f0, p0, n0)) = kinds.first() {
        for (f, p, n) in &kinds[1..] {
            if f != f0 || p != p0 {
                report.add(Finding::file(
                    &rules::MIXED_OBJECTS,
                    n.clone(),
                    format!(
                        "{} {:?} here, {} {:?} in {n0}: one import needs one format and one compression",
                        f.name(),
                        p,
                        f0.name(),
                        p0
                    ),
                ));
            }
        }
    }
    if files.len() > rules::MAX_IMPORT_OBJECTS {
        report.add(Finding::file(
            &rules::TOO_MANY_OBJECTS,
            files[0].path.display().to_string(),
            format!("{} objects; one import reads at most 50,000", files.len()),
        ));
    }
    let sizes: Vec<u64> = files.iter().filter_map(DataFile::size).collect();
    let total: u64 = sizes.iter().sum();
    let quota = rules::import_quota(opts.region.as_deref());
    if total > quota {
        report.add(Finding::file(
            &rules::IMPORT_QUOTA,
            files[0].path.display().to_string(),
            format!("{total} bytes in all; the import quota is {quota} bytes in this region"),
        ));
    } else if total > rules::TB && opts.region.is_none() {
        report.notes.push("more than 1 TB of data: over the import quota outside us-east-1, us-west-2 and eu-west-1 (pass --region to check)".into());
    }
    if sizes.len() >= 2 {
        let mut s = sizes.clone();
        s.sort_unstable();
        let median = s[s.len() / 2].max(1);
        let max = *s.last().unwrap();
        if max >= 1 << 20 && max > 10 * median {
            report.add(Finding::file(
                &rules::UNEVEN_PARTS,
                files[sizes.iter().position(|&x| x == max).unwrap_or(0)].path.display().to_string(),
                format!("the largest file is {max} bytes, the median {median}; similar sizes import fastest"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X003's quota: 1 TB outside the three large regions, 15 TB in them and when the region
    /// is not known.
    #[test]
    fn the_import_quota_depends_on_the_region() {
        use rules::{import_quota, TB};
        assert_eq!(import_quota(Some("ap-south-1")), TB);
        assert_eq!(import_quota(Some("us-east-1")), 15 * TB);
        assert_eq!(import_quota(Some("eu-west-1")), 15 * TB);
        assert_eq!(import_quota(None), 15 * TB);
        assert_eq!(rules::IMPORT_QUOTA.code, "X003");
    }

    fn opts(region: Option<&str>) -> ValidateOptions {
        ValidateOptions {
            paths: vec![],
            keys: None,
            format: None,
            compression: None,
            header_list: None,
            delimiter: None,
            threads: 1,
            batch_rows: 10,
            duplicates: false,
            dup_memory: 256 << 20,
            tmp_dir: None,
            region: region.map(str::to_string),
            fast: true,
            max_line: crate::input::parse::lines::DEFAULT_MAX_LINE,
            aws: Default::default(),
            ttl: None,
            profile: None,
        }
    }

    fn codes(r: &Report) -> Vec<&'static str> {
        r.findings.iter().map(|f| f.rule.code).collect()
    }

    #[test]
    fn object_count_limit() {
        let files: Vec<DataFile> = (0..50_001)
            .map(|i| DataFile {
                path: PathBuf::from(format!("/nonexistent/part-{i}.json")),
                expect: None,
                object: None,
            })
            .collect();
        let mut r = Report::default();
        check_set(&[], &files, &opts(None), &mut r);
        assert_eq!(codes(&r), vec!["X002"]);
        let mut r = Report::default();
        check_set(&[], &files[..50_000], &opts(None), &mut r);
        assert!(r.findings.is_empty());
    }

    #[test]
    fn size_quota_by_region() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big.json");
        // Sparse: 2 TB of apparent size, no disk used.
        std::fs::File::create(&p)
            .unwrap()
            .set_len(2_000_000_000_000)
            .unwrap();
        let files = vec![DataFile {
            path: p,
            expect: None,
            object: None,
        }];
        let mut r = Report::default();
        check_set(&[], &files, &opts(Some("ap-south-1")), &mut r);
        assert_eq!(codes(&r), vec!["X003"]);
        let mut r = Report::default();
        check_set(&[], &files, &opts(Some("us-east-1")), &mut r);
        assert!(r.findings.is_empty());
        let mut r = Report::default();
        check_set(&[], &files, &opts(None), &mut r);
        assert!(r.findings.is_empty());
        assert!(r.notes[0].contains("--region"));
    }

    #[test]
    fn mixed_formats() {
        let kinds = vec![
            (Declared::DynamodbJson, Packing::Gzip, "a".to_string()),
            (Declared::DynamodbJson, Packing::Gzip, "b".to_string()),
            (Declared::Ion, Packing::Gzip, "c".to_string()),
        ];
        let mut r = Report::default();
        check_set(&kinds, &[], &opts(None), &mut r);
        assert_eq!(codes(&r), vec!["X001"]);
        assert_eq!(r.findings[0].file, "c");
    }
}
