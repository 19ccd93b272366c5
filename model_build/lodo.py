"""Leave one domain out: how the recipe generalizes to a domain it never saw.

For each dataset in the config (or those named), a student of the configured shape
(`student.untrained_student`: the configured layers of the un-fine-tuned teacher, else as many spread
from first to last, and the same pruned FFN) is trained on the
labels of the other datasets, mixed by their weights exactly as the build mixes them, on the build's
schedule (`student.soup` members averaged where the profile averages them), and scored on
the held-out set's test split. The build's own teacher is not used: it has seen every domain.

    python -m model_build lodo --config model_build/configs/quick.toml --out build/model

With `--out` a built model's folder, the table also goes into that model's report.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from model_build.config import BuildConfig, ConfigError, DataConfig
from model_build.data import LabeledSet, load_splits
from model_build.report import CAPACITY_TABLE, LODO_RESULTS, LODO_TABLE, refresh_measured_sections
from model_build.student import untrained_student
from model_build.training import Encoded, masked_bce, predict_logits, sigmoid, train_soup

log = logging.getLogger(__name__)


def _auc(test: LabeledSet, probabilities: np.ndarray, j: int) -> float | None:
    known = ~np.isnan(test.hard[:, j])
    y = test.hard[known, j]
    if not known.any() or y.min() == y.max():
        return None  # one class only (edos annotated sexist posts alone): no ranking to measure
    return float(roc_auc_score(y, probabilities[known, j]))


def without(data: DataConfig, held_out: str) -> DataConfig:
    """The profile's data with one set left out: the other domains, mixed by their weights."""
    return replace(data, sets=tuple(s for s in data.sets if s.name != held_out))


def leave_one_domain_out(cfg: BuildConfig, out: Path, held_out: tuple[str, ...] = ()) -> dict[str, dict]:
    names = [s.name for s in cfg.data.sets if not s.context]  # a benign context set has nothing to rank
    unknown = sorted(set(held_out) - set(names))
    if unknown:
        raise ConfigError(f"lodo: no labelled data set named {unknown} in the profile (it has {names})")
    everything = load_splits(cfg.data)
    scfg = cfg.student
    weights = torch.tensor(cfg.data.positive_weights())
    results: dict[str, dict] = {}
    for name in held_out or names:
        train_set = load_splits(without(cfg.data, name)).train  # the build's own mix of the other domains
        model, tokenizer = untrained_student(cfg, train_set.texts)
        encoded = Encoded.of(tokenizer, train_set.texts, scfg.train.max_length)
        targets = torch.from_numpy(train_set.soft)
        train_soup(model, encoded, lambda logits, index, t=targets: masked_bce(logits, t[index], weights),
                   scfg.train, tokenizer.pad_token_id, cfg.data.seed, f"without {name}", scfg.soup)
        test = everything.test.take(np.flatnonzero(everything.test.source == name))
        p = sigmoid(predict_logits(model, Encoded.of(tokenizer, test.texts, scfg.train.max_length),
                                   tokenizer.pad_token_id))
        results[name] = {f"{label}_roc_auc": _auc(test, p, j) for j, label in enumerate(cfg.data.labels)}
        results[name] |= {"train_rows": len(train_set), "test_rows": len(test)}
        log.info("held out %s: %s", name, results[name])
    out.mkdir(parents=True, exist_ok=True)
    (out / LODO_RESULTS).write_text(json.dumps({"config": cfg.name, "results": results}, indent=2))
    header = " | ".join(f"{label} ROC-AUC" for label in cfg.data.labels)
    lines = [f"| held-out domain | training rows (the other domains) | {header} |",
             "|---|---|" + "---|" * len(cfg.data.labels)]
    for name, r in results.items():
        cells = " | ".join("n/a" if r[f"{label}_roc_auc"] is None else f"{r[f'{label}_roc_auc']:.4f}"
                           for label in cfg.data.labels)
        lines.append(f"| {name} | {r['train_rows']} | {cells} |")
    (out / LODO_TABLE).write_text("\n".join(lines) + "\n")
    refresh_measured_sections(out)  # `--out` a built model's folder: its report gets the table
    return results


def capacity_trade(cfg: BuildConfig, out: Path, layer_counts: tuple[int, ...], held_out: tuple[str, ...] = ()) -> str:
    """Layers x LODO quality x int8 p50 x size, one row per student depth: what more layers buy.

    Each row runs the leave-one-domain-out trainings for that depth (on the named held-out sets, or
    all) and exports the same shape to int8 ONNX for its latency and size. The table goes into
    `out/capacity.md` and, for a built model's folder, its report.
    """
    from model_build.evaluate import latency_samples_ms, onnx_feed, onnx_session
    from model_build.export import export_all
    from model_build.pipeline import latency_input

    validation = load_splits(cfg.data).validation
    ids: list[int] = []
    rows = []
    for count in layer_counts:
        shaped = replace(cfg, student=replace(cfg.student, num_layers=count, layers=()))
        results = leave_one_domain_out(shaped, out / f"capacity-{count}-layers", held_out)
        toxic = [r["toxic_roc_auc"] for r in results.values() if r["toxic_roc_auc"] is not None]
        hate = [r["hate_roc_auc"] for r in results.values() if r["hate_roc_auc"] is not None]
        student, tokenizer = untrained_student(shaped, validation.texts)
        ids = ids or latency_input(tokenizer, validation, cfg.gate.latency_tokens)
        exported = export_all(student, tokenizer, _fresh(out / f"capacity-{count}-layers" / "export"), cfg.export,
                              cfg.student.train.max_length)
        session, feed = onnx_session(exported.int8), onnx_feed(ids)
        p50 = float(np.median(latency_samples_ms(lambda s=session, f=feed: s.run(None, f))))
        size_mb = exported.int8.stat().st_size / 1e6
        rows.append(f"| {count} | {_mean_and_min(toxic)} | {_mean_and_min(hate)} | {p50:.2f} | {size_mb:.1f} |")
    table = "\n".join([f"Held out: {', '.join(held_out) or 'every set'}; p50 at {len(ids)} tokens, batch 1, 1 thread.",
                       "", "| student layers | LODO toxic ROC-AUC, mean | LODO hate ROC-AUC, mean | int8 p50 (ms) | "
                       "int8 size (MB) |", "|---|---|---|---|---|", *rows]) + "\n"
    (out / CAPACITY_TABLE).write_text(table)
    refresh_measured_sections(out)
    return table


def _mean_and_min(values: list[float]) -> str:
    return f"{np.mean(values):.4f} (min {min(values):.4f})" if values else "n/a"


def _fresh(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
