"""The global selector's serving path (gamma without the head) against its training forward, in torch and in
ONNX Runtime fp32 and int8, on tiny random selectors; and stage 2's `global_scores` on each backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.preprocessing import Preprocessing
from models.runtime import SmartRuntime
from models.selectors.gamma_path import OnnxGamma, TorchGamma
from models.selectors.global_selector import GammaInput, GlobalSelector, draw_partners

FRAME_DIM = 24
PICKS = 3


def _selector(gamma_input: GammaInput) -> GlobalSelector:
    torch.manual_seed(0)
    return GlobalSelector(FRAME_DIM, num_classes=3, hidden_dim=16, gamma_input=gamma_input).eval()


def _window(frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random window [T,D] and a seeded partner draw for it [T]."""
    window = np.random.default_rng(seed).normal(size=(frames, FRAME_DIM)).astype(np.float32)
    mask = torch.ones((1, frames), dtype=torch.bool)
    partners = draw_partners(mask, torch.Generator().manual_seed(seed))
    return window, partners[0].numpy()


def _forward_gamma(selector: GlobalSelector, window: np.ndarray, partners: np.ndarray) -> np.ndarray:
    mask = torch.ones((1, len(window)), dtype=torch.bool)
    with torch.no_grad():
        output = selector(torch.from_numpy(window).unsqueeze(0), mask, torch.from_numpy(partners).unsqueeze(0))
    return output.gamma[0].numpy()


def _picks(gamma: np.ndarray) -> set[int]:
    return set(np.argsort(-gamma, kind="stable")[:PICKS].tolist())


@pytest.mark.parametrize("gamma_input", ["frame", "cumulative"])
def test_torch_gamma_path_is_the_forward_without_its_head(gamma_input: GammaInput) -> None:
    selector = _selector(gamma_input)
    path = TorchGamma(selector)
    for frames in (1, 2, 9, 32):
        window, partners = _window(frames, seed=frames)
        np.testing.assert_allclose(path(window, partners), _forward_gamma(selector, window, partners), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("gamma_input", ["frame", "cumulative"])
def test_onnx_gamma_equals_torch_in_fp32_and_picks_the_same_in_int8(gamma_input: GammaInput) -> None:
    selector = _selector(gamma_input)
    fp32, int8 = OnnxGamma(selector, "fp32"), OnnxGamma(selector, "int8")
    for frames in (1, 2, 9, 32):  # one export serves every window length
        window, partners = _window(frames, seed=frames)
        reference = _forward_gamma(selector, window, partners)
        np.testing.assert_allclose(fp32(window, partners), reference, atol=1e-6)
        np.testing.assert_allclose(int8(window, partners), reference, atol=1e-2)
        if frames > PICKS:
            assert _picks(fp32(window, partners)) == _picks(reference)


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    architecture = Architecture(shared_hidden_dim=8, single_hidden_dim=8, global_hidden_dim=8, global_draws=2)
    single, global_, classifier = build_modules(architecture, num_classes=3)
    manifest = Manifest(classes=["a", "b", "c"], architecture=architecture, num_candidates=8, num_frames=PICKS)
    table = np.random.default_rng(0).normal(size=(1000, 384)).astype(np.float32)
    ModelBundle(manifest, Preprocessing(image_size=32), table, single, global_, classifier).save(tmp_path)
    return tmp_path


class _Encoder:
    name = "none"

    def __init__(self, precision: str) -> None:
        self.precision = precision


@pytest.mark.slow
def test_global_scores_on_onnxruntime_equal_torch_and_follow_the_encoder_precision(bundle_dir: Path) -> None:
    bundle = ModelBundle.load(bundle_dir)
    torch_runtime = SmartRuntime(bundle, _Encoder("fp32"), gamma_backend="torch")  # type: ignore[arg-type]
    onnx_runtime = SmartRuntime(bundle, _Encoder("fp32"), gamma_backend="onnxruntime")  # type: ignore[arg-type]
    window = np.random.default_rng(5).normal(size=(12, 1664)).astype(np.float32)
    frames, mask = torch.from_numpy(window).unsqueeze(0), torch.ones((1, 12), dtype=torch.bool)
    # Today's scores: two seeded partner draws averaged (the bundle's global_draws), training forward.
    expected = bundle.global_.eval().scores(frames, mask, torch.Generator().manual_seed(7), draws=2)[0].numpy()
    np.testing.assert_allclose(torch_runtime.global_scores(window, seed=7), expected, atol=1e-6)
    np.testing.assert_allclose(onnx_runtime.global_scores(window, seed=7), expected, atol=1e-6)
    assert isinstance(onnx_runtime.gamma_scorer(), OnnxGamma) and onnx_runtime.gamma_scorer().precision == "fp32"

    int8_runtime = SmartRuntime(bundle, _Encoder("int8"), gamma_backend="onnxruntime")  # type: ignore[arg-type]
    scorer = int8_runtime.gamma_scorer()
    assert isinstance(scorer, OnnxGamma) and scorer.precision == "int8"
    np.testing.assert_allclose(int8_runtime.global_scores(window, seed=7), expected, atol=1e-2)
