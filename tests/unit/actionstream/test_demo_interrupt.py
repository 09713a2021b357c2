"""Ctrl-C while the demo streams: it stops the processes, shows what they committed while stopping, and goes on
to the summary instead of ending without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionstream.demo import _Processes, stream_events
from infra.process import ManagedProcess


class _InterruptedReader:
    """A reader of the actions topic whose wait is cut by Ctrl-C."""

    def __init__(self) -> None:
        self.drained = False

    def poll(self, timeout: float) -> None:
        raise KeyboardInterrupt

    def drain(self) -> list[object]:
        self.drained = True
        return []


def test_ctrl_c_stops_the_processes_and_returns_for_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    honcho, cameras = ManagedProcess("honcho", tmp_path), ManagedProcess("honcho-cameras", tmp_path)
    for process in (honcho, cameras):
        process.start(["sleep", "30"])
    processes, reader = _Processes(honcho, cameras, timeout_s=5.0), _InterruptedReader()
    try:
        stream_events(reader, processes, 60.0, lambda event: None, keep_running=True)  # type: ignore[arg-type]
        assert not processes.is_running()  # stopped although --keep-open asked to keep them
        assert reader.drained
    finally:
        processes.stop()
    output = capsys.readouterr().out.splitlines()
    assert output[0].startswith("interrupted after 0 s: the summary covers what ran")
    assert output[1] == "stopping the processes"
