"""Batch processes (retrain worker, drift job) below the stream's processes in CPU priority.

With the kernel's autogroup scheduling (`/proc/sys/kernel/sched_autogroup_enabled`), CPU time is shared fairly
between sessions first, and a thread's niceness only counts against threads of its own session. honcho starts
every Procfile process in a session of its own, so `os.nice` alone changed nothing between them: the demo's
stream still lost half the cores to a retrain at nice 19. The process's session (its autogroup) gets the same
niceness too.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)

AUTOGROUP = Path("/proc/self/autogroup")  # "/autogroup-123 nice 0"; absent where the kernel has no autogroups
_AUTOGROUP_NICE = re.compile(r"nice\s+(-?\d+)")


def lower_priority(niceness: int, autogroup: Path = AUTOGROUP) -> None:
    """Add `niceness` to this process (threads started later inherit it) and raise its session's autogroup
    niceness to at least the same; never raises a priority."""
    if niceness <= 0:
        return
    os.nice(niceness)
    try:
        match = _AUTOGROUP_NICE.search(autogroup.read_text())
        if match is not None and int(match.group(1)) < niceness:
            autogroup.write_text(str(niceness))
    except OSError as error:  # no autogroups here, or not allowed: the process niceness still orders threads
        logger.debug("autogroup niceness unchanged: %s", error)
