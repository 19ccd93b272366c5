"""The functional suite: cases by category (`cases.toml`), scored on the exported model.

A case passes when every label it has an expectation for is on the expected side of its threshold.
Hateful cases expect `toxic` and `hate`; non-hateful ones expect `hate` off and, where the category
or case says so, `toxic` too. Evaluation only: no profile reads these cases for training.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

CASES_FILE = Path(__file__).with_name("cases.toml")
# Not hateful, yet they repeat a hateful statement to reject it: the hardest cases to rank apart.
REJECTING_CATEGORIES = ("counter_speech", "negated_hate")


class SuiteError(ValueError):
    """The suite file is malformed; the message names the category."""


@dataclass(frozen=True)
class Case:
    text: str
    category: str
    hateful: bool
    expected: dict[str, int]  # label -> 1 (must fire) or 0 (must not)
    group: str = ""
    template: str = ""  # the template it was made from, if any


def _expected(hateful: bool, toxic: object, where: str) -> dict[str, int]:
    if hateful:
        return {"toxic": 1, "hate": 1}
    if toxic not in (None, 0, 1):
        raise SuiteError(f"{where}: toxic must be 0 or 1")
    return {"hate": 0} | ({} if toxic is None else {"toxic": int(toxic)})


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    groups = raw.get("groups", [])
    cases: list[Case] = []
    for category in raw.get("category", []):
        name, hateful = category.get("name"), category.get("hateful")
        if not name or not isinstance(hateful, bool):
            raise SuiteError(f"{path}: every category needs a name and hateful = true/false")
        for template in category.get("templates", []):
            if "{group}" not in template and "{Group}" not in template:
                raise SuiteError(f"{name}: template without {{group}}: {template!r}")
            for group in groups:
                text = template.replace("{group}", group).replace("{Group}", group[:1].upper() + group[1:])
                cases.append(Case(text, name, hateful, _expected(hateful, category.get("toxic"), name), group,
                                  template))
        for entry in category.get("cases", []):
            toxic = entry.get("toxic", category.get("toxic"))
            cases.append(Case(entry["text"], name, hateful, _expected(hateful, toxic, f"{name}: {entry['text']!r}")))
    if not cases:
        raise SuiteError(f"{path}: no cases")
    return cases


def passed(cases: list[Case], probabilities: np.ndarray, labels: tuple[str, ...],
           thresholds: dict[str, float]) -> np.ndarray:
    """[len(cases)] bool: each case's expectations met by `probabilities` [len(cases), labels]."""
    fired = probabilities >= np.array([thresholds[label] for label in labels])
    return np.array([all(fired[i, labels.index(label)] == bool(want) for label, want in case.expected.items())
                     for i, case in enumerate(cases)])


def summarize(cases: list[Case], ok: np.ndarray) -> dict:
    """Pass rates overall, on each side (hateful / not hateful), per category (with counts), per target
    group and per template."""
    by_category: dict[str, list[bool]] = defaultdict(list)
    by_group: dict[str, dict[bool, list[bool]]] = defaultdict(lambda: {True: [], False: []})
    by_template: dict[str, list[bool]] = defaultdict(list)
    category_of: dict[str, str] = {}
    for case, result in zip(cases, ok, strict=True):
        by_category[case.category].append(bool(result))
        if case.group:
            by_group[case.group][case.hateful].append(bool(result))
        if case.template:
            by_template[case.template].append(bool(result))
            category_of[case.template] = case.category
    hateful = np.array([c.hateful for c in cases])
    return {
        "overall": float(ok.mean()),
        "hateful": float(ok[hateful].mean()) if hateful.any() else None,
        "not_hateful": float(ok[~hateful].mean()) if (~hateful).any() else None,
        "cases": len(cases),
        "groups": len({c.group for c in cases if c.group}),
        "categories": {name: {"pass_rate": float(np.mean(r)), "cases": len(r),
                              "hateful": next(c.hateful for c in cases if c.category == name)}
                       for name, r in by_category.items()},
        # Where a group's name alone moves the score: its hateful cases pass and its others fail.
        "target_groups": {group: {"hateful": float(np.mean(r[True])) if r[True] else None,
                                  "not_hateful": float(np.mean(r[False])) if r[False] else None}
                          for group, r in by_group.items()},
        # Where one phrasing fails for every group: a way of saying it the model has not learnt.
        "templates": {template: {"category": category_of[template], "pass_rate": float(np.mean(r))}
                      for template, r in by_template.items()},
    }


def hate_ranking(cases: list[Case], hate: np.ndarray) -> dict[str, float | None]:
    """Threshold-free: the `hate` ROC-AUC of the hateful cases against all others, and against the
    rejecting ones alone (counter-speech, negated hate: the same words, the other meaning); None
    where a suite lacks one side."""
    hateful = np.array([c.hateful for c in cases])
    rejecting = hateful | np.array([c.category in REJECTING_CATEGORIES for c in cases])

    def auc(rows: np.ndarray) -> float | None:
        return float(roc_auc_score(hateful[rows], hate[rows])) if 0 < hateful[rows].sum() < rows.sum() else None

    return {"hateful_vs_other": auc(np.ones(len(cases), dtype=bool)), "hateful_vs_rejecting": auc(rejecting)}


def evaluate(probabilities: np.ndarray, labels: tuple[str, ...], thresholds: dict[str, float],
             cases: list[Case] | None = None) -> dict:
    cases = cases if cases is not None else load_cases()
    summary = summarize(cases, passed(cases, probabilities, labels, thresholds))
    if "hate" in labels:
        summary["hate_ranking"] = hate_ranking(cases, probabilities[:, labels.index("hate")])
    return summary
