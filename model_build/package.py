"""The artifact (`handlers/inference/artifact.py` owns its names): `<out>/model.onnx`, `tokenizer.json`,
`decorum.json`, and `model.tar.gz` holding those three at its root, the layout the inference
container reads from /opt/ml/model."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from handlers.inference.artifact import ARCHIVE_FILES, ARCHIVE_NAME, MODEL_FILE, TOKENIZER_FILE, Manifest
from model_build.export import ExportedModels


def write(out: Path, exported: ExportedModels, manifest: Manifest) -> None:
    shutil.copyfile(exported.int8, out / MODEL_FILE)
    shutil.copyfile(exported.tokenizer, out / TOKENIZER_FILE)
    manifest.write(out)


def archive(out: Path) -> Path:
    target = out / ARCHIVE_NAME
    with tarfile.open(target, "w:gz") as tar:
        for name in ARCHIVE_FILES:
            tar.add(out / name, arcname=name)
    return target
