"""Where a selector worker's time goes: CPU and wall seconds per phase of stage 1 and stage 2, as two counters.

CPU is the calling thread's (`time.thread_time`, about a microsecond a call), so each phase is timed in the
thread that runs it and never across an `await` (other coroutines would be counted), and labelled with that
thread's kind: the event loop (the main thread) or a worker thread. What no phase covers, Faust's fetching and
delivery on the event loop and the encoder's intra-op threads, is the rest of the process's CPU, which
`bench pipeline` reads from /proc (the main thread apart).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from prometheus_client import Counter

PHASE_CPU_SECONDS = Counter("actionstream_phase_cpu_seconds_total",
                            "CPU seconds of the thread running a phase of a selector stage.",
                            ("stage", "phase", "thread"))
PHASE_WALL_SECONDS = Counter("actionstream_phase_wall_seconds_total",
                             "Wall-clock seconds spent in a phase of a selector stage.", ("stage", "phase", "thread"))


class Phase(StrEnum):
    """The timed phases, each with its stage as the prefix of its value."""

    CONSUME = "stage1/consume"  # batched engine: records taken from the consumer (wall: the wait for them too)
    DECODE = "stage1/jpeg_decode"  # headers, limits, JPEG decode and resize to the encoder's input size
    PREPROCESS = "stage1/preprocessing"  # the bundle's normalisation to the encoder's input tensor
    ENCODE = "stage1/encoder"  # encoder backend and the frame representation X_i
    PACK = "stage1/packing"  # delta_i, quality stats, scored-frame records serialised
    PRODUCE = "stage1/produce"  # scored frames handed to the producer
    STATE = "stage2/state"  # the camera's window state read, updated and serialised
    CHANGELOG = "stage2/changelog_writes"  # table writes (each one a changelog record)
    SELECT = "stage2/selection"  # global selector, fusion and top-n of a closed window

    @property
    def stage(self) -> str:
        return self.value.split("/")[0]

    @property
    def label(self) -> str:
        return self.value.split("/")[1]


# Label lookups resolved once: a frame passes about ten timed sections.
_COUNTERS = {(phase, thread): (PHASE_CPU_SECONDS.labels(phase.stage, phase.label, thread),
                               PHASE_WALL_SECONDS.labels(phase.stage, phase.label, thread))
             for phase in Phase for thread in ("event_loop", "worker")}


@contextmanager
def timed(phase: Phase) -> Iterator[None]:
    thread = "event_loop" if threading.current_thread() is threading.main_thread() else "worker"
    cpu_counter, wall_counter = _COUNTERS[phase, thread]
    cpu, wall = time.thread_time(), time.perf_counter()
    try:
        yield
    finally:
        cpu_counter.inc(time.thread_time() - cpu)
        wall_counter.inc(time.perf_counter() - wall)
