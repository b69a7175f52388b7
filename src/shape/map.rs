//! `prep convert --map FILE.toml`: several entity types into one table. The file declares the
//! table (name, keys, GSIs, TTL attribute, billing) and one section per entity type with its
//! inputs and how its rows become items (key templates, set, select, drop, rename, TTL, types):
//!
//! ```toml
//! [table]
//! name = "shop"
//! key = "PK:S"
//! sort_key = "SK:S"
//! gsi = ["GSI1=GSI1PK:S,GSI1SK:S"]
//! ttl = "expires"
//!
//! [entity.customer]
//! inputs = ["customers.csv"]
//! key = "CUSTOMER#{id}"
//! sort_key = "PROFILE"
//! set = { type = "Customer", GSI1PK = "EMAIL#{email}", GSI1SK = "CUSTOMER" }
//!
//! [entity.order]
//! inputs = ["orders/*.parquet"]
//! key = "CUSTOMER#{customer_id}"
//! sort_key = "ORDER#{created:%Y-%m-%d}#{order_id:010}"
//! set = { type = "Order", "total:N" = "{total}" }
//! ttl = "created+365d"
//! ```
//!
//! One run writes every entity's items into one output; duplicates are found across entities.

use crate::encoding::target::Target;
use crate::model::keys::{Gsi, KeyAttr, KeySchema};
use crate::model::manifest::Billing;
use crate::shape::{Derived, DerivedValue, Shape};
use anyhow::{anyhow, bail, Context, Result};
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One entity type of a map: its inputs and the shaping of its rows.
#[derive(Clone, Debug)]
pub struct Entity {
    pub name: String,
    pub inputs: Vec<String>,
    pub shape: Shape,
    pub overrides: Vec<(String, Target)>,
}

