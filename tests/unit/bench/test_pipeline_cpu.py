"""The pipeline bench's CPU accounting: /proc stat text, process trees, the selector's phase counters and the
split of its CPU into rows that add up to the process's."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from bench.pipeline_cpu import (
    CLOCK_TICKS_PER_S,
    PUBLISHERS_ROW,
    RTSP_RELAY_ROW,
    CpuSnapshot,
    cpu_account,
    frames_scored,
    jit_compiler_ticks,
    merged_phase_seconds,
    named_thread_ticks,
    phase_seconds,
    stat_cpu_ticks,
    ticks_delta,
    tree_ticks,
    trees_ticks,
)
from processors.selector.stage1 import _name_os_thread


def _stat(pid: int, command: str, utime: int, stime: int) -> str:
    # Fields 3-13, then utime (14), stime (15), then the rest, as the kernel writes them.
    return f"{pid} ({command}) S 1 {pid} {pid} 0 -1 4194304 100 0 0 0 {utime} {stime} 7 9 20 0 3 0 1355776\n"


def test_utime_and_stime_are_read_after_a_command_name_with_spaces_and_parentheses() -> None:
    assert stat_cpu_ticks(_stat(42, "java", 1200, 34)) == 1234
    assert stat_cpu_ticks(_stat(43, "a) S 1 (b", 5, 6)) == 11


def test_this_process_stat_parses() -> None:
    assert stat_cpu_ticks(Path(f"/proc/{os.getpid()}/stat").read_text()) >= 0


def _fake_proc(root: Path, processes: dict[int, tuple[int, list[int]]]) -> Path:
    """pid -> (ticks, children): stat files and each main thread's children list."""
    for pid, (ticks, children) in processes.items():
        task = root / str(pid) / "task" / str(pid)
        task.mkdir(parents=True)
        (root / str(pid) / "stat").write_text(_stat(pid, "python", ticks, 0))
        (task / "children").write_text(" ".join(map(str, children)))
    return root


def test_a_process_counts_with_its_live_descendants(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, {10: (100, [11]), 11: (50, [12]), 12: (5, []), 20: (999, [])})
    assert tree_ticks(10, proc) == {10: 100, 11: 50, 12: 5}


def test_the_delta_counts_processes_alive_at_the_end_and_a_new_one_from_zero() -> None:
    assert ticks_delta({10: 100, 11: 50, 13: 70}, {10: 160, 11: 55, 14: 8}) == 60 + 5 + 8


def test_phase_counters_are_read_from_the_metrics_page() -> None:
    registry = CollectorRegistry()
    counter = Counter("actionstream_phase_cpu_seconds_total", "doc", ("stage", "phase", "thread"), registry=registry)
    counter.labels("stage1", "encoder", "worker").inc(2.5)
    counter.labels("stage2", "state", "event_loop").inc(0.25)
    wall = Counter("actionstream_phase_wall_seconds_total", "doc", ("stage", "phase", "thread"), registry=registry)
    wall.labels("stage1", "encoder", "worker").inc(4.0)
    text = generate_latest(registry).decode()
    assert phase_seconds(text, "cpu") == {("stage1", "encoder", "worker"): 2.5, ("stage2", "state", "event_loop"): 0.25}
    assert phase_seconds(text, "wall") == {("stage1", "encoder", "worker"): 4.0}


def test_frames_scored_are_stage_1_s_published_records() -> None:
    registry = CollectorRegistry()
    records = Counter("actionstream_records_out_total", "doc", ("stage",), registry=registry)
    records.labels("stage1").inc(96)
    records.labels("stage2").inc(3)
    assert frames_scored(generate_latest(registry).decode()) == 96


