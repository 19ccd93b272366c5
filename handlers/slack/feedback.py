"""People's votes on the bot's verdicts, kept for the next model: one DynamoDB item per checked message.

    pk           "verdict#<team>#<channel>#<message ts>"
    team, channel, message_ts, model_version, scores {label: p}, flagged [labels]
    votes        {user: {"vote": "right" | "wrong", "at": epoch s}}   one entry per person
    revision     how many votes were written (each write adds 1): which tally is the newest
    text         the message's text, only when the workspace keeps it (`feedback_keep_text`)
    checked_at, expires_at (TTL)

The verdict is recorded when the bot replies; a vote sets the voter's entry in `votes` in one write,
so a second click changes that person's vote and a redelivered click changes nothing. The vote's
button carries the verdict too, so a vote on a reply whose record is missing (expired, or its write
failed) still counts. model_build/feedback_export.py reads these items (attribute names from here).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

import boto3

from handlers.slack.config import BotConfig

VoteChoice = Literal["right", "wrong"]
# Block Kit action ids of the two buttons under every verdict (replies.py draws them, listeners.py
# routes them here), and the block whose context line shows the tally.
VOTE_ACTIONS: dict[str, VoteChoice] = {"decorum_vote_right": "right", "decorum_vote_wrong": "wrong"}
TALLY_BLOCK_ID = "decorum_tally"
PK, TEAM, CHANNEL, MESSAGE_TS = "pk", "team", "channel", "message_ts"
MODEL_VERSION, SCORES, FLAGGED, VOTES, TEXT = "model_version", "scores", "flagged", "votes", "text"
CHECKED_AT, EXPIRES_AT, REVISION = "checked_at", "expires_at", "revision"


@dataclass(frozen=True)
class VerdictRef:
    """What a vote is about: the checked message and the verdict shown (also a button's value)."""

    team: str
    channel: str
    message_ts: str
    model_version: str
    scores: dict[str, float]
    flagged: tuple[str, ...]

    def to_value(self) -> str:
        return json.dumps({"t": self.team, "c": self.channel, "m": self.message_ts, "v": self.model_version,
                           "s": {k: round(v, 4) for k, v in self.scores.items()}, "f": list(self.flagged)},
                          separators=(",", ":"))

    @classmethod
    def from_value(cls, value: str) -> VerdictRef:
        """Raises ValueError on a value this bot did not write."""
        try:
            raw = json.loads(value)
            ref = cls(str(raw["t"]), str(raw["c"]), str(raw["m"]), str(raw["v"]),
                      {str(k): float(v) for k, v in raw["s"].items()}, tuple(str(f) for f in raw["f"]))
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a verdict reference ({exc.__class__.__name__})") from None
        if not (ref.channel and ref.message_ts):
            raise ValueError("not a verdict reference (no message)")
        return ref


@dataclass(frozen=True)
class Tally:
    right: int = 0
    wrong: int = 0

    @classmethod
    def of(cls, votes: dict[str, VoteChoice]) -> Tally:
        choices = list(votes.values())
        return cls(choices.count("right"), choices.count("wrong"))

    def describe(self) -> str:
        if not (self.right or self.wrong):
            return "Was this right? Your vote helps train the next model."
        parts = [f"{n} {'person' if n == 1 else 'people'} said {choice}"
                 for n, choice in ((self.right, "right"), (self.wrong, "wrong")) if n]
        return " · ".join(parts)


@dataclass(frozen=True)
class VoteResult:
    previous: VoteChoice | None  # the voter's earlier vote on this message, if any
    tally: Tally  # every person's vote, this one included
    revision: int  # the record's revision after this vote


def _votes(item: dict) -> dict[str, VoteChoice]:
    return {voter: cast["M"]["vote"]["S"] for voter, cast in item.get(VOTES, {}).get("M", {}).items()}


def _number(value: float) -> dict:
    return {"N": repr(round(float(value), 6))}


class FeedbackStore:
    def __init__(self, table_name: str, ttl_days: int = 90, keep_text: bool = False, client=None,
                 endpoint_url: str | None = None):
        self.table, self.ttl_seconds, self.keep_text = table_name, ttl_days * 86_400, keep_text
        self.client = client or boto3.client("dynamodb", endpoint_url=endpoint_url)

    @classmethod
    def from_config(cls, config: BotConfig) -> FeedbackStore | None:
        """None when feedback is off (no table configured)."""
        if not config.feedback_table:
            return None
        return cls(config.feedback_table, config.feedback_ttl_days, config.feedback_keep_text,
                   endpoint_url=config.dynamodb_endpoint_url)

    @staticmethod
    def key(team: str, channel: str, message_ts: str) -> dict:
        return {PK: {"S": f"verdict#{team}#{channel}#{message_ts}"}}

    def _verdict_values(self, ref: VerdictRef, now: float) -> dict[str, dict]:
        return {
            ":team": {"S": ref.team}, ":channel": {"S": ref.channel}, ":ts": {"S": ref.message_ts},
            ":version": {"S": ref.model_version},
            ":scores": {"M": {label: _number(p) for label, p in ref.scores.items()}},
            ":flagged": {"L": [{"S": label} for label in ref.flagged]},
            ":checked": _number(now), ":expires": {"N": str(int(now) + self.ttl_seconds)},
        }

    @staticmethod
    def _set_verdict(votes: str) -> str:
        return (f"SET {TEAM} = :team, {CHANNEL} = :channel, {MESSAGE_TS} = :ts, {MODEL_VERSION} = :version, "
                f"{SCORES} = :scores, {FLAGGED} = :flagged, {CHECKED_AT} = :checked, {EXPIRES_AT} = :expires, "
                f"#votes = {votes}")

    def record_verdict(self, ref: VerdictRef, text: str, now: float | None = None) -> None:
        """The verdict shown for a message (a re-check overwrites it and keeps the votes). The text is
        written only when the workspace keeps it; the table is encrypted with its own KMS key."""
        now = time.time() if now is None else now
        values = self._verdict_values(ref, now) | {":empty": {"M": {}}}
        update, names = self._set_verdict("if_not_exists(#votes, :empty)"), {"#votes": VOTES}
        if self.keep_text and text:
            update += ", #text = :text"  # TEXT is a DynamoDB reserved word
            names["#text"], values[":text"] = TEXT, {"S": text}
        self.client.update_item(TableName=self.table, Key=self.key(ref.team, ref.channel, ref.message_ts),
                                UpdateExpression=update, ExpressionAttributeNames=names,
                                ExpressionAttributeValues=values)

    def vote(self, ref: VerdictRef, user: str, choice: VoteChoice, now: float | None = None) -> VoteResult:
        """Sets `user`'s vote in one conditional write and returns the tally as of that write."""
        now = time.time() if now is None else now
        key = self.key(ref.team, ref.channel, ref.message_ts)
        entry = {"M": {"vote": {"S": choice}, "at": _number(now)}}
        names = {"#votes": VOTES, "#user": user, "#revision": REVISION}
        try:
            old = self.client.update_item(
                TableName=self.table, Key=key, UpdateExpression="SET #votes.#user = :entry ADD #revision :one",
                ConditionExpression="attribute_exists(#votes)", ExpressionAttributeNames=names,
                ExpressionAttributeValues={":entry": entry, ":one": {"N": "1"}}, ReturnValues="ALL_OLD")["Attributes"]
        except self.client.exceptions.ConditionalCheckFailedException:
            # No record of this verdict: create it from the button's copy, with this vote, unless a
            # concurrent vote created it first (then set the vote on that one).
            try:
                self.client.update_item(
                    TableName=self.table, Key=key, ConditionExpression="attribute_not_exists(#votes)",
                    UpdateExpression=self._set_verdict(":votes") + ", #revision = :one",
                    ExpressionAttributeNames={"#votes": VOTES, "#revision": REVISION},
                    ExpressionAttributeValues=self._verdict_values(ref, now) | {":votes": {"M": {user: entry}},
                                                                                ":one": {"N": "1"}})
                return VoteResult(None, Tally.of({user: choice}), 1)
            except self.client.exceptions.ConditionalCheckFailedException:
                return self.vote(ref, user, choice, now)
        votes = _votes(old)
        previous = votes.get(user)
        votes[user] = choice
        return VoteResult(previous, Tally.of(votes), int(old.get(REVISION, {}).get("N", "0")) + 1)

    def tally(self, ref: VerdictRef) -> tuple[Tally, int]:
        """Every person's vote as stored now, and the record's revision (a consistent read)."""
        item = self.get(ref.team, ref.channel, ref.message_ts) or {}
        return Tally.of(_votes(item)), int(item.get(REVISION, {}).get("N", "0"))

    def get(self, team: str, channel: str, message_ts: str) -> dict | None:
        return self.client.get_item(TableName=self.table, Key=self.key(team, channel, message_ts),
                                    ConsistentRead=True).get("Item")

    def scan(self):
        """Every record, page by page (the export reads them all)."""
        for page in self.client.get_paginator("scan").paginate(TableName=self.table):
            yield from page.get("Items", [])
