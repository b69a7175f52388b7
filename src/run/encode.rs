//! A batch made items: shaped (computed keys and attributes, selected and renamed columns),
//! encoded by the column plan or re-read as item lines, its rejects made into lines.

use super::ConvertOptions;
use crate::encoding::arrow_rows::{Encoded, ItemEncoder};
use crate::encoding::item_lines::LinesEncoder;
use crate::encoding::plan::{KeyCheck, Plan};
use crate::encoding::target::{EncodeOptions, Target};
use crate::encoding::{plain, ItemWriter, Nulls, Syntax};
use crate::input::json_docs::{self, Layout};
use crate::input::{self, Batch, Format};
use crate::model::keys::KeySchema;
use crate::shape::{Shape, Shaper};
use anyhow::{bail, Context, Result};
use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;
use serde_json::{json, Value};

/// A batch after encoding, ready for the writer.
pub(crate) struct Chunk {
    pub(crate) source: usize,
    pub(crate) first_row: u64,
    pub(crate) rows: u64,
    pub(crate) input_bytes: u64,
    pub(crate) encoded: Encoded,
    /// Reject lines (JSON) in row order, with their rule codes.
    pub(crate) rejects: Vec<(&'static str, String)>,
    /// What its items hold (`--report`).
    pub(crate) facts: Option<crate::profile::BatchFacts>,
}

/// What a worker needs to profile the items it encodes (`--report`): what the column encoder
/// noted of each item as it wrote it, or else (items re-encoded from lines, documents whose
/// fields spread) validate's line scanner, recording, over the written lines.
pub(crate) struct Profiling {
    scanner: crate::encoding::scan::LineScanner,
    slots: crate::profile::KeySlots,
    indexes: Vec<crate::profile::Index>,
    /// The key attributes' names, in the scanner's order (the slots').
    names: Vec<String>,
    key: Vec<u8>,
    slot_of: Vec<Option<usize>>,
}

impl Profiling {
    pub(crate) fn new(keys: &KeySchema) -> Self {
        let checks: Vec<(String, KeyCheck)> = keys
            .key_attributes()
            .into_iter()
            .map(|(a, role)| {
                let ty = a.ty.unwrap_or(crate::model::keys::ScalarType::S);
                (a.name, KeyCheck { role, ty })
            })
            .collect();
        let indexes = crate::profile::Index::all(keys);
        let names: Vec<String> = checks.iter().map(|(n, _)| n.clone()).collect();
        Profiling {
            scanner: crate::encoding::scan::LineScanner::new(&checks).recording(),
            slots: crate::profile::KeySlots::new(&indexes, &names),
            indexes,
            names,
            key: Vec::new(),
            slot_of: Vec::new(),
        }
    }

    /// The facts of the items `c` holds, each named by its input and row: from what the
    /// encoder noted, from what the scanner records of each written line (DynamoDB JSON), or
    /// from the line read back.
    /// What the encoder noted is dropped here: the chunk still waits for the writer.
    pub(crate) fn facts(&mut self, c: &mut Chunk, syntax: Syntax) -> crate::profile::BatchFacts {
        let mut facts = crate::profile::BatchFacts::with_capacity(
            c.source,
            c.encoded.ends.len(),
            self.indexes.len(),
        );
        let noted = c.encoded.noted.take();
        let e = &c.encoded;
        if let Some(noted) = &noted {
            self.slot_of.clear();
            self.slot_of.extend(
                noted
                    .names
                    .iter()
                    .map(|n| self.names.iter().position(|k| k == n)),
            );
            facts.add_noted(&self.slots, noted, &self.slot_of, |k| {
                c.first_row + e.rows.get(k).copied().unwrap_or(0) as u64 + 1
            });
            return facts;
        }
        let format = match syntax {
            Syntax::Json => crate::input::parse::LineFormat::DynamodbJson,
            Syntax::Ion => crate::input::parse::LineFormat::Ion,
        };
        let mut start = 0;
        for (k, &end) in e.ends.iter().enumerate() {
            let line = crate::input::parse::lines::strip_cr(&e.buf[start..end]);
            start = end;
            let row = c.first_row + e.rows.get(k).copied().unwrap_or(0) as u64 + 1;
            if syntax == Syntax::Json {
                self.key.clear();
                if let Some(size) = self.scanner.scan(line, &mut self.key) {
                    let s = &self.scanner;
                    facts.add_scanned(&self.slots, line, size, s.attrs(), |k| s.key_value(k), row);
                    continue;
                }
            }
            if let Ok(item) = format.parse_line(line) {
                facts.add(&self.indexes, &item, row);
            }
        }
        facts
    }
}

/// How batches become items: Arrow columns through the plan (shaped first when the run
/// computes or selects attributes), or item lines re-parsed.
pub(crate) enum Encoding {
    Columns {
        plan: Plan,
        shaper: Option<Box<Shaper>>,
        /// Plain JSON inputs: how their documents become the plan's columns.
        documents: Option<Box<Layout>>,
    },
    Lines(Vec<(String, KeyCheck)>),
}

/// Inputs converted alike: all of a plain run's, or one entity type's of a map.
pub(crate) struct Group<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) inputs: &'a [String],
    pub(crate) shape: &'a Shape,
    pub(crate) overrides: &'a [(String, Target)],
}

