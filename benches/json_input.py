#!/usr/bin/env python3
"""Plain JSON Lines input: `prep convert` of generated documents with nested objects and arrays,
against DuckDB's read_json with hand-written SQL that writes the same DynamoDB JSON, against the
usual Python script (json.loads + boto3's TypeSerializer + json.dumps per document), and, per
input byte, against `prep convert` of the same items as DynamoDB JSON. All in one run, medians
of --runs runs taken alternately; before any time is reported, prep's items and DuckDB's are
checked to decode to the same values on a sample.

Run through benches/compare.sh --json-only (it builds prep in release mode and installs duckdb
and boto3). Results: BENCHMARKS.md.
"""
import argparse
import decimal
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

from compare import PREP, ROOT, duck_lines, interleaved, run, settle

KEY = ["--key", "pk:S", "--sort-key", "sk:N", "--compress", "none", "--quiet", "--force"]

CITIES = ["Oslo", "Lima", "Kyoto", "Accra", "Quito", "Perth", "Tromsø", "Zürich"]


def generate(path, rows, seed=11):
    """Documents as an event or document store writes them: a string key and an integer sort
    key, exact decimals, text with escapes, a list of strings, a nested object, a list of
    objects, a boolean, and a field that half of the documents lack."""
    rnd = random.Random(seed)
    with open(path + ".tmp", "w") as f:
        for i in range(rows):
            d = {
                "pk": f"user#{rnd.randrange(rows // 4 + 1)}",
                "sk": i,
                "name": f"name {rnd.randrange(10**6)} \"q\" é",
                "price": "\u0000price",
                "tags": [f"t{rnd.randrange(50)}" for _ in range(rnd.randrange(1, 4))],
                "addr": {"city": rnd.choice(CITIES), "zip": f"{rnd.randrange(10**5):05d}"},
                "events": [{"t": 1_700_000_000 + rnd.randrange(10**7), "n": rnd.randrange(100)}
                           for _ in range(rnd.randrange(1, 3))],
                "active": rnd.random() < 0.5,
            }
            if rnd.random() < 0.5:
                d["note"] = "x" * rnd.randrange(1, 40)
            # The price as a JSON number with its two decimals, as written by the source.
            price = f"{rnd.randrange(10**8) // 100}.{rnd.randrange(100):02d}"
            f.write(json.dumps(d, ensure_ascii=False).replace('"\\u0000price"', price, 1) + "\n")
    os.replace(path + ".tmp", path)


DUCK_SQL = """
SELECT '{"Item":{"pk":{"S":' || to_json(pk) || '},"sk":{"N":"' || CAST(sk AS VARCHAR) || '"}'
  || ',"name":{"S":' || to_json(name) || '}'
  || ',"price":{"N":"' || CAST(price AS VARCHAR) || '"}'
  || ',"tags":{"L":[' || array_to_string(list_transform(tags, lambda x: '{"S":' || to_json(x) || '}'), ',') || ']}'
  || ',"addr":{"M":{"city":{"S":' || to_json(addr.city) || '},"zip":{"S":' || to_json(addr.zip) || '}}}'
  || ',"events":{"L":[' || array_to_string(list_transform(events, lambda e: '{"M":{"t":{"N":"' || CAST(e.t AS VARCHAR) || '"},"n":{"N":"' || CAST(e.n AS VARCHAR) || '"}}}'), ',') || ']}'
  || ',"active":{"BOOL":' || CASE WHEN active THEN 'true' ELSE 'false' END || '}'
  || CASE WHEN note IS NULL THEN '' ELSE ',"note":{"S":' || to_json(note) || '}' END
  || '}}' AS line
FROM read_json('{inp}', format='newline_delimited', columns={
  pk: 'VARCHAR', sk: 'BIGINT', name: 'VARCHAR', price: 'DECIMAL(18,2)', tags: 'VARCHAR[]',
  addr: 'STRUCT(city VARCHAR, zip VARCHAR)', events: 'STRUCT(t BIGINT, n BIGINT)[]',
  active: 'BOOLEAN', note: 'VARCHAR'})
"""


def duck(inp, out, threads):
    return duck_lines(DUCK_SQL.replace('{inp}', inp), out, "none", threads)


