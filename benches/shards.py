#!/usr/bin/env python3
"""`prep convert --shard I/N` + `prep merge` against one process, on the benchmark Parquet file,
in one run: N shard processes started together (each with cores/N threads), then the merge;
and the merge's time against the number of keys it checks for duplicates. Run through
benches/compare.sh --shards-only (it builds prep in release mode)."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from compare import PREP, ROOT, generate

KEY = ["--key", "pk", "--sort-key", "sk", "--quiet", "--force"]


def one(inp, out, threads):
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    t = time.perf_counter()
    subprocess.run([PREP, "convert", inp, "--out", out, *KEY, "--threads", str(threads)], check=True)
    return time.perf_counter() - t


def sharded(inp, out, n, threads):
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    t = time.perf_counter()
    per = max(1, threads // n)
    procs = [subprocess.Popen([PREP, "convert", inp, "--out", out, *KEY, "--threads", str(per),
                               "--shard", f"{i}/{n}"]) for i in range(n)]
    for p in procs:
        if p.wait() != 0:
            sys.exit("a shard failed")
    t_conv = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([PREP, "merge", out, "--quiet"], check=True)
    return t_conv, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    base = os.path.join(args.work, f"data-{args.rows}")
    if not os.path.exists(base + ".parquet"):
        generate(base, args.rows)
    inp = base + ".parquet"
    threads = os.cpu_count()
    out = os.path.join(args.work, "shards-out")
    # The outputs agree before anything is timed.
    one(inp, out + "-one", threads)
    sharded(inp, out, 2, threads)
    lines = lambda p: subprocess.run(f"zstdcat {p}/data/* | sha256sum", shell=True, check=True,
                                     capture_output=True, text=True).stdout
    assert lines(out + "-one") == lines(out), "the merged items differ from one run's"
    print(f"checked: {args.rows:,} rows, the merged shards hold one run's items in order", flush=True)
    print(f"{args.rows:,} rows of Parquet, {threads} cores, median of {args.runs}:")
    t_one = statistics.median(one(inp, out + "-one", threads) for _ in range(args.runs))
    print(f"  one process ({threads} threads)                 {t_one:7.2f} s", flush=True)
    for n in (2, 4, 8):
        runs = [sharded(inp, out, n, threads) for _ in range(args.runs)]
        c = statistics.median(r[0] for r in runs)
        m = statistics.median(r[1] for r in runs)
        print(f"  {n} shard processes + merge                 {c:7.2f} s + {m:5.2f} s   ratio {t_one / (c + m):4.2f}x", flush=True)
    # The merge against the number of keys it checks.
    for rows in (250_000, 1_000_000, args.rows):
        b = os.path.join(args.work, f"data-{rows}")
        if not os.path.exists(b + ".parquet"):
            generate(b, rows)
        _, m = sharded(b + ".parquet", out, 2, threads)
        ms = [sharded(b + ".parquet", out, 2, threads)[1] for _ in range(args.runs)]
        print(f"  merge of 2 shards, {rows:>9,} keys        {statistics.median(ms):7.2f} s", flush=True)


if __name__ == "__main__":
    main()
