"""One click on "Right" or "Wrong": record the person's vote, update the verdict's tally line, count it.

Kept free of Bolt (listeners.py adapts its arguments). The click is acked at once; this runs lazily.
A vote is recorded once per person per message (feedback.py): a second click changes it and a
redelivered or retried click changes nothing, so the metrics count only what changed (deltas).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from slack_sdk import WebClient

from handlers.slack import replies
from handlers.slack.config import LOG_SERVICE, TRACED_MODULES
from handlers.slack.feedback import VOTE_ACTIONS, FeedbackStore, Tally, VerdictRef, VoteChoice, VoteResult
from handlers.slack.metrics import MODEL_VERSION_DIMENSION, NAMESPACE, SERVICE, BotMetric

log = Logger(service=LOG_SERVICE, child=True)
tracer = Tracer(service=LOG_SERVICE, patch_modules=TRACED_MODULES)


@dataclass(frozen=True)
class Vote:
    user: str
    choice: VoteChoice
    ref: VerdictRef
    reply_ts: str
    ephemeral: bool  # the verdict was private: it cannot be edited, only answered through response_url
    blocks: list[dict[str, Any]]  # the verdict as posted (empty for an ephemeral one)
    fallback: str

    @classmethod
    def from_body(cls, body: dict) -> Vote:
        """A `block_actions` payload of one of our vote buttons; ValueError on anything else."""
        try:
            (action,) = body["actions"]
            choice = VOTE_ACTIONS[action["action_id"]]
            ref = VerdictRef.from_value(action["value"])
            container, user = body.get("container") or {}, body["user"]["id"]
            channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a vote ({exc.__class__.__name__})") from None
        if channel != ref.channel or not isinstance(user, str) or not user:
            raise ValueError("not a vote (the button belongs to another channel)")
        message = body.get("message") or {}
        return cls(user, choice, ref, str(container.get("message_ts") or message.get("ts") or ""),
                   bool(container.get("is_ephemeral")), list(message.get("blocks") or []),
                   str(message.get("text") or "Decorum"))


class VoteRecorder:
    def __init__(self, store: FeedbackStore, serving_version: Callable[[], str | None]):
        """`serving_version`: the model version the endpoint serves now (None when unknown)."""
        self.store, self.serving_version = store, serving_version

    @tracer.capture_method(capture_response=False)
    def record(self, vote: Vote, client: WebClient, respond: Callable[..., Any]) -> VoteResult:
        result = self.store.vote(vote.ref, vote.user, vote.choice)
        self._count(vote, result)
        if not vote.ephemeral and vote.blocks and vote.reply_ts:
            self._show(vote, client, result.tally, result.revision)
        else:
            respond(text=f"Thanks: your vote ({vote.choice}) is recorded. Click again to change it.",
                    response_type="ephemeral", replace_original=False)
        log.info("vote recorded", extra={"channel": vote.ref.channel, "message_ts": vote.ref.message_ts,
                                         "changed": result.previous != vote.choice})
        return result

    def _show(self, vote: Vote, client: WebClient, tally: Tally, revision: int, rounds: int = 3) -> None:
        """Updates the tally line. Concurrent votes race to Slack, so after each update the record is read
        again: a newer revision (someone voted meanwhile) is shown in turn. The last voter to finish
        always leaves the newest tally in place."""
        for _ in range(rounds):
            client.chat_update(channel=vote.ref.channel, ts=vote.reply_ts, text=vote.fallback,
                               blocks=replies.with_tally(vote.blocks, tally))
            latest, latest_revision = self.store.tally(vote.ref)
            if latest_revision <= revision:
                return
            tally, revision = latest, latest_revision

    def _count(self, vote: Vote, result: VoteResult) -> None:
        deltas = {choice: int(vote.choice == choice) - int(result.previous == choice) for choice in ("right", "wrong")}
        if not any(deltas.values()):
            return  # the same vote again: a redelivery, a retry or a second click
        names = {"right": (BotMetric.FEEDBACK_RIGHT, BotMetric.LIVE_FEEDBACK_RIGHT),
                 "wrong": (BotMetric.FEEDBACK_WRONG, BotMetric.LIVE_FEEDBACK_WRONG)}
        per_version = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        per_version.add_dimension(name=MODEL_VERSION_DIMENSION, value=vote.ref.model_version or "unknown")
        for choice, delta in deltas.items():
            per_version.add_metric(name=names[choice][0], unit=MetricUnit.Count, value=delta)
        per_version.flush_metrics()
        if vote.ref.model_version == self.serving_version():  # votes on the live version: its alarm
            live = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
            for choice, delta in deltas.items():
                live.add_metric(name=names[choice][1], unit=MetricUnit.Count, value=delta)
            live.flush_metrics()
