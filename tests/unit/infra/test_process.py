"""Managed child processes (pid file, log file, stop, kill), port probing and log tails."""

from __future__ import annotations

import os
import select
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.process import ManagedProcess, port_is_open, tail


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[ManagedProcess]:
    process = ManagedProcess("sleeper", tmp_path / "state")
    yield process
    pid = process.pid()
    if pid is not None:  # a failed test must not leave its child behind
        os.killpg(pid, signal.SIGKILL)
        _wait_for_exit(pid)


def _wait_for_exit(pid: int) -> None:
    """Block until the process has exited, without sleeping or reaping it (subprocess may reap it first)."""
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already exited and reaped
    try:
        readable, _, _ = select.select([descriptor], [], [], 10.0)
        assert readable, f"pid {pid} did not exit"
    finally:
        os.close(descriptor)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_start_writes_pid_file_and_log(sleeper: ManagedProcess) -> None:
    pid = sleeper.start(["sleep", "30"])
    assert sleeper.pid_file == sleeper.state_dir / "sleeper.pid"
    assert int(sleeper.pid_file.read_text()) == pid
    assert sleeper.pid() == pid
    assert sleeper.is_running()
    assert "starting: sleep 30" in sleeper.log_file.read_text()
    assert os.getpgid(pid) == pid  # own session: a Ctrl-C in our terminal does not reach it


def test_stop_terminates_and_removes_pid_file(sleeper: ManagedProcess) -> None:
    pid = sleeper.start(["sleep", "30"])
    assert sleeper.stop(timeout_s=5.0) is True
    assert _gone(pid)
    assert not sleeper.pid_file.exists()
    assert not sleeper.is_running()
    assert sleeper.stop() is False  # nothing left to stop


def test_kill_ends_the_process(sleeper: ManagedProcess) -> None:
    pid = sleeper.start(["sleep", "30"])
    assert sleeper.kill() is True
    assert _gone(pid)
    assert not sleeper.pid_file.exists()


def test_stop_escalates_to_sigkill_when_the_signal_is_ignored(sleeper: ManagedProcess) -> None:
    # SIGCONT does not end `sleep`: stop must fall back to SIGKILL after its timeout.
    pid = sleeper.start(["sleep", "30"])
    assert sleeper.stop(timeout_s=0.2, sig=signal.SIGCONT) is True
    assert _gone(pid)


def test_stale_pid_file_means_not_running(tmp_path: Path) -> None:
    process = ManagedProcess("ghost", tmp_path)
    process.pid_file.write_text("not a pid")
    assert process.pid() is None
    assert process.stop() is False
    assert not process.pid_file.exists()


def test_child_gets_extra_environment_and_its_exit_is_noticed(sleeper: ManagedProcess) -> None:
    pid = sleeper.start(["sh", "-c", 'echo "value=$ACTIONSTREAM_TEST_VALUE"'], env={"ACTIONSTREAM_TEST_VALUE": "42"})
    _wait_for_exit(pid)  # the child finishes on its own
    assert "value=42" in sleeper.log_file.read_text()
    assert not sleeper.is_running()
    assert sleeper.stop() is False
    assert not sleeper.pid_file.exists()


def test_port_is_open() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_is_open("127.0.0.1", port)


def test_port_is_closed() -> None:
    # Bound but not listening: the port is reserved for this test and refuses connections.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        assert not port_is_open("127.0.0.1", reserved.getsockname()[1])


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    assert tail(log) == "(no log)"
    log.write_text("".join(f"line {n}\n" for n in range(30)))
    assert tail(log, lines=3) == "line 27\nline 28\nline 29"
    assert tail(log).splitlines()[0] == "line 10"


def test_tail_survives_binary_garbage(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    log.write_bytes(b"ok\n\xff\xfe broken\n")
    assert tail(log).splitlines()[0] == "ok"
