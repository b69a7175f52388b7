#!/usr/bin/env bash
# Installs what some tests use beyond cargo, from the package registries:
#   .venv/                         pre-commit (the hook test), jsonschema (the SARIF schema test),
#                                  moto server + awscrt + crc32c (the S3 / DynamoDB test double),
#                                  maturin, pytest, pyarrow, pandas, PySpark, boto3, Ray Data (the
#                                  Python package's tests; PySpark runs on the machine's Java 17)
#   target/test-tools/             the official SARIF 2.1.0 JSON schema (shipped in @microsoft/jest-sarif),
#                                  s3s-fs (an S3 server over a folder that rejects bad digests and keeps
#                                  its state across restarts: the resume test; ~5 min to build once)
#   chromium (Debian's, by apt-get)  the browser the HTML report of prep inspect is opened in
# Without them those checks are skipped locally; under CI=true they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check 'pre-commit==4.7.0' 'jsonschema==4.26.0' \
  'moto[server]==5.2.5' 'awscrt==0.38.1' 'crc32c==2.9.post0' \
  'maturin==1.9.6' 'pytest==8.4.2' 'pyarrow==21.0.0' 'pandas==2.3.3' 'pyspark==4.0.1' 'boto3' \
  'ray[data]==2.50.1' 'fastavro==1.12.1' 'cramjam==2.11.0' 'zstandard==0.25.0'
mkdir -p target/test-tools
if [ ! -s target/test-tools/sarif-schema-2.1.0.json ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null && tar xzf ./*.tgz)
  cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" target/test-tools/sarif-schema-2.1.0.json
  rm -rf "$tmp"
fi
if [ ! -x target/test-tools/s3s-fs/bin/s3s-fs ]; then
  cargo install s3s-fs@0.14.1 --features binary --locked --root target/test-tools/s3s-fs --quiet
fi
if ! command -v chromium >/dev/null 2>&1; then
  # Twice: a mirror that fails once (or a package list being refreshed) should not fail CI.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    for _ in 1 2; do
      apt-get update -qq || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && break
      sleep 10
    done
    apt-get clean || true # the downloaded packages: disk the builds need
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    for _ in 1 2; do
      sudo apt-get update -qq || true
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && break
      sleep 10
    done
    sudo apt-get clean || true
  else
    echo "chromium is not installed and cannot be installed here (apt-get as root): the HTML report test is skipped (fails under CI)" >&2
  fi
fi
echo "test tools ready: .venv/bin/pre-commit, target/test-tools/sarif-schema-2.1.0.json, chromium"
