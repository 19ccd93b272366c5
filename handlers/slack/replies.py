"""The bot's replies as Block Kit, each with a plain-text fallback for notifications."""

from __future__ import annotations

from handlers.slack.classifier import Verdict

METADATA_EVENT_TYPE = "decorum_verdict"  # marks the bot's replies, found again after a crash


def _bar(score: float) -> str:
    filled = round(score * 10)
    return "█" * filled + "░" * (10 - filled)


def verdict_reply(verdict: Verdict) -> tuple[str, list[dict]]:
    if verdict.toxic:
        headline = f":triangular_flag_on_post: *Flagged as {', '.join(verdict.flagged)}*"
        fallback = f"Decorum: flagged as {', '.join(verdict.flagged)}"
    else:
        headline = ":white_check_mark: *Looks fine*: no label crossed its threshold"
        fallback = "Decorum: looks fine"
    lines = "\n".join(f"`{label:<6}` {_bar(score)} {score:.2f}" for label, score in verdict.scores.items())
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": lines}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"model {verdict.model_version}"}]},
    ]
    return fallback, blocks


def notice_reply(text: str) -> tuple[str, list[dict]]:
    return f"Decorum: {text}", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


NOTHING_TO_CHECK = ":information_source: Nothing to check: this message has no text."
CHECK_FAILED = (":grey_question: The check failed: the model did not answer in time. "
                "Add the reaction again in a minute to retry.")
