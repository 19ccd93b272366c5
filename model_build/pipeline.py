"""The build: data -> teacher -> student (distilled) -> ONNX int8 -> gate -> package -> publish."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from handlers.inference.artifact import Manifest
from model_build import functional, package, publish, report
from model_build.config import BuildConfig
from model_build.data import LabeledSet, Splits, formatting_shortcuts, load_splits
from model_build.evaluate import (
    apply_gate,
    classification_metrics,
    latency_samples_ms,
    onnx_feed,
    onnx_probabilities,
    onnx_session,
    tune_thresholds,
)
from model_build.export import export_all
from model_build.student import build_student, distil
from model_build.teacher import Teacher, prepare_teacher
from model_build.training import Encoded, predict_logits, sigmoid

log = logging.getLogger(__name__)


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


def labels_only_comparison(cfg: BuildConfig, teacher: Teacher, splits: Splits, validation_logits: np.ndarray,
                           suite: list[functional.Case], distilled: dict) -> dict:
    """The same student (same layers, same pruning, same steps) trained on the labels alone, next to
    the distilled one, both in PyTorch fp32 with thresholds tuned on validation: what distillation buys."""
    student, tokenizer, _ = build_student(cfg, teacher, splits.validation, validation_logits)
    distil(replace(cfg, student=replace(cfg.student, alpha=0.0)), student, tokenizer, splits.train,
           np.zeros((len(splits.train), len(cfg.data.labels)), dtype=np.float32))
    probabilities = {name: sigmoid(predict_logits(student, Encoded.of(tokenizer, texts, cfg.student.train.max_length),
                                                  tokenizer.pad_token_id))
                     for name, texts in (("validation", splits.validation.texts), ("test", splits.test.texts),
                                         ("suite", [c.text for c in suite]))}
    labels = cfg.data.labels
    thresholds = tune_thresholds(probabilities["validation"], splits.validation.hard, labels, splits.validation.source)
    labels_only = {"test": classification_metrics(probabilities["test"], splits.test, labels, thresholds),
                   "functional": functional.evaluate(probabilities["suite"], labels, thresholds, suite)}
    return {"distilled": distilled, "labels_only": labels_only}


def build(cfg: BuildConfig, out: Path) -> Manifest:
    out.mkdir(parents=True, exist_ok=True)
    for stale in (report.LODO_TABLE, report.LODO_RESULTS, report.CAPACITY_TABLE):  # an earlier recipe's
        (out / stale).unlink(missing_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    labels = cfg.data.labels
    timings: dict[str, float] = {}

    def step(name: str):
        log.info("step: %s", name)
        timings[name] = time.perf_counter()

    def done(name: str) -> None:
        timings[name] = round(time.perf_counter() - timings[name], 1)

    step("data")
    splits = load_splits(cfg.data)
    # Measured on held-out rows: the training rows carry noise.
    formatting = formatting_shortcuts(LabeledSet.concat([splits.validation, splits.test]))
    suite = functional.load_cases()
    done("data")

    step("teacher")
    teacher = prepare_teacher(cfg, splits.train, splits.data_hash)
    train_logits = teacher.cached_logits(splits.train, "train")
    validation_logits = teacher.cached_logits(splits.validation, "validation")
    test_teacher = sigmoid(teacher.cached_logits(splits.test, "test"))
    done("teacher")

    step("student")
    student, tokenizer, student_info = build_student(cfg, teacher, splits.validation, validation_logits)
    losses = distil(cfg, student, tokenizer, splits.train, train_logits)
    max_length = cfg.student.train.max_length
    pad = tokenizer.pad_token_id
    test_encoded = Encoded.of(tokenizer, splits.test.texts, max_length)
    validation_encoded = Encoded.of(tokenizer, splits.validation.texts, max_length)
    test_student = sigmoid(predict_logits(student, test_encoded, pad))
    suite_encoded = Encoded.of(tokenizer, [c.text for c in suite], max_length)
    done("student")

    step("export")
    exported = export_all(student, tokenizer, work, cfg.export, max_length)
    done("export")

    step("evaluate")
    fp32_test = onnx_probabilities(exported.fp32, test_encoded.ids)
    int8_test = onnx_probabilities(exported.int8, test_encoded.ids)
    int8_validation = onnx_probabilities(exported.int8, validation_encoded.ids)
    thresholds = tune_thresholds(int8_validation, splits.validation.hard, labels, splits.validation.source)
    # Same (shipped) thresholds on both sides: the disagreement is quantization's alone.
    agreement = float(np.mean([
        ((fp32_test[:, j] >= thresholds[label]) == (int8_test[:, j] >= thresholds[label])).mean()
        for j, label in enumerate(labels)
    ]))
    auc_drop = {}
    for j, label in enumerate(labels):
        known = ~np.isnan(splits.test.hard[:, j])
        y = splits.test.hard[known, j]
        if 0 < y.sum() < len(y):
            auc_drop[label] = float(roc_auc_score(y, fp32_test[known, j]) - roc_auc_score(y, int8_test[known, j]))

    ids = latency_input(tokenizer, splits.test, cfg.gate.latency_tokens)
    int8_session, fp32_session = onnx_session(exported.int8), onnx_session(exported.fp32)
    int8_ms = latency_samples_ms(lambda: int8_session.run(None, onnx_feed(ids)))
    fp32_ms = latency_samples_ms(lambda: fp32_session.run(None, onnx_feed(ids)))
    teacher_ms = _torch_latency(teacher.model, ids)
    student_ms = _torch_latency(student, ids)
    teacher_thresholds = tune_thresholds(sigmoid(validation_logits), splits.validation.hard, labels,
                                         splits.validation.source)
    suite_int8 = onnx_probabilities(exported.int8, suite_encoded.ids)
    suite_teacher = sigmoid(teacher.logits([c.text for c in suite]))
    metrics = {
        "parity": {"max_abs_diff": float(np.abs(fp32_test - test_student).max())},
        "int8_vs_fp32": {"agreement": agreement, "auc_drop": auc_drop},
        "test": {
            "int8": classification_metrics(int8_test, splits.test, labels, thresholds),
            "teacher": classification_metrics(test_teacher, splits.test, labels, teacher_thresholds),
        },
        # What recipe choices (mix weights, loss weights) are made on: every domain, never the test split.
        "validation": {"int8": classification_metrics(int8_validation, splits.validation, labels, thresholds)},
        "latency": {
            "tokens": cfg.gate.latency_tokens,
            "threads": 1,
            "int8_p50_ms": float(np.median(int8_ms)),
            "int8_p99_ms": float(np.percentile(int8_ms, 99)),
            "fp32_onnx_p50_ms": float(np.median(fp32_ms)),
            "student_torch_p50_ms": float(np.median(student_ms)),
            "teacher_torch_p50_ms": float(np.median(teacher_ms)),
        },
        "size_mb": {
            "teacher_torch": _torch_size_mb(teacher.model),
            "student_torch": _torch_size_mb(student),
            "fp32_onnx": _size_mb(exported.fp32),
            "optimized_onnx": _size_mb(exported.optimized),
            "int8": _size_mb(exported.int8),
        },
        "student": student_info,
        "final_train_loss": float(np.mean(losses[-50:])),
        "functional": {"int8": functional.evaluate(suite_int8, labels, thresholds, suite),
                       "teacher": functional.evaluate(suite_teacher, labels, teacher_thresholds, suite)},
        "data": {"formatting_shortcut_auc": formatting},
    }
    metrics["latency"]["speedup_vs_teacher"] = metrics["latency"]["teacher_torch_p50_ms"] / metrics["latency"][
        "int8_p50_ms"]
    gate = apply_gate(cfg.gate, metrics)
    done("evaluate")

    if cfg.student.compare_labels_only:
        step("labels-only student")
        student_thresholds = tune_thresholds(sigmoid(predict_logits(student, validation_encoded, pad)),
                                             splits.validation.hard, labels, splits.validation.source)
        distilled = {"test": classification_metrics(test_student, splits.test, labels, student_thresholds),
                     "functional": functional.evaluate(
                         sigmoid(predict_logits(student, suite_encoded, pad)), labels, student_thresholds, suite)}
        metrics["distillation"] = labels_only_comparison(cfg, teacher, splits, validation_logits, suite, distilled)
        done("labels-only student")

    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + hashlib.sha256(
        json.dumps([asdict(cfg), splits.data_hash], default=str).encode()).hexdigest()[:8]
    manifest = Manifest(
        version=version,
        labels=tuple(labels),
        thresholds=thresholds,
        max_length=max_length,
        source_data_sha256=splits.data_hash,
        config=cfg.name,
        metrics=metrics,
        gate=[{"check": n, "detail": d, "passed": p} for n, d, p in gate.checks],
        step_seconds=timings,
    )
    package.write(out, exported, manifest)
    report.write(out, manifest, splits.test, {"teacher": test_teacher, "student int8": int8_test}, int8_ms,
                 teacher_ms)
    package.archive(out)
    gate.raise_if_failed()  # after writing: a failed build still leaves its report to read
    publish.publish(cfg.publish, out, version, metrics)
    return manifest
