"""The Slack bot: the checker's own cost, the Lambda bundle, and cold-import time."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import MESSAGE, REPO, percentiles, timed


def bench_slack() -> dict:
    from slack_bolt import BoltRequest
    from slack_bolt.lazy_listener import LazyListenerRunner

    from handlers.slack.app import Services, create_app
    from handlers.slack.checker import CheckRequest, MessageChecker
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

    checker = MessageChecker(config, InstantLedger(), FixedClassifier())
    app = create_app(config, credentials, Services(checker))
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
        reaction = CheckRequest("T1", "C1", ts, f"Ev{i}", "UB", time.time())
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
