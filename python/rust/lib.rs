//! `prep._prep`: prep's encoder, shard writer and merge for Python, over Arrow data passed
//! without a copy (the Arrow C data interface: pyarrow record batches and schemas, or anything
//! with `__arrow_c_array__` / `__arrow_c_schema__`). The Python package (`prep`) wraps it;
//! results cross as JSON text, which the wrapper parses.

use arrow_array::RecordBatch;
use arrow_pyarrow::PyArrowType;
use arrow_schema::Schema;
use prep::commands::convert::{ConvertOptions, DupMode, OnError};
use prep::commands::embed::{self, ShardWriter as Inner};
use prep::commands::merge::{self, MergeOptions};
use prep::encoding::target::{Target, Timestamps};
use prep::encoding::{Nulls, Syntax};
use prep::model::keys::{Gsi, KeySchema};
use prep::model::shard::Shard;
use prep::output::s3::S3Destination;
use prep::output::{Compression, Destination};
use prep::shape::map::TableMap;
use prep::shape::Shape;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pyo3::create_exception!(
    _prep,
    Error,
    PyRuntimeError,
    "A conversion, shard or merge could not be done (the message says why and what to do)."
);
pyo3::create_exception!(
    _prep,
    RowRejected,
    Error,
    "A row broke an import rule while on_error=\"fail\": `code` is the rule (prep rules CODE), `reject` the reject line as a dict."
);

/// The CLI's flags in a message, as this module's keywords (`--sort-key` → `sort_key=`).
fn pythonic(message: &str) -> String {
    let mut m = message.to_string();
    for (flag, keyword) in [
        ("--sort-key ", "sort_key="),
        ("--key ", "key="),
        ("--table-def ", "table_def="),
        ("--set ", "set="),
        ("--select ", "select="),
        ("--drop ", "drop="),
        ("--rename ", "rename="),
        ("--ttl ", "ttl="),
        ("--type ", "types="),
        ("--gsi ", "gsi="),
        ("--on-error ", "on_error="),
        ("--duplicates ", "duplicates="),
        ("--timestamps ", "timestamps="),
        ("--nulls ", "nulls="),
        ("--force", "force=True"),
    ] {
        m = m.replace(flag, keyword);
    }
    m
}

/// A failure as a `prep.Error` (a row that failed under on_error="fail": `prep.RowRejected`
/// with its rule code), its message in Python's words.
fn err(e: anyhow::Error) -> PyErr {
    if let Some(row) = e.downcast_ref::<embed::RowFailed>() {
        let pe = RowRejected::new_err(pythonic(&format!("{e:#}")));
        Python::attach(|py| {
            let v = pe.value(py);
            let _ = v.setattr("code", row.code());
            if let Ok(json) = py.import("json") {
                if let Ok(parsed) = json.call_method1("loads", (row.line.as_str(),)) {
                    let _ = v.setattr("reject", parsed);
                }
            }
        });
        return pe;
    }
    Error::new_err(pythonic(&format!("{e:#}")))
}

/// A bad argument (an option that does not parse): ValueError, as Python's own functions raise.
fn bad_arg(e: anyhow::Error) -> PyErr {
    PyValueError::new_err(pythonic(&format!("{e:#}")))
}

fn bad(what: &str) -> PyErr {
    PyValueError::new_err(what.to_string())
}

/// The options every call takes, as the CLI names them.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Options {
    /// A map file (`prep convert --map`) and the entity type of its this call converts: then
    /// the keys and shaping come from the map.
    map: Option<String>,
    entity: Option<String>,
    key: Option<String>,
    sort_key: Option<String>,
    gsi: Vec<String>,
    table: Option<String>,
    format: String,
    compress: String,
    compress_level: Option<i32>,
    part_size: u64,
    nulls: String,
    timestamps: String,
    types: HashMap<String, String>,
    /// Single-table design: `{NAME[:N]: TEMPLATE}` (in order), columns kept or dropped,
    /// `{OLD: NEW}`, the TTL (`NAME` or `NAME=COLUMN[+DURATION]`).
    set: Vec<(String, String)>,
    select: Option<Vec<String>>,
    drop: Vec<String>,
    rename: Vec<(String, String)>,
    ttl: Option<String>,
    duplicates: String,
    on_error: String,
    force: bool,
    /// Profile the items (`prep convert --report`): the merge writes report.json/report.html.
    report: bool,
    price_per_gb: Option<f64>,
    /// AWS: profile, region, endpoint_url, path_style, concurrency, chunk_size, max_attempts.
    profile: Option<String>,
    region: Option<String>,
    endpoint_url: Option<String>,
    path_style: bool,
    concurrency: usize,
    chunk_size: u64,
    max_attempts: u32,
}

