//! Finding the inputs: files, folders (walked in name order), globs, DynamoDB export and prep
//! output folders (their manifests' data files).

use super::detect::{known_extension, sniff_path};
use super::*;
use crate::model::manifest::PartEntry;

/// Expand INPUT arguments: files as given, directories recursed (sorted, hidden files and
/// files of unknown type skipped), globs expanded (sorted).
pub fn discover(inputs: &[String]) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut seen = Seen::default();
    for arg in inputs {
        let p = Path::new(arg);
        if p.is_dir() && p.join(crate::model::manifest::MANIFEST_FILES).is_file() {
            out.extend(export_files(p)?);
            continue;
        }
        discover_one(arg, p, &mut out, &mut seen)?;
    }
    Ok(out)
}

/// The directories walked and files found so far, by what they really are (device and inode on
/// Unix, the canonical path elsewhere): a symlink loop (`a/b -> ..`) is followed once, and a
/// file reached by several paths inside the walked folders is read once.
#[derive(Default)]
pub struct Seen(std::collections::HashSet<(u64, u64, PathBuf)>);

impl Seen {
    /// Whether `p` is seen for the first time (a path that cannot be looked at counts as new,
    /// so its error surfaces where it is opened).
    pub fn first(&mut self, p: &Path) -> bool {
        #[cfg(unix)]
        let id = std::fs::metadata(p).map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino(), PathBuf::new())
        });
        #[cfg(not(unix))]
        let id = std::fs::canonicalize(p).map(|c| (0, 0, c));
        match id {
            Ok(id) => self.0.insert(id),
            Err(_) => true,
        }
    }
}

/// The data files a DynamoDB export folder (`AWSDynamoDB/<id>/`) or a prep output folder lists in
/// its manifest-files.json, with the checksum and item count to verify.
fn export_files(dir: &Path) -> Result<Vec<Found>> {
    let mf = dir.join(crate::model::manifest::MANIFEST_FILES);
    let text =
        std::fs::read_to_string(&mf).with_context(|| format!("cannot read {}", mf.display()))?;
    let mut out = Vec::new();
    for (line, entry) in PartEntry::lines(&text) {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}:{line}: {e}", mf.display()))?;
        let key = entry.data_file_s3_key.as_str();
        let name = key.rsplit('/').next().unwrap_or(key);
        let path = dir.join("data").join(name);
        if !path.is_file() {
            bail!(
                "{}: {} lists {key}, but {} does not exist",
                dir.display(),
                mf.display(),
                path.display()
            );
        }
        let md5 = entry.md5_checksum.clone();
        let items = entry
            .item_count
            .ok_or_else(|| anyhow::anyhow!("{}:{line}: no itemCount", mf.display()))?;
        out.push(Found {
            path,
            manifest: Some(ManifestEntry {
                md5_base64: md5,
                items,
            }),
        });
    }
    if out.is_empty() {
        bail!("{}: the manifest lists no data files", mf.display());
    }
    Ok(out)
}

fn plain(path: PathBuf) -> Found {
    Found {
        path,
        manifest: None,
    }
}

fn discover_one(arg: &str, p: &Path, out: &mut Vec<Found>, seen: &mut Seen) -> Result<()> {
    {
        if p.is_dir() {
            let before = out.len();
            walk(p, out, seen)?;
            if out.len() == before {
                bail!(
                    "{arg}: the directory holds no CSV, Parquet, Arrow, DynamoDB JSON or Ion files"
                );
            }
        } else if p.exists() {
            out.push(plain(p.to_path_buf()));
        } else if arg.contains(['*', '?', '[']) {
            let mut found: Vec<PathBuf> = glob::glob(arg)
                .with_context(|| format!("bad glob pattern {arg:?}"))?
                .filter_map(|r| r.ok())
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{arg}: the pattern matches no file");
            }
            out.extend(found.into_iter().map(plain));
        } else {
            bail!("{arg}: no such file or directory");
        }
    }
    Ok(())
}

/// The entries of a directory, sorted (so that every listing comes out in the same order).
pub fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

fn walk(dir: &Path, out: &mut Vec<Found>, seen: &mut Seen) -> Result<()> {
    if !seen.first(dir) {
        return Ok(());
    }
    // An export or prep output folder inside: its manifest says which files are data.
    if dir.join(crate::model::manifest::MANIFEST_FILES).is_file() {
        out.extend(export_files(dir)?);
        return Ok(());
    }
    for p in sorted_entries(dir)? {
        // Names that are not UTF-8 are judged by their lossy form (never skipped for it).
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, seen)?;
        } else if (known_extension(&p) || sniff_path(&p).is_some()) && seen.first(&p) {
            out.push(plain(p));
        }
    }
    Ok(())
}
