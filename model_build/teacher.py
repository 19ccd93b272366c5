"""The teacher: a local model, a model shipped in a Python package, or a hub id (cloud only).

A teacher that already classifies our labels is used as it is; otherwise it is fine-tuned on the
training mix. The fine-tuned teacher and its logits on the training rows are cached by a key of
everything that determines them, so a rerun (or a crashed build) resumes without retraining.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, PreTrainedModel, PreTrainedTokenizerBase

from model_build.config import BuildConfig
from model_build.data import LabeledSet
from model_build.normalize import load_tokenizer, rules_fingerprint
from model_build.training import Encoded, masked_bce, predict_logits, train

log = logging.getLogger(__name__)


def resolve_model_path(spec: str) -> str:
    """`package:<module>/<subdir>` -> that folder inside the installed package; paths and hub ids as given."""
    if spec.startswith("package:"):
        module, _, subdir = spec[len("package:") :].partition("/")
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise FileNotFoundError(f"teacher package {module!r} is not installed (pip install it, or give a path)")
        path = Path(next(iter(found.submodule_search_locations))) / subdir
        if not path.is_dir():
            raise FileNotFoundError(f"{spec}: no folder {path}")
        return str(path)
    return spec


def has_our_head(model_dir: str, labels: tuple[str, ...]) -> bool:
    config_file = Path(model_dir) / "config.json"
    if not config_file.is_file():
        return False
    config = json.loads(config_file.read_text())
    architectures = config.get("architectures") or []
    id2label = config.get("id2label") or {}
    return (any(a.endswith("ForSequenceClassification") for a in architectures)
            and config.get("problem_type") == "multi_label_classification"
            and [id2label.get(str(i)) for i in range(len(labels))] == list(labels))


def load_classifier(model_dir: str, labels: tuple[str, ...], seed: int = 0, **kwargs) -> PreTrainedModel:
    """The classifier at `model_dir`; a head it lacks starts from `seed`. Unseeded, two builds of one
    recipe trained different teachers: the functional suite moved by 5 points between head draws."""
    with torch.random.fork_rng(devices=[]):  # the caller's random stream is left where it was
        torch.manual_seed(seed)
        return AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="multi_label_classification",
            **kwargs,
        )


def training_rows_digest(data: LabeledSet) -> str:
    digest = hashlib.sha256("\x00".join(data.texts).encode())
    digest.update(np.nan_to_num(data.soft, nan=-1.0).tobytes())
    return digest.hexdigest()[:16]


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Teacher:
    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: Path, max_length: int):
        self.model, self.tokenizer, self.path, self.max_length = model, tokenizer, path, max_length

    def logits(self, texts: list[str], desc: str | None = None) -> np.ndarray:
        encoded = Encoded.of(self.tokenizer, texts, self.max_length)
        return predict_logits(self.model, encoded, self.tokenizer.pad_token_id, desc=desc)

    def cached_logits(self, data: LabeledSet, name: str) -> np.ndarray:
        """Teacher logits on `data`, computed once and kept beside the cached teacher."""
        digest = hashlib.sha256("\x00".join(data.texts).encode()).hexdigest()[:16]
        cache = self.path / f"logits-{name}-{digest}.npy"
        if cache.exists():
            log.info("teacher logits on %s: cached (%s)", name, cache.name)
            return np.load(cache)
        logits = self.logits(data.texts, desc=f"teacher logits ({name})")
        np.save(cache, logits)
        return logits


def prepare_teacher(cfg: BuildConfig, train_set: LabeledSet, data_hash: str) -> Teacher:
    labels = cfg.data.labels
    source = resolve_model_path(cfg.teacher.model)
    tcfg = cfg.teacher.train
    if has_our_head(source, labels):
        log.info("teacher %s already classifies %s: used as is", cfg.teacher.model, list(labels))
        model = load_classifier(source, labels)
        return Teacher(model, load_tokenizer(source), Path(source), tcfg.max_length)

    # What it trains on, as trained on: the rows after mixing, frames and noise (code that changes them,
    # frames.py or noise.py, changes the rows), not only the source files' hash.
    key = _key(cfg.teacher.model, asdict(tcfg), asdict(cfg.data), labels, data_hash, rules_fingerprint(),
               training_rows_digest(train_set))
    cached = Path(cfg.cache_dir) / f"teacher-{key}"
    if (cached / "config.json").is_file():
        log.info("teacher: reusing fine-tuned teacher %s", cached)
        model = load_classifier(str(cached), labels)
        return Teacher(model, load_tokenizer(str(cached)), cached, tcfg.max_length)

    log.info("teacher: fine-tuning %s on %d rows", cfg.teacher.model, len(train_set))
    tokenizer = load_tokenizer(source)
    model = load_classifier(source, labels, seed=cfg.data.seed)
    encoded = Encoded.of(tokenizer, train_set.texts, tcfg.max_length)
    targets = torch.from_numpy(train_set.soft)
    weights = torch.tensor(cfg.data.positive_weights())
    train(model, encoded, lambda logits, index: masked_bce(logits, targets[index], weights), tcfg,
          tokenizer.pad_token_id, cfg.data.seed, "fine-tune teacher")
    staging = cached.with_name(cached.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.rename(cached)  # only a complete teacher is ever found in the cache
    return Teacher(model, tokenizer, cached, tcfg.max_length)
