"""PyTorch -> ONNX (Optimum) -> sigmoid head -> ONNX Runtime fusions -> dynamic int8.

The exported graph ends in a Sigmoid: `probabilities` (artifact.OUTPUT_NAME) [batch, labels], one
independent probability per label (never a softmax across labels). Fusions use ONNX Runtime's transformer optimizer with
CPU kernels only (Attention, SkipLayerNormalization, EmbedLayerNormalization, BiasGelu), so the
model runs on the plain `onnxruntime` CPU wheel the serving image ships.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from handlers.inference.artifact import INPUT_NAMES, OUTPUT_NAME, TOKENIZER_FILE
from model_build.config import ExportConfig

log = logging.getLogger(__name__)

STUDENT_DIR = "student"  # the trained PyTorch student, saved under the build's work folder


@dataclass
class ExportedModels:
    fp32: Path  # plain export with the sigmoid head (parity reference)
    optimized: Path  # fused fp32
    int8: Path  # what ships
    tokenizer: Path  # the serving tokenizer (no padding, truncation at max_length)


def export_onnx(model_dir: Path, out_dir: Path, cfg: ExportConfig) -> Path:
    """Exports the saved classifier at `model_dir` with Optimum; returns `out_dir/model-fp32.onnx`."""
    from optimum.exporters.onnx import onnx_export_from_model
    from transformers import AutoModelForSequenceClassification

    # The eager attention graph is the one ONNX Runtime's optimizer can fuse (sdpa graphs do not).
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_export_from_model(model, tmp, opset=cfg.opset, task="text-classification", do_validation=False)
        graph = onnx.load(Path(tmp) / "model.onnx")
    _append_sigmoid(graph)
    inputs = tuple(i.name for i in graph.graph.input)
    if inputs != INPUT_NAMES:  # the server feeds exactly these (handlers/inference/artifact.py)
        raise RuntimeError(f"the exported graph's inputs {inputs} are not the serving contract's {INPUT_NAMES}")
    target = out_dir / "model-fp32.onnx"
    onnx.save(graph, target)
    return target


def _append_sigmoid(model: onnx.ModelProto) -> None:
    graph = model.graph
    (logits,) = [o for o in graph.output if o.name == "logits"]
    graph.node.append(helper.make_node("Sigmoid", ["logits"], [OUTPUT_NAME], name="probabilities_sigmoid"))
    dims = [d.dim_param or d.dim_value for d in logits.type.tensor_type.shape.dim]
    graph.output.remove(logits)
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, dims))


def optimize(fp32: Path, target: Path, num_heads: int, hidden_size: int) -> Path:
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(str(fp32), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                               opt_level=0, use_gpu=False)
    log.info("fused operators: %s", {k: v for k, v in optimized.get_fused_operator_statistics().items() if v})
    optimized.save_model_to_file(str(target))
    return target


def quantize(source: Path, target: Path, per_channel: bool) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        # Fused graphs lose the weights' type info; without this the quantizer cannot find it.
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )
    return target


def export_all(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, work: Path, cfg: ExportConfig,
               max_length: int) -> ExportedModels:
    """Saves the trained student, exports, optimizes and quantizes it under `work`."""
    model_dir = work / STUDENT_DIR
    shutil.rmtree(model_dir, ignore_errors=True)
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    fp32 = export_onnx(model_dir, work, cfg)
    optimized = work / "model-fp32-optimized.onnx"
    if cfg.optimize:
        optimize(fp32, optimized, model.config.num_attention_heads, model.config.hidden_size)
    else:
        shutil.copyfile(fp32, optimized)
    int8 = quantize(optimized, work / "model-int8.onnx", cfg.per_channel)
    serving_tokenizer = write_serving_tokenizer(tokenizer, work / TOKENIZER_FILE, max_length)
    return ExportedModels(fp32, optimized, int8, serving_tokenizer)


def write_serving_tokenizer(tokenizer: PreTrainedTokenizerBase, target: Path, max_length: int) -> Path:
    """The fast tokenizer's JSON without fixed padding (batch 1 is never padded), truncating at max_length."""
    backend = tokenizer.backend_tokenizer
    backend.no_padding()
    backend.enable_truncation(max_length=max_length)
    backend.save(str(target))
    return target
