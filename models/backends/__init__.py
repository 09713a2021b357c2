"""Inference backends for the frame encoder: torch, onnxruntime, tensorrt (one interface, one registry)."""

from models.backends.base import (
    BackendOptions,
    BackendUnavailableError,
    EncoderBackend,
    EncoderOutput,
    backend_names,
    create_backend,
    register_backend,
)
from models.backends.parity import ParityReport, check_parity

__all__ = [
    "BackendOptions",
    "BackendUnavailableError",
    "EncoderBackend",
    "EncoderOutput",
    "ParityReport",
    "backend_names",
    "check_parity",
    "create_backend",
    "register_backend",
]
