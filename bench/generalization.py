"""Generalization: the functional suite through the served model, and LODO next to a TF-IDF bar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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


def bench_generalization(model_dir: Path) -> dict:
    """Cross-domain quality as served: the functional suite through the inference server's own model
    class (its tokenizer.json, thresholds and windows), and, per held-out domain, a word + character
    TF-IDF logistic regression trained on the other domains' mix, beside the model's LODO table."""
    from sklearn.metrics import roc_auc_score

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
    for held_out in [s.name for s in cfg.data.sets]:
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
        "model": manifest.version,
    }
