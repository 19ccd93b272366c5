import re

import numpy as np

from model_build.functional import load_cases
from model_build.identity import GROUPS, groups_named
from model_build.stance import ASIDE, ASIDE_ACTS, DENIED, HOSTILE, THINGS, WARM, WHAT_THEY_DO, Kind, fill, stance_rows
from tests.conftest import GROUP_NEIGHBOURS, NO_GROUP, rows_written_beside


def _rows(rate: float = 0.5, seed: int = 1) -> tuple[list[str], list[tuple[int, str, Kind]]]:
    texts = GROUP_NEIGHBOURS + NO_GROUP
    return texts, stance_rows(texts, np.ones(len(texts), dtype=bool), rate, seed)


def test_hostile_clauses_name_the_group_of_their_source_row() -> None:
    texts, rows = _rows()
    hostile = [(i, text) for i, text, kind in rows if kind == "hostile"]
    assert 60 < len(hostile) < 120
    for i, text in hostile:
        assert i < len(GROUP_NEIGHBOURS) and groups_named(text) == groups_named(texts[i])


def test_every_hostile_row_has_a_warm_mirror_about_the_same_row() -> None:
    _, rows = _rows()
    hostile = [i for i, _, kind in rows if kind == "hostile"]
    assert hostile == [i for i, _, kind in rows if kind == "warm"]
    warm_clauses = {fill(c, g.plural) for c in WARM for g in GROUPS}
    assert all(any(c in text for c in warm_clauses) for _, text, kind in rows if kind == "warm")


def test_aside_clauses_aim_at_no_group_and_violence_only_at_things() -> None:
    texts, rows = _rows()
    aside = [(i, text) for i, text, kind in rows if kind == "aside"]
    assert len(aside) == sum(kind == "hostile" for _, _, kind in rows)
    for i, text in aside:
        clause = text.replace(texts[i], "").strip()
        assert not groups_named(clause), text
        if any(t.split("{")[0] in clause for t in ASIDE_ACTS if t.split("{")[0]):
            assert any(thing in clause for thing in THINGS), text


def test_denied_rows_are_a_quarter_and_alone_or_beside_their_row() -> None:
    texts, rows = _rows()
    denied = [(i, text) for i, text, kind in rows if kind == "denied"]
    assert len(denied) == sum(kind == "hostile" for _, _, kind in rows) // 4
    alone = [text for i, text in denied if texts[i] not in text]
    assert alone and len(alone) < len(denied)


def test_stance_rows_are_deterministic_and_need_clean_sources() -> None:
    texts, rows = _rows()
    assert rows == _rows()[1] and rows != _rows(seed=2)[1]
    assert stance_rows(texts, np.zeros(len(texts), dtype=bool), 0.5, 1) == []


def test_no_clause_uses_the_functional_suites_words_for_hostility() -> None:
    suite_words = re.compile(r"\b(hate|hating|can't stand|hurt|sick|disgusting|kill)\b", re.IGNORECASE)
    clauses = HOSTILE + WARM + DENIED + ASIDE + ASIDE_ACTS + THINGS + WHAT_THEY_DO
    assert not [c for c in clauses if suite_words.search(c)]
    suite_texts = {case.text.lower() for case in load_cases()}
    filled = {fill(c, g.plural).lower() for c in HOSTILE + WARM + DENIED for g in GROUPS}
    assert not filled & suite_texts


def test_hostile_copies_are_labelled_hateful_the_others_keep_clean_labels() -> None:
    added = rows_written_beside(stance_rate=1.0)
    clauses = [fill(c, g.plural) for c in HOSTILE for g in GROUPS]
    hostile = [labels for text, labels in added if any(clause in text for clause in clauses)]
    others = [labels for text, labels in added if not any(clause in text for clause in clauses)]
    assert hostile and all(labels == [1.0, 1.0] for labels in hostile)
    assert others and all(labels == [0.0, 0.0] for labels in others)
