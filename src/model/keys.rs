//! Key schema of the target table: partition/sort key, GSIs, and where they come from
//! (`--key`/`--sort-key`/`--gsi` or a table definition file).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::fmt;
use std::path::Path;

use crate::model::manifest::{
    AttrRecord, AttributeDefinition, GsiRecord, IndexDefinition, KeyElement, KeysRecord,
    TableDefinition, VectorRecord,
};
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
            // A short upper-case suffix is a type meant, not part of the name (`id:X`, `tags:SS`).
            Some((_, t))
                if !t.is_empty() && t.len() <= 4 && t.bytes().all(|c| c.is_ascii_uppercase()) =>
            {
                bail!("{spec:?}: key type {t:?} is not S, N or B (keys are strings, numbers or binaries)")
            }
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

/// Most attributes one side (partition or sort) of a GSI key may combine.
pub(crate) const MAX_GSI_KEY_ATTRIBUTES: usize = 4;

/// A global secondary index. Its partition key combines 1 to 4 attributes and its sort key 0
/// to 4 (DynamoDB's multi-attribute index keys); most indexes have one of each at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gsi {
    pub name: String,
    pub partition: Vec<KeyAttr>,
    pub sort: Vec<KeyAttr>,
}

impl Gsi {
    /// Parse `INDEX=PK[:T][+PK2[:T]...][,SK[:T][+SK2[:T]...]]`: a comma between the partition
    /// and the sort key, `+` between the attributes of a multi-attribute key.
    pub fn parse(spec: &str) -> Result<Self> {
        let (name, keys) = spec.split_once('=').ok_or_else(|| {
            anyhow!("--gsi {spec:?}: expected INDEX=PK[:T][,SK[:T]] (PK1+PK2,SK1+SK2 for multi-attribute keys)")
        })?;
        check_table_or_index_name(name).with_context(|| format!("--gsi {spec:?}"))?;
        let mut parts = keys.split(',');
        let side = |s: &str| -> Result<Vec<KeyAttr>> { s.split('+').map(KeyAttr::parse).collect() };
        let partition = side(parts.next().unwrap_or(""))?;
        let sort = parts.next().map(side).transpose()?.unwrap_or_default();
        if parts.next().is_some() {
            bail!("--gsi {spec:?}: an index has a partition key and a sort key at most (join the attributes of a multi-attribute key with +)");
        }
        let g = Gsi {
            name: name.to_string(),
            partition,
            sort,
        };
        g.check().with_context(|| format!("--gsi {spec:?}"))?;
        Ok(g)
    }

    /// The index's key attributes: partition key attributes first, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttr> {
        self.partition.iter().chain(&self.sort)
    }

    fn check(&self) -> Result<()> {
        if self.partition.is_empty() {
            bail!("GSI {} has no partition key", self.name);
        }
        for (side, attrs) in [("partition", &self.partition), ("sort", &self.sort)] {
            if attrs.len() > MAX_GSI_KEY_ATTRIBUTES {
                bail!(
                    "GSI {}: its {side} key combines {} attributes; DynamoDB allows at most {MAX_GSI_KEY_ATTRIBUTES}",
                    self.name,
                    attrs.len()
                );
            }
        }
        let names: Vec<&str> = self.attributes().map(|a| a.name.as_str()).collect();
        if let Some((_, n)) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
        {
            bail!(
                "GSI {}: attribute {n:?} appears twice in its key",
                self.name
            );
        }
        Ok(())
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
    /// Vector indexes of a table definition: carried into import-table.json unchanged; prep does
    /// not check vector attributes.
    pub vectors: VectorIndexes,
}

/// Vector indexes as ImportTable takes them (`VectorIndexes`), with the table definition's
/// `AttributeDefinitions` entries of the attributes they name that are no table or GSI key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorIndexes {
    pub indexes: Vec<Value>,
    pub definitions: Vec<Value>,
}

impl VectorIndexes {
    /// Whether the index definitions name `attribute` (as vector or search schema attribute).
    fn names(&self, attribute: &str) -> bool {
        fn walk(v: &Value, attribute: &str) -> bool {
            match v {
                Value::Object(m) => m.iter().any(|(k, v)| {
                    (k == "AttributeName" && v.as_str() == Some(attribute)) || walk(v, attribute)
                }),
                Value::Array(l) => l.iter().any(|v| walk(v, attribute)),
                _ => false,
            }
        }
        self.indexes.iter().any(|v| walk(v, attribute))
    }
}

