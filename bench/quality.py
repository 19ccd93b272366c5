"""Model quality on the profile's test split, per set, next to the build's own figures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import REPO
from handlers.inference.artifact import MODEL_FILE, TOKENIZER_FILE, Manifest


def bench_quality(model_dir: Path) -> dict:
    """Davidson's hate class, the hardest target: the built model against a word + character TF-IDF
    logistic regression (the dataset paper's kind of model) fit on the same Davidson training split
    and scored on the same test split, so the model's figure has a bar measured on this very split."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from tokenizers import Tokenizer

    from model_build.config import load_config
    from model_build.data import LabeledSet, load_splits
    from model_build.evaluate import davidson_classes, onnx_probabilities

    manifest = Manifest.read(model_dir)
    cfg = load_config(REPO / "model_build" / "configs" / f"{manifest.config}.toml")
    # Splits are drawn per set before any mixing: the same test rows the build scored, and every
    # Davidson training row rather than the build's subsample (the baseline's best case).
    splits = load_splits(replace(cfg.data, train_rows=0, noise_rate=0.0, frame_rate=0.0))

    def davidson(part: LabeledSet) -> tuple[list[str], np.ndarray]:
        rows = np.flatnonzero(part.davidson_class >= 0)
        return [part.texts[i] for i in rows], part.davidson_class[rows]

    train_texts, train_classes = davidson(splits.train)
    test_texts, test_classes = davidson(splits.test)
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    features = hstack([words.fit_transform(train_texts), chars.fit_transform(train_texts)]).tocsr()
    test_features = hstack([words.transform(test_texts), chars.transform(test_texts)]).tocsr()
    baseline = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(features, train_classes)
    per_class = f1_score(test_classes, baseline.predict(test_features), labels=[0, 1, 2], average=None)
    test = manifest.metrics["test"]

    # The shipped model on the same rows, as served (batch 1, its tokenizer and thresholds), and how
    # far its hate-class F1 moves when the 143-odd hate tweets are resampled.
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tokenizer.enable_truncation(manifest.max_length)
    ids = [e.ids for e in tokenizer.encode_batch(test_texts)]
    predicted = davidson_classes(onnx_probabilities(model_dir / MODEL_FILE, ids), manifest.labels,
                                 manifest.thresholds)
    rng = np.random.default_rng(0)
    resampled = [f1_score(test_classes[i] == 0, predicted[i] == 0)
                 for i in (rng.integers(0, len(test_classes), len(test_classes)) for _ in range(1000))]
    return {
        "davidson_test_rows": len(test_classes), "hate_rows": int((test_classes == 0).sum()),
        "student_hate_f1_served": round(float(f1_score(test_classes == 0, predicted == 0)), 4),
        "student_hate_f1_bootstrap_95": [round(float(q), 4) for q in np.percentile(resampled, [2.5, 97.5])],
        "hate_f1": {"tfidf_logistic_regression": round(float(per_class[0]), 4),
                    "teacher": round(test["teacher"]["davidson_3class"]["hate_f1"], 4),
                    "student_int8": round(test["int8"]["davidson_3class"]["hate_f1"], 4)},
        "macro_f1": {"tfidf_logistic_regression": round(float(per_class.mean()), 4),
                     "teacher": round(test["teacher"]["davidson_3class"]["macro_f1"], 4),
                     "student_int8": round(test["int8"]["davidson_3class"]["macro_f1"], 4)},
        "model": manifest.version,
    }
