"""DynamoDB import files from a Spark DataFrame (AWS Glue, EMR, any Spark ≥ 3.5):

    from prep.spark import write_import_files
    summary = write_import_files(df, "s3://bucket/prefix/", key="pk:S", sort_key="sk:N",
                                 format="dynamodb-json", compress="zstd")

The DataFrame is repartitioned by the primary key, so every copy of a key lands in one task;
each task runs prep's encoder over its Arrow batches (``mapInArrow``) and writes its parts
straight into the output (a folder every executor sees, or an S3 prefix, through prep's own S3
client) as one shard of the conversion; the driver then merges the shards: the manifests,
``rejects.jsonl`` and ``duplicates.jsonl`` — the same folder layout and manifests as ``prep
convert``, ready for ``prep validate`` and ``prep import``.

Task retries rewrite their shard (``force``); turn speculative execution off
(``spark.speculation=false``, the default), since two attempts of one task would write the
same shard.
"""

import prep
from prep import _check_against


def _key_columns(spec):
    return prep.key_columns(spec) if spec else []


def write_import_files(df, out, key, sort_key=None, partitions=None, **opts):
    """Convert ``df`` into an import folder at ``out``; the merged summary (a dict, as ``prep
    convert --json`` prints it). ``partitions``: the number of tasks (shards; default: the
    DataFrame's partitions). Other options as :func:`prep.options`."""
    from pyspark.sql.pandas.types import to_arrow_schema

    settings = dict(opts, key=key, sort_key=sort_key)
    # Refuse bad options on the driver, before any task runs: their syntax, then their columns.
    prep.options(**settings)
    _check_against(to_arrow_schema(df.schema), settings)
    columns = list(dict.fromkeys(_key_columns(key) + _key_columns(sort_key)))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"key column(s) {missing} are not in the DataFrame ({df.columns})")
    n = partitions or max(1, df.rdd.getNumPartitions())
    shaped = df.repartition(n, *columns)
    schema = to_arrow_schema(shaped.schema)
    names = [f"partition {i}" for i in range(n)]

    def task(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        index = TaskContext.get().partitionId()
        w = prep.ShardWriter(out, index, n, schema, names, index, **dict(settings, force=True))
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

    done = shaped.mapInArrow(task, "shard int, rows long, items long").collect()
    if len(done) != n:
        raise RuntimeError(f"{len(done)} of {n} shards reported back")
    aws = {k: opts[k] for k in ("profile", "region", "endpoint_url", "path_style", "max_attempts") if k in opts}
    return prep.merge(out, force=True, **aws)
