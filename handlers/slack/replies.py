"""The bot's replies as Block Kit, each with a plain-text fallback for notifications.

A flagged verdict names the words that drove it. In a public reply they are masked (first letter and
asterisks), so the bot never repeats a slur to the whole channel; the person who asked sees them in
full in a private (ephemeral) message. Under every verdict, "Right" and "Wrong" buttons
(handlers/slack/feedback.py) and a context line with the tally of votes.
"""

from __future__ import annotations

import string

from handlers.invocation import Word
from handlers.slack.classifier import Verdict
from handlers.slack.feedback import TALLY_BLOCK_ID, VOTE_ACTIONS, Tally, VerdictRef

METADATA_EVENT_TYPE = "decorum_verdict"  # marks the bot's replies, found again after a crash
MAX_DRIVERS = 3
# Words that share the work (several insults in one message) each move the score little when left out
# alone: a word is named when it weighs at least this share of the strongest word.
SHARE_OF_STRONGEST = 0.25
MIN_DRIVER_WEIGHT = 0.05
NO_VOTES = Tally()  # a word whose removal moves a flagged label less than this did not drive it


def _bar(score: float) -> str:
    filled = round(score * 10)
    return "█" * filled + "░" * (10 - filled)


def drivers(verdict: Verdict, min_weight: float) -> list[Word]:
    """The words that drove a flagged verdict, strongest first: those whose removal lowers a flagged
    label's probability the most, by at least `min_weight` (each distinct word once)."""
    if not verdict.flagged:
        return []
    def weight(word: Word) -> float:
        return max(word.weights.get(label, 0.0) for label in verdict.flagged)

    ranked = sorted(verdict.words, key=weight, reverse=True)
    if not ranked:
        return []
    strongest = weight(ranked[0])
    floor = max(min_weight, SHARE_OF_STRONGEST * strongest) if strongest > 0 else min_weight
    chosen: list[Word] = []
    for word in ranked:
        if len(chosen) == MAX_DRIVERS or weight(word) < floor:
            break
        if _bare(word.text).lower() not in {_bare(c.text).lower() for c in chosen}:
            chosen.append(word)
    return chosen


def _bare(word: str) -> str:
    """A word as written without the punctuation around it (`idiot,` -> `idiot`)."""
    return word.strip(string.punctuation + "“”‘’«»…") or word


def mask(word: str) -> str:
    """`idiot` -> `i****`: enough to find the word in the message, not to repeat it."""
    return word[:1] + "*" * max(len(word) - 1, 1) if len(word) > 1 else "*"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _drivers_line(words: list[Word], masked: bool) -> str:
    shown = ", ".join(f"`{_escape(mask(_bare(w.text)) if masked else _bare(w.text))}`" for w in words)
    return f"Words that drove it: {shown}"


def verdict_reply(verdict: Verdict, words: list[Word], ref: VerdictRef | None = None, masked: bool = True,
                  tally: Tally = NO_VOTES) -> tuple[str, list[dict]]:
    """The verdict and the `words` that drove it (`drivers`); with `ref` (feedback on), its vote buttons
    and tally line."""
    if verdict.toxic:
        headline = f":triangular_flag_on_post: *Flagged as {', '.join(verdict.flagged)}*"
        fallback = f"Decorum: flagged as {', '.join(verdict.flagged)}"
    else:
        headline = ":white_check_mark: *Looks fine*: no label crossed its threshold"
        fallback = "Decorum: looks fine"
    lines = "\n".join(f"`{label:<6}` {_bar(score)} {score:.2f}" for label, score in verdict.scores.items())
    if words:
        lines += "\n" + _drivers_line(words, masked)
        if masked:
            lines += " _(masked here; the person who asked sees them in full)_"
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": lines}},
    ]
    context = [{"type": "mrkdwn", "text": f"model {verdict.model_version}"}]
    if ref is not None:
        value = ref.to_value()
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": action_id, "value": value,
             "text": {"type": "plain_text", "text": choice.capitalize()}}
            for action_id, choice in VOTE_ACTIONS.items()]})
        context.append({"type": "mrkdwn", "text": tally.describe()})
    blocks.append({"type": "context", "block_id": TALLY_BLOCK_ID, "elements": context})
    return fallback, blocks


def with_tally(blocks: list[dict], tally: Tally) -> list[dict]:
    """A posted verdict's blocks with its tally line brought up to date."""
    updated = []
    for block in blocks:
        if block.get("block_id") == TALLY_BLOCK_ID:  # [model version, tally]
            block = {**block, "elements": [block["elements"][0], {"type": "mrkdwn", "text": tally.describe()}]}
        updated.append(block)
    return updated


def private_drivers(verdict: Verdict, words: list[Word]) -> tuple[str, list[dict]] | None:
    """For the person who asked: the driving words in full (None when there are none)."""
    if not words:
        return None
    text = _drivers_line(words, masked=False) + " _(only you can see this)_"
    if verdict.explanation_note:
        text += f"\n_{_escape(verdict.explanation_note)}_"
    return "Decorum: the words that drove the verdict", [{"type": "section", "text": {"type": "mrkdwn",
                                                                                     "text": text}}]


def notice_reply(text: str) -> tuple[str, list[dict]]:
    return f"Decorum: {text}", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


NOTHING_TO_CHECK = ":information_source: Nothing to check: this message has no text."


def rate_limited_notice(wait_s: float) -> str:
    minutes = max(1, round(wait_s / 60))
    return (f":hourglass_flowing_sand: Slack limits how often Decorum may read messages here; it will check this one "
            f"again in about {minutes} minute{'s' if minutes > 1 else ''}. (\"Check with Decorum\" in the message's "
            "menu is not limited.)")
CHECK_FAILED = (":grey_question: The check failed: the model did not answer in time. "
                "Add the reaction again in a minute to retry.")
