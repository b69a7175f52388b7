"""The Python package against the CLI: the same bytes from the same rows, and Spark (local
mode) writing a whole import folder that `prep validate` passes and that holds the items a
single `prep convert` run writes. Run by the repository's test command (tests/python.rs)."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import prep

ROOT = Path(__file__).resolve().parents[2]
PREP = os.environ.get("PREP_BIN", str(ROOT / "target" / "debug" / "prep"))
FIXTURES = ROOT / "fixtures"


def cli(*args, check=True):
    r = subprocess.run([PREP, *map(str, args)], capture_output=True, text=True)
    if check and r.returncode not in (0, 1):
        raise AssertionError(f"prep {' '.join(map(str, args))}: {r.returncode}\n{r.stderr}")
    return r


def part_lines(out):
    """The items of an output folder, in part order."""
    lines = []
    for p in sorted((Path(out) / "data").iterdir()):
        raw = p.read_bytes()
        if p.suffix == ".gz":
            raw = gzip.decompress(raw)
        elif p.suffix == ".zst":
            raw = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
        # Not splitlines(): JSON strings may hold U+2028 and other line ends unescaped.
        lines.extend(l for l in raw.decode().split("\n") if l)
    return lines


def jsonl(path):
    p = Path(path)
    return [json.loads(l) for l in p.read_text().split("\n") if l] if p.exists() else []


def typed_table():
    """Every kind of column a DataFrame hands over, with nulls, escapes and rows that fail."""
    import datetime as dt
    import decimal

    n = 40
    return pa.table({
        "pk": pa.array([None if i in (5, 23) else f"k{i % 31} \"é\"\n\u2028" for i in range(n)]),
        "i": pa.array([i * 1_000_003 - 7 if i % 6 else None for i in range(n)], pa.int64()),
        "f": pa.array([i / 7 if i % 4 else float("nan") if i == 8 else None for i in range(n)]),
        "d": pa.array([decimal.Decimal(i * 1001) / 100 for i in range(n)], pa.decimal128(12, 2)),
        "b": pa.array([bool(i % 3) for i in range(n)]),
        "t": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(seconds=i * 3671) for i in range(n)],
                      pa.timestamp("us", tz="UTC")),
        "bin": pa.array([bytes([i, 0, 255]) for i in range(n)]),
        "tags": pa.array([[f"t{j}" for j in range(i % 4)] for i in range(n)], pa.list_(pa.string())),
        "m": pa.array([[("a", i), ("b", -i)] if i % 5 else None for i in range(n)],
                      pa.map_(pa.string(), pa.int64())),
        "s": pa.array([{"x": i, "y": f"s{i}"} for i in range(n)],
                      pa.struct([("x", pa.int32()), ("y", pa.string())])),
    })


@pytest.mark.parametrize("fmt", ["dynamodb-json", "ion"])
def test_encode_gives_the_clis_bytes(tmp_path, fmt):
    src = tmp_path / "typed.parquet"
    pq.write_table(typed_table(), src)
    out = tmp_path / "cli"
    cli("convert", src, "--out", out, "--key", "pk", "--format", fmt, "--compress", "none", "-q")
    data, rejects, first = b"", [], 0
    for batch in pq.read_table(src).to_batches(max_chunksize=3):
        d, r, stats = prep.encode(batch, source=str(src), first_row=first, key="pk", format=fmt)
        assert stats["rows"] == batch.num_rows
        assert stats["items"] + stats["rejected"] == batch.num_rows
        data += d
        rejects += r
        first += batch.num_rows
    assert [l for l in data.decode().split("\n") if l] == part_lines(out)
    assert rejects == jsonl(out / "rejects.jsonl")


@pytest.mark.parametrize("fixture", ["types.arrow", "types.arrows"])
@pytest.mark.parametrize("fmt", ["dynamodb-json", "ion"])
def test_encode_gives_the_clis_bytes_on_the_fixtures(tmp_path, fixture, fmt):
    """The fixture with every Arrow type prep maps (dictionaries, dates, times, decimals,
    fixed-size lists, maps, nested structs, nulls), read by pyarrow."""
    import pyarrow.ipc as ipc

    src = FIXTURES / fixture
    out = tmp_path / "cli"
    cli("convert", src, "--out", out, "--key", "pk", "--format", fmt, "--compress", "none", "-q")
    reader = ipc.open_file(src) if fixture.endswith(".arrow") else ipc.open_stream(src)
    table = reader.read_all()
    data, rejects, first = b"", [], 0
    for batch in table.to_batches(max_chunksize=2):
        d, r, _ = prep.encode(batch, source=str(src), first_row=first, key="pk", format=fmt)
        data += d
        rejects += r
        first += batch.num_rows
    assert [l for l in data.decode().split("\n") if l] == part_lines(out)
    assert rejects == jsonl(out / "rejects.jsonl")


def test_options_are_checked():
    b = pa.record_batch({"pk": ["a"]})
    with pytest.raises(ValueError):
        prep.encode(b, key="pk", compress="brotli")
    with pytest.raises(TypeError):
        prep.encode(b, key="pk", colour="red")
    with pytest.raises(RuntimeError, match="pk2"):
        prep.encode(b, key="pk2")


SINGLE_TABLE = dict(
    key="PK=CUSTOMER#{c}",
    sort_key="SK=ORDER#{at:%Y-%m-%d}#{id:06}",
    set={"GSI1PK": "ORDER#{id}", "type": "Order", "cents:N": "{id}00"},
    drop=["note", "at"],
    rename={"email": "mail"},
    ttl="expires=at+90d",
)
SINGLE_TABLE_ARGS = ["--key", "PK=CUSTOMER#{c}", "--sort-key", "SK=ORDER#{at:%Y-%m-%d}#{id:06}",
                     "--set", "GSI1PK=ORDER#{id}", "--set", "type=Order", "--set", "cents:N={id}00",
                     "--drop", "note,at", "--rename", "email=mail", "--ttl", "expires=at+90d"]


def orders_table():
    import datetime as dt

    n = 50
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "c": pa.array([None if i == 7 else f"c{i % 9}" for i in range(n)]),
        "at": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(hours=i * 13) for i in range(n)],
                       pa.timestamp("ms", tz="UTC")),
        "email": pa.array([f"u{i}@x.com" for i in range(n)]),
        "note": pa.array(["n"] * n),
    })


def test_single_table_options_give_the_clis_bytes(tmp_path):
    """Key templates, set, drop, rename and a computed TTL: prep.encode writes what `prep
    convert` writes, batch by batch, rejects included (a null customer)."""
    src = tmp_path / "orders.parquet"
    pq.write_table(orders_table(), src)
    out = tmp_path / "cli"
    cli("convert", src, "--out", out, *SINGLE_TABLE_ARGS, "--compress", "none", "-q")
    data, rejects, first = b"", [], 0
    for batch in pq.read_table(src).to_batches(max_chunksize=7):
        d, r, stats = prep.encode(batch, source=str(src), first_row=first, **SINGLE_TABLE)
        assert stats["items"] + stats["rejected"] == batch.num_rows
        data += d
        rejects += r
        first += batch.num_rows
    lines = [l for l in data.decode().split("\n") if l]
    assert lines == part_lines(out)
    assert len(lines) == 49
    item = json.loads(lines[0])["Item"]
    assert item["PK"] == {"S": "CUSTOMER#c0"} and item["SK"] == {"S": "ORDER#2024-01-01#000000"}
    assert item["cents"] == {"N": "0"} and item["mail"] == {"S": "u0@x.com"} and "note" not in item
    assert item["expires"] == {"N": str(1704067200 + 90 * 86400)}
    assert [r["code"] for r in rejects] == ["M001"] and rejects == jsonl(out / "rejects.jsonl")
    assert prep.key_columns(SINGLE_TABLE["sort_key"]) == ["at", "id"]
    assert prep.key_columns("pk:S") == ["pk"]


def test_errors_are_prep_errors_with_rule_codes_in_pythons_words(tmp_path):
    """Bad arguments raise ValueError naming the problem; failures raise prep.Error (a
    RuntimeError); a row that fails under on_error="fail" raises prep.RowRejected with its rule
    code and reject line; messages name this module's keywords, not the CLI's flags."""
    b = pa.record_batch({"pk": ["a", None], "l": [[1], [2]]})
    with pytest.raises(ValueError, match='key type "Q" is not S, N or B'):
        prep.encode(b, key="pk:Q")
    with pytest.raises(prep.Error) as e:
        prep.encode(b, key="l")
    assert isinstance(e.value, RuntimeError)
    assert "key=l:S" in str(e.value) and "--key" not in str(e.value)
    w = prep.ShardWriter(tmp_path / "o", 0, 1, b.schema, key="pk", on_error="fail")
    with pytest.raises(prep.RowRejected) as e:
        w.write(b)
    assert e.value.code == "K001"
    assert e.value.reject["row"] == 2 and e.value.reject["code"] == "K001"
    assert isinstance(e.value, prep.Error)
    w.abort()


def test_single_table_options_are_checked():
    b = pa.record_batch({"id": [1], "c": ["x"]})
    with pytest.raises(ValueError, match="no closing"):
        prep.encode(b, key="PK=C#{c")
    with pytest.raises(ValueError, match="not S or N"):
        prep.encode(b, key="id", set={"x:Q": "1"})
    with pytest.raises(ValueError, match="duration"):
        prep.encode(b, key="id", ttl="exp=c+9x")
    with pytest.raises(ValueError, match="list of column names"):
        prep.encode(b, key="id", drop="c")
    with pytest.raises(RuntimeError, match="did you mean"):
        prep.encode(b, key="PK=C#{cc}")
    shop = FIXTURES / "single-table" / "shop.toml"
    with pytest.raises(ValueError, match="leave out key"):
        prep.encode(b, map=shop, entity="customer", key="id")
    with pytest.raises(RuntimeError, match="no entity type"):
        prep.encode(b, map=shop, entity="nobody")
    assert prep.map_entities(shop) == [("customer", ["id"]), ("order", ["customer_id"]),
                                        ("line", ["order_id"])]


def test_a_shard_writer_and_merge_write_the_clis_folder(tmp_path):
    src = tmp_path / "typed.parquet"
    pq.write_table(typed_table(), src)
    out_cli = tmp_path / "cli"
    cli("convert", src, "--out", out_cli, "--key", "pk", "--table", "tbl", "--compress", "gzip", "-q")
    table = pq.read_table(src)
    out = tmp_path / "py"
    with prep.ShardWriter(out, 0, 1, table.schema, input_names=[str(src)], source=0,
                          key="pk", table="tbl", compress="gzip") as w:
        for batch in table.to_batches(max_chunksize=4):
            w.write(batch)
    summary = prep.merge(out)
    assert part_lines(out) == part_lines(out_cli)
    assert jsonl(out / "rejects.jsonl") == jsonl(out_cli / "rejects.jsonl")
    assert (out / "import-table.json").read_text() == (out_cli / "import-table.json").read_text()
    want = json.loads((out_cli / "manifest-summary.json").read_text())
    got = json.loads((out / "manifest-summary.json").read_text())
    for k in ("itemCount", "rowsRead", "rejectedCount", "duplicateCount", "keySchema", "uncompressedBytes"):
        assert got[k] == want[k], k
    assert summary["itemsWritten"] == want["itemCount"]
    assert cli("validate", out).returncode == 0


def test_an_aborted_shard_leaves_nothing(tmp_path):
    b = pa.record_batch({"pk": ["a", "b"]})
    w = prep.ShardWriter(tmp_path / "o", 0, 2, b.schema, key="pk:S")
    w.write(b)
    w.abort()
    left = [p for p in (tmp_path / "o").rglob("*") if p.is_file() and not p.name.startswith(".prep-lock")]
    assert left == []
    with pytest.raises(RuntimeError, match="closed"):
        w.write(b)


# --- Spark ---------------------------------------------------------------------------------

def rows(n=30_000):
    """Rows with planted bad ones (no key) and keys repeated far apart (other partitions)."""
    out = []
    for i in range(n):
        pk = None if i % 4999 == 17 else f"user#{i % (n - 3000)}"
        out.append((pk, i % 11, f"name {i} \"q\"", i * 0.5 if i % 5 else None))
    return out


SCHEMA = "pk string, sk long, name string, score double"


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # The executors' Python workers get the environment Spark starts with: the test
    # credentials of the local S3 server must be in it already.
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
    s = (SparkSession.builder.master("local[2]").appName("prep-tests")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
         .getOrCreate())
    yield s
    s.stop()


def single_run(tmp_path, data):
    """The same rows through `prep convert` (written as Parquet by pyarrow)."""
    cols = list(zip(*data))
    t = pa.table({"pk": pa.array(cols[0], pa.string()), "sk": pa.array(cols[1], pa.int64()),
                  "name": pa.array(cols[2], pa.string()), "score": pa.array(cols[3], pa.float64())})
    src = tmp_path / "rows.parquet"
    pq.write_table(t, src)
    out = tmp_path / "single"
    cli("convert", src, "--out", out, "--key", "pk:S", "--compress", "gzip", "-q")
    return out


def test_spark_writes_an_import_folder_that_validates(spark, tmp_path):
    from prep.spark import write_import_files

    data = rows()
    df = spark.createDataFrame(data, SCHEMA)
    out = tmp_path / "spark"
    summary = write_import_files(df, str(out), key="pk:S", partitions=4, compress="gzip", report=True)
    single = single_run(tmp_path, data)
    want = json.loads((single / "manifest-summary.json").read_text())
    # report=True: each task's shard keeps its counts and the merge writes the run's report,
    # whose figures are those prep inspect gives of the folder.
    report = json.loads((out / "report.json").read_text())
    assert (out / "report.html").exists()
    assert report["volume"]["items"] == want["itemCount"]
    r = cli("inspect", out, "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    inspected = json.loads(r.stdout)
    # (The order of items is told per file: partitions there, parts here.)
    no_order = lambda keys: [{k: v for k, v in ix.items() if k != "order"} for ix in keys]
    assert no_order(report["keys"]) == no_order(inspected["keys"])
    sizes = lambda r: {k: v for k, v in r["item_sizes"].items() if k != "largest"}
    assert sizes(report) == sizes(inspected)
    assert summary["rowsRead"] == len(data)
    for k in ("itemCount", "rejectedCount", "duplicateCount"):
        assert json.loads((out / "manifest-summary.json").read_text())[k] == want[k], k
    assert sorted(part_lines(out)) == sorted(part_lines(single))
    assert len(jsonl(out / "rejects.jsonl")) == want["rejectedCount"] > 0
    dups = jsonl(out / "duplicates.jsonl")
    assert len(dups) == want["duplicateCount"] > 0
    r = cli("validate", out, "--output-format", "json")
    assert r.returncode == 0, r.stdout[-2000:]


def test_spark_encodes_partitions_where_they_are(spark, tmp_path):
    """No shuffle: each partition is one shard with exactly its rows, and the merge finds the
    keys repeated across partitions — the single run's duplicates, key for key."""
    from prep.spark import write_import_files

    data = rows()
    df = spark.createDataFrame(data, SCHEMA).coalesce(3)
    sizes = df.rdd.glom().map(len).collect()
    out = tmp_path / "spark"
    summary = write_import_files(df, str(out), key="pk:S", compress="gzip")
    shards = sorted((out / "shards").glob("shard-*-of-*.json"))
    assert [json.loads(p.read_text())["rowsRead"] for p in shards] == sizes
    single = single_run(tmp_path, data)
    want = jsonl(single / "duplicates.jsonl")
    got = jsonl(out / "duplicates.jsonl")
    assert summary["duplicateItems"] == len(want) > 0
    count = lambda ds: sorted((json.dumps(d["key"]), d["occurrence"]) for d in ds)
    assert count(got) == count(want)
    assert sorted(part_lines(out)) == sorted(part_lines(single))
    # In partition order, as a single run over the partitions one after the other finds them.
    firsts = [(d["duplicate"]["source"], d["duplicate"]["row"]) for d in got]
    order = [(int(s.split()[-1]), r) for s, r in firsts]
    assert order == sorted(order)


