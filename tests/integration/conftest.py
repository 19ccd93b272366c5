"""The Slack bot against local stand-ins that speak the real protocols."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest

from handlers.inference.server import InferenceHandler, make_server
from handlers.slack.app import create_app
from handlers.slack.aws_lambda import create_lambda_handler
from handlers.slack.config import BotConfig, SlackCredentials
from handlers.slack.intake import Intake
from handlers.slack.ledger import ReplyLedger
from handlers.slack.local_server import make_server as make_bolt_server
from local.slack_standin import SlackStandIn, sign
from tests.conftest import serve_in_thread

ENDPOINT = "decorum-test"


class FaultyEndpointHandler(InferenceHandler):
    """The real inference handler, preceded by scripted faults: what SageMaker's runtime answers
    when the endpoint is throttled, failing, or slow."""

    def do_POST(self) -> None:
        fault = self.server.faults.pop(0) if self.server.faults else None
        self.server.calls += 1
        if fault == "throttle":
            self.discard_body()
            self._send(400, {"message": "Rate exceeded"}, {"x-amzn-ErrorType": "ThrottlingException:"})
        elif fault == "unavailable":
            self.discard_body()
            self._send(503, {"message": "Service unavailable"}, {"x-amzn-ErrorType": "ServiceUnavailable:"})
        else:
            if fault == "slow":
                time.sleep(1.5)
            super().do_POST()

    def read_body(self) -> bytes:
        body = super().read_body()
        self.server.bodies.append(body)
        return body


@pytest.fixture(scope="session")
def endpoint(toxicity_model) -> Iterator:
    server = make_server(toxicity_model, "127.0.0.1", 0, handler_class=FaultyEndpointHandler)
    server.faults, server.calls, server.bodies = [], 0, []
    serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def ledger_table(moto_url: str) -> str:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
    name = "decorum-ledger-test"
    dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return name


def post_as_slack(standin: SlackStandIn, body: str, headers: dict[str, str]) -> tuple[int, str]:
    """POSTs `body` with `headers` to the bot's request URL: (status, body), errors included."""
    request = urllib.request.Request(standin.request_url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def forged(headers: dict[str, str], body: str) -> dict[str, str]:
    """Slack's headers for `body`, signed with a secret that is not the app's."""
    return {**headers, "X-Slack-Signature": sign("not-the-secret", headers["X-Slack-Request-Timestamp"], body)}


def _table(moto_url: str, name: str) -> str:
    boto3.client("dynamodb", endpoint_url=moto_url).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return name


@pytest.fixture(scope="session")
def feedback_table(moto_url: str) -> str:
    return _table(moto_url, "decorum-feedback-test")


@pytest.fixture(scope="session")
def settings_table(moto_url: str) -> str:
    return _table(moto_url, "decorum-settings-test")


@dataclass
class Bot:
    standin: SlackStandIn
    config: BotConfig
    credentials: SlackCredentials
    channel: str = field(default_factory=lambda: "C" + uuid.uuid4().hex[:8].upper())

    def post(self, text: str, **kwargs) -> str:
        return self.standin.post_user_message(self.channel, text, **kwargs)

    def react(self, ts: str, emoji: str = "triangular_flag_on_post", **kwargs):
        return self.standin.react(self.channel, ts, emoji, **kwargs)

    def replies(self, ts: str, wait_s: float = 10.0, settle_s: float = 0.3) -> list[dict]:
        """The bot's replies to `ts`, after waiting for one and then a little longer for extras."""
        self.standin.wait_for_replies(self.channel, ts, 1, timeout_s=wait_s)
        time.sleep(settle_s)
        return self.standin.replies_to(self.channel, ts)


def bot_config(moto_url: str, ledger_table: str, endpoint, standin: SlackStandIn, feedback_table: str = "",
               settings_table: str = "", **overrides) -> BotConfig:
    host, port = endpoint.server_address[:2]
    settings = {
        "endpoint_name": ENDPOINT,
        "ledger_table": ledger_table,
        "feedback_table": feedback_table,
        "settings_table": settings_table,
        "slack_api_url": standin.api_url,
        "dynamodb_endpoint_url": moto_url,
        "sagemaker_endpoint_url": f"http://{host}:{port}",
        "classify_timeout_s": 1.0,
        "classify_attempts": 3,
        **overrides,
    }
    return BotConfig(**settings)


@pytest.fixture
def make_bot(moto_url: str, ledger_table: str, feedback_table: str, settings_table: str, endpoint) -> Iterator:
    """Starts a Bolt app over HTTP (the `python -m handlers.slack serve` code) wired to the stand-ins."""
    started: list = []

    def start(**overrides) -> Bot:
        credentials = SlackCredentials("xoxb-test-" + uuid.uuid4().hex, uuid.uuid4().hex)
        # A workspace of its own: settings and feedback are per workspace, and the tables are shared.
        standin = SlackStandIn(credentials.bot_token, credentials.signing_secret,
                               team_id="T" + uuid.uuid4().hex[:10].upper()).start()
        config = bot_config(moto_url, ledger_table, endpoint, standin, feedback_table, settings_table, **overrides)
        server = make_bolt_server(create_app(config, credentials), Intake(credentials.signing_secret), "127.0.0.1", 0)
        serve_in_thread(server)
        standin.request_url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        started.append((server, standin))
        return Bot(standin, config, credentials)

    endpoint.faults.clear()
    yield start
    endpoint.faults.clear()
    for server, standin in started:
        server.shutdown()
        server.server_close()
        standin.stop()


@dataclass
class LambdaContext:
    function_name: str = "decorum-slack-bot"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:decorum-slack-bot"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/decorum-slack-bot"
    log_stream_name: str = "local"


class LocalLambda:
    """Lambda's invoke API for Bolt's lazy runner, with Lambda's asynchronous semantics: an
    `Event` invocation runs later on another thread, and one that raises is retried twice."""

    def __init__(self, retry_delays_s: tuple[float, ...] = (0.2, 0.4)):
        self.handler = None
        self.retry_delays_s = retry_delays_s
        self.attempts: list[str] = []  # "ok" or the exception class, per async attempt
        self._threads: list[threading.Thread] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str) -> dict:  # noqa: N803 - boto3's names
        assert InvocationType == "Event" and FunctionName.endswith(":decorum-slack-bot")

        def run() -> None:
            for delay in (0.0, *self.retry_delays_s):
                time.sleep(delay)
                try:
                    self.handler(json.loads(Payload), LambdaContext())
                    self.attempts.append("ok")
                    return
                except Exception as exc:  # noqa: BLE001 - Lambda records it and retries
                    self.attempts.append(exc.__class__.__name__)

        thread = threading.Thread(target=run, daemon=True)
        self._threads.append(thread)
        thread.start()
        return {"StatusCode": 202}

    def drain(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))


