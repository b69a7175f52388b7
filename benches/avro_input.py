#!/usr/bin/env python3
"""Avro input: `prep convert` of the benchmark rows written as an Avro object container file (by
fastavro, deflate codec, as Kafka Connect and Spark commonly write) against `prep convert` of the
same rows as Parquet, in one run. DuckDB's Avro extension and Spark's spark-avro are fetched from
their own repositories at run time, which this machine cannot reach, so they are not measured.

Run through benches/compare.sh --avro-only (it builds prep in release mode; needs
scripts/install-test-tools.sh for fastavro). Results: BENCHMARKS.md.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

import fastavro
import pyarrow.parquet as pq

from compare import PREP, ROOT, generate

SCHEMA = {"type": "record", "name": "Row", "fields": [
    {"name": "pk", "type": "string"},
    {"name": "sk", "type": "long"},
    {"name": "name", "type": ["null", "string"]},
    {"name": "price", "type": ["null", "double"]},
    {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}]},
    {"name": "flag", "type": ["null", "boolean"]},
    {"name": "ts", "type": ["null", {"type": "long", "logicalType": "local-timestamp-micros"}]},
    {"name": "note", "type": ["null", "string"]},
    {"name": "qty", "type": ["null", "int"]},
]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    base = os.path.join(args.work, f"data-{args.rows}")
    if not os.path.exists(base + ".parquet"):
        generate(base, args.rows)
    avro = base + ".avro"
    if not os.path.exists(avro):
        f = pq.ParquetFile(base + ".parquet")
        schema = fastavro.parse_schema(SCHEMA)
        with open(avro + ".tmp", "wb") as out:
            w = fastavro.write.Writer(out, schema, codec="deflate")
            for rb in f.iter_batches(batch_size=65536):
                for r in rb.to_pylist():
                    w.write(r)
            w.flush()
        os.replace(avro + ".tmp", avro)
    key = ["--key", "pk:S", "--sort-key", "sk:N", "--compress", "none", "--quiet"]
    times = {"avro": [], "parquet": []}
    for _ in range(args.runs):
        for name, path in (("avro", avro), ("parquet", base + ".parquet")):
            out = os.path.join(args.work, f"avro-bench-{name}")
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            r = subprocess.run([PREP, "convert", path, *key, "--out", out], capture_output=True, text=True)
            times[name].append(time.perf_counter() - t)
            if r.returncode not in (0, 1):
                sys.exit(f"prep failed on {path}: {r.stderr[-2000:]}")
            shutil.rmtree(out, ignore_errors=True)
    size = os.path.getsize(avro) / 1e6
    for name in ("avro", "parquet"):
        ts = times[name]
        print(f"{args.rows:,} rows from {name:<8} {statistics.median(ts):6.3f} s  ({min(ts):.3f}–{max(ts):.3f})"
              + (f", {size:.0f} MB deflate Avro" if name == "avro" else ""), flush=True)


if __name__ == "__main__":
    main()
