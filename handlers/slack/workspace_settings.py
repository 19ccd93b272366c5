"""Settings a workspace changes itself, in App Home: for the workspace and per channel, the trigger
emoji(s), where the verdict goes, whether it names the words that drove it, and a per-label sensitivity.

One DynamoDB item per workspace (`settings#<team>`, in the settings table, its own KMS key):
`workspace` and `channels.<id>` hold overrides, each field absent where it inherits. The effective
settings for a channel are the deploy's defaults (BotConfig), then the workspace's, then the channel's.
Each container caches a workspace's item for `cache_s` (<= 60 s), so a change applies everywhere
within a minute (at once in the container that saved it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import get_args

import boto3

from handlers.slack.config import BotConfig, ReplyMode

REPLY_MODES: tuple[str, ...] = get_args(ReplyMode)
MAX_SENSITIVITY = 0.2  # a label's threshold moves at most this far either way
MAX_TRIGGER_EMOJIS = 5
_EMOJI = re.compile(r"^[a-z0-9_+\-']{1,64}$")


class SettingsError(ValueError):
    """An invalid value; `field` names which (the modal shows the message beside it)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class CheckSettings:
    """The settings one check runs with."""

    trigger_emojis: tuple[str, ...]
    reply_mode: ReplyMode
    explain: bool
    sensitivity: dict[str, float] = field(default_factory=dict)  # label -> threshold offset (+: flag more)

    @classmethod
    def defaults(cls, config: BotConfig) -> CheckSettings:
        return cls(config.trigger_emojis, config.reply_mode, config.explain, {})


@dataclass(frozen=True)
class Override:
    """Fields that differ from the level above; None inherits."""

    trigger_emojis: tuple[str, ...] | None = None
    reply_mode: ReplyMode | None = None
    explain: bool | None = None
    sensitivity: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.trigger_emojis is not None:
            emojis = tuple(e.strip().strip(":").lower() for e in self.trigger_emojis if e.strip().strip(":"))
            if not emojis or len(emojis) > MAX_TRIGGER_EMOJIS or not all(_EMOJI.match(e) for e in emojis):
                raise SettingsError("trigger_emojis", f"1 to {MAX_TRIGGER_EMOJIS} emoji names, like "
                                                      "rotating_light, separated by commas")
            object.__setattr__(self, "trigger_emojis", emojis)
        if self.reply_mode is not None and self.reply_mode not in REPLY_MODES:
            raise SettingsError("reply_mode", f"one of {', '.join(REPLY_MODES)}")
        for label, offset in (self.sensitivity or {}).items():
            if not -MAX_SENSITIVITY <= offset <= MAX_SENSITIVITY:
                raise SettingsError(f"sensitivity_{label}", f"between -{MAX_SENSITIVITY} and {MAX_SENSITIVITY}")

    def apply(self, settings: CheckSettings) -> CheckSettings:
        changes = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if "sensitivity" in changes:
            changes["sensitivity"] = {**settings.sensitivity, **changes["sensitivity"]}
        return replace(settings, **changes)

    def to_item(self) -> dict:
        item: dict = {}
        if self.trigger_emojis is not None:
            item["trigger_emojis"] = {"L": [{"S": e} for e in self.trigger_emojis]}
        if self.reply_mode is not None:
            item["reply_mode"] = {"S": self.reply_mode}
        if self.explain is not None:
            item["explain"] = {"BOOL": self.explain}
        if self.sensitivity:
            item["sensitivity"] = {"M": {label: {"N": repr(v)} for label, v in self.sensitivity.items()}}
        return {"M": item}

    @classmethod
    def from_item(cls, item: dict) -> Override:
        values = item.get("M", {})
        return cls(
            trigger_emojis=tuple(e["S"] for e in values["trigger_emojis"]["L"]) if "trigger_emojis" in values else None,
            reply_mode=values["reply_mode"]["S"] if "reply_mode" in values else None,
            explain=values["explain"]["BOOL"] if "explain" in values else None,
            sensitivity={label: float(v["N"]) for label, v in values["sensitivity"]["M"].items()}
            if "sensitivity" in values else None,
        )


