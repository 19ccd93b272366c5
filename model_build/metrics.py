"""The one shape of a build's metrics: what `pipeline.measure` produces, the gate checks, the report
prints, the registry entry quotes, and `decorum.json` carries (as `metrics`). JSON-ready dicts,
typed here so every reader sees the same keys."""

from __future__ import annotations

from typing import NotRequired, TypedDict

# Per group (a data set's name, or "all") and label: {"roc_auc", "f1", "positives", "rows", ...};
# "davidson_3class" holds Davidson's 3-class scores. Written by evaluate.classification_metrics.
ClassificationMetrics = dict[str, dict]
# {"overall": pass rate, "cases", "groups", "categories": {name: {"pass_rate", ...}},
#  "target_groups": {group: {"hateful", "not_hateful"}}, "templates": {template: {"category", "pass_rate"}}}:
#  functional.summarize.
SuiteMetrics = dict


class Parity(TypedDict):
    max_abs_diff: float  # ONNX fp32 vs the PyTorch student, over the test split's probabilities


class Quantization(TypedDict):
    agreement: float  # share of (row, label) verdicts int8 and fp32 agree on, at the shipped thresholds
    auc_drop: dict[str, float]  # fp32 minus int8 test ROC-AUC, per label


class ByModel(TypedDict):
    int8: ClassificationMetrics
    teacher: NotRequired[ClassificationMetrics]


class SuiteByModel(TypedDict):
    int8: SuiteMetrics
    teacher: SuiteMetrics


class Latency(TypedDict):
    tokens: int  # one message of this many tokens, batch 1
    threads: int
    int8_p50_ms: float
    int8_p99_ms: float
    fp32_onnx_p50_ms: float
    student_torch_p50_ms: float
    teacher_torch_p50_ms: float
    speedup_vs_teacher: float


class Sizes(TypedDict):
    teacher_torch: float
    student_torch: float
    fp32_onnx: float
    optimized_onnx: float
    int8: float


class DataAudit(TypedDict):
    formatting_shortcut_auc: dict[str, float]  # per set: how well casing/formatting alone predicts labels


class DistillationSide(TypedDict):
    test: ClassificationMetrics
    functional: SuiteMetrics


class Distillation(TypedDict):
    distilled: DistillationSide
    labels_only: DistillationSide


class Metrics(TypedDict):
    parity: Parity
    int8_vs_fp32: Quantization
    test: ByModel  # int8 and teacher, each at its own tuned thresholds
    validation: ByModel  # int8 only: what recipe choices are made on (never the test split)
    latency: Latency
    size_mb: Sizes
    student: dict  # the student's shape: layers kept, FFN width (student.build_student)
    final_train_loss: float
    functional: SuiteByModel
    data: DataAudit
    # Per benign set (`context = true`; no positives, so out of the pooled "all") and label: the share
    # of its test rows the int8 student flags at the shipped thresholds.
    benign_flagged: dict[str, dict[str, float]]
