"""The human report: `report.md` with the gate, metrics per set, sizes and latencies, plus PNG plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CodeBuild and CI have no display
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_curve

from handlers.inference.artifact import Manifest
from model_build.data import LabeledSet
from model_build.metrics import Distillation, Metrics

TEMPLATE_MISS = 0.5  # a template passed for fewer groups than this is listed in the report


def _roc_plot(path: Path, test: LabeledSet, labels: list[str], probabilities: dict[str, np.ndarray]) -> None:
    sources = sorted(set(test.source))
    fig, axes = plt.subplots(len(labels), len(sources), figsize=(4 * len(sources), 3.6 * len(labels)), squeeze=False)
    for i, label in enumerate(labels):
        for k, source in enumerate(sources):
            ax = axes[i][k]
            rows = (test.source == source) & ~np.isnan(test.hard[:, i])
            y = test.hard[rows, i]
            ax.set_title(f"{label} on {source}", fontsize=10)
            if rows.sum() == 0 or y.min() == y.max():
                ax.text(0.5, 0.5, "not annotated", ha="center", va="center")
                ax.set_axis_off()
                continue
            for name, p in probabilities.items():
                fpr, tpr, _ = roc_curve(y, p[rows, i])
                ax.plot(fpr, tpr, label=name)
            ax.plot([0, 1], [0, 1], ":", color="grey")
            ax.set_xlabel("false positive rate")
            ax.set_ylabel("true positive rate")
            ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _latency_plot(path: Path, int8_ms: np.ndarray, teacher_ms: np.ndarray) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(int8_ms, bins=40, alpha=0.8, label=f"student int8 ONNX (p50 {np.median(int8_ms):.2f} ms)")
    ax.hist(teacher_ms, bins=40, alpha=0.8, label=f"teacher PyTorch fp32 (p50 {np.median(teacher_ms):.2f} ms)")
    ax.set_xscale("log")
    ax.set_xlabel("latency per message, batch 1, 1 thread (ms)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _steps_plot(path: Path, metrics: Metrics) -> None:
    sizes = metrics["size_mb"]
    lat = metrics["latency"]
    names = ["teacher\nPyTorch", "student\nPyTorch", "student\nONNX fp32", "student\nONNX int8"]
    size = [sizes["teacher_torch"], sizes["student_torch"], sizes["fp32_onnx"], sizes["int8"]]
    ms = [lat["teacher_torch_p50_ms"], lat["student_torch_p50_ms"], lat["fp32_onnx_p50_ms"], lat["int8_p50_ms"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.bar(names, size, color="tab:blue")
    a.set_ylabel("size (MB)")
    b.bar(names, ms, color="tab:orange")
    b.set_ylabel(f"p50 latency, {lat['tokens']} tokens (ms)")
    for ax, values in ((a, size), (b, ms)):
        for x, v in enumerate(values):
            ax.annotate(f"{v:.1f}", (x, v), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _metric_rows(metrics: Metrics, labels: list[str]) -> list[str]:
    rows = ["| set | label | teacher ROC-AUC | student int8 ROC-AUC | student F1 @ threshold | positives / rows |",
            "|---|---|---|---|---|---|"]
    int8, teacher = metrics["test"]["int8"], metrics["test"]["teacher"]
    for group in int8:
        if group == "davidson_3class":
            continue
        for label in labels:
            s = int8[group].get(label)
            if s is None:
                continue
            t = teacher.get(group, {}).get(label, {})
            rows.append(f"| {group} | {label} | {t.get('roc_auc', float('nan')):.4f} | {s['roc_auc']:.4f} | "
                        f"{s['f1']:.4f} | {s['positives']} / {s['rows']} |")
    return rows


def domain_mean_auc(per_group: dict, labels: list[str]) -> dict[str, float]:
    """Per label, the mean ROC-AUC over the sets that annotate it (every domain weighs the same)."""
    out = {}
    for label in labels:
        aucs = [m[label]["roc_auc"] for g, m in per_group.items() if g not in ("all", "davidson_3class") and label in m]
        if aucs:
            out[label] = float(np.mean(aucs))
    return out


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _functional_rows(functional: dict) -> list[str]:
    int8, teacher = functional["int8"], functional["teacher"]
    rows = [f"{int8['cases']} cases over {int8['groups']} target groups (`model_build/functional/cases.toml`); "
            f"a case passes when every label it judges is on the expected side of the shipped threshold.",
            "", "| category | hateful | cases | student int8 | teacher |", "|---|---|---|---|---|"]
    for name, category in int8["categories"].items():
        rows.append(f"| {name} | {'yes' if category['hateful'] else 'no'} | {category['cases']} | "
                    f"{category['pass_rate']:.1%} | {teacher['categories'][name]['pass_rate']:.1%} |")
    for side in ("hateful", "not_hateful", "overall"):
        rows.append(f"| **{side.replace('_', ' ')}** | | | **{int8[side]:.1%}** | {teacher[side]:.1%} |")
    if "hate_ranking" in int8:
        student_rank, teacher_rank = int8["hate_ranking"], teacher["hate_ranking"]
        rows += ["", "Threshold-free, the `hate` ROC-AUC of the hateful cases against all others: "
                 f"{_auc(student_rank['hateful_vs_other'])} (teacher {_auc(teacher_rank['hateful_vs_other'])}); "
                 f"against counter-speech and negated hate alone: {_auc(student_rank['hateful_vs_rejecting'])} "
                 f"(teacher {_auc(teacher_rank['hateful_vs_rejecting'])})."]
    groups = int8.get("target_groups", {})
    if groups:
        rows += ["", "Per target group (student int8): a high hateful and a low non-hateful pass rate mean the "
                 "group's name alone moves the score.", "", "| group | hateful cases | not hateful cases |",
                 "|---|---|---|"]
        rows += [f"| {group} | {_share(r['hateful'])} | {_share(r['not_hateful'])} |" for group, r in groups.items()]
    templates = {text: r for text, r in int8.get("templates", {}).items() if r["pass_rate"] < TEMPLATE_MISS}
    if templates:
        teacher_templates = teacher.get("templates", {})
        rows += ["", f"Templates the student passes for fewer than {TEMPLATE_MISS:.0%} of the groups: a way of saying "
                 "it that fails whoever it is about.", "", "| template | category | student int8 | teacher |",
                 "|---|---|---|---|"]
        rows += [f"| {text} | {r['category']} | {r['pass_rate']:.0%} | "
                 f"{_share(teacher_templates.get(text, {}).get('pass_rate'))} |" for text, r in templates.items()]
    return rows


def distillation_rows(comparison: Distillation, labels: list[str]) -> list[str]:
    rows = ["The same student (layers, pruning, steps) trained with the teacher (distilled) and on the labels "
            "alone; PyTorch fp32, thresholds tuned on validation for each.", "",
            "| set | label | distilled ROC-AUC | labels only ROC-AUC |", "|---|---|---|---|"]
    distilled, alone = comparison["distilled"]["test"], comparison["labels_only"]["test"]
    for group in distilled:
        for label in labels:
            if group != "davidson_3class" and label in distilled[group] and label in alone.get(group, {}):
                rows.append(f"| {group} | {label} | {distilled[group][label]['roc_auc']:.4f} | "
                            f"{alone[group][label]['roc_auc']:.4f} |")
    suite = comparison["distilled"]["functional"], comparison["labels_only"]["functional"]
    rows.append(f"| functional suite | pass rate | {suite[0]['overall']:.1%} | {suite[1]['overall']:.1%} |")
    rankings = (("hateful_vs_other", "hateful vs other"), ("hateful_vs_rejecting", "hateful vs rejecting"))
    if all("hate_ranking" in side for side in suite):
        for ranking, name in rankings:
            rows.append(f"| functional suite | hate ROC-AUC, {name} | {_auc(suite[0]['hate_ranking'][ranking])} | "
                        f"{_auc(suite[1]['hate_ranking'][ranking])} |")
    return rows


def write(out: Path, manifest: Manifest, test: LabeledSet, probabilities: dict[str, np.ndarray], int8_ms: np.ndarray,
          teacher_ms: np.ndarray) -> None:
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    labels = list(manifest.labels)
    metrics = manifest.metrics
    _roc_plot(plots / "roc.png", test, labels, probabilities)
    _latency_plot(plots / "latency.png", int8_ms, teacher_ms)
    _steps_plot(plots / "steps.png", metrics)
    lat, size = metrics["latency"], metrics["size_mb"]
    lines = [
        f"# Decorum model build {manifest.version}",
        "",
        f"Profile `{manifest.config}`; labels {labels}; thresholds "
        + ", ".join(f"{k} {v:.3f}" for k, v in manifest.thresholds.items())
        + f"; max length {manifest.max_length}; data sha256 `{manifest.source_data_sha256[:16]}`.",
        f"Student: {metrics['student']}.",
        "",
        "## Gate",
        "",
        "| check | value | passed |",
        "|---|---|---|",
        *[f"| {g['check']} | {g['detail']} | {'yes' if g['passed'] else '**NO**'} |" for g in manifest.gate],
        "",
        "## Test metrics (each set's own test split)",
        "",
        *_metric_rows(metrics, labels),
        "",
    ]
    d3 = metrics["test"]["int8"].get("davidson_3class")
    if d3:
        lines += [f"Davidson 3 classes (student int8): macro-F1 {d3['macro_f1']:.4f}, hate F1 {d3['hate_f1']:.4f}, "
                  f"offensive F1 {d3['offensive_f1']:.4f}, neither F1 {d3['neither_f1']:.4f}.", ""]
    lines += ["Mean over domains of the validation ROC-AUC (what recipe choices are made on): "
              + ", ".join(f"{label} {auc:.4f}" for label, auc in domain_mean_auc(metrics["validation"]["int8"],
                                                                                labels).items()) + ".", ""]
    for name, shares in metrics["benign_flagged"].items():
        lines += [f"Benign {name} test rows flagged (left out of `all`): "
                  + ", ".join(f"{label} {share:.1%}" for label, share in shares.items()) + ".", ""]
    lines += ["## Functional suite", "", *_functional_rows(metrics["functional"]), ""]
    formatting = metrics["data"]["formatting_shortcut_auc"]
    lines += ["## Formatting shortcuts", "",
              "ROC-AUC of a logistic regression that sees only casing, or casing and formatting (final "
              "punctuation, spaces before punctuation, quotes, markup, non-ASCII), for `toxic` on each set's "
              "held-out rows (3-fold): near 0.5, the class is not written differently. The model is uncased.", "",
              "| set | casing | formatting |", "|---|---|---|",
              *[f"| {name} | {a['casing']:.3f} | {a['formatting']:.3f} |" for name, a in formatting.items()], ""]
    lines += [
        "## Size and latency (batch 1, no padding, 1 intra-op thread)",
        "",
        "| model | size (MB) | p50 (ms) |",
        "|---|---|---|",
        f"| teacher, PyTorch fp32 | {size['teacher_torch']:.1f} | {lat['teacher_torch_p50_ms']:.2f} |",
        f"| student, PyTorch fp32 | {size['student_torch']:.1f} | {lat['student_torch_p50_ms']:.2f} |",
        f"| student, ONNX fp32 | {size['fp32_onnx']:.1f} | {lat['fp32_onnx_p50_ms']:.2f} |",
        f"| student, ONNX int8 (shipped) | {size['int8']:.1f} | {lat['int8_p50_ms']:.2f} "
        f"(p99 {lat['int8_p99_ms']:.2f}) |",
        "",
        f"int8 student vs teacher: {lat['speedup_vs_teacher']:.1f}x faster at {lat['tokens']} tokens. "
        f"int8 vs fp32 agreement {metrics['int8_vs_fp32']['agreement']:.4f}; "
        f"ONNX vs PyTorch max |diff| {metrics['parity']['max_abs_diff']:.2e}.",
        "",
        "Step times (s): " + ", ".join(f"{k} {v}" for k, v in manifest.step_seconds.items()),
        "",
        "![ROC curves](plots/roc.png)",
        "![latency](plots/latency.png)",
        "![size and latency per step](plots/steps.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))


# Measured apart from the build, into a built model's folder (`python -m model_build distillation | lodo |
# capacity`); the report embeds the tables, and a rebuild removes them (they describe an earlier recipe).
DISTILLATION_TABLE, DISTILLATION_RESULTS = "distillation.md", "distillation.json"
LODO_TABLE, LODO_RESULTS, CAPACITY_TABLE = "lodo.md", "lodo.json", "capacity.md"
MEASURED_APART = (DISTILLATION_TABLE, DISTILLATION_RESULTS, LODO_TABLE, LODO_RESULTS, CAPACITY_TABLE)
DISTILLATION_HEADING, LODO_HEADING = "## Distillation vs labels only", "## Leave one domain out"


def refresh_measured_sections(out: Path) -> None:
    """Puts the tables measured apart from the build (`out/distillation.md`, `out/lodo.md`,
    `out/capacity.md`, those present) at the end of `out/report.md`, replacing earlier ones."""
    report = out / "report.md"
    if not report.is_file():
        return
    text = report.read_text()
    cut = min((text.index(h) for h in (DISTILLATION_HEADING, LODO_HEADING) if h in text), default=len(text))
    sections = [text[:cut].rstrip("\n")]
    if (out / DISTILLATION_TABLE).is_file():
        sections.append(f"{DISTILLATION_HEADING}\n\n{(out / DISTILLATION_TABLE).read_text()}")
    lodo = ""
    if (out / LODO_TABLE).is_file():
        lodo += ("A student of this profile's shape trained on the other domains' labels (mixed by the "
                 "profile's weights), tested on the held-out domain's test split (n/a: the set annotates "
                 f"one class only for that label):\n\n{(out / LODO_TABLE).read_text()}")
    if (out / CAPACITY_TABLE).is_file():
        lodo += f"\n### Student depth: LODO quality, latency and size\n\n{(out / CAPACITY_TABLE).read_text()}"
    if lodo:
        sections.append(f"{LODO_HEADING}\n\n{lodo}")
    report.write_text("\n\n".join(sections))
