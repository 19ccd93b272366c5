"""Slack's rate limits, as the bot meets them.

Slack's Web API answers 429 with Retry-After. Since 2025, commercially distributed apps that are not in
the Slack Marketplace may call `conversations.history` and `.replies` once a minute (15 items a call);
internal and Marketplace apps keep Tier 3 (about 50 a minute). A short wait is waited out in the
client; a long one would outlast the Lambda, so the check tells the asker and is retried later
(Lambda's asynchronous retry, about a minute, then two).
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

MAX_CLIENT_WAIT_S = 5.0


class RateLimitedError(RuntimeError):
    """Slack asked the bot to wait longer than a check can: retry after `retry_after_s`."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"rate limited by Slack for {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 only when Slack asks for a short wait. Some apps may read history once a minute
    (Slack's limits for commercially distributed apps outside the Marketplace): waiting that long would
    outlast the Lambda, so the 429 reaches the checker, which tells the asker and retries later."""

    def __init__(self, max_retry_count: int, max_wait_s: float):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        return retry_after_s(response.headers if response else {}) <= self.max_wait_s


def rate_limited(error: SlackApiError) -> bool:
    return error.response.status_code == 429 or error.response.get("error") == "ratelimited"


def retry_after_s(headers: Mapping[str, object]) -> float:
    """A response's Retry-After in seconds (slack_sdk gives headers as lists), 60 when absent."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "60")
    try:
        return float(value[0] if isinstance(value, list) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return 60.0


