//! The local side of an upload: the output folder's manifests, and every part checked against
//! them (size, SHA-256) before anything is sent.

use anyhow::{bail, Context, Result};
use base64::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct LocalPart {
    pub path: PathBuf,
    /// `data/part-00000.json.zst`: the key relative to the upload prefix.
    pub rel_key: String,
    pub size: u64,
    pub sha256_hex: String,
    pub md5_base64: String,
}

impl LocalPart {
    pub fn sha256_base64(&self) -> String {
        let bytes: Vec<u8> = (0..self.sha256_hex.len() / 2)
            .map(|i| u8::from_str_radix(&self.sha256_hex[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

#[derive(Clone, Debug)]
pub struct Local {
    pub dir: PathBuf,
    pub parts: Vec<LocalPart>,
    /// manifest-files.json lines, in order.
    pub manifest_lines: Vec<Value>,
    pub import_table: Value,
    pub summary: Value,
}

fn read_json(path: &Path, what: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "{} is missing: {what}; the folder is not a complete prep output (was the convert interrupted?)",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Load OUT and verify every part against manifest-files.json.
pub fn load(dir: &Path) -> Result<Local> {
    let summary = read_json(
        &dir.join(crate::model::files::MANIFEST_SUMMARY),
        "prep writes it last",
    )?;
    let import_table = read_json(
        &dir.join(crate::model::files::IMPORT_TABLE),
        "it holds the import request",
    )?;
    let mf = dir.join(crate::model::files::MANIFEST_FILES);
    let text = std::fs::read_to_string(&mf).with_context(|| {
        format!(
            "{} is missing; the folder is not a complete prep output",
            mf.display()
        )
    })?;
    let mut parts = Vec::new();
    let mut manifest_lines = Vec::new();
    for (line, v) in crate::input::manifest_lines(&mf, &text)? {
        let rel_key = v["dataFileS3Key"]
            .as_str()
            .with_context(|| format!("{}:{line}: no dataFileS3Key", mf.display()))?
            .to_string();
        if !rel_key.starts_with("data/") || rel_key.contains("..") {
            bail!(
                "{}:{line}: unexpected dataFileS3Key {rel_key:?}",
                mf.display()
            );
        }
        let path = dir.join(&rel_key);
        let size = v["storedBytes"].as_u64().unwrap_or(0);
        let sha = v["sha256"].as_str().unwrap_or("").to_string();
        let md5 = v["md5Checksum"].as_str().unwrap_or("").to_string();
        parts.push(LocalPart {
            path,
            rel_key,
            size,
            sha256_hex: sha,
            md5_base64: md5,
        });
        manifest_lines.push(v);
    }
    if parts.is_empty() {
        bail!("{} lists no parts; nothing to upload", mf.display());
    }
    if summary["partCount"]
        .as_u64()
        .is_some_and(|n| n != parts.len() as u64)
    {
        bail!(
            "{} says {} parts but manifest-files.json lists {}; the folder is incomplete",
            dir.join(crate::model::files::MANIFEST_SUMMARY).display(),
            summary["partCount"],
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
        let got = crate::hashing::sha256_file(&p.path)?;
        if got != p.sha256_hex {
            bail!(
                "{}: sha256 {got} differs from the manifest's {}; the part was changed — convert again",
                p.path.display(),
                p.sha256_hex
            );
        }
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