/// A map file, read.
#[derive(Clone, Debug)]
pub struct TableMap {
    pub keys: KeySchema,
    pub ttl: Option<String>,
    pub billing: Option<Billing>,
    pub entities: Vec<Entity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    table: TableSection,
    #[serde(default)]
    entity: IndexMap<String, EntitySection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSection {
    name: Option<String>,
    key: Option<String>,
    sort_key: Option<String>,
    #[serde(default)]
    gsi: Vec<String>,
    /// A TableCreationParameters or describe-table JSON file (relative to the map file).
    definition: Option<PathBuf>,
    ttl: Option<String>,
    billing_mode: Option<String>,
    read_capacity: Option<u64>,
    write_capacity: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntitySection {
    inputs: Vec<String>,
    key: Option<String>,
    sort_key: Option<String>,
    #[serde(default)]
    set: IndexMap<String, String>,
    select: Option<Vec<String>>,
    #[serde(default)]
    drop: Vec<String>,
    #[serde(default)]
    rename: IndexMap<String, String>,
    ttl: Option<String>,
    #[serde(default)]
    types: IndexMap<String, String>,
}

impl TableMap {
    /// Read and check a map file. Relative input paths and the table definition are taken from
    /// the map file's folder.
    pub fn read(path: &Path) -> Result<TableMap> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the map file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        TableMap::parse(&text, base).map_err(|e| anyhow!("{}: {e:#}", path.display()))
    }

    /// Parse map-file text; `base` is the folder relative paths start from.
    pub fn parse(text: &str, base: &Path) -> Result<TableMap> {
        let f: File = toml::from_str(text).map_err(|e| {
            anyhow!("{}", e.to_string().trim_end()).context(
                "the map file does not parse (see prep convert --help for its sections: [table] with name, key, sort_key, gsi, definition, ttl, billing_mode, read_capacity, write_capacity; [entity.NAME] with inputs, key, sort_key, set, select, drop, rename, ttl, types)",
            )
        })?;
        let t = f.table;
        let mut keys = match (&t.definition, &t.key) {
            (Some(_), Some(_)) => bail!("[table]: give the keys either as key/sort_key or in definition, not both"),
            (Some(d), None) => {
                let p = base.join(d);
                let mut ks = KeySchema::from_table_def(&p)
                    .with_context(|| format!("[table] definition = {:?}", d.display()))?;
                if t.sort_key.is_some() {
                    bail!("[table]: sort_key comes from the definition; leave it out");
                }
                for g in &t.gsi {
                    ks.gsis.push(Gsi::parse(g).with_context(|| format!("[table] gsi {g:?}"))?);
                }
                ks
            }
            (None, Some(k)) => KeySchema {
                table_name: None,
                partition: KeyAttr::parse(k).with_context(|| format!("[table] key = {k:?}"))?,
                sort: t
                    .sort_key
                    .as_deref()
                    .map(|s| KeyAttr::parse(s).with_context(|| format!("[table] sort_key = {s:?}")))
                    .transpose()?,
                gsis: t
                    .gsi
                    .iter()
                    .map(|g| Gsi::parse(g).with_context(|| format!("[table] gsi {g:?}")))
                    .collect::<Result<_>>()?,
                vectors: Default::default(),
            },
            (None, None) => bail!("[table]: name the table's keys: key = \"PK:S\" (and sort_key = \"SK:S\"), or definition = \"table.json\""),
        };
        if let Some(n) = &t.name {
            crate::model::keys::check_table_or_index_name(n)
                .with_context(|| format!("[table] name = {n:?}"))?;
            keys.table_name = Some(n.clone());
        }
        keys.check_consistent()?;
        let billing = match t.billing_mode.as_deref() {
            None => {
                if t.read_capacity.is_some() || t.write_capacity.is_some() {
                    bail!("[table]: read_capacity and write_capacity need billing_mode = \"PROVISIONED\"");
                }
                None
            }
            Some("PAY_PER_REQUEST") => {
                if t.read_capacity.is_some() || t.write_capacity.is_some() {
                    bail!("[table]: read_capacity and write_capacity are for billing_mode = \"PROVISIONED\"");
                }
                Some(Billing { mode: "PAY_PER_REQUEST".into(), read_capacity: None, write_capacity: None })
            }
            Some("PROVISIONED") => match (t.read_capacity, t.write_capacity) {
                (Some(r), Some(w)) if r > 0 && w > 0 => Some(Billing {
                    mode: "PROVISIONED".into(),
                    read_capacity: Some(r),
                    write_capacity: Some(w),
                }),
                _ => bail!("[table]: billing_mode = \"PROVISIONED\" needs read_capacity and write_capacity (at least 1 each)"),
            },
            Some(other) => bail!("[table] billing_mode = {other:?}: write \"PAY_PER_REQUEST\" or \"PROVISIONED\""),
        };
        if f.entity.is_empty() {
            bail!("the map file has no entity: add one section per entity type, e.g. [entity.customer] with inputs = [\"customers.csv\"]");
        }
        let mut entities = Vec::with_capacity(f.entity.len());
        for (name, e) in f.entity {
            let at = format!("[entity.{name}]");
            entities.push(entity(&name, e, &keys, t.ttl.as_deref(), base).with_context(|| at)?);
        }
        Ok(TableMap {
            keys,
            ttl: t.ttl,
            billing,
            entities,
        })
    }
}

/// One entity section as an [`Entity`]: its key templates name the table's key attributes.
fn entity(
    name: &str,
    e: EntitySection,
    keys: &KeySchema,
    ttl: Option<&str>,
    base: &Path,
) -> Result<Entity> {
    if e.inputs.is_empty() {
        bail!("inputs is empty: list the entity's files, folders, globs or s3:// URLs");
    }
    let inputs = e
        .inputs
        .iter()
        .map(|i| {
            if crate::input::s3::is_s3(i) || Path::new(i).is_absolute() {
                i.clone()
            } else {
                base.join(i).to_string_lossy().into_owned()
            }
        })
        .collect();
    let mut key_templates = Vec::new();
    for (what, template, attr) in [
        ("key", &e.key, Some(&keys.partition)),
        ("sort_key", &e.sort_key, keys.sort.as_ref()),
    ] {
        let Some(template) = template else { continue };
        let attr = attr.ok_or_else(|| {
            anyhow!("sort_key: the table has no sort key; declare one in [table] or leave this out")
        })?;
        if attr
            .ty
            .is_some_and(|t| t != crate::model::keys::ScalarType::S)
        {
            bail!(
                "{what} = {template:?}: a key computed from a template is a string, and [table] declares {}:{}",
                attr.name,
                attr.ty.expect("checked")
            );
        }
        key_templates.push(Derived {
            name: attr.name.clone(),
            value: DerivedValue::Template {
                template: crate::shape::template::Template::parse(template)
                    .with_context(|| format!("{what} = {template:?}"))?,
                number: false,
            },
        });
    }
    let sets: Vec<String> = e.set.iter().map(|(n, t)| format!("{n}={t}")).collect();
    let renames: Vec<String> = e.rename.iter().map(|(a, b)| format!("{a}={b}")).collect();
    let ttl_arg = match (&e.ttl, ttl) {
        (Some(_), None) => {
            bail!("ttl: the table declares no TTL attribute; add ttl = \"NAME\" to [table]")
        }
        (Some(source), Some(attr)) => Some(format!("{attr}={source}")),
        (None, Some(attr)) => Some(attr.to_string()),
        (None, None) => None,
    };
    let mut shape = Shape::from_options(
        key_templates,
        &sets,
        e.select,
        e.drop,
        &renames,
        ttl_arg.as_deref(),
    )?;
    // An entity whose items have no TTL attribute never expires: the table's TTL is checked
    // where there is one.
    shape.ttl_optional = e.ttl.is_none();
    let overrides = e
        .types
        .iter()
        .map(|(c, t)| {
            Ok((
                c.clone(),
                Target::parse(t).with_context(|| format!("types.{c}"))?,
            ))
        })
        .collect::<Result<_>>()?;
    Ok(Entity {
        name: name.to_string(),
        inputs,
        shape,
        overrides,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"
[table]
name = "shop"
key = "PK:S"
sort_key = "SK:S"
gsi = ["GSI1=GSI1PK:S,GSI1SK:S", "byPlace=country:S+city:S,year:N+month:N"]
ttl = "expires"
billing_mode = "PROVISIONED"
read_capacity = 5
write_capacity = 10

[entity.customer]
inputs = ["customers.csv"]
key = "CUSTOMER#{id}"
sort_key = "PROFILE"
set = { type = "Customer", GSI1PK = "EMAIL#{email}" }

[entity.order]
inputs = ["orders/*.parquet", "s3://b/x/"]
key = "CUSTOMER#{customer_id}"
sort_key = "ORDER#{order_id:010}"
set = { "total:N" = "{total}" }
rename = { cust = "customer" }
drop = ["note"]
ttl = "created+365d"
types = { zip = "S" }
"#;

    #[test]
    fn reads_a_map() {
        let m = TableMap::parse(SHOP, Path::new("/maps")).unwrap();
        assert_eq!(m.keys.table_name.as_deref(), Some("shop"));
        assert_eq!(m.keys.gsis[1].partition.len(), 2);
        assert_eq!(m.keys.gsis[1].sort[1].name, "month");
        assert_eq!(m.billing.as_ref().unwrap().write_capacity, Some(10));
        let names: Vec<&str> = m.entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["customer", "order"]);
        let c = &m.entities[0];
        assert_eq!(c.inputs, ["/maps/customers.csv"]);
        let derived: Vec<&str> = c.shape.derived.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(derived, ["PK", "SK", "type", "GSI1PK"]);
        assert!(c.shape.ttl_optional);
        let o = &m.entities[1];
        assert_eq!(o.inputs[1], "s3://b/x/");
        assert!(!o.shape.ttl_optional);
        assert_eq!(o.shape.derived.last().unwrap().name, "expires");
        assert_eq!(o.overrides, [("zip".to_string(), Target::S)]);
    }

    #[test]
    fn bad_maps_say_where_and_what_to_write() {
        let cases = [
            ("[table]\nkye = \"PK\"\n", "unknown field `kye`"),
            (
                "[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"x\"]\nkey = \"A#{id\"\n",
                "no closing",
            ),
            (
                "[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"x\"]\nsort_key = \"S\"\n",
                "no sort key",
            ),
            (
                "[table]\nkey = \"PK:N\"\n[entity.a]\ninputs = [\"x\"]\nkey = \"A#{id}\"\n",
                "string",
            ),
            (
                "[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"x\"]\nttl = \"c+1d\"\n",
                "no TTL attribute",
            ),
            ("[table]\nkey = \"PK\"\n", "no entity"),
            (
                "[table]\nkey = \"PK\"\nbilling_mode = \"PROVISIONED\"\n",
                "read_capacity",
            ),
            (
                "[table]\nkey = \"PK\"\nbilling_mode = \"ON_DEMAND\"\n",
                "PAY_PER_REQUEST",
            ),
            ("[table]\n[entity.a]\ninputs = [\"x\"]\n", "key = \"PK:S\""),
            (
                "[table]\nkey = \"PK\"\n[entity.a]\ninputs = []\n",
                "inputs is empty",
            ),
            (
                "[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"x\"]\ntypes = { z = \"Q\" }\n",
                "types.z",
            ),
            ("[table\nkey = 1", "line 1"),
        ];
        for (text, want) in cases {
            let e = format!("{:#}", TableMap::parse(text, Path::new(".")).unwrap_err());
            assert!(e.contains(want), "{text:?}: {want:?} not in {e}");
        }
        let e = format!(
            "{:#}",
            TableMap::parse(
                "[table]\nkey = \"PK\"\n[entity.a]\ninputs = [\"x\"]\nsett = {}\n",
                Path::new(".")
            )
            .unwrap_err()
        );
        assert!(e.contains("line 5") && e.contains("sett"), "{e}");
    }
}
