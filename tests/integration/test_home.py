"""Settings in App Home (handlers/slack/home.py, workspace_settings.py): the Home tab, the modal, who may
save, and the next check running with what was saved. Signed events and interactions from the Slack
stand-in to the Bolt app over HTTP; settings in DynamoDB (moto)."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from handlers.slack.home import (
    ADMINS_ONLY,
    CHANNEL_BLOCK,
    EDIT_CHANNEL,
    EDIT_WORKSPACE,
    EMOJIS_BLOCK,
    EXPLAIN_BLOCK,
    MODE_BLOCK,
    RESET_CHANNEL,
    SENSITIVITY_BLOCK,
    VALUE,
)
from handlers.slack.workspace_settings import Override, SettingsStore
from tests.integration.conftest import forged, post_as_slack

ADMIN, MEMBER = "UADMIN", "UMEMBER"


def home_buttons(bot, user: str) -> set[str]:
    view = bot.standin.workspace.home_views[user]
    return {e["action_id"] for b in view["blocks"] if b.get("type") == "actions" for e in b["elements"]}


def opened_home(bot, user: str) -> dict:
    bot.standin.app_home_opened(user)
    deadline = time.monotonic() + 5
    while user not in bot.standin.workspace.home_views and time.monotonic() < deadline:
        time.sleep(0.02)
    return bot.standin.workspace.home_views[user]


def values(emojis: str = "", mode: str = "inherit", explain: str = "inherit", **sensitivity: str) -> dict:
    """A modal's state as Slack sends it on submission."""
    state = {EMOJIS_BLOCK: {VALUE: {"type": "plain_text_input", "value": emojis or None}},
             MODE_BLOCK: {VALUE: {"type": "static_select", "selected_option": {"value": mode}}},
             EXPLAIN_BLOCK: {VALUE: {"type": "static_select", "selected_option": {"value": explain}}}}
    for label in ("toxic", "hate"):
        state[SENSITIVITY_BLOCK.format(label=label)] = {VALUE: {"type": "plain_text_input",
                                                                "value": sensitivity.get(label)}}
    return state


def edit(bot, user: str, action_id: str, value: str | None = None) -> dict:
    """Clicks an edit button of the Home tab and returns the modal the bot opened."""
    before = len(bot.standin.workspace.modals)
    assert bot.standin.click_home(user, action_id, value).status == 200
    assert len(bot.standin.workspace.modals) == before + 1
    return bot.standin.workspace.modals[-1]["view"]


def saved(bot) -> dict:
    store = SettingsStore(bot.config.settings_table, None, cache_s=0, endpoint_url=bot.config.dynamodb_endpoint_url)
    item = store.load(bot.standin.team_id)
    return {"workspace": item.workspace, "channels": item.channels}


def test_everyone_sees_the_settings_and_only_admins_can_edit(make_bot) -> None:
    bot = make_bot()
    member_view, admin_view = opened_home(bot, MEMBER), opened_home(bot, ADMIN)
    assert "triangular_flag_on_post" in json.dumps(member_view) and ADMINS_ONLY in json.dumps(member_view)
    assert home_buttons(bot, MEMBER) == set()
    assert {EDIT_WORKSPACE, EDIT_CHANNEL} <= home_buttons(bot, ADMIN) and ADMINS_ONLY not in json.dumps(admin_view)


def test_an_admins_new_trigger_emoji_applies_to_the_next_reaction(make_bot) -> None:
    bot = make_bot()
    opened_home(bot, ADMIN)
    modal = edit(bot, ADMIN, EDIT_WORKSPACE)
    answer = bot.standin.submit_modal(ADMIN, modal, values(emojis=":rotating_light:, warning", mode="thread"))
    assert answer.status == 200 and "errors" not in answer.body
    assert saved(bot)["workspace"] == Override(trigger_emojis=("rotating_light", "warning"), reply_mode="thread")
    assert "rotating_light" in json.dumps(bot.standin.workspace.home_views[ADMIN])  # the Home tab refreshed
    old, new = bot.post("you are a complete idiot"), bot.post("you are an idiot too")
    bot.react(old, "triangular_flag_on_post")
    bot.react(new, "rotating_light")
    assert len(bot.replies(new)) == 1
    assert bot.standin.replies_to(bot.channel, old) == []


def test_a_channel_override_applies_to_that_channel_only(make_bot) -> None:
    bot = make_bot()
    other = "C" + bot.channel[1:][::-1]
    bot.standin.workspace.messages[other] = []
    opened_home(bot, ADMIN)
    modal = edit(bot, ADMIN, EDIT_CHANNEL)  # "Add a channel": the modal asks which
    assert modal["blocks"][0]["block_id"] == CHANNEL_BLOCK
    state = {CHANNEL_BLOCK: {VALUE: {"type": "conversations_select", "selected_conversation": bot.channel}},
             **values(mode="ephemeral")}
    assert "errors" not in bot.standin.submit_modal(ADMIN, modal, state).body
    private_ts, public_ts = bot.post("you are a complete idiot"), bot.standin.post_user_message(other, "you idiot")
    bot.react(private_ts)
    bot.standin.react(other, public_ts, "triangular_flag_on_post")
    assert len(bot.standin.wait_for_replies(other, public_ts)) == 1  # the other channel: in its thread
    time.sleep(0.3)
    assert bot.standin.replies_to(bot.channel, private_ts) == []  # this one: privately
    assert [p["channel"] for p in bot.standin.workspace.ephemeral_posts].count(bot.channel) == 1
    assert EDIT_CHANNEL in home_buttons(bot, ADMIN) and RESET_CHANNEL in home_buttons(bot, ADMIN)
    bot.standin.click_home(ADMIN, RESET_CHANNEL, bot.channel)
    assert saved(bot)["channels"] == {}


