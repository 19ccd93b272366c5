"""Leave one domain out: how the recipe generalizes to a domain it never saw.

For each dataset in the config, a student of the configured shape (the same layers and pruned FFN,
taken from the un-fine-tuned teacher) is trained on the other datasets' training splits and scored
on the held-out set's test split. The build's own teacher is not used: it has seen every domain.

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
from transformers import AutoTokenizer

from model_build.config import BuildConfig
from model_build.data import LabeledSet, load_splits
from model_build.report import refresh_lodo_section
from model_build.student import prune_ffn, shrink
from model_build.teacher import load_classifier, resolve_model_path
from model_build.training import Encoded, masked_bce, predict_logits, sigmoid, train

log = logging.getLogger(__name__)


def leave_one_domain_out(cfg: BuildConfig, out: Path) -> dict[str, dict[str, float]]:
    splits = load_splits(replace(cfg.data, train_rows=0))
    source = resolve_model_path(cfg.teacher.model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    scfg = cfg.student
    toxic = cfg.data.labels.index("toxic")
    weights = torch.tensor(cfg.data.positive_weights())
    layers = scfg.layers or (0, load_classifier(source, cfg.data.labels).config.num_hidden_layers - 1)
    results: dict[str, dict[str, float]] = {}
    for held_out in [s.name for s in cfg.data.sets]:
        keep = splits.train.source != held_out
        train_set = splits.train.take(np.flatnonzero(keep))
        if cfg.data.train_rows and len(train_set) > cfg.data.train_rows:
            rng = np.random.default_rng(cfg.data.seed)
            train_set = train_set.take(rng.permutation(len(train_set))[: cfg.data.train_rows])
        model = shrink(load_classifier(source, cfg.data.labels), tuple(layers[: scfg.num_layers]))
        if scfg.intermediate_size:
            sample = Encoded.of(tokenizer, train_set.texts[:256], scfg.train.max_length)
            prune_ffn(model, scfg.intermediate_size, sample.batch(np.arange(len(sample.ids)), tokenizer.pad_token_id))
        encoded = Encoded.of(tokenizer, train_set.texts, scfg.train.max_length)
        targets = torch.from_numpy(train_set.soft)
        train(model, encoded, lambda logits, index, t=targets: masked_bce(logits, t[index], weights), scfg.train,
              tokenizer.pad_token_id, cfg.data.seed, f"without {held_out}")
        test: LabeledSet = splits.test.take(np.flatnonzero(splits.test.source == held_out))
        p = sigmoid(predict_logits(model, Encoded.of(tokenizer, test.texts, scfg.train.max_length),
                                   tokenizer.pad_token_id))
        known = ~np.isnan(test.hard[:, toxic])
        results[held_out] = {"toxic_roc_auc": float(roc_auc_score(test.hard[known, toxic], p[known, toxic])),
                             "train_rows": len(train_set), "test_rows": int(known.sum())}
        log.info("held out %s: toxic ROC-AUC %.4f", held_out, results[held_out]["toxic_roc_auc"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "lodo.json").write_text(json.dumps({"config": cfg.name, "results": results}, indent=2))
    lines = ["| held-out domain | trained on | toxic ROC-AUC |", "|---|---|---|"]
    for name, r in results.items():
        others = ", ".join(s.name for s in cfg.data.sets if s.name != name)
        lines.append(f"| {name} | {others} ({r['train_rows']} rows) | {r['toxic_roc_auc']:.4f} |")
    (out / "lodo.md").write_text("\n".join(lines) + "\n")
    refresh_lodo_section(out)  # `--out` a built model's folder: its report gets the table
    return results