def test_spark_writes_a_single_table_design_as_the_cli_does(spark, tmp_path):
    """The same templates, set, rename and TTL through Spark (keys computed in the tasks):
    the items of one `prep convert` run, and a folder that validates with the TTL checked."""
    from prep.spark import write_import_files

    t = orders_table()
    src = tmp_path / "orders.parquet"
    pq.write_table(t, src)
    single = tmp_path / "single"
    cli("convert", src, "--out", single, *SINGLE_TABLE_ARGS, "--compress", "gzip", "-q")
    df = spark.createDataFrame(t.to_pandas())
    out = tmp_path / "spark"
    summary = write_import_files(df, str(out), partitions=3, compress="gzip", **SINGLE_TABLE)
    assert summary["rowsRead"] == 50 and summary["itemsWritten"] == 49
    assert sorted(part_lines(out)) == sorted(part_lines(single))
    assert [r["code"] for r in jsonl(out / "rejects.jsonl")] == ["M001"]
    r = cli("validate", out, "--ttl", "expires", "--output-format", "json")
    assert r.returncode == 0, r.stdout[-2000:]
    with pytest.raises(RuntimeError, match="did you mean"):
        write_import_files(df, str(tmp_path / "bad"), key="PK=C#{cc}", partitions=2)


def test_spark_writes_the_single_table_shop_from_a_map(spark, tmp_path):
    """fixtures/single-table: one DataFrame per entity type and the map file; the items, the
    counts per entity, the rejects and the duplicates of `prep convert --map` (timestamps aside:
    Spark holds microseconds where the Parquet file holds milliseconds)."""
    from pyspark.sql import functions as F

    from prep.spark import write_import_files

    shop = FIXTURES / "single-table"
    single = tmp_path / "single"
    cli("convert", "--map", shop / "shop.toml", "--out", single, "--compress", "gzip", "-q")
    read_csv = lambda name: spark.read.csv(str(shop / name), header=True, inferSchema=True)
    frames = {
        "customer": read_csv("customers.csv").withColumn("signed_up", F.col("signed_up").cast("string")),
        "order": spark.read.parquet(str(shop / "orders.parquet")),
        "line": read_csv("order_lines.csv"),
    }
    out = tmp_path / "spark"
    summary = write_import_files(frames, str(out), map=str(shop / "shop.toml"), partitions=2, compress="gzip")
    want = json.loads(cli("convert", "--map", shop / "shop.toml", "--out", tmp_path / "again",
                          "--json").stdout)
    assert summary["entities"] == want["entities"]
    assert summary["duplicateItems"] == want["duplicateItems"] == 1

    def normal(lines):
        items = []
        for l in lines:
            item = json.loads(l)["Item"]
            item.pop("created", None)
            if item["type"] == {"S": "Order"}:
                item.pop("GSI1SK")
            items.append(json.dumps(item, sort_keys=True))
        return sorted(items)

    assert normal(part_lines(out)) == normal(part_lines(single))
    rejects = jsonl(out / "rejects.jsonl")
    assert [(r["entity"], r["code"]) for r in rejects] == [("order", "M001")]
    dups = jsonl(out / "duplicates.jsonl")
    assert dups[0]["first"]["entity"] == dups[0]["duplicate"]["entity"] == "line"
    manifest = json.loads((out / "manifest-summary.json").read_text())
    assert {i["entity"] for i in manifest["inputs"]} == {"customer", "order", "line"}
    r = cli("validate", out, "--ttl", "expires", "--output-format", "json")
    assert r.returncode == 0, r.stdout[-2000:]


