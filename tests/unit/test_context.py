import numpy as np
import pytest

from model_build.config import ConfigError, DataConfig, DatasetConfig
from model_build.context import MAX_WORDS, add_context, with_context
from model_build.data import DataError, load_splits
from tests.conftest import DATA

TEXTS = [f"message {i} from the thread" for i in range(400)]
CONTEXTS = ["kill the child process when the timeout expires", "Strip the whitespace first."]


def test_context_is_deterministic_and_sized_by_the_rate() -> None:
    eligible = np.ones(len(TEXTS), dtype=bool)
    first = add_context(TEXTS, eligible, CONTEXTS, 0.25, seed=3)
    assert first == add_context(TEXTS, eligible, CONTEXTS, 0.25, seed=3)
    assert first != add_context(TEXTS, eligible, CONTEXTS, 0.25, seed=4)
    assert 0.18 < np.mean([a != b for a, b in zip(first, TEXTS, strict=True)]) < 0.32
    assert add_context(TEXTS, eligible, CONTEXTS, 0.0, seed=3) == TEXTS
    assert add_context(TEXTS, eligible, [], 0.5, seed=3) == TEXTS


def test_context_keeps_the_row_whole_beside_one_context_sentence_and_skips_long_or_ineligible_rows() -> None:
    long_row = " ".join(["word"] * (MAX_WORDS + 1))
    texts = [*TEXTS[:2], long_row]
    out = add_context(texts, np.array([True, False, True]), CONTEXTS, 1.0, seed=0)
    assert out[1:] == texts[1:]
    assert texts[0] in out[0] and any(c.rstrip(".") in out[0] for c in CONTEXTS)
    assert with_context("you absolute clown", CONTEXTS[0], before=True) == (
        "kill the child process when the timeout expires. you absolute clown")
    assert with_context("you absolute clown!", CONTEXTS[1], before=False) == (
        "you absolute clown! Strip the whitespace first.")


def _sets(context: bool) -> tuple[DatasetConfig, ...]:
    return (DatasetConfig("toxigen_prompts", "toxigen_prompts", str(DATA / "toxigen_prompts")),
            DatasetConfig("python_comments", "generic", str(DATA / "python_comments"),
                          weight=0.5, context=context))


def test_context_touches_only_other_sets_training_rows_and_keeps_labels() -> None:
    plain = load_splits(DataConfig(_sets(True), train_rows=600))
    framed = load_splits(DataConfig(_sets(True), train_rows=600, context_rate=0.5))
    assert framed.validation.texts == plain.validation.texts and framed.test.texts == plain.test.texts
    np.testing.assert_array_equal(framed.train.hard, plain.train.hard)
    changed = np.array([a != b for a, b in zip(plain.train.texts, framed.train.texts, strict=True)])
    assert not changed[plain.train.source == "python_comments"].any()
    assert 0.3 < changed[plain.train.source == "toxigen_prompts"].mean() < 0.7
    # Context sentences come from the context set's whole training split, never its held-out rows.
    alone = load_splits(DataConfig(_sets(True)[1:]))
    held_out = set(alone.validation.texts + alone.test.texts)
    for row in np.flatnonzero(changed)[:20]:
        assert plain.train.texts[row] in framed.train.texts[row]
        assert any(c in framed.train.texts[row] for c in alone.train.texts)
        assert not any(c in framed.train.texts[row] for c in held_out)


def test_python_comments_is_benign_developer_prose_and_a_context_set_must_be_benign(tmp_path) -> None:
    data = load_splits(DataConfig(_sets(True)[1:]))
    rows = data.train.texts + data.validation.texts + data.test.texts
    assert len(rows) > 15_000 and np.all(data.train.hard == 0) and np.all(data.test.hard == 0)
    assert any("kill" in r.lower() for r in rows) and not any("bastard" in r.lower() for r in rows)
    (tmp_path / "data.csv").write_text("text,toxic,hate\nfine words,0,0\nyou clown,1,0\n")
    with pytest.raises(DataError, match="must be benign"):
        load_splits(DataConfig((DatasetConfig("bad", "generic", str(tmp_path), context=True),)))
    with pytest.raises(ConfigError, match="context = true"):
        DataConfig(_sets(False), context_rate=0.1)