@dataclass(frozen=True)
class WorkspaceSettings:
    workspace: Override = Override()
    channels: dict[str, Override] = field(default_factory=dict)

    def effective(self, defaults: CheckSettings, channel: str) -> CheckSettings:
        settings = self.workspace.apply(defaults)
        return self.channels[channel].apply(settings) if channel in self.channels else settings

    def all_trigger_emojis(self, defaults: CheckSettings) -> frozenset[str]:
        """Every emoji that triggers a check somewhere in the workspace."""
        base = self.workspace.apply(defaults)
        return frozenset(base.trigger_emojis).union(*(o.apply(base).trigger_emojis for o in self.channels.values()))


class SettingsStore:
    def __init__(self, table_name: str, defaults: CheckSettings, cache_s: float = 60.0, client=None,
                 endpoint_url: str | None = None, clock: Callable[[], float] = time.monotonic):
        self.table, self.defaults, self.cache_s, self.clock = table_name, defaults, cache_s, clock
        self.client = client or boto3.client("dynamodb", endpoint_url=endpoint_url)
        self._cache: dict[str, tuple[float, WorkspaceSettings]] = {}

    @classmethod
    def from_config(cls, config: BotConfig) -> SettingsStore | None:
        """None when no settings table is configured: every channel runs with the deploy's defaults."""
        if not config.settings_table:
            return None
        return cls(config.settings_table, CheckSettings.defaults(config), config.settings_cache_s,
                   endpoint_url=config.dynamodb_endpoint_url)

    @staticmethod
    def key(team: str) -> dict:
        return {"pk": {"S": f"settings#{team}"}}

    def load(self, team: str) -> WorkspaceSettings:
        cached = self._cache.get(team)
        if cached and self.clock() - cached[0] < self.cache_s:
            return cached[1]
        item = self.client.get_item(TableName=self.table, Key=self.key(team), ConsistentRead=True).get("Item", {})
        channels = item.get("channels", {}).get("M", {})
        settings = WorkspaceSettings(Override.from_item(item.get("workspace", {})),
                                     {channel: Override.from_item(o) for channel, o in channels.items()})
        self._cache[team] = (self.clock(), settings)
        return settings

    def effective(self, team: str, channel: str) -> CheckSettings:
        return self.load(team).effective(self.defaults, channel)

    def save(self, team: str, channel: str | None, override: Override, user: str) -> None:
        """The workspace's override (`channel` None) or one channel's, replaced whole."""
        names, values = {"#by": "updated_by", "#at": "updated_at"}, {
            ":value": override.to_item(), ":by": {"S": user}, ":at": {"N": repr(time.time())}}
        if channel is None:
            self.client.update_item(TableName=self.table, Key=self.key(team),
                                    UpdateExpression="SET workspace = :value, #by = :by, #at = :at",
                                    ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        else:
            self._save_channel(team, channel, names, values)
        self._cache.pop(team, None)

    def _save_channel(self, team: str, channel: str, names: dict, values: dict) -> None:
        """Sets one entry of the channels map, or creates the map with it (whichever write's condition holds:
        a concurrent save of another channel is never overwritten)."""
        entry = values.pop(":value")
        while True:
            try:
                self.client.update_item(
                    TableName=self.table, Key=self.key(team), ConditionExpression="attribute_exists(channels)",
                    UpdateExpression="SET channels.#channel = :value, #by = :by, #at = :at",
                    ExpressionAttributeNames={**names, "#channel": channel},
                    ExpressionAttributeValues={**values, ":value": entry})
                return
            except self.client.exceptions.ConditionalCheckFailedException:
                pass
            try:
                self.client.update_item(
                    TableName=self.table, Key=self.key(team), ConditionExpression="attribute_not_exists(channels)",
                    UpdateExpression="SET channels = :channels, #by = :by, #at = :at", ExpressionAttributeNames=names,
                    ExpressionAttributeValues={**values, ":channels": {"M": {channel: entry}}})
                return
            except self.client.exceptions.ConditionalCheckFailedException:
                continue  # another save created the map meanwhile: set the entry in it

    def reset_channel(self, team: str, channel: str) -> None:
        self.client.update_item(TableName=self.table, Key=self.key(team), UpdateExpression="REMOVE channels.#channel",
                                ExpressionAttributeNames={"#channel": channel})
        self._cache.pop(team, None)

    def delete_workspace(self, team: str) -> None:
        self.client.delete_item(TableName=self.table, Key=self.key(team))
        self._cache.pop(team, None)
