"""The wire side never imports torch; models never imports the wire side (Faust, Kafka)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _imported(modules: list[str], watched: list[str]) -> list[str]:
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {watched!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [name for name in result.stdout.strip().split(",") if name]


def test_wire_side_does_not_import_torch() -> None:
    modules = ["streams.cameras.adapter", "streams.cli", "infra.cli"]
    assert _imported(modules, ["torch", "torchvision"]) == []


@pytest.mark.parametrize("module", ["models"])
def test_models_does_not_import_the_wire_side(module: str) -> None:
    assert _imported([module], ["faust", "confluent_kafka", "aiokafka", "streams"]) == []
