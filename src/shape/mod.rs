//! Shaping: what the table's design asks of each row before it is encoded. Computed keys and
//! attributes (`--key PK=CUSTOMER#{id}`, `--set`, `--ttl NAME=COLUMN+90d`), and which source
//! columns become attributes under which names (`--select`, `--drop`, `--rename`), become
//! ordinary Arrow columns of the batch, so the column plan, the encoders and every rule (key
//! types and sizes, numbers, duplicates) apply to them unchanged. One step for the CLI, the
//! Python module and Spark.

pub mod map;
#[doc(hidden)]
pub mod template;
#[doc(hidden)]
pub mod time;
pub(crate) mod ttl;

use crate::model::keys::{KeyAttr, KeySchema, ScalarType};
use crate::model::rules::{self, Rule};
use anyhow::{anyhow, bail, Result};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;
use template::{Bound, Format, Template};

/// An attribute computed for every row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    pub name: String,
    pub value: DerivedValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DerivedValue {
    /// Text from a template; `number`: written as N (the text must be a DynamoDB number).
    Template { template: Template, number: bool },
    /// Epoch seconds from a time column, plus an offset in seconds.
    Ttl {
        column: String,
        unit: ttl::EpochUnit,
        offset: i64,
    },
}

/// What the user asked the rows to become. Empty: the columns as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub derived: Vec<Derived>,
    /// Only these source columns become attributes (computed ones always do).
    pub select: Option<Vec<String>>,
    /// These source columns do not become attributes.
    pub drop: Vec<String>,
    /// Source column → attribute name.
    pub rename: Vec<(String, String)>,
    /// The table's TTL attribute, whose values are checked (computed by a `--ttl NAME=…` or
    /// declared with `--ttl NAME`).
    pub ttl: Option<String>,
    /// Items without the TTL attribute are fine (an entity type of a map that never expires);
    /// otherwise a declared TTL attribute the items lack is an error.
    pub ttl_optional: bool,
}

impl Shape {
    pub fn is_empty(&self) -> bool {
        *self == Shape::default()
    }

    /// `NAME=TEMPLATE` (S) or `NAME:N=TEMPLATE` / `NAME:S=TEMPLATE` (`--set`).
    pub(crate) fn parse_set(s: &str) -> Result<Derived> {
        let (lhs, text) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--set {s:?}: expected NAME=TEMPLATE or NAME:N=TEMPLATE, e.g. --set type=Order or --set GSI1PK=EMAIL#{{email}}"))?;
        let (name, number) = match lhs.rsplit_once(':') {
            Some((n, t)) if t.eq_ignore_ascii_case("N") => (n, true),
            Some((n, t)) if t.eq_ignore_ascii_case("S") => (n, false),
            Some((_, t)) => bail!("--set {s:?}: {t:?} is not S or N; a computed attribute is text (NAME=…) or a number (NAME:N=…)"),
            None => (lhs, false),
        };
        check_attribute_name(name, s)?;
        Ok(Derived {
            name: name.to_string(),
            value: DerivedValue::Template {
                template: Template::parse(text)?,
                number,
            },
        })
    }

    /// A key given as `NAME=TEMPLATE` (`--key`, `--sort-key`): its computed attribute (type S),
    /// or `None` for a plain `NAME[:T]`.
    pub fn parse_key_template(s: &str) -> Result<Option<Derived>> {
        let Some((name, text)) = s.split_once('=') else {
            return Ok(None);
        };
        if name.contains(':') {
            bail!("key {s:?}: a key computed from a template is a string (type S); write NAME=TEMPLATE, e.g. PK=CUSTOMER#{{id}}");
        }
        check_attribute_name(name, s)?;
        Ok(Some(Derived {
            name: name.to_string(),
            value: DerivedValue::Template {
                template: Template::parse(text)?,
                number: false,
            },
        }))
    }

