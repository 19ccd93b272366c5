import numpy as np
import pytest

from model_build.config import ConfigError, StudentConfig
from model_build.data import LabeledSet
from model_build.transfer import transfer_set, transfer_texts

TEXTS = [f"row {i} says group {i % 7} is nothing but trouble today" for i in range(200)]


def test_transfer_texts_are_deterministic_and_sized_by_the_rate() -> None:
    assert transfer_texts(TEXTS, 0.5, seed=3) == transfer_texts(TEXTS, 0.5, seed=3)
    assert transfer_texts(TEXTS, 0.5, seed=3) != transfer_texts(TEXTS, 0.5, seed=4)
    assert len(transfer_texts(TEXTS, 0.5, seed=3)) == 100
    assert len(transfer_texts(TEXTS, 1.5, seed=3)) == 300  # more than one per row: sources repeat
    assert transfer_texts(TEXTS, 0.0, seed=3) == []


def _in_order(words: list[str], source: list[str]) -> bool:
    left = iter(source)
    return all(word in left for word in words)


def test_each_variation_drops_words_of_one_row_or_joins_two_rows() -> None:
    rows = set(TEXTS)
    dropped = joined = 0
    for text in transfer_texts(TEXTS, 1.0, seed=0):
        words = text.split()
        if len(words) > 10:  # two rows of ten words each
            joined += 1
            assert " ".join(words[:10]) in rows and " ".join(words[10:]) in rows
        else:
            dropped += 1
            assert text not in rows and 1 <= len(words) < 10
            assert any(_in_order(words, row.split()) for row in TEXTS)  # what is left of one row
    assert dropped > 60 and joined > 60


def test_transfer_rows_carry_no_labels() -> None:
    train = LabeledSet(TEXTS, np.zeros((200, 2), np.float32), np.zeros((200, 2), np.float32),
                       np.full(200, "davidson"), np.full(200, -1, np.int8))
    extra = transfer_set(train, 0.25, seed=1)
    assert len(extra) == 50 and extra.soft.shape == extra.hard.shape == (50, 2)
    assert np.isnan(extra.soft).all() and np.isnan(extra.hard).all()  # masked in the label term, never 0
    assert set(extra.source) == {"transfer"} and (extra.davidson_class == -1).all()
    assert len(LabeledSet.concat([train, extra])) == 250


def test_a_negative_transfer_rate_is_refused() -> None:
    with pytest.raises(ConfigError, match="transfer_rate"):
        StudentConfig(transfer_rate=-0.1)
