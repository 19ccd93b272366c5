"""`python -m model_build build --config model_build/configs/quick.toml --out build/model`"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from model_build.config import ConfigError, load_config
from model_build.data import DataError
from model_build.evaluate import GateError


def _override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set expects key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_build", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # Every command that trains reads a profile; lodo, distillation and capacity add tables to a built model's folder.
    recipe = argparse.ArgumentParser(add_help=False)
    recipe.add_argument("--config", required=True, type=Path, help="a profile, e.g. model_build/configs/quick.toml")
    recipe.add_argument("--out", required=True, type=Path, help="the model's folder: artifact, report and tables")
    recipe.add_argument("--set", action="append", type=_override, default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set student.train.max_steps=50 (as the model was built)")
    sub.add_parser("build", parents=[recipe], help="train, distil, export, quantize, gate and package a model")
    lodo = sub.add_parser("lodo", parents=[recipe], help="leave-one-domain-out: train without each set, test on it")
    lodo.add_argument("--held-out", action="append", default=[], metavar="SET",
                      help="hold out only this data set (repeatable; default: each in turn)")
    sub.add_parser("distillation", parents=[recipe], help="a built model's student vs the same student on labels only")
    capacity = sub.add_parser("capacity", parents=[recipe], help="student depth vs LODO quality, int8 latency and size")
    capacity.add_argument("--layers", type=int, nargs="+", default=[2, 3, 4], help="student depths to compare")
    capacity.add_argument("--held-out", action="append", default=[], metavar="SET")
    feedback = sub.add_parser("feedback-export", help="votes on the bot's verdicts as training rows (CSV)")
    feedback.add_argument("--out", required=True, type=Path, help="the CSV to write, e.g. data/feedback/data.csv")
    feedback.add_argument("--table", help="the feedback table (default: $DECORUM_FEEDBACK_TABLE)")
    feedback.add_argument("--endpoint-url", help="a local DynamoDB (moto) instead of AWS")
    args = parser.parse_args(argv)
    if args.command == "feedback-export":
        return _export_feedback(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Not "root": getLogger("root") is the root logger itself, and quieting it hid the build's own lines.
    for noisy in ("onnxruntime", "transformers", "optimum", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from model_build.distillation import compare_with_labels_only  # heavy imports after argument errors
    from model_build.lodo import capacity_trade, leave_one_domain_out
    from model_build.pipeline import build as run_build
    from model_build.report import DISTILLATION_TABLE, LODO_TABLE

    started = time.perf_counter()
    try:
        cfg = load_config(args.config, dict(args.set))
        if args.command == "capacity":
            print(capacity_trade(cfg, args.out, tuple(args.layers), tuple(args.held_out)))
            return 0
        if args.command == "distillation":
            compare_with_labels_only(cfg, args.out)
            print((args.out / DISTILLATION_TABLE).read_text())
            return 0
        if args.command == "lodo":
            leave_one_domain_out(cfg, args.out, tuple(args.held_out))
            print((args.out / LODO_TABLE).read_text())
            return 0
        manifest = run_build(cfg, args.out)
    except (ConfigError, DataError, GateError, FileNotFoundError) as exc:
        print(f"model build failed: {exc}", file=sys.stderr)
        return 2
    minutes = (time.perf_counter() - started) / 60
    print(f"model {manifest.version} written to {args.out} in {minutes:.1f} min; report: {args.out / 'report.md'}")
    return 0


def _export_feedback(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from handlers.slack.feedback import FeedbackStore
    from model_build.feedback_export import export, table_name

    try:
        store = FeedbackStore(table_name(args.table), endpoint_url=args.endpoint_url)
        count = export(store, args.out)
    except (ValueError, BotoCoreError, ClientError) as exc:
        print(f"feedback export failed: {exc}", file=sys.stderr)
        return 2
    print(f"{count} feedback rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
