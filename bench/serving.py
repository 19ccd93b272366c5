"""The inference server over HTTP: latency, throughput, start time, RSS and the serving image's packages."""

from __future__ import annotations

import http.client
import importlib.metadata as md
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import MESSAGE, REPO, percentiles, timed


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def _installed_mb(requirements: Path) -> dict[str, float]:
    """Installed size of the requirements and everything they pull in, from this environment."""
    seen: dict[str, float] = {}
    todo = [re.split(r"[=<>\[; ]", line.strip())[0] for line in requirements.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen[name] = sum((Path(str(dist.locate_file(f))).stat().st_size for f in dist.files or []
                          if Path(str(dist.locate_file(f))).is_file()), 0) / 1e6
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(re.split(r"[=<>!~\[; (]", req.strip())[0])
    return {k: round(v, 1) for k, v in sorted(seen.items(), key=lambda kv: -kv[1])}


def bench_http(model_dir: Path) -> dict:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "handlers.inference", "serve", "--model-dir", str(model_dir),
                              "--host", "127.0.0.1", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        port = json.loads(child.stdout.readline())["port"]
        # Keep draining its request log: a full pipe would block the server.
        threading.Thread(target=lambda: [None for _ in child.stdout], daemon=True).start()
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.005)
        start_to_ping_ms = (time.perf_counter() - started) * 1e3
        single = json.dumps({"inputs": MESSAGE}).encode()
        headers = {"Content-Type": "application/json"}

        def post(body: bytes, connection: http.client.HTTPConnection) -> None:
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latency = percentiles(timed(lambda: post(single, conn), 2000, 100))

        # One request at a time, as a serverless instance receives them; all cores on each list.
        batch = json.dumps({"inputs": [MESSAGE[: 40 + 3 * i] for i in range(32)]}).encode()
        sent, started_at = 0, time.perf_counter()
        while time.perf_counter() - started_at < 10:
            post(batch, conn)
            sent += 32
        throughput = sent / (time.perf_counter() - started_at)
        rss = _rss_mb(child.pid)
    finally:
        child.terminate()
        child.wait(timeout=10)
    packages = _installed_mb(REPO / "handlers" / "inference" / "requirements.txt")
    return {
        "start_to_first_ping_ms": round(start_to_ping_ms, 1),
        "single_message_over_http": latency,
        "batch32_throughput_msgs_per_s": round(throughput, 1),
        "rss_mb_after_load": round(rss, 1),
        "image_python_packages_mb": round(sum(packages.values()), 1),
        "image_packages": packages,
    }
