"""App Home: the workspace's settings and each channel's (workspace_settings.py), readable by everyone,
editable by workspace admins and owners through a modal.

app_home_opened -> views.publish. "Edit" buttons (admins only) -> views.open with the settings modal
(the trigger id expires in 3 s: opened before the ack returns). The modal's submission is validated
and the asker's role checked again (users.info) before anything is saved; errors are shown beside
their field (`response_action: errors`). Saving refreshes the asker's Home tab.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.slack.config import LOG_SERVICE
from handlers.slack.workspace_settings import (
    REPLY_MODES,
    CheckSettings,
    Override,
    SettingsError,
    SettingsStore,
    WorkspaceSettings,
)

log = Logger(service=LOG_SERVICE, child=True)

# Ids Slack sends back: the buttons of the Home tab, the modal's callback id and its blocks.
EDIT_WORKSPACE, EDIT_CHANNEL, RESET_CHANNEL = ("decorum_settings_edit_workspace", "decorum_settings_edit_channel",
                                               "decorum_settings_reset_channel")
SETTINGS_MODAL = "decorum_settings_modal"
CHANNEL_BLOCK, EMOJIS_BLOCK, MODE_BLOCK, EXPLAIN_BLOCK = "channel", "trigger_emojis", "reply_mode", "explain"
SENSITIVITY_BLOCK = "sensitivity_{label}"
VALUE = "value"  # the action id of every input element in the modal
INHERIT = "inherit"
ADMINS_ONLY = "Only workspace admins and owners can change these settings."


def describe(settings: CheckSettings) -> str:
    sensitivity = ", ".join(f"{label} {offset:+.2f}" for label, offset in settings.sensitivity.items() if offset)
    return (f"trigger {' '.join(f':{e}:' for e in settings.trigger_emojis)} · reply: {settings.reply_mode} · "
            f"explanations: {'on' if settings.explain else 'off'} · sensitivity: {sensitivity or 'model default'}")


def home_view(settings: WorkspaceSettings, defaults: CheckSettings, admin: bool) -> dict:
    base = settings.workspace.apply(defaults)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Decorum settings"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Workspace*\n{describe(base)}"}},
    ]
    if admin:
        blocks.append({"type": "actions", "elements": [_button("Edit workspace settings", EDIT_WORKSPACE)]})
    blocks += [{"type": "divider"}, {"type": "section", "text": {"type": "mrkdwn", "text": (
        "*Channels with their own settings*" if settings.channels else "_No channel has its own settings._")}}]
    for channel, override in sorted(settings.channels.items()):
        section: dict = {"type": "section", "text": {"type": "mrkdwn",
                                                     "text": f"<#{channel}>\n{describe(override.apply(base))}"}}
        blocks.append(section)
        if admin:
            buttons = [_button("Edit", EDIT_CHANNEL, channel),
                       _button("Reset to the workspace's", RESET_CHANNEL, channel)]
            blocks.append({"type": "actions", "elements": buttons})
    if admin:
        blocks.append({"type": "actions", "elements": [_button("Add a channel", EDIT_CHANNEL)]})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": ADMINS_ONLY}]})
    return {"type": "home", "blocks": blocks}


def _button(text: str, action_id: str, value: str = "") -> dict:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}}
    return button | ({"value": value} if value else {})


def _option(value: str, text: str) -> dict:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def _select(block_id: str, label: str, options: list[tuple[str, str]], current: str) -> dict:
    choices = [_option(value, text) for value, text in options]
    return {"type": "input", "block_id": block_id, "label": {"type": "plain_text", "text": label},
            "element": {"type": "static_select", "action_id": VALUE, "options": choices,
                        "initial_option": next(c for c in choices if c["value"] == current)}}


def _text_input(block_id: str, label: str, current: str, hint: str) -> dict:
    element: dict = {"type": "plain_text_input", "action_id": VALUE}
    if current:
        element["initial_value"] = current
    return {"type": "input", "block_id": block_id, "optional": True, "label": {"type": "plain_text", "text": label},
            "hint": {"type": "plain_text", "text": hint}, "element": element}


def settings_modal(channel: str | None, adding: bool, override: Override, labels: tuple[str, ...]) -> dict:
    """The modal for the workspace (`channel` None) or a channel; empty fields inherit."""
    above = "the workspace's" if channel or adding else "the deploy's default"
    blocks: list[dict] = []
    if adding:
        blocks.append({"type": "input", "block_id": CHANNEL_BLOCK, "label": {"type": "plain_text", "text": "Channel"},
                       "element": {"type": "conversations_select", "action_id": VALUE,
                                   "filter": {"include": ["public", "private"], "exclude_bot_users": True}}})
    blocks += [
        _text_input(EMOJIS_BLOCK, "Trigger emoji(s)", ", ".join(override.trigger_emojis or ()),
                    f"Names, separated by commas, e.g. rotating_light. Empty: {above}."),
        _select(MODE_BLOCK, "Where the verdict goes", [(INHERIT, f"As {above}"), ("thread", "A reply in the thread"),
                                                       ("ephemeral", "Only to the person who asked"),
                                                       ("both", "Both")], override.reply_mode or INHERIT),
        _select(EXPLAIN_BLOCK, "Name the words that drove a verdict",
                [(INHERIT, f"As {above}"), ("on", "Yes"), ("off", "No")],
                INHERIT if override.explain is None else "on" if override.explain else "off"),
    ]
    for label in labels:
        current = (override.sensitivity or {}).get(label)
        blocks.append(_text_input(SENSITIVITY_BLOCK.format(label=label), f"Sensitivity: {label}",
                                  "" if current is None else f"{current:g}",
                                  "From -0.2 (flag less) to 0.2 (flag more). Empty: as above."))
    return {"type": "modal", "callback_id": SETTINGS_MODAL, "private_metadata": json.dumps({"channel": channel}),
            "title": {"type": "plain_text", "text": "Decorum settings"},
            "submit": {"type": "plain_text", "text": "Save"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": blocks}


def read_submission(view: dict, labels: tuple[str, ...]) -> tuple[str | None, Override]:
    """(channel or None for the workspace, the override); SettingsError names the field at fault."""
    values = view.get("state", {}).get("values", {})

    def value(block: str) -> dict:
        return (values.get(block) or {}).get(VALUE) or {}

    channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    if CHANNEL_BLOCK in values:
        channel = value(CHANNEL_BLOCK).get("selected_conversation")
        if not channel:
            raise SettingsError(CHANNEL_BLOCK, "Choose a channel")
    emojis = (value(EMOJIS_BLOCK).get("value") or "").strip()
    mode = (value(MODE_BLOCK).get("selected_option") or {}).get("value", INHERIT)
    explain = (value(EXPLAIN_BLOCK).get("selected_option") or {}).get("value", INHERIT)
    sensitivity = {}
    for label in labels:
        text = (value(SENSITIVITY_BLOCK.format(label=label)).get("value") or "").strip()
        if text:
            try:
                sensitivity[label] = float(text)
            except ValueError:
                raise SettingsError(f"sensitivity_{label}", "A number, e.g. 0.1") from None
    if mode not in (INHERIT, *REPLY_MODES) or explain not in (INHERIT, "on", "off"):
        raise SettingsError(MODE_BLOCK, "Choose one of the options")
    return channel, Override(trigger_emojis=tuple(emojis.split(",")) if emojis else None,
                            reply_mode=None if mode == INHERIT else mode,  # type: ignore[arg-type]
                            explain=None if explain == INHERIT else explain == "on",
                            sensitivity=sensitivity or None)


class HomeTab:
    def __init__(self, store: SettingsStore, labels: tuple[str, ...], role_cache_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.store, self.labels, self.role_cache_s, self.clock = store, labels, role_cache_s, clock
        self._roles: dict[tuple[str, str], tuple[float, bool]] = {}

    def is_admin(self, client: WebClient, team: str, user: str) -> bool:
        """A workspace admin or owner (users.info), cached `role_cache_s`; False when Slack cannot say."""
        cached = self._roles.get((team, user))
        if cached and self.clock() - cached[0] < self.role_cache_s:
            return cached[1]
        try:
            info = client.users_info(user=user)["user"]
        except SlackApiError as exc:
            log.warning("users.info failed", extra={"error": exc.response.get("error")})
            return False
        admin = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        self._roles[(team, user)] = (self.clock(), admin)
        return admin

    def publish(self, client: WebClient, team: str, user: str) -> None:
        view = home_view(self.store.load(team), self.store.defaults, self.is_admin(client, team, user))
        client.views_publish(user_id=user, view=view)

    # ----------------------------------------------------------------------------- listeners

    def home_opened(self, client: WebClient, event: dict, body: dict) -> None:
        if event.get("tab") == "home":
            self.publish(client, body.get("team_id", ""), event.get("user", ""))

    def edit(self, ack: Ack, client: WebClient, body: dict) -> None:
        ack()
        team, user = (body.get("team") or {}).get("id", ""), (body.get("user") or {}).get("id", "")
        if not self.is_admin(client, team, user):
            log.warning("settings edit refused: not an admin")
            return
        action = (body.get("actions") or [{}])[0]
        channel = action.get("value") or None
        settings = self.store.load(team)
        if action.get("action_id") == EDIT_WORKSPACE:
            modal = settings_modal(None, False, settings.workspace, self.labels)
        else:
            modal = settings_modal(channel, channel is None, settings.channels.get(channel or "", Override()),
                                   self.labels)
        client.views_open(trigger_id=body["trigger_id"], view=modal)

    def reset(self, ack: Ack, client: WebClient, body: dict) -> None:
        ack()
        team, user = (body.get("team") or {}).get("id", ""), (body.get("user") or {}).get("id", "")
        channel = ((body.get("actions") or [{}])[0]).get("value")
        if channel and self.is_admin(client, team, user):
            self.store.reset_channel(team, channel)
            self.publish(client, team, user)

    def submit(self, ack: Ack, client: WebClient, body: dict, view: dict) -> None:
        team, user = (body.get("team") or {}).get("id", ""), (body.get("user") or {}).get("id", "")
        first_block = view["blocks"][0]["block_id"]
        if not self.is_admin(client, team, user):
            return ack(response_action="errors", errors={first_block: ADMINS_ONLY})
        try:
            channel, override = read_submission(view, self.labels)
        except SettingsError as exc:
            block = exc.field if exc.field in view["state"]["values"] else first_block
            return ack(response_action="errors", errors={block: str(exc)})
        ack()
        self.store.save(team, channel, override, user)
        log.info("settings saved", extra={"scope": "channel" if channel else "workspace"})
        self.publish(client, team, user)

    def register(self, app: App) -> None:
        app.event("app_home_opened")(self.home_opened)
        app.action(EDIT_WORKSPACE)(self.edit)
        app.action(EDIT_CHANNEL)(self.edit)
        app.action(RESET_CHANNEL)(self.reset)
        app.view(SETTINGS_MODAL)(self.submit)
