#!/usr/bin/env python3
"""S3 → S3: `prep convert s3://… --out s3://…` against the three-step path a user has today
(download with boto3, `prep convert` to a local folder, `prep upload`), on the same local S3
server (s3s-fs, from scripts/install-test-tools.sh) and the same input, in one run.

Reported per path: wall time (median of --runs, the paths run alternately), peak RSS of the
largest process, and peak local disk used under the work folder. Run through
benches/compare.sh --s3-only (it builds prep in release mode and installs boto3).
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

import boto3
from botocore.config import Config

from compare import PREP, ROOT, generate

S3S_FS = os.path.join(ROOT, "target", "test-tools", "s3s-fs", "bin", "s3s-fs")
SECRET = "test-secret-do-not-print"
KEY = ["--key", "pk", "--sort-key", "sk", "--duplicates", "off"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3s_fs(root):
    """An s3s-fs server over `root` on a free port, once it accepts connections: (process, port)."""
    port = free_port()
    server = subprocess.Popen([S3S_FS, "--host", "127.0.0.1", "--port", str(port), "--access-key", "test",
                               "--secret-key", SECRET, root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, port


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


class DiskWatch:
    """Peak bytes under a folder, sampled every 20 ms while a path runs."""

    def __init__(self, path):
        self.path, self.peak, self.stop = path, 0, False

    def __enter__(self):
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()
        return self

    def loop(self):
        while not self.stop:
            self.peak = max(self.peak, du(self.path))
            time.sleep(0.02)

    def __exit__(self, *a):
        self.stop = True
        self.t.join()
        self.peak = max(self.peak, du(self.path))


def timed(cmd, env):
    """(seconds, peak RSS in MB) of one command."""
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t, int(r.stderr.strip().splitlines()[-1]) / 1024


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    if not os.path.exists(S3S_FS):
        sys.exit("s3s-fs is missing: run scripts/install-test-tools.sh")
    os.makedirs(args.work, exist_ok=True)
    base = os.path.join(args.work, f"data-{args.rows}")
    if not os.path.exists(base + ".parquet"):
        generate(base, args.rows)
    root = os.path.join(args.work, "s3root")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    server, port = start_s3s_fs(root)
    try:
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1")
        env.pop("AWS_PROFILE", None)
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key=SECRET,
                          region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="bkt")
        s3.upload_file(base + ".parquet", "bkt", "in/data.parquet")
        size = os.path.getsize(base + ".parquet")
        aws = ["--endpoint-url", url, "--path-style"]
        local = os.path.join(args.work, "s3-local")

        def clear(prefix):
            """Untimed: the output prefix empty before each run (`prep upload` would skip
            objects already there; `--force` makes the direct path delete its own)."""
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt", Prefix=prefix):
                for o in page.get("Contents", []):
                    s3.delete_object(Bucket="bkt", Key=o["Key"])

        def direct():
            clear("direct/")
            t, rss = timed([PREP, "convert", "s3://bkt/in/data.parquet", "--out", "s3://bkt/direct/", *KEY,
                            *aws, "--force", "--quiet"], env)
            return t, rss, 0

        dl = os.path.join(ROOT, "benches", "s3_download.py")

        def three_step():
            clear("three/")
            shutil.rmtree(local, ignore_errors=True)
            os.makedirs(local)
            with DiskWatch(local) as w:
                t1, r1 = timed([sys.executable, dl, url, SECRET, "bkt", "in/data.parquet",
                                os.path.join(local, "data.parquet")], env)
                t2, r2 = timed([PREP, "convert", os.path.join(local, "data.parquet"), "--out",
                                os.path.join(local, "out"), *KEY, "--quiet"], env)
                t3, r3 = timed([PREP, "upload", os.path.join(local, "out"), "s3://bkt/three/", *aws,
                                "--force", "--quiet"], env)
            shutil.rmtree(local, ignore_errors=True)
            return t1 + t2 + t3, max(r1, r2, r3), w.peak

        # Both write the same parts (sizes and checksums) before anything is timed.
        direct()
        three_step()
        def manifest(prefix):
            body = s3.get_object(Bucket="bkt", Key=f"{prefix}/manifest-files.json")["Body"].read().decode()
            return [(l.split('"md5Checksum":')[1].split(",")[0]) for l in body.splitlines()]
        assert manifest("direct") == manifest("three"), "the two paths wrote different parts"
        print(f"checked: both paths put the same {len(manifest('direct'))} parts (MD5s) in S3", flush=True)

        a, b = [], []
        for i in range(args.runs):
            order = [(direct, a), (three_step, b)] if i % 2 == 0 else [(three_step, b), (direct, a)]
            for f, into in order:
                os.sync()
                into.append(f())
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        print(f"S3 → S3, {args.rows:,} rows, {size / 1e6:.0f} MB Parquet in, local S3 server (s3s-fs), median of {args.runs}:")
        print(f"  {'prep convert s3:// --out s3://':<40} {med(a, 0):7.2f} s   peak RSS {max(x[1] for x in a):5.0f} MB   peak local disk {max(x[2] for x in a) / 1e6:7.1f} MB")
        print(f"  {'boto3 download + convert + upload':<40} {med(b, 0):7.2f} s   peak RSS {max(x[1] for x in b):5.0f} MB   peak local disk {max(x[2] for x in b) / 1e6:7.1f} MB")
        print(f"  ratio (three-step / direct): {med(b, 0) / med(a, 0):.2f}x", flush=True)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
