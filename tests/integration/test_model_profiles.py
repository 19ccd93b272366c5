"""The shipped quick profile, end to end on CPU (minutes): `make test-slow`."""

import json
from pathlib import Path

import pytest

from model_build.config import load_config
from model_build.pipeline import build
from tests.conftest import REPO


@pytest.mark.slow
def test_quick_profile_meets_its_gate(tmp_path: Path) -> None:
    cfg = load_config(REPO / "model_build/configs/quick.toml")
    manifest = build(cfg, tmp_path)  # raises GateError when a gate is missed
    assert all(check["passed"] for check in manifest.gate)
    metrics = manifest.metrics
    assert metrics["size_mb"]["int8"] <= 16
    assert metrics["int8_vs_fp32"]["agreement"] >= 0.99
    for source in ("davidson", "civil_toxic_spans", "stormfront"):  # int8 student tracks the teacher
        student = metrics["test"]["int8"][source]["toxic"]["roc_auc"]
        teacher = metrics["test"]["teacher"][source]["toxic"]["roc_auc"]
        assert student >= teacher - 0.01, (source, student, teacher)
    assert json.loads((tmp_path / "decorum.json").read_text())["version"] == manifest.version
