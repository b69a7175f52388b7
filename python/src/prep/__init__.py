"""prep for Python: the DynamoDB import encoder over Arrow data, with the same checks, options and
output as the `prep` CLI (which this package also installs).

    import prep
    data, rejects, stats = prep.encode(batch, key="pk:S", sort_key="sk:N")

    w = prep.ShardWriter("s3://bucket/prefix/", index=3, count=16, schema=batch.schema, key="pk:S")
    w.write(batch); w.close()           # one shard of a conversion: parts, rejects, keys, report
    prep.merge("s3://bucket/prefix/")    # after every shard: the manifests, duplicates across shards

Batches are pyarrow RecordBatches (or anything with ``__arrow_c_array__``); they cross into Rust
through the Arrow C data interface, without a copy. Spark: :mod:`prep.spark`; Ray Data:
:mod:`prep.ray`.
"""

import json
import os

from . import _prep

__version__ = _prep.__version__
Error = _prep.Error
RowRejected = _prep.RowRejected
__all__ = ["encode", "ShardWriter", "merge", "options", "key_columns", "map_entities", "Error",
           "RowRejected"]

_DEFAULTS = {
    "map": None,
    "entity": None,
    "key": None,
    "sort_key": None,
    "gsi": [],
    "table": None,
    "format": "dynamodb-json",
    "compress": "zstd",
    "compress_level": None,
    "part_size": 512 << 20,
    "nulls": "omit",
    "timestamps": "rfc3339",
    "types": {},
    "set": {},
    "select": None,
    "drop": [],
    "rename": {},
    "ttl": None,
    "duplicates": "warn",
    "on_error": "reject",
    "force": False,
    "report": False,
    "price_per_gb": None,
    "profile": None,
    "region": None,
    "endpoint_url": None,
    "path_style": False,
    "concurrency": 8,
    "chunk_size": 16 << 20,
    "max_attempts": 8,
}


def options(**given):
    """The conversion options, named as the CLI names them (``sort_key`` for ``--sort-key``):
    key, sort_key, gsi (list of ``INDEX=PK:T[,SK:T]``), table, format (``dynamodb-json`` or
    ``ion``), compress (``none``, ``gzip``, ``zstd``), compress_level, part_size (bytes), nulls
    (``omit``, ``null``), timestamps (``rfc3339``, ``epoch-s``, ``epoch-ms``, ``epoch-us``),
    types (``{column: "SS:;"}``), duplicates (``warn``, ``error``, ``off``), on_error
    (``reject``, ``fail``), force; report (``prep convert --report``: with the shard writer,
    Spark and Ray the merge writes report.json and report.html) and price_per_gb; for S3:
    profile, region, endpoint_url, path_style, concurrency, chunk_size, max_attempts.

    Several entity types into one table: ``map="shop.toml"`` (a ``prep convert --map`` file:
    the keys and shaping come from it) with ``entity="order"`` (the entity type of these rows).

    Single-table design: ``key="PK=CUSTOMER#{customer_id}"`` (and ``sort_key``) computes the
    key from a template; set (``{"GSI1PK": "EMAIL#{email}", "total:N": "{cents}"}``, in order),
    select and drop (lists of source columns), rename (``{old: new}``), ttl (``"expires"`` to
    check an attribute, ``"expires=created_at+90d"`` to compute epoch seconds). Templates as
    ``prep convert --help`` describes them."""
    unknown = set(given) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    o = dict(_DEFAULTS, **given)
    if o["map"] is not None:
        o["map"] = os.fspath(o["map"])
    elif not o["key"]:
        raise ValueError("key is required: the partition key, NAME[:S|N|B] (or map=FILE.toml)")
    o["gsi"] = list(o["gsi"] or [])
    o["types"] = dict(o["types"] or {})
    sets = o["set"] or {}
    o["set"] = [(str(k), str(v)) for k, v in (sets.items() if isinstance(sets, dict) else sets)]
    o["rename"] = [(str(k), str(v)) for k, v in dict(o["rename"] or {}).items()]
    for name in ("select", "drop"):
        if isinstance(o[name], str):
            raise ValueError(f"{name} takes a list of column names, not a string")
    o["select"] = None if o["select"] is None else list(o["select"])
    o["drop"] = list(o["drop"] or [])
    return o


def _check_against(schema, settings):
    """Bind the options to ``schema`` (templates' columns, select, rename, the key columns) on
    an empty batch, so that a bad option fails here rather than in every worker."""
    import pyarrow as pa

    encode(pa.RecordBatch.from_pylist([], schema=schema), **settings)


def map_entities(path):
    """A map file's entity types in order, each with the source columns its partition key
    reads: ``[("customer", ["id"]), ("order", ["customer_id"])]``."""
    return _prep.map_entities(os.fspath(path))


def key_columns(spec):
    """The source columns the key ``spec`` reads: its name (``"pk:S"`` → ``["pk"]``), or the
    columns of its template (``"PK=C#{id}#{a.b}"`` → ``["id", "a"]``)."""
    return _prep.key_columns(spec)


def encode(batch, source="batch", first_row=0, **opts):
    """Encode one record batch as ``prep convert`` does: ``(data, rejects, stats)`` — the items
    as bytes (one DynamoDB JSON or Ion line each), the rejected rows as dicts (row, code, rule,
    message, values), and counts with the resolved key schema."""
    data, rejects, _items, stats = _prep.encode(batch, options(**opts), source, first_row)
    return data, [json.loads(r) for r in rejects], json.loads(stats)


class ShardWriter:
    """One shard (``index`` of ``count``) of a conversion into ``out`` (a folder or
    ``s3://bucket/prefix/``): its parts, rejects, keys and report, as ``prep convert --shard``
    writes them. ``input_names`` names the conversion's inputs (the same in every shard; by
    default one per shard, ``part I``); this shard's batches come from ``input_names[source]``
    (default: its own). In a map's run (``map=``), ``input_entities`` gives each input's entity
    type (default: ``entity`` for all)."""

    def __init__(self, out, index, count, schema, input_names=None, source=None,
                 input_entities=None, **opts):
        names = list(input_names) if input_names is not None else [f"part {i}" for i in range(count)]
        src = index if source is None else source
        entities = None if input_entities is None else list(input_entities)
        if entities is None and opts.get("entity") is not None:
            entities = [opts["entity"]] * len(names)
        self._w = _prep.ShardWriter(os.fspath(out), index, count, schema, names, src,
                                    options(**opts), entities)

    def write(self, batch):
        self._w.write(batch)

    def close(self):
        """Finish the parts and write the report; the shard's summary (a dict)."""
        return json.loads(self._w.close())

    def abort(self):
        """Drop everything this shard wrote."""
        self._w.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def merge(out, force=False, **aws):
    """``prep merge``: the shards in ``out`` made one import folder; its summary (a dict)."""
    o = options(key="unused", force=force, **aws)
    return json.loads(_prep.merge_shards(os.fspath(out), o))
