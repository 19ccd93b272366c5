"""Unlabelled text for distillation only: variations of the training rows that the teacher scores
and the student learns to score the same way (no labels: the teacher's term alone).

A student distilled on the training rows alone matches its teacher there and not on text unlike
them. Variations show it how the teacher's score moves when words go missing (which words carry
it) and when two rows meet in one message (what a neighbouring sentence does to it).
"""

from __future__ import annotations

import numpy as np

from model_build.data import LabeledSet

DROP_RATE = 0.2  # share of words a dropped copy loses


def _dropped(words: list[str], rng: np.random.Generator) -> str:
    keep = rng.random(len(words)) >= DROP_RATE
    if keep.all():
        keep[rng.integers(len(words))] = False
    if not keep.any():
        keep[rng.integers(len(words))] = True
    return " ".join(word for word, kept in zip(words, keep, strict=True) if kept)


def transfer_texts(texts: list[str], rate: float, seed: int) -> list[str]:
    """`rate` x len(texts) variations of `texts`: half with a fifth of the words dropped, half two rows
    joined. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    count = round(len(texts) * rate)
    out = []
    for i in rng.choice(len(texts), count, replace=count > len(texts)):
        words = texts[i].split()
        if len(words) > 2 and rng.random() < 0.5:
            out.append(_dropped(words, rng))
        else:
            out.append(f"{texts[i]} {texts[rng.integers(len(texts))]}")
    return out


def transfer_set(train: LabeledSet, rate: float, seed: int) -> LabeledSet:
    """The variations as rows with every label unknown (masked in the label term)."""
    texts = transfer_texts(train.texts, rate, seed)
    unknown = np.full((len(texts), train.soft.shape[1]), np.nan, dtype=np.float32)
    return LabeledSet(texts=texts, soft=unknown, hard=unknown.copy(), source=np.full(len(texts), "transfer"),
                      davidson_class=np.full(len(texts), -1, dtype=np.int8))
