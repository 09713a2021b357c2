from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.backends import EncoderOutput
from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.export import ENCODER_INT8_ONNX
from models.preprocessing import Preprocessing
from models.runtime import SmartRuntime, WarmUp, resolve_precision


class ConstantBackend:
    name = "constant"
    precision = "fp32"

    def __init__(self) -> None:
        self.passes: list[tuple[int, ...]] = []  # the input shape of every pass

    def run(self, images: np.ndarray) -> EncoderOutput:
        self.passes.append(images.shape)
        rng = np.random.default_rng(len(images))
        return EncoderOutput(rng.normal(size=(len(images), 1280)).astype(np.float32),
                             rng.normal(size=(len(images), 1000)).astype(np.float32))


@pytest.fixture
def runtime(tmp_path: Path) -> SmartRuntime:
    torch.manual_seed(0)
    architecture = Architecture(shared_hidden_dim=8, single_hidden_dim=8, global_hidden_dim=8)
    single, global_, classifier = build_modules(architecture, num_classes=3)
    manifest = Manifest(classes=["a", "b", "c"], architecture=architecture, num_candidates=8, num_frames=3)
    table = np.random.default_rng(0).normal(size=(1000, 384)).astype(np.float32)
    ModelBundle(manifest, Preprocessing(image_size=32), table, single, global_, classifier).save(tmp_path)
    return SmartRuntime(ModelBundle.load(tmp_path), ConstantBackend())


def test_two_stages_from_frames_to_class_probabilities(runtime: SmartRuntime) -> None:
    frames = np.zeros((8, 40, 40, 3), dtype=np.uint8)
    representation = runtime.encode(frames)
    assert representation.shape == (8, 1664)
    deltas = runtime.frame_scores(representation)
    assert deltas.shape == (8,) and bool(((deltas > 0) & (deltas < 1)).all())
    selected = runtime.select(representation)
    assert len(selected) == 3 and list(selected) == sorted(selected)
    assert np.array_equal(selected, runtime.select(representation)), "same window, same selection"
    assert len(runtime.select(representation, strategy="dense")) == 8
    probabilities = runtime.classify(representation[selected])
    assert probabilities.shape == (3,) and probabilities.sum() == pytest.approx(1.0, rel=1e-5)
    assert runtime.classes == ["a", "b", "c"]


class PerImageBackend:
    """Outputs that depend on each image alone, and a record of the pass sizes it was given."""

    name = "per-image"
    precision = "fp32"

    def __init__(self) -> None:
        self.pass_sizes: list[int] = []

    def run(self, images: np.ndarray) -> EncoderOutput:
        self.pass_sizes.append(len(images))
        means = images.reshape(len(images), -1).mean(axis=1, keepdims=True).astype(np.float32)
        return EncoderOutput(np.repeat(means, 1280, axis=1), np.repeat(means, 1000, axis=1) * np.arange(1000))


def test_encoding_in_passes_matches_one_pass(runtime: SmartRuntime) -> None:
    frames = np.random.default_rng(1).integers(0, 256, size=(7, 40, 40, 3), dtype=np.uint8)
    backend = PerImageBackend()
    runtime.backend = backend
    whole = runtime.encode(frames)
    in_passes = runtime.encode(frames, pass_size=3)
    assert backend.pass_sizes == [7, 3, 3, 1]
    np.testing.assert_allclose(in_passes, whole, rtol=1e-6)


@pytest.mark.parametrize(("asked", "backend", "device", "int8_file", "runs"), [
    ("auto", "onnxruntime", "cpu", True, "int8"),
    ("auto", "onnxruntime", "cpu", False, "fp32"),  # a bundle exported without the int8 encoder
    ("auto", "onnxruntime", "cuda", True, "fp32"),
    ("auto", "torch", "cpu", True, "fp32"),
    ("fp32", "onnxruntime", "cpu", True, "fp32"),
    ("int8", "onnxruntime", "cpu", False, "int8"),  # asked for: the backend says what to export
])
def test_auto_precision_is_int8_only_for_onnxruntime_on_a_cpu_with_the_int8_encoder(
    tmp_path: Path, asked: str, backend: str, device: str, int8_file: bool, runs: str
) -> None:
    if int8_file:
        (tmp_path / ENCODER_INT8_ONNX).write_bytes(b"")
    assert resolve_precision(asked, backend, device, tmp_path) == runs


def test_warm_up_runs_each_named_part_once_at_the_sizes_named(runtime: SmartRuntime,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, tuple[int, ...]]] = []
    for part in ("frame_scores", "global_scores", "classify_batch"):
        original = getattr(runtime, part)

        def spy(representation: object, *args: object, _part: str = part, _original: object = original) -> object:
            shape = tuple(representation[0].shape) if isinstance(representation, list) else representation.shape
            calls.append((_part, shape))
            return _original(representation, *args)  # type: ignore[operator]

        monkeypatch.setattr(runtime, part, spy)
    backend = runtime.backend
    assert isinstance(backend, ConstantBackend)

    runtime.warm_up(WarmUp(encoder_passes=(2, 1, 2)))
    assert backend.passes == [(1, 3, 32, 32), (2, 3, 32, 32)]
    assert calls == [("frame_scores", (1, 1664)), ("frame_scores", (2, 1664))]

    backend.passes.clear()
    calls.clear()
    runtime.warm_up(WarmUp(window_frames=32, clips=True))
    assert backend.passes == []
    assert calls == [("global_scores", (32, 1664)), ("classify_batch", (3, 1664))]  # the bundle's n = 3

    calls.clear()
    runtime.warm_up(WarmUp())
    assert calls == [] and backend.passes == []
