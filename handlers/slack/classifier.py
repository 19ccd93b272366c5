"""Asks the SageMaker endpoint for a verdict (boto3 `sagemaker-runtime` InvokeEndpoint).

Timeouts and retries come from botocore's standard retry mode, which retries throttling, 5xx and
connection errors with backoff; the total time is bounded by attempts x read timeout, inside the
lazy run's budget. A failure after the last attempt raises `ClassificationError`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.invocation import CONTENT_TYPE, parse_response, request_body
from handlers.slack.config import BotConfig


class ClassificationError(RuntimeError):
    """The endpoint gave no verdict (after retries); `reason` is safe to log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Verdict:
    scores: dict[str, float]
    flagged: list[str]
    model_version: str
    latency_ms: float

    @property
    def toxic(self) -> bool:
        return bool(self.flagged)


class EndpointClassifier:
    def __init__(self, config: BotConfig, client=None):
        self.endpoint_name = config.endpoint_name
        self.max_chars = config.max_text_chars
        self.client = client or boto3.client(
            "sagemaker-runtime",
            endpoint_url=config.sagemaker_endpoint_url,
            config=Config(
                connect_timeout=min(2.0, config.classify_timeout_s),
                read_timeout=config.classify_timeout_s,
                retries={"mode": "standard", "total_max_attempts": config.classify_attempts},
            ),
        )

    def classify(self, text: str) -> Verdict:
        body = request_body(text[: self.max_chars])
        started = time.perf_counter()
        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name, ContentType=CONTENT_TYPE, Accept=CONTENT_TYPE, Body=body
            )
            model_version, (result,) = parse_response(json.loads(response["Body"].read()))
            verdict = Verdict(scores=result.scores, flagged=result.flagged, model_version=model_version,
                              latency_ms=(time.perf_counter() - started) * 1e3)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise ClassificationError(f"endpoint error {code}") from None
        except BotoCoreError as exc:
            raise ClassificationError(f"endpoint unreachable ({exc.__class__.__name__})") from None
        except (KeyError, IndexError, TypeError, ValueError):
            raise ClassificationError("endpoint answered with an unexpected body") from None
        return verdict

    def ping(self) -> None:
        """Keeps a serverless endpoint warm: one tiny invocation (errors ignored)."""
        try:
            self.client.invoke_endpoint(EndpointName=self.endpoint_name, ContentType=CONTENT_TYPE,
                                        Body=request_body("warm-up"))
        except (ClientError, BotoCoreError):
            pass
