"""`bench pipeline`'s CPU accounting: CPU ms per published frame for each process of the stream, from
/proc/<pid>/stat (utime + stime) over the trial, and the split inside the selector worker from the phase
counters it exports (processors/selector/phases.py). The harness (the ffmpeg publishers standing in for the
cameras, the RTSP relay) gets rows of its own: it is not the stream's CPU, but it shares the machine's cores.

A process is counted with its descendants alive at the end of the trial; a descendant that exits during
the trial takes its CPU with it (none of the stream's processes starts any).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PHASE_METRIC = "actionstream_phase_{kind}_seconds"  # kind: cpu or wall; the parser drops a counter's _total

Ticks = dict[int, int]  # pid -> utime + stime, in clock ticks
BROKER_ROW = "broker JVM"
# The bench's stand-ins for the cameras: their CPU is not the stream's, but it shares the machine's cores.
HARNESS_PREFIX = "harness: "
PUBLISHERS_ROW = HARNESS_PREFIX + "ffmpeg publishers"
RTSP_RELAY_ROW = HARNESS_PREFIX + "RTSP relay"
KEPT_UP_SHARE = 0.99  # of the frames published, stage 1 scored at least this share: the trial measured their cost


def stat_cpu_ticks(stat_text: str) -> int:
    """utime + stime of a /proc/<pid>/stat line. The command name (field 2, in parentheses) may hold spaces
    and parentheses itself, so the fields are counted from the last ')': utime and stime are fields 14, 15."""
    fields = stat_text[stat_text.rindex(")") + 1:].split()
    return int(fields[11]) + int(fields[12])


def _read_ticks(path: Path) -> int | None:
    try:
        return stat_cpu_ticks(path.read_text())
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None  # exited meanwhile


def process_tree(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """The process and its live descendants (from every thread's children list)."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        for children in (proc / str(current) / "task").glob("*/children"):
            try:
                pending.extend(int(child) for child in children.read_text().split())
            except (FileNotFoundError, ProcessLookupError):
                continue
    return tree


def tree_ticks(pid: int, proc: Path = Path("/proc")) -> Ticks:
    ticks = {member: _read_ticks(proc / str(member) / "stat") for member in process_tree(pid, proc)}
    return {member: value for member, value in ticks.items() if value is not None}


def trees_ticks(pids: Iterable[int], proc: Path = Path("/proc")) -> Ticks:
    """Several processes' trees as one row (the cameras' publishers)."""
    merged: Ticks = {}
    for pid in pids:
        merged.update(tree_ticks(pid, proc))
    return merged


def _thread_ticks(pid: int, matches: Callable[[str], bool], proc: Path) -> Ticks:
    """CPU of the process's live threads whose name (comm) `matches`, by thread id."""
    ticks: Ticks = {}
    for task in (proc / str(pid) / "task").iterdir():
        try:
            if matches((task / "comm").read_text().strip()):
                value = _read_ticks(task / "stat")
                if value is not None:
                    ticks[int(task.name)] = value
        except (FileNotFoundError, ProcessLookupError):
            continue
    return ticks


def named_thread_ticks(pid: int, name: str, proc: Path = Path("/proc")) -> int | None:
    """CPU of the process's thread that named itself `name` (its comm), or None if it has none."""
    return next(iter(_thread_ticks(pid, lambda comm: comm == name, proc).values()), None)


# HotSpot's JIT compiler threads, "C1 CompilerThread0" and "C2 CompilerThread1" cut to the kernel's 15 characters.
_JIT_THREAD = re.compile(r"C\d CompilerThre")


def jit_compiler_ticks(pid: int, proc: Path = Path("/proc")) -> Ticks:
    """CPU of a JVM's live JIT compiler threads, by thread id. A fresh broker compiles for minutes after its
    start (bench pipeline K=4: its compiler threads took 15 % of a core, half the broker's CPU, in a trial
    ~1.5 min after the start), a cost a long-running broker has paid."""
    return _thread_ticks(pid, lambda comm: _JIT_THREAD.match(comm) is not None, proc)


def main_thread_ticks(pid: int, proc: Path = Path("/proc")) -> int:
    """The main thread's own CPU (its task has the process's id): the selector's event loop."""
    return _read_ticks(proc / str(pid) / "task" / str(pid) / "stat") or 0


def ticks_delta(before: Ticks, after: Ticks) -> int:
    """CPU ticks spent over the interval by the processes alive at its end (one started meanwhile from 0)."""
    return sum(value - before.get(pid, 0) for pid, value in after.items())


PhaseSeconds = dict[tuple[str, str, str], float]  # (stage, phase, thread) -> seconds


def frames_scored(metrics_text: str) -> float:
    """Frames stage 1 published, from a selector worker's /metrics text."""
    return sum(sample.value for family in text_string_to_metric_families(metrics_text)
               if family.name == "actionstream_records_out" for sample in family.samples
               if sample.name.endswith("_total") and sample.labels.get("stage") == "stage1")


def phase_seconds(metrics_text: str, kind: str = "cpu") -> PhaseSeconds:
    """The selector's phase counters of one kind (cpu or wall), from its /metrics text."""
    name = PHASE_METRIC.format(kind=kind)
    return {
        (sample.labels["stage"], sample.labels["phase"], sample.labels["thread"]): sample.value
        for family in text_string_to_metric_families(metrics_text) if family.name == name
        for sample in family.samples if sample.name.endswith("_total")
    }


def merged_phase_seconds(metrics_texts: list[str], kind: str = "cpu") -> PhaseSeconds:
    """The phase counters of all the selector's processes (a score and a window process split the stages)."""
    merged: PhaseSeconds = {}
    for text in metrics_texts:
        for key, seconds in phase_seconds(text, kind).items():
            merged[key] = merged.get(key, 0.0) + seconds
    return merged


@dataclass(frozen=True)
class CpuRow:
    part: str
    ms_per_frame: float
    wall_ms_per_frame: float | None = None  # phases: the wall-clock time they took (the encoder's other threads)


def ms_per_frame(seconds: float, frames: int) -> float:
    return round(seconds * 1000 / frames, 3) if frames else float("nan")


def process_rows(process_ticks: Mapping[str, int], frames: int) -> list[CpuRow]:
    return [CpuRow(name, ms_per_frame(ticks / CLOCK_TICKS_PER_S, frames)) for name, ticks in process_ticks.items()]


def selector_rows(process_ticks: int, event_loop_ticks: int, phases: Mapping[tuple[str, str, str], float],
                  frames: int, phase_walls: Mapping[tuple[str, str, str], float] | None = None) -> list[CpuRow]:
    """The selector's CPU split: each timed phase (both of its threads together), then the event loop's
    untimed rest (Faust fetching and delivering records of both stages, commits, timers) and the other
    threads' untimed rest (the encoder's intra-op threads, Kafka client threads). The rows add up to the
    processes' CPU (the score process's and the window process's together, when they are apart)."""
    merged: dict[str, float] = {}
    for (stage, phase, _thread), seconds in phases.items():
        merged[f"{stage} {phase}"] = merged.get(f"{stage} {phase}", 0.0) + seconds
    walls: dict[str, float] = {}
    for (stage, phase, _thread), seconds in (phase_walls or {}).items():
        walls[f"{stage} {phase}"] = walls.get(f"{stage} {phase}", 0.0) + seconds
    loop_timed = sum(seconds for (_, _, thread), seconds in phases.items() if thread == "event_loop")
    worker_timed = sum(seconds for (_, _, thread), seconds in phases.items() if thread != "event_loop")
    loop_s = event_loop_ticks / CLOCK_TICKS_PER_S
    others_s = (process_ticks - event_loop_ticks) / CLOCK_TICKS_PER_S
    rows = [CpuRow(part, ms_per_frame(seconds, frames),
                   ms_per_frame(walls[part], frames) if part in walls else None)
            for part, seconds in sorted(merged.items())]
    rows.append(CpuRow("event loop untimed (consume: Faust fetch/delivery, commits)",
                       ms_per_frame(loop_s - loop_timed, frames)))
    rows.append(CpuRow("other threads untimed (encoder intra-op, Kafka clients)",
                       ms_per_frame(others_s - worker_timed, frames)))
    return rows


@dataclass(frozen=True)
class CpuSnapshot:
    taken_at: float
    processes: dict[str, Ticks]  # process name -> its tree's ticks
    event_loop: int  # the selector's main thread, ticks
    phases: PhaseSeconds  # the selector's phase counters, CPU seconds
    phase_walls: PhaseSeconds  # and wall-clock seconds
    scored: float  # frames stage 1 scored so far
    broker_jit: Ticks = field(default_factory=dict)  # the broker JVM's JIT compiler threads, by thread id


@dataclass(frozen=True)
class CpuAccount:
    """CPU ms per frame between two snapshots: per process, per frame published; inside the selector, per frame
    it scored (a stage that falls behind scores fewer than were published)."""

    cameras: int
    frames: int
    scored: int
    seconds: float
    processes: list[CpuRow]
    selector: list[CpuRow]
    broker_jit_ms_per_frame: float | None = None  # part of the broker JVM's row
    machine_cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    def cores_busy(self, harness: bool) -> float:
        """Cores the stream's processes (or the harness's) kept busy on average over the trial."""
        ms = sum(row.ms_per_frame for row in self.processes if row.part.startswith(HARNESS_PREFIX) == harness)
        return round(ms * self.frames / 1000 / self.seconds, 3) if self.seconds > 0 else float("nan")

    def camera_ceiling(self) -> float | None:
        """Cameras the machine's cores could hold in this bench at this CPU per frame, every core busy and
        nothing to spare: an upper bound from CPU time alone (latency needs headroom below it). It counts the
        harness (its publishers share this machine's cores) but not the broker's JIT warm-up (a long-running
        broker has paid it). None when stage 1 fell behind: a trial that scores fewer frames than it publishes
        does not measure what a frame costs."""
        if self.scored < KEPT_UP_SHARE * self.frames or not self.cameras:
            return None
        warm_up_cores = (self.broker_jit_ms_per_frame or 0.0) * self.frames / 1000 / self.seconds
        busy = self.cores_busy(False) + self.cores_busy(True) - warm_up_cores
        return round(self.machine_cores * self.cameras / busy, 1) if busy > 0 else None

    def as_dict(self) -> dict[str, object]:
        return {"frames": self.frames, "frames_scored": self.scored, "seconds": round(self.seconds, 1),
                "processes_ms_per_frame": {row.part: row.ms_per_frame for row in self.processes},
                "cores_busy": {"stream": self.cores_busy(False), "harness": self.cores_busy(True),
                               "machine": self.machine_cores},
                "camera_ceiling": self.camera_ceiling(),
                "broker_jit_ms_per_frame": self.broker_jit_ms_per_frame,
                "selector_ms_per_frame": {row.part: row.ms_per_frame for row in self.selector},
                "selector_wall_ms_per_frame": {row.part: row.wall_ms_per_frame for row in self.selector
                                               if row.wall_ms_per_frame is not None}}

    def table(self) -> list[str]:
        lines = [f"CPU over {self.seconds:.0f} s, {self.frames} frames published (ms per frame):"]
        for row in self.processes:
            lines.append(f"  {row.part:<64} {row.ms_per_frame:8.3f}")
            if row.part == BROKER_ROW and self.broker_jit_ms_per_frame is not None:
                lines.append(f"    {'of which its JIT compiler threads (a fresh JVM warming up)':<62} "
                             f"{self.broker_jit_ms_per_frame:8.3f}")
        lines.append(f"  selector per frame it scored ({self.scored}), by phase (CPU; wall-clock time in the phase):")
        lines += [f"    {row.part:<62} {row.ms_per_frame:8.3f}"
                  + ("" if row.wall_ms_per_frame is None else f"   (wall {row.wall_ms_per_frame:.3f})")
                  for row in self.selector]
        ceiling = self.camera_ceiling()
        lines.append(f"  cores busy: the stream's processes {self.cores_busy(False):.2f}, the harness "
                     f"{self.cores_busy(True):.2f}, of this machine's {self.machine_cores}. " + (
                         f"At this CPU per frame they hold at most {ceiling:g} cameras, every core busy (the "
                         f"harness counted, the broker's JIT warm-up not)" if ceiling is not None else
                         f"No camera ceiling: stage 1 scored {self.scored} of the {self.frames} frames published"))
        return lines


def cpu_account(before: CpuSnapshot, after: CpuSnapshot, cameras: int, frames: int) -> CpuAccount:
    spent = {name: ticks_delta(before.processes.get(name, {}), ticks) for name, ticks in after.processes.items()}
    phases = {key: seconds - before.phases.get(key, 0.0) for key, seconds in after.phases.items()}
    walls = {key: seconds - before.phase_walls.get(key, 0.0) for key, seconds in after.phase_walls.items()}
    scored = round(after.scored - before.scored)
    jit = ms_per_frame(ticks_delta(before.broker_jit, after.broker_jit) / CLOCK_TICKS_PER_S, frames) \
        if after.broker_jit else None
    return CpuAccount(cameras, frames, scored, after.taken_at - before.taken_at, process_rows(spent, frames),
                      selector_rows(sum(ticks for name, ticks in spent.items()
                                        if name == "selector" or name.startswith("scorer")),
                                    after.event_loop - before.event_loop, phases, scored, walls), jit)
