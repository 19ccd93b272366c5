"""Explanations in the reply and votes on verdicts: signed `block_actions` clicks from the Slack stand-in
to the Bolt app (over HTTP and through the Lambda handler), votes in DynamoDB (moto)."""

from __future__ import annotations

import csv
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from handlers.slack.feedback import TALLY_BLOCK_ID, VOTE_ACTIONS, FeedbackStore
from handlers.slack.metrics import DIMENSIONS, MODEL_VERSION_DIMENSION, NAMESPACE, BotMetric
from handlers.slack.replies import mask
from tests.integration.conftest import LambdaContext, forged, function_url_event, post_as_slack

RIGHT, WRONG = (next(a for a, choice in VOTE_ACTIONS.items() if choice == wanted) for wanted in ("right", "wrong"))
MESSAGE = "you are a complete idiot and your code is garbage"


def tally_line(post: dict) -> str:
    (block,) = [b for b in post["blocks"] if b.get("block_id") == TALLY_BLOCK_ID]
    return " ".join(e["text"] for e in block["elements"])


def wait_for(predicate, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


def store_for(bot, keep_text: bool = False) -> FeedbackStore:
    return FeedbackStore(bot.config.feedback_table, 90, keep_text, endpoint_url=bot.config.dynamodb_endpoint_url)


def votes_of(bot, ts: str) -> dict[str, str]:
    item = store_for(bot).get(bot.standin.team_id, bot.channel, ts) or {}
    return {user: v["M"]["vote"]["S"] for user, v in item.get("votes", {}).get("M", {}).items()}


def checked(bot, text: str = MESSAGE) -> tuple[str, dict]:
    ts = bot.post(text)
    bot.react(ts)
    (reply,) = bot.replies(ts)
    return ts, reply


# ----------------------------------------------------------------------------------- explanations


def test_public_reply_masks_the_driving_words_and_the_reactor_sees_them_in_full(make_bot) -> None:
    # The tiny test model barely separates words: name every word it weighs, to see where each one goes.
    bot = make_bot(explain_min_weight=-1.0)
    ts, reply = checked(bot)
    assert reply["metadata"]["event_payload"]["outcome"] == "flagged"  # the tiny model flags everything
    public = json.dumps(reply["blocks"])
    private = wait_for(lambda: [p for p in bot.standin.workspace.ephemeral_posts if p["channel"] == bot.channel])
    (note,) = private
    assert note["user"] == "UBOB" and note["thread_ts"] == ts  # the reactor, in the message's thread
    shown = note["blocks"][0]["text"]["text"]
    words = [w.strip("`") for w in shown.split("drove it: ")[1].split(" _(")[0].split(", ")]
    assert 1 <= len(words) <= 3 and all(w in MESSAGE for w in words)
    for word in words:
        assert f"`{mask(word)}`" in public
        if len(word) > 1:
            assert f"`{word}`" not in public  # never repeated in full to the channel


def test_ephemeral_mode_shows_the_words_in_its_one_private_reply(make_bot) -> None:
    bot = make_bot(explain_min_weight=-1.0, reply_mode="ephemeral")
    ts = bot.post(MESSAGE)
    bot.react(ts)
    (reply,) = wait_for(lambda: bot.standin.workspace.ephemeral_posts)
    text = json.dumps(reply["blocks"])
    assert "drove it" in text and "masked" not in text
    assert bot.standin.replies_to(bot.channel, ts) == []


def test_explanations_off_name_no_words(make_bot, endpoint) -> None:
    bot = make_bot(explain=False, explain_min_weight=-1.0)
    endpoint.bodies.clear()
    _, reply = checked(bot)
    assert "drove it" not in json.dumps(reply["blocks"])
    assert all(b"explain" not in body for body in endpoint.bodies)
    assert not bot.standin.workspace.ephemeral_posts


# ----------------------------------------------------------------------------------- votes


def test_a_vote_updates_the_tally_and_is_recorded_with_the_verdict(make_bot, toxicity_model) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    assert "Was this right?" in tally_line(reply)
    assert bot.standin.click(reply, WRONG, user="UCARA").status == 200
    updated = wait_for(lambda: "said wrong" in tally_line(post := bot.standin.bot_post(bot.channel, reply["ts"]))
                       and post)
    assert "1 person said wrong" in tally_line(updated)
    item = store_for(bot).get(bot.standin.team_id, bot.channel, ts)
    assert votes_of(bot, ts) == {"UCARA": "wrong"}
    assert item["model_version"]["S"] == toxicity_model.version
    assert set(item["scores"]["M"]) == {"toxic", "hate"} and item["flagged"]["L"]
    assert int(item["expires_at"]["N"]) - time.time() > 89 * 86_400


def test_a_second_click_changes_the_vote_and_each_person_counts_once(make_bot) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    bot.standin.click(reply, RIGHT, user="UCARA")
    wait_for(lambda: votes_of(bot, ts) == {"UCARA": "right"})
    bot.standin.click(reply, WRONG, user="UCARA")
    bot.standin.click(reply, WRONG, user="UDAN")
    assert wait_for(lambda: votes_of(bot, ts) == {"UCARA": "wrong", "UDAN": "wrong"})
    line = wait_for(lambda: "2 people said wrong" in tally_line(bot.standin.bot_post(bot.channel, reply["ts"]))
                    and tally_line(bot.standin.bot_post(bot.channel, reply["ts"])))
    assert "said right" not in line


def test_four_concurrent_redeliveries_of_one_click_count_once(make_bot) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    payload = bot.standin.interaction_payload(reply, WRONG, user="UCARA")
    with ThreadPoolExecutor(4) as pool:
        statuses = [d.status for d in pool.map(lambda _: bot.standin.deliver_interaction(payload), range(4))]
    assert statuses == [200] * 4
    time.sleep(1.0)
    assert votes_of(bot, ts) == {"UCARA": "wrong"}
    assert "1 person said wrong" in tally_line(bot.standin.bot_post(bot.channel, reply["ts"]))


def test_concurrent_voters_leave_the_full_tally_on_the_reply(make_bot) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    voters = [f"UVOTER{i}" for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda user: bot.standin.click(reply, WRONG, user=user), voters))
    assert wait_for(lambda: len(votes_of(bot, ts)) == 4)
    time.sleep(1.0)  # every voter's last update has landed
    assert "4 people said wrong" in tally_line(bot.standin.bot_post(bot.channel, reply["ts"]))