def test_sensitivity_moves_the_threshold_the_model_sent(make_bot, endpoint) -> None:
    host, port = endpoint.server_address[:2]
    request = urllib.request.Request(f"http://{host}:{port}/invocations", data=json.dumps(
        {"inputs": "you are a complete idiot"}).encode(), headers={"Content-Type": "application/json"})
    answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
    margin = answer["results"][0]["scores"]["toxic"] - answer["thresholds"]["toxic"]
    assert 0 <= margin < 0.2  # the tiny model: flagged, near its threshold
    bot = make_bot()
    opened_home(bot, ADMIN)
    modal = edit(bot, ADMIN, EDIT_WORKSPACE)
    offset = f"-{min(0.2, round(margin + 0.01, 2))}"
    assert "errors" not in bot.standin.submit_modal(ADMIN, modal, values(toxic=offset, hate="-0.2")).body
    ts = bot.post("you are a complete idiot")
    bot.react(ts)
    (reply,) = bot.replies(ts)
    assert reply["metadata"]["event_payload"]["outcome"] == "clean"


def test_a_member_cannot_save_settings(make_bot) -> None:
    bot = make_bot()
    opened_home(bot, ADMIN)
    modal = edit(bot, ADMIN, EDIT_WORKSPACE)
    answer = bot.standin.submit_modal(MEMBER, modal, values(emojis="warning"))  # a modal a member should not have
    assert answer.status == 200 and json.loads(answer.body)["response_action"] == "errors"
    assert ADMINS_ONLY in answer.body
    assert saved(bot)["workspace"] == Override()
    opened_home(bot, MEMBER)
    before = len(bot.standin.workspace.modals)
    bot.standin.workspace.home_views[MEMBER] = bot.standin.workspace.home_views[ADMIN]  # a forged Home tab
    bot.standin.click_home(MEMBER, EDIT_WORKSPACE)
    assert len(bot.standin.workspace.modals) == before  # no modal for a member


@pytest.mark.parametrize(("state", "field"), [(values(emojis="not an emoji!"), EMOJIS_BLOCK),
                                              (values(toxic="0.5"), SENSITIVITY_BLOCK.format(label="toxic")),
                                              (values(hate="lots"), SENSITIVITY_BLOCK.format(label="hate"))])
def test_invalid_values_are_shown_beside_their_field_and_nothing_is_saved(make_bot, state: dict, field: str) -> None:
    bot = make_bot()
    opened_home(bot, ADMIN)
    modal = edit(bot, ADMIN, EDIT_WORKSPACE)
    answer = bot.standin.submit_modal(ADMIN, modal, state)
    errors = json.loads(answer.body)
    assert errors["response_action"] == "errors" and list(errors["errors"]) == [field]
    assert saved(bot)["workspace"] == Override()


def test_a_forged_submission_is_rejected(make_bot) -> None:
    bot = make_bot()
    opened_home(bot, ADMIN)
    modal = edit(bot, ADMIN, EDIT_WORKSPACE)
    payload = {"type": "view_submission", "team": {"id": bot.standin.team_id}, "user": {"id": ADMIN},
               "view": {**modal, "state": {"values": values(emojis="warning")}}}
    body, headers = bot.standin.signed_interaction(payload)
    assert post_as_slack(bot.standin, body, forged(headers, body))[0] == 401
    assert saved(bot)["workspace"] == Override()


def test_a_change_reaches_other_containers_within_the_cache_age(make_bot) -> None:
    """Two bots on one table (two warm containers): the one that did not save sees it after its cache."""
    bot = make_bot(settings_cache_s=0.5)
    other = SettingsStore(bot.config.settings_table, None, cache_s=0.5, endpoint_url=bot.config.dynamodb_endpoint_url)
    assert other.load(bot.standin.team_id).workspace == Override()
    opened_home(bot, ADMIN)
    bot.standin.submit_modal(ADMIN, edit(bot, ADMIN, EDIT_WORKSPACE), values(explain="off"))
    assert other.load(bot.standin.team_id).workspace == Override()  # still cached
    time.sleep(0.6)
    assert other.load(bot.standin.team_id).workspace == Override(explain=False)


def test_the_local_page_opens_app_home_and_saves_through_the_modal(make_bot) -> None:
    """`make run`'s page: App Home as an admin, "Edit workspace settings", the modal's form, Save."""
    bot = make_bot()
    base = bot.standin.base_url

    def get(path: str) -> str:
        return urllib.request.urlopen(base + path, timeout=10).read().decode()

    def post(path: str, form: dict) -> str:
        data = urllib.parse.urlencode(form).encode()
        return urllib.request.urlopen(urllib.request.Request(base + path, data=data, method="POST"),
                                      timeout=10).read().decode()

    assert "Edit workspace settings" in get("/ui/home?user=UADMIN")
    page = post("/ui/home_click", {"user": ADMIN, "action_id": EDIT_WORKSPACE, "value": ""})
    assert "Trigger emoji(s)" in page and "Save" in page
    post("/ui/submit", {"user": ADMIN, EMOJIS_BLOCK: "warning", MODE_BLOCK: "inherit", EXPLAIN_BLOCK: "off"})
    assert saved(bot)["workspace"] == Override(trigger_emojis=("warning",), explain=False)
    ts = bot.post("you are a complete idiot")
    assert "Check with Decorum" in get("/")
    post("/ui/shortcut", {"channel": bot.channel, "ts": ts})  # the page's shortcut, by the manifest's callback id
    deadline = time.monotonic() + 10
    while not bot.standin.workspace.ephemeral_posts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p["user"] for p in bot.standin.workspace.ephemeral_posts] == ["UBOB"]
