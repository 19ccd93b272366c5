"""The verdict as Block Kit (handlers/slack/replies.py): which words are named, masking, buttons, tally."""

from __future__ import annotations

import json

from handlers.invocation import Word
from handlers.slack.classifier import Verdict
from handlers.slack.feedback import TALLY_BLOCK_ID, VOTE_ACTIONS, Tally, VerdictRef
from handlers.slack.replies import drivers, mask, private_drivers, verdict_reply, with_tally


def verdict(flagged: list[str], weights: list[tuple[str, float]], note: str | None = None) -> Verdict:
    words, at = [], 0
    for text, weight in weights:
        words.append(Word(text, at, at + len(text), {"toxic": weight, "hate": weight / 2}))
        at += len(text) + 1
    return Verdict({"toxic": 0.9, "hate": 0.2}, flagged, "v1", 5.0, tuple(words), note)


def test_drivers_are_the_strongest_words_of_a_flagged_verdict() -> None:
    flagged = verdict(["toxic"], [("you", 0.01), ("idiot,", 0.6), ("IDIOT", 0.5), ("moron", 0.3), ("go", 0.1)])
    assert [w.text for w in drivers(flagged, 0.02)] == ["idiot,", "moron"]  # idiot once; "go" < 1/4 of 0.6
    assert drivers(verdict([], [("idiot", 0.6)]), 0.02) == []  # a clean verdict names no words
    assert drivers(verdict(["toxic"], [("a", 0.01), ("b", 0.015)]), 0.02) == []  # nothing moved it enough
    # No word lowers the score: only a floor below zero names any (the strongest first).
    assert [w.text for w in drivers(verdict(["toxic"], [("a", -0.01), ("b", -0.001)]), -1.0)] == ["b", "a"]


def test_words_that_share_the_work_are_named_together() -> None:
    shared = verdict(["toxic"], [("shut", 0.03), ("up", 0.005), ("stupid", 0.01), ("idiot", 0.03), ("you", 0.009)])
    assert [w.text for w in drivers(shared, 0.02)] == ["shut", "idiot"]
    many = verdict(["toxic"], [(f"w{i}", 0.5) for i in range(6)])
    assert len(drivers(many, 0.02)) == 3


def test_masking_keeps_the_first_letter_only() -> None:
    assert [mask(w) for w in ("idiot", "ab", "x")] == ["i****", "a*", "*"]


def test_the_public_reply_masks_the_private_one_does_not() -> None:
    v = verdict(["toxic"], [("you", 0.0), ("idiot,", 0.7)], note="only the first 64 words are explained")
    words = drivers(v, 0.02)
    _, public = verdict_reply(v, words, masked=True)
    assert "`i****`" in json.dumps(public) and "idiot" not in json.dumps(public)
    _, private = private_drivers(v, words)
    assert "`idiot`" in json.dumps(private) and "only the first 64 words" in json.dumps(private)
    assert private_drivers(v, []) is None


def test_buttons_carry_the_verdict_and_the_tally_line_updates_alone() -> None:
    v = verdict(["toxic"], [("idiot", 0.7)])
    ref = VerdictRef("T1", "C1", "1.000001", "v1", v.scores, ("toxic",))
    _, blocks = verdict_reply(v, drivers(v, 0.02), ref)
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == list(VOTE_ACTIONS)
    assert all(VerdictRef.from_value(e["value"]) == ref for e in actions["elements"])
    updated = with_tally(blocks, Tally(right=1, wrong=2))
    (tally,) = [b for b in updated if b.get("block_id") == TALLY_BLOCK_ID]
    assert [e["text"] for e in tally["elements"]] == ["model v1", "1 person said right · 2 people said wrong"]
    assert updated[:-1] == blocks[:-1]
    _, no_feedback = verdict_reply(v, [], None)
    assert not any(b["type"] == "actions" for b in no_feedback)
