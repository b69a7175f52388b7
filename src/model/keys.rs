//! Key schema of the target table: partition/sort key, GSIs, and where they come from
//! (`--key`/`--sort-key`/`--gsi` or a table definition file).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::fmt;
use std::path::Path;

use crate::model::rules;

/// The three types a key attribute can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key attribute; `ty` is `None` until it is taken from the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    pub ty: Option<ScalarType>,
}

impl KeyAttr {
    /// Parse `NAME[:S|N|B]`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (name, ty) = match spec.rsplit_once(':') {
            Some((n, t)) if ScalarType::parse(t).is_some() => (n, ScalarType::parse(t)),
            _ => (spec, None),
        };
        if name.is_empty() {
            bail!("empty key attribute name in {spec:?}");
        }
        if name.len() > rules::MAX_KEY_NAME_BYTES {
            bail!(
                "key attribute name {:?}… is {} bytes; key names may be at most {} bytes ({})",
                &name[..20],
                name.len(),
                rules::MAX_KEY_NAME_BYTES,
                rules::ATTRIBUTE_NAME_TOO_LONG.code
            );
        }
        Ok(KeyAttr {
            name: name.to_string(),
            ty,
        })
    }

    pub fn ty_str(&self) -> &'static str {
        self.ty.map(|t| t.as_str()).unwrap_or("?")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gsi {
    pub name: String,
    pub partition: KeyAttr,
    pub sort: Option<KeyAttr>,
}

impl Gsi {
    /// Parse `INDEX=PK[:T][,SK[:T]]`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (name, keys) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--gsi {spec:?}: expected INDEX=PK[:T][,SK[:T]]"))?;
        check_table_or_index_name(name).with_context(|| format!("--gsi {spec:?}"))?;
        let mut parts = keys.split(',');
        let partition = KeyAttr::parse(parts.next().unwrap_or(""))?;
        let sort = parts.next().map(KeyAttr::parse).transpose()?;
        if parts.next().is_some() {
            bail!("--gsi {spec:?}: an index has at most a partition and a sort key");
        }
        Ok(Gsi {
            name: name.to_string(),
            partition,
            sort,
        })
    }
}

/// Table and index names: 3–255 characters of `[a-zA-Z0-9_.-]`.
pub fn check_table_or_index_name(name: &str) -> Result<()> {
    if name.len() < 3
        || name.len() > 255
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
    {
        bail!(
            "{name:?} is not a valid table or index name (3-255 characters of a-z A-Z 0-9 _ . -)"
        );
    }
    Ok(())
}

/// What a key attribute is to the table: the conversion checks them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    Partition,
    Sort,
    /// Key of one or more GSIs: checked only when present.
    Index,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
    pub table_name: Option<String>,
    pub partition: KeyAttr,
    pub sort: Option<KeyAttr>,
    pub gsis: Vec<Gsi>,
}

impl KeySchema {
    /// Every attribute with a key role, table keys first. A name used by the table key and a GSI
    /// appears once, with the table role (the stricter one).
    pub fn key_attributes(&self) -> Vec<(KeyAttr, KeyRole)> {
        let mut out: Vec<(KeyAttr, KeyRole)> = vec![(self.partition.clone(), KeyRole::Partition)];
        if let Some(s) = &self.sort {
            out.push((s.clone(), KeyRole::Sort));
        }
        for g in &self.gsis {
            for k in std::iter::once(&g.partition).chain(g.sort.as_ref()) {
                if !out.iter().any(|(a, _)| a.name == k.name) {
                    out.push((k.clone(), KeyRole::Index));
                }
            }
        }
        out
    }