fn destination(out: &str, o: &Options) -> PyResult<Destination> {
    Ok(if out.starts_with("s3://") {
        let (bucket, prefix) = prep::aws::parse_s3_url(out).map_err(err)?;
        Destination::S3(S3Destination {
            bucket,
            prefix,
            put: Default::default(),
            concurrency: o.concurrency.max(1),
            chunk_size: o.chunk_size.max(5 << 20),
        })
    } else {
        Destination::Folder(PathBuf::from(out))
    })
}

fn aws(o: &Options) -> prep::aws::AwsOptions {
    prep::aws::AwsOptions {
        profile: o.profile.clone(),
        region: o.region.clone(),
        endpoint_url: o.endpoint_url.clone(),
        path_style: o.path_style,
        max_attempts: o.max_attempts.max(1),
    }
}

/// The shaping the options ask for (key templates, set, select, drop, rename, ttl).
fn shape(o: &Options) -> PyResult<Shape> {
    let mut key_templates = Vec::new();
    for k in o.key.iter().chain(&o.sort_key) {
        key_templates.extend(Shape::parse_key(k).map_err(bad_arg)?.1);
    }
    let sets: Vec<String> = o.set.iter().map(|(n, t)| format!("{n}={t}")).collect();
    let renames: Vec<String> = o.rename.iter().map(|(a, b)| format!("{a}={b}")).collect();
    Shape::from_options(
        key_templates,
        &sets,
        o.select.clone(),
        o.drop.clone(),
        &renames,
        o.ttl.as_deref(),
    )
    .map_err(bad_arg)
}

/// The conversion of `o`: from its map file (keys, billing, entity types), or from its own key
/// and shaping options.
fn convert_options(out: &str, o: &Options) -> PyResult<ConvertOptions> {
    let Some(path) = &o.map else {
        return plain_options(out, o);
    };
    let given: Vec<&str> = [
        (o.key.is_some(), "key"),
        (o.sort_key.is_some(), "sort_key"),
        (!o.gsi.is_empty(), "gsi"),
        (!o.set.is_empty(), "set"),
        (o.select.is_some(), "select"),
        (!o.drop.is_empty(), "drop"),
        (!o.rename.is_empty(), "rename"),
        (o.ttl.is_some(), "ttl"),
        (!o.types.is_empty(), "types"),
    ]
    .into_iter()
    .filter_map(|(g, n)| g.then_some(n))
    .collect();
    if !given.is_empty() {
        return Err(bad(&format!(
            "map= takes the keys and shaping from the map file; leave out {}",
            given.join(", ")
        )));
    }
    let m = TableMap::read(std::path::Path::new(path)).map_err(bad_arg)?;
    let mut c = settings(
        embed::default_options(m.keys.clone(), destination(out, o)?),
        o,
    )?;
    c.table_name = o.table.clone().or(m.keys.table_name.clone());
    c.billing = m.billing;
    c.entities = m.entities;
    Ok(c)
}

fn plain_options(out: &str, o: &Options) -> PyResult<ConvertOptions> {
    let key = o
        .key
        .as_deref()
        .ok_or_else(|| bad("key is required: the partition key, NAME[:S|N|B] or NAME=TEMPLATE"))?;
    let keys = KeySchema {
        table_name: None,
        partition: Shape::parse_key(key).map_err(bad_arg)?.0,
        sort: o
            .sort_key
            .as_deref()
            .map(|k| Shape::parse_key(k).map(|k| k.0))
            .transpose()
            .map_err(bad_arg)?,
        gsis: o
            .gsi
            .iter()
            .map(|g| Gsi::parse(g))
            .collect::<anyhow::Result<_>>()
            .map_err(err)?,
        vectors: Default::default(),
    };
    let mut c = settings(embed::default_options(keys, destination(out, o)?), o)?;
    c.table_name = o.table.clone();
    c.overrides = o
        .types
        .iter()
        .map(|(col, ty)| Ok((col.clone(), Target::parse(ty).map_err(err)?)))
        .collect::<PyResult<_>>()?;
    c.shape = shape(o)?;
    Ok(c)
}

