"""`python -m handlers.inference serve --model-dir <dir> --port 8080`

SageMaker starts the container with the single argument `serve`; the model archive is unpacked to
/opt/ml/model and the server must listen on port 8080.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from handlers.httpd import run_until_stopped
from handlers.inference.memory import bound_native_heap
from handlers.inference.model import ToxicityModel
from handlers.inference.server import make_server
from handlers.inference.settings import Limits, ModelSettings
from handlers.settings import SettingsError, from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.inference")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve /ping and /invocations")
    run.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    run.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container must listen on all interfaces
    run.add_argument("--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")))
    run.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: CPUs)")
    run.add_argument("--long-text", choices=("window", "truncate"), default=None)
    run.add_argument("--max-body-bytes", type=int, default=None)
    run.add_argument("--max-inputs", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(message)s", stream=sys.stdout)

    started = time.perf_counter()
    heap_bounded = bound_native_heap()
    try:  # DECORUM_* variables, then flags
        settings = from_env(ModelSettings, intra_op_threads=args.threads, long_text=args.long_text)
        limits = from_env(Limits, max_body_bytes=args.max_body_bytes, max_inputs=args.max_inputs)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        model = ToxicityModel(args.model_dir, settings)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"cannot load the model: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(model, args.host, args.port, limits)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    logging.getLogger("decorum.inference").info(
        '{"event": "ready", "model_version": "%s", "host": "%s", "port": %d, "load_ms": %.1f, "heap_bounded": %s}',
        model.version, host, port, (time.perf_counter() - started) * 1e3, str(heap_bounded).lower())
    run_until_stopped(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