def test_a_vote_whose_record_is_gone_is_still_counted(make_bot) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    client = boto3.client("dynamodb", endpoint_url=bot.config.dynamodb_endpoint_url)
    client.delete_item(TableName=bot.config.feedback_table, Key=FeedbackStore.key(bot.standin.team_id, bot.channel, ts))
    bot.standin.click(reply, RIGHT, user="UCARA")
    assert wait_for(lambda: votes_of(bot, ts) == {"UCARA": "right"})
    item = store_for(bot).get(bot.standin.team_id, bot.channel, ts)
    assert item["model_version"]["S"] and set(item["scores"]["M"]) == {"toxic", "hate"}  # from the button


def test_a_vote_on_a_private_verdict_is_answered_privately(make_bot) -> None:
    bot = make_bot(reply_mode="ephemeral")
    ts = bot.post(MESSAGE)
    bot.react(ts)
    (verdict,) = wait_for(lambda: bot.standin.workspace.ephemeral_posts)
    assert bot.standin.click(verdict, WRONG).status == 200
    (answer,) = wait_for(lambda: bot.standin.workspace.responses)
    assert answer["response_type"] == "ephemeral" and "wrong" in answer["text"]
    assert votes_of(bot, ts) == {"UBOB": "wrong"}


@pytest.mark.parametrize("keep_text", [False, True])
def test_the_message_text_is_stored_only_when_the_workspace_keeps_it(make_bot, keep_text: bool,
                                                                     capfd: pytest.CaptureFixture) -> None:
    bot = make_bot(feedback_keep_text=keep_text)
    text = f"you are an idiot, zebra-{keep_text}"
    ts, reply = checked(bot, text)
    bot.standin.click(reply, WRONG)
    wait_for(lambda: votes_of(bot, ts))
    item = store_for(bot).get(bot.standin.team_id, bot.channel, ts)
    assert ("text" in item) is keep_text
    if keep_text:
        assert item["text"]["S"] == text
    out, err = capfd.readouterr()
    assert f"zebra-{keep_text}" not in out + err


@pytest.mark.parametrize("forgery", ["wrong-secret", "stale", "unsigned"])
def test_forged_clicks_are_rejected_and_count_nothing(make_bot, forgery: str) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    payload = bot.standin.interaction_payload(reply, WRONG, user="UMALLORY")
    stamp = int(time.time()) - 360 if forgery == "stale" else None
    body, headers = bot.standin.signed_interaction(payload, timestamp=stamp)
    if forgery == "wrong-secret":
        headers = forged(headers, body)
    elif forgery == "unsigned":
        del headers["X-Slack-Signature"]
    assert post_as_slack(bot.standin, body, headers)[0] == 401
    time.sleep(0.5)
    assert votes_of(bot, ts) == {}


