"""DynamoDB import files from a Ray Dataset:

    from prep.ray import write_import_files
    summary = write_import_files(ds, "s3://bucket/prefix/", key="pk:S", compress="zstd")

Rows are dealt to ``partitions`` shards by a hash of the partition key (CRC-32, the same in every
worker), so every copy of a key lands in one shard; Ray groups each shard's rows into one task
(``groupby(...).map_groups``), which runs prep's encoder over them and writes its parts straight
into the output as that shard; shards that got no rows are written empty; then the shards are
merged: the manifests, ``rejects.jsonl`` and ``duplicates.jsonl`` — the folder ``prep convert``
writes. A shard's rows are held by its task, so choose ``partitions`` to keep a shard within a
worker's memory.
"""

import zlib

import prep
from prep import _check_against

_SHARD = "__prep_shard"


def write_import_files(ds, out, key, sort_key=None, partitions=None, **opts):
    """Convert ``ds`` (a ``ray.data.Dataset``) into an import folder at ``out``; the merged
    summary (a dict). ``partitions``: the number of shards (default: the cluster's CPUs)."""
    import pyarrow as pa
    import ray

    schema = ds.schema().base_schema
    settings = dict(opts, key=key, sort_key=sort_key)
    # Refuse bad options before any task runs: their syntax, then their columns.
    prep.options(**settings)
    _check_against(schema, settings)
    names_of_key = prep.key_columns(key)
    missing = [c for c in names_of_key if c not in schema.names]
    if missing:
        raise ValueError(f"the key column(s) {missing} are not in the Dataset ({schema.names})")
    n = partitions or max(1, int(ray.cluster_resources().get("CPU", 1)))
    names = [f"shard {i}" for i in range(n)]

    def deal(t):
        keys = zip(*(t.column(c).to_pylist() for c in names_of_key))
        shards = [zlib.crc32(repr(k).encode()) % n for k in keys]
        return t.append_column(_SHARD, pa.array(shards, pa.int32()))

    def write(t):
        index = t.column(_SHARD)[0].as_py()
        t = t.drop_columns([_SHARD])
        w = prep.ShardWriter(out, index, n, schema, names, index, **dict(settings, force=True))
        try:
            for b in t.to_batches():
                w.write(b)
            s = w.close()
        except BaseException:
            w.abort()
            raise
        return pa.table({"shard": [index], "rows": [s["rowsRead"]]})

    done = (ds.map_batches(deal, batch_format="pyarrow")
            .groupby(_SHARD)
            .map_groups(write, batch_format="pyarrow")
            .take_all())
    seen = {r["shard"] for r in done}
    for index in sorted(set(range(n)) - seen):
        prep.ShardWriter(out, index, n, schema, names, index, **dict(settings, force=True)).close()
    aws = {k: opts[k] for k in ("profile", "region", "endpoint_url", "path_style", "max_attempts") if k in opts}
    return prep.merge(out, force=True, **aws)
