"""The whole pipeline on a tiny slice: the artifact loads in plain onnxruntime and matches PyTorch."""

import json
import logging
import shutil
import tarfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from handlers.inference.artifact import ARCHIVE_FILES, ARCHIVE_NAME, INPUT_NAMES, MODEL_FILE, OUTPUT_NAME
from handlers.inference.model import ToxicityModel
from model_build.__main__ import main as build_cli
from model_build.config import load_config
from model_build.data import load_splits
from model_build.functional import load_cases
from model_build.report import TEMPLATE_MISS, refresh_measured_sections
from tests.conftest import REPO

TEXTS = ["have a lovely day", "you are a complete idiot", "🙂 ünïcödé", "x " * 400]


def test_artifact_layout_and_manifest(tiny_model: Path) -> None:
    manifest = json.loads((tiny_model / "decorum.json").read_text())
    assert manifest["labels"] == ["toxic", "hate"]
    assert set(manifest["thresholds"]) == {"toxic", "hate"}
    assert manifest["output"] == "probabilities" and manifest["max_length"] == 64
    assert len(manifest["source_data_sha256"]) == 64
    assert all(g["passed"] for g in manifest["gate"])
    with tarfile.open(tiny_model / ARCHIVE_NAME) as tar:
        assert sorted(tar.getnames()) == sorted(ARCHIVE_FILES)
    report = (tiny_model / "report.md").read_text()
    assert "## Gate" in report and "ROC-AUC" in report and "## Functional suite" in report
    functional = manifest["metrics"]["functional"]["int8"]
    assert functional["cases"] >= 400 and functional["groups"] >= 12
    assert all(0 <= c["pass_rate"] <= 1 for c in functional["categories"].values())
    # Every template's rate over its groups is kept; the ones failed for most groups are named in the report.
    assert set(functional["templates"]) == {c.template for c in load_cases() if c.template}
    missed = [text for text, r in functional["templates"].items() if r["pass_rate"] < TEMPLATE_MISS]
    assert all(f"| {text} | " in report for text in missed)
    assert set(manifest["metrics"]["data"]["formatting_shortcut_auc"]) >= {"davidson", "toxigen_prompts"}
    assert "davidson" in manifest["metrics"]["validation"]["int8"] and "Mean over domains" in report
    assert manifest["metrics"]["student"]["transfer_rows"] > 0  # tiny.toml's transfer_rate
    # The benign context set: its flagged share reported, its easy negatives kept out of the pooled figures.
    assert set(manifest["metrics"]["benign_flagged"]["python_comments"]) == {"toxic", "hate"}
    assert "Benign python_comments test rows flagged" in report
    split = load_splits(load_config(REPO / "model_build/configs/tiny.toml").data).test
    benign, known = split.source == "python_comments", ~np.isnan(split.hard[:, 0])
    test = manifest["metrics"]["test"]["int8"]
    assert benign.any() and not test["python_comments"]
    assert test["all"]["toxic"]["rows"] == (known & ~benign).sum()
    for plot in ("roc.png", "latency.png", "steps.png"):
        assert (tiny_model / "plots" / plot).read_bytes()[:4] == b"\x89PNG"


def test_the_archive_the_build_writes_is_the_one_the_server_reads(tiny_model: Path, tmp_path: Path) -> None:
    """The package step and the server share handlers/inference/artifact.py: files, tensors, manifest."""
    with tarfile.open(tiny_model / ARCHIVE_NAME) as tar:
        tar.extractall(tmp_path / "opt-ml-model", filter="data")
    session = ort.InferenceSession(str(tmp_path / "opt-ml-model" / MODEL_FILE), providers=["CPUExecutionProvider"])
    assert tuple(i.name for i in session.get_inputs()) == INPUT_NAMES
    assert [o.name for o in session.get_outputs()] == [OUTPUT_NAME]
    served = ToxicityModel(tmp_path / "opt-ml-model")
    assert served.labels == ["toxic", "hate"]
    assert served.classify(["hello there"])[0].scores.keys() == {"toxic", "hate"}


def test_int8_graph_is_quantized_with_a_sigmoid_head(tiny_model: Path) -> None:
    graph = onnx.load(tiny_model / "model.onnx").graph
    ops = {n.op_type for n in graph.node}
    assert "MatMulInteger" in ops or "QAttention" in ops
    assert graph.node[-1].op_type == "Sigmoid" and graph.output[0].name == "probabilities"
    assert "Softmax" not in {n.op_type for n in graph.node if n.output[0] == "probabilities"}


def test_onnx_matches_pytorch(tiny_model: Path) -> None:
    """Parity of the exported fp32 graph (plain CPU onnxruntime) with the PyTorch student."""
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model / "work" / "student")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model / "work" / "student")
    fp32 = ort.InferenceSession(str(tiny_model / "work" / "model-fp32.onnx"), providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(tiny_model / "model.onnx"), providers=["CPUExecutionProvider"])
    for text in TEXTS:
        enc = tokenizer(text, truncation=True, max_length=64, return_tensors="np")
        feed = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "token_type_ids": np.zeros_like(enc["input_ids"])}
        with torch.no_grad():
            expected = torch.sigmoid(model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits).numpy()
        np.testing.assert_allclose(fp32.run(None, feed)[0], expected, atol=1e-4)
        np.testing.assert_allclose(int8.run(None, feed)[0], expected, atol=0.1)
        assert ((expected >= 0) & (expected <= 1)).all()


