#!/usr/bin/env python3
"""Many small S3 objects (as Spark, Glue and Athena write them): `prep convert s3://bucket/prefix/`
of --objects CSV objects of --rows rows each, against downloading the same objects with boto3
one after the other and with 8 and 32 threads, on a local S3 server (s3s-fs) directly and through a
proxy that delays every request by --delay-ms (as a distant region would: there the request
count decides the time). The proxy also counts prep's requests.

Run through benches/compare.sh --small-objects-only (it builds prep in release mode and installs
boto3); needs scripts/install-test-tools.sh for s3s-fs. Results: BENCHMARKS.md.
"""
import argparse
import concurrent.futures
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config

from compare import PREP, ROOT
from s3_paths import S3S_FS, SECRET, start_s3s_fs

METHODS = (b"GET ", b"HEAD ", b"PUT ", b"POST ", b"DELETE ")


class DelayProxy:
    """A TCP proxy in front of `port` that waits `delay` seconds before passing on each request
    (a client chunk that starts with an HTTP method) and counts them."""

    def __init__(self, port, delay):
        self.port, self.delay, self.requests = port, delay, 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, False), daemon=True).start()

    def pipe(self, src, dst, requests):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if requests and data.startswith(METHODS):
                    with self.lock:
                        self.requests += 1
                    if self.delay:
                        time.sleep(self.delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def client(url):
    return boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key=SECRET,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, max_pool_connections=64))


def download(url, keys, dest, threads):
    """The user's script: list (already done) and get every object into `dest`."""
    s3 = client(url)

    def get(k):
        with open(os.path.join(dest, k.replace("/", "_")), "wb") as f:
            f.write(s3.get_object(Bucket="bkt", Key=k)["Body"].read())

    if threads == 1:
        for k in keys:
            get(k)
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            list(ex.map(get, keys))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--delay-ms", type=float, default=20)
    ap.add_argument("--threads", default="1,8,32",
                    help="the boto3 downloads' thread counts (1: one object after the other)")
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    args = ap.parse_args()
    if not os.path.exists(S3S_FS):
        sys.exit("s3s-fs is missing: run scripts/install-test-tools.sh")
    root = os.path.join(args.work, "s3root-small")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    server, port = start_s3s_fs(root)
    proxy = None
    try:
        url = f"http://127.0.0.1:{port}"
        s3 = client(url)
        s3.create_bucket(Bucket="bkt")
        keys = [f"small/part-{i:05d}.csv" for i in range(args.objects)]

        def put(i):
            rows = "".join(f"{i}-{r},{r},name {i * 31 + r}\n" for r in range(args.rows))
            s3.put_object(Bucket="bkt", Key=keys[i], Body=("id,n,name\n" + rows).encode())

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(put, range(args.objects)))
        total = sum(o["Size"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt", Prefix="small/")
                    for o in p.get("Contents", []))
        proxy = DelayProxy(port, args.delay_ms / 1000)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1")
        env.pop("AWS_PROFILE", None)

        def prep(endpoint):
            out = tempfile.mkdtemp(dir=args.work)
            try:
                cmd = [PREP, "convert", "s3://bkt/small/", "--key", "id", "--out", os.path.join(out, "o"),
                       "--endpoint-url", endpoint, "--path-style", "--quiet"]
                r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if r.returncode != 0:
                    sys.exit(f"prep failed: {r.stderr[-2000:]}")
            finally:
                shutil.rmtree(out, ignore_errors=True)

        def boto(endpoint, threads):
            dest = tempfile.mkdtemp(dir=args.work)
            try:
                download(endpoint, keys, dest, threads)
            finally:
                shutil.rmtree(dest, ignore_errors=True)

        paths = [("prep convert", lambda e: prep(e))]
        for t in (int(x) for x in args.threads.split(",")):
            paths.append((f"boto3 download, {t} thread{'s' if t > 1 else ''}", lambda e, t=t: boto(e, t)))
        for label, endpoint in (("local S3 server", url), (f"+{args.delay_ms:g} ms per request", proxy.url)):
            times = {name: [] for name, _ in paths}
            requests = None
            for _ in range(args.runs):
                for name, run in paths:
                    before = proxy.requests
                    t = time.perf_counter()
                    run(endpoint)
                    times[name].append(time.perf_counter() - t)
                    if name == "prep convert" and endpoint == proxy.url:
                        requests = proxy.requests - before
            print(f"{args.objects:,} CSV objects of {args.rows} rows ({total / 1e6:.1f} MB), {label}, "
                  f"median of {args.runs}:", flush=True)
            for name, _ in paths:
                ts = times[name]
                print(f"  {name:<28} {statistics.median(ts):7.2f} s   ({min(ts):.2f}–{max(ts):.2f})", flush=True)
            if requests is not None:
                print(f"  prep's requests: {requests:,} ({requests / args.objects:.2f} per object)", flush=True)
    finally:
        if proxy:
            proxy.close()
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