/// Fields of a vector index in describe-table output that describe its state, not its
/// definition: left out of a request.
const VECTOR_INDEX_STATE: [&str; 5] = [
    "IndexStatus",
    "Backfilling",
    "IndexSizeBytes",
    "ItemCount",
    "IndexArn",
];

impl KeySchema {
    /// Every attribute with a key role, table keys first. A name used by the table key and a GSI
    /// appears once, with the table role (the stricter one).
    pub fn key_attributes(&self) -> Vec<(KeyAttr, KeyRole)> {
        let mut out: Vec<(KeyAttr, KeyRole)> = vec![(self.partition.clone(), KeyRole::Partition)];
        if let Some(s) = &self.sort {
            out.push((s.clone(), KeyRole::Sort));
        }
        for g in &self.gsis {
            for k in g.attributes() {
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
            g.check()?;
            all.extend(g.attributes());
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
            all.extend(g.partition.iter_mut());
            all.extend(g.sort.iter_mut());
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

    /// Keys from a table definition document: bare `TableCreationParameters`, inside an
    /// import-table `--cli-input-json` document, or describe-table output (`Table`).
    pub(crate) fn from_table_def_value(doc: &Value) -> Result<Self> {
        let t = doc
            .get("TableCreationParameters")
            .or_else(|| doc.get("Table"))
            .unwrap_or(doc);
        let def: TableDefinition = serde_json::from_value(t.clone())
            .map_err(|e| anyhow!("not a table definition: {e}"))?;
        Self::from_definition(&def)
    }

    pub(crate) fn from_definition(t: &TableDefinition) -> Result<Self> {
        let defs = &t.attribute_definitions;
        if defs.is_empty() {
            bail!("no AttributeDefinitions");
        }
        let type_of = |name: &str| -> Result<ScalarType> {
            let d = defs
                .iter()
                .find(|d| d.attribute_name == name)
                .ok_or_else(|| {
                    anyhow!("key attribute {name:?} has no AttributeDefinitions entry")
                })?;
            let t = &d.attribute_type;
            ScalarType::parse(t).ok_or_else(|| anyhow!("attribute {name:?} has type {t:?}"))
        };
        // HASH attributes in order, then RANGE attributes in order.
        let keys = |ks: &[KeyElement]| -> Result<(Vec<KeyAttr>, Vec<KeyAttr>)> {
            let mut hash = Vec::new();
            let mut range = Vec::new();
            for k in ks {
                let name = &k.attribute_name;
                let attr = KeyAttr {
                    name: name.to_string(),
                    ty: Some(type_of(name)?),
                };
                match k.key_type.as_str() {
                    "HASH" if range.is_empty() => hash.push(attr),
                    "HASH" => bail!("KeySchema lists HASH {name:?} after a RANGE key; HASH attributes come first"),
                    "RANGE" => range.push(attr),
                    other => bail!("KeyType {other:?} for {name:?}"),
                }
            }
            if hash.is_empty() {
                bail!("KeySchema has no HASH key");
            }
            Ok((hash, range))
        };
        let (mut partition, mut sort) = keys(&t.key_schema)?;
        if partition.len() > 1 || sort.len() > 1 {
            bail!("the table's KeySchema has one HASH and at most one RANGE attribute (several are allowed only in a GSI)");
        }
        let mut gsis = Vec::new();
        for g in &t.global_secondary_indexes {
            let name = &g.index_name;
            let (p, s) = keys(&g.key_schema).with_context(|| format!("GSI {name}"))?;
            gsis.push(Gsi {
                name: name.to_string(),
                partition: p,
                sort: s,
            });
        }
        let indexes: Vec<Value> = t
            .vector_indexes
            .iter()
            .map(|v| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    for f in VECTOR_INDEX_STATE {
                        m.remove(f);
                    }
                }
                v
            })
            .collect();
        let mut ks = KeySchema {
            table_name: Some(t.table_name.clone()).filter(|n| !n.is_empty()),
            partition: partition.remove(0),
            sort: sort.pop(),
            gsis,
            vectors: VectorIndexes {
                indexes,
                definitions: Vec::new(),
            },
        };
        let keys: Vec<String> = ks
            .key_attributes()
            .into_iter()
            .map(|(a, _)| a.name)
            .collect();
        ks.vectors.definitions = defs
            .iter()
            .filter(|d| {
                let n = &d.attribute_name;
                !keys.iter().any(|k| k == n) && ks.vectors.names(n)
            })
            .map(|d| serde_json::to_value(d).expect("serialisable"))
            .collect();
        ks.check_consistent()?;
        Ok(ks)
    }

    /// `TableCreationParameters` for ImportTable, on demand. Types must be resolved.
    pub fn table_creation_parameters(&self, table_name: &str) -> TableDefinition {
        let mut defs: Vec<AttributeDefinition> = self
            .key_attributes()
            .into_iter()
            .map(|(a, _)| AttributeDefinition {
                attribute_type: a.ty_str().to_string(),
                attribute_name: a.name,
            })
            .collect();
        defs.extend(
            self.vectors
                .definitions
                .iter()
                .filter_map(|d| serde_json::from_value(d.clone()).ok()),
        );
        let key_schema = |p: &[KeyAttr], s: &[KeyAttr]| -> Vec<KeyElement> {
            let side = |l: &[KeyAttr], t: &str| {
                l.iter()
                    .map(|a| KeyElement {
                        attribute_name: a.name.clone(),
                        key_type: t.to_string(),
                    })
                    .collect::<Vec<_>>()
            };
            let mut out = side(p, "HASH");
            out.extend(side(s, "RANGE"));
            out
        };
        TableDefinition {
            table_name: table_name.to_string(),
            attribute_definitions: defs,
            key_schema: key_schema(std::slice::from_ref(&self.partition), self.sort.as_slice()),
            billing_mode: Some("PAY_PER_REQUEST".into()),
            global_secondary_indexes: self
                .gsis
                .iter()
                .map(|g| IndexDefinition {
                    index_name: g.name.clone(),
                    key_schema: key_schema(&g.partition, &g.sort),
                    projection: Some(json!({"ProjectionType": "ALL"})),
                    provisioned_throughput: None,
                })
                .collect(),
            vector_indexes: self.vectors.indexes.clone(),
            provisioned_throughput: None,
            sse_specification: None,
        }
    }

    /// The keys as a prep summary or shard report records them (as [`Self::to_manifest`]
    /// writes them), with the summary's table name.
    pub fn from_manifest(ks: &KeysRecord, table_name: Option<&str>) -> Option<KeySchema> {
        let attr = |a: &AttrRecord| KeyAttr {
            name: a.name.clone(),
            ty: a.ty.as_deref().and_then(ScalarType::parse),
        };
        let side = |many: &[AttrRecord], one: &Option<AttrRecord>| -> Vec<KeyAttr> {
            match many.is_empty() {
                false => many.iter().map(attr).collect(),
                true => one.iter().map(attr).collect(),
            }
        };
        let gsis = ks
            .global_secondary_indexes
            .iter()
            .filter_map(|g| {
                let partition = side(&g.partition_keys, &g.partition_key);
                (!partition.is_empty()).then(|| Gsi {
                    name: g.name.clone(),
                    partition,
                    sort: side(&g.sort_keys, &g.sort_key),
                })
            })
            .collect();
        let vectors = ks.vector_indexes.clone().unwrap_or_default();
        Some(KeySchema {
            table_name: table_name.map(str::to_string),
            partition: attr(&ks.partition_key),
            sort: ks.sort_key.as_ref().map(attr),
            gsis,
            vectors: VectorIndexes {
                indexes: vectors.indexes,
                definitions: vectors.attribute_definitions,
            },
        })
    }

    /// The keys as manifest-summary.json, shard reports and `--json` record them.
    pub fn to_manifest(&self) -> KeysRecord {
        let attr = |a: &KeyAttr| AttrRecord {
            name: a.name.clone(),
            ty: Some(a.ty_str().to_string()),
        };
        let many = |l: &[KeyAttr]| match l.len() {
            0 | 1 => Vec::new(),
            _ => l.iter().map(attr).collect(),
        };
        KeysRecord {
            partition_key: attr(&self.partition),
            sort_key: self.sort.as_ref().map(attr),
            global_secondary_indexes: self
                .gsis
                .iter()
                .map(|g| GsiRecord {
                    name: g.name.clone(),
                    partition_key: g.partition.first().map(attr),
                    sort_key: g.sort.first().map(attr),
                    partition_keys: many(&g.partition),
                    sort_keys: many(&g.sort),
                })
                .collect(),
            vector_indexes: (!self.vectors.indexes.is_empty()).then(|| VectorRecord {
                indexes: self.vectors.indexes.clone(),
                attribute_definitions: self.vectors.definitions.clone(),
            }),
        }
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
        assert_eq!(KeyAttr::parse("ts:2024").unwrap().name, "ts:2024");
        // A type that is not S, N or B is said so (it was taken for a column name).
        for bad in ["user_id:X", "tags:SS", "flag:BOOL", "id:Q"] {
            let e = KeyAttr::parse(bad).unwrap_err().to_string();
            assert!(e.contains("is not S, N or B"), "{bad}: {e}");
        }
        assert!(KeyAttr::parse("").is_err());
        assert!(KeyAttr::parse(&"x".repeat(256)).is_err());
        let g = Gsi::parse("byEmail=email:S,ts:N").unwrap();
        assert_eq!(g.name, "byEmail");
        assert_eq!(g.partition[0].name, "email");
        assert_eq!(g.sort.len(), 1);
        assert_eq!(g.sort[0].ty, Some(ScalarType::N));
        assert!(Gsi::parse("byEmail=email").unwrap().sort.is_empty());
        assert!(Gsi::parse("x=a").is_err(), "index name too short");
        assert!(Gsi::parse("noequals").is_err());
        assert!(Gsi::parse("idx=a,b,c").is_err());
        // Multi-attribute keys: up to four attributes a side, joined by +.
        let m = Gsi::parse("byPlace=country:S+region:S+city:S+zip:N,year:N+day:S").unwrap();
        let names = |v: &[KeyAttr]| v.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&m.partition), ["country", "region", "city", "zip"]);
        assert_eq!(names(&m.sort), ["year", "day"]);
        assert_eq!(m.partition[3].ty, Some(ScalarType::N));
        assert!(
            Gsi::parse("idx=a+b+c+d+e").is_err(),
            "five partition attributes"
        );
        assert!(
            Gsi::parse("idx=a,b+c+d+e+f").is_err(),
            "five sort attributes"
        );
        assert!(Gsi::parse("idx=a+a").is_err(), "an attribute twice");
        assert!(Gsi::parse("idx=a,a").is_err(), "an attribute on both sides");
        assert!(Gsi::parse("idx=a+,b").is_err(), "an empty attribute name");
        assert!(Gsi::parse("idx=,b").is_err(), "no partition key");
    }

    #[test]
    fn multi_attribute_gsi_keys_in_table_defs_and_manifests() {
        let tcp = json!({"TableCreationParameters": {
            "TableName": "orders",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "country", "AttributeType": "S"},
                {"AttributeName": "city", "AttributeType": "S"},
                {"AttributeName": "year", "AttributeType": "N"},
                {"AttributeName": "month", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [{"IndexName": "byPlace",
                "KeySchema": [
                    {"AttributeName": "country", "KeyType": "HASH"},
                    {"AttributeName": "city", "KeyType": "HASH"},
                    {"AttributeName": "year", "KeyType": "RANGE"},
                    {"AttributeName": "month", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}]
        }});
        let ks = KeySchema::from_table_def_value(&tcp).unwrap();
        let g = &ks.gsis[0];
        assert_eq!(g.partition.len(), 2);
        assert_eq!(g.sort.len(), 2);
        assert_eq!(g.sort[1].ty, Some(ScalarType::N));
        // Every attribute is typed and checked.
        let names: Vec<String> = ks
            .key_attributes()
            .into_iter()
            .map(|(a, _)| a.name)
            .collect();
        assert_eq!(names, ["pk", "country", "city", "year", "month"]);
        // What we write (import-table.json, manifest) reads back the same, in order.
        let written = serde_json::to_value(ks.table_creation_parameters("orders")).unwrap();
        assert_eq!(
            written["GlobalSecondaryIndexes"][0]["KeySchema"],
            tcp["TableCreationParameters"]["GlobalSecondaryIndexes"][0]["KeySchema"]
        );
        assert_eq!(written["AttributeDefinitions"].as_array().unwrap().len(), 5);
        assert_eq!(KeySchema::from_table_def_value(&written).unwrap(), ks);
        let summary = json!({"keySchema": ks.to_manifest(), "tableName": "orders"});
        let summary: crate::model::manifest::Summary = serde_json::from_value(summary).unwrap();
        let read =
            KeySchema::from_manifest(&summary.key_schema.unwrap(), summary.table_name.as_deref());
        assert_eq!(read.unwrap(), ks);
        // A summary written before multi-attribute keys reads as before.
        let old = json!({"keySchema": {"partitionKey": {"name": "pk", "type": "S"}, "sortKey": null,
            "globalSecondaryIndexes": [{"name": "byEmail", "partitionKey": {"name": "email", "type": "S"}, "sortKey": null}]}});
        let old: KeysRecord = serde_json::from_value(old["keySchema"].clone()).unwrap();
        let old = KeySchema::from_manifest(&old, None).unwrap();
        assert_eq!(old.gsis[0].partition[0].name, "email");
        assert!(old.gsis[0].sort.is_empty());
        // The table itself has one HASH and at most one RANGE attribute; HASH comes first.
        let mut two = tcp.clone();
        two["TableCreationParameters"]["KeySchema"] = json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "city", "KeyType": "HASH"}]);
        assert!(KeySchema::from_table_def_value(&two).is_err());
        let mut late = tcp.clone();
        late["TableCreationParameters"]["GlobalSecondaryIndexes"][0]["KeySchema"] = json!([
            {"AttributeName": "year", "KeyType": "RANGE"},
            {"AttributeName": "country", "KeyType": "HASH"}]);
        assert!(KeySchema::from_table_def_value(&late).is_err());
    }

    #[test]
    fn vector_indexes_are_carried_unchanged() {
        let index = json!({"IndexName": "byEmbedding",
            "VectorAttribute": {"AttributeName": "embedding"},
            "SearchSchema": [{"AttributeName": "tenant", "SearchSchemaElementType": "PARTITION_KEY"}],
            "Projection": {"ProjectionType": "ALL"},
            "Dimensions": 384, "DistanceFunction": "COSINE"});
        let mut described = index.clone();
        described["IndexStatus"] = json!("ACTIVE");
        described["ItemCount"] = json!(12);
        described["IndexArn"] = json!("arn:aws:dynamodb:us-east-1:1:table/t/index/byEmbedding");
        let table = json!({"Table": {
            "TableName": "docs",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "tenant", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "VectorIndexes": [described]}});
        let ks = KeySchema::from_table_def_value(&table).unwrap();
        assert_eq!(
            ks.vectors.indexes,
            std::slice::from_ref(&index),
            "the state fields are left out"
        );
        let written = serde_json::to_value(ks.table_creation_parameters("docs")).unwrap();
        assert_eq!(written["VectorIndexes"], json!([index]));
        assert_eq!(
            written["AttributeDefinitions"], table["Table"]["AttributeDefinitions"],
            "the search schema's attribute keeps its definition"
        );
        assert_eq!(
            KeySchema::from_manifest(&ks.to_manifest(), None)
                .unwrap()
                .vectors,
            ks.vectors
        );
        // No vector index: nothing written.
        let plain = KeySchema::from_table_def_value(&json!({
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}))
        .unwrap();
        let written = serde_json::to_value(plain.table_creation_parameters("t")).unwrap();
        assert!(written.get("VectorIndexes").is_none());
        let manifest = serde_json::to_value(plain.to_manifest()).unwrap();
        assert!(manifest.get("vectorIndexes").is_none());
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
        assert_eq!(ks.gsis[0].partition[0].name, "email");
        let describe = json!({"Table": tcp["TableCreationParameters"].clone()});
        assert_eq!(KeySchema::from_table_def_value(&describe).unwrap(), ks);
        // And what we write reads back the same.
        let written = serde_json::to_value(ks.table_creation_parameters("users")).unwrap();
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
            vectors: VectorIndexes::default(),
        };
        assert!(ks.check_consistent().is_err());
    }
}