/// The settings every conversion takes (format, compression, parts, nulls, timestamps,
/// duplicates, errors, AWS) applied to `c`.
fn settings(mut c: ConvertOptions, o: &Options) -> PyResult<ConvertOptions> {
    c.aws = aws(o);
    c.syntax = match o.format.as_str() {
        "dynamodb-json" => Syntax::Json,
        "ion" => Syntax::Ion,
        f => return Err(bad(&format!("format {f:?}: dynamodb-json or ion"))),
    };
    c.compression = Compression::parse(&o.compress)
        .ok_or_else(|| bad(&format!("compress {:?}: none, gzip or zstd", o.compress)))?;
    c.level = o.compress_level;
    c.part_size = o.part_size.max(1);
    c.nulls = match o.nulls.as_str() {
        "omit" => Nulls::Omit,
        "null" => Nulls::Null,
        n => return Err(bad(&format!("nulls {n:?}: omit or null"))),
    };
    c.timestamps = match o.timestamps.as_str() {
        "rfc3339" => Timestamps::Rfc3339,
        "epoch-s" => Timestamps::Epoch(0),
        "epoch-ms" => Timestamps::Epoch(3),
        "epoch-us" => Timestamps::Epoch(6),
        t => {
            return Err(bad(&format!(
                "timestamps {t:?}: rfc3339, epoch-s, epoch-ms or epoch-us"
            )))
        }
    };
    c.duplicates = match o.duplicates.as_str() {
        "warn" => DupMode::Warn,
        "error" => DupMode::Error,
        "off" => DupMode::Off,
        d => return Err(bad(&format!("duplicates {d:?}: warn, error or off"))),
    };
    c.on_error = match o.on_error.as_str() {
        "reject" => OnError::Reject,
        "fail" => OnError::Fail,
        e => return Err(bad(&format!("on_error {e:?}: reject or fail"))),
    };
    c.force = o.force;
    if o.report {
        c.report = Some(
            prep::profile::ProfileOptions::for_region(o.region.as_deref(), o.price_per_gb)
                .map_err(|e| bad(&format!("price_per_gb: {e}")))?,
        );
    }
    Ok(c)
}

/// A map file's entity types, in order, each with the source columns its partition key is
/// computed from (Spark and Ray keep one key's rows together by them).
#[pyfunction]
fn map_entities(path: &str) -> PyResult<Vec<(String, Vec<String>)>> {
    let m = TableMap::read(std::path::Path::new(path)).map_err(bad_arg)?;
    let pk = m.keys.partition.name.clone();
    Ok(m.entities
        .iter()
        .map(|e| {
            let computed = e.shape.source_columns(&pk);
            let renamed = e
                .shape
                .rename
                .iter()
                .find(|(_, new)| *new == pk)
                .map(|(old, _)| old.clone());
            let columns = match (computed.is_empty(), renamed) {
                (false, _) => computed,
                (true, Some(old)) => vec![old],
                (true, None) => vec![pk.clone()],
            };
            (e.name.clone(), columns)
        })
        .collect())
}

/// The source columns the key `spec` is computed from (its own name for a plain key), and the
/// other options' say on them: Spark and Ray keep the rows of one key together by these.
#[pyfunction]
fn key_columns(spec: &str) -> PyResult<Vec<String>> {
    let (attr, derived) = Shape::parse_key(spec).map_err(bad_arg)?;
    Ok(match derived {
        None => vec![attr.name],
        Some(d) => {
            let name = d.name.clone();
            Shape {
                derived: vec![d],
                ..Shape::default()
            }
            .source_columns(&name)
        }
    })
}

/// Encode one record batch: (items as bytes, one per line; reject lines as JSON text; the
/// items' count; the summary of the batch as JSON text).
#[pyfunction]
fn encode<'py>(
    py: Python<'py>,
    batch: PyArrowType<RecordBatch>,
    options: Options,
    source: &str,
    first_row: u64,
) -> PyResult<(Bound<'py, PyBytes>, Vec<String>, u64, String)> {
    py.check_signals()?;
    let opts = convert_options("unused", &options)?;
    let batch = batch.0;
    let e = py
        .detach(|| embed::encode_batch(&batch, &opts, source, first_row, options.entity.as_deref()))
        .map_err(err)?;
    let stats = serde_json::json!({
        "rows": batch.num_rows(),
        "items": e.items,
        "rejected": e.rejects.len(),
        "emptySetsOmitted": e.empty_sets_omitted,
        "keySchema": e.keys.to_manifest(),
    });
    Ok((
        PyBytes::new(py, &e.data),
        e.rejects,
        e.items,
        stats.to_string(),
    ))
}