def test_the_selector_rows_add_up_to_its_process_cpu() -> None:
    tick = 1 / CLOCK_TICKS_PER_S
    before = CpuSnapshot(100.0, {"selector": {7: 0}, "broker JVM": {9: 0}}, 0,
                         {("stage1", "encoder", "worker"): 1.0}, {("stage1", "encoder", "worker"): 2.0}, 500.0)
    # 1000 frames published and scored; the selector spent 5 s (2 s on its event loop), the broker 1 s.
    phases = {("stage1", "encoder", "worker"): 3.0, ("stage1", "produce", "event_loop"): 0.5,
              ("stage2", "state", "event_loop"): 0.5}
    after = CpuSnapshot(145.0, {"selector": {7: round(5 / tick)}, "broker JVM": {9: round(1 / tick)}},
                        round(2 / tick), phases, {("stage1", "encoder", "worker"): 12.0}, 1500.0)
    account = cpu_account(before, after, cameras=4, frames=1000)
    assert account.seconds == 45.0
    assert {row.part: row.ms_per_frame for row in account.processes} == {"selector": 5.0, "broker JVM": 1.0}
    selector = {row.part: row.ms_per_frame for row in account.selector}
    assert selector["stage1 encoder"] == 2.0
    assert account.as_dict()["selector_wall_ms_per_frame"] == {"stage1 encoder": 10.0}
    assert selector["event loop untimed (consume: Faust fetch/delivery, commits)"] == 1.0
    assert selector["other threads untimed (encoder intra-op, Kafka clients)"] == 1.0
    assert sum(selector.values()) == pytest.approx(5.0)
    encoder_line = next(line for line in account.table() if line.strip().startswith("stage1 encoder"))
    assert encoder_line.endswith(" 2.000   (wall 10.000)")


def test_split_selector_processes_are_listed_apart_and_their_phases_and_cpu_split_together() -> None:
    tick = 1 / CLOCK_TICKS_PER_S
    registry = CollectorRegistry()
    scorer = Counter("actionstream_phase_cpu_seconds_total", "doc", ("stage", "phase", "thread"), registry=registry)
    scorer.labels("stage1", "encoder", "worker").inc(3.0)
    scorer_page = generate_latest(registry).decode()
    registry = CollectorRegistry()
    window = Counter("actionstream_phase_cpu_seconds_total", "doc", ("stage", "phase", "thread"), registry=registry)
    window.labels("stage2", "state", "event_loop").inc(0.5)
    phases = merged_phase_seconds([scorer_page, generate_latest(registry).decode()])
    assert phases == {("stage1", "encoder", "worker"): 3.0, ("stage2", "state", "event_loop"): 0.5}
    # 1000 frames: the score process spent 4 s, the window process 1 s (0.75 s on its event loop).
    before = CpuSnapshot(0.0, {"scorer": {7: 0}, "selector": {8: 0}}, 0, {}, {}, 0.0)
    after = CpuSnapshot(30.0, {"scorer": {7: round(4 / tick)}, "selector": {8: round(1 / tick)}}, round(0.75 / tick),
                        phases, {}, 1000.0)
    account = cpu_account(before, after, cameras=4, frames=1000)
    assert {row.part: row.ms_per_frame for row in account.processes} == {"scorer": 4.0, "selector": 1.0}
    selector = {row.part: row.ms_per_frame for row in account.selector}
    # The scorer's other threads (its idle main thread included) and the window process's.
    assert selector["other threads untimed (encoder intra-op, Kafka clients)"] == pytest.approx(1.25)
    assert selector["event loop untimed (consume: Faust fetch/delivery, commits)"] == pytest.approx(0.25)
    assert sum(selector.values()) == pytest.approx(5.0)


def test_a_thread_that_named_itself_has_its_own_cpu_read_and_an_unknown_name_none() -> None:
    ticks: list[int | None] = []

    def burn() -> None:
        _name_os_thread("bench-burner")
        deadline = time.thread_time() + 0.2
        while time.thread_time() < deadline:
            pass
        ticks.append(named_thread_ticks(os.getpid(), "bench-burner"))

    thread = threading.Thread(target=burn)
    thread.start()
    thread.join()
    assert ticks[0] is not None and ticks[0] >= 0.1 * CLOCK_TICKS_PER_S  # this thread's 0.2 s, not the process's
    assert named_thread_ticks(os.getpid(), "no-such-thread") is None


def test_a_jvm_s_jit_compiler_threads_are_read_by_their_names(tmp_path: Path) -> None:
    for tid, comm, ticks in [(9, "java", 100), (10, "C2 CompilerThre", 40), (11, "C1 CompilerThre", 7),
                             (12, "data-plane-kafk", 60)]:
        task = tmp_path / "9" / "task" / str(tid)
        task.mkdir(parents=True)
        (task / "comm").write_text(comm + "\n")
        (task / "stat").write_text(_stat(tid, comm, ticks, 1))
    assert jit_compiler_ticks(9, tmp_path) == {10: 41, 11: 8}


