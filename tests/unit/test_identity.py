import numpy as np
import pytest

from model_build.config import DataConfig, DatasetConfig
from model_build.data import load_splits
from model_build.identity import (
    GROUPS,
    NON_PROTECTED,
    balanced_negatives,
    groups_named,
    hateful_copies,
    non_protected_copies,
    swap_group,
)
from tests.conftest import DATA

JEWS = next(g for g in GROUPS if g.name == "jewish")


def test_mentions_are_found_in_any_case_but_not_in_hashtags_or_inside_words() -> None:
    assert groups_named("Muslims and WOMEN were there") == {"muslim", "women"}
    assert groups_named("#refugees @women womenswear") == set()
    assert groups_named("people with disabilities") == {"disabled"}


def test_a_swap_keeps_the_case_it_replaces() -> None:
    assert swap_group("Muslims came. muslims left. MUSLIMS!", JEWS) == "Jews came. jews left. JEWS!"
    assert swap_group("Women are welcome here", GROUPS[1]) == "Black people are welcome here"
    assert swap_group("we met women there", GROUPS[1]) == "we met black people there"


def test_only_clean_rows_naming_one_unqualified_group_are_copied() -> None:
    texts = ["muslims are great at chess", "I hate women", "muslims and jews met", "white immigrants voted",
             "no group here", "muslims unknown label", "muslims ain't shit"]
    hateful = np.array([0, 1, 0, 0, 0, np.nan, 0])
    toxic = np.array([0, 1, 0, 0, 0, np.nan, 1])
    # Hate is 1 in 6 annotated rows; "women" is named only hatefully: 5 non-hateful copies per hateful one.
    rows = balanced_negatives(texts * 3, np.tile(hateful, 3), np.tile(toxic, 3), balance=1.0, seed=3)
    assert len(rows) == 15
    assert {texts[i % len(texts)] for i, _ in rows} == {"muslims are great at chess"}
    assert {text for _, text in rows} == {"women are great at chess"}


def test_copies_bring_each_groups_hateful_share_down_to_hates_share_of_all_rows() -> None:
    texts = [f"jews are vermin {i}" for i in range(30)] + [f"muslims met at noon {i}" for i in range(30)]
    texts += [f"a quiet day {i}" for i in range(140)]
    hateful = np.array([1.0] * 30 + [0.0] * 170)
    rows = balanced_negatives(texts, hateful, hateful, balance=1.0, seed=0)
    assert rows == balanced_negatives(texts, hateful, hateful, balance=1.0, seed=0)
    jews = [text for _, text in rows if groups_named(text) == {"jewish"}]
    # Hate is 15 % of rows; 30 hateful mentions of Jews call for 170 non-hateful ones.
    assert len(jews) == 170 and all(t.startswith("jews met at noon") for t in jews)
    assert len(balanced_negatives(texts, hateful, hateful, balance=0.5, seed=0)) < len(rows)
    assert balanced_negatives(texts, hateful, hateful, balance=0.0, seed=0) == []


@pytest.mark.parametrize(("option", "hate"), [("identity_balance", 0), ("identity_hateful_rate", 1)])
def test_the_copies_join_training_only_with_their_sources_labels(option: str, hate: int) -> None:
    sets = (DatasetConfig("toxigen_prompts", "toxigen_prompts", str(DATA / "toxigen_prompts")),)
    plain, copied = load_splits(DataConfig(sets)), load_splits(DataConfig(sets, **{option: 1.0}))
    assert copied.validation.texts == plain.validation.texts and copied.test.texts == plain.test.texts
    before = set(plain.train.texts)
    added = [labels for text, labels in zip(copied.train.texts, copied.train.hard, strict=True)
             if text not in before]
    assert added and all(labels[1] == hate for labels in added)


def test_hateful_rows_naming_one_unqualified_group_are_copied_naming_another() -> None:
    texts = ["I hate women", "women are great at chess", "muslims and jews are vermin", "white women are vermin",
             "jews unknown label", "vermin everywhere"]
    hateful = np.array([1, 0, 1, 1, np.nan, 1])
    rows = hateful_copies(texts, hateful, rate=1.0, seed=5)
    assert rows == hateful_copies(texts, hateful, rate=1.0, seed=5)
    assert [i for i, _ in rows] == [0]
    (_, copy), = rows
    assert copy.startswith("I hate ") and len(groups_named(copy)) == 1 and "women" not in groups_named(copy)
    assert hateful_copies(texts, hateful, rate=0.0, seed=5) == []


def test_short_hateful_statements_about_one_group_are_copied_naming_non_protected_groups() -> None:
    texts = ["Muslims are filthy parasites", "I met some muslims today and they are parasites",
             "gay people are parasites and so are trannies", "women are parasites", "jews unknown label",
             "muslims are great at chess", "parasites everywhere"]
    hateful = np.array([1, 1, 1, 0, np.nan, 0, 1])
    rows = non_protected_copies(texts, hateful, rate=1.0, seed=2)
    assert rows == non_protected_copies(texts, hateful, rate=1.0, seed=2)
    # Only the first: the second names its group late, the third keeps a slur, the rest are not hateful.
    assert [i for i, _ in rows] == [0, 0]
    targets = {copy.removesuffix(" are filthy parasites") for _, copy in rows}
    assert len(targets) == 2 and targets <= {g.plural[:1].upper() + g.plural[1:] for g in NON_PROTECTED}
    assert all(not groups_named(copy) for _, copy in rows)
    assert non_protected_copies(texts, hateful, rate=0.0, seed=2) == []


def test_non_protected_copies_join_training_not_hateful_with_toxic_unknown() -> None:
    sets = (DatasetConfig("toxigen_prompts", "toxigen_prompts", str(DATA / "toxigen_prompts")),)
    plain = load_splits(DataConfig(sets))
    copied = load_splits(DataConfig(sets, identity_non_protected_rate=1.0))
    assert copied.validation.texts == plain.validation.texts and copied.test.texts == plain.test.texts
    before = set(plain.train.texts)
    added = [(text, soft, hard) for text, soft, hard in
             zip(copied.train.texts, copied.train.soft, copied.train.hard, strict=True) if text not in before]
    assert added
    for text, soft, hard in added:
        assert not groups_named(text)
        assert soft[1] == hard[1] == 0 and np.isnan(soft[0]) and np.isnan(hard[0])
