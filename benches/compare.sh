#!/usr/bin/env bash
# Side-by-side benchmark: prep vs DuckDB vs the usual Python script, in one run.
#   benches/compare.sh [--rows 2000000] [--runs 3] [--python-rows 100000] [--big-gb 2] [--hostile-only]
#   benches/compare.sh --s3-only [--rows N] [--runs N]   (S3 → S3 against the three-step path; needs
#   scripts/install-test-tools.sh for the local S3 server)
#   benches/compare.sh --small-objects-only [--objects N] [--rows N] [--runs N] [--delay-ms MS] [--threads 1,8,32]   (many
#   small S3 objects: prep against boto3 downloads, directly and through a proxy adding latency)
#   benches/compare.sh --avro-only [--rows N] [--runs N]   (an Avro file against the same rows in Parquet)
#   benches/compare.sh --merge-scale-only [--keys 50000000] [--shards 20]   (prep merge of many shards' keys)
#   benches/compare.sh --shards-only [--rows N] [--runs N]   (N shard processes + merge against one)
#   benches/compare.sh --single-table-only [--rows N] [--runs N] [--base-bin OLD_PREP]
#   (three templates and a TTL against the plain conversion; the plain one against an older build)
#   benches/compare.sh --spark-only [--rows N] [--runs N]    (prep.spark against mapPartitions + TypeSerializer;
#   needs the Python test tools and the extension: cd python && maturin develop --release)
# Builds prep (release), installs duckdb, pyarrow and boto3 into .venv, generates the dataset
# under target/bench/ once, checks that prep and DuckDB write the same items, then prints medians
# and ratios. Results and method: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin prep --example serde_baseline --example checksum_baseline
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check 'duckdb==2.0.0' 'pyarrow' 'boto3'
if [ "${1:-}" = "--spark-only" ]; then
    shift
    exec .venv/bin/python benches/spark_paths.py "$@"
fi
if [ "${1:-}" = "--single-table-only" ]; then
    shift
    exec .venv/bin/python benches/single_table.py "$@"
fi
if [ "${1:-}" = "--shards-only" ]; then
    shift
    exec .venv/bin/python benches/shards.py "$@"
fi
if [ "${1:-}" = "--avro-only" ]; then
    shift
    exec .venv/bin/python benches/avro_input.py "$@"
fi
if [ "${1:-}" = "--merge-scale-only" ]; then
    shift
    exec .venv/bin/python benches/merge_scale.py "$@"
fi
if [ "${1:-}" = "--small-objects-only" ]; then
    shift
    exec .venv/bin/python benches/small_objects.py "$@"
fi
if [ "${1:-}" = "--s3-only" ]; then
    shift
    exec .venv/bin/python benches/s3_paths.py "$@"
fi
exec .venv/bin/python benches/compare.py "$@"