def function_url_event(body: str, headers: dict[str, str]) -> dict:
    """What a Lambda Function URL hands the handler for Slack's POST."""
    return {
        "version": "2.0",
        "rawPath": "/slack/events",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": body,
        "isBase64Encoded": False,
    }


class Harness:
    def __init__(self, moto_url, ledger_table, endpoint, feedback_table, ledger_class=ReplyLedger,
                 retry_delays_s=(0.2, 0.4), credential_source=None, **overrides):
        self.credentials = SlackCredentials("xoxb-" + uuid.uuid4().hex, uuid.uuid4().hex)
        self.standin = SlackStandIn(self.credentials.bot_token, self.credentials.signing_secret,
                                    team_id="T" + uuid.uuid4().hex[:10].upper()).start()
        self.config = bot_config(moto_url, ledger_table, endpoint, self.standin, feedback_table, **overrides)
        self.lambda_api = LocalLambda(retry_delays_s)
        ledger = ledger_class(self.config.ledger_table, self.config.lease_seconds, self.config.ledger_ttl_days,
                              endpoint_url=moto_url)
        self.handler = create_lambda_handler(self.config, credential_source or self.credentials, ledger=ledger,
                                             lambda_client=self.lambda_api)
        self.lambda_api.handler = self.handler
        self.channel = "C" + uuid.uuid4().hex[:8].upper()

    def slack_post(self, envelope: dict, retry_num: int = 0) -> dict:
        body, headers = self.standin.signed_request(envelope, retry_num)
        return self.handler(function_url_event(body, headers), LambdaContext())

    def react(self, ts: str) -> dict:
        return self.slack_post(self.standin.reaction_event(self.channel, ts, "triangular_flag_on_post"))


@pytest.fixture
def harness(moto_url, ledger_table, feedback_table, endpoint):
    made = []

    def make(**kwargs) -> Harness:
        made.append(Harness(moto_url, ledger_table, endpoint, feedback_table, **kwargs))
        return made[-1]

    yield make
    for h in made:
        h.standin.stop()