    /// `--ttl NAME` (declare) or `--ttl NAME=COLUMN[:UNIT][+DURATION]` (compute): the TTL
    /// attribute's name, and what computes it.
    pub(crate) fn parse_ttl(s: &str) -> Result<(String, Option<Derived>)> {
        let Some((name, rest)) = s.split_once('=') else {
            check_attribute_name(s, s)?;
            return Ok((s.to_string(), None));
        };
        check_attribute_name(name, s)?;
        // The offset follows the last + or -; a - whose tail is no duration belongs to the
        // column's name (`created-at`).
        let (source, offset) = match rest.rfind(['+', '-']) {
            Some(k) if k > 0 => match (time::parse_duration(&rest[k + 1..]), &rest[k..k + 1]) {
                (Ok(d), "-") => (&rest[..k], -d),
                (Ok(d), _) => (&rest[..k], d),
                (Err(_), "-") => (rest, 0),
                (Err(e), _) => bail!("--ttl {s:?}: {e}"),
            },
            _ => (rest, 0),
        };
        let (column, unit) = match source.rsplit_once(':') {
            Some((c, u)) => (
                c,
                ttl::EpochUnit::parse(u).ok_or_else(|| {
                    anyhow!("--ttl {s:?}: unit {u:?} is not s, ms, us or ns (the unit of an epoch-number column)")
                })?,
            ),
            None => (source, ttl::EpochUnit::Seconds),
        };
        if column.is_empty() {
            bail!("--ttl {s:?}: name the column to compute from: --ttl NAME=COLUMN[+DURATION], e.g. --ttl expires=created_at+90d");
        }
        Ok((
            name.to_string(),
            Some(Derived {
                name: name.to_string(),
                value: DerivedValue::Ttl {
                    column: column.to_string(),
                    unit,
                    offset,
                },
            }),
        ))
    }

    /// The key attribute of `--key` / `--sort-key`: `NAME[:S|N|B]`, or `NAME=TEMPLATE` (type S),
    /// with the attribute it computes.
    pub fn parse_key(spec: &str) -> Result<(KeyAttr, Option<Derived>)> {
        match Shape::parse_key_template(spec)? {
            Some(d) => Ok((
                KeyAttr {
                    name: d.name.clone(),
                    ty: Some(ScalarType::S),
                },
                Some(d),
            )),
            None => Ok((KeyAttr::parse(spec)?, None)),
        }
    }

    /// The shaping of a conversion from its options as the CLI (and the Python module) take
    /// them: the key templates first, then each `NAME[:N]=TEMPLATE` of `sets` in order, then
    /// the TTL (`NAME`, or `NAME=COLUMN[:UNIT][+DURATION]`).
    pub fn from_options(
        key_templates: Vec<Derived>,
        sets: &[String],
        select: Option<Vec<String>>,
        drop: Vec<String>,
        rename: &[String],
        ttl: Option<&str>,
    ) -> Result<Shape> {
        let mut derived = key_templates;
        for s in sets {
            derived.push(Shape::parse_set(s)?);
        }
        let ttl = match ttl {
            Some(t) => {
                let (name, computed) = Shape::parse_ttl(t)?;
                derived.extend(computed);
                Some(name)
            }
            None => None,
        };
        Ok(Shape {
            derived,
            select,
            drop,
            rename: rename
                .iter()
                .map(|r| Shape::parse_rename(r))
                .collect::<Result<_>>()?,
            ttl,
            ttl_optional: false,
        })
    }

    /// The source columns a computed attribute reads (the top-level column of a struct path),
    /// for callers that must keep rows of one key together (Spark's repartition).
    pub fn source_columns(&self, attribute: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in self.derived.iter().filter(|d| d.name == attribute) {
            match &d.value {
                DerivedValue::Template { template, .. } => {
                    for p in template.placeholders() {
                        let top = p.path.split('.').next().unwrap_or(&p.path).to_string();
                        if !out.contains(&top) {
                            out.push(top);
                        }
                    }
                }
                DerivedValue::Ttl { column, .. } => out.push(column.clone()),
            }
        }
        out
    }

    /// `OLD=NEW` (`--rename`).
    pub(crate) fn parse_rename(s: &str) -> Result<(String, String)> {
        match s.split_once('=') {
            Some((a, b)) if !a.is_empty() && !b.is_empty() => {
                check_attribute_name(b, s)?;
                Ok((a.to_string(), b.to_string()))
            }
            _ => bail!("--rename {s:?}: expected OLD=NEW, e.g. --rename cust_id=customerId"),
        }
    }
}

