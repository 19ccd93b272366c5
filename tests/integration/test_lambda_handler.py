"""The Lambda entry point with Lambda's own semantics: Function URL events, asynchronous lazy
re-invocation through the Lambda API, and retries of failed asynchronous invocations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import boto3
import pytest

from handlers.slack.config import BotConfig, ConfigError, CredentialSource, load_credentials
from handlers.slack.ledger import ReplyLedger
from handlers.slack.metrics import BotMetric
from tests.conftest import REPO
from tests.integration.conftest import LambdaContext

TRIGGER = "triangular_flag_on_post"


def test_warmup_event_returns_at_once_and_pings_the_endpoint(harness, endpoint) -> None:
    h = harness()
    before = endpoint.calls
    assert h.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext()) == {"warm": True}
    assert h.handler({"warmup": True}, LambdaContext()) == {"warm": True}
    assert endpoint.calls - before == 2
    assert h.standin.workspace.api_calls == []  # never reached Bolt


def test_ack_returns_200_and_the_lazy_invocation_replies_once(harness) -> None:
    h = harness()
    ts = h.standin.post_user_message(h.channel, "you total idiot")
    started = time.perf_counter()
    response = h.react(ts)
    assert response["statusCode"] == 200 and time.perf_counter() - started < 3
    h.lambda_api.drain()
    assert h.lambda_api.attempts == ["ok"]
    assert len(h.standin.replies_to(h.channel, ts)) == 1


def test_crash_before_the_reply_is_retried_by_lambda_and_replies_once(harness) -> None:
    h = harness()
    ts = h.standin.post_user_message(h.channel, "you total idiot")
    h.standin.fail_next("chat.postMessage")  # classified, then the reply fails: the run raises
    h.react(ts)
    h.lambda_api.drain()
    assert h.lambda_api.attempts == ["LazyCheckError", "ok"]
    assert len(h.standin.replies_to(h.channel, ts)) == 1


def test_a_long_slack_rate_limit_tells_the_reactor_once_and_lambda_retries_the_check(harness) -> None:
    """Slack asks for a minute (distributed apps outside the Marketplace): no in-process wait past the
    Lambda's timeout, a private notice, and the check replies on Lambda's retry."""
    h = harness()
    ts = h.standin.post_user_message(h.channel, "you total idiot")
    h.standin.rate_limit_next(2, retry_after_s=60, method="conversations.history")
    started = time.perf_counter()
    h.react(ts)
    h.lambda_api.drain()
    assert time.perf_counter() - started < 10  # nobody slept for 60 s
    assert h.lambda_api.attempts == ["LazyCheckError", "LazyCheckError", "ok"]
    assert len(h.standin.replies_to(h.channel, ts)) == 1
    (notice,) = h.standin.workspace.ephemeral_posts
    assert notice["user"] == "UBOB" and "Slack limits how often" in json.dumps(notice["blocks"])


def test_a_short_slack_rate_limit_is_waited_out(harness) -> None:
    h = harness()
    ts = h.standin.post_user_message(h.channel, "you total idiot")
    h.standin.rate_limit_next(1, retry_after_s=1, method="conversations.history")
    h.react(ts)
    h.lambda_api.drain()
    assert h.lambda_api.attempts == ["ok"] and not h.standin.workspace.ephemeral_posts
    assert len(h.standin.replies_to(h.channel, ts)) == 1


class DiesAfterReplying(ReplyLedger):
    """The process dies right after posting: the completion is never written and nothing is released."""

    died = False

    def complete(self, claim, outcome, reply_ts=None):
        if not DiesAfterReplying.died:
            DiesAfterReplying.died = True
            raise SystemError("process killed")
        return super().complete(claim, outcome, reply_ts)

    def release(self, claim, note=None) -> None:
        pass  # a dead process releases nothing: only the lease expiry lets the retry in


def test_death_after_replying_is_taken_over_without_a_second_reply(harness) -> None:
    h = harness(ledger_class=DiesAfterReplying, lease_seconds=1, retry_delays_s=(1.5, 1.5))
    ts = h.standin.post_user_message(h.channel, "you total idiot")
    h.react(ts)
    h.lambda_api.drain()
    assert h.lambda_api.attempts == ["LazyCheckError", "ok"]
    assert len(h.standin.replies_to(h.channel, ts)) == 1


def test_redelivered_event_is_acked_and_suppressed(harness) -> None:
    h = harness()
    ts = h.standin.post_user_message(h.channel, "hello")
    envelope = h.standin.reaction_event(h.channel, ts, TRIGGER)
    for retry in range(4):
        assert h.slack_post(envelope, retry)["statusCode"] == 200
    h.lambda_api.drain()
    assert len(h.standin.replies_to(h.channel, ts)) == 1


def test_non_http_events_get_a_404_not_a_crash(harness) -> None:
    h = harness()
    assert h.handler({"unexpected": "shape"}, LambdaContext())["statusCode"] == 404


def test_missing_configuration_fails_the_cold_start_clearly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DECORUM_", "SLACK_"))}
    result = subprocess.run([sys.executable, "-c", "import handlers.slack.lambda_handler"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DECORUM_ENDPOINT_NAME, DECORUM_LEDGER_TABLE are not set" in result.stderr
    env.update(DECORUM_ENDPOINT_NAME="e", DECORUM_LEDGER_TABLE="t")
    result = subprocess.run([sys.executable, "-c", "import handlers.slack.lambda_handler"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "SLACK_* variables are read: no signing_secret, bot_token" in result.stderr


def test_a_secret_stored_after_deploy_is_used_without_a_cold_start(harness, moto_url: str) -> None:
    """The deploy stores a placeholder; the operator then stores the real secret. A warm container
    re-reads it on the first request that fails verification (not only after the cache's 5 minutes)."""
    secrets = boto3.client("secretsmanager", endpoint_url=moto_url)
    name = f"decorum/{uuid.uuid4().hex}"
    secrets.create_secret(Name=name, SecretString=json.dumps({"bot_token": "xoxb-set-me", "signing_secret": "x"}))
    config = BotConfig(endpoint_name="e", ledger_table="t", slack_secret_id=name, secrets_endpoint_url=moto_url)
    source = CredentialSource(config, refresh_interval_s=60)
    h = harness(credential_source=source)
    assert source.get().bot_token == "xoxb-set-me"  # warm, with the placeholder cached
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps(
        {"bot_token": h.credentials.bot_token, "signing_secret": h.credentials.signing_secret}))
    ts = h.standin.post_user_message(h.channel, "you are an idiot")
    assert h.react(ts)["statusCode"] == 200  # verified with the secret read again
    h.lambda_api.drain()
    assert len(h.standin.replies_to(h.channel, ts)) == 1  # and the reply went out with the new token
    # Forged requests cannot make it read the secret again and again: once per interval.
    assert source.refresh() is None


