#!/usr/bin/env python3
"""Single-table design's cost, on the benchmark Parquet file, in one run: the plain conversion
against the same rows with three key/attribute templates and a TTL (PK, SK with a date and a
zero-padded integer, GSI1PK, expires from a timestamp); and, given the previous release's
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
    plain, shaped = interleaved(
        lambda: run(convert(PREP, inp, out + "-plain", PLAIN)),
        lambda: run(convert(PREP, inp, out + "-shaped", SHAPED)),
        args.runs,
    )
    print(f"{'plain conversion':<44} {plain:.3f} s")
    print(f"{'3 templates + TTL':<44} {shaped:.3f} s   {100 * (shaped / plain - 1):+.1f} %", flush=True)
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
