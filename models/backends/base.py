"""One interface for every inference backend of the frame encoder, and the registry that names them.

A backend takes preprocessed images (float32 [N,3,S,S], see models.preprocessing) and returns the encoder's
features and ImageNet logits as numpy. Backends are registered as lazily imported "module:Class" names so
that optional runtimes (TensorRT) are imported only when asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class EncoderOutput:
    features: np.ndarray  # float32 [N,1280]
    logits: np.ndarray  # float32 [N,1000]


@dataclass(frozen=True)
class BackendOptions:
    """Where the exported files live and how to run: `precision` is fp32, fp16, bf16 or int8."""

    model_dir: Path
    precision: str = "fp32"
    device: str = "cpu"
    num_threads: int = 0  # 0: the runtime's default
    # ONNX Runtime: idle intra-op threads busy-wait for the next task (its default). Off, they sleep: measured
    # on 2 shared cores, spinning nearly doubled the encoder's CPU per frame for no throughput.
    allow_spinning: bool = True


class EncoderBackend(Protocol):
    name: str
    precision: str

    def run(self, images: np.ndarray) -> EncoderOutput: ...


class BackendUnavailableError(RuntimeError):
    """The backend's runtime or hardware is missing; the message says what to install or use instead."""


_BACKENDS: dict[str, str] = {}


def register_backend(name: str, target: str) -> None:
    if name in _BACKENDS:
        raise ValueError(f"inference backend {name!r} is already registered")
    _BACKENDS[name] = target


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def create_backend(name: str, options: BackendOptions) -> EncoderBackend:
    if name not in _BACKENDS:
        raise KeyError(f"unknown inference backend {name!r}; known: {', '.join(backend_names())}")
    module_name, class_name = _BACKENDS[name].split(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(options)


register_backend("torch", "models.backends.torch_backend:TorchBackend")
register_backend("onnxruntime", "models.backends.onnxruntime_backend:OnnxRuntimeBackend")
register_backend("tensorrt", "models.backends.tensorrt_backend:TensorRTBackend")
