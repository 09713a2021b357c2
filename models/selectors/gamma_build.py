"""`python -m models.selectors.gamma_build SELECTOR OUT PRECISION [OP ...]`: export a pickled GlobalSelector's
gamma path to ONNX at OUT (int8: its OP nodes' weights quantised). A process of its own, so the export (seconds
of Python holding the GIL) does not stall the worker that serves a model while it loads the next one."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import torch

from models.selectors.gamma_path import export_gamma_onnx, quantize_gamma_int8

NICENESS = 10  # the export yields the cores to the stream it is built for


def main(arguments: list[str]) -> None:
    selector_path, out_path, precision, *int8_ops = arguments
    os.nice(NICENESS)
    torch.set_num_threads(1)
    selector = torch.load(selector_path, weights_only=False)
    if precision != "int8":
        export_gamma_onnx(selector, Path(out_path))
        return
    with tempfile.TemporaryDirectory(prefix="actionstream-gamma-") as folder:
        quantize_gamma_int8(export_gamma_onnx(selector, Path(folder) / "gamma.onnx"), Path(out_path),
                            tuple(int8_ops))


if __name__ == "__main__":
    main(sys.argv[1:])
