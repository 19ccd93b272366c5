"""Benchmarks: `python -m bench --model-dir build/model [--only model,http,memory,slack,...]`.

One module per section. Prints a table per section and writes bench/results/<section>.json. Numbers
depend on the machine: the README's figures were taken on the project's 2-core machine with nothing
else running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from bench.common import REPO, RESULTS
from bench.cost import bench_cost
from bench.explain import bench_explain
from bench.generalization import bench_generalization
from bench.memory import bench_memory
from bench.model import bench_model
from bench.quality import bench_quality
from bench.serving import bench_http
from bench.slack import bench_slack
from bench.stack import bench_stack
from handlers.inference.artifact import missing_files

SECTIONS = {"model": bench_model, "explain": bench_explain, "http": bench_http, "memory": bench_memory,
            "slack": lambda _: bench_slack(), "stack": bench_stack, "quality": bench_quality,
            "generalization": bench_generalization, "cost": lambda _: bench_cost()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--model-dir", type=Path, default=REPO / "build" / "model")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {list(SECTIONS)}")
    args = parser.parse_args(argv)
    if missing_files(args.model_dir):
        print(f"no model at {args.model_dir}: run `make model` first", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
               "python": platform.python_version()}
    for name in args.only.split(","):
        result = {"machine": machine, **SECTIONS[name](args.model_dir)}
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
        print(f"== {name}")
        print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "image_packages")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
