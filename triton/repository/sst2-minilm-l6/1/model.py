"""Triton Python-backend entry point: logits from the service's token tensors, on the runtime the config names.

Triton loads this file in its own Python stub process per instance; the stub puts this folder on sys.path (so the
sibling modules import) but not a virtual environment's packages, hence VIRTUAL_ENV below (scripts/triton.sh sets
it; an image that installs its packages system-wide leaves it unset).
"""

import json
import os
import site
import sys

if os.environ.get("VIRTUAL_ENV"):
    site.addsitedir(
        os.path.join(
            os.environ["VIRTUAL_ENV"], "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages"
        )
    )

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402

from fixed_shapes import FixedShapes  # noqa: E402
from runtimes import Runtime, RuntimeContext, open_runtime, pad_token_id  # noqa: E402

OUTPUT_NAME = "logits"


def _instance_index(instance_name: str) -> int:
    # Triton names instances <model>_<group>_<index>, or <model>_<index> with one group.
    return int(instance_name.rsplit("_", 1)[-1])


class TritonPythonModel:
    runtime: Runtime
    shapes: FixedShapes | None
    input_names: list[str]

    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        parameters = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        runtime_name = os.environ.get("TRITON_RUNTIME") or parameters["runtime"]
        model_dir = os.environ.get("MODEL_DIR")
        if not model_dir:
            raise ValueError("MODEL_DIR is not set: it names the model directory this repository serves")
        context = RuntimeContext(
            model_dir=model_dir,
            instance_index=_instance_index(args["model_instance_name"]),
            instance_count=sum(group.get("count", 1) for group in config["instance_group"]),
            labels=config["output"][0]["dims"][0],
        )
        self.input_names = [tensor["name"] for tensor in config["input"]]
        self.shapes = FixedShapes.from_env(
            os.environ.get("BATCH_SHAPES", ""), config["max_batch_size"], pad_token_id(model_dir)
        )
        self.runtime = open_runtime(runtime_name, context, self.shapes)

    def execute(self, requests: list) -> list:
        return [self._infer(request) for request in requests]

    def _infer(self, request) -> "pb_utils.InferenceResponse":
        # A bad request fails alone with its message; the instance goes on serving the others.
        try:
            feeds = {}
            for name in self.input_names:
                tensor = pb_utils.get_input_tensor_by_name(request, name)
                if tensor is not None:
                    feeds[name] = tensor.as_numpy()
            shape = feeds["input_ids"].shape
            for name, array in feeds.items():
                if array.shape != shape:
                    raise ValueError(f"input '{name}' has shape {list(array.shape)}, input_ids {list(shape)}")
            if "token_type_ids" not in feeds:
                feeds["token_type_ids"] = np.zeros(shape, dtype=np.int64)
            logits = self.shapes.run(self.runtime, feeds) if self.shapes else self.runtime.run(feeds)
            return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(OUTPUT_NAME, logits.astype(np.float32, copy=False))])
        except Exception as error:  # noqa: BLE001 (any failure is this request's answer)
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(error).__name__}: {error}"))

    def finalize(self) -> None:
        self.runtime.close()
