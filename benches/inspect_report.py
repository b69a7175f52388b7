#!/usr/bin/env python3
"""`prep inspect` against `prep validate` of the same converted benchmark output (the goal of
#30: inspect at least as fast as validate), both reading every part and checking every rule;
inspect also profiles every item. Uncompressed and zstd parts, medians of alternating runs, and
peak RSS. Then `prep convert --report` against `prep convert` of the benchmark Parquet (the
goal: at most 5 % slower).

Run through benches/compare.sh --inspect-only (it builds prep in release mode). Results:
BENCHMARKS.md.
"""
import argparse
import os
import subprocess

from compare import PREP, ROOT, generate, interleaved, peak_rss, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    base = os.path.join(args.work, f"data-{args.rows}")
    if not os.path.exists(base + ".parquet"):
        generate(base, args.rows)
    for compress in ("none", "zstd"):
        out = os.path.join(args.work, f"inspect-bench-{compress}")
        subprocess.run([PREP, "convert", base + ".parquet", "--out", out, "--key", "pk:S",
                        "--sort-key", "sk:N", "--compress", compress, "--quiet", "--force"],
                       check=True)
        validate = [PREP, "validate", out, "--output-format", "json"]
        inspect = [PREP, "inspect", out, "--json"]
        html = os.path.join(args.work, f"inspect-bench-{compress}.html")
        t_v, t_i = interleaved(lambda: run(validate), lambda: run(inspect), args.runs)
        t_h = run(inspect + ["--html", html])
        print(f"parts {compress:<5} validate {t_v:6.3f} s   inspect {t_i:6.3f} s ({t_i / t_v:4.2f}x)"
              f"   inspect --html {t_h:6.3f} s   peak RSS validate {peak_rss(validate):.0f} MB,"
              f" inspect {peak_rss(inspect):.0f} MB", flush=True)
    for compress in ("none", "zstd"):
        def conv(extra):
            out = os.path.join(args.work, "inspect-bench-convert")
            return [PREP, "convert", base + ".parquet", "--out", out, "--key", "pk:S",
                    "--sort-key", "sk:N", "--compress", compress, "--quiet", "--force", *extra]
        t_c, t_r = interleaved(lambda: run(conv([])), lambda: run(conv(["--report"])), args.runs)
        print(f"convert {compress:<5} plain {t_c:6.3f} s   --report {t_r:6.3f} s ({t_r / t_c:4.2f}x)"
              f"   peak RSS {peak_rss(conv([])):.0f} / {peak_rss(conv(['--report'])):.0f} MB",
              flush=True)


if __name__ == "__main__":
    main()
