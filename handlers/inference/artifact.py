"""The model artifact's contract: the files of the archive the container unpacks to /opt/ml/model, the
ONNX graph's tensor names, and the manifest (`decorum.json`) that carries the model's own labels and
thresholds. The build writes it (model_build/package.py, export.py), the server reads it
(handlers/inference/model.py); both import these names. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "decorum.json"
ARCHIVE_FILES = (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE)  # model.tar.gz holds these at its root
ARCHIVE_NAME = "model.tar.gz"

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")  # int64 [batch, sequence]
OUTPUT_NAME = "probabilities"  # float32 [batch, labels]: one sigmoid per label


@dataclass(frozen=True)
class Manifest:
    """`decorum.json`. The fields the server needs come first; the rest documents the build."""

    version: str
    labels: tuple[str, ...]
    thresholds: dict[str, float]  # per label: a probability at or above it flags the text
    max_length: int  # tokens per sequence the model was trained on; longer text is windowed
    name: str = "decorum-toxicity"
    inputs: tuple[str, ...] = INPUT_NAMES
    output: str = OUTPUT_NAME
    source_data_sha256: str = ""
    config: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # model_build/pipeline.py's Metrics
    gate: list[dict[str, Any]] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.thresholds) != set(self.labels):
            raise ValueError(f"{MANIFEST_FILE}: thresholds must name exactly the labels {list(self.labels)}")
        if tuple(self.inputs) != INPUT_NAMES or self.output != OUTPUT_NAME:
            raise ValueError(f"{MANIFEST_FILE}: the graph's tensors {list(self.inputs)} -> {self.output} are not "
                             f"the ones this server feeds ({list(INPUT_NAMES)} -> {OUTPUT_NAME})")

    def write(self, model_dir: Path) -> Path:
        target = model_dir / MANIFEST_FILE
        target.write_text(json.dumps(asdict(self), indent=2))
        return target

    @classmethod
    def read(cls, model_dir: Path) -> Manifest:
        raw = json.loads((model_dir / MANIFEST_FILE).read_text())
        try:
            return cls(**{**raw, "labels": tuple(raw["labels"]), "inputs": tuple(raw.get("inputs", INPUT_NAMES))})
        except (TypeError, KeyError) as exc:
            raise ValueError(f"{model_dir / MANIFEST_FILE} is not a Decorum manifest: {exc}") from None


def missing_files(model_dir: Path) -> list[str]:
    return [name for name in ARCHIVE_FILES if not (model_dir / name).is_file()]
