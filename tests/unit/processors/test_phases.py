"""The selector's phase timers: CPU and wall seconds per phase, labelled with the kind of thread that ran it."""

from __future__ import annotations

import threading
import time

from prometheus_client import REGISTRY

from processors.selector.phases import Phase, timed


def _seconds(kind: str, phase: Phase, thread: str) -> float:
    value = REGISTRY.get_sample_value(f"actionstream_phase_{kind}_seconds_total",
                                      {"stage": phase.stage, "phase": phase.label, "thread": thread})
    return value or 0.0


def _busy(seconds: float) -> None:
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def test_a_phase_adds_its_thread_cpu_and_wall_time_under_its_thread_kind() -> None:
    cpu_before, wall_before = _seconds("cpu", Phase.ENCODE, "event_loop"), _seconds("wall", Phase.ENCODE, "event_loop")
    with timed(Phase.ENCODE):
        _busy(0.02)
    assert _seconds("cpu", Phase.ENCODE, "event_loop") - cpu_before >= 0.02
    assert _seconds("wall", Phase.ENCODE, "event_loop") - wall_before >= 0.02



def test_a_phase_run_in_another_thread_counts_as_a_worker_thread_s() -> None:
    worker_before, loop_before = _seconds("cpu", Phase.SELECT, "worker"), _seconds("cpu", Phase.SELECT, "event_loop")

    def in_worker() -> None:
        with timed(Phase.SELECT):
            _busy(0.01)

    thread = threading.Thread(target=in_worker)
    thread.start()
    thread.join()
    assert _seconds("cpu", Phase.SELECT, "worker") - worker_before >= 0.01
    assert _seconds("cpu", Phase.SELECT, "event_loop") == loop_before


def test_every_phase_names_its_stage() -> None:
    assert {phase.stage for phase in Phase} == {"stage1", "stage2"}
    assert Phase.CHANGELOG.label == "changelog_writes"