pub(crate) fn groups(opts: &ConvertOptions) -> Vec<Group<'_>> {
    if opts.entities.is_empty() {
        return vec![Group {
            name: None,
            inputs: &opts.inputs,
            shape: &opts.shape,
            overrides: &opts.overrides,
        }];
    }
    opts.entities
        .iter()
        .map(|e| Group {
            name: Some(&e.name),
            inputs: &e.inputs,
            shape: &e.shape,
            overrides: &e.overrides,
        })
        .collect()
}

/// The encoding of table inputs with columns `schema` under `opts`: the shaping step (if the
/// options ask for one) and the plan of its output. `inferred`: CSV inference per source column.
pub(crate) fn column_encoding(
    schema: &arrow_schema::Schema,
    opts: &ConvertOptions,
    g: &Group,
    inferred: Option<&[Target]>,
) -> Result<Encoding> {
    let (shape, user_overrides) = (g.shape, g.overrides);
    let eo = EncodeOptions {
        timestamps: opts.timestamps,
    };
    // An entity type of a map whose items lack a GSI's key attributes is not in that index (a
    // sparse index, as single-table designs use them): its plan leaves the index out.
    let keys_for = |columns: &arrow_schema::Schema| -> KeySchema {
        let mut keys = opts.keys.clone();
        if g.name.is_some() {
            keys.gsis
                .retain(|x| x.attributes().all(|a| columns.index_of(&a.name).is_ok()));
        }
        keys
    };
    if shape.is_empty() {
        let plan = Plan::new(schema, user_overrides, inferred, &keys_for(schema), eo)?;
        return Ok(Encoding::Columns {
            plan,
            shaper: None,
            documents: None,
        });
    }
    let numeric = |c: &str| match user_overrides.iter().rev().find(|(n, _)| n == c) {
        Some((_, t)) => *t == Target::N,
        None => schema
            .index_of(c)
            .ok()
            .and_then(|i| inferred.and_then(|inf| inf.get(i)))
            .is_some_and(|t| *t == Target::N),
    };
    let shaper = Shaper::new(shape, schema, &opts.keys, &numeric)?;
    let out = shaper.schema();
    let inferred: Option<Vec<Target>> = inferred.map(|inf| {
        (0..out.fields().len())
            .map(|k| match shaper.source_of(k) {
                Some(i) => inf.get(i).cloned().unwrap_or(Target::Auto),
                None => Target::Auto,
            })
            .collect()
    });
    let mut overrides: Vec<(String, Target)> = shaper
        .number_attributes
        .iter()
        .map(|n| (n.clone(), Target::N))
        .collect();
    overrides.extend(user_overrides.iter().cloned());
    let plan = Plan::new(out, &overrides, inferred.as_deref(), &keys_for(out), eo)?;
    Ok(Encoding::Columns {
        plan,
        shaper: Some(Box::new(shaper)),
        documents: None,
    })
}

/// Shape batch `b` (computed attributes, selected and renamed columns): rows shaping rejects
/// join the reader's rejects, with the values they were read with.
fn shape_batch(
    mut b: Batch,
    shaper: &Shaper,
    values: &dyn Fn(&RecordBatch, usize) -> Value,
) -> Result<Batch> {
    let (rows, problems) = shaper.apply(&b.rows)?;
    if !problems.is_empty() {
        let already: std::collections::HashSet<usize> =
            b.pre_rejects.iter().map(|r| r.index).collect();
        for p in problems {
            if already.contains(&p.index) {
                continue;
            }
            b.pre_rejects.push(input::PreReject {
                index: p.index,
                rule: p.rule,
                message: p.message,
                values: values(&b.rows, p.index),
                unheld: 0,
            });
        }
        b.pre_rejects.sort_by_key(|r| r.index);
    }
    b.rows = rows;
    Ok(b)
}

