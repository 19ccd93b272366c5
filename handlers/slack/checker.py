"""One check of a message, asked for by a trigger reaction or the "Check with Decorum" shortcut: claim
it, fetch it (a shortcut carries the message), classify it, reply once, record the outcome.

Kept free of Bolt so it can be driven directly; listeners.py adapts Bolt's arguments to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.slack import replies
from handlers.slack.classifier import ClassificationError, EndpointClassifier, Verdict
from handlers.slack.config import LOG_SERVICE, TRACED_MODULES, BotConfig
from handlers.slack.feedback import FeedbackStore, VerdictRef
from handlers.slack.ledger import FAILED_OUTCOME, Claim, ReplyLedger
from handlers.slack.metrics import NAMESPACE, SERVICE, BotMetric
from handlers.slack.rate_limits import RateLimitedError, rate_limited, retry_after_s
from handlers.slack.text import plain_text
from handlers.slack.workspace_settings import CheckSettings, SettingsStore

log = Logger(service=LOG_SERVICE, child=True)
tracer = Tracer(service=LOG_SERVICE, patch_modules=TRACED_MODULES)


@dataclass(frozen=True)
class CheckRequest:
    team: str
    channel: str
    message_ts: str
    event_id: str  # the request's own id: the event's, or the shortcut's trigger id
    user: str  # who asked
    asked_at: float  # seconds since the epoch
    # A shortcut: the message as its payload carries it (no fetch; a fetch may be rate limited), and
    # the answer goes to the asker alone. Each click is its own check.
    message: dict | None = None
    private: bool = False

    @classmethod
    def from_reaction(cls, event: dict, body: dict) -> CheckRequest:
        item = event.get("item") or {}
        return cls(
            team=body.get("team_id", ""),
            channel=item.get("channel", ""),
            message_ts=item.get("ts", ""),
            event_id=body.get("event_id", ""),
            user=event.get("user", ""),
            asked_at=float(event.get("event_ts") or body.get("event_time") or time.time()),
        )

    @classmethod
    def from_shortcut(cls, body: dict) -> CheckRequest:
        """A `message_action` payload; ValueError when it names no message."""
        message = body.get("message")
        channel, ts = (body.get("channel") or {}).get("id"), body.get("message_ts") or (message or {}).get("ts")
        if not isinstance(message, dict) or not channel or not ts or not body.get("trigger_id"):
            raise ValueError("a shortcut payload without its message")
        return cls(team=(body.get("team") or {}).get("id", ""), channel=channel, message_ts=ts,
                   event_id=body["trigger_id"], user=(body.get("user") or {}).get("id", ""),
                   asked_at=float(body.get("action_ts") or time.time()), message=message, private=True)

    @property
    def ledger_key(self) -> str:
        if self.private:
            return ReplyLedger.request_key(self.event_id)
        return ReplyLedger.key(self.channel, self.message_ts, self.team)


@dataclass
class CheckResult:
    outcome: str
    reply_ts: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


class MessageChecker:
    def __init__(self, config: BotConfig, ledger: ReplyLedger, classifier: EndpointClassifier,
                 feedback: FeedbackStore | None = None, settings: SettingsStore | None = None):
        self.config, self.ledger, self.classifier, self.feedback = config, ledger, classifier, feedback
        self.settings = settings

    def settings_for(self, team: str, channel: str) -> CheckSettings:
        """The channel's effective settings (the deploy's defaults when there is no settings table)."""
        return self.settings.effective(team, channel) if self.settings else CheckSettings.defaults(self.config)

    # Responses are never captured: traces carry ids and timings, not what a message said.
    @tracer.capture_method(capture_response=False)
    def check(self, request: CheckRequest, client: WebClient, bot_user_id: str | None,
              respond: Callable[..., Any] | None = None) -> CheckResult:
        """`respond`: the request's response_url, where a private answer goes when the bot cannot post
        in the channel (it is not a member)."""
        tracer.put_annotation(key="channel", value=request.channel)
        metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        try:
            result = self._check(request, client, bot_user_id, metrics, respond)
        except Exception:
            metrics.add_metric(name=BotMetric.CHECK_ERRORS, unit=MetricUnit.Count, value=1)
            raise
        finally:
            metrics.flush_metrics()
        return result

    def _check(self, request: CheckRequest, client: WebClient, bot_user_id: str | None,
               metrics: EphemeralMetrics, respond: Callable[..., Any] | None) -> CheckResult:
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = round((now - since) * 1e3, 2)
            return now

        with tracer.provider.in_subsegment("## claim"):
            claim = self.ledger.claim(request.channel, request.message_ts, request.event_id, key=request.ledger_key)
        mark = lap("claim", started)
        context = {"channel": request.channel, "message_ts": request.message_ts, "event_id": request.event_id,
                   "shortcut": request.private}
        if not claim.acquired:
            metrics.add_metric(name=BotMetric.DUPLICATES_SUPPRESSED, unit=MetricUnit.Count, value=1)
            log.info("duplicate suppressed", extra={**context, "reason": claim.reason})
            return CheckResult(f"duplicate:{claim.reason}", timings_ms=timings)
        try:
            if request.message is not None:
                message: dict | None = request.message
            else:
                with tracer.provider.in_subsegment("## fetch"):
                    message = self._fetch(client, request, claim, metrics, respond)
                mark = lap("fetch", mark)
            thread_ts = (message or {}).get("thread_ts") or request.message_ts
            settings = self.settings_for(request.team, request.channel)
            private = request.private or settings.reply_mode == "ephemeral"
            if claim.reason == "takeover" and claim.previous_owner and not private:
                # An earlier attempt died; it may have died after replying.
                earlier = find_own_reply(client, request.channel, thread_ts, claim.previous_owner)
                if earlier:
                    self._complete(claim, "replied", earlier, context)
                    log.info("earlier reply found on takeover", extra=context)
                    return CheckResult("already_replied", earlier, timings)

            if message is not None and is_own_message(message, bot_user_id):
                self._complete(claim, "ignored_own_message", None, context)
                return CheckResult("ignored_own_message", timings_ms=timings)
            text = plain_text((message or {}).get("text", ""))
            in_full = None  # the driving words in full, for the asker only
            if not text.strip():
                outcome, (fallback, blocks), model_version = "nothing_to_check", replies.notice_reply(
                    replies.NOTHING_TO_CHECK), None
            else:
                try:
                    with tracer.provider.in_subsegment("## classify"):
                        verdict = self.classifier.classify(text, settings.explain).with_sensitivity(
                            settings.sensitivity)
                    mark = lap("classify", mark)
                    metrics.add_metric(name=BotMetric.ENDPOINT_LATENCY, unit=MetricUnit.Milliseconds,
                                       value=verdict.latency_ms)
                    metrics.add_metric(name=BotMetric.VERDICT_FLAGGED if verdict.toxic else BotMetric.VERDICT_CLEAN,
                                       unit=MetricUnit.Count, value=1)
                    outcome = "flagged" if verdict.toxic else "clean"
                    ref = self._record(request, verdict, text, context)
                    words = replies.drivers(verdict, self.config.explain_min_weight)
                    fallback, blocks = replies.verdict_reply(verdict, words, ref, masked=not private)
                    if private:
                        in_full = None
                    elif settings.reply_mode == "both":  # the whole verdict, words in full, to the asker
                        in_full = replies.verdict_reply(verdict, words, ref, masked=False)
                    else:
                        in_full = replies.private_drivers(verdict, words)
                    model_version = verdict.model_version
                except ClassificationError as exc:
                    mark = lap("classify", mark)
                    metrics.add_metric(name=BotMetric.CHECK_FAILURES, unit=MetricUnit.Count, value=1)
                    log.warning("classification failed", extra={**context, "reason": exc.reason})
                    outcome, (fallback, blocks), model_version = FAILED_OUTCOME, replies.notice_reply(
                        replies.CHECK_FAILED), None

            with tracer.provider.in_subsegment("## reply"):
                if private:
                    reply_ts = self._reply_privately(client, request, thread_ts, fallback, blocks, respond)
                else:
                    reply_ts = self._reply(client, request, thread_ts, fallback, blocks, {
                        "message_ts": request.message_ts, "attempt": claim.attempt_id, "outcome": outcome,
                        "model_version": model_version or "", "timings_ms": timings})
            lap("reply", mark)
            if in_full is not None:
                self._reply_privately(client, request, thread_ts, *in_full, respond)
        except Exception:
            self.ledger.release(claim)  # let the retry proceed at once instead of after the lease
            raise
        self._complete(claim, outcome, reply_ts, context)
        latency_ms = (time.time() - request.asked_at) * 1e3
        metrics.add_metric(name=BotMetric.REACTION_TO_REPLY_LATENCY, unit=MetricUnit.Milliseconds,
                           value=max(0.0, latency_ms))
        timings["total"] = round((time.perf_counter() - started) * 1e3, 2)
        log.info("replied", extra={**context, "outcome": outcome, "timings_ms": timings})
        return CheckResult(outcome, reply_ts, timings)

    def _record(self, request: CheckRequest, verdict: Verdict, text: str, context: dict) -> VerdictRef | None:
        """Records the verdict for votes; None (no buttons) when feedback is off. A failed write costs
        no reply: the buttons carry the verdict, and the first vote records it."""
        if self.feedback is None:
            return None
        ref = VerdictRef(request.team, request.channel, request.message_ts, verdict.model_version,
                         verdict.scores, tuple(verdict.flagged))
        try:
            self.feedback.record_verdict(ref, text)
        except Exception as exc:  # noqa: BLE001 - logged by class only: the item may hold the text
            log.warning("verdict not recorded for feedback", extra={**context, "error": exc.__class__.__name__})
        return ref

    def _complete(self, claim: Claim, outcome: str, reply_ts: str | None, context: dict) -> None:
        if not self.ledger.complete(claim, outcome, reply_ts):
            # Our lease ran out and another attempt took the claim: that attempt looks for this reply
            # (by its attempt id in the metadata) before posting, so the thread still gets one answer.
            log.warning("claim taken over before completion", extra={**context, "outcome": outcome})

    def _reply(self, client: WebClient, request: CheckRequest, thread_ts: str, fallback: str, blocks: list[dict],
               payload: dict) -> str | None:
        response = client.chat_postMessage(
            channel=request.channel, thread_ts=thread_ts, text=fallback, blocks=blocks, unfurl_links=False,
            metadata={"event_type": replies.METADATA_EVENT_TYPE, "event_payload": payload},
        )
        return response.get("ts")

    def _fetch(self, client: WebClient, request: CheckRequest, claim: Claim, metrics: EphemeralMetrics,
               respond: Callable[..., Any] | None) -> dict | None:
        """The message; when Slack asks for a longer wait than a check has, the asker is told (once) and
        the claim given up for Lambda's retry (rate_limits.py)."""
        try:
            return fetch_message(client, request.channel, request.message_ts)
        except SlackApiError as exc:
            if not rate_limited(exc):
                raise
            wait_s = retry_after_s(exc.response.headers)
            metrics.add_metric(name=BotMetric.SLACK_RATE_LIMITED, unit=MetricUnit.Count, value=1)
            if claim.note != RATE_LIMITED_NOTE:
                self._reply_privately(client, request, None,
                                      *replies.notice_reply(replies.rate_limited_notice(wait_s)), respond)
            self.ledger.release(claim, note=RATE_LIMITED_NOTE)
            raise RateLimitedError(wait_s) from None

    @staticmethod
    def _reply_privately(client: WebClient, request: CheckRequest, thread_ts: str | None, fallback: str,
                         blocks: list[dict], respond: Callable[..., Any] | None) -> None:
        """To the asker only, in the message's thread; through the response_url when the bot may not
        post in the channel (not a member of it)."""
        try:
            client.chat_postEphemeral(channel=request.channel, user=request.user, thread_ts=thread_ts,
                                      text=fallback, blocks=blocks)
        except SlackApiError as exc:
            if respond is None or exc.response.get("error") not in NOT_A_MEMBER:
                raise
            respond(text=fallback, blocks=blocks, response_type="ephemeral", replace_original=False)


