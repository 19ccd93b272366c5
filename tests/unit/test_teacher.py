"""The fine-tuned teacher's cache key (model_build/teacher.py): a change to the rows it trains on, made by
code (frames, noise) rather than by the source files, must train a new teacher."""

from __future__ import annotations

import numpy as np

from model_build.data import LabeledSet
from model_build.teacher import training_rows_digest


def rows(texts: list[str], soft: list[list[float]]) -> LabeledSet:
    n = len(texts)
    values = np.asarray(soft, dtype=np.float32)
    return LabeledSet(texts, values, values.copy(), np.asarray(["s"] * n), np.full(n, -1, dtype=np.int8))


def test_the_digest_follows_the_training_rows() -> None:
    base = rows(["you idiot", 'It is not true that "x"'], [[1.0, 0.0], [0.0, 0.0]])
    assert training_rows_digest(base) == training_rows_digest(rows(list(base.texts), base.soft.tolist()))
    reworded = rows(["you idiot", 'Claiming that "x" is false'], base.soft.tolist())  # a new frame template
    relabelled = rows(list(base.texts), [[1.0, 0.0], [0.0, np.nan]])  # a label now masked
    assert len({training_rows_digest(d) for d in (base, reworded, relabelled)}) == 3