def test_a_click_on_another_channels_button_is_dropped(make_bot) -> None:
    bot = make_bot()
    ts, reply = checked(bot)
    payload = bot.standin.interaction_payload(reply, WRONG)
    payload["channel"]["id"] = payload["container"]["channel_id"] = "COTHER"
    assert bot.standin.deliver_interaction(payload).status == 200  # acked: Slack shows no error
    time.sleep(0.5)
    assert votes_of(bot, ts) == {}


def test_votes_through_the_lambda_handler_are_acked_then_recorded(harness) -> None:
    h = harness()
    ts = h.standin.post_user_message(h.channel, MESSAGE)
    h.react(ts)
    h.lambda_api.drain()
    (reply,) = h.standin.replies_to(h.channel, ts)
    body, headers = h.standin.signed_interaction(h.standin.interaction_payload(reply, WRONG, user="UCARA"))
    started = time.perf_counter()
    response = h.handler(function_url_event(body, headers), LambdaContext())
    assert response["statusCode"] == 200 and time.perf_counter() - started < 3
    h.lambda_api.drain()
    assert h.lambda_api.attempts[-1] == "ok"
    store = FeedbackStore(h.config.feedback_table, 90, False, endpoint_url=h.config.dynamodb_endpoint_url)
    assert store.get(h.standin.team_id, h.channel, ts)["votes"]["M"]["UCARA"]["M"]["vote"]["S"] == "wrong"
    assert "1 person said wrong" in tally_line(h.standin.bot_post(h.channel, reply["ts"]))


def test_vote_metrics_count_changes_per_model_version_and_for_the_live_one(
        make_bot, toxicity_model, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    bot = make_bot()
    ts, reply = checked(bot)
    capfd.readouterr()
    for choice in (RIGHT, WRONG, WRONG):  # a vote, a change, the same vote again
        bot.standin.click(reply, choice, user="UCARA")
        time.sleep(0.5)
    sums: dict[tuple[str, tuple], float] = {}
    for line in capfd.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            dimensions = tuple(sorted((name, blob[name]) for name in directive["Dimensions"][0]))
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                sums[(metric["Name"], dimensions)] = sums.get((metric["Name"], dimensions), 0) + sum(
                    values if isinstance(values, list) else [values])
    per_version = tuple(sorted({**DIMENSIONS, MODEL_VERSION_DIMENSION: toxicity_model.version}.items()))
    live = tuple(sorted(DIMENSIONS.items()))
    assert sums[(BotMetric.FEEDBACK_RIGHT, per_version)] == 0 and sums[(BotMetric.FEEDBACK_WRONG, per_version)] == 1
    assert sums[(BotMetric.LIVE_FEEDBACK_RIGHT, live)] == 0 and sums[(BotMetric.LIVE_FEEDBACK_WRONG, live)] == 1
    assert votes_of(bot, ts) == {"UCARA": "wrong"}


def test_feedback_export_turns_the_votes_into_training_rows(make_bot, tmp_path, capsys) -> None:
    from model_build.__main__ import main

    bot = make_bot(feedback_keep_text=True)
    voted, unvoted = f"you idiot {bot.channel}", f"have a nice day {bot.channel}"
    _, reply = checked(bot, voted)  # the tiny model flags toxic
    checked(bot, unvoted)
    bot.standin.click(reply, WRONG, user="UCARA")
    bot.standin.click(reply, RIGHT, user="UDAN")
    wait_for(lambda: len(votes_of(bot, reply["thread_ts"])) == 2)
    out = tmp_path / "feedback" / "data.csv"
    assert main(["feedback-export", "--table", bot.config.feedback_table, "--endpoint-url",
                 bot.config.dynamodb_endpoint_url, "--out", str(out)]) == 0
    assert "feedback rows written" in capsys.readouterr().out
    exported = {row["text"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert unvoted not in exported  # nobody voted: no label to learn
    flagged = json.loads(reply["blocks"][-2]["elements"][0]["value"])["f"]
    assert exported[voted]["toxic"] == "0.5" and exported[voted]["hate"] == ("0.5" if "hate" in flagged else "")


def test_feedback_export_names_a_missing_table(tmp_path, moto_url, capsys) -> None:
    from model_build.__main__ import main

    assert main(["feedback-export", "--table", "no-such-table", "--endpoint-url", moto_url,
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "feedback export failed" in capsys.readouterr().err
