"""The global selector's serving path: gamma of one window, every frame valid (stage 2), without the head.

At inference only gamma (eqs. 1-5) is read; the context and the step logits of the head (eqs. 6-7) are training
outputs. `GammaPath` computes gamma alone from the selector's own modules, and `OnnxGamma` runs its ONNX export
in ONNX Runtime, in fp32 or with the LSTM's weights in dynamic int8. Partners come from the caller, drawn with
its seeded generator, so every path sees the same draw and a replayed window gets the same scores.

Measured with `actionstream bench gamma --model demo-base` (285 windows of T=32 cut from the 72 shapes bench clips,
one thread, CPU time, median of 7 paired turns; speed over today's `GlobalSelector.scores`, 26 ms a window;
picks: the window's top-4 of delta * gamma equal to torch fp32's):
- torch, this path without the head: 0.97x [0.76-1.12], exact (the LSTM is 23 of the 27 ms; the head is not);
- torch with mkldnn off: 1.44x [0.98-1.84], 1.2e-7 (a process-wide flag, so not used);
- ONNX Runtime fp32: 1.78x [1.55-2.14], 1.8e-7, picks 1.000 (the default); a second run 1.73x [1.70-1.76];
- ONNX Runtime, LSTM weights int8: 5.18x [3.15-7.17], 1.9e-4, picks 1.000, gamma's own top-4 1.000 (with an int8
  encoder); a second run 4.69x [4.43-4.83], the same agreement;
- LSTM and MatMul weights int8: 8.30x [5.53-10.65], 9.8e-4, picks 0.997 but gamma's own top-4 0.954: the 1-wide
  attention and relation outputs decide near ties, so int8 covers the LSTM only.
Building a session (export, int8) took 4-27 s on the loaded machine, once per model version at warm-up.
"""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch
from torch import nn

from models.selectors.global_selector import GlobalSelector

logger = logging.getLogger(__name__)

GammaPrecision = Literal["fp32", "int8"]
LSTM_ONLY = ("LSTM",)
FRAMES_INPUT = "frames"
PARTNERS_INPUT = "partners"
GAMMA_OUTPUT = "gamma"


class GammaPath(nn.Module):
    """gamma [B,T] of windows whose T frames are all valid, from frames [B,T,D] and partners [B,T] (long);
    the same arithmetic as `GlobalSelector.forward` with an all-true mask, the head left out."""

    def __init__(self, selector: GlobalSelector) -> None:
        super().__init__()
        self.selector = selector

    def forward(self, frames: torch.Tensor, partners: torch.Tensor) -> torch.Tensor:
        selector = self.selector
        partner_frames = torch.gather(frames, 1, partners.unsqueeze(-1).expand_as(frames))
        pairs = torch.cat([frames, partner_frames], dim=-1)  # Z_i
        alpha = torch.sigmoid(selector.attention(pairs))  # eq. 1
        global_pair = (alpha * pairs).sum(dim=1, keepdim=True) / alpha.sum(dim=1, keepdim=True).clamp(min=1e-6)
        beta = torch.sigmoid(selector.relation(torch.cat([pairs, global_pair.expand_as(pairs)], dim=-1)))  # eq. 2
        weighed_pairs = beta * pairs
        steps = torch.cumsum(torch.ones_like(weighed_pairs[..., :1]), dim=1)  # t = 1..T
        omega = torch.cumsum(weighed_pairs, dim=1) / steps
        hidden, _ = selector.lstm(omega)  # eq. 3
        previous_hidden = torch.cat([torch.zeros_like(hidden[:, :1]), hidden[:, :-1]], dim=1)
        energy = selector.attend_score(torch.tanh(selector.attend_hidden(previous_hidden)
                                                  + selector.attend_input(omega))).squeeze(-1)
        temporal_attention = torch.softmax(energy, dim=1)  # eq. 4
        omega_summary = (temporal_attention.unsqueeze(-1) * omega).sum(dim=1, keepdim=True)
        weighed = weighed_pairs if selector.gamma_input == "frame" else omega
        return torch.sigmoid(selector.relation_temporal(
            torch.cat([weighed, omega_summary.expand_as(omega)], dim=-1))).squeeze(-1)  # eq. 5


