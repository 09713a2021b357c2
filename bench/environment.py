"""The software a benchmark ran on, recorded in its JSON line: the same seeds and clips train other classifiers on
another install (issue 11: uniform 0.469 on one, 0.531 on the next), so a figure that moves between two runs is
traced to the versions before anyone reads it as a change of the method."""

from __future__ import annotations

import platform
from importlib import metadata

import torch

RECORDED_PACKAGES = ("numpy", "onnxruntime")


def environment_versions(packages: tuple[str, ...] = RECORDED_PACKAGES) -> dict[str, str | int]:
    """Python's, torch's with its build (+cpu, +cu132: other kernels), each package's installed version ("not
    installed" when absent), and torch's intra-op threads, which change the order of floating-point sums and so what
    a seed trains."""
    versions: dict[str, str | int] = {"python": platform.python_version(), "torch": torch.__version__}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["torch_threads"] = torch.get_num_threads()
    return versions