fn check_attribute_name(name: &str, arg: &str) -> Result<()> {
    if name.is_empty() {
        bail!(
            "{arg:?}: the attribute name is empty ({})",
            rules::ATTRIBUTE_NAME_EMPTY.code
        );
    }
    if name.len() > rules::MAX_ATTRIBUTE_NAME_BYTES {
        bail!(
            "{arg:?}: the attribute name is longer than 65,535 bytes ({})",
            rules::ATTRIBUTE_NAME_TOO_LONG.code
        );
    }
    Ok(())
}

/// Up to three names of `names` close to `wanted`, for "did you mean" messages.
pub(crate) fn closest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = names
        .into_iter()
        .map(|n| {
            let a = wanted.to_lowercase();
            let b = n.to_lowercase();
            let s = if a == b {
                1.0
            } else {
                strsim::jaro_winkler(&a, &b)
            };
            (s, n)
        })
        .filter(|(s, _)| *s >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// "column x is not in the input (did you mean …?; columns: …)".
fn not_a_column(what: &str, wanted: &str, schema: &Schema) -> anyhow::Error {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let near = closest(wanted, names.iter().copied());
    let hint = if near.is_empty() {
        String::new()
    } else {
        format!(
            "did you mean {}? ",
            near.iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    };
    let mut listing = names
        .iter()
        .take(30)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 30 {
        listing.push_str(", …");
    }
    anyhow!("{what} names column {wanted:?}, which the input does not have ({hint}columns: {listing}; names are case-sensitive)")
}

/// Where an output column comes from.
#[derive(Clone, Debug)]
enum Source {
    Column(usize),
    Derived(usize),
}

#[derive(Clone, Debug)]
enum Compiled {
    Template {
        bound: Bound,
        number: bool,
        arg: String,
    },
    Ttl {
        column: usize,
        unit: ttl::EpochUnit,
        offset: i64,
    },
}

/// A row that shaping rejects: its index in the batch, the rule and what to say.
#[derive(Clone, Debug)]
pub struct RowProblem {
    pub index: usize,
    pub rule: &'static Rule,
    pub message: String,
}

/// A [`Shape`] bound to the inputs' schema: checked once before any row is read, then applied
/// to every batch.
#[derive(Clone, Debug)]
pub struct Shaper {
    outputs: Vec<Source>,
    derived: Vec<(String, Compiled)>,
    schema: SchemaRef,
    /// The output column of the TTL attribute to check, and whether its text is read as N.
    ttl_check: Option<(usize, bool)>,
    /// The TTL attribute to check is a field of JSON documents (MongoDB's, when true).
    ttl_json: Option<bool>,
    /// Source columns of JSON cells that templates and TTLs read (MongoDB's, when true): they
    /// read the cells' text.
    json_inputs: Vec<(usize, bool)>,
    /// Computed attributes written as N: the plan's `--type NAME=N` for them.
    pub number_attributes: Vec<String>,
    /// Things the design may get wrong but that convert (M003: an unpadded integer in a sort key).
    pub warnings: Vec<String>,
}

impl Shaper {
    /// Check `shape` against `schema` (the inputs' columns): every column it names exists, every
    /// placeholder's column can take its format, no two attributes end up with one name.
    /// `numeric(column)`: whether a source column is written as N (for text columns: CSV
    /// inference or `--type`); `keys`: for the sort-key padding warning.
    pub fn new(
        shape: &Shape,
        schema: &Schema,
        keys: &KeySchema,
        numeric: &dyn Fn(&str) -> bool,
    ) -> Result<Shaper> {
        let has = |c: &str| schema.index_of(c).is_ok();
        for c in shape.select.iter().flatten() {
            if !has(c) {
                return Err(not_a_column("--select", c, schema));
            }
        }
        for c in &shape.drop {
            if !has(c) {
                return Err(not_a_column("--drop", c, schema));
            }
        }
        if shape.select.is_some() && !shape.drop.is_empty() {
            bail!("--select and --drop together: list only the columns to keep with --select");
        }
        let kept = |c: &str| {
            shape
                .select
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == c))
                && !shape.drop.iter().any(|x| x == c)
        };
        for (old, _) in &shape.rename {
            if !has(old) {
                return Err(not_a_column("--rename", old, schema));
            }
            if !kept(old) {
                bail!("--rename {old}=…: column {old:?} is left out by --select/--drop; keep it, or drop the rename");
            }
            if shape.rename.iter().filter(|(o, _)| o == old).count() > 1 {
                bail!("--rename names column {old:?} twice; give each column one new name");
            }
        }
        // The source columns that stay, under their attribute names.
        let mut names: Vec<(String, Source, Option<String>)> = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if !kept(f.name()) {
                continue;
            }
            let renamed = shape.rename.iter().find(|(o, _)| o == f.name());
            let name = renamed.map_or_else(|| f.name().clone(), |(_, n)| n.clone());
            names.push((name, Source::Column(i), renamed.map(|(o, _)| o.clone())));
        }
        for (a, b) in names.iter().enumerate() {
            if let Some(c) = names[..a].iter().find(|c| c.0 == b.0) {
                let from = |x: &(String, Source, Option<String>)| match &x.2 {
                    Some(old) => format!("--rename {old}={}", x.0),
                    None => format!("column {:?}", x.0),
                };
                bail!(
                    "{} and {} both make attribute {:?}; rename one of them to another name (or --drop one)",
                    from(c),
                    from(b),
                    b.0
                );
            }
        }
        let mut derived = Vec::new();
        let mut number_attributes = Vec::new();
        for (k, d) in shape.derived.iter().enumerate() {
            if shape.derived[..k].iter().any(|e| e.name == d.name) {
                bail!("attribute {:?} is computed twice (by --key, --sort-key, --set or --ttl); compute it once", d.name);
            }
            // A computed attribute replaces a source column of its name, but not a rename's
            // target: that is two ways to write one attribute.
            if let Some(old) = names
                .iter()
                .find_map(|n| (n.0 == d.name).then_some(n.2.as_ref()).flatten())
            {
                bail!(
                    "--rename {old}={} and a computed attribute {:?} both make attribute {:?}; choose another name for one of them",
                    d.name, d.name, d.name
                );
            }
            let compiled = match &d.value {
                DerivedValue::Template { template, number } => {
                    let arg = format!("{}={}", d.name, template.text);
                    let mut columns = Vec::new();
                    for p in template.placeholders() {
                        let r = template::resolve(schema, &p.path).ok_or_else(|| {
                            not_a_column(&format!("template {arg:?}"), &p.path, schema)
                        })?;
                        template::check_type(&r.data_type, &p.format)
                            .map_err(|e| anyhow!("template {arg:?}: {{{}}}: {e}", p.path))?;
                        columns.push(r);
                    }
                    if *number {
                        number_attributes.push(d.name.clone());
                    }
                    Compiled::Template {
                        bound: Bound {
                            template: template.clone(),
                            columns,
                        },
                        number: *number,
                        arg,
                    }
                }
                DerivedValue::Ttl {
                    column,
                    unit,
                    offset,
                } => {
                    let i = schema
                        .index_of(column)
                        .map_err(|_| not_a_column(&format!("--ttl {}", d.name), column, schema))?;
                    ttl::check_source_type(schema.field(i).data_type())
                        .map_err(|e| anyhow!("--ttl {}={column}: {e}", d.name))?;
                    Compiled::Ttl {
                        column: i,
                        unit: *unit,
                        offset: *offset,
                    }
                }
            };
            match names.iter_mut().find(|n| n.0 == d.name) {
                Some(n) => n.1 = Source::Derived(derived.len()),
                None => names.push((d.name.clone(), Source::Derived(derived.len()), None)),
            }
            derived.push((d.name.clone(), compiled));
        }
        let mut fields = Vec::with_capacity(names.len());
        for (name, src, _) in &names {
            fields.push(match src {
                Source::Column(i) => {
                    let f = schema.field(*i);
                    Field::new(name, f.data_type().clone(), f.is_nullable())
                        .with_metadata(f.metadata().clone())
                }
                Source::Derived(k) => match &derived[*k].1 {
                    Compiled::Template { .. } => Field::new(name, DataType::Utf8, true),
                    Compiled::Ttl { .. } => Field::new(name, DataType::Int64, true),
                },
            });
        }
        let out_schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        let ttl_check = match &shape.ttl {
            None => None,
            Some(t) => match names.iter().position(|n| &n.0 == t) {
                // A computed TTL is checked as it is computed.
                Some(k) if matches!(names[k].1, Source::Derived(_)) => None,
                Some(k) => {
                    let Source::Column(i) = names[k].1 else { unreachable!() };
                    Some((k, numeric(schema.field(i).name()) || numeric(t)))
                }
                None if shape.ttl_optional => None,
                None => bail!(
                    "--ttl {t}: the items have no attribute {t:?}; name an attribute, or compute it with --ttl {t}=COLUMN[+DURATION]"
                ),
            },
        };
        let warnings = unpadded_sort_keys(keys, &derived, schema, numeric);
        let json_cell = |i: usize| {
            crate::encoding::json_values::cell_of(schema.field(i))
                .filter(|(c, _)| *c == crate::encoding::json_values::Cell::Value)
                .map(|(_, mongo)| mongo)
        };
        let ttl_json = ttl_check.and_then(|(k, _)| match names[k].1 {
            Source::Column(i) => json_cell(i),
            Source::Derived(_) => None,
        });
        let mut json_inputs: Vec<(usize, bool)> = Vec::new();
        for (_, c) in &derived {
            let used: Vec<usize> = match c {
                Compiled::Template { bound, .. } => {
                    bound.columns.iter().map(|r| r.indexes[0]).collect()
                }
                Compiled::Ttl { column, .. } => vec![*column],
            };
            for i in used {
                if let Some(mongo) = json_cell(i) {
                    if !json_inputs.iter().any(|(j, _)| *j == i) {
                        json_inputs.push((i, mongo));
                    }
                }
            }
        }
        Ok(Shaper {
            outputs: names.into_iter().map(|n| n.1).collect(),
            derived,
            schema: out_schema,
            ttl_check,
            ttl_json,
            json_inputs,
            number_attributes,
            warnings,
        })
    }

    /// The columns shaped batches have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The source column an output column passes on, if it is one (for per-column settings such
    /// as CSV inference).
    pub fn source_of(&self, output: usize) -> Option<usize> {
        match self.outputs[output] {
            Source::Column(i) => Some(i),
            Source::Derived(_) => None,
        }
    }

    /// Shape one batch: the new batch, and the rows to reject (a row appears once, with its
    /// first problem; its computed values are null and it is not to be written).
    pub fn apply(&self, batch: &RecordBatch) -> Result<(RecordBatch, Vec<RowProblem>)> {
        let mut problems: Vec<RowProblem> = Vec::new();
        let read = self.json_as_text(batch)?;
        let read = read.as_ref().unwrap_or(batch);
        let mut computed: Vec<ArrayRef> = Vec::with_capacity(self.derived.len());
        for (name, c) in &self.derived {
            match c {
                Compiled::Template { bound, number, arg } => {
                    let template::Rendered {
                        values,
                        ends,
                        misses,
                    } = bound.render(read);
                    let mut valid = vec![true; ends.len()];
                    for (i, path, miss) in misses {
                        valid[i] = false;
                        let what = if *number { "number" } else { "text" };
                        let message = match &miss {
                            template::Miss::Null => format!("{name}: column {path:?} is null, so {arg:?} has no {what} for this row"),
                            template::Miss::Empty => format!("{name}: column {path:?} is empty, so {arg:?} has no {what} for this row"),
                            template::Miss::Bad(why) => format!("{name}: {{{path}}} in {arg:?}: {why}"),
                        };
                        problems.push(RowProblem {
                            index: i,
                            rule: miss.rule(),
                            message,
                        });
                    }
                    computed.push(Arc::new(text_array(values, &ends, valid)?));
                }
                Compiled::Ttl {
                    column,
                    unit,
                    offset,
                } => {
                    let (a, p) = ttl::compute(read.column(*column), *unit, *offset);
                    for (i, rule, m) in p {
                        problems.push(RowProblem {
                            index: i,
                            rule,
                            message: format!("{name} (TTL): {m}"),
                        });
                    }
                    computed.push(Arc::new(a));
                }
            }
        }
        let columns: Vec<ArrayRef> = self
            .outputs
            .iter()
            .map(|s| match s {
                Source::Column(i) => batch.column(*i).clone(),
                Source::Derived(k) => computed[*k].clone(),
            })
            .collect();
        if let Some((k, numeric_text)) = self.ttl_check {
            let name = self.schema.field(k).name();
            let found = match self.ttl_json {
                Some(mongo) => ttl::check_json_column(&columns[k], mongo),
                None => ttl::check_column(&columns[k], numeric_text),
            };
            for (i, rule, m) in found {
                problems.push(RowProblem {
                    index: i,
                    rule,
                    message: format!("{name} (TTL): {m}"),
                });
            }
        }
        problems.sort_by_key(|p| p.index);
        problems.dedup_by_key(|p| p.index);
        // A reader may hand over another layout of a column's type than its schema says
        // (Parquet's text as Utf8View): each batch's schema follows its own columns.
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| {
                if f.data_type() == c.data_type() {
                    f.as_ref().clone()
                } else {
                    f.as_ref().clone().with_data_type(c.data_type().clone())
                }
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            self.schema.metadata().clone(),
        ));
        let shaped = RecordBatch::try_new_with_options(
            schema,
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?;
        Ok((shaped, problems))
    }
}

