"""The Procfile runner gives a process that stops slowly its grace period instead of honcho's 5 s SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.procfile_runner import STOP_GRACE_ENV

# `quick` ends at once, which makes honcho stop the rest; `slow` needs 6 s to stop after SIGTERM.
SLOW_STOPPER = """\
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: (time.sleep(6), sys.exit(0)))
time.sleep(60)
"""


def test_a_slow_stop_within_the_grace_period_is_not_killed(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    stopper = tmp_path / "slow.py"
    stopper.write_text(SLOW_STOPPER)
    procfile.write_text(f"quick: sleep 1\nslow: exec {sys.executable} {stopper}\n")
    result = subprocess.run(
        [sys.executable, "-m", "infra.procfile_runner", "start", "--no-colour", "-f", str(procfile)],
        env={**os.environ, STOP_GRACE_ENV: "20"}, capture_output=True, text=True, timeout=60,
    )
    assert "slow.1 stopped (rc=0)" in result.stdout, result.stdout
    assert "SIGKILL" not in result.stdout
