//! A shard of a conversion (`prep convert --shard I/N`, one of N independent processes that
//! together convert every work unit once, into one folder or S3 prefix): its names in the
//! output, and what it leaves there for `prep merge` — its report and its key file.

use crate::model::manifest::{EntityCounts, InputRecord, KeysRecord, OutputFacts, PartInfo};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where shard reports live, beside `data/`.
pub const SHARDS_DIR: &str = "shards";

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The variables an orchestrator sets to a job's index in an array: AWS Batch array jobs,
/// Kubernetes Indexed Jobs.
pub(crate) const INDEX_VARIABLES: &[&str] = &["AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX"];

impl Shard {
    /// `I/N`, or `N` with `I` from [`INDEX_VARIABLES`].
    pub fn parse(text: &str) -> Result<Shard> {
        let (index, count) = match text.split_once('/') {
            Some((i, n)) => (i.trim().to_string(), n.trim()),
            None => {
                let Some((var, v)) = INDEX_VARIABLES
                    .iter()
                    .find_map(|v| std::env::var(v).ok().map(|x| (*v, x)))
                else {
                    bail!(
                        "--shard {text}: give the index as I/{text} (0-based), or run where {} is set",
                        INDEX_VARIABLES.join(" or ")
                    );
                };
                let _ = var;
                (v.trim().to_string(), text.trim())
            }
        };
        let count: u32 = count
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| anyhow::anyhow!("--shard {text}: N must be a whole number ≥ 1"))?;
        let index: u32 = index
            .parse()
            .map_err(|_| anyhow::anyhow!("--shard {text}: the index {index:?} is not a number"))?;
        if index >= count {
            bail!(
                "--shard {text}: the index must be below N (0 to {})",
                count - 1
            );
        }
        Ok(Shard { index, count })
    }

    /// `shard-00001-of-00003`: the names of its report files.
    pub fn tag(&self) -> String {
        format!("shard-{:05}-of-{:05}", self.index, self.count)
    }

    /// How its parts' names start (`part-00001-00000.json.zst`): unique across shards.
    pub fn part_prefix(&self) -> String {
        format!("part-{:05}-", self.index)
    }

    pub fn report_name(&self) -> String {
        format!("{SHARDS_DIR}/{}.json", self.tag())
    }

    pub fn rejects_name(&self) -> String {
        format!("{SHARDS_DIR}/{}.rejects.jsonl", self.tag())
    }

    /// Its items' profile counts (`--report`), joined by `prep merge` into the report.
    pub fn profile_name(&self) -> String {
        format!("{SHARDS_DIR}/{}.profile.json", self.tag())
    }

    pub fn keys_name(&self) -> String {
        format!("{SHARDS_DIR}/{}.keys", self.tag())
    }

    /// Whether `name` (relative to the output's root) is this shard's: its parts and reports.
    pub fn owns(&self, name: &str) -> bool {
        name.strip_prefix("data/")
            .is_some_and(|n| n.starts_with(&self.part_prefix()))
            || name
                .strip_prefix(&format!("{SHARDS_DIR}/"))
                .is_some_and(|n| n.starts_with(&format!("{}.", self.tag())))
    }
}

/// What every shard of one conversion must agree on; `prep merge` refuses shards that differ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardSettings {
    pub facts: OutputFacts,
    /// The key schema, resolved, as the summary records it.
    pub key_schema: KeysRecord,
    /// `warn`, `error` or `off`.
    pub duplicates: String,
    pub part_size: u64,
    pub nulls: String,
    pub timestamps: String,
    /// How rows were shaped (templates, set, select, rename, TTL; a map's entity types), as
    /// text: shards that shaped differently must not be merged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shaping: String,
}

