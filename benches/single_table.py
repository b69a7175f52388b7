#!/usr/bin/env python3
"""Single-table design's cost, on the benchmark Parquet file, in one run: three key/attribute
templates and a TTL (PK, SK with a date and a zero-padded integer, GSI1PK, expires from a
timestamp) against the plain conversion of the same rows with those attributes computed
beforehand by pyarrow (the same items, compared byte for byte); and, given the previous release's
binary (--base-bin), the plain conversion head to head with it, outputs compared byte for byte.
Run through benches/compare.sh --single-table-only (it builds prep in release mode)."""
import argparse
import filecmp
import os
import shutil

from compare import PREP, ROOT, generate, interleaved, run

PLAIN = ["--key", "pk", "--sort-key", "sk"]
SHAPED = [
    "--key", "PK=USER#{pk}",
    "--sort-key", "SK=ORDER#{ts:%Y-%m-%d}#{sk:010}",
    "--set", "GSI1PK=NAME#{name}",
    "--ttl", "expires=ts+90d",
]


def convert(binary, inp, out, keys):
    shutil.rmtree(out, ignore_errors=True)
    return [binary, "convert", inp, "--out", out, *keys, "--compress", "none",
            "--duplicates", "off", "--quiet", "--force"]


def precomputed(inp, path):
    """The benchmark rows with the shaped run's attributes computed beforehand (pyarrow), as a
    team would in SQL first: converting it plainly gives the same items as the templates."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if os.path.exists(path):
        return
    t = pq.read_table(inp)
    join = lambda *parts: pc.binary_join_element_wise(*parts, "")
    t = t.append_column("PK", join("USER#", t["pk"]))
    sk = pc.utf8_lpad(pc.cast(t["sk"], pa.string()), width=10, padding="0")
    t = t.append_column("SK", join("ORDER#", pc.strftime(t["ts"], format="%Y-%m-%d"), "#", sk))
    t = t.append_column("GSI1PK", join("NAME#", t["name"]))
    seconds = pc.divide(pc.cast(t["ts"], pa.int64()), 1_000_000)
    t = t.append_column("expires", pc.add(seconds, 90 * 86_400))
    pq.write_table(t, path, compression="snappy", row_group_size=100_000)


def same_parts(a, b):
    names = sorted(os.listdir(os.path.join(a, "data")))
    if names != sorted(os.listdir(os.path.join(b, "data"))):
        return False
    return all(filecmp.cmp(os.path.join(a, "data", n), os.path.join(b, "data", n), shallow=False)
               for n in names)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--base-bin", help="the previous prep binary, for the plain head-to-head")
    args = p.parse_args()
    work = os.path.join(ROOT, "target", "bench")
    os.makedirs(work, exist_ok=True)
    base = os.path.join(work, f"mixed-{args.rows}")
    if not os.path.exists(base + ".parquet"):
        generate(base, args.rows)
    inp = base + ".parquet"
    out = os.path.join(work, "single-table")
    pre = base + "-precomputed.parquet"
    precomputed(inp, pre)
    plain, shaped = interleaved(
        lambda: run(convert(PREP, pre, out + "-pre", ["--key", "PK", "--sort-key", "SK"])),
        lambda: run(convert(PREP, inp, out + "-shaped", SHAPED)),
        args.runs,
    )
    same = same_parts(out + "-pre", out + "-shaped")
    print(f"{'the same items from precomputed columns':<44} {plain:.3f} s")
    print(f"{'3 templates + TTL':<44} {shaped:.3f} s   {100 * (shaped / plain - 1):+.1f} %   "
          f"parts byte-identical: {same}", flush=True)
    if not same:
        raise SystemExit("the templates' items differ from the precomputed columns'")
    bare, _ = interleaved(
        lambda: run(convert(PREP, inp, out + "-plain", PLAIN)),
        lambda: 0.0,
        args.runs,
    )
    print(f"{'the rows without the computed attributes':<44} {bare:.3f} s   (the items are smaller)")
    if args.base_bin:
        ours, theirs = interleaved(
            lambda: run(convert(PREP, inp, out + "-plain", PLAIN)),
            lambda: run(convert(args.base_bin, inp, out + "-base", PLAIN)),
            args.runs,
        )
        same = same_parts(out + "-plain", out + "-base")
        print(f"{'plain: this build vs --base-bin':<44} {ours:.3f} s vs {theirs:.3f} s   "
              f"{100 * (ours / theirs - 1):+.1f} %   parts byte-identical: {same}")
        if not same:
            raise SystemExit("the plain conversion's parts differ from the base binary's")


if __name__ == "__main__":
    main()
