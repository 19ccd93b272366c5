from pathlib import Path

import numpy as np
import pytest

from model_build.config import load_config
from model_build.functional import CASES_FILE, REJECTING_CATEGORIES, SuiteError, evaluate, load_cases, passed

LABELS = ("toxic", "hate")
THRESHOLDS = {"toxic": 0.5, "hate": 0.5}


def test_shipped_suite_covers_the_categories_and_groups_it_promises() -> None:
    cases = load_cases()
    assert len(cases) >= 400
    assert len({c.group for c in cases if c.group}) >= 12
    categories = {c.category: c.hateful for c in cases}
    assert sum(categories.values()) >= 7 and sum(not h for h in categories.values()) >= 6
    assert len({c.text for c in cases}) == len(cases)  # no case twice
    # The ranking against rejecting statements names its categories: they must exist, not hateful.
    assert all(categories.get(name) is False for name in REJECTING_CATEGORIES)
    for case in cases:
        assert case.expected["hate"] == int(case.hateful)
        assert "{" not in case.text


def test_suite_is_never_training_data() -> None:
    configs = Path(__file__).resolve().parents[2] / "model_build" / "configs"
    suite_folder = CASES_FILE.parent
    for profile in configs.glob("*.toml"):
        for data_set in load_config(profile).data.sets:
            assert not Path(data_set.path).is_relative_to(suite_folder), (profile.name, data_set.name)


def test_a_case_passes_only_when_every_judged_label_is_right(tmp_path: Path) -> None:
    suite = tmp_path / "cases.toml"
    suite.write_text('groups = ["cats", "dogs"]\n'
                     '[[category]]\nname = "hateful"\nhateful = true\ntemplates = ["I hate {group}."]\n'
                     '[[category]]\nname = "idioms"\nhateful = false\ntoxic = 0\ncases = [{ text = "kill it" }]\n'
                     '[[category]]\nname = "profanity"\nhateful = false\ncases = [{ text = "damn" }]\n')
    cases = load_cases(suite)
    assert [c.text for c in cases] == ["I hate cats.", "I hate dogs.", "kill it", "damn"]
    probabilities = np.array([[0.9, 0.9],  # hateful, both fire: pass
                              [0.9, 0.1],  # hateful, hate silent: fail
                              [0.6, 0.1],  # idiom, toxic fires: fail
                              [0.9, 0.1]])  # profanity: toxic not judged, hate silent: pass
    np.testing.assert_array_equal(passed(cases, probabilities, LABELS, THRESHOLDS), [True, False, False, True])
    summary = evaluate(probabilities, LABELS, THRESHOLDS, cases)
    assert summary["overall"] == 0.5 and summary["hateful"] == 0.5 and summary["not_hateful"] == 0.5
    assert summary["categories"]["idioms"] == {"pass_rate": 0.0, "cases": 1, "hateful": False}
    assert summary["groups"] == 2
    assert summary["target_groups"] == {"cats": {"hateful": 1.0, "not_hateful": None},
                                        "dogs": {"hateful": 0.0, "not_hateful": None}}
    # Literal cases have no template; the template's rate is over the groups it was filled with.
    assert summary["templates"] == {"I hate {group}.": {"category": "hateful", "pass_rate": 0.5}}
    # hate scores 0.9, 0.1 (hateful) vs 0.1, 0.1: one pair won, one tied of two each.
    assert summary["hate_ranking"] == {"hateful_vs_other": 0.75, "hateful_vs_rejecting": None}


def test_hateful_cases_are_ranked_against_the_rejecting_ones_alone(tmp_path: Path) -> None:
    suite = tmp_path / "cases.toml"
    suite.write_text('groups = ["cats"]\n'
                     '[[category]]\nname = "derogation"\nhateful = true\ntemplates = ["I hate {group}."]\n'
                     '[[category]]\nname = "counter_speech"\nhateful = false\n'
                     'cases = [{ text = "saying I hate cats is wrong" }]\n'
                     '[[category]]\nname = "identity_neutral"\nhateful = false\ncases = [{ text = "cats exist" }]\n')
    cases = load_cases(suite)
    hate = np.array([0.6, 0.8, 0.1])  # the counter-speech outranks the hateful case; the neutral one does not
    ranking = evaluate(np.stack([hate, hate], axis=1), LABELS, THRESHOLDS, cases)["hate_ranking"]
    assert ranking == {"hateful_vs_other": 0.5, "hateful_vs_rejecting": 0.0}


def test_malformed_suite_is_named(tmp_path: Path) -> None:
    suite = tmp_path / "cases.toml"
    suite.write_text('[[category]]\nname = "x"\nhateful = true\ntemplates = ["no placeholder"]\n')
    with pytest.raises(SuiteError, match="template without"):
        load_cases(suite)
    suite.write_text('[[category]]\nname = "x"\nhateful = false\ntoxic = 2\ncases = [{ text = "a" }]\n')
    with pytest.raises(SuiteError, match="toxic must be 0 or 1"):
        load_cases(suite)
