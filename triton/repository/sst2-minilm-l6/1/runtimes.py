"""The runtimes that compute logits for model.py, by name; everything but Neuron's compile-and-load is here."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from fixed_shapes import FixedShapes


@dataclass(frozen=True)
class RuntimeContext:
    model_dir: str
    instance_index: int
    instance_count: int
    labels: int


class Runtime(Protocol):
    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray: ...

    def close(self) -> None: ...


def pad_token_id(model_dir: str) -> int:
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as file:
        return int(json.load(file).get("pad_token_id") or 0)


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxRuntime:
    """ONNX Runtime on the model directory's onnx/model.onnx (the file the in-process engine runs at DTYPE=fp32)."""

    def __init__(self, context: RuntimeContext, provider: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if provider == "CPUExecutionProvider":
            # Instances are processes side by side: share the cores out rather than let each take them all.
            options.intra_op_num_threads = max(1, _usable_cpus() // context.instance_count)
            options.inter_op_num_threads = 1
        providers = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
        path = os.path.join(context.model_dir, "onnx", "model.onnx")
        self.session = ort.InferenceSession(path, options, providers=providers)
        if self.session.get_providers()[0] != provider:
            raise RuntimeError(f"{provider} is not available to ONNX Runtime here ({self.session.get_providers()})")
        self.input_names = {tensor.name for tensor in self.session.get_inputs()}
        self.output_name = self.session.get_outputs()[0].name

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {name: array for name, array in feeds.items() if name in self.input_names}
        return self.session.run([self.output_name], inputs)[0]

    def close(self) -> None:
        del self.session


def load_torch_model(model_dir: str, torchscript: bool = False):
    """The Hugging Face checkpoint (model.safetensors) as a PyTorch module in eval mode; CUDA and Neuron share it."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(model_dir, torchscript=torchscript).eval()


class TorchCudaRuntime:
    """PyTorch eager on a CUDA GPU, in fp32 like the parity tests."""

    def __init__(self, context: RuntimeContext) -> None:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("TRITON_RUNTIME=torch-cuda needs a CUDA GPU, and torch sees none")
        self.torch = torch
        self.device = torch.device("cuda", context.instance_index % torch.cuda.device_count())
        self.model = load_torch_model(context.model_dir).to(self.device)

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        with self.torch.inference_mode():
            tensors = {name: self.torch.from_numpy(array).to(self.device) for name, array in feeds.items()}
            return self.model(**tensors).logits.float().cpu().numpy()

    def close(self) -> None:
        del self.model
        self.torch.cuda.empty_cache()


def _neuron(context: RuntimeContext, shapes: FixedShapes | None) -> Runtime:
    from neuron import NeuronRuntime

    if shapes is None:
        raise ValueError("TRITON_RUNTIME=neuron runs compiled shapes only: set BATCH_SHAPES (e.g. 1x128,8x128)")
    return NeuronRuntime(context, shapes)


_RUNTIMES: dict[str, Callable[[RuntimeContext, FixedShapes | None], Runtime]] = {
    "onnxruntime-cpu": lambda context, _: OnnxRuntime(context, "CPUExecutionProvider"),
    "onnxruntime-cuda": lambda context, _: OnnxRuntime(context, "CUDAExecutionProvider"),
    "torch-cuda": lambda context, _: TorchCudaRuntime(context),
    "neuron": _neuron,
}


def open_runtime(name: str, context: RuntimeContext, shapes: FixedShapes | None) -> Runtime:
    factory = _RUNTIMES.get(name)
    if factory is None:
        raise ValueError(f"unknown runtime '{name}': one of {', '.join(_RUNTIMES)}")
    return factory(context, shapes)
