"""Shared fixtures: a tiny real model (built once per session), and local stand-ins that speak the
real protocols: moto in server mode, the inference server, the Slack stand-in."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_build.identity import GROUPS

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"  # the training data travels with the repository

# Clean rows naming one group each, and clean rows naming none: sources for the stance and claim rows.
GROUP_NEIGHBOURS = [f"My {n} neighbours are {g.plural} and we share a garden." for n in range(60) for g in GROUPS[:3]]
NO_GROUP = [f"The meeting on floor {n} ran late again today." for n in range(60)]


def rows_written_beside(**rates: float) -> list[tuple[str, list[float]]]:
    """(text, hard labels) of the training rows that `rates` (data.stance_rate, ...) add to
    toxigen_prompts' own, after checking that the held-out rows stay as they were."""
    from model_build.config import DataConfig, DatasetConfig
    from model_build.data import load_splits

    sets = (DatasetConfig("toxigen_prompts", "toxigen_prompts", str(DATA / "toxigen_prompts")),)
    plain, written = load_splits(DataConfig(sets)), load_splits(DataConfig(sets, **rates))
    assert written.validation.texts == plain.validation.texts and written.test.texts == plain.test.texts
    before = set(plain.train.texts)
    return [(text, list(labels)) for text, labels in zip(written.train.texts, written.train.hard, strict=True)
            if text not in before]


# boto3 must never find real credentials or reach AWS from a test.
for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                    "POWERTOOLS_METRICS_DISABLED": "true", "AWS_EC2_METADATA_DISABLED": "true"}.items():
    os.environ[name] = value
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole pipeline on the tiny profile (a few hundred rows, a 1-layer student): ~20 s."""
    from model_build.config import load_config
    from model_build.pipeline import build

    out = tmp_path_factory.mktemp("tiny-model")
    cache = tmp_path_factory.mktemp("model-cache")
    cfg = load_config(REPO / "model_build" / "configs" / "tiny.toml", {"cache_dir": str(cache)})
    build(cfg, out)
    return out


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from local.aws import AtomicMotoServer

    server = AtomicMotoServer()
    server.start()
    yield server.url
    server.stop()


def serve_in_thread(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="session")
def toxicity_model(tiny_model: Path):
    from handlers.inference.model import ToxicityModel
    from handlers.inference.settings import ModelSettings

    return ToxicityModel(tiny_model, ModelSettings(intra_op_threads=1))
