"""The Bolt app over HTTP, driven by signed Events API requests from the Slack stand-in."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from handlers.slack.listeners import CHECK_SHORTCUT_CALLBACK_ID
from handlers.slack.metrics import DIMENSIONS, NAMESPACE, BotMetric
from handlers.slack.replies import CHECK_FAILED, NOTHING_TO_CHECK
from local.slack_standin import BOT_USER_ID
from tests.integration.conftest import forged, post_as_slack

TRIGGER = "triangular_flag_on_post"


def outcome(post: dict) -> str:
    return post["metadata"]["event_payload"]["outcome"]


# ----------------------------------------------------------------------------------- signatures


@pytest.mark.parametrize("forgery", ["wrong-secret", "stale", "missing"])
def test_forged_stale_or_unsigned_requests_get_401_and_nothing_runs(make_bot, forgery: str) -> None:
    bot = make_bot()
    ts = bot.post("you are an idiot")
    envelope = bot.standin.reaction_event(bot.channel, ts, TRIGGER)
    if forgery == "wrong-secret":
        body, headers = bot.standin.signed_request(envelope)
        headers = forged(headers, body)
    elif forgery == "stale":  # a replay of a correctly signed request, 6 minutes later
        body, headers = bot.standin.signed_request(envelope, timestamp=int(time.time()) - 360)
    else:
        body, headers = bot.standin.signed_request(envelope)
        del headers["X-Slack-Signature"]
    assert post_as_slack(bot.standin, body, headers)[0] == 401
    time.sleep(0.5)
    assert bot.standin.replies_to(bot.channel, ts) == []
    assert "conversations.history" not in bot.standin.workspace.api_calls


# ----------------------------------------------------------------------------------- happy paths


def test_trigger_reaction_gets_one_threaded_verdict(make_bot, toxicity_model) -> None:
    bot = make_bot()
    ts = bot.post("you are a complete idiot")
    deliveries = bot.react(ts)
    assert [d.status for d in deliveries] == [200]  # acked at once: no redelivery
    (reply,) = bot.replies(ts)
    assert reply["thread_ts"] == ts
    assert outcome(reply) in ("flagged", "clean")
    assert reply["metadata"]["event_payload"]["model_version"] == toxicity_model.version
    text = " ".join(b["text"]["text"] for b in reply["blocks"] if b["type"] == "section")
    assert "toxic" in text and "hate" in text
    assert reply["text"].startswith("Decorum:")


def test_thread_reply_is_answered_in_its_thread(make_bot) -> None:
    bot = make_bot()
    parent = bot.post("status update")
    child = bot.post("you are a complete idiot", thread_ts=parent)
    bot.react(child)
    (reply,) = bot.replies(child)
    assert reply["thread_ts"] == parent
    assert bot.standin.replies_to(bot.channel, parent) == []


def test_unicode_and_a_40000_character_message(make_bot) -> None:
    bot = make_bot()
    emoji = bot.post("🔥🙂 naïve café — 你好 — مرحبا 🤬")
    huge = bot.post(("The weekly report is attached. " * 1400)[:39_960] + " you idiot")
    assert len(bot.standin.workspace.messages[bot.channel][-1]["text"]) == 39_970
    bot.react(emoji)
    bot.react(huge)
    assert [outcome(r) for r in bot.replies(emoji)] in (["flagged"], ["clean"])
    assert [outcome(r) for r in bot.replies(huge)] in (["flagged"], ["clean"])


def test_the_endpoint_reads_plain_text_not_slack_markup(make_bot, endpoint) -> None:
    bot = make_bot()
    # As the Web API returns it: a mention, a link and entities for typed "&", "<" and ">".
    ts = bot.post("<@U024BE7LH> &amp; <https://example.com|your blog> &lt;3 are a joke")
    endpoint.bodies.clear()
    bot.react(ts)
    assert [outcome(r) for r in bot.replies(ts)] in (["flagged"], ["clean"])
    assert [json.loads(b)["inputs"] for b in endpoint.bodies] == ["@user & your blog <3 are a joke"]


def test_ephemeral_mode_answers_only_the_reactor(make_bot) -> None:
    bot = make_bot(reply_mode="ephemeral")
    ts = bot.post("you idiot")
    bot.react(ts, user="UCAROL")
    deadline = time.monotonic() + 10
    while not bot.standin.workspace.ephemeral_posts and time.monotonic() < deadline:
        time.sleep(0.02)
    (post,) = bot.standin.workspace.ephemeral_posts
    assert post["user"] == "UCAROL" and post["thread_ts"] == ts
    assert bot.standin.workspace.bot_posts == []


# ----------------------------------------------------------------------------------- ignored


def test_other_emojis_files_and_own_messages_are_ignored(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("you idiot")
    assert [d.status for d in bot.react(ts, "thumbsup")] == [200]  # acked, so Slack does not retry
    file_event = bot.standin.reaction_event(bot.channel, ts, TRIGGER, item_type="file")
    assert bot.standin.deliver(file_event).status == 200
    own = bot.post("Decorum: looks fine", user=BOT_USER_ID)
    bot.react(own)
    time.sleep(1.0)
    assert bot.standin.workspace.bot_posts == []
    assert "conversations.history" in bot.standin.workspace.api_calls  # only for the own message


def test_deleted_and_empty_messages_get_nothing_to_check(make_bot) -> None:
    bot = make_bot()
    empty = bot.post("", files=[{"id": "F1", "name": "diagram.png"}])
    deleted = bot.post("soon gone")
    bot.standin.delete_message(bot.channel, deleted)
    bot.react(empty)
    bot.react(deleted)
    for ts in (empty, deleted):
        (reply,) = bot.replies(ts)
        assert outcome(reply) == "nothing_to_check"
        assert NOTHING_TO_CHECK in reply["blocks"][0]["text"]["text"]


# ----------------------------------------------------------------------------------- exactly once


def test_duplicate_storm_gives_exactly_one_reply_per_message(make_bot) -> None:
    """200 reactions, each delivered 4 times at once (the first try and 3 redeliveries)."""
    bot = make_bot()
    messages = [bot.post(f"message number {i}, you fool" if i % 2 else f"message number {i}") for i in range(200)]
    envelopes = [bot.standin.reaction_event(bot.channel, ts, TRIGGER) for ts in messages]
    deliveries = [(envelope, retry) for envelope in envelopes for retry in range(4)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda d: bot.standin.deliver(d[0], retry_num=d[1]).status, deliveries))
    assert statuses.count(200) == 800
    deadline = time.monotonic() + 90
    while len(bot.standin.workspace.bot_posts) < 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # late duplicates would land now
    replied = [p["metadata"]["event_payload"]["message_ts"] for p in bot.standin.workspace.bot_posts]
    assert len(replied) == 200 and sorted(replied) == sorted(messages)


def test_second_reaction_on_a_checked_message_is_not_answered_again(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("hello team")
    bot.react(ts)
    assert len(bot.replies(ts)) == 1
    bot.react(ts, user="UDAVE")
    bot.react(ts, "rotating_light")
    assert len(bot.replies(ts, settle_s=0.8)) == 1


def test_a_redelivery_after_a_lost_ack_still_gets_one_reply(make_bot) -> None:
    """Slack retries when the ack is lost; the retry must not be dropped, nor answered twice."""
    bot = make_bot()
    ts = bot.post("you absolute clown")
    envelope = bot.standin.reaction_event(bot.channel, ts, TRIGGER)
    bot.standin.deliver(envelope, retry_num=1)  # only the retry arrives (the first try was lost)
    assert len(bot.replies(ts)) == 1


# ----------------------------------------------------------------------------------- failures


def test_endpoint_faults_are_retried_within_the_budget(make_bot, endpoint) -> None:
    bot = make_bot()
    ts = bot.post("you idiot")
    endpoint.faults[:] = ["throttle", "unavailable"]  # the first two calls fail, the third answers
    calls_before = endpoint.calls
    bot.react(ts)
    (reply,) = bot.replies(ts, wait_s=15)
    assert outcome(reply) in ("flagged", "clean")
    assert endpoint.calls - calls_before == 3


@pytest.mark.parametrize(("first_timeout_s", "calls"), [(0.5, 2), (3.0, 1)], ids=["retried", "cold-start"])
def test_a_slow_endpoint_is_retried_unless_the_first_call_may_wait_for_a_cold_start(
        make_bot, endpoint, first_timeout_s: float, calls: int) -> None:
    """A 1.5 s answer: past the warm timeout (retried), or within the first call's cold-start budget."""
    bot = make_bot(classify_first_timeout_s=first_timeout_s, classify_timeout_s=0.5)
    ts = bot.post("you idiot")
    endpoint.faults[:] = ["slow"]
    calls_before = endpoint.calls
    bot.react(ts)
    (reply,) = bot.replies(ts, wait_s=15)
    assert outcome(reply) in ("flagged", "clean") and endpoint.calls - calls_before == calls