impl Shaper {
    /// `batch` with the columns of JSON cells that templates and TTLs read made plain text (a
    /// string's text, a number's, a MongoDB date's RFC 3339), or `None` when it has none.
    fn json_as_text(&self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        if self.json_inputs.is_empty() {
            return Ok(None);
        }
        let mut columns = batch.columns().to_vec();
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for &(i, mongo) in &self.json_inputs {
            let text = crate::encoding::json_values::text_view(columns[i].as_ref(), mongo)
                .map_err(|e| anyhow!("column {:?}: {e}", fields[i].name()))?;
            columns[i] = Arc::new(text);
            fields[i] = Field::new(fields[i].name(), DataType::Utf8, true);
        }
        Ok(Some(RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?))
    }
}

/// A Utf8 column from concatenated values and their ends; rows not `valid` are null.
fn text_array(values: Vec<u8>, ends: &[usize], valid: Vec<bool>) -> Result<StringArray> {
    let mut offsets = Vec::with_capacity(ends.len() + 1);
    offsets.push(0i32);
    for &e in ends {
        offsets.push(i32::try_from(e).map_err(|_| {
            anyhow!("computed text of over 2 GiB in one batch; use smaller batches")
        })?);
    }
    let nulls = valid.iter().any(|v| !v).then(|| NullBuffer::from(valid));
    // The values are the template's literal text and the cells' UTF-8 text, cut at the ends of
    // whole pieces: valid UTF-8 throughout (checked, not assumed).
    Ok(StringArray::try_new(
        OffsetBuffer::new(offsets.into()),
        Buffer::from_vec(values),
        nulls,
    )?)
}

