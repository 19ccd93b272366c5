"""Exactly one reply per message: a DynamoDB ledger of checks, one item per (channel, message ts).

An attempt (one run of the lazy listener) must claim the message before doing anything:

    (no item) ──claim──> IN_PROGRESS(owner, lease_until) ──complete──> COMPLETED(reply_ts)
                              │  crash: lease expires, or release() on a caught error
                              └──claim by a later attempt (a "takeover")

The claim is one conditional write, so concurrent redeliveries race safely: exactly one wins, the
others see IN_PROGRESS (a live lease) or COMPLETED and stand down. A takeover means an earlier
attempt died somewhere, possibly after posting its reply, so the listener checks the thread for
its own reply before posting (see checker.py). Items expire through DynamoDB TTL.

Event ids are kept on the item too, so a redelivered event (same event_id) is told apart from a
second reaction to an already checked message, for the metrics.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

import boto3

from handlers.slack.config import BotConfig

IN_PROGRESS, COMPLETED = "IN_PROGRESS", "COMPLETED"
FAILED_OUTCOME = "failed"  # a completed check whose reply said it failed: a new reaction may retry it


@dataclass(frozen=True)
class Claim:
    acquired: bool
    attempt_id: str
    key: str
    # acquired: "new", "takeover" (of a dead attempt) or "retry" (of a failed check);
    # refused: "redelivery", "already_checked" or "in_progress"
    reason: Literal["new", "takeover", "retry", "redelivery", "already_checked", "in_progress"]
    previous_owner: str | None = None  # on a takeover: the attempt that died
    note: str | None = None  # what an earlier attempt that gave the claim up said (e.g. rate limited)


class ReplyLedger:
    def __init__(self, table_name: str, lease_seconds: int, ttl_days: int, client=None,
                 endpoint_url: str | None = None):
        self.table = table_name
        self.lease_seconds = lease_seconds
        self.ttl_seconds = ttl_days * 86_400
        self.client = client or boto3.client("dynamodb", endpoint_url=endpoint_url)

    @classmethod
    def from_config(cls, config: BotConfig) -> ReplyLedger:
        return cls(config.ledger_table, config.lease_seconds, config.ledger_ttl_days,
                   endpoint_url=config.dynamodb_endpoint_url)

    @staticmethod
    def key(channel: str, message_ts: str, team: str = "") -> str:
        """A message's public check: one per message, whoever asks (per workspace, when many share the table)."""
        return f"message#{team}#{channel}#{message_ts}" if team else f"message#{channel}#{message_ts}"

    @staticmethod
    def request_key(request_id: str) -> str:
        """A private check (a shortcut click): one per request; a second click is a new request."""
        return f"request#{request_id}"

    def claim(self, channel: str, message_ts: str, event_id: str, now: float | None = None,
              key: str | None = None) -> Claim:
        now = time.time() if now is None else now
        key, attempt = key or self.key(channel, message_ts), uuid.uuid4().hex
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression=(
                    "SET #status = :in_progress, #owner = :owner, lease_until = :lease, "
                    "expires_at = if_not_exists(expires_at, :expires) ADD event_ids :event"
                ),
                # New; or a crashed attempt's expired lease; or a failed check that a new reaction retries.
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now) "
                    "OR (#status = :done AND outcome = :failed AND NOT contains(event_ids, :event_id))"
                ),
                ExpressionAttributeNames={"#status": "status", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":in_progress": {"S": IN_PROGRESS},
                    ":owner": {"S": attempt},
                    ":lease": {"N": str(int(now) + self.lease_seconds)},
                    ":expires": {"N": str(int(now) + self.ttl_seconds)},
                    ":event": {"SS": [event_id or "unknown"]},
                    ":now": {"N": str(int(now))},
                    ":done": {"S": COMPLETED},
                    ":failed": {"S": FAILED_OUTCOME},
                    ":event_id": {"S": event_id or "unknown"},
                },
                ReturnValues="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            item = self.client.get_item(TableName=self.table, Key={"pk": {"S": key}},
                                        ConsistentRead=True).get("Item", {})
            if item.get("status", {}).get("S") == COMPLETED:
                seen = event_id in item.get("event_ids", {}).get("SS", [])
                return Claim(False, attempt, key, "redelivery" if seen else "already_checked")
            if event_id and event_id not in item.get("event_ids", {}).get("SS", []):
                self._note_event(key, event_id)
            return Claim(False, attempt, key, "in_progress")
        old = response.get("Attributes")
        if not old:
            return Claim(True, attempt, key, "new")
        if old.get("status", {}).get("S") == COMPLETED:
            return Claim(True, attempt, key, "retry")
        return Claim(True, attempt, key, "takeover", old.get("owner", {}).get("S"), old.get("note", {}).get("S"))

    def _note_event(self, key: str, event_id: str) -> None:
        self.client.update_item(TableName=self.table, Key={"pk": {"S": key}}, UpdateExpression="ADD event_ids :e",
                                ExpressionAttributeValues={":e": {"SS": [event_id]}})

    def complete(self, claim: Claim, outcome: str, reply_ts: str | None = None) -> bool:
        """Marks the check done; False when another attempt took the claim over meanwhile."""
        values = {":done": {"S": COMPLETED}, ":owner": {"S": claim.attempt_id}, ":outcome": {"S": outcome}}
        update = "SET #status = :done, outcome = :outcome"
        if reply_ts:
            update += ", reply_ts = :reply"
            values[":reply"] = {"S": reply_ts}
        update += " REMOVE lease_until"
        try:
            self.client.update_item(
                TableName=self.table, Key={"pk": {"S": claim.key}}, UpdateExpression=update,
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#status": "status", "#owner": "owner"}, ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, claim: Claim, note: str | None = None) -> None:
        """Gives a claim up after a caught failure, so the retry need not wait for the lease to expire;
        `note` tells the attempt that takes it over why (`Claim.note`)."""
        values = {":zero": {"N": "0"}, ":owner": {"S": claim.attempt_id}, ":in_progress": {"S": IN_PROGRESS}}
        update = "SET lease_until = :zero"
        if note:
            update += ", note = :note"
            values[":note"] = {"S": note}
        try:
            self.client.update_item(
                TableName=self.table, Key={"pk": {"S": claim.key}}, UpdateExpression=update,
                ConditionExpression="#owner = :owner AND #status = :in_progress",
                ExpressionAttributeNames={"#owner": "owner", "#status": "status"}, ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass
