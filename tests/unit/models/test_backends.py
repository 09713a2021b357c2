"""Contract over every registered inference backend, and parity with torch fp32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn
from PIL import Image

from models.backends import (
    BackendOptions,
    BackendUnavailableError,
    backend_names,
    check_parity,
    create_backend,
    register_backend,
)
from models.backends.torch_backend import TorchBackend
from models.encoder import FrameEncoder
from models.export import ENCODER_ONNX, export_encoder_onnx
from models.preprocessing import Preprocessing
from models.quantization import quantize_encoder_int8

pytestmark = pytest.mark.slow  # ONNX export and int8 calibration take a few seconds

SAMPLE_IMAGES = Path(sklearn.__file__).parent / "datasets" / "images"


def _photo_crops(count: int, seed: int) -> np.ndarray:
    """Real photographs (the two sklearn samples), randomly cropped: realistic activations."""
    rng = np.random.default_rng(seed)
    photos = [np.asarray(Image.open(SAMPLE_IMAGES / name).convert("RGB")) for name in ("china.jpg", "flower.jpg")]
    crops = []
    for index in range(count):
        photo = photos[index % 2]
        side = int(rng.integers(160, 400))
        top, left = rng.integers(0, photo.shape[0] - side), rng.integers(0, photo.shape[1] - side)
        crops.append(Preprocessing()(photo[top : top + side, left : left + side])[0])
    return np.stack(crops)


@pytest.fixture(scope="module")
def encoder() -> FrameEncoder:
    return FrameEncoder()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, encoder: FrameEncoder) -> Path:
    directory = tmp_path_factory.mktemp("encoder")
    export_encoder_onnx(encoder, directory / ENCODER_ONNX)
    quantize_encoder_int8(directory / ENCODER_ONNX, directory / "encoder.int8.onnx", _photo_crops(16, seed=0))
    return directory


# The precisions each backend must serve on this machine; tensorrt must refuse clearly without TensorRT/CUDA.
CPU_PRECISIONS = {"torch": ["fp32"], "onnxruntime": ["fp32", "int8"], "tensorrt": []}


def test_every_registered_backend_is_covered() -> None:
    assert set(backend_names()) == set(CPU_PRECISIONS)


@pytest.mark.parametrize("name", backend_names())
def test_backend_contract(name: str, model_dir: Path, encoder: FrameEncoder) -> None:
    images = _photo_crops(4, seed=1)
    if not CPU_PRECISIONS[name]:
        with pytest.raises(BackendUnavailableError, match=r"TensorRT|CUDA|pycuda"):
            create_backend(name, BackendOptions(model_dir, precision="fp16", device="cuda"))
        return
    reference = TorchBackend(BackendOptions(model_dir), encoder)
    for precision in CPU_PRECISIONS[name]:
        backend = create_backend(name, BackendOptions(model_dir, precision=precision, num_threads=1))
        output = backend.run(images)
        assert output.features.shape == (4, 1280) and output.logits.shape == (4, 1000)
        assert output.features.dtype == np.float32
        parity = check_parity(reference, backend, images)
        if precision == "fp32":
            assert parity.max_abs_error_logits < 1e-3
            assert parity.top1_agreement == 1.0
        else:
            assert parity.top1_agreement >= 0.75
            assert parity.max_abs_error_logits < 5.0


def test_reduced_precision_torch_refuses_cpu(model_dir: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        create_backend("torch", BackendOptions(model_dir, precision="fp16"))


def test_onnxruntime_without_export_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="actionstream export"):
        create_backend("onnxruntime", BackendOptions(tmp_path))


def test_unknown_and_duplicate_backends_raise() -> None:
    with pytest.raises(KeyError, match="unknown inference backend"):
        create_backend("nope", BackendOptions(Path(".")))
    with pytest.raises(ValueError, match="already registered"):
        register_backend("torch", "models.backends.torch_backend:TorchBackend")
