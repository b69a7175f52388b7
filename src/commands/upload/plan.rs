//! The local side of an upload: the output folder's manifests, and every part checked against
//! them (size, CRC64-NVME — or the SHA-256 an earlier version recorded) before anything is
//! sent.

use crate::model::manifest::{ImportTable, PartEntry, Summary};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub(crate) struct LocalPart {
    pub path: PathBuf,
    /// `data/part-00000.json.zst`: the key relative to the upload prefix.
    pub rel_key: String,
    pub size: u64,
    /// Base64 CRC64-NVME of the part: the manifest's (computed here for a manifest of an
    /// earlier version, once its SHA-256 is checked).
    pub crc64nvme: String,
    pub md5_base64: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Local {
    pub dir: PathBuf,
    pub parts: Vec<LocalPart>,
    /// manifest-files.json lines, in order.
    pub manifest_lines: Vec<PartEntry>,
    pub import_table: ImportTable,
    pub summary: Summary,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "{} is missing: {what}; the folder is not a complete prep output (was the convert interrupted?)",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not what prep writes there", path.display()))
}

/// Load OUT and verify every part against manifest-files.json.
pub(crate) fn load(dir: &Path) -> Result<Local> {
    let summary: Summary = read_json(
        &dir.join(crate::model::manifest::MANIFEST_SUMMARY),
        "prep writes it last",
    )?;
    let import_table: ImportTable = read_json(
        &dir.join(crate::model::manifest::IMPORT_TABLE),
        "it holds the import request",
    )?;
    let mf = dir.join(crate::model::manifest::MANIFEST_FILES);
    let text = std::fs::read_to_string(&mf).with_context(|| {
        format!(
            "{} is missing; the folder is not a complete prep output",
            mf.display()
        )
    })?;
    let mut parts = Vec::new();
    let mut manifest_lines = Vec::new();
    for (line, entry) in PartEntry::lines(&text) {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}:{line}: {e}", mf.display()))?;
        let rel_key = entry.data_file_s3_key.clone();
        if !rel_key.starts_with("data/") || rel_key.contains("..") {
            bail!(
                "{}:{line}: unexpected dataFileS3Key {rel_key:?}",
                mf.display()
            );
        }
        parts.push(LocalPart {
            path: dir.join(&rel_key),
            rel_key,
            size: entry.stored_bytes.unwrap_or(0),
            crc64nvme: String::new(),
            md5_base64: entry.md5_checksum.clone(),
        });
        manifest_lines.push(entry);
    }
    if parts.is_empty() {
        bail!("{} lists no parts; nothing to upload", mf.display());
    }
    if let Some(n) = summary.part_count.filter(|&n| n != parts.len() as u64) {
        bail!(
            "{} says {} parts but manifest-files.json lists {}; the folder is incomplete",
            dir.join(crate::model::manifest::MANIFEST_SUMMARY).display(),
            n,
            parts.len()
        );
    }
    for p in &parts {
        let meta = std::fs::metadata(&p.path).with_context(|| {
            format!("{} is listed in the manifest but missing", p.path.display())
        })?;
        if meta.len() != p.size {
            bail!(
                "{}: {} bytes, but the manifest says {}; the part was changed or is incomplete — convert again",
                p.path.display(),
                meta.len(),
                p.size
            );
        }
    }
    let paths: Vec<&Path> = parts.iter().map(|p| p.path.as_path()).collect();
    let wanted = crate::hashing::Wanted {
        md5: false,
        crc64: true,
        sha256: manifest_lines.iter().any(|e| e.sha256.is_some()),
    };
    let digests = crate::hashing::files_digests(&paths, wanted)?;
    for ((p, entry), d) in parts.iter_mut().zip(&manifest_lines).zip(digests) {
        let crc = d.crc64nvme.expect("asked for");
        for (what, want, got) in [
            ("crc64nvme", &entry.crc64nvme, Some(&crc)),
            ("sha256", &entry.sha256, d.sha256_hex.as_ref()),
        ] {
            if let (Some(want), Some(got)) = (want, got) {
                if want != got {
                    bail!(
                        "{}: {what} {got} differs from the manifest's {want}; the part was changed — convert again",
                        p.path.display(),
                    );
                }
            }
        }
        if entry.crc64nvme.is_none() && entry.sha256.is_none() {
            bail!(
                "{}: the manifest lists {} without a checksum (crc64nvme); convert again",
                mf.display(),
                p.rel_key
            );
        }
        p.crc64nvme = crc;
    }
    // Nothing else may sit in data/: the import would read it.
    let mut listed: Vec<&Path> = parts.iter().map(|p| p.path.as_path()).collect();
    listed.sort();
    for e in std::fs::read_dir(dir.join("data"))? {
        let p = e?.path();
        if !listed.contains(&p.as_path()) {
            bail!(
                "{} is in data/ but not in the manifest; remove it (the import would read it as data)",
                p.display()
            );
        }
    }
    Ok(Local {
        dir: dir.to_path_buf(),
        parts,
        manifest_lines,
        import_table,
        summary,
    })
}
