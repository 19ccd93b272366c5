"""handlers/slack/intake.py through both entry points, the local HTTP server and the Lambda handler:
hostile or malformed Slack requests get the same clear answers, nothing runs, and the logs get one
short line, never the body."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from local.slack_standin import sign
from tests.integration.conftest import LambdaContext, function_url_event

SECRET_TEXT = "zebra-launch-code-42"


def deep(depth: int) -> str:
    return '{"type": "event_callback", "event": ' + "[" * depth + "]" * depth + "}"


@pytest.fixture(params=["local", "lambda"])
def entry(request, make_bot, harness) -> Callable[[bytes, dict], tuple[int, dict, object]]:
    """Sends raw bytes with headers to one entry point; returns (status, JSON body, the stand-in)."""
    if request.param == "local":
        bot = make_bot()

        def send(body: bytes, headers: dict) -> tuple[int, dict, object]:
            http_request = urllib.request.Request(bot.standin.request_url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(http_request, timeout=10) as reply:
                    return reply.status, json.loads(reply.read() or b"{}"), bot.standin
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"{}"), bot.standin
        send.secret = bot.credentials.signing_secret  # type: ignore[attr-defined]
        return send
    h = harness()

    def invoke(body: bytes, headers: dict) -> tuple[int, dict, object]:
        reply = h.handler(function_url_event(body.decode("utf-8", "replace"), headers), LambdaContext())
        return reply["statusCode"], json.loads(reply.get("body") or "{}"), h.standin
    invoke.secret = h.credentials.signing_secret  # type: ignore[attr-defined]
    return invoke


def signed(secret: str, body: bytes, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(secret, timestamp, body.decode())}


@pytest.mark.parametrize("timestamp", ["abc", "123.4", "", "-5", "9" * 40])
def test_bad_timestamps_get_401_json(entry, timestamp: str) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "app_mention"}}).encode()
    headers = {**signed(entry.secret, body), "X-Slack-Request-Timestamp": timestamp}
    status, payload, _ = entry(body, headers)
    assert status == 401 and payload["error"] in ("unsigned request", "invalid timestamp")


@pytest.mark.parametrize("body", [b"{not json", deep(50_000).encode(), b'{"n": ' + b"9" * 5_000 + b"}"],
                         ids=["malformed", "deep", "huge-integer"])
def test_unsigned_bombs_are_401_and_signed_ones_400(entry, body: bytes) -> None:
    status, payload, _ = entry(body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp":
                                      str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64})
    assert status == 401 and payload["error"] == "invalid signature"
    status, payload, _ = entry(body, signed(entry.secret, body))
    assert status == 400 and payload["error"] == "malformed body"


@pytest.mark.parametrize("event", [
    {"type": "reaction_added", "user": "U1", "reaction": "triangular_flag_on_post", "item": "C1/1.2"},
    {"type": "reaction_added", "user": "U1", "reaction": ["triangular_flag_on_post"],
     "item": {"type": "message", "channel": "C1", "ts": "1.2"}},
    [{"type": "reaction_added"}],
    {"type": "reaction_added", "user": "U1", "reaction": "x", "item": {"type": "message", "channel": 5, "ts": "1"}},
], ids=["item-string", "reaction-list", "event-list", "channel-number"])
def test_signed_events_of_an_odd_shape_are_acked_and_dropped(entry, event) -> None:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": event}).encode()
    status, payload, standin = entry(body, signed(entry.secret, body))
    assert status == 200 and payload["ok"] is True and payload["ignored"]
    time.sleep(0.3)
    assert not standin.workspace.api_calls  # no fetch, no reply: nothing ran


def test_a_rejected_request_logs_one_short_line_and_never_the_body(entry, capfd: pytest.CaptureFixture,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "message", "text": SECRET_TEXT * 30_000}}
                      ).encode()[:900_000]
    caplog.clear()
    status, payload, _ = entry(body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp":
                                      str(int(time.time()) - 400), "X-Slack-Signature": "v0=" + "0" * 64})
    assert status == 401 and payload["error"] == "stale request"
    time.sleep(0.2)
    out, err = capfd.readouterr()
    assert SECRET_TEXT not in out + err
    assert not any(SECRET_TEXT in record.getMessage() or SECRET_TEXT in str(record.__dict__)
                   for record in caplog.records)
    (rejected,) = [r for r in caplog.records if r.getMessage() == "request rejected"]
    assert (rejected.reason, rejected.bytes) == ("stale request", len(body)) and rejected.skew_s >= 399