def test_credentials_come_from_secrets_manager(moto_url: str) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=moto_url)
    name = f"decorum/{uuid.uuid4().hex}"
    secrets.create_secret(Name=name, SecretString=json.dumps({"bot_token": "xoxb-1", "signing_secret": "s3"}))
    config = BotConfig(endpoint_name="e", ledger_table="t", slack_secret_id=name, secrets_endpoint_url=moto_url)
    credentials = load_credentials(config, env={})
    assert (credentials.bot_token, credentials.signing_secret) == ("xoxb-1", "s3")
    assert "xoxb-1" not in repr(credentials)
    bad = f"decorum/{uuid.uuid4().hex}"
    secrets.create_secret(Name=bad, SecretString="not json")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        load_credentials(BotConfig(endpoint_name="e", ledger_table="t", slack_secret_id=bad,
                                   secrets_endpoint_url=moto_url))
    with pytest.raises(ConfigError, match=f"secret {name}: no client_id, client_secret .OAuth mode"):
        load_credentials(BotConfig(endpoint_name="e", ledger_table="t", slack_secret_id=name,
                                   secrets_endpoint_url=moto_url, installation_bucket="b"))
    with pytest.raises(ConfigError, match="cannot read Slack secret decorum/missing"):
        load_credentials(BotConfig(endpoint_name="e", ledger_table="t", slack_secret_id="decorum/missing",
                                   secrets_endpoint_url=moto_url))


@pytest.mark.parametrize(("env", "message"), [
    ({"DECORUM_LEDGER_TABLE": "t"}, "DECORUM_ENDPOINT_NAME is not set"),
    ({"DECORUM_ENDPOINT_NAME": "e", "DECORUM_LEDGER_TABLE": "t", "DECORUM_REPLY_MODE": "dm"}, "DECORUM_REPLY_MODE"),
    ({"DECORUM_ENDPOINT_NAME": "e", "DECORUM_LEDGER_TABLE": "t", "DECORUM_CLASSIFY_ATTEMPTS": "x"}, "an integer"),
    ({"DECORUM_ENDPOINT_NAME": "e", "DECORUM_LEDGER_TABLE": "t", "DECORUM_TRIGGER_EMOJIS": ":a:,b"}, None),
])
def test_config_from_env_is_validated(env: dict, message: str | None) -> None:
    if message:
        with pytest.raises(ConfigError, match=message):
            BotConfig.from_env(env)
    else:
        assert BotConfig.from_env(env).trigger_emojis == ("a", "b")


def test_the_ack_is_measured_apart_from_lazy_runs_and_warm_ups(harness, capfd: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The alarm on Slack's 3 s is on AckLatency: one per HTTP request, none for the lazy check it starts."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    h = harness()
    ts = h.standin.post_user_message(h.channel, "you are an idiot")
    capfd.readouterr()
    assert h.react(ts)["statusCode"] == 200
    h.handler({"warmup": True}, LambdaContext())
    h.lambda_api.drain()
    assert h.lambda_api.attempts == ["ok"]  # the lazy check ran (and emitted its own metrics)
    blobs = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    acks = [b for b in blobs if BotMetric.ACK_LATENCY in b]
    (value,) = [v for b in acks for v in (b[BotMetric.ACK_LATENCY] if isinstance(b[BotMetric.ACK_LATENCY], list)
                                          else [b[BotMetric.ACK_LATENCY]])]
    assert 0 < value < 3000
    assert any(BotMetric.REACTION_TO_REPLY_LATENCY in b for b in blobs)
