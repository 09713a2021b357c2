"""PyTorch backend: fp32 anywhere; fp16 and bf16 on CUDA (reduced precision on CPU is slow and is refused)."""

from __future__ import annotations

import numpy as np
import torch

from models.backends.base import BackendOptions, BackendUnavailableError, EncoderOutput
from models.encoder import FrameEncoder

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class TorchBackend:
    name = "torch"

    def __init__(self, options: BackendOptions, encoder: FrameEncoder | None = None) -> None:
        if options.precision not in _DTYPES:
            raise ValueError(f"torch backend precision must be one of {sorted(_DTYPES)}, got {options.precision!r}")
        if options.precision != "fp32" and not options.device.startswith("cuda"):
            raise BackendUnavailableError(f"torch {options.precision} runs on CUDA only; use fp32 on {options.device}")
        if options.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailableError("torch backend asked for CUDA but no CUDA device is available")
        if options.num_threads > 0:
            torch.set_num_threads(options.num_threads)
        self.precision = options.precision
        self.device = torch.device(options.device)
        self.dtype = _DTYPES[options.precision]
        self.encoder = (encoder or FrameEncoder()).to(self.device, self.dtype).eval()

    @torch.inference_mode()
    def run(self, images: np.ndarray) -> EncoderOutput:
        batch = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(self.device, self.dtype)
        features, logits = self.encoder(batch)
        return EncoderOutput(features=features.float().cpu().numpy(), logits=logits.float().cpu().numpy())