NOT_A_MEMBER = ("channel_not_found", "not_in_channel")
RATE_LIMITED_NOTE = "rate_limited"


def fetch_message(client: WebClient, channel: str, ts: str) -> dict | None:
    """The reacted-to message: top-level via history, a thread reply via replies; None if gone."""
    history = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
    for message in history.get("messages") or []:
        if message.get("ts") == ts:
            return None if message.get("subtype") == "tombstone" else message
    try:
        # The parent always comes first; the window [ts, ts] then holds the reply itself.
        thread = client.conversations_replies(channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2)
    except SlackApiError as exc:
        if exc.response.get("error") in ("thread_not_found", "message_not_found"):
            return None
        raise
    for message in thread.get("messages") or []:
        if message.get("ts") == ts:
            return None if message.get("subtype") == "tombstone" else message
    return None


def find_own_reply(client: WebClient, channel: str, thread_ts: str, attempt_id: str) -> str | None:
    """The ts of the reply that attempt `attempt_id` posted in the thread, if it did."""
    try:
        # 15: the most a non-Marketplace distributed app may ask for (rate_limits.py); the bot replies early
        # in a thread, and a reply past the first 15 is the rare case of a crash in a busy thread.
        thread = client.conversations_replies(channel=channel, ts=thread_ts, include_all_metadata=True, limit=15)
    except SlackApiError:
        return None
    for message in thread.get("messages") or []:
        metadata = message.get("metadata") or {}
        if (metadata.get("event_type") == replies.METADATA_EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("attempt") == attempt_id):
            return message.get("ts")
    return None


def is_own_message(message: dict, bot_user_id: str | None) -> bool:
    if bot_user_id and message.get("user") == bot_user_id:
        return True
    return (message.get("metadata") or {}).get("event_type") == replies.METADATA_EVENT_TYPE
