"""X-Ray traces of the lazy check, received the way the X-Ray daemon receives them (UDP, port from
AWS_XRAY_DAEMON_ADDRESS). Powertools traces only inside Lambda, so the check runs in a child process
with Lambda's environment (task root, trace header); everything it calls is a local stand-in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid

from handlers.settings import to_env
from handlers.slack.config import BotConfig, SlackCredentials
from local.slack_standin import SlackStandIn
from tests.conftest import REPO
from tests.integration.conftest import bot_config

CHECK = """
import os
from slack_sdk import WebClient
from handlers.slack.app import Services
from handlers.slack.checker import CheckRequest
from handlers.slack.config import BotConfig
config = BotConfig.from_env()
services = Services.from_config(config)
client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=config.slack_api_url)
result = services.checker.check(CheckRequest("TLOCAL", os.environ["CHANNEL"], os.environ["MESSAGE_TS"], "Ev1", "UBOB",
                                             0.0), client, "UDECORUMBOT")
print(result.outcome)
"""


def received(daemon: socket.socket) -> list[dict]:
    """Segment documents: each UDP datagram is a JSON header line, then the document."""
    documents = []
    daemon.settimeout(0.5)
    try:
        while True:
            header, _, body = daemon.recv(65535).decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
    except TimeoutError:
        return documents


def walk(document: dict):
    yield document
    for child in document.get("subsegments", []):
        yield from walk(child)


def test_the_lazy_check_is_traced_with_its_endpoint_and_slack_calls(moto_url, ledger_table, feedback_table,
                                                                    endpoint) -> None:
    credentials = SlackCredentials("xoxb-" + uuid.uuid4().hex, uuid.uuid4().hex)
    standin = SlackStandIn(credentials.bot_token, credentials.signing_secret).start()
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    try:
        channel, secret_words = "C" + uuid.uuid4().hex[:8].upper(), "zebra crossing idiot"
        ts = standin.post_user_message(channel, secret_words)
        config: BotConfig = bot_config(moto_url, ledger_table, endpoint, standin, feedback_table)
        env = {**os.environ, **to_env(config), "PYTHONPATH": str(REPO), "CHANNEL": channel, "MESSAGE_TS": ts,
               "SLACK_BOT_TOKEN": credentials.bot_token, "SLACK_SIGNING_SECRET": credentials.signing_secret,
               "LAMBDA_TASK_ROOT": str(REPO), "AWS_LAMBDA_FUNCTION_NAME": "decorum-slack-bot",
               "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
               "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}"}
        env.pop("POWERTOOLS_TRACE_DISABLED", None)
        run = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.split()[-1] in ("flagged", "clean")
        documents = received(daemon)
    finally:
        daemon.close()
        standin.stop()
    # Lambda streams subsegments as they close: each document names its parent by id.
    segments, parent = {}, {}
    for document in documents:
        for segment in walk(document):
            segments[segment["id"]] = segment
            for child in segment.get("subsegments", []):
                parent[child["id"]] = segment["id"]
        parent.setdefault(document["id"], document.get("parent_id"))

    def path(segment: dict) -> list[str]:
        names, at = [], parent.get(segment["id"])
        while at in segments:
            names.append(segments[at]["name"])
            at = parent.get(at)
        return names

    def under(name: str) -> list[dict]:
        return [s for s in segments.values() if name in path(s)]

    def slack_methods(name: str) -> list[str]:
        return [s["http"]["request"]["url"].rsplit("/", 1)[1] for s in under(name)
                if "/api/" in s.get("http", {}).get("request", {}).get("url", "")]

    check = "## handlers.slack.checker.MessageChecker.check"
    assert {"## claim", "## fetch", "## classify", "## reply"} <= {s["name"] for s in under(check)}
    assert "dynamodb" in {s["name"] for s in under("## claim")}  # botocore calls, patched
    assert "runtime.sagemaker" in {s["name"] for s in under("## classify")}
    assert slack_methods("## fetch")[0] == "conversations.history"
    assert set(slack_methods("## reply")) == {"chat.postMessage"}
    everything = json.dumps(documents)
    assert "zebra" not in everything and credentials.bot_token not in everything  # ids and timings only
