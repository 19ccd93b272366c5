"""The Lambda handler, built from its collaborators (so tests can build one with local ones).

- A scheduled warm-up event returns at once (optionally pinging the endpoint) and never reaches
  Bolt, which would answer it 404.
- Every other event passes the intake first (`intake.py`: signature on the raw body, then parsing,
  then shape), with the same answers as the local server.
- A lazy run whose check raised makes the invocation fail, so Lambda's asynchronous retry runs
  it again (Bolt alone would swallow the error and the reply would be lost). The function's
  maximum event age is kept under Bolt's 300 s signature window (see infra/slack.py): a retry
  older than that would be rejected with a 401 and silently dropped.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from handlers.slack.app import Services, create_app
from handlers.slack.classifier import EndpointClassifier
from handlers.slack.config import LOG_SERVICE, TRACED_MODULES, BotConfig, CredentialSource, SlackCredentials
from handlers.slack.intake import PASS, Intake
from handlers.slack.ledger import ReplyLedger
from handlers.slack.listeners import pop_lazy_failure
from handlers.slack.metrics import NAMESPACE, SERVICE, BotMetric

logger = Logger(service=LOG_SERVICE)
tracer = Tracer(service=LOG_SERVICE, patch_modules=TRACED_MODULES)


class LazyCheckError(RuntimeError):
    """Raised out of the handler so that Lambda retries the lazy invocation."""


def is_warmup(event: dict) -> bool:
    return bool(event.get("warmup")) or event.get("source") == "aws.events"


def _is_lazy_run(event: dict) -> bool:
    return any(k.lower() == "x-slack-bolt-lazy-only" for k in (event.get("headers") or {}))


def _emit_ack_latency(milliseconds: float) -> None:
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    metrics.add_metric(name=BotMetric.ACK_LATENCY, unit=MetricUnit.Milliseconds, value=milliseconds)
    metrics.flush_metrics()


def _method(event: dict) -> str:
    context = event.get("requestContext") or {}
    return str((context.get("http") or {}).get("method") or context.get("httpMethod") or "")


def _raw_body(event: dict) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return b"\xff"  # fails the signature check like any other forged body
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else b""


def create_lambda_handler(config: BotConfig, credentials: SlackCredentials | CredentialSource,
                          classifier: EndpointClassifier | None = None, ledger: ReplyLedger | None = None,
                          lambda_client=None) -> Callable[[dict, object], dict]:
    source = credentials if isinstance(credentials, CredentialSource) else CredentialSource.fixed(credentials)
    classifier = classifier or EndpointClassifier(config)
    services = Services.from_config(config, classifier, ledger)
    built: dict[SlackCredentials, SlackRequestHandler] = {}

    def bolt(current: SlackCredentials) -> SlackRequestHandler:
        """The Bolt app for these credentials, rebuilt (milliseconds) when the secret changed."""
        if current not in built:
            built.clear()
            slack_handler = SlackRequestHandler(create_app(config, current, services))
            if lambda_client is not None:
                slack_handler.app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
                    slack_handler.logger, lambda_client)
            built[current] = slack_handler
        return built[current]

    bolt(source.get())  # at cold start, not on the first request

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict, context) -> dict:
        started = time.perf_counter()
        if is_warmup(event):
            if config.warmup_pings_endpoint:
                classifier.ping()
            return {"warm": True}
        current = source.get()  # cached; a stored or rotated secret arrives within its max age
        # Function URL requests and Bolt's lazy re-invocations carry Slack's headers; anything else is
        # not a request and Bolt answers it 404.
        screened = PASS
        # A GET is a browser on the OAuth install pages (Bolt answers 404 to any other); it carries no
        # Slack signature: its `state` parameter protects the redirect.
        if "headers" in event and _method(event) != "GET":
            raw = _raw_body(event)
            screened = Intake(current.signing_secret).screen(raw, event["headers"])
            if screened.reason == "invalid signature" and (fresh := source.refresh()) is not None:
                current = fresh  # the secret changed since it was cached: verify once more
                screened = Intake(current.signing_secret).screen(raw, event["headers"])
        if screened.status is not None:
            return {"statusCode": screened.status, "headers": {"content-type": "application/json"},
                    "body": screened.body}
        pop_lazy_failure()
        response = bolt(current).handle(event, context)
        if not _is_lazy_run(event):  # Slack waits 3 s for this answer; lazy runs are not waited for
            _emit_ack_latency((time.perf_counter() - started) * 1e3)
        failure = pop_lazy_failure()
        if failure is not None:
            raise LazyCheckError(f"lazy check failed ({failure.__class__.__name__}); Lambda will retry") from failure
        return response

    return handler
