from bench.generalization import (
    ABUSE_OF_A_GROUP,
    NON_PROTECTED_TARGETS,
    PROTECTED_TARGETS,
    abuse_by_target,
)
from model_build.identity import NON_PROTECTED, groups_named


def test_the_probes_targets_are_held_out_from_training_and_sit_on_the_side_they_claim() -> None:
    assert not set(NON_PROTECTED_TARGETS) & {group.plural for group in NON_PROTECTED}
    assert all(not groups_named(target) for target in NON_PROTECTED_TARGETS)
    assert all(len(groups_named(target)) == 1 for target in PROTECTED_TARGETS)


def test_abuse_by_target_scores_each_side_on_the_hate_label_at_the_served_threshold(toxicity_model) -> None:
    result = abuse_by_target(toxicity_model)
    hate = list(toxicity_model.labels).index("hate")
    for side, targets in (("non_protected", NON_PROTECTED_TARGETS), ("protected", PROTECTED_TARGETS)):
        # The model is uncased: a target's capital at the start of a sentence changes no score.
        scores = toxicity_model.scores([t.replace("{X}", target) for t in ABUSE_OF_A_GROUP for target in targets])
        assert result[side]["cases"] == len(scores)
        assert abs(result[side]["mean_hate"] - float(scores[:, hate].mean())) < 1e-3
        flagged = scores[:, hate] >= toxicity_model.thresholds[hate]
        assert result[side]["flagged_hate"] == round(float(flagged.mean()), 4)