def test_an_endpoint_that_always_fails_gets_one_failure_reply_and_a_retry_later(make_bot, endpoint) -> None:
    bot = make_bot(classify_attempts=2)
    ts = bot.post("you idiot")
    endpoint.faults[:] = ["unavailable"] * 2
    bot.react(ts)
    (reply,) = bot.replies(ts, wait_s=15)
    assert outcome(reply) == "failed" and CHECK_FAILED in reply["blocks"][0]["text"]["text"]
    # Reacting again retries a failed check (and only a failed one).
    bot.react(ts, user="UERIN")
    bot.standin.wait_for_replies(bot.channel, ts, 2, timeout_s=10)
    replies = bot.replies(ts, wait_s=15, settle_s=0.5)
    assert len(replies) == 2 and outcome(replies[0]) == "failed"
    assert outcome(replies[1]) in ("flagged", "clean")


def test_slack_rate_limit_is_waited_out(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("you idiot")
    calls = len(bot.standin.workspace.api_calls)
    bot.standin.rate_limit_next(1)
    started = time.monotonic()
    bot.react(ts)
    assert len(bot.replies(ts, wait_s=15)) == 1
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    made = bot.standin.workspace.api_calls[calls:]
    assert made[0] == made[1]  # the rate-limited call was made again, after the wait
    assert made.count("chat.postMessage") == 1


def test_message_text_and_tokens_never_reach_the_logs(make_bot, capfd: pytest.CaptureFixture) -> None:
    bot = make_bot()
    ts = bot.post("the secret launch codes are zebra-42")
    bot.react(ts)
    bot.replies(ts)
    out, err = capfd.readouterr()
    logs = out + err
    assert "zebra-42" not in logs and bot.credentials.bot_token not in logs
    assert bot.credentials.signing_secret not in logs


def test_the_bot_emits_only_the_metrics_it_declares(make_bot, endpoint, capfd: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools' EMF lines, as CloudWatch would read them: every name is one infra/monitoring.py can
    alarm on (handlers/slack/metrics.py), in the namespace and dimension it watches."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    bot = make_bot(classify_attempts=1)
    clean, failing = bot.post("see you at lunch"), bot.post("you idiot")
    bot.react(clean)
    bot.replies(clean)
    bot.react(clean, user="UERIN")  # a duplicate check
    endpoint.faults[:] = ["unavailable"]
    bot.react(failing)
    bot.replies(failing, wait_s=15)
    time.sleep(0.3)
    emitted: dict[str, set] = {}
    for line in capfd.readouterr().out.splitlines():
        if '"_aws"' in line:
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == NAMESPACE and directive["Dimensions"] == [list(DIMENSIONS)]
                assert all(blob[name] == value for name, value in DIMENSIONS.items())
                emitted.setdefault("names", set()).update(m["Name"] for m in directive["Metrics"])
    names = emitted.get("names", set())
    assert {BotMetric.CHECK_FAILURES, BotMetric.REACTION_TO_REPLY_LATENCY, BotMetric.DUPLICATES_SUPPRESSED} <= names
    assert names <= {m.value for m in BotMetric}, f"undeclared: {names - {m.value for m in BotMetric}}"


# ----------------------------------------------------------------------------------- the message shortcut


def private_answers(bot, before: int = 0) -> list[dict]:
    """What the bot sent only to one person: ephemeral posts and response_url answers."""
    posts = [p for p in bot.standin.workspace.ephemeral_posts if p["channel"] == bot.channel]
    return (posts + bot.standin.workspace.responses)[before:]


def test_the_shortcut_answers_the_asker_privately_in_the_thread_without_a_fetch(make_bot) -> None:
    bot = make_bot(explain_min_weight=-1.0)
    parent = bot.post("status update")
    child = bot.post("you are a complete idiot", thread_ts=parent)
    calls_before = len(bot.standin.workspace.api_calls)
    assert bot.standin.shortcut(bot.channel, child, CHECK_SHORTCUT_CALLBACK_ID, user="UCARA").status == 200
    (answer,) = wait_for_private(bot, 1)
    assert answer["user"] == "UCARA" and answer["thread_ts"] == parent
    text = json.dumps(answer["blocks"])
    assert "Flagged" in text and "drove it" in text and "masked" not in text  # private: words in full
    assert bot.standin.replies_to(bot.channel, child) == []  # nothing public
    called = bot.standin.workspace.api_calls[calls_before:]
    assert "conversations.history" not in called and "conversations.replies" not in called


def test_a_redelivered_shortcut_answers_once_and_a_second_click_again(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("you are a complete idiot")
    payload = bot.standin.shortcut_payload(bot.channel, ts, CHECK_SHORTCUT_CALLBACK_ID)
    with ThreadPoolExecutor(4) as pool:
        assert [d.status for d in pool.map(lambda _: bot.standin.deliver_interaction(payload), range(4))] == [200] * 4
    time.sleep(1.0)
    assert len(private_answers(bot)) == 1
    bot.standin.shortcut(bot.channel, ts, CHECK_SHORTCUT_CALLBACK_ID)  # a new click: a new request
    assert len(wait_for_private(bot, 2)) == 2


def test_the_shortcut_on_a_message_without_text_says_so_privately(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("", files=[{"id": "F1"}])
    bot.standin.shortcut(bot.channel, ts, CHECK_SHORTCUT_CALLBACK_ID)
    (answer,) = wait_for_private(bot, 1)
    assert NOTHING_TO_CHECK in json.dumps(answer["blocks"])


def test_where_the_bot_is_not_a_member_the_shortcut_answers_through_the_response_url(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("you are a complete idiot")
    bot.standin.workspace.bot_absent.add(bot.channel)
    bot.standin.shortcut(bot.channel, ts, CHECK_SHORTCUT_CALLBACK_ID)
    (answer,) = wait_for_private(bot, 1)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "toxic" in json.dumps(answer["blocks"])


def test_a_forged_shortcut_is_rejected(make_bot) -> None:
    bot = make_bot()
    ts = bot.post("you are a complete idiot")
    payload = bot.standin.shortcut_payload(bot.channel, ts, CHECK_SHORTCUT_CALLBACK_ID)
    body, headers = bot.standin.signed_interaction(payload)
    assert post_as_slack(bot.standin, body, forged(headers, body))[0] == 401
    time.sleep(0.5)
    assert private_answers(bot) == []


def wait_for_private(bot, count: int, timeout_s: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(private_answers(bot)) < count:
        time.sleep(0.02)
    time.sleep(0.2)  # an extra answer, if one were sent, lands now
    return private_answers(bot)
