"""The artifact: `<out>/model.onnx`, `tokenizer.json`, `decorum.json`, and `model.tar.gz` holding those
three at its root, the layout the inference container reads from /opt/ml/model."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

from model_build.export import ExportedModels

ARCHIVE_MEMBERS = ("model.onnx", "tokenizer.json", "decorum.json")


def write(out: Path, exported: ExportedModels, manifest: dict) -> None:
    shutil.copyfile(exported.int8, out / "model.onnx")
    shutil.copyfile(exported.int8.parent / "tokenizer.json", out / "tokenizer.json")
    (out / "decorum.json").write_text(json.dumps(manifest, indent=2))


def archive(out: Path) -> Path:
    target = out / "model.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        for name in ARCHIVE_MEMBERS:
            tar.add(out / name, arcname=name)
    return target
