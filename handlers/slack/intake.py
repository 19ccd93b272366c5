"""Every Slack request's first stop, on Lambda and locally alike: verify the signature on the raw body,
then parse, then check the shape, before Bolt sees anything.

- Unsigned, forged, stale or oddly dated requests get 401 JSON and one short log line (reason, size,
  timestamp skew): never the body, which may carry message text (Bolt's own verification would log
  it whole at INFO).
- A signed body that is not JSON (or is a parser bomb) gets 400 JSON.
- A signed event of a shape no listener can handle (`event` a list, `item` a string...) is acked
  (200) and dropped: answering 500 would make Slack redeliver it for hours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger

from handlers.slack.config import LOG_SERVICE

log = Logger(service=LOG_SERVICE, child=True)
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are a few KB; a Function URL would take 6 MB
MAX_SKEW_S = 300  # Slack's documented replay window


@dataclass(frozen=True)
class Outcome:
    """`status` None: hand the request to Bolt. Otherwise answer `status` with `{"error": reason}` (or
    `{"ok": true}` for a dropped event)."""

    status: int | None
    reason: str = ""

    @property
    def body(self) -> str:
        return json.dumps({"ok": True, "ignored": self.reason} if self.status == 200 else {"error": self.reason})


PASS = Outcome(None)


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return (value[0] if value else None) if isinstance(value, list) else value
    return None


class Intake:
    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time):
        self.secret, self.clock = signing_secret.encode(), clock

    def screen(self, body: bytes, headers: Mapping[str, Any]) -> Outcome:
        if len(body) > MAX_BODY_BYTES:
            return self._reject(413, "body too large", body, None)
        timestamp, signature = _header(headers, "x-slack-request-timestamp"), _header(headers, "x-slack-signature")
        if not timestamp or not signature:
            return self._reject(401, "unsigned request", body, None)
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return self._reject(401, "invalid timestamp", body, None)
        skew = self.clock() - int(timestamp)
        if abs(skew) > MAX_SKEW_S:
            return self._reject(401, "stale request", body, skew)
        # slack_sdk's SignatureVerifier would raise on these bytes (it decodes the body as UTF-8 and
        # int()s the timestamp first): the same HMAC, over the raw bytes.
        expected = "v0=" + hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return self._reject(401, "invalid signature", body, skew)
        return _shape(body, _header(headers, "content-type") or "")

    @staticmethod
    def _reject(status: int, reason: str, body: bytes, skew: float | None) -> Outcome:
        log.warning("request rejected", extra={"reason": reason, "bytes": len(body),
                                               "skew_s": None if skew is None else round(skew, 1)})
        return Outcome(status, reason)


def _shape(body: bytes, content_type: str) -> Outcome:
    """A verified body: JSON (Events API) or a form with a JSON `payload` (interactions)."""
    try:
        text = body.decode("utf-8")
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            payload = parse_qs(text).get("payload", [None])[0]
            return PASS if payload is None or isinstance(json.loads(payload), dict) else Outcome(400, "bad payload")
        envelope = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: not JSON or a huge integer
        log.warning("request rejected", extra={"reason": "malformed body", "bytes": len(body)})
        return Outcome(400, "malformed body")
    problem = _envelope_problem(envelope)
    if problem:
        log.warning("event dropped", extra={"reason": problem, "bytes": len(body)})
        return Outcome(200, problem)
    return PASS


def _envelope_problem(envelope: Any) -> str | None:
    if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
        return "not an event envelope"
    if envelope["type"] == "url_verification":
        return None if isinstance(envelope.get("challenge"), str) else "url_verification without a challenge"
    if envelope["type"] != "event_callback":
        return None  # app_rate_limited and the like: Bolt acks them
    event = envelope.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "event is not an object with a type"
    if event["type"] == "reaction_added":
        item = event.get("item")
        if not isinstance(item, dict) or not all(isinstance(item.get(k, ""), str) for k in ("type", "channel", "ts")):
            return "reaction_added item is not an object of strings"
        if not all(isinstance(event.get(k), str) for k in ("reaction", "user")):
            return "reaction_added reaction or user is not a string"
        if not isinstance(event.get("event_ts", ""), str | int | float):
            return "reaction_added event_ts is not a time"
    return None
