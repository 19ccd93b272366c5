"""Asks the SageMaker endpoint for a verdict (boto3 `sagemaker-runtime` InvokeEndpoint).

The first call may wait through a serverless cold start (`classify_first_timeout_s`); the retries
after it come from botocore's standard retry mode (throttling, 5xx, connection errors, with backoff)
with the short timeout. The whole budget (`BotConfig.classify_budget_s`) fits in the Lambda's
timeout (checked at synth). A failure after the last attempt raises `ClassificationError`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.invocation import CONTENT_TYPE, Word, parse_response, parse_thresholds, request_body
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
    words: tuple[Word, ...] = ()  # the explanation, when asked for: each word and what it weighed
    explanation_note: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)  # the model's own

    @property
    def toxic(self) -> bool:
        return bool(self.flagged)

    def with_sensitivity(self, sensitivity: dict[str, float]) -> Verdict:
        """The verdict with each label's threshold lowered by its sensitivity (raised when negative)."""
        if not self.thresholds or not any(sensitivity.values()):
            return self
        flagged = [label for label, p in self.scores.items()
                   if p >= self.thresholds.get(label, 1.0) - sensitivity.get(label, 0.0)]
        return replace(self, flagged=flagged)


class EndpointClassifier:
    """Two clients: the first call may wait through a cold start (`classify_first_timeout_s`); retries
    after it (throttling, 5xx, timeouts) use the short timeout with botocore's standard retry mode."""

    def __init__(self, config: BotConfig, client=None):
        self.endpoint_name = config.endpoint_name
        self.max_chars = config.max_text_chars
        self.explain = config.explain
        self._serving: tuple[float, str | None] = (float("-inf"), None)  # (when learnt, version)

        def make(read_timeout: float, attempts: int):
            return boto3.client("sagemaker-runtime", endpoint_url=config.sagemaker_endpoint_url, config=Config(
                connect_timeout=min(2.0, read_timeout), read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": attempts}))

        self.client = client or make(config.classify_first_timeout_s, 1)
        self.retry_client = (client or make(config.classify_timeout_s, config.classify_attempts - 1)
                             if config.classify_attempts > 1 else None)

    def _invoke(self, body: bytes):
        arguments = {"EndpointName": self.endpoint_name, "ContentType": CONTENT_TYPE, "Accept": CONTENT_TYPE,
                     "Body": body}
        try:
            return self.client.invoke_endpoint(**arguments)
        except (ClientError, BotoCoreError) as exc:
            if self.retry_client is None or not _retryable(exc):
                raise
            return self.retry_client.invoke_endpoint(**arguments)

    def classify(self, text: str, explain: bool | None = None) -> Verdict:
        """`explain`: ask which words drove it (default: the configured `explain`)."""
        explain = self.explain if explain is None else explain
        body = request_body(text[: self.max_chars], **({"explain": True} if explain else {}))
        started = time.perf_counter()
        try:
            response = self._invoke(body)
            payload = json.loads(response["Body"].read())
            model_version, (result,) = parse_response(payload)
            verdict = Verdict(scores=result.scores, flagged=result.flagged, model_version=model_version,
                              latency_ms=(time.perf_counter() - started) * 1e3, words=tuple(result.explanation or ()),
                              explanation_note=result.explanation_note, thresholds=parse_thresholds(payload))
            self._serving = (time.monotonic(), model_version)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise ClassificationError(f"endpoint error {code}") from None
        except BotoCoreError as exc:
            raise ClassificationError(f"endpoint unreachable ({exc.__class__.__name__})") from None
        except (KeyError, IndexError, TypeError, ValueError):
            raise ClassificationError("endpoint answered with an unexpected body") from None
        return verdict

    def ping(self) -> str | None:
        """Keeps a serverless endpoint warm with one tiny invocation; returns the version it serves (None
        when it did not answer: errors are ignored)."""
        try:
            response = self.client.invoke_endpoint(EndpointName=self.endpoint_name, ContentType=CONTENT_TYPE,
                                                   Body=request_body("warm-up"))
            version, _ = parse_response(json.loads(response["Body"].read()))
        except (ClientError, BotoCoreError, KeyError, TypeError, ValueError):
            return None
        self._serving = (time.monotonic(), version)
        return version

    def serving_version(self, max_age_s: float = 60.0) -> str | None:
        """The model version the endpoint serves now, asked at most once per `max_age_s`."""
        learnt_at, version = self._serving
        if version is not None and time.monotonic() - learnt_at < max_age_s:
            return version
        return self.ping()


def _retryable(exc: Exception) -> bool:
    """What botocore's standard mode retries: connection errors and timeouts, throttling, 5xx."""
    if isinstance(exc, BotoCoreError):
        return True
    error = exc.response.get("Error", {})  # type: ignore[attr-defined]
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)  # type: ignore[attr-defined]
    return status == 429 or status >= 500 or "Throttl" in error.get("Code", "")
