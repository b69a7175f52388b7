#!/usr/bin/env bash
# Builds the wheel: the `prep` CLI binary (release) goes into the wheel's scripts, beside the
# `prep` Python module. Output: python/dist/prep_dynamodb-*.whl (abi3: one wheel per platform
# for every CPython from 3.9; OUT=folder puts it elsewhere).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked --bin prep --manifest-path ../Cargo.toml
rm -rf prep.data && mkdir -p prep.data/scripts
cp ../target/release/prep prep.data/scripts/prep
"${PYTHON:-../.venv/bin/python}" -m maturin build --release --strip --locked --out "${OUT:-dist}" "$@"