def test_failed_gate_fails_the_build_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for measured_apart in ("lodo.md", "distillation.md"):
        (tmp_path / measured_apart).write_text("| an earlier recipe's table |\n")
    code = build_cli(["build", "--config", str(REPO / "model_build/configs/tiny.toml"), "--out", str(tmp_path),
                      "--set", f"cache_dir={tmp_path / 'cache'}", "--set", "gate.max_size_mb=0.5",
                      "--set", "student.train.max_steps=2", "--set", "teacher.train.max_steps=2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "model gate failed" in err and "model size (MB)" in err
    assert (tmp_path / "report.md").exists()  # the report of a failed build is still there to read
    # A rebuild drops the tables measured apart that it would no longer match.
    assert not (tmp_path / "lodo.md").exists() and not (tmp_path / "distillation.md").exists()
    assert any("rows (train" in r.getMessage() for r in caplog.records)  # the build's own progress lines


def test_bad_config_fails_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert build_cli(["build", "--config", str(tmp_path / "missing.toml"), "--out", str(tmp_path)]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_leave_one_domain_out_writes_a_table_per_held_out_set(tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("# Decorum model build x\n\n## Gate\n")  # as if a built model's folder
    code = build_cli(["lodo", "--config", str(REPO / "model_build/configs/tiny.toml"), "--out", str(tmp_path),
                      "--set", "student.train.max_steps=3"])
    assert code == 0
    results = json.loads((tmp_path / "lodo.json").read_text())["results"]
    assert set(results) == {"davidson", "civil_toxic_spans", "stormfront", "edos", "toxigen_prompts"}
    assert all(0 <= r["toxic_roc_auc"] <= 1 and r["test_rows"] > 0 for n, r in results.items() if n != "edos")
    assert results["edos"]["toxic_roc_auc"] is None  # edos annotates sexist posts only: nothing to rank
    assert results["civil_toxic_spans"]["hate_roc_auc"] is None  # civil has no hate labels
    assert "| toxigen_prompts |" in (tmp_path / "lodo.md").read_text()
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Decorum model build x") and "| edos | " in report and "n/a" in report


def test_sections_measured_apart_are_replaced_not_appended(tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("# build\n\n## Gate\n")
    for auc in ("0.7000", "0.9000"):
        (tmp_path / "lodo.md").write_text(f"| held-out domain | trained on | toxic ROC-AUC |\n| a | b | {auc} |\n")
        refresh_measured_sections(tmp_path)
        (tmp_path / "distillation.md").write_text(f"| set | label | distilled | labels only |\n| a | b | {auc} |\n")
        refresh_measured_sections(tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert report.count("## Leave one domain out") == 1 and report.count("## Distillation vs labels only") == 1
    assert report.count("0.9000") == 2 and "0.7000" not in report
    assert report.startswith("# build\n\n## Gate\n")
    assert report.index("## Distillation") < report.index("## Leave one domain out")


def test_distillation_compares_the_built_student_with_the_same_student_on_labels_only(
        tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    built = tmp_path / "model"
    shutil.copytree(tiny_model, built)
    args = ["distillation", "--config", str(REPO / "model_build/configs/tiny.toml"), "--out", str(built),
            "--set", f"cache_dir={tmp_path / 'cache'}"]  # where teachers are cached is not part of the recipe
    assert build_cli(args) == 0
    results = json.loads((built / "distillation.json").read_text())
    assert results["version"] == json.loads((built / "decorum.json").read_text())["version"]
    for side in ("distilled", "labels_only"):
        assert 0 <= results[side]["test"]["all"]["toxic"]["roc_auc"] <= 1
        assert results[side]["functional"]["cases"] >= 400
    # Same shape, other weights: the labels-only twin scores the test rows differently.
    assert results["distilled"]["test"]["all"] != results["labels_only"]["test"]["all"]
    report = (built / "report.md").read_text()
    assert report.count("## Distillation vs labels only") == 1 and "| functional suite | pass rate |" in report
    assert report.startswith((tiny_model / "report.md").read_text().rstrip("\n"))

    assert build_cli([*args, "--set", "student.alpha=0.1"]) == 2  # not the recipe the model was built with
    assert "another recipe" in capsys.readouterr().err
    assert build_cli([*args[:4], str(tmp_path / "nothing-built")]) == 2
    assert "holds no built model" in capsys.readouterr().err


def test_lodo_can_hold_out_named_sets_and_rejects_unknown_ones(tmp_path: Path, capsys) -> None:
    args = ["lodo", "--config", str(REPO / "model_build/configs/tiny.toml"), "--out", str(tmp_path),
            "--set", "student.train.max_steps=2"]
    assert build_cli([*args, "--held-out", "toxigen_prompts"]) == 0
    assert set(json.loads((tmp_path / "lodo.json").read_text())["results"]) == {"toxigen_prompts"}
    assert build_cli([*args, "--held-out", "reddit"]) == 2
    assert "no labelled data set named ['reddit']" in capsys.readouterr().err
    assert build_cli([*args, "--held-out", "python_comments"]) == 2  # benign only: nothing to rank


def test_capacity_compares_student_depths_in_one_table(tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("# Decorum model build x\n\n## Gate\n")
    code = build_cli(["capacity", "--config", str(REPO / "model_build/configs/tiny.toml"), "--out", str(tmp_path),
                      "--layers", "1", "2", "--held-out", "toxigen_prompts", "--set", "student.train.max_steps=2"])
    assert code == 0
    table = (tmp_path / "capacity.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2 and "Held out: toxigen_prompts" in table
    sizes = [float(row.split("|")[-2]) for row in rows]
    assert sizes[1] > sizes[0]  # a second layer weighs more
    assert "### Student depth" in (tmp_path / "report.md").read_text()
