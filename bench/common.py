"""What every benchmark section shares: the repository, the sample message, timing helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from handlers.inference.artifact import TOKENIZER_FILE

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
# A Davidson tweet cut to its median length in tokens (26), as the model sees it.
MESSAGE = "RT @someone: you are the dumbest person I have ever met, go back to school and learn how to read lol"


def percentiles(samples_ms: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(samples_ms)
    return {"p50_ms": round(float(np.median(a)), 3), "p90_ms": round(float(np.percentile(a, 90)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "n": len(a)}


def timed(fn: Callable[[], object], repeats: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def message_ids(model_dir: Path, tokens: int = 26) -> list[int]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    ids = tokenizer.encode(MESSAGE * 3).ids
    return ids[: tokens - 1] + ids[-1:]