/// M003 for each sort key (table or GSI) computed by a template that embeds an integer column
/// without zero padding.
fn unpadded_sort_keys(
    keys: &KeySchema,
    derived: &[(String, Compiled)],
    schema: &Schema,
    numeric: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut sort_keys: Vec<&str> = keys.sort.iter().map(|s| s.name.as_str()).collect();
    for g in &keys.gsis {
        sort_keys.extend(g.sort.iter().map(|s| s.name.as_str()));
    }
    let mut out = Vec::new();
    for (name, c) in derived {
        let Compiled::Template {
            bound,
            number: false,
            arg,
        } = c
        else {
            continue;
        };
        if !sort_keys.contains(&name.as_str()) {
            continue;
        }
        for (p, r) in bound.template.placeholders().zip(&bound.columns) {
            let integer = r.data_type.is_integer()
                || (matches!(
                    r.data_type,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) && r.indexes.len() == 1
                    && numeric(schema.field(r.indexes[0]).name()));
            if integer && p.format == Format::Plain {
                out.push(format!(
                    "{} {}: sort key {arg:?} embeds the integer column {:?} without zero padding, so {name} values sort as text (…#10 before …#9); write {{{}:010}} (or the width of the largest value)",
                    rules::SORT_KEY_UNPADDED.code,
                    rules::SORT_KEY_UNPADDED.name,
                    p.path,
                    p.path
                ));
            }
        }
    }
    out
}