pub(crate) fn encode_chunk(
    b: Batch,
    encoding: &Encoding,
    (format, source, entity): (Format, &str, Option<&str>),
    syn: Syntax,
    nulls: Nulls,
    w: &mut ItemWriter,
) -> Result<Chunk> {
    // The documents of plain JSON inputs: their reject lines show each document as read.
    let documents = match encoding {
        Encoding::Columns {
            documents: Some(_), ..
        } => Some(b.rows.column(0).as_binary::<i32>().clone()),
        _ => None,
    };
    let values_of = |rows: &RecordBatch, i: usize| match &documents {
        Some(d) => json_docs::reject_values(d.value(i)),
        None => plain::row(rows, i),
    };
    let b = match encoding {
        Encoding::Columns {
            documents: Some(layout),
            ..
        } => json_docs::to_columns(b, layout).with_context(|| source.to_string())?,
        _ => b,
    };
    let b = match encoding {
        Encoding::Columns {
            shaper: Some(s), ..
        } => shape_batch(b, s, &values_of).with_context(|| source.to_string())?,
        _ => b,
    };
    let mut lines_enc = None;
    let encoded = match (encoding, format) {
        (Encoding::Lines(keys), Format::Items(format)) => {
            let enc = LinesEncoder {
                format,
                keys: keys.clone(),
                syn,
            };
            let skip: Vec<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
            let e = enc.encode(b.rows.column(0).as_binary::<i32>(), &skip, w);
            lines_enc = Some(enc);
            e
        }
        (Encoding::Columns { plan, .. }, _) => {
            let enc =
                ItemEncoder::new(plan, &b.rows, syn, nulls).with_context(|| source.to_string())?;
            let skip: Vec<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
            enc.encode(b.rows.num_rows(), &skip, w)
        }
        _ => bail!("{source}: mixed item and table inputs"),
    };
    let row_values = |i: usize| match &lines_enc {
        Some(enc) => enc.reject_values(b.rows.column(0).as_binary::<i32>().value(i)),
        None => values_of(&b.rows, i),
    };
    // Merge the reader's rejects and the encoder's, in row order.
    let mut all: Vec<(
        usize,
        &'static crate::model::rules::Rule,
        String,
        Option<Value>,
    )> = b
        .pre_rejects
        .into_iter()
        .map(|r| (r.index, r.rule, r.message, Some(r.values)))
        .collect();
    all.extend(
        encoded
            .rejects
            .iter()
            .map(|r| (r.index, r.rule, r.message.clone(), None)),
    );
    all.sort_by_key(|r| r.0);
    let rejects = all
        .into_iter()
        .map(|(i, rule, message, values)| {
            let mut line = serde_json::Map::new();
            line.insert("source".into(), json!(source));
            if let Some(e) = entity {
                line.insert("entity".into(), json!(e));
            }
            line.insert("row".into(), json!(b.first_row + i as u64 + 1));
            if let Some(lines) = &b.lines {
                line.insert("line".into(), json!(lines[i]));
            }
            line.insert("code".into(), json!(rule.code));
            line.insert("rule".into(), json!(rule.name));
            line.insert("message".into(), json!(message));
            line.insert("values".into(), values.unwrap_or_else(|| row_values(i)));
            (rule.code, Value::Object(line).to_string())
        })
        .collect();
    Ok(Chunk {
        source: b.source,
        first_row: b.first_row,
        rows: b.rows.num_rows() as u64,
        input_bytes: b.input_bytes,
        encoded,
        rejects,
        facts: None,
    })
}

/// Each of `lines` (plain JSON documents, one per line) as prep convert makes it an item under
/// `keys`: the item line, or the rule code of its reject. For the differential checks and the
/// fuzz target of the document reader.
#[doc(hidden)]
pub fn encode_json_documents(
    lines: &[&[u8]],
    mongo: bool,
    keys: &KeySchema,
) -> Result<Vec<Result<String, &'static str>>> {
    use arrow_array::builder::BinaryBuilder;
    let layout = Layout {
        named: keys
            .key_attributes()
            .iter()
            .map(|(a, _)| json_docs::Named {
                name: a.name.clone(),
                hidden: false,
            })
            .collect(),
        rest: true,
        mongo,
    };
    let plan = Plan::new(
        &layout.schema(),
        &[],
        None,
        keys,
        EncodeOptions {
            timestamps: crate::encoding::target::Timestamps::Rfc3339,
        },
    )?;
    let mut rows = BinaryBuilder::new();
    for l in lines {
        rows.append_value(l);
    }
    let batch = Batch {
        source: 0,
        first_row: 0,
        rows: RecordBatch::try_new(
            input::item_files::schema(),
            vec![std::sync::Arc::new(rows.finish()) as arrow_array::ArrayRef],
        )?,
        lines: None,
        pre_rejects: Vec::new(),
        input_bytes: 0,
    };
    let b = json_docs::to_columns(batch, &layout)?;
    let enc = ItemEncoder::new(&plan, &b.rows, Syntax::Json, Nulls::Omit)?;
    let skip: Vec<usize> = b.pre_rejects.iter().map(|r| r.index).collect();
    let mut w = ItemWriter::new(Syntax::Json, Nulls::Omit);
    let e = enc.encode(lines.len(), &skip, &mut w);
    let mut out: Vec<Result<String, &'static str>> = vec![Err("?"); lines.len()];
    for r in &b.pre_rejects {
        out[r.index] = Err(r.rule.code);
    }
    for r in &e.rejects {
        out[r.index] = Err(r.rule.code);
    }
    let mut start = 0;
    for (k, &row) in e.rows.iter().enumerate() {
        let end = e.ends[k];
        out[row as usize] = Ok(String::from_utf8_lossy(&e.buf[start..end]).into_owned());
        start = end;
    }
    Ok(out)
}
