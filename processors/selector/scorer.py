"""A `score` process (`actionstream selector run --stage score`): stage 1 alone, the batched loop of stage1.py on
its thread, with no Faust app beside it.

Why a process of its own: in one process stage 1's thread shares the interpreter lock with stage 2's event loop;
measured in `bench pipeline`'s drain, waiting for it (inside PyAV's decode, per frame) held stage 1 to ~0.6 of
the encoder's standalone speed. Stage 1 is stateless, so score processes scale out freely: they share the
stage-1 consumer group, and stage 2 (`--stage window`) reads what they publish. Its guarantees are the loop's:
offsets stored only after the broker acknowledged a batch's output, committed on revocation and on stop.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from processors.selector.stage1 import BatchedStage1
from processors.serving import ModelHolder
from processors.settings import ProcessorSettings
from streams.health import HEALTH

logger = logging.getLogger(__name__)


def run_scorer(settings: ProcessorSettings, holder: ModelHolder) -> None:
    """Score frames until SIGTERM or SIGINT; ready (the `partitions` check) once the group assigned its share."""
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("stage1: %s received, stopping after the batch in hand", signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    stage1 = BatchedStage1(settings, holder, lambda: HEALTH.passed("partitions"))
    stage1.start()
    # The loop runs on its own thread, named for `bench pipeline`'s CPU account; this one only waits for the signal.
    stopping.wait()
    stage1.stop(settings.stage1.session_timeout_s * 3)