def python_script(inp, out, limit):
    """json.loads (decimals kept) + boto3 TypeSerializer + json.dumps per document."""
    from boto3.dynamodb.types import TypeSerializer
    ser = TypeSerializer()
    settle()
    t = time.perf_counter()
    n = 0
    with open(inp) as f, open(out, "w") as o:
        for line in f:
            d = json.loads(line, parse_float=decimal.Decimal)
            item = {k: ser.serialize(v) for k, v in d.items() if v is not None}
            o.write(json.dumps({"Item": item}, default=str) + "\n")
            n += 1
            if n >= limit:
                break
    return time.perf_counter() - t, n


def plain(av):
    (t, v), = av.items()
    if t == "N":
        return ("N", decimal.Decimal(v).normalize())
    if t == "L":
        return ("L", tuple(plain(x) for x in v))
    if t == "M":
        return ("M", tuple(sorted((k, plain(x)) for k, x in v.items())))
    return (t, v)


def items(lines):
    out = {}
    for line in lines:
        item = json.loads(line)["Item"]
        out[(item["pk"]["S"], item["sk"]["N"])] = {k: plain(v) for k, v in item.items()}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python-rows", type=int, default=100_000)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    docs = os.path.join(args.work, f"docs-{args.rows}.jsonl")
    if not os.path.exists(docs):
        generate(docs, args.rows)
    threads = os.cpu_count()
    out = os.path.join(args.work, "json-bench-prep")
    duck_out = os.path.join(args.work, "json-bench-duck.json")

    # The same items, checked on a sample before anything is timed.
    sample = os.path.join(args.work, "docs-sample.jsonl")
    with open(docs) as f, open(sample, "w") as s:
        for _, line in zip(range(20_000), f):
            s.write(line)
    run([PREP, "convert", sample, *KEY, "--out", out])
    duck(sample, duck_out, threads)
    with open(duck_out) as f:
        want = items(f)
    got = {}
    for p in sorted(os.listdir(os.path.join(out, "data"))):
        with open(os.path.join(out, "data", p)) as f:
            got.update(items(f))
    if got != want:
        diff = next(k for k in want if got.get(k) != want[k])
        sys.exit(f"prep and DuckDB differ at {diff}: {got.get(diff)} against {want[diff]}")
    print(f"checked: prep and DuckDB write the same {len(got):,} items from the sample")

    # prep's own output is the DynamoDB JSON input of the per-byte comparison.
    run([PREP, "convert", docs, *KEY, "--out", out])
    ddb = os.path.join(args.work, f"docs-{args.rows}-ddb.json")
    parts = sorted(os.listdir(os.path.join(out, "data")))
    with open(ddb, "wb") as o:
        for p in parts:
            with open(os.path.join(out, "data", p), "rb") as f:
                shutil.copyfileobj(f, o)
    out2 = os.path.join(args.work, "json-bench-prep-ddb")

    t_prep, t_duck = interleaved(
        lambda: run([PREP, "convert", docs, *KEY, "--out", out]),
        lambda: duck(docs, duck_out, threads),
        args.runs,
    )
    t_docs, t_ddb = interleaved(
        lambda: run([PREP, "convert", docs, *KEY, "--out", out]),
        lambda: run([PREP, "convert", ddb, *KEY, "--out", out2]),
        args.runs,
    )
    py_t, py_n = python_script(docs, os.path.join(args.work, "json-bench-python.json"), args.python_rows)
    py_full = py_t * args.rows / py_n
    mb_docs = os.path.getsize(docs) / 1e6
    mb_ddb = os.path.getsize(ddb) / 1e6
    print(f"{args.rows:,} documents, {mb_docs:.0f} MB of JSON Lines ({mb_ddb:.0f} MB as DynamoDB JSON), {threads} threads")
    print(f"prep convert JSON Lines            {t_prep:7.3f} s")
    print(f"DuckDB read_json + SQL             {t_duck:7.3f} s   prep is {t_duck / t_prep:.2f}x faster")
    print(f"Python json + TypeSerializer       {py_full:7.1f} s   (extrapolated from {py_n:,} documents) prep is {py_full / t_prep:.0f}x faster")
    print(f"per input byte: JSON Lines {mb_docs / t_docs:6.0f} MB/s ({t_docs:.3f} s), DynamoDB JSON {mb_ddb / t_ddb:6.0f} MB/s ({t_ddb:.3f} s)")
    for p in (out, out2):
        shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
