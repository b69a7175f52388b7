"""Avro files written by fastavro (another implementation than prep's reader) with every type,
in every codec, and the same values as Parquet written by pyarrow (tests/avro.rs)."""
import datetime, decimal, sys, uuid
import fastavro
import pyarrow as pa, pyarrow.parquet as pq

out, codec = sys.argv[1], sys.argv[2]
if codec == "union":
    # A union of two types besides null: refused, naming the field.
    s = {"type": "record", "name": "U", "fields": [{"name": "id", "type": "string"},
         {"name": "either", "type": ["null", "int", "string"]}]}
    with open(out, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(s), [{"id": "a", "either": 1}, {"id": "b", "either": "x"}])
    sys.exit(0)
schema = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "string"},
    {"name": "n_int", "type": "int"},
    {"name": "n_long", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "ok", "type": "boolean"},
    {"name": "raw", "type": "bytes"},
    {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "opt", "type": ["null", "string"], "default": None},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "t_ms", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "t_us", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "lts_us", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "long"}},
    {"name": "addr", "type": {"type": "record", "name": "Addr", "fields": [
        {"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "int"]},
        {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}}]}},
    {"name": "ids", "type": {"type": "array", "items": {"type": "string", "logicalType": "uuid"}}},
]}
utc = datetime.timezone.utc
rows = []
for i in range(300):
    rows.append({
        # One empty key, late in the file (in a later work unit): rejected with its row.
        "id": "" if i == 257 else f"k{i:04d}", "n_int": -i * 7, "n_long": 2**53 + i, "f": 1.5 * i, "d": 0.1 * i,
        "ok": i % 2 == 0, "raw": bytes([i % 256, 0, 255]), "fx": bytes([1, 2, 3, i % 256]),
        "color": "GREEN" if i % 3 else "RED", "opt": None if i % 4 == 0 else f"o{i}",
        "dec": decimal.Decimal(f"{'-' if i % 5 == 0 else ''}{i}12345678901234567890.0123456789"),
        "day": datetime.date(2024, 2, 29) + datetime.timedelta(days=i),
        "t_ms": datetime.time(13, 14, 15, 123000), "t_us": datetime.time(23, 59, 59, 999999),
        "ts_ms": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=utc) + datetime.timedelta(hours=i),
        "ts_us": datetime.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=utc) + datetime.timedelta(seconds=i),
        "lts_us": datetime.datetime(2024, 6, 1, 12, 0, 0, 5),
        "u": str(uuid.UUID(int=(i * 0x1234567890ABCDEF) % (1 << 128))),
        "tags": [f"t{j}" for j in range(i % 3)], "attrs": {f"a{j}": j * i for j in range(i % 4)},
        "addr": {"city": f"c{i % 7}", "zip": None if i % 2 else 10000 + i,
                 "ref": str(uuid.UUID(int=i + 1))},
        "ids": [str(uuid.UUID(int=(i << 64) + j)) for j in range(i % 3)],
    })
with open(out + ".avro", "wb") as f:
    fastavro.writer(f, fastavro.parse_schema(schema), rows, codec=codec, sync_interval=2000)
if codec == "null":
    # The same values as Parquet, written by pyarrow with the Arrow types they map to.
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    t = pa.table({
        "id": pa.array(cols["id"]), "n_int": pa.array(cols["n_int"], pa.int32()),
        "n_long": pa.array(cols["n_long"], pa.int64()), "f": pa.array(cols["f"], pa.float32()),
        "d": pa.array(cols["d"], pa.float64()), "ok": pa.array(cols["ok"]),
        "raw": pa.array(cols["raw"], pa.binary()), "fx": pa.array(cols["fx"], pa.binary(4)),
        "color": pa.array(cols["color"]), "opt": pa.array(cols["opt"], pa.string()),
        "dec": pa.array(cols["dec"], pa.decimal128(38, 10)), "day": pa.array(cols["day"], pa.date32()),
        "t_ms": pa.array(cols["t_ms"], pa.time32("ms")), "t_us": pa.array(cols["t_us"], pa.time64("us")),
        "ts_ms": pa.array(cols["ts_ms"], pa.timestamp("ms", tz="UTC")),
        "ts_us": pa.array(cols["ts_us"], pa.timestamp("us", tz="UTC")),
        "lts_us": pa.array(cols["lts_us"], pa.timestamp("us")),
        "u": pa.array(cols["u"]),
        "tags": pa.array(cols["tags"], pa.list_(pa.string())),
        "attrs": pa.array([list(m.items()) for m in cols["attrs"]], pa.map_(pa.string(), pa.int64())),
        "addr": pa.array(cols["addr"], pa.struct([("city", pa.string()), ("zip", pa.int32()),
                                                  ("ref", pa.string())])),
        "ids": pa.array(cols["ids"], pa.list_(pa.string())),
    })
    pq.write_table(t, out + ".parquet")