    /// Check that one attribute is not declared with two different types.
    pub fn check_consistent(&self) -> Result<()> {
        let mut all: Vec<&KeyAttr> = vec![&self.partition];
        all.extend(self.sort.as_ref());
        for g in &self.gsis {
            all.push(&g.partition);
            all.extend(g.sort.as_ref());
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                if a.name == b.name {
                    if let (Some(x), Some(y)) = (a.ty, b.ty) {
                        if x != y {
                            bail!("attribute {:?} is declared both {x} and {y}", a.name);
                        }
                    }
                }
            }
        }
        if let Some(s) = &self.sort {
            if s.name == self.partition.name {
                bail!("the sort key {:?} is also the partition key", s.name);
            }
        }
        let mut names: Vec<&str> = self.gsis.iter().map(|g| g.name.as_str()).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("GSI {:?} is declared twice", w[0]);
        }
        Ok(())
    }

    /// Give every attribute the same resolved type (after one was taken from the data).
    pub fn set_type(&mut self, name: &str, ty: ScalarType) {
        let mut all: Vec<&mut KeyAttr> = vec![&mut self.partition];
        all.extend(self.sort.as_mut());
        for g in &mut self.gsis {
            all.push(&mut g.partition);
            all.extend(g.sort.as_mut());
        }
        for a in all {
            if a.name == name {
                a.ty = Some(ty);
            }
        }
    }

    /// Read keys and GSIs from an ImportTable `TableCreationParameters` document (bare, or inside
    /// a `--cli-input-json` document) or from `aws dynamodb describe-table` output.
    pub fn from_table_def(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read table definition {}", path.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        Self::from_table_def_value(&doc).with_context(|| {
            format!(
                "{}: expected TableCreationParameters (as in import-table --cli-input-json) or describe-table output",
                path.display()
            )
        })
    }

    pub fn from_table_def_value(doc: &Value) -> Result<Self> {
        let t = doc
            .get("TableCreationParameters")
            .or_else(|| doc.get("Table"))
            .unwrap_or(doc);
        let defs = t
            .get("AttributeDefinitions")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("no AttributeDefinitions"))?;
        let type_of = |name: &str| -> Result<ScalarType> {
            let d = defs
                .iter()
                .find(|d| d.get("AttributeName").and_then(Value::as_str) == Some(name))
                .ok_or_else(|| {
                    anyhow!("key attribute {name:?} has no AttributeDefinitions entry")
                })?;
            let t = d.get("AttributeType").and_then(Value::as_str).unwrap_or("");
            ScalarType::parse(t).ok_or_else(|| anyhow!("attribute {name:?} has type {t:?}"))
        };
        let keys = |ks: &Value| -> Result<(KeyAttr, Option<KeyAttr>)> {
            let ks = ks
                .as_array()
                .ok_or_else(|| anyhow!("KeySchema is not a list"))?;
            let mut hash = None;
            let mut range = None;
            for k in ks {
                let name = k
                    .get("AttributeName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("KeySchema entry without AttributeName"))?;
                let attr = KeyAttr {
                    name: name.to_string(),
                    ty: Some(type_of(name)?),
                };
                match k.get("KeyType").and_then(Value::as_str) {
                    Some("HASH") => hash = Some(attr),
                    Some("RANGE") => range = Some(attr),
                    other => bail!("KeyType {other:?} for {name:?}"),
                }
            }
            Ok((
                hash.ok_or_else(|| anyhow!("KeySchema has no HASH key"))?,
                range,
            ))
        };
        let (partition, sort) = keys(t.get("KeySchema").ok_or_else(|| anyhow!("no KeySchema"))?)?;
        let mut gsis = Vec::new();
        if let Some(list) = t.get("GlobalSecondaryIndexes").and_then(Value::as_array) {
            for g in list {
                let name = g
                    .get("IndexName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("GSI without IndexName"))?;
                let (p, s) = keys(g.get("KeySchema").unwrap_or(&Value::Null))
                    .with_context(|| format!("GSI {name}"))?;
                gsis.push(Gsi {
                    name: name.to_string(),
                    partition: p,
                    sort: s,
                });
            }
        }
        let table_name = t
            .get("TableName")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ks = KeySchema {
            table_name,
            partition,
            sort,
            gsis,
        };
        ks.check_consistent()?;
        Ok(ks)
    }

    /// `TableCreationParameters` for ImportTable. Types must be resolved.
    pub fn table_creation_parameters(&self, table_name: &str) -> Value {
        let mut defs: Vec<Value> = Vec::new();
        for (a, _) in self.key_attributes() {
            defs.push(json!({"AttributeName": a.name, "AttributeType": a.ty_str()}));
        }
        let key_schema = |p: &KeyAttr, s: &Option<KeyAttr>| {
            let mut v = vec![json!({"AttributeName": p.name, "KeyType": "HASH"})];
            if let Some(s) = s {
                v.push(json!({"AttributeName": s.name, "KeyType": "RANGE"}));
            }
            Value::Array(v)
        };
        let mut p = json!({
            "TableName": table_name,
            "AttributeDefinitions": defs,
            "KeySchema": key_schema(&self.partition, &self.sort),
            "BillingMode": "PAY_PER_REQUEST",
        });
        if !self.gsis.is_empty() {
            p["GlobalSecondaryIndexes"] = self
                .gsis
                .iter()
                .map(|g| {
                    json!({
                        "IndexName": g.name,
                        "KeySchema": key_schema(&g.partition, &g.sort),
                        "Projection": {"ProjectionType": "ALL"},
                    })
                })
                .collect();
        }
        p
    }

    /// The key schema as recorded in manifest-summary.json.
    /// The keys as a prep summary records them (`keySchema`, as [`Self::to_manifest`] writes it).
    pub fn from_summary(v: &Value) -> Option<KeySchema> {
        let ks = v.get("keySchema")?;
        let attr = |a: &Value| -> Option<KeyAttr> {
            Some(KeyAttr {
                name: a.get("name")?.as_str()?.to_string(),
                ty: a
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(ScalarType::parse),
            })
        };
        let gsis = ks
            .get("globalSecondaryIndexes")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|g| {
                        Some(Gsi {
                            name: g.get("name")?.as_str()?.to_string(),
                            partition: attr(g.get("partitionKey")?)?,
                            sort: g.get("sortKey").and_then(attr),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(KeySchema {
            table_name: v
                .get("tableName")
                .and_then(Value::as_str)
                .map(str::to_string),
            partition: attr(ks.get("partitionKey")?)?,
            sort: ks.get("sortKey").and_then(attr),
            gsis,
        })
    }

    pub fn to_manifest(&self) -> Value {
        let attr = |a: &KeyAttr| json!({"name": a.name, "type": a.ty_str()});
        json!({
            "partitionKey": attr(&self.partition),
            "sortKey": self.sort.as_ref().map(attr),
            "globalSecondaryIndexes": self.gsis.iter().map(|g| json!({
                "name": g.name,
                "partitionKey": attr(&g.partition),
                "sortKey": g.sort.as_ref().map(attr),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The hash the index is keyed by: fixed-seeded (so runs are reproducible), and several times
/// faster than std's SipHash on short keys; collisions only cost a key comparison.
#[inline]
pub fn key_hash(key: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x5052_4550).build_hasher();
    h.write(key);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_key_specs() {
        assert_eq!(
            KeyAttr::parse("pk:S").unwrap(),
            KeyAttr {
                name: "pk".into(),
                ty: Some(ScalarType::S)
            }
        );
        assert_eq!(KeyAttr::parse("pk").unwrap().ty, None);
        // A colon that is not a type stays in the name.
        assert_eq!(KeyAttr::parse("a:b").unwrap().name, "a:b");
        assert!(KeyAttr::parse("").is_err());
        assert!(KeyAttr::parse(&"x".repeat(256)).is_err());
        let g = Gsi::parse("byEmail=email:S,ts:N").unwrap();
        assert_eq!(g.name, "byEmail");
        assert_eq!(g.partition.name, "email");
        assert_eq!(g.sort.unwrap().ty, Some(ScalarType::N));
        assert!(Gsi::parse("x=a").is_err(), "index name too short");
        assert!(Gsi::parse("noequals").is_err());
        assert!(Gsi::parse("idx=a,b,c").is_err());
    }

    #[test]
    fn table_def_both_shapes() {
        let tcp = json!({"TableCreationParameters": {
            "TableName": "users",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "email", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [{"IndexName": "byEmail",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}]
        }});
        let ks = KeySchema::from_table_def_value(&tcp).unwrap();
        assert_eq!(ks.table_name.as_deref(), Some("users"));
        assert_eq!(ks.sort.as_ref().unwrap().ty, Some(ScalarType::N));
        assert_eq!(ks.gsis[0].partition.name, "email");
        let describe = json!({"Table": tcp["TableCreationParameters"].clone()});
        assert_eq!(KeySchema::from_table_def_value(&describe).unwrap(), ks);
        // And what we write reads back the same.
        let written = ks.table_creation_parameters("users");
        assert_eq!(KeySchema::from_table_def_value(&written).unwrap(), ks);
        let missing = json!({"AttributeDefinitions": [], "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]});
        assert!(KeySchema::from_table_def_value(&missing).is_err());
    }

    #[test]
    fn conflicting_types_rejected() {
        let ks = KeySchema {
            table_name: None,
            partition: KeyAttr::parse("pk:S").unwrap(),
            sort: None,
            gsis: vec![Gsi::parse("idx1=pk:N").unwrap()],
        };
        assert!(ks.check_consistent().is_err());
    }
}
