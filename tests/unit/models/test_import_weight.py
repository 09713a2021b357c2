"""models/ must never pull in the wire side (Faust, Kafka) nor optional GPU runtimes at import."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "models.bundle", "models.backends", "models.selectors", "models.export", "models.cli", "models.registry",
    "models.runtime",
]


def test_models_import_no_kafka_faust_or_tensorrt() -> None:
    code = (
        f"import sys; import {', '.join(MODULES)}; "
        "bad = [m for m in ('faust', 'confluent_kafka', 'aiokafka', 'tensorrt', 'pycuda', 'mlflow') "
        "if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
