"""The int8 encoder: layer groups found in the exported graph, the recipe file, determinism, and its ImageNet
top-1 agreement with fp32 on generator frames it was not calibrated on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.backends import BackendOptions, create_backend
from models.encoder import FrameEncoder
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX, export_encoder_onnx
from models.preprocessing import Preprocessing
from models.quantization import Int8Settings, calibration_stride, layer_groups, read_int8_recipe
from training.calibration import CalibrationSettings, build_int8_encoder, synthetic_calibration_frames

pytestmark = pytest.mark.slow  # ONNX export and calibration take about half a minute

# Few calibration frames keep the test short; the bench's recipe uses CalibrationSettings() defaults.
CALIBRATION = CalibrationSettings(synthetic_frames=64)
HELD_OUT = CalibrationSettings(synthetic_frames=48, seed=123, sizes=((320, 240),))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("int8")
    export_encoder_onnx(FrameEncoder(), directory / ENCODER_ONNX)
    build_int8_encoder(directory / ENCODER_ONNX, directory / ENCODER_INT8_ONNX, Preprocessing(),
                       calibration=CALIBRATION)
    return directory


def _logits(model_dir: Path, precision: str, images: np.ndarray) -> np.ndarray:
    backend = create_backend("onnxruntime", BackendOptions(model_dir, precision=precision, num_threads=1))
    return backend.run(images).logits


def test_layer_groups_follow_the_architecture(model_dir: Path) -> None:
    groups = layer_groups(model_dir / ENCODER_ONNX)
    assert len(groups["stem"]) == 1 and len(groups["head"]) == 1 and len(groups["classifier"]) == 1
    assert len(groups["depthwise"]) == 16  # one per MBConv block of EfficientNet-Lite0


def test_recipe_is_written_beside_the_model(model_dir: Path) -> None:
    recipe = read_int8_recipe(model_dir)
    assert recipe is not None
    assert recipe["settings"] == Int8Settings().model_dump(mode="json")
    assert recipe["calibration_frames"] == CALIBRATION.synthetic_frames


def test_int8_keeps_the_fp32_top1(model_dir: Path) -> None:
    preprocessing = Preprocessing()
    images = np.stack([preprocessing(frame)[0] for frame in synthetic_calibration_frames(HELD_OUT)])
    reference = _logits(model_dir, "fp32", images)
    int8 = _logits(model_dir, "int8", images)
    agreement = float((int8.argmax(axis=1) == reference.argmax(axis=1)).mean())
    assert agreement >= 0.85


def test_the_recipe_is_deterministic_and_quiet(model_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    again = build_int8_encoder(model_dir / ENCODER_ONNX, tmp_path / ENCODER_INT8_ONNX, Preprocessing(),
                               calibration=CALIBRATION)
    assert again.read_bytes() == (model_dir / ENCODER_INT8_ONNX).read_bytes()
    assert capsys.readouterr().out == ""  # nothing on stdout: commands end with a JSON line


@pytest.mark.parametrize(("batches", "most", "expected"), [(64, 4, 4), (6, 4, 3), (7, 4, 1), (2, 4, 2)])
def test_calibration_passes_divide_the_batches(batches: int, most: int, expected: int) -> None:
    assert calibration_stride(batches, most) == expected
