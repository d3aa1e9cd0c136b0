"""Fixed (batch, sequence) shapes: a batch is padded up to the smallest compiled shape that holds it.

Neuron-compiled models (and TensorRT engines) run only the shapes they were compiled for. The service composes its
batches to fit BATCH_SHAPES (same syntax: 1x128,8x128,8x512); padding here as well keeps the model server correct
for any caller, and lets the CPU runtime exercise the same code in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

_SHAPE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$", re.IGNORECASE)


class LogitsRuntime(Protocol):
    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True)
class FixedShapes:
    shapes: tuple[tuple[int, int], ...]
    pad_token_id: int = 0

    @staticmethod
    def parse(text: str) -> tuple[tuple[int, int], ...]:
        shapes = []
        for item in text.split(","):
            match = _SHAPE.match(item)
            if not match or int(match[1]) < 1 or int(match[2]) < 1:
                raise ValueError(f"BATCH_SHAPES: '{item.strip()}' is not BATCHxSEQUENCE (e.g. 8x128)")
            shapes.append((int(match[1]), int(match[2])))
        return tuple(sorted(set(shapes), key=lambda shape: (shape[0] * shape[1], shape)))

    @classmethod
    def from_env(cls, text: str, max_batch_size: int, pad_token_id: int = 0) -> FixedShapes | None:
        if not text.strip():
            return None
        shapes = cls.parse(text)
        too_big = [f"{b}x{s}" for b, s in shapes if b > max_batch_size]
        if too_big:
            raise ValueError(f"BATCH_SHAPES {', '.join(too_big)} exceed the model's max_batch_size {max_batch_size}")
        return cls(shapes, pad_token_id)

    def shape_for(self, rows: int, length: int) -> tuple[int, int]:
        """The smallest shape holding rows x length; for more rows than any shape holds, the widest batch."""
        fitting = [shape for shape in self.shapes if shape[1] >= length]
        if not fitting:
            longest = max(s for _, s in self.shapes)
            raise ValueError(f"sequence length {length} exceeds the longest compiled shape ({longest} tokens)")
        holding = [shape for shape in fitting if shape[0] >= rows]
        if holding:
            return holding[0]
        return max(fitting, key=lambda shape: (shape[0], -shape[1]))

    def pad(self, feeds: dict[str, np.ndarray], shape: tuple[int, int]) -> dict[str, np.ndarray]:
        padded = {}
        for name, array in feeds.items():
            fill = self.pad_token_id if name == "input_ids" else 0
            out = np.full(shape, fill, dtype=array.dtype)
            out[: array.shape[0], : array.shape[1]] = array
            padded[name] = out
        return padded

    def run(self, runtime: LogitsRuntime, feeds: dict[str, np.ndarray]) -> np.ndarray:
        rows, length = feeds["input_ids"].shape
        parts = []
        start = 0
        while start < rows:
            shape = self.shape_for(rows - start, length)
            chunk = {name: array[start : start + shape[0]] for name, array in feeds.items()}
            taken = chunk["input_ids"].shape[0]
            parts.append(runtime.run(self.pad(chunk, shape))[:taken])
            start += taken
        return np.concatenate(parts, axis=0)
