"""The ONNX Runtime session options the encoder backend is built with."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from models.backends import BackendOptions
from models.backends.onnxruntime_backend import session_options


def test_threads_and_spinning_reach_the_session_options() -> None:
    configured = session_options(BackendOptions(Path("."), num_threads=1, allow_spinning=False))
    assert configured.intra_op_num_threads == 1
    assert configured.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert configured.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL


def test_runtime_defaults_stay_when_not_asked() -> None:
    configured = session_options(BackendOptions(Path(".")))
    assert configured.intra_op_num_threads == 0  # the runtime picks: one thread per core
    assert configured.get_session_config_entry("session.intra_op.allow_spinning") == "1"
