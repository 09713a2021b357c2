"""TensorRT backend (`gpu` extra): fp32/fp16 engines from the fp32 ONNX file, int8 from the calibrated QDQ file.

TensorRT and pycuda are imported here only, when this backend is created; without them (or without a CUDA
device) creation fails with BackendUnavailableError saying what is missing.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from models.backends.base import BackendOptions, BackendUnavailableError, EncoderOutput
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, INPUT_NAME, OUTPUT_NAMES

logger = logging.getLogger(__name__)

_SOURCES = {"fp32": ENCODER_ONNX, "fp16": ENCODER_ONNX, "int8": ENCODER_INT8_ONNX}
_MAX_BATCH = 64


def _import_runtime() -> tuple[Any, Any]:
    try:
        import tensorrt as trt
    except ImportError as error:
        raise BackendUnavailableError(
            "the tensorrt backend needs TensorRT and pycuda on a CUDA machine: pip install 'actionstream[gpu]'; "
            "on CPU use the onnxruntime backend"
        ) from error
    try:
        import pycuda.autoinit  # noqa: F401  (creates the CUDA context)
        import pycuda.driver as cuda
    except Exception as error:  # pycuda raises its own errors when no CUDA device or driver is present
        raise BackendUnavailableError(f"the tensorrt backend needs pycuda and a CUDA device: {error}") from error
    return trt, cuda


class TensorRTBackend:
    name = "tensorrt"

    def __init__(self, options: BackendOptions) -> None:
        if options.precision not in _SOURCES:
            raise ValueError(f"tensorrt precision must be one of {sorted(_SOURCES)}, got {options.precision!r}")
        trt, self._cuda = _import_runtime()
        onnx_path = options.model_dir / _SOURCES[options.precision]
        if not onnx_path.exists():
            raise BackendUnavailableError(f"{onnx_path} does not exist: run `actionstream export` first")
        self.precision = options.precision
        trt_logger = trt.Logger(trt.Logger.WARNING)
        engine_path = options.model_dir / f"encoder.{options.precision}.plan"
        if not engine_path.exists():
            engine_path.write_bytes(self._build_engine(trt, trt_logger, onnx_path, options.precision))
        self.engine = trt.Runtime(trt_logger).deserialize_cuda_engine(engine_path.read_bytes())
        self.context = self.engine.create_execution_context()
        self.stream = self._cuda.Stream()

    @staticmethod
    def _build_engine(trt: Any, trt_logger: Any, onnx_path: Any, precision: str) -> bytes:
        builder = trt.Builder(trt_logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, trt_logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(index)) for index in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
        config = builder.create_builder_config()
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        if precision == "int8":  # explicit quantisation: the QDQ nodes carry the calibrated scales
            config.set_flag(trt.BuilderFlag.INT8)
        image_shape = tuple(network.get_input(0).shape)[1:]
        profile = builder.create_optimization_profile()
        profile.set_shape(INPUT_NAME, (1, *image_shape), (32, *image_shape), (_MAX_BATCH, *image_shape))
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError(f"TensorRT failed to build a {precision} engine from {onnx_path}")
        logger.info("built a TensorRT %s engine from %s", precision, onnx_path)
        return bytes(serialized)

    def run(self, images: np.ndarray) -> EncoderOutput:
        outputs = [self._run_batch(images[start : start + _MAX_BATCH]) for start in range(0, len(images), _MAX_BATCH)]
        return EncoderOutput(
            features=np.concatenate([output[0] for output in outputs]),
            logits=np.concatenate([output[1] for output in outputs]),
        )

    def _run_batch(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cuda = self._cuda
        batch = np.ascontiguousarray(images, dtype=np.float32)
        self.context.set_input_shape(INPUT_NAME, batch.shape)
        host_outputs = {
            name: np.empty(tuple(self.context.get_tensor_shape(name)), dtype=np.float32) for name in OUTPUT_NAMES
        }
        device_input = cuda.mem_alloc(batch.nbytes)
        device_outputs = {name: cuda.mem_alloc(array.nbytes) for name, array in host_outputs.items()}
        self.context.set_tensor_address(INPUT_NAME, int(device_input))
        for name, allocation in device_outputs.items():
            self.context.set_tensor_address(name, int(allocation))
        cuda.memcpy_htod_async(device_input, batch, self.stream)
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError("TensorRT execution failed")
        for name, array in host_outputs.items():
            cuda.memcpy_dtoh_async(array, device_outputs[name], self.stream)
        self.stream.synchronize()
        return host_outputs["features"], host_outputs["logits"]
