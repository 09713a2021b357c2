"""ONNX Runtime backend: the exported fp32 encoder or its calibrated int8 copy (the CPU default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from models.backends.base import BackendOptions, BackendUnavailableError, EncoderOutput
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, INPUT_NAME, OUTPUT_NAMES

if TYPE_CHECKING:
    import onnxruntime as ort

_FILES = {"fp32": ENCODER_ONNX, "int8": ENCODER_INT8_ONNX}


def session_options(options: BackendOptions) -> ort.SessionOptions:
    """Threads and spinning of the session's intra-op pool; the graph runs sequentially (one model, one stream
    of batches: a parallel executor and its inter-op pool only added CPU per frame in measurement)."""
    import onnxruntime as ort

    configured = ort.SessionOptions()
    configured.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if options.num_threads > 0:
        configured.intra_op_num_threads = options.num_threads
    configured.add_session_config_entry("session.intra_op.allow_spinning", "1" if options.allow_spinning else "0")
    return configured


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self, options: BackendOptions) -> None:
        import onnxruntime as ort

        if options.precision not in _FILES:
            raise ValueError(f"onnxruntime precision must be one of {sorted(_FILES)}, got {options.precision!r}")
        path = options.model_dir / _FILES[options.precision]
        if not path.exists():
            raise BackendUnavailableError(
                f"{path} does not exist: run `actionstream export --backend "
                f"{'onnx-int8' if options.precision == 'int8' else 'onnx'}` first"
            )
        providers = ["CPUExecutionProvider"]
        if options.device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailableError("onnxruntime has no CUDAExecutionProvider here (install onnxruntime-gpu)")
            providers.insert(0, "CUDAExecutionProvider")
        self.precision = options.precision
        self.session = ort.InferenceSession(str(path), session_options(options), providers=providers)

    def run(self, images: np.ndarray) -> EncoderOutput:
        features, logits = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: np.ascontiguousarray(images, np.float32)})
        return EncoderOutput(features=features, logits=logits)
