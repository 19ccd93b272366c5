"""The bot's CloudWatch metrics: their namespace, dimensions and names. The checker emits them (Powertools
EMF) and infra/monitoring.py alarms and graphs them; both import these names, and a test fails when an
alarm or a widget names a metric the bot does not declare (CloudWatch would treat it as missing data,
and an alarm that treats missing data as not breaching would never fire).
"""

from __future__ import annotations

from enum import StrEnum

NAMESPACE = "Decorum"
SERVICE = "slack-bot"  # the `service` dimension Powertools adds to every metric
DIMENSIONS = {"service": SERVICE}
MODEL_VERSION_DIMENSION = "model_version"  # added to the per-version vote counts (PER_MODEL_VERSION)


class BotMetric(StrEnum):
    CHECK_ERRORS = "CheckErrors"  # a check raised (its lazy run is retried)
    CHECK_FAILURES = "CheckFailures"  # the endpoint gave no verdict: the reply says the check failed
    DUPLICATES_SUPPRESSED = "DuplicatesSuppressed"  # a retried or repeated reaction found its claim taken
    ENDPOINT_LATENCY = "EndpointLatency"  # ms, as the bot saw it (retries included)
    VERDICT_FLAGGED = "VerdictFlagged"
    VERDICT_CLEAN = "VerdictClean"
    REACTION_TO_REPLY_LATENCY = "ReactionToReplyLatency"  # ms from the reaction's event_ts to the reply
    SLACK_RATE_LIMITED = "SlackRateLimited"  # a fetch Slack answered 429 for longer than a check waits
    ACK_LATENCY = "AckLatency"  # ms the Lambda took to answer Slack's request (not lazy runs, not warm-ups)
    # Votes on verdicts, as changes (a changed vote moves one from right to wrong): per model version
    # for the dashboard, and for the version the endpoint serves now, for the wrong-rate alarm.
    FEEDBACK_RIGHT = "FeedbackRight"
    FEEDBACK_WRONG = "FeedbackWrong"
    LIVE_FEEDBACK_RIGHT = "LiveFeedbackRight"
    LIVE_FEEDBACK_WRONG = "LiveFeedbackWrong"


PER_MODEL_VERSION = frozenset({BotMetric.FEEDBACK_RIGHT, BotMetric.FEEDBACK_WRONG})  # dims: service, model_version
