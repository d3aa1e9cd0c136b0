"""Inferentia2 (torch-neuronx): the checkpoint traced once per BATCH_SHAPES shape, cached, one NeuronCore per
instance. Not runnable without the Neuron SDK (AWS's Neuron images); docs/TRITON.md says what was run.

`python neuron.py` compiles every shape into TRITON_NEURON_CACHE and exits: the Kubernetes compile step (init
container) runs it so that instances only load.
"""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

from fixed_shapes import FixedShapes
from runtimes import RuntimeContext, load_torch_model

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir() -> str:
    return os.environ.get("TRITON_NEURON_CACHE", "/var/cache/neuron")


def artefact_path(model_dir: str, shape: tuple[int, int]) -> str:
    """A compiled shape's file, keyed by the weights, the shape and the compiler, so a change never loads stale."""
    import torch_neuronx

    digest = hashlib.sha256()
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"{shape}{torch_neuronx.__version__}".encode())
    name = os.path.basename(os.path.normpath(model_dir))
    return os.path.join(cache_dir(), f"{name}-{shape[0]}x{shape[1]}-{digest.hexdigest()[:16]}.pt")


def compile_shape(model_dir: str, shape: tuple[int, int]) -> str:
    import torch
    import torch_neuronx

    path = artefact_path(model_dir, shape)
    if os.path.exists(path):
        return path
    model = load_torch_model(model_dir, torchscript=True)
    example = tuple(torch.zeros(shape, dtype=torch.int64) for _ in INPUTS)
    traced = torch_neuronx.trace(model, example)
    os.makedirs(cache_dir(), exist_ok=True)
    partial = f"{path}.{os.getpid()}.partial"
    torch.jit.save(traced, partial)
    os.replace(partial, path)  # atomic: a reader sees the whole file or none
    return path


def visible_cores(allocated: str) -> list[int]:
    """NEURON_RT_VISIBLE_CORES as the device plugin sets it for the container ("2-3", "0,1"); empty: unset."""
    cores: list[int] = []
    for part in filter(None, allocated.replace(" ", "").split(",")):
        first, _, last = part.partition("-")
        cores.extend(range(int(first), int(last or first) + 1))
    return cores


class NeuronRuntime:
    def __init__(self, context: RuntimeContext, shapes: FixedShapes) -> None:
        # One core per instance, from those allocated to the container: set before the Neuron runtime starts in this
        # process (each Triton instance is its own process).
        allocated = visible_cores(os.environ.get("NEURON_RT_VISIBLE_CORES", ""))
        core = allocated[context.instance_index] if allocated else context.instance_index
        os.environ["NEURON_RT_VISIBLE_CORES"] = str(core)
        import torch
        import torch_neuronx  # noqa: F401 (registers the Neuron ops torch.jit.load needs)

        self.torch = torch
        self.modules = {shape: torch.jit.load(compile_shape(context.model_dir, shape)) for shape in shapes.shapes}

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        module = self.modules[feeds["input_ids"].shape]
        with self.torch.inference_mode():
            logits = module(*(self.torch.from_numpy(feeds[name]) for name in INPUTS))[0]
        return logits.float().numpy()

    def close(self) -> None:
        self.modules.clear()


if __name__ == "__main__":
    model_dir = os.environ["MODEL_DIR"]
    shapes = FixedShapes.from_env(os.environ.get("BATCH_SHAPES", ""), sys.maxsize)
    if shapes is None:
        sys.exit("BATCH_SHAPES is not set: nothing to compile")
    for shape in shapes.shapes:
        print(f"compiled {shape[0]}x{shape[1]}: {compile_shape(model_dir, shape)}", flush=True)
