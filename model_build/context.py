"""Benign context around training rows: what a message says does not change with the text beside it.

A set of benign developer prose (`data/python_comments`: "Kill the process with SIGKILL", "get rid
of whitespace") teaches the model that such words are no abuse; alone, it also teaches "developer prose,
so not toxic", and an insult posted beside a build log would pass (the quick model flagged 88 % of
toxic test rows alone, 77 % with a changelog entry beside them). So some training rows from the
other sets also appear with a context sentence before or after them, labels kept: the context then
says nothing about the label either way. Rows are changed in place, as the noise does, so the
training budget stays the same; only rows short enough to keep their own words inside the teacher's
64-token window are used. Off in both profiles: the set costs implicit hate that is plainly stated
(README, "Developer prose").
"""

from __future__ import annotations

import re

import numpy as np

WORDS = re.compile(r"\S+")
MAX_WORDS = 30  # a row plus a context sentence stays within the quick teacher's 64 tokens


def with_context(text: str, context: str, before: bool) -> str:
    """`text` with `context` as a sentence of its own before or after it."""
    context = context.strip()
    if before:
        return f"{context if context[-1:] in '.!?:' else context + '.'} {text.strip()}"
    text = text.strip()
    return f"{text if text[-1:] in '.!?' else text + '.'} {context}"


def add_context(texts: list[str], eligible: np.ndarray, contexts: list[str], rate: float,
                seed: int) -> list[str]:
    """`texts` with about `rate` of the eligible rows (short ones only) given a context sentence drawn
    from `contexts`, before or after at random. Deterministic for a seed; the list is a copy."""
    out = list(texts)
    if not contexts or rate <= 0:
        return out
    rng = np.random.default_rng(seed)
    for i in np.flatnonzero(eligible):
        if rng.random() >= rate or len(WORDS.findall(texts[i])) > MAX_WORDS:
            continue
        out[i] = with_context(texts[i], contexts[int(rng.integers(len(contexts)))], bool(rng.random() < 0.5))
    return out
