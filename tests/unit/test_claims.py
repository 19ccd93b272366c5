import re
from collections import defaultdict
from itertools import product

import numpy as np

from model_build.claims import CLAIMS, HATEFUL_CLAIMS, REJECTED, STATED, Kind, claim_rows, sentence
from model_build.functional import load_cases
from model_build.identity import GROUPS, groups_named
from tests.conftest import GROUP_NEIGHBOURS, NO_GROUP, rows_written_beside

WORD = re.compile(r"[a-z']+")


def _rows(rate: float = 0.5, seed: int = 1) -> tuple[list[str], list[tuple[int, str, Kind]]]:
    texts = GROUP_NEIGHBOURS + NO_GROUP
    return texts, claim_rows(texts, np.ones(len(texts), dtype=bool), rate, seed)


def test_each_chosen_row_gives_four_claims_about_its_own_group() -> None:
    texts, rows = _rows()
    by_source = defaultdict(list)
    for i, text, kind in rows:
        by_source[i].append((text, kind))
    assert 60 < len(by_source) < 120 and all(i < len(GROUP_NEIGHBOURS) for i in by_source)  # rows naming no group: none
    for i, quartet in by_source.items():
        assert sorted(kind for _, kind in quartet) == sorted(
            ["stated_derogatory", "stated_kind", "rejected_derogatory", "rejected_kind"])
        assert all(groups_named(text) == groups_named(texts[i]) for text, _ in quartet)
    alone = [text for i, text, _ in rows if texts[i] not in text]
    assert 0.2 < len(alone) / len(rows) < 0.5


def test_neither_the_claim_nor_the_frame_decides_alone() -> None:
    # Every claim's words and every frame's words are in a hateful and in a clean row about the same group.
    texts, rows = _rows()
    by_source = defaultdict(dict)
    for i, text, kind in rows:
        by_source[i][kind] = text.replace(texts[i], "").strip()  # the written sentence, wherever it stands
    for quartet in by_source.values():
        hateful = [text for kind, text in quartet.items() if kind in HATEFUL_CLAIMS]
        clean = [text for kind, text in quartet.items() if kind not in HATEFUL_CLAIMS]
        assert len(hateful) == len(clean) == 2
        derogatory, kind = next(pair for pair in CLAIMS if pair[0] in quartet["stated_derogatory"])
        assert derogatory in quartet["rejected_derogatory"] and kind in quartet["rejected_kind"]
        # Minimal pairs: a hateful and a clean sentence differ only in the claim, the frame the same.
        for frame in ("stated", "rejected"):
            assert (quartet[f"{frame}_derogatory"].replace(derogatory, "{c}")
                    == quartet[f"{frame}_kind"].replace(kind, "{c}"))


def test_claim_rows_are_deterministic_and_need_clean_sources() -> None:
    texts, rows = _rows()
    assert rows == _rows()[1] and rows != _rows(seed=2)[1]
    assert claim_rows(texts, np.zeros(len(texts), dtype=bool), 0.5, 1) == []


def test_no_sentence_shares_four_words_in_a_row_with_the_functional_suite() -> None:
    def four_grams(text: str) -> set[tuple[str, ...]]:  # those with the group's place in them aside
        words = WORD.findall(text.lower())
        return {gram for k in range(len(words) - 3) if "group" not in (gram := tuple(words[k : k + 4]))}

    suite = set().union(*(four_grams(case.template or case.text) for case in load_cases()))
    written = [sentence(t, "{group}", c) for t in STATED + REJECTED for pair in CLAIMS for c in pair]
    assert not [text for text in written if four_grams(text) & suite]


def test_derogatory_stated_and_kind_rejected_copies_are_hateful_the_others_keep_clean_labels() -> None:
    added = rows_written_beside(claim_rate=1.0)
    sentences = {sentence(t, g.plural, claim): f"{stance}_{what}" in HATEFUL_CLAIMS
                 for stance, templates in (("stated", STATED), ("rejected", REJECTED))
                 for (derogatory, kind), t, g in product(CLAIMS, templates, GROUPS)
                 for what, claim in (("derogatory", derogatory), ("kind", kind))}

    def hateful(text: str) -> bool:
        # By the longest sentence in it: "It's a myth that Jews are ..." holds "Jews are ...".
        return sentences[max((s for s in sentences if s in text), key=len)]

    assert {tuple(labels) for text, labels in added if hateful(text)} == {(1.0, 1.0)}
    assert {tuple(labels) for text, labels in added if not hateful(text)} == {(0.0, 0.0)}