def test_the_broker_s_jit_share_is_printed_under_its_row_and_not_added_to_the_processes() -> None:
    tick = 1 / CLOCK_TICKS_PER_S
    before = CpuSnapshot(0.0, {"broker JVM": {9: 0}}, 0, {}, {}, 0.0, {10: 0, 11: round(1 / tick)})
    # 1000 frames: the broker spent 4 s, 1.5 s of it in its compiler threads (one started meanwhile, from 0).
    after = CpuSnapshot(30.0, {"broker JVM": {9: round(4 / tick)}}, 0, {}, {}, 0.0,
                        {10: round(1 / tick), 11: round(1.25 / tick), 12: round(0.25 / tick)})
    account = cpu_account(before, after, cameras=4, frames=1000)
    assert {row.part: row.ms_per_frame for row in account.processes} == {"broker JVM": 4.0}
    assert account.as_dict()["broker_jit_ms_per_frame"] == 1.5
    table = account.table()
    broker = next(index for index, line in enumerate(table) if line.strip().startswith("broker JVM"))
    assert table[broker + 1].strip().startswith("of which its JIT compiler threads")
    assert table[broker + 1].endswith(" 1.500")
    assert cpu_account(CpuSnapshot(0.0, {}, 0, {}, {}, 0.0), CpuSnapshot(1.0, {}, 0, {}, {}, 0.0),
                       cameras=1, frames=10).broker_jit_ms_per_frame is None


def test_several_publishers_trees_read_as_one_row(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, {10: (100, [11]), 11: (50, []), 20: (30, []), 30: (999, [])})
    assert trees_ticks([10, 20], proc) == {10: 100, 11: 50, 20: 30}


def test_cores_busy_keep_the_harness_apart_and_the_ceiling_scales_the_cameras_to_the_machine() -> None:
    tick = 1 / CLOCK_TICKS_PER_S
    before = CpuSnapshot(0.0, {"scorer": {7: 0}, "broker JVM": {9: 0}, PUBLISHERS_ROW: {20: 0},
                               RTSP_RELAY_ROW: {21: 0}}, 0, {}, {}, 0.0, {10: 0})
    # 50 s, 1600 frames of 4 cameras, all scored: the scorer 20 s, the broker 10 s of which 5 s its JIT
    # compilers (half a core busy for the stream without them), the harness 5 s (0.1 core).
    after = CpuSnapshot(50.0, {"scorer": {7: round(20 / tick)}, "broker JVM": {9: round(10 / tick)},
                               PUBLISHERS_ROW: {20: round(4 / tick)}, RTSP_RELAY_ROW: {21: round(1 / tick)}},
                        0, {}, {}, 1600.0, {10: round(5 / tick)})
    account = replace(cpu_account(before, after, cameras=4, frames=1600), machine_cores=2)
    assert account.cores_busy(harness=False) == 0.6
    assert account.cores_busy(harness=True) == 0.1
    # 0.6 core for 4 cameras: 2 cores hold 13.3 of them.
    assert account.camera_ceiling() == 13.3
    assert account.as_dict()["cores_busy"] == {"stream": 0.6, "harness": 0.1, "machine": 2}
    assert account.table()[-1] == ("  cores busy: the stream's processes 0.60, the harness 0.10, of this machine's 2."
                                   " At this CPU per frame they hold at most 13.3 cameras, every core busy (the"
                                   " harness counted, the broker's JIT warm-up not)")


def test_a_trial_whose_stage_1_fell_behind_gives_no_ceiling() -> None:
    tick = 1 / CLOCK_TICKS_PER_S
    before = CpuSnapshot(0.0, {"scorer": {7: 0}}, 0, {}, {}, 0.0)
    after = CpuSnapshot(50.0, {"scorer": {7: round(90 / tick)}}, 0, {}, {}, 2944.0)
    account = cpu_account(before, after, cameras=12, frames=4800)
    assert account.camera_ceiling() is None
    assert account.as_dict()["camera_ceiling"] is None
    assert account.table()[-1].endswith("No camera ceiling: stage 1 scored 2944 of the 4800 frames published")
