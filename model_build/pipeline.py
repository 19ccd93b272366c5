"""The build: data -> teacher -> student (distilled) -> ONNX int8 (`train`) -> metrics (`measure`) ->
gate -> package -> publish (`build`)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from transformers import PreTrainedTokenizerBase

from handlers.inference.artifact import Manifest
from model_build import functional, package, publish, report
from model_build.config import BuildConfig
from model_build.data import LabeledSet, Splits, formatting_shortcuts, load_splits
from model_build.evaluate import (
    apply_gate,
    classification_metrics,
    flagged_shares,
    latency_samples_ms,
    onnx_feed,
    onnx_probabilities,
    onnx_session,
    tune_thresholds,
)
from model_build.export import ExportedModels, export_all
from model_build.metrics import Latency, Metrics, Quantization, Sizes
from model_build.student import build_student, distil, distillation_set
from model_build.teacher import Teacher, prepare_teacher
from model_build.training import Encoded, predict_logits, sigmoid

log = logging.getLogger(__name__)

WORK_DIR = "work"  # under the build's folder: the exported graphs and the PyTorch student (export.STUDENT_DIR)


def recipe_digest(cfg: BuildConfig, data_hash: str) -> str:
    """What determines the model: the data, teacher, student and export settings and the source files
    (not where things are cached or published). The end of a build's version; a later measurement
    of a built model (`distillation`) checks it against its own config."""
    recipe = {part: asdict(getattr(cfg, part)) for part in ("data", "teacher", "student", "export")}
    return hashlib.sha256(json.dumps([recipe, data_hash], sort_keys=True, default=str).encode()).hexdigest()[:8]


def _size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def _torch_size_mb(model: torch.nn.Module) -> float:
    return sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6


def latency_input(tokenizer, test: LabeledSet, tokens: int) -> list[int]:
    """Real message tokens cut to exactly `tokens` ids (26: Davidson's median)."""
    for text in test.texts:
        ids = tokenizer(text, truncation=True, max_length=tokens)["input_ids"]
        if len(ids) == tokens:
            return ids
    raise ValueError(f"no test message has {tokens} tokens")


def _torch_latency(model, ids: list[int]) -> np.ndarray:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    feed = {k: torch.from_numpy(v) for k, v in onnx_feed(ids).items()}
    try:
        with torch.inference_mode():
            return latency_samples_ms(lambda: model(**feed), repeats=100, warmup=10)
    finally:
        torch.set_num_threads(threads)


class StepTimer:
    """Seconds per build step, for the report (`with steps("teacher"): ...`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        log.info("step: %s", name)
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 1)


@dataclass
class Trained:
    """What training leaves for measuring: the data, both models, and the exported graphs."""

    splits: Splits
    suite: list[functional.Case]
    teacher: Teacher
    validation_logits: np.ndarray  # the teacher's, cached
    student: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    student_info: dict
    losses: list[float]
    exported: ExportedModels


@dataclass
class Measured:
    metrics: Metrics
    thresholds: dict[str, float]  # shipped: tuned on the int8 model's validation scores
    probabilities: dict[str, np.ndarray]  # test split, per model, for the report's curves
    int8_ms: np.ndarray
    teacher_ms: np.ndarray


def train(cfg: BuildConfig, work: Path, steps: StepTimer) -> Trained:
    with steps("data"):
        splits = load_splits(cfg.data)
        suite = functional.load_cases()
    with steps("teacher"):
        teacher = prepare_teacher(cfg, splits.train, splits.data_hash)
        distilled_rows, distilled_logits = distillation_set(cfg, teacher, splits.train)
        validation_logits = teacher.cached_logits(splits.validation, "validation")
    with steps("student"):
        student, tokenizer, student_info = build_student(cfg, teacher, splits.validation, validation_logits)
        student_info["transfer_rows"] = len(distilled_rows) - len(splits.train)
        student_info["soup"] = cfg.student.soup  # students averaged into this one
        losses = distil(cfg, student, tokenizer, distilled_rows, distilled_logits)
    with steps("export"):
        exported = export_all(student, tokenizer, work, cfg.export, cfg.student.train.max_length)
    return Trained(splits, suite, teacher, validation_logits, student, tokenizer, student_info, losses, exported)


def measure(cfg: BuildConfig, trained: Trained, steps: StepTimer) -> Measured:
    """Quality (test, validation, functional suite), int8 fidelity, latency and size: the metrics."""
    labels, splits, exported, suite = cfg.data.labels, trained.splits, trained.exported, trained.suite
    benign = cfg.data.context_sets
    max_length, pad = cfg.student.train.max_length, trained.tokenizer.pad_token_id
    with steps("evaluate"):
        test_encoded = Encoded.of(trained.tokenizer, splits.test.texts, max_length)
        validation_encoded = Encoded.of(trained.tokenizer, splits.validation.texts, max_length)
        suite_encoded = Encoded.of(trained.tokenizer, [c.text for c in suite], max_length)
        test_student = sigmoid(predict_logits(trained.student, test_encoded, pad))
        test_teacher = sigmoid(trained.teacher.cached_logits(splits.test, "test"))
        fp32_test = onnx_probabilities(exported.fp32, test_encoded.ids)
        int8_test = onnx_probabilities(exported.int8, test_encoded.ids)
        int8_validation = onnx_probabilities(exported.int8, validation_encoded.ids)
        thresholds = tune_thresholds(int8_validation, splits.validation.hard, labels, splits.validation.source)
        teacher_thresholds = tune_thresholds(sigmoid(trained.validation_logits), splits.validation.hard, labels,
                                             splits.validation.source)

        ids = latency_input(trained.tokenizer, splits.test, cfg.gate.latency_tokens)
        int8_session, fp32_session = onnx_session(exported.int8), onnx_session(exported.fp32)
        int8_ms = latency_samples_ms(lambda: int8_session.run(None, onnx_feed(ids)))
        fp32_ms = latency_samples_ms(lambda: fp32_session.run(None, onnx_feed(ids)))
        teacher_ms = _torch_latency(trained.teacher.model, ids)
        student_ms = _torch_latency(trained.student, ids)
        latency = Latency(
            tokens=cfg.gate.latency_tokens, threads=1,
            int8_p50_ms=float(np.median(int8_ms)), int8_p99_ms=float(np.percentile(int8_ms, 99)),
            fp32_onnx_p50_ms=float(np.median(fp32_ms)), student_torch_p50_ms=float(np.median(student_ms)),
            teacher_torch_p50_ms=float(np.median(teacher_ms)),
            speedup_vs_teacher=float(np.median(teacher_ms) / np.median(int8_ms)),
        )
        metrics = Metrics(
            parity={"max_abs_diff": float(np.abs(fp32_test - test_student).max())},
            int8_vs_fp32=_quantization(fp32_test, int8_test, splits.test.hard, labels, thresholds),
            test={"int8": classification_metrics(int8_test, splits.test, labels, thresholds, benign),
                  "teacher": classification_metrics(test_teacher, splits.test, labels, teacher_thresholds, benign)},
            validation={"int8": classification_metrics(int8_validation, splits.validation, labels, thresholds,
                                                       benign)},
            latency=latency,
            size_mb=Sizes(teacher_torch=_torch_size_mb(trained.teacher.model),
                          student_torch=_torch_size_mb(trained.student), fp32_onnx=_size_mb(exported.fp32),
                          optimized_onnx=_size_mb(exported.optimized), int8=_size_mb(exported.int8)),
            student=trained.student_info,
            final_train_loss=float(np.mean(trained.losses[-50:])),
            functional={"int8": functional.evaluate(onnx_probabilities(exported.int8, suite_encoded.ids), labels,
                                                    thresholds, suite),
                        "teacher": functional.evaluate(sigmoid(trained.teacher.logits([c.text for c in suite])),
                                                       labels, teacher_thresholds, suite)},
            # Measured on held-out rows: the training rows carry noise.
            data={"formatting_shortcut_auc": formatting_shortcuts(
                LabeledSet.concat([splits.validation, splits.test]))},
            benign_flagged=flagged_shares(int8_test, splits.test, labels, thresholds, benign),
        )
    return Measured(metrics, thresholds, {"teacher": test_teacher, "student int8": int8_test}, int8_ms, teacher_ms)


def _quantization(fp32: np.ndarray, int8: np.ndarray, hard: np.ndarray, labels: tuple[str, ...],
                  thresholds: dict[str, float]) -> Quantization:
    # Same (shipped) thresholds on both sides: the disagreement is quantization's alone.
    agreement = float(np.mean([((fp32[:, j] >= thresholds[label]) == (int8[:, j] >= thresholds[label])).mean()
                               for j, label in enumerate(labels)]))
    auc_drop = {}
    for j, label in enumerate(labels):
        known = ~np.isnan(hard[:, j])
        y = hard[known, j]
        if 0 < y.sum() < len(y):
            auc_drop[label] = float(roc_auc_score(y, fp32[known, j]) - roc_auc_score(y, int8[known, j]))
    return Quantization(agreement=agreement, auc_drop=auc_drop)


def build(cfg: BuildConfig, out: Path) -> Manifest:
    """Trains, measures, gates, packages and (in the cloud) publishes one model; returns its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in report.MEASURED_APART:  # an earlier recipe's
        (out / stale).unlink(missing_ok=True)
    work = out / WORK_DIR
    work.mkdir(exist_ok=True)
    steps = StepTimer()
    trained = train(cfg, work, steps)
    measured = measure(cfg, trained, steps)
    gate = apply_gate(cfg.gate, measured.metrics)

    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + recipe_digest(cfg, trained.splits.data_hash)
    manifest = Manifest(
        version=version,
        labels=tuple(cfg.data.labels),
        thresholds=measured.thresholds,
        max_length=cfg.student.train.max_length,
        source_data_sha256=trained.splits.data_hash,
        config=cfg.name,
        metrics=dict(measured.metrics),
        gate=[{"check": n, "detail": d, "passed": p} for n, d, p in gate.checks],
        step_seconds=steps.seconds,
    )
    package.write(out, trained.exported, manifest)
    report.write(out, manifest, trained.splits.test, measured.probabilities, measured.int8_ms, measured.teacher_ms)
    package.archive(out)
    gate.raise_if_failed()  # after writing: a failed build still leaves its report to read
    publish.publish(cfg.publish, out, version, measured.metrics)
    return manifest
