import numpy as np

from model_build.config import DataConfig, DatasetConfig
from model_build.data import load_splits
from model_build.frames import OWNING, REJECTING, frame, framed_rows, statement
from tests.conftest import DATA


def test_only_short_plain_statements_are_framed() -> None:
    assert statement("All of them are the same.") == "All of them are the same"
    assert statement("too short") is None
    assert statement(" ".join(["word"] * 31)) is None
    assert statement('he said "x" to me today') is None and statement("look at [URL] now please") is None


def test_frame_fits_the_sentence_into_the_template() -> None:
    assert frame("It is not true that {s}.", "Cats are evil") == "It is not true that cats are evil."
    assert frame("{S}. Prove me wrong.", "cats are evil") == "Cats are evil. Prove me wrong."


def test_framed_rows_are_deterministic_and_mostly_rejecting() -> None:
    texts = [f"group number {i} is the worst of all" for i in range(400)]
    hateful = np.arange(400) % 2 == 0
    rows = framed_rows(texts, hateful, rate=0.5, seed=1)
    assert rows == framed_rows(texts, hateful, rate=0.5, seed=1)
    assert all(hateful[i] for i, _, _ in rows)
    assert 70 < len(rows) < 130
    assert 0.6 < np.mean([rejects for _, _, rejects in rows]) < 0.9
    for i, text, rejects in rows:
        templates = REJECTING if rejects else OWNING
        assert any(frame(t, texts[i]) == text for t in templates)


def test_rejecting_frames_are_labelled_not_hateful_owning_frames_keep_labels() -> None:
    sets = (DatasetConfig("toxigen_prompts", "toxigen_prompts", str(DATA / "toxigen_prompts")),)
    plain, framed = load_splits(DataConfig(sets)), load_splits(DataConfig(sets, frame_rate=0.5))
    assert framed.validation.texts == plain.validation.texts and framed.test.texts == plain.test.texts
    before = set(plain.train.texts)
    added = {t: list(labels) for t, labels in zip(framed.train.texts, framed.train.hard, strict=True)
             if t not in before}
    assert len(added) > 50
    owning_starts = tuple(t.split("{")[0] for t in OWNING if not t.startswith("{"))
    for text, labels in added.items():
        owning = text.startswith(owning_starts) or text.endswith("Prove me wrong.")
        assert labels == ([1.0, 1.0] if owning else [0.0, 0.0]), text
