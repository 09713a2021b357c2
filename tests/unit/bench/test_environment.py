from __future__ import annotations

import platform

import numpy as np
import torch

from bench.environment import environment_versions


def test_the_versions_name_python_each_package_and_the_threads() -> None:
    versions = environment_versions(("numpy", "no-such-package-here"))
    assert versions["python"] == platform.python_version()
    assert versions["torch"] == torch.__version__  # with its build: a CPU and a CUDA wheel run other kernels
    assert versions["numpy"] == np.__version__
    assert versions["no-such-package-here"] == "not installed"
    assert isinstance(versions["torch_threads"], int) and versions["torch_threads"] >= 1
