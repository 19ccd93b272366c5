"""Generalization: the functional suite through the served model, LODO next to a TF-IDF bar, and held-out
probes (developer prose; abuse of groups with and without a protected characteristic)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from bench.common import REPO
from handlers.inference.artifact import Manifest


def _tfidf_model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                                    sublinear_tf=True)),
                         LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced"))


CHANGELOGS = Path("/usr/share/doc")  # Debian's packages' changelogs: developer prose no profile trains on
CHANGELOG_ENTRY = re.compile(r"^\s+[*+-]\s+(\S.*)$")


def changelog_lines(limit: int = 3000, seed: int = 0) -> list[str]:
    """A deterministic sample of Debian changelog entries (4 words or more) found on this machine."""
    lines = []
    for path in sorted(CHANGELOGS.glob("*/changelog.Debian.gz")):
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        except (OSError, EOFError):
            continue
        lines += [m.group(1).strip() for m in map(CHANGELOG_ENTRY.match, text.splitlines())
                  if m and len(m.group(1).split()) >= 4]
    rng = np.random.default_rng(seed)
    return [lines[i] for i in sorted(rng.permutation(len(lines))[:limit])]


def developer_text(served, test, toxic: int) -> dict | None:
    """Held-out developer prose: the share of Debian changelog entries each label flags, and whether
    toxic test rows still fire with such an entry beside them (a model that learnt "developer prose,
    so benign" would let an insult beside a build log pass)."""
    entries = changelog_lines()
    if not entries:
        return None
    flagged = served.scores(entries) >= served.thresholds
    rng = np.random.default_rng(1)
    known = np.flatnonzero(~np.isnan(test.hard[:, toxic]))
    rows = rng.choice(known, min(2000, len(known)), replace=False)
    y = test.hard[rows, toxic].astype(int)
    plain = [test.texts[i] for i in rows]
    beside = [f"{text} {entries[int(rng.integers(len(entries)))]}" for text in plain]
    out = {"changelog_entries": len(entries),
           "flagged": {label: round(float(flagged[:, j].mean()), 4) for j, label in enumerate(served.labels)}}
    for name, texts in (("alone", plain), ("beside_a_changelog_entry", beside)):
        p = served.scores(texts)[:, toxic]
        fired = p[y == 1] >= served.thresholds[toxic]
        out[f"test_rows_{name}"] = {"toxic_roc_auc": round(float(roc_auc_score(y, p)), 4),
                                    "toxic_rows_flagged": round(float(fired.mean()), 4)}
    return out


# Abuse said of a group: hate when the group has a protected characteristic, not when people are grouped by
# trade or habit. Held out: none of these targets is in the training lexicons (`model_build/identity.py`).
ABUSE_OF_A_GROUP = ("{X} are parasites.", "{X} are vermin.", "I hate {X}.", "{X} are disgusting, every one of them.",
                    "All {X} should be locked up.", "{X} are subhuman garbage.", "{X} are ruining this country.",
                    "Never trust {X}, they are all liars.")
NON_PROTECTED_TARGETS = ("dentists", "plumbers", "realtors", "bankers", "programmers", "truck drivers", "cat owners",
                         "chess players")
PROTECTED_TARGETS = ("women", "Muslims", "Jews", "gay people", "immigrants", "Black people", "Hindus",
                     "disabled people")


def abuse_by_target(served) -> dict:
    """The share of `ABUSE_OF_A_GROUP` flagged as hate, said of groups without a protected characteristic
    (should not be) and of protected groups (should be), with the mean hate score."""
    hate = list(served.labels).index("hate")
    out = {}
    for side, targets in (("non_protected", NON_PROTECTED_TARGETS), ("protected", PROTECTED_TARGETS)):
        texts = [template.replace("{X}", target[:1].upper() + target[1:] if template.startswith("{X}") else target)
                 for template in ABUSE_OF_A_GROUP for target in targets]
        scores = served.scores(texts)[:, hate]
        out[side] = {"flagged_hate": round(float(np.mean(scores >= served.thresholds[hate])), 4),
                     "mean_hate": round(float(scores.mean()), 4), "cases": len(texts)}
    return out


def bench_generalization(model_dir: Path) -> dict:
    """Cross-domain quality as served: the functional suite through the inference server's own model
    class (its tokenizer.json, thresholds and windows), and, per held-out domain, a word + character
    TF-IDF logistic regression trained on the other domains' mix, beside the model's LODO table."""
    from handlers.inference.model import ToxicityModel
    from handlers.inference.settings import ModelSettings
    from model_build import functional
    from model_build.config import load_config
    from model_build.data import load_splits
    from model_build.lodo import without
    from model_build.report import LODO_RESULTS

    manifest = Manifest.read(model_dir)
    cfg = load_config(REPO / "model_build" / "configs" / f"{manifest.config}.toml")
    served = ToxicityModel(model_dir, ModelSettings(intra_op_threads=1))
    cases = functional.load_cases()
    labels = tuple(served.labels)
    suite = functional.evaluate(served.scores([c.text for c in cases]), labels,
                                dict(zip(labels, served.thresholds.tolist(), strict=True)), cases)
    everything = load_splits(cfg.data)
    toxic = labels.index("toxic")
    baseline = {}
    for held_out in [s.name for s in cfg.data.sets if not s.context]:
        train = load_splits(without(cfg.data, held_out)).train
        known = np.flatnonzero(~np.isnan(train.soft[:, toxic]))
        test = everything.test.take(np.flatnonzero(everything.test.source == held_out))
        y = test.hard[:, toxic]
        if np.isnan(y).any() or y.min() == y.max():
            continue
        model = _tfidf_model().fit([train.texts[i] for i in known], train.soft[known, toxic] >= 0.5)
        baseline[held_out] = round(float(roc_auc_score(y, model.predict_proba(test.texts)[:, 1])), 4)
    lodo_file = model_dir / LODO_RESULTS
    lodo = json.loads(lodo_file.read_text())["results"] if lodo_file.is_file() else {}
    return {
        "functional_suite_served": {
            **{side: round(suite[side], 4) for side in ("overall", "hateful", "not_hateful")},
            "categories": {name: round(c["pass_rate"], 4) for name, c in suite["categories"].items()}},
        "lodo_toxic_roc_auc": {name: {"tfidf_logistic_regression": auc,
                                      "model": round(lodo[name]["toxic_roc_auc"], 4) if name in lodo else None}
                               for name, auc in baseline.items()},
        "abuse_by_target_held_out": abuse_by_target(served),
        "developer_text_held_out": developer_text(served, everything.test.take(
            np.flatnonzero(~np.isin(everything.test.source, cfg.data.context_sets))), toxic),
        "model": manifest.version,
    }
