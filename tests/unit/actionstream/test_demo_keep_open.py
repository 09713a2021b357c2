"""`actionstream demo --keep-open`: after the summary the demo holds the processes up until Ctrl-C (or a plain
`kill`), or until a process of the Procfile exits."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from actionstream.demo import _Processes, wait_for_interrupt
from infra.process import ManagedProcess


def _processes(state_dir: Path, seconds: float) -> _Processes:
    honcho, cameras = ManagedProcess("honcho", state_dir), ManagedProcess("honcho-cameras", state_dir)
    for process in (honcho, cameras):
        process.start(["sleep", str(seconds)])
    return _Processes(honcho, cameras, timeout_s=5.0)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_ends_the_wait_and_leaves_the_stopping_to_the_caller(
    stop: signal.Signals, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    handlers = {signal.SIGINT: signal.getsignal(signal.SIGINT), signal.SIGTERM: signal.getsignal(signal.SIGTERM)}
    processes = _processes(tmp_path, 30)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), stop))
    timer.start()
    try:
        wait_for_interrupt(processes, "http://127.0.0.1:10364")
        assert processes.is_running()
    finally:
        timer.cancel()
        processes.stop()
    output = capsys.readouterr().out
    assert "the stack keeps running (console: http://127.0.0.1:10364); Ctrl-C stops everything" in output
    assert output.rstrip().endswith("stopping")
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers  # the process's own handlers are back


def test_a_process_that_exits_ends_the_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    processes = _processes(tmp_path, 0.5)
    wait_for_interrupt(processes, None)
    assert "a process of the Procfile exited" in capsys.readouterr().out
