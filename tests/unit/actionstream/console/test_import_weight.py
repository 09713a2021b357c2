"""The console is a light web process: serving the page loads neither torch nor the heavy libraries of the
processors (MLflow comes in only when the model panel first reads the registry)."""

from __future__ import annotations

import subprocess
import sys


def test_the_console_app_imports_no_runtime_or_heavy_library() -> None:
    watched = ["torch", "mlflow", "evidently", "faust", "feast", "av"]
    code = ("import sys\nimport actionstream.console.app, actionstream.console.feed, actionstream.console.cli\n"
            f"print(','.join(name for name in {watched!r} if name in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
