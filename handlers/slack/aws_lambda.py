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
from collections.abc import Callable

from aws_lambda_powertools import Logger
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from handlers.slack.app import create_app
from handlers.slack.checker import ReactionChecker
from handlers.slack.classifier import EndpointClassifier
from handlers.slack.config import LOG_SERVICE, BotConfig, SlackCredentials
from handlers.slack.intake import PASS, Intake
from handlers.slack.ledger import ReplyLedger
from handlers.slack.listeners import pop_lazy_failure

logger = Logger(service=LOG_SERVICE)


class LazyCheckError(RuntimeError):
    """Raised out of the handler so that Lambda retries the lazy invocation."""


def is_warmup(event: dict) -> bool:
    return bool(event.get("warmup")) or event.get("source") == "aws.events"


def _raw_body(event: dict) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return b"\xff"  # fails the signature check like any other forged body
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else b""


def create_lambda_handler(config: BotConfig, credentials: SlackCredentials,
                          classifier: EndpointClassifier | None = None, ledger: ReplyLedger | None = None,
                          lambda_client=None) -> Callable[[dict, object], dict]:
    classifier = classifier or EndpointClassifier(config)
    ledger = ledger or ReplyLedger.from_config(config)
    intake = Intake(credentials.signing_secret)
    slack_handler = SlackRequestHandler(create_app(config, credentials, ReactionChecker(config, ledger, classifier)))
    if lambda_client is not None:
        slack_handler.app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(slack_handler.logger,
                                                                                          lambda_client)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict, context) -> dict:
        if is_warmup(event):
            if config.warmup_pings_endpoint:
                classifier.ping()
            return {"warm": True}
        # Function URL requests and Bolt's lazy re-invocations carry Slack's headers; anything else is
        # not a request and Bolt answers it 404.
        screened = intake.screen(_raw_body(event), event["headers"]) if "headers" in event else PASS
        if screened.status is not None:
            return {"statusCode": screened.status, "headers": {"content-type": "application/json"},
                    "body": screened.body}
        pop_lazy_failure()
        response = slack_handler.handle(event, context)
        failure = pop_lazy_failure()
        if failure is not None:
            raise LazyCheckError(f"lazy check failed ({failure.__class__.__name__}); Lambda will retry") from failure
        return response

    return handler
