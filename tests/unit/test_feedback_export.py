"""Votes to soft labels (model_build/feedback_export.py), and the rows as the generic loader reads them."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from model_build.config import DatasetConfig
from model_build.data import LOADERS
from model_build.feedback_export import rows, soft_labels


def item(text: str | None, flagged: list[str], votes: dict[str, str]) -> dict:
    """A feedback table item in DynamoDB JSON, as handlers/slack/feedback.py writes it."""
    out = {"pk": {"S": "verdict#T#C#1.0"}, "flagged": {"L": [{"S": f} for f in flagged]},
           "votes": {"M": {user: {"M": {"vote": {"S": v}, "at": {"N": "1"}}} for user, v in votes.items()}}}
    if text is not None:
        out["text"] = {"S": text}
    return out


@pytest.mark.parametrize(("flagged", "right", "wrong", "expected"), [
    (["toxic", "hate"], 3, 1, {"toxic": 0.75, "hate": 0.75}),  # a "wrong" on a flagged label lowers it
    (["toxic"], 0, 2, {"toxic": 0.0, "hate": None}),  # flagged toxic, wrongly: hate unknown
    (["toxic"], 2, 0, {"toxic": 1.0, "hate": 0.0}),  # right: toxic, and not hate
    (["hate"], 2, 0, {"toxic": 1.0, "hate": 1.0}),  # right: hateful, so toxic too (never "hateful, not toxic")
    (["hate"], 1, 1, {"toxic": 0.5, "hate": 0.5}),
    ([], 1, 3, {"toxic": 0.75, "hate": None}),  # passed, wrongly: toxic raised, which label unknown
    ([], 4, 0, {"toxic": 0.0, "hate": 0.0}),
])
def test_votes_move_the_labels_the_verdict_showed(flagged, right, wrong, expected) -> None:
    assert soft_labels(flagged, right, wrong) == expected


def test_only_voted_rows_that_kept_their_text_are_exported() -> None:
    exported = list(rows([item("you idiot", ["toxic"], {"U1": "wrong", "U2": "wrong"}),
                          item(None, ["toxic"], {"U1": "right"}),  # keep_text was off
                          item("no votes yet", [], {}),
                          item("fine message", [], {"U1": "right"})]))
    assert exported == [{"text": "you idiot", "toxic": "0", "hate": ""},
                        {"text": "fine message", "toxic": "0", "hate": "0"}]


def test_the_generic_loader_reads_an_empty_cell_as_unknown(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("text,toxic,hate\nyou idiot,0.25,\nhave a nice day,0,0\n")
    loaded = LOADERS["generic"](DatasetConfig("feedback", "generic", str(tmp_path)), ("toxic", "hate"),
                                hashlib.sha256())
    assert loaded.soft[0, 0] == pytest.approx(0.25) and math.isnan(loaded.soft[0, 1])
    assert loaded.soft[1].tolist() == [0.0, 0.0]
