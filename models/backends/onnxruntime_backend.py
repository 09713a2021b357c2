"""ONNX Runtime backend: the exported fp32 encoder or its calibrated int8 copy (the CPU default)."""

from __future__ import annotations

import numpy as np

from models.backends.base import BackendOptions, BackendUnavailableError, EncoderOutput
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, INPUT_NAME, OUTPUT_NAMES

_FILES = {"fp32": ENCODER_ONNX, "int8": ENCODER_INT8_ONNX}


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
        session_options = ort.SessionOptions()
        if options.num_threads > 0:
            session_options.intra_op_num_threads = options.num_threads
        providers = ["CPUExecutionProvider"]
        if options.device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailableError("onnxruntime has no CUDAExecutionProvider here (install onnxruntime-gpu)")
            providers.insert(0, "CUDAExecutionProvider")
        self.precision = options.precision
        self.session = ort.InferenceSession(str(path), session_options, providers=providers)

    def run(self, images: np.ndarray) -> EncoderOutput:
        features, logits = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: np.ascontiguousarray(images, np.float32)})
        return EncoderOutput(features=features, logits=logits)
