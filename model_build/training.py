"""Shared PyTorch plumbing for the teacher and the student: tokenizing, batching, training, predicting.

CPU training time is dominated by padding, so batches are grouped by length (shuffled pools sorted
by length, then the batches shuffled): a 26-token tweet is never padded to a 300-token comment.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from model_build.config import TrainConfig

log = logging.getLogger(__name__)
torch.set_num_threads(os.cpu_count() or 1)


@dataclass
class Encoded:
    """Token ids per row (unpadded), truncated at max_length."""

    ids: list[list[int]]

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int) -> Encoded:
        out = tokenizer(texts, truncation=True, max_length=max_length, add_special_tokens=True)
        return cls(out["input_ids"])

    def batch(self, index: np.ndarray, pad_id: int) -> dict[str, torch.Tensor]:
        rows = [self.ids[i] for i in index]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def length_grouped_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def masked_bce(logits: torch.Tensor, targets: torch.Tensor,
               positive_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy over the known (non-NaN) targets only; `positive_weight`: one per label."""
    known = ~torch.isnan(targets)
    if not known.any():
        return logits.sum() * 0.0
    weight = None if positive_weight is None else positive_weight.expand_as(logits)[known]
    return F.binary_cross_entropy_with_logits(logits[known], targets[known], pos_weight=weight)


def train(
    model: PreTrainedModel,
    encoded: Encoded,
    loss_fn: Callable[[torch.Tensor, np.ndarray], torch.Tensor],
    cfg: TrainConfig,
    pad_id: int,
    seed: int,
    desc: str,
) -> list[float]:
    """Trains in place; `loss_fn(logits, row_index)` returns the batch loss. Returns the loss curve."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lengths = np.array([len(r) for r in encoded.ids])
    steps_per_epoch = math.ceil(len(lengths) / cfg.batch_size)
    total = math.ceil(steps_per_epoch * cfg.epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(total * cfg.warmup_fraction), total)
    model.train()
    losses: list[float] = []
    batches: Iterator[np.ndarray] = iter(())
    with tqdm(total=total, desc=desc, unit="step", mininterval=2.0) as bar:
        for _ in range(total):
            index = next(batches, None)
            if index is None:
                batches = iter(length_grouped_batches(lengths, cfg.batch_size, rng))
                index = next(batches)
            logits = model(**encoded.batch(index, pad_id)).logits
            loss = loss_fn(logits, index)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", refresh=False)
            bar.update()
    model.eval()
    return losses


def train_soup(model: PreTrainedModel, encoded: Encoded, loss_fn: Callable[[torch.Tensor, np.ndarray], torch.Tensor],
               cfg: TrainConfig, pad_id: int, seed: int, desc: str, members: int = 1) -> list[float]:
    """`train` `members` times from the model's present weights, with seeds seed, seed + 1, ..., each on the
    whole schedule, and leave the model at their weights' average (a "model soup"). Returns the loss curves,
    one after another."""
    if members == 1:
        return train(model, encoded, loss_fn, cfg, pad_id, seed, desc)
    # Every member starts from the same weights, so they stay in one basin and their average is a model too.
    start = copy.deepcopy(model.state_dict())
    soup = AveragedModel(model)  # an equal-weight running average of the members' parameters
    losses: list[float] = []
    for member in range(members):
        model.load_state_dict(start)
        losses += train(model, encoded, loss_fn, cfg, pad_id, seed + member, f"{desc} {member + 1}/{members}")
        soup.update_parameters(model)
    model.load_state_dict(soup.module.state_dict())
    return losses


@torch.inference_mode()
def predict_logits(model: PreTrainedModel, encoded: Encoded, pad_id: int, batch_size: int = 128,
                   desc: str | None = None) -> np.ndarray:
    model.eval()
    lengths = np.array([len(r) for r in encoded.ids])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(lengths), model.config.num_labels), dtype=np.float32)
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc=desc, unit="batch", disable=desc is None, mininterval=2.0):
        index = order[start : start + batch_size]
        out[index] = model(**encoded.batch(index, pad_id)).logits.float().numpy()
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
