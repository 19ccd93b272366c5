"""The inference server under sustained concurrent load: RSS over time, and the worst request's time.

32 keep-alive clients send a mix of lengths (one short message, one long message that is windowed,
lists of 8 to 64 messages of mixed lengths, and a request at the cost bound) for `--seconds`; the
server's RSS is sampled every few seconds. A serverless endpoint has 1-6 GB and is killed and
cold-started past it: the RSS must reach a plateau, not grow with the traffic.

    python -m bench --only memory            # 180 s
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import MESSAGE, REPO
from bench.serving import _rss_mb
from handlers.inference.settings import Limits
from handlers.invocation import CONTENT_TYPE, request_body

CLIENTS = 32
WORDS = (MESSAGE + " quarterly planning notes, the release train and the on-call rota").split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _body(rng: random.Random) -> bytes:
    """One request of the mix, each kind equally likely; only the chosen one is built (the client shares
    the machine's cores with the server)."""
    kind = rng.randrange(4)
    if kind == 0:
        return request_body(_text(rng, rng.randint(3, 40)))
    if kind == 1:
        return request_body(_text(rng, rng.randint(200, 2000)))  # windowed
    if kind == 2:
        return request_body([_text(rng, rng.randint(2, 120)) for _ in range(rng.randint(8, 64))])
    # At the cost bound: as many 64-token windows as one request may ask for.
    return request_body([_text(rng, 45) for _ in range(Limits().max_windows_per_request)])


def _start_server(model_dir: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    child = subprocess.Popen([sys.executable, "-m", "handlers.inference", "serve", "--model-dir", str(model_dir),
                              "--host", "127.0.0.1", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env)
    port = json.loads(child.stdout.readline())["port"]
    threading.Thread(target=lambda: [None for _ in child.stdout], daemon=True).start()
    return child, port


def _worst_alone(port: int) -> dict:
    """The costliest requests one at a time: the largest allowed, and the issue's 1 MB of punctuation."""
    rng = random.Random(7)
    limits = Limits()
    at_bound = request_body([_text(rng, 45) for _ in range(limits.max_windows_per_request)])
    punctuation = request_body(["!?" * 1_900] * limits.max_inputs)  # ~1 MB, ~3,800 tokens per input
    out = {}
    for name, body in (("at_the_bound", at_bound), ("punctuation_1mb", punctuation)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.perf_counter()
        conn.request("POST", "/invocations", body=body, headers={"Content-Type": CONTENT_TYPE})
        response = conn.getresponse()
        response.read()
        out[f"{name}_ms"] = round((time.perf_counter() - started) * 1e3, 1)
        out[f"{name}_status"] = response.status
        out[f"{name}_bytes"] = len(body)
    return out


def bench_memory(model_dir: Path, seconds: float = 180.0, sample_every_s: float = 10.0) -> dict:
    child, port = _start_server(model_dir)
    stop = threading.Event()
    worst = {"ms": 0.0}
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            body = _body(rng)
            started = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body=body, headers={"Content-Type": CONTENT_TYPE})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = (time.perf_counter() - started) * 1e3
            with lock:
                counts["requests"] += 1
                counts["errors"] += not ok
                worst["ms"] = max(worst["ms"], elapsed)

    alone = _worst_alone(port)
    rss = [(0.0, round(_rss_mb(child.pid), 1))]
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        while (elapsed := time.perf_counter() - started) < seconds:
            time.sleep(sample_every_s)
            rss.append((round(time.perf_counter() - started, 1), round(_rss_mb(child.pid), 1)))
            print(f"  {rss[-1][0]:6.1f} s  RSS {rss[-1][1]:7.1f} MB  requests {counts['requests']}", flush=True)
        stop.set()
        for thread in threads:
            thread.join(timeout=70)
    finally:
        child.terminate()
        child.wait(timeout=10)
    return {**alone, "clients": CLIENTS, "seconds": round(elapsed, 1), **counts,
            "worst_request_ms": round(worst["ms"], 1), "rss_mb_over_time": rss,
            "rss_mb_start": rss[0][1], "rss_mb_max": max(r for _, r in rss), "rss_mb_end": rss[-1][1]}
