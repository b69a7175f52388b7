"""DynamoDB import files from a Spark DataFrame (AWS Glue, EMR, any Spark ≥ 3.5):

    from prep.spark import write_import_files
    summary = write_import_files(df, "s3://bucket/prefix/", key="pk:S", sort_key="sk:N",
                                 format="dynamodb-json", compress="zstd")

Each partition of the DataFrame, as it is (no shuffle), is one shard of the conversion: its task
runs prep's encoder over its Arrow batches (``mapInArrow``), writes its parts straight into the
output (a folder every executor sees, or an S3 prefix, through prep's own S3 client) and records
its items' keys; the driver then merges the shards, which finds duplicate keys across all of
them, and writes the manifests, ``rejects.jsonl`` and ``duplicates.jsonl`` — the same folder
layout and manifests as ``prep convert``, ready for ``prep validate`` and ``prep import``.

Task retries rewrite their shard (``force``); turn speculative execution off
(``spark.speculation=false``, the default), since two attempts of one task would write the
same shard.
"""

import prep
from prep import _check_against


def _key_columns(spec):
    return prep.key_columns(spec) if spec else []


def write_import_files(df, out, key=None, sort_key=None, partitions=None, map=None, **opts):
    """Convert ``df`` into an import folder at ``out``; the merged summary (a dict, as ``prep
    convert --json`` prints it). Each partition is one shard, encoded where it is; with
    ``partitions=N`` the DataFrame is first repartitioned into N (a shuffle: only to even out
    skewed partitions). Other options as :func:`prep.options`.

    Several entity types into one table: ``map="shop.toml"`` (a ``prep convert --map`` file)
    and ``df`` a dict of one DataFrame per entity type (``{"customer": customers, "order":
    orders}``); the map's keys and shaping apply, its ``inputs`` are not read."""
    if map is not None:
        return _write_map(df, out, map, partitions, **opts)
    from pyspark.sql.pandas.types import to_arrow_schema

    settings = dict(opts, key=key, sort_key=sort_key)
    # Refuse bad options on the driver, before any task runs: their syntax, then their columns.
    prep.options(**settings)
    _check_against(to_arrow_schema(df.schema), settings)
    columns = list(dict.fromkeys(_key_columns(key) + _key_columns(sort_key)))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"key column(s) {missing} are not in the DataFrame ({df.columns})")
    shaped = df.repartition(partitions) if partitions else df
    n = max(1, shaped.rdd.getNumPartitions())
    schema = to_arrow_schema(shaped.schema)
    names = [f"partition {i}" for i in range(n)]
    _run_shards(shaped, _task(out, n, schema, names, None, 0, settings), n)
    return prep.merge(out, force=True, **_aws(opts))


def _aws(opts):
    return {k: opts[k] for k in ("profile", "region", "endpoint_url", "path_style", "max_attempts") if k in opts}


def _task(out, count, schema, names, entities, offset, settings):
    """The mapInArrow function of a job's tasks: task I writes shard ``offset + I`` of
    ``count`` (a retried task rewrites it) and yields its counts."""

    def task(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        index = offset + TaskContext.get().partitionId()
        w = prep.ShardWriter(out, index, count, schema, names, index, entities,
                             **dict(settings, force=True))
        try:
            for b in batches:
                w.write(b)
            s = w.close()
        except BaseException:
            w.abort()
            raise
        yield pa.RecordBatch.from_pylist(
            [{"shard": index, "rows": s["rowsRead"], "items": s["itemsWritten"]}],
            schema=pa.schema([("shard", pa.int32()), ("rows", pa.int64()), ("items", pa.int64())]),
        )

    return task


def _run_shards(df, task, n, what="shards"):
    done = df.mapInArrow(task, "shard int, rows long, items long").collect()
    if len(done) != n:
        raise RuntimeError(f"{len(done)} of {n} {what} reported back")


def _write_map(frames, out, map_file, partitions, **opts):
    """Every entity type's DataFrame as shards of one conversion: entity after entity, a shard
    per partition as it is; then the merge."""
    from pyspark.sql.pandas.types import to_arrow_schema

    entities = prep.map_entities(map_file)
    names = [e for e, _ in entities]
    if not isinstance(frames, dict):
        raise ValueError(f"with map=, pass one DataFrame per entity type: {{{', '.join(repr(n) for n in names)}}}")
    unknown = sorted(set(frames) - set(names))
    if unknown:
        raise ValueError(f"the map has no entity type {unknown} (it has {names})")
    jobs = []
    for entity, _ in entities:
        df = frames.get(entity)
        if df is None:
            continue
        settings = dict(opts, map=map_file, entity=entity)
        prep.options(**settings)
        _check_against(to_arrow_schema(df.schema), settings)
        shaped = df.repartition(partitions) if partitions else df
        jobs.append((entity, shaped, max(1, shaped.rdd.getNumPartitions()), settings))
    count = sum(n for _, _, n, _ in jobs)
    inputs, input_entities = [], []
    for entity, _, n, _ in jobs:
        inputs += [f"{entity} partition {i}" for i in range(n)]
        input_entities += [entity] * n
    first = 0
    for entity, shaped, n, settings in jobs:
        task = _task(out, count, to_arrow_schema(shaped.schema), inputs, input_entities, first, settings)
        _run_shards(shaped, task, n, f"shards of {entity}")
        first += n
    return prep.merge(out, force=True, **_aws(opts))
