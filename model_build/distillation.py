"""Distillation vs labels only: what the teacher buys the student.

The same student (same layers, same FFN width, same steps) trained on the labels alone (alpha 0),
next to the build's distilled one, both in PyTorch fp32 with thresholds tuned on validation for each:

    python -m model_build distillation --config model_build/configs/quick.toml --out build/model

`--out` is a model built from the same recipe (its teacher comes from the build's cache); the table
goes into that model's report.md. It runs apart from the build, like LODO: one more student's
training would put the quick profile past its 10-minute budget.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from transformers import AutoModelForSequenceClassification, PreTrainedModel, PreTrainedTokenizerBase

from handlers.inference.artifact import Manifest
from model_build import functional
from model_build.config import BuildConfig, ConfigError
from model_build.data import LabeledSet, Splits, load_splits
from model_build.evaluate import classification_metrics, tune_thresholds
from model_build.export import STUDENT_DIR
from model_build.metrics import Distillation, DistillationSide
from model_build.pipeline import WORK_DIR, recipe_digest
from model_build.report import DISTILLATION_RESULTS, DISTILLATION_TABLE, distillation_rows, refresh_measured_sections
from model_build.student import build_student, distil, student_training_rows
from model_build.teacher import Teacher, prepare_teacher
from model_build.training import Encoded, predict_logits, sigmoid


def scored(cfg: BuildConfig, student: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, splits: Splits,
           suite: list[functional.Case]) -> DistillationSide:
    """Test metrics and the functional suite at thresholds tuned on this model's own validation scores."""
    def probabilities(texts: list[str]) -> np.ndarray:
        encoded = Encoded.of(tokenizer, texts, cfg.student.train.max_length)
        return sigmoid(predict_logits(student, encoded, tokenizer.pad_token_id))

    labels = cfg.data.labels
    validation: LabeledSet = splits.validation
    thresholds = tune_thresholds(probabilities(validation.texts), validation.hard, labels, validation.source)
    return {"test": classification_metrics(probabilities(splits.test.texts), splits.test, labels, thresholds),
            "functional": functional.evaluate(probabilities([c.text for c in suite]), labels, thresholds, suite)}


def compare_with_labels_only(cfg: BuildConfig, out: Path) -> Distillation:
    """Trains the labels-only twin of the student built in `out`, scores both, and writes the table."""
    try:
        manifest = Manifest.read(out)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"distillation: {out} holds no built model ({exc}); build it first") from None
    splits = load_splits(cfg.data)
    if not manifest.version.endswith(recipe_digest(cfg, splits.data_hash)):
        raise ConfigError(f"distillation: the model in {out} ({manifest.config}, {manifest.version}) was built from "
                          f"another recipe than {cfg.name!r} with these settings; rebuild it or pass its config")
    suite = functional.load_cases()
    teacher = prepare_teacher(cfg, splits.train, splits.data_hash)  # the build's, from the cache
    # The build's student shares its teacher's tokenizer (student.build_student).
    distilled = AutoModelForSequenceClassification.from_pretrained(out / WORK_DIR / STUDENT_DIR)
    comparison: Distillation = {"distilled": scored(cfg, distilled, teacher.tokenizer, splits, suite),
                                "labels_only": scored(cfg, *_labels_only_student(cfg, teacher, splits), splits, suite)}
    (out / DISTILLATION_RESULTS).write_text(json.dumps({"config": cfg.name, "version": manifest.version,
                                                        **comparison}, indent=2))
    (out / DISTILLATION_TABLE).write_text("\n".join(distillation_rows(comparison, list(cfg.data.labels))) + "\n")
    refresh_measured_sections(out)
    return comparison


def _labels_only_student(cfg: BuildConfig, teacher: Teacher,
                         splits: Splits) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    # Shaped exactly as the build shapes its student (layers chosen against the teacher, the FFN pruned
    # where the profile prunes it), then trained on the same rows and steps with the teacher's term
    # weighted 0: unlabelled transfer rows teach it nothing, and each labelled row is seen as often.
    student, tokenizer, _ = build_student(cfg, teacher, splits.validation,
                                          teacher.cached_logits(splits.validation, "validation"))
    rows = student_training_rows(cfg, splits.train)  # no teacher logits: its term weighs 0
    distil(replace(cfg, student=replace(cfg.student, alpha=0.0)), student, tokenizer, rows,
           np.zeros((len(rows), len(cfg.data.labels)), dtype=np.float32))
    return student, tokenizer