/// The report a shard leaves in `shards/` (written last: a shard with its report is complete).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardReport {
    pub tool: String,
    pub tool_version: String,
    pub shard: Shard,
    pub settings: ShardSettings,
    /// Every input of the conversion (all shards list the same), with the rows this shard read
    /// from each and, for the inputs whose first unit is this shard's, their SHA-256.
    pub inputs: Vec<InputRecord>,
    pub parts: Vec<PartInfo>,
    pub rows_read: u64,
    pub items_written: u64,
    pub rows_rejected: u64,
    pub rejects_by_code: BTreeMap<String, u64>,
    pub empty_sets_omitted: u64,
    pub warnings: Vec<String>,
    /// Its rejects (`shards/….rejects.jsonl`), when it has any.
    pub rejects_file: Option<String>,
    /// Its items' primary keys (`shards/….keys`), unless duplicates are off.
    pub keys_file: Option<String>,
    /// A map's run: this shard's rows, items and rejects per entity type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityCounts>,
    /// Its items' profile counts (`shards/….profile.json`), when converted with `--report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_file: Option<String>,
}

/// One item's key in a shard's key file: its hash, where it came from, its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub hash: u64,
    pub source: u32,
    pub row: u64,
    pub key: Vec<u8>,
}

impl KeyRecord {
    /// Appended to `out`: hash, source, row (little-endian), the key's length (u32) and bytes.
    pub fn write(hash: u64, source: u32, row: u64, key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&hash.to_le_bytes());
        out.extend_from_slice(&source.to_le_bytes());
        out.extend_from_slice(&row.to_le_bytes());
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
    }

    /// The next record of `r`; `None` at a clean end, an error inside a record.
    pub fn read(r: &mut impl std::io::Read) -> std::io::Result<Option<KeyRecord>> {
        let mut head = [0u8; 24];
        let mut got = 0;
        while got < head.len() {
            match r.read(&mut head[got..])? {
                0 if got == 0 => return Ok(None),
                0 => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the key file ends inside a record",
                    ))
                }
                n => got += n,
            }
        }
        let word = |a: usize, b: usize| -> u64 {
            let mut w = [0u8; 8];
            w[..b - a].copy_from_slice(&head[a..b]);
            u64::from_le_bytes(w)
        };
        let len = word(20, 24) as usize;
        if len > 1 << 20 {
            return Err(std::io::Error::other(
                "the key file is damaged (a key longer than 1 MiB)",
            ));
        }
        let mut key = vec![0u8; len];
        r.read_exact(&mut key)?;
        Ok(Some(KeyRecord {
            hash: word(0, 8),
            source: word(8, 12) as u32,
            row: word(12, 20),
            key,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_and_names() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("x/2").is_err());
        let s = Shard {
            index: 2,
            count: 12,
        };
        assert_eq!(s.tag(), "shard-00002-of-00012");
        assert!(s.owns("data/part-00002-00000.json.zst"));
        assert!(!s.owns("data/part-00012-00000.json.zst"));
        assert!(s.owns("shards/shard-00002-of-00012.json"));
        assert!(!s.owns("shards/shard-00002-of-00013.json"));
        assert!(!s.owns(crate::model::manifest::MANIFEST_SUMMARY));
    }

    #[test]
    fn key_records_read_back() {
        let mut buf = Vec::new();
        KeyRecord::write(7, 1, 42, b"Sabc", &mut buf);
        KeyRecord::write(u64::MAX, 0, 0, b"", &mut buf);
        let mut r = &buf[..];
        let a = KeyRecord::read(&mut r).unwrap().unwrap();
        assert_eq!(
            (a.hash, a.source, a.row, a.key.as_slice()),
            (7, 1, 42, &b"Sabc"[..])
        );
        let b = KeyRecord::read(&mut r).unwrap().unwrap();
        assert_eq!((b.hash, b.key.len()), (u64::MAX, 0));
        assert!(KeyRecord::read(&mut r).unwrap().is_none());
        // Cut inside the second record's head, and inside the first record's key.
        let mut cut = &buf[..30];
        assert!(KeyRecord::read(&mut cut).unwrap().is_some());
        assert!(KeyRecord::read(&mut cut).is_err());
        let mut cut = &buf[..26];
        assert!(KeyRecord::read(&mut cut).is_err());
    }
}