class GammaScorer(Protocol):
    """gamma [T] of one window X [T,D] for the partner draw [T]."""

    def __call__(self, frames: np.ndarray, partners: np.ndarray) -> np.ndarray: ...


class TorchGamma:
    def __init__(self, selector: GlobalSelector) -> None:
        self.path = GammaPath(selector).eval()

    @torch.no_grad()
    def __call__(self, frames: np.ndarray, partners: np.ndarray) -> np.ndarray:
        gamma = self.path(torch.from_numpy(frames).unsqueeze(0), torch.from_numpy(partners).unsqueeze(0))
        return gamma[0].numpy()


def export_gamma_onnx(selector: GlobalSelector, path: Path) -> Path:
    """Export `GammaPath` with a dynamic number of frames; weights embedded in the one file."""
    frames = selector.attention.in_features // 2
    example = (torch.zeros(1, 4, frames), torch.zeros(1, 4, dtype=torch.long))
    steps = torch.export.Dim("frames", min=1, max=4096)
    # The exporter prints progress on stdout and warns about its own internals; neither is for the user.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(GammaPath(selector).eval(), example, str(path), input_names=[FRAMES_INPUT, PARTNERS_INPUT],
                          output_names=[GAMMA_OUTPUT], dynamic_shapes={FRAMES_INPUT: {1: steps},
                                                                       PARTNERS_INPUT: {1: steps}},
                          dynamo=True, external_data=False)
    return path


def quantize_gamma_int8(fp32_path: Path, int8_path: Path, op_types: tuple[str, ...] = LSTM_ONLY) -> Path:
    """Dynamic int8 weights of the `op_types` nodes (LSTM: DynamicQuantizeLSTM; MatMul: MatMulInteger);
    everything else stays fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Folding the exporter's weight reshapes first makes the LSTM's W and R initialisers, which the quantiser needs.
    prepared_path = int8_path.with_suffix(".prepared.onnx")
    root_logger = logging.getLogger()  # the quantiser advises pre-processing at WARNING on the root logger
    previous_level = root_logger.level
    root_logger.setLevel(max(previous_level, logging.ERROR))
    try:
        quant_pre_process(str(fp32_path), str(prepared_path), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared_path), str(int8_path), op_types_to_quantize=list(op_types),
                         weight_type=QuantType.QInt8)
    finally:
        root_logger.setLevel(previous_level)
        prepared_path.unlink(missing_ok=True)
    return int8_path


def build_in_child(selector: GlobalSelector, precision: GammaPrecision, int8_ops: tuple[str, ...]) -> bytes:
    """The ONNX model of `selector`'s gamma path, exported by `models.selectors.gamma_build` in a child process."""
    with tempfile.TemporaryDirectory(prefix="actionstream-gamma-") as folder:
        selector_path, model_path = Path(folder) / "selector.pt", Path(folder) / "gamma.onnx"
        torch.save(selector, selector_path)
        done = subprocess.run([sys.executable, "-m", "models.selectors.gamma_build", str(selector_path),
                               str(model_path), precision, *int8_ops], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"exporting the global selector's gamma path failed: {done.stderr.strip()[-2000:]}")
        return model_path.read_bytes()


class OnnxGamma:
    """`GammaPath` in ONNX Runtime. The export (and int8 quantisation) runs in a niced child process when the
    session is built, once per model version. Measured with one thread scoring windows (int8, ~10 ms each) while
    another loaded the next version: with the export on the loading thread, 11 s and windows stalled up to 728 ms
    (p99 309 ms); in the child, 27 s and windows up to 49 ms (p99 27 ms); loading a bundle alone, 24 ms at most."""

    def __init__(self, selector: GlobalSelector, precision: GammaPrecision = "fp32", num_threads: int = 1,
                 int8_ops: tuple[str, ...] = LSTM_ONLY) -> None:
        import onnxruntime as ort

        model = build_in_child(selector, precision, int8_ops)
        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = num_threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.precision = precision
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __call__(self, frames: np.ndarray, partners: np.ndarray) -> np.ndarray:
        inputs = {FRAMES_INPUT: np.ascontiguousarray(frames[None], np.float32), PARTNERS_INPUT: partners[None]}
        gamma: np.ndarray = self.session.run([GAMMA_OUTPUT], inputs)[0][0]
        return gamma
