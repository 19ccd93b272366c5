"""Metrics, per-label thresholds, latency, and the gate that fails a build that misses its targets."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

from handlers.inference.artifact import INPUT_NAMES, OUTPUT_NAME
from model_build.config import GateConfig
from model_build.data import LabeledSet
from model_build.metrics import Metrics

THRESHOLD_STEP = 0.01
THRESHOLD_GRID = np.round(np.arange(0.02, 0.98 + THRESHOLD_STEP / 2, THRESHOLD_STEP), 2)
SMOOTHING = 0.05  # half-width of the window F1 is averaged over when tuning thresholds


class GateError(RuntimeError):
    """The built model missed a configured gate; the message lists every miss."""


def tune_thresholds(probabilities: np.ndarray, hard: np.ndarray, labels: tuple[str, ...],
                    domains: np.ndarray | None = None) -> dict[str, float]:
    """Per label, the threshold maximising F1 on the known rows, smoothed (0.5 when a label has no positives).

    With `domains` (the rows' source set), every domain weighs the same in that F1, whatever its row
    count: a threshold tuned on the pooled rows would serve the largest set and no one else.

    F1 is flat near its best (within 0.01 of it from 0.51 to 0.79 for the full model's `hate`), so its
    raw argmax lands anywhere on that plateau: 0.70 on the build's int8 scores, 0.63 on the server's list
    scores (padded batches, long messages windowed), 0.72 with noise of 0.003 added. The threshold is the best
    of F1 averaged over +-`SMOOTHING` around each point of a fixed grid: the middle of the broad optimum,
    not a spike.
    """
    thresholds = {}
    for j, label in enumerate(labels):
        known = ~np.isnan(hard[:, j])
        y, p = hard[known, j].astype(int), probabilities[known, j]
        if y.sum() == 0 or y.sum() == len(y):
            thresholds[label] = 0.5
            continue
        weight = None
        if domains is not None:
            _, index, counts = np.unique(domains[known], return_inverse=True, return_counts=True)
            weight = 1.0 / counts[index]
        # Inside the scores' 1st to 99th percentile: flagging (almost) every row is no operating point, and its
        # flat F1 would win the smoothing where positives are common.
        low, high = np.quantile(p, [0.01, 0.99])
        grid = THRESHOLD_GRID[np.searchsorted(THRESHOLD_GRID, low):np.searchsorted(THRESHOLD_GRID, high, 'right')]
        if len(grid) == 0:
            grid = np.array([float(np.median(p))])
        f1s = np.array([f1_score(y, p >= t, zero_division=0, sample_weight=weight) for t in grid])
        width = round(SMOOTHING / THRESHOLD_STEP)
        smoothed = np.convolve(np.pad(f1s, width, mode="edge"), np.full(2 * width + 1, 1 / (2 * width + 1)), "valid")
        thresholds[label] = float(grid[int(np.argmax(smoothed))])
    return thresholds


def davidson_classes(probabilities: np.ndarray, labels: tuple[str, ...], thresholds: dict[str, float]) -> np.ndarray:
    """Davidson's 3 classes from the two sigmoids: hate if hate fires, else offensive if toxic fires."""
    toxic = probabilities[:, labels.index("toxic")] >= thresholds["toxic"]
    hate = probabilities[:, labels.index("hate")] >= thresholds["hate"]
    return np.where(hate, 0, np.where(toxic, 1, 2))


def classification_metrics(probabilities: np.ndarray, data: LabeledSet, labels: tuple[str, ...],
                           thresholds: dict[str, float], benign_sets: Collection[str] = ()) -> dict:
    """ROC-AUC and F1 per label, per source set and overall; Davidson's 3-class macro-F1. Rows of
    `benign_sets` (no positives: easy negatives that would lift every pooled figure) stay out of "all"."""
    out: dict = {}
    groups = {"all": ~np.isin(data.source, list(benign_sets))}
    groups.update({str(s): data.source == s for s in sorted(set(data.source))})
    for group, rows in groups.items():
        per_label = {}
        for j, label in enumerate(labels):
            known = rows & ~np.isnan(data.hard[:, j])
            y, p = data.hard[known, j].astype(int), probabilities[known, j]
            if known.sum() == 0 or y.min() == y.max():
                continue
            per_label[label] = {
                "roc_auc": float(roc_auc_score(y, p)),
                "f1": float(f1_score(y, p >= thresholds[label], zero_division=0)),
                "positives": int(y.sum()),
                "rows": int(known.sum()),
            }
        out[group] = per_label
    in_davidson = data.davidson_class >= 0
    if in_davidson.any() and {"toxic", "hate"} <= set(labels):
        truth = data.davidson_class[in_davidson]
        predicted = davidson_classes(probabilities[in_davidson], labels, thresholds)
        per_class = f1_score(truth, predicted, labels=[0, 1, 2], average=None, zero_division=0)
        out["davidson_3class"] = {"macro_f1": float(per_class.mean()), "hate_f1": float(per_class[0]),
                                  "offensive_f1": float(per_class[1]), "neither_f1": float(per_class[2])}
    return out


def flagged_shares(probabilities: np.ndarray, data: LabeledSet, labels: tuple[str, ...],
                   thresholds: dict[str, float], sets: Collection[str]) -> dict[str, dict[str, float]]:
    """Per set of `sets`, the share of its rows each label flags at `thresholds`: how often benign
    text would be called out."""
    return {name: {label: float(np.mean(probabilities[data.source == name, j] >= thresholds[label]))
                   for j, label in enumerate(labels)}
            for name in sets if (data.source == name).any()}


def onnx_session(path: Path, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_feed(ids: list[int]) -> dict[str, np.ndarray]:
    input_ids = np.asarray([ids], dtype=np.int64)
    return dict(zip(INPUT_NAMES, (input_ids, np.ones_like(input_ids), np.zeros_like(input_ids)), strict=True))


def onnx_probabilities(path: Path, encoded_ids: list[list[int]], threads: int = 2) -> np.ndarray:
    """Batch-1, unpadded inference over every row: exactly what the server does for one message."""
    session = onnx_session(path, threads)
    return np.concatenate([session.run([OUTPUT_NAME], onnx_feed(ids))[0] for ids in encoded_ids])


def latency_samples_ms(run, repeats: int = 300, warmup: int = 30) -> np.ndarray:
    for _ in range(warmup):
        run()
    samples = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        run()
        samples[i] = (time.perf_counter() - start) * 1e3
    return samples


@dataclass
class GateResult:
    failures: list[str] = field(default_factory=list)
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, detail, passed)

    def check(self, name: str, value: float, limit: float, at_most: bool) -> None:
        passed = value <= limit if at_most else value >= limit
        detail = f"{value:.4g} {'<=' if at_most else '>='} {limit:.4g}"
        self.checks.append((name, detail, passed))
        if not passed:
            self.failures.append(f"{name}: {value:.4g} (required {'<=' if at_most else '>='} {limit:.4g})")

    def raise_if_failed(self) -> None:
        if self.failures:
            raise GateError("model gate failed:\n  - " + "\n  - ".join(self.failures))


def apply_gate(cfg: GateConfig, metrics: Metrics) -> GateResult:
    gate = GateResult()
    gate.check("ONNX fp32 vs PyTorch max |diff|", metrics["parity"]["max_abs_diff"], cfg.max_parity_abs_diff, True)
    gate.check("int8 vs fp32 agreement", metrics["int8_vs_fp32"]["agreement"], cfg.min_int8_agreement, False)
    for label, drop in metrics["int8_vs_fp32"]["auc_drop"].items():
        gate.check(f"int8 AUC drop ({label})", drop, cfg.max_int8_auc_drop, True)
    for label, minimum in cfg.min_auc.items():
        auc = metrics["test"]["int8"]["all"].get(label, {}).get("roc_auc")
        if auc is None:
            gate.failures.append(f"test ROC-AUC ({label}): not measurable on the test split")
        else:
            gate.check(f"test ROC-AUC ({label})", auc, minimum, False)
    int8, teacher = metrics["test"]["int8"], metrics["test"]["teacher"]
    for label, limit in cfg.max_teacher_auc_gap.items():
        for group in sorted(set(int8) - {"all", "davidson_3class"}):
            student = int8[group].get(label, {})
            student_auc, teacher_auc = student.get("roc_auc"), teacher.get(group, {}).get(label, {}).get("roc_auc")
            if min(student.get("positives", 0), student.get("rows", 0) - student.get("positives", 0)) \
                    < cfg.teacher_gap_min_class_rows:
                continue
            if student_auc is not None and teacher_auc is not None:
                gate.check(f"teacher - student ROC-AUC ({label}, {group})", teacher_auc - student_auc, limit, True)
    if cfg.min_davidson_hate_f1:
        if "davidson_3class" in int8:
            gate.check("Davidson hate-class F1", int8["davidson_3class"]["hate_f1"], cfg.min_davidson_hate_f1, False)
        else:
            gate.failures.append("Davidson hate-class F1: no Davidson rows in the test split")
    functional = metrics.get("functional", {}).get("int8")
    if cfg.min_functional_pass_rate:
        gate.check("functional suite, overall pass rate", functional["overall"], cfg.min_functional_pass_rate, False)
    if cfg.min_functional_category_pass_rate:
        for name, category in sorted(functional["categories"].items()):
            gate.check(f"functional suite, {name}", category["pass_rate"], cfg.min_functional_category_pass_rate,
                       False)
    gate.check("p50 latency, batch 1 (ms)", metrics["latency"]["int8_p50_ms"], cfg.max_p50_latency_ms, True)
    gate.check("model size (MB)", metrics["size_mb"]["int8"], cfg.max_size_mb, True)
    return gate