/// One shard of a conversion, fed record batches.
#[pyclass(name = "ShardWriter", module = "prep._prep")]
struct ShardWriter {
    /// Python objects may be touched from any thread: the writer is used by one at a time.
    inner: std::sync::Mutex<Option<Inner>>,
}

impl ShardWriter {
    fn take(&self) -> Option<Inner> {
        self.inner.lock().ok()?.take()
    }
}

#[pymethods]
impl ShardWriter {
    #[new]
    #[pyo3(signature = (out, index, count, schema, input_names, source, options, input_entities=None))]
    #[allow(clippy::too_many_arguments)] // the Python constructor's parameters
    fn new(
        py: Python<'_>,
        out: &str,
        index: u32,
        count: u32,
        schema: PyArrowType<Schema>,
        input_names: Vec<String>,
        source: usize,
        options: Options,
        input_entities: Option<Vec<String>>,
    ) -> PyResult<ShardWriter> {
        if count == 0 || index >= count {
            return Err(bad(&format!(
                "shard {index} of {count}: the index must be below the count"
            )));
        }
        let mut opts = convert_options(out, &options)?;
        opts.shard = Some(Shard { index, count });
        let schema = Arc::new(schema.0);
        let entities = match input_entities {
            Some(e) if e.len() != input_names.len() => {
                return Err(bad("input_entities: one entity type per input name"))
            }
            Some(e) => e.into_iter().map(Some).collect(),
            None => vec![None; input_names.len()],
        };
        let inputs = input_names
            .into_iter()
            .zip(entities)
            .map(|(name, entity)| embed::Input { name, entity })
            .collect();
        let inner = py
            .detach(|| Inner::open(opts, &schema, inputs, source))
            .map_err(err)?;
        Ok(ShardWriter {
            inner: std::sync::Mutex::new(Some(inner)),
        })
    }

    fn write(&self, py: Python<'_>, batch: PyArrowType<RecordBatch>) -> PyResult<()> {
        // Ctrl-C in Python (KeyboardInterrupt) stops a writer fed batch by batch between two.
        py.check_signals()?;
        let batch = batch.0;
        py.detach(|| {
            let mut guard = self
                .inner
                .lock()
                .map_err(|_| anyhow::anyhow!("the shard writer failed earlier"))?;
            let inner = guard
                .as_mut()
                .ok_or_else(|| anyhow::anyhow!("the shard writer is closed"))?;
            inner.write(&batch)
        })
        .map_err(err)
    }

    /// Finish the parts, write the shard's report; the shard's summary as JSON text.
    fn close(&self, py: Python<'_>) -> PyResult<String> {
        let inner = self
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the shard writer is closed"))?;
        let report = py.detach(|| inner.close()).map_err(err)?;
        Ok(report.to_json().to_string())
    }

    /// Drop the shard's work: nothing of it stays in the output.
    fn abort(&self, py: Python<'_>) {
        if let Some(inner) = self.take() {
            py.detach(|| drop(inner));
        }
    }
}

/// Merge the shards in `out`; the summary as JSON text.
#[pyfunction]
fn merge_shards(py: Python<'_>, out: &str, options: Options) -> PyResult<String> {
    let opts = MergeOptions {
        out: destination(out, &options)?,
        aws: aws(&options),
        force: options.force,
        cancel: Default::default(),
        dup_memory: prep::commands::convert::DEFAULT_DUP_MEMORY,
        tmp_dir: None,
    };
    let report = py.detach(|| merge::run(&opts)).map_err(err)?;
    Ok(report.to_json().to_string())
}

#[pymodule]
fn _prep(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(merge_shards, m)?)?;
    m.add_function(wrap_pyfunction!(key_columns, m)?)?;
    m.add_function(wrap_pyfunction!(map_entities, m)?)?;
    m.add_class::<ShardWriter>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("RowRejected", m.py().get_type::<RowRejected>())?;
    Ok(())
}
