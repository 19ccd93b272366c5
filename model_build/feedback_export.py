"""`python -m model_build feedback-export --out data/feedback/data.csv`: people's votes on the bot's
verdicts (the Slack bot's feedback table, handlers/slack/feedback.py) as training rows in the generic
`text,toxic,hate` layout, with soft labels from the votes.

Only verdicts that kept their text (the workspace turned `feedback_keep_text` on) and got at least one
vote become rows. Per label, with `right` and `wrong` votes out of `n`:
- a label the verdict flagged, and `toxic` whenever it flagged any label (hate is toxic): right / n (a
  "wrong" lowers it);
- `toxic` on a verdict that flagged nothing: wrong / n (a "wrong" raises it);
- any other label the verdict did not flag: 0 when every vote said "right", else unknown (an empty
  cell, masked in the loss): a "wrong" says the verdict missed something, not which label.
A profile lists the file as one more set (`format = "generic"`) with its own weight; the build's
gates still judge the result on the shared sets and the functional suite.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from handlers.settings import env_name
from handlers.slack.feedback import FLAGGED, TEXT, VOTES, FeedbackStore

LABELS = ("toxic", "hate")
UMBRELLA_LABEL = "toxic"  # every other label implies it (hate is toxic)


def soft_labels(flagged: Iterable[str], right: int, wrong: int) -> dict[str, float | None]:
    """Per label, the fraction of people who would call the text that label (None: unknown)."""
    flagged, n = set(flagged), right + wrong
    if n == 0:
        raise ValueError("no votes")
    labels: dict[str, float | None] = {}
    for label in LABELS:
        if label in flagged or (label == UMBRELLA_LABEL and flagged):  # any flagged label implies toxic
            labels[label] = right / n
        elif label == UMBRELLA_LABEL:  # the verdict flagged nothing
            labels[label] = wrong / n
        else:
            labels[label] = 0.0 if wrong == 0 else None
    return labels


def rows(items: Iterable[dict]) -> Iterable[dict[str, str]]:
    """The table's items (DynamoDB JSON) as CSV rows: those with text and votes."""
    for item in items:
        text = item.get(TEXT, {}).get("S", "")
        votes = [cast["M"]["vote"]["S"] for cast in item.get(VOTES, {}).get("M", {}).values()]
        if not text.strip() or not votes:
            continue
        flagged = [entry["S"] for entry in item.get(FLAGGED, {}).get("L", [])]
        labels = soft_labels(flagged, votes.count("right"), votes.count("wrong"))
        yield {"text": text, **{label: "" if value is None else f"{value:.4g}" for label, value in labels.items()}}


def export(store: FeedbackStore, out: Path) -> int:
    """Writes the rows to `out` (CSV, UTF-8); returns how many."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", *LABELS])
        writer.writeheader()
        for row in rows(store.scan()):
            writer.writerow(row)
            count += 1
    return count


def table_name(explicit: str | None) -> str:
    """`--table`, else the bot's own variable (DECORUM_FEEDBACK_TABLE)."""
    name = explicit or os.environ.get(env_name("feedback_table"), "")
    if not name:
        raise ValueError(f"name the feedback table: --table or {env_name('feedback_table')}")
    return name
