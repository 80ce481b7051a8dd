#!/usr/bin/env python
"""Benchmark S: the price of an object store. W1 (every value, ``--workers 2``) read from a local S3 server against
the same files on disk; write BENCHMARKS.md's S section.

Run with the project's interpreter after tools/bench.py, which writes the W1 files (``make bench`` runs it; this
script replaces only the part of BENCHMARKS.md between its markers)::

    .venv/bin/python tools/bench_remote.py [--output BENCHMARKS.md] [--repeat 3]

The store is moto's S3 server (``moto[server]``, the test extra) on 127.0.0.1, reached by s3fs with
``--storage-option endpoint_url=...``: a store on the same machine, so the figure is the cost of lossctl's remote
path (listing, ranged header reads, whole-object reads, the server's own CPU on the same two cores), not of a
network. The runs alternate (disk, store) in rounds; each figure is the median over the rounds, and the ratio the
median of the ratios within a round. The two JSON reports must be the same once the URL prefix is written as the
local folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_section import write_section

ROOT = Path(__file__).resolve().parents[1]
W1 = ROOT / "bench_data" / "W1"
OUT = ROOT / "bench_data" / "runs"
BEGIN = "<!-- BEGIN S store (tools/bench_remote.py) -->"
END = "<!-- END S store -->"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU of the process tree) of one run, which must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = child.stderr.read() if child.stderr else b""
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (W1 / "pred").is_dir():
        raise SystemExit(f"{W1} is missing: run tools/bench.py first (it writes the W1 files)")
    try:
        import s3fs
        from moto.server import ThreadedMotoServer
    except ImportError as missing:
        raise SystemExit(f"{missing.name} is missing: pip install -e '.[test]' (s3fs and moto[server])") from None

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(ROOT)}
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        fs = s3fs.S3FileSystem(endpoint_url=endpoint)
        fs.mkdir("bench")
        start = time.perf_counter()
        for side in ("pred", "gt"):
            for path in sorted((W1 / side).iterdir()):
                fs.pipe_file(f"bench/W1/{side}/{path.name}", path.read_bytes())
        upload = time.perf_counter() - start
        OUT.mkdir(parents=True, exist_ok=True)
        local_json, store_json = OUT / "W1-disk-w2.json", OUT / "W1-store-w2.json"
        disk = [sys.executable, "-m", "lossctl", "seg", str(W1 / "pred"), str(W1 / "gt"), "-f", "json", "-o",
                str(local_json), "--workers", "2"]
        store = [sys.executable, "-m", "lossctl", "seg", "s3://bench/W1/pred", "s3://bench/W1/gt", "-f", "json", "-o",
                 str(store_json), "--workers", "2", "--storage-option", f"endpoint_url={endpoint}"]
        rounds = []
        for r in range(args.repeat):
            print(f"round {r + 1} of {args.repeat}", flush=True)
            rounds.append((timed(disk, env), timed(store, env)))
    finally:
        server.stop()

    local_doc = json.loads(local_json.read_text())
    store_doc = json.loads(store_json.read_text().replace("s3://bench/W1", str(W1)))
    store_doc["config"].pop("storage_options", None)
    same = local_doc == store_doc
    wall_d = statistics.median(d[0] for d, _ in rounds)
    wall_s = statistics.median(s[0] for _, s in rounds)
    cpu_d = statistics.median(d[1] for d, _ in rounds)
    cpu_s = statistics.median(s[1] for _, s in rounds)
    ratio = statistics.median(s[0] / d[0] for d, s in rounds)
    files = sum(1 for side in ("pred", "gt") for _ in (W1 / side).iterdir())
    size = sum(p.stat().st_size for side in ("pred", "gt") for p in (W1 / side).iterdir()) / 2**20
    lines = [BEGIN, "## S: W1 from an S3 store (tools/bench_remote.py)", "",
             f"W1 ({files} files, {size:,.0f} MiB) uploaded in {upload:.1f} s to moto's S3 server on 127.0.0.1 "
             "and evaluated from there with every value and `--workers 2`, against the same files on disk "
             f"(median of {args.repeat} alternating rounds; the server's own CPU shares the two cores, and is not "
             "in the CPU column, which counts lossctl's processes).", "",
             "| run | wall (s) | CPU (s) |", "| --- | ---: | ---: |",
             f"| files on disk | {wall_d:.2f} | {cpu_d:.2f} |",
             f"| `s3://` through s3fs | {wall_s:.2f} | {cpu_s:.2f} |", "",
             f"The price of the store: **{ratio:.2f}x** the wall time of the disk run (a figure, no target). "
             f"JSON reports the same apart from the paths' spelling: **{'yes' if same else 'NO'}**.", END]
    section = "\n".join(lines) + "\n"
    write_section(args.output, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
