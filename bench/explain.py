"""What an explanation costs: one 26-token message, one thread, with and without `explain` (every word
left out in turn, all variants scored in one batched call)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.common import MESSAGE, percentiles, timed


def bench_explain(model_dir: Path) -> dict:
    from handlers.inference.model import ToxicityModel
    from handlers.inference.settings import ModelSettings

    model = ToxicityModel(model_dir, ModelSettings(intra_op_threads=1))
    tokens = len(model.tokenizer.encode(MESSAGE).ids)
    plain = timed(lambda: model.classify([MESSAGE]), 300)
    explained = timed(lambda: model.classify([MESSAGE], explain=True), 300)
    return {"tokens": tokens, "words": len(MESSAGE.split()), "threads": 1,
            "classify": percentiles(plain), "classify_and_explain": percentiles(explained),
            "extra_p50_ms": round(float(np.median(explained) - np.median(plain)), 3)}