def test_int96_timestamps_from_spark_are_the_same_strings_through_the_cli(spark, tmp_path):
    """Spark writes timestamps as INT96 (UTC instants by its convention): `prep convert` of the
    Parquet files Spark wrote and `prep.spark` on the same rows give the same key strings."""
    import datetime as dt

    from prep.spark import write_import_files

    spark.conf.set("spark.sql.parquet.outputTimestampType", "INT96")
    # Not UTC: the instants must not move with the session's zone.
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    utc = dt.timezone.utc
    rows = [(f"e{i}", dt.datetime(2013, 1, 1, 10, 0, 0, 123456 * (i % 2), tzinfo=utc) + dt.timedelta(days=i),
             (i, dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc)),
             [dt.datetime(2024, 2, 29, 0, 0, i, tzinfo=utc)])
            for i in range(6)]
    df = spark.createDataFrame(
        rows, "id string, at timestamp, meta struct<n:int, seen:timestamp>, log array<timestamp>")
    written = tmp_path / "spark-parquet"
    df.coalesce(1).write.parquet(str(written))
    files = sorted(written.glob("part-*.parquet"))
    assert files
    schema = pq.ParquetFile(files[0]).schema
    assert schema.column(schema.names.index("at")).physical_type == "INT96"

    cli_out = tmp_path / "cli"
    r = cli("convert", *files, "--out", cli_out, "--key", "at:S", "--compress", "none", "-q")
    assert r.returncode == 0, r.stderr
    spark_out = tmp_path / "via-spark"
    write_import_files(spark.read.parquet(str(written)), str(spark_out), key="at:S", partitions=2,
                       compress="none")
    by_cli = sorted(part_lines(cli_out))
    assert by_cli == sorted(part_lines(spark_out))
    first = next(json.loads(l)["Item"] for l in by_cli if '"e0"' in l)
    assert first["at"] == {"S": "2013-01-01T10:00:00.000000Z"}
    assert first["meta"]["M"]["seen"] == {"S": "1969-12-31T23:59:59.999999Z"}
    assert first["log"]["L"] == [{"S": "2024-02-29T00:00:00.000000Z"}]
    spark.conf.unset("spark.sql.session.timeZone")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def moto():
    boto3 = pytest.importorskip("boto3")
    server = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not os.path.exists(server):
        pytest.skip("moto is not installed (scripts/install-test-tools.sh)")
    port = free_port()
    p = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.05)
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="bkt")
    yield url
    p.kill()
    p.wait()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_spark_writes_straight_to_s3(spark, moto, tmp_path):
    from prep.spark import write_import_files

    data = rows(8_000)
    df = spark.createDataFrame(data, SCHEMA)
    summary = write_import_files(df, "s3://bkt/spark/", key="pk:S", partitions=3, compress="gzip",
                                 endpoint_url=moto, path_style=True)
    single = single_run(tmp_path, data)
    want = json.loads((single / "manifest-summary.json").read_text())
    assert summary["itemsWritten"] == want["itemCount"]
    assert summary["duplicateItems"] == want["duplicateCount"]
    r = cli("validate", "s3://bkt/spark/", "--endpoint-url", moto, "--path-style", "--output-format", "json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "S3KeyPrefix spark/data/" in r.stdout


# --- Ray Data ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_writes_an_import_folder_that_validates(ray_local, tmp_path):
    import ray.data

    from prep.ray import write_import_files

    data = rows(6_000)
    cols = list(zip(*data))
    table = pa.table({"pk": pa.array(cols[0], pa.string()), "sk": pa.array(cols[1], pa.int64()),
                      "name": pa.array(cols[2], pa.string()), "score": pa.array(cols[3], pa.float64())})
    ds = ray.data.from_arrow(table).repartition(4)
    out = tmp_path / "ray"
    summary = write_import_files(ds, str(out), key="pk:S", partitions=5, compress="gzip")
    single = single_run(tmp_path, data)
    want = json.loads((single / "manifest-summary.json").read_text())
    assert summary["rowsRead"] == len(data)
    got = json.loads((out / "manifest-summary.json").read_text())
    for k in ("itemCount", "rejectedCount", "duplicateCount"):
        assert got[k] == want[k], k
    assert sorted(part_lines(out)) == sorted(part_lines(single))
    r = cli("validate", out, "--output-format", "json")
    assert r.returncode == 0, r.stdout[-2000:]


def test_ray_writes_a_single_table_design_as_the_cli_does(ray_local, tmp_path):
    """Key templates, set, drop, rename and a computed TTL through Ray: the CLI's items."""
    import ray.data

    from prep.ray import write_import_files

    t = orders_table()
    src = tmp_path / "orders.parquet"
    pq.write_table(t, src)
    single = tmp_path / "single"
    cli("convert", src, "--out", single, *SINGLE_TABLE_ARGS, "--compress", "gzip", "-q")
    out = tmp_path / "ray"
    summary = write_import_files(ray.data.from_arrow(t).repartition(3), str(out), partitions=3,
                                 compress="gzip", **SINGLE_TABLE)
    assert summary["rowsRead"] == 50 and summary["itemsWritten"] == 49
    assert sorted(part_lines(out)) == sorted(part_lines(single))
    assert [r["code"] for r in jsonl(out / "rejects.jsonl")] == ["M001"]
