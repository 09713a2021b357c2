"""The motion CNN's ONNX export and int8 copy: fp32 ONNX computes what torch computes, calibration draws training
candidates, and int8 keeps the top-1 of a CNN trained (by the recipe's own training) to tell two motions apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from models.motion_export import (
    MOTION_INT8_ONNX,
    MOTION_ONNX,
    MotionInt8Settings,
    OnnxMotionModel,
    calibration_stacks,
    export_motion_onnx,
    quantize_motion_int8,
)
from training.motion_energy import MotionEnergySettings, train_on_energy_picks
from training.motion_probe import MotionData

SIZE, DEPTH = 32, 3


def _bar_stacks(labels: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """[N,steps,DEPTH,SIZE,SIZE] float16: noise with a bar that moved somewhere, horizontal for class 0, vertical
    for class 1."""
    rng = np.random.default_rng(seed)
    stacks = rng.normal(0.0, 0.3, (len(labels), steps, DEPTH, SIZE, SIZE)).astype(np.float32)
    for clip, label in enumerate(labels):
        for step in range(steps):
            row, column = rng.integers(4, SIZE - 12, 2)
            bar = (slice(row, row + 2), slice(column, column + 10)) if label == 0 else \
                (slice(row, row + 10), slice(column, column + 2))
            stacks[clip, step, :, bar[0], bar[1]] += rng.choice([-2.0, 2.0])
    return stacks.astype(np.float16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path, np.ndarray]:
    """A CNN trained on bar clips, exported and quantised on those training stacks."""
    labels = np.arange(16) % 2
    train = MotionData(_bar_stacks(labels, 4, seed=0), np.ones((16, 4), dtype=bool), labels)
    settings = MotionEnergySettings(num_candidates=4, picks_per_clip=4, width=16, epochs=25, batch_size=16,
                                    max_roll_px=2, past_differences=DEPTH, following_differences=0,
                                    selector_energy="newest")  # the stacks as loaded: the export reads DEPTH channels
    model = train_on_energy_picks(train, 2, settings)
    directory = tmp_path_factory.mktemp("motion-int8")
    export_motion_onnx(model, directory / MOTION_ONNX, DEPTH, SIZE)
    quantize_motion_int8(directory / MOTION_ONNX, directory / MOTION_INT8_ONNX,
                         calibration_stacks(train.stacks, 64, seed=0), MotionInt8Settings())
    return model.eval(), directory, train.stacks


def _held_out() -> tuple[torch.Tensor, np.ndarray]:
    labels = np.arange(64) % 2
    return torch.from_numpy(_bar_stacks(labels, 1, seed=1)[:, 0].astype(np.float32)), labels


def test_fp32_onnx_computes_what_torch_computes_at_any_batch(trained: tuple[torch.nn.Module, Path, np.ndarray]) -> None:
    model, directory, _ = trained
    stacks, _ = _held_out()
    exported = OnnxMotionModel(directory / MOTION_ONNX)
    with torch.no_grad():
        for batch in (1, 5, 64):
            assert torch.allclose(exported(stacks[:batch]), model(stacks[:batch]), atol=1e-4)


def test_fp32_onnx_gives_the_encoder_features_beside_the_logits(
        trained: tuple[torch.nn.Module, Path, np.ndarray]) -> None:
    model, directory, _ = trained
    stacks, _ = _held_out()
    features, logits = OnnxMotionModel(directory / MOTION_ONNX).features_and_logits(stacks[:5])
    with torch.no_grad():
        assert torch.allclose(features, model[0](stacks[:5]), atol=1e-4)
        assert torch.allclose(logits, model(stacks[:5]), atol=1e-4)


def test_int8_keeps_the_fp32_top1(trained: tuple[torch.nn.Module, Path, np.ndarray]) -> None:
    model, directory, _ = trained
    stacks, labels = _held_out()
    with torch.no_grad():
        reference = model(stacks).argmax(dim=1)
    assert (reference.numpy() == labels).mean() >= 0.9  # the CNN tells the motions apart: the top-1 means something
    int8 = OnnxMotionModel(directory / MOTION_INT8_ONNX)(stacks).argmax(dim=1)
    assert (int8 == reference).float().mean() >= 0.95


def test_the_first_convolution_and_the_head_stay_fp32(trained: tuple[torch.nn.Module, Path, np.ndarray]) -> None:
    _, directory, _ = trained
    graph = onnx.load(str(directory / MOTION_INT8_ONNX)).graph
    producers = {output: node for node in graph.node for output in node.output}
    layers = [node for node in graph.node if node.op_type in ("Conv", "Gemm")]
    quantized = [node.input[1] in producers and producers[node.input[1]].op_type == "DequantizeLinear"
                 for node in layers]
    assert quantized == [False, True, True, True, True, False]  # five convolutions, then the head
    # the int8 convolutions' ReLUs are fused into their output ranges; the fp32 first convolution keeps its own
    assert sum(node.op_type == "Relu" for node in graph.node) == 1


def test_calibration_draws_distinct_training_candidates() -> None:
    stacks = np.arange(3 * 4 * DEPTH * 2 * 2, dtype=np.float16).reshape(3, 4, DEPTH, 2, 2)
    drawn = calibration_stacks(stacks, 5, seed=0)
    assert drawn.shape == (5, DEPTH, 2, 2) and drawn.dtype == np.float32
    candidates = {stacks[clip, step].tobytes(): (clip, step) for clip in range(3) for step in range(4)}
    assert len({candidates[row.astype(np.float16).tobytes()] for row in drawn}) == 5
    assert len(calibration_stacks(stacks, 100, seed=0)) == 12  # no more than there are
