"""DynamoDB import files from a Ray Dataset:

    from prep.ray import write_import_files
    summary = write_import_files(ds, "s3://bucket/prefix/", key="pk:S", compress="zstd")

The Dataset's blocks are split into ``partitions`` shards as they are (``Dataset.split``, no
shuffle: rows stay in their blocks); one Ray task per shard runs prep's encoder over its blocks
and writes its parts straight into the output, recording its items' keys; then the shards are
merged, which finds duplicate keys across all of them, and the manifests, ``rejects.jsonl`` and
``duplicates.jsonl`` are written — the folder ``prep convert`` writes. A task streams its
shard's blocks, one at a time.
"""

import prep
from prep import _check_against


def write_import_files(ds, out, key, sort_key=None, partitions=None, **opts):
    """Convert ``ds`` (a ``ray.data.Dataset``) into an import folder at ``out``; the merged
    summary (a dict). ``partitions``: the number of shards (default: the cluster's CPUs)."""
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

    @ray.remote
    def write(part, index):
        w = prep.ShardWriter(out, index, n, schema, names, index, **dict(settings, force=True))
        try:
            for b in part.iter_batches(batch_format="pyarrow", batch_size=None):
                for rb in b.to_batches():
                    w.write(rb)
            s = w.close()
        except BaseException:
            w.abort()
            raise
        return s["rowsRead"]

    parts = ds.split(n)
    ray.get([write.remote(p, i) for i, p in enumerate(parts)])
    aws = {k: opts[k] for k in ("profile", "region", "endpoint_url", "path_style", "max_attempts") if k in opts}
    return prep.merge(out, force=True, **aws)
