#!/usr/bin/env python3
"""`prep merge` of many shards holding many keys: --keys generated rows (one key in a hundred
repeats an earlier one) converted as --shards shard processes (`prep convert --shard I/N`, zstd
parts) into one folder, then `prep merge` of the folder with the default --dup-memory, timed with
its peak RSS, and the duplicates it found checked against the generator's count.

Run through benches/compare.sh --merge-scale-only (it builds prep in release mode). Results:
BENCHMARKS.md.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

from compare import PREP, ROOT


def timed(cmd):
    """(seconds, peak RSS in MB) of one command, which must succeed."""
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        sys.exit(f"{cmd[:2]} failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t, int(r.stderr.strip().splitlines()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=50_000_000)
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    data = os.path.join(args.work, f"keys-{args.keys}.csv")
    if not os.path.exists(data):
        # Item i repeats the key of item i/3 when i % 100 == 99 (one that carries its own key).
        awk = ('BEGIN{print "pk,n"} {i=$1; k=i; if (i%100==99) {k=int(i/3); if (k%100==99) k=k-1};'
               ' printf "k%011d,%d\\n", k, i%1000}')
        with open(data + ".tmp", "w") as f:
            seq = subprocess.Popen(["seq", "0", str(args.keys - 1)], stdout=subprocess.PIPE)
            subprocess.run(["awk", awk], stdin=seq.stdout, stdout=f, check=True)
            seq.wait()
        os.replace(data + ".tmp", data)
    out = os.path.join(args.work, "merge-scale-out")
    shutil.rmtree(out, ignore_errors=True)
    shard_s, shard_rss = [], []
    for i in range(args.shards):
        s, rss = timed([PREP, "convert", data, "--key", "pk", "--compress", "zstd", "--out", out,
                        "--shard", f"{i}/{args.shards}", "--quiet"])
        shard_s.append(s)
        shard_rss.append(rss)
    keys_bytes = sum(os.path.getsize(os.path.join(out, "shards", f)) for f in os.listdir(os.path.join(out, "shards")))
    merge_s, merge_rss = timed([PREP, "merge", out, "--quiet"])
    dups = sum(1 for _ in open(os.path.join(out, "duplicates.jsonl")))
    want = args.keys // 100
    print(f"{args.keys:,} keys in {args.shards} shards: shards {sum(shard_s):.1f} s in all "
          f"(peak RSS up to {max(shard_rss):.0f} MB), their files under shards/ {keys_bytes / 1e9:.2f} GB; "
          f"merge {merge_s:.1f} s, peak RSS {merge_rss:.0f} MB; {dups:,} duplicates (generated: {want:,})")
    if dups != want:
        sys.exit("the merge's duplicates differ from the generator's")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
