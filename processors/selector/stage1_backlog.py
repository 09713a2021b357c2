"""Stage 1's backlog as a `window` process sees it (stage 1 runs in `score` processes of its own), read from the
broker: whether frames published `backlog_after_s` ago or earlier are still not committed by the stage-1 group.

Why it matters: stage 2 closes a camera's windows as idle after `idle_close_s` without its frames; while its
frames wait in front of stage 1 (a scorer restarting, a broker outage just over) the camera is not idle. In one
process stage 1 knows its own lag; across processes the group's committed offsets are what is shared. They trail
the partition ends by up to a commit interval and a batch in normal operation, so the test is against the ends
as they were `backlog_after_s` ago: frames that old are scored, committed, and so on their way to stage 2.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from confluent_kafka import Consumer, KafkaException

from processors.selector.stage1 import stage1_group_id
from processors.settings import ProcessorSettings
from streams.committed_offsets import CommittedOffsets, Partition, listed_offsets
from streams.topics import Topic, topic_name

logger = logging.getLogger(__name__)


def backlog_behind(committed: dict[Partition, int], lows: dict[Partition, int], ends_then: dict[Partition, int]
                   ) -> bool:
    """Whether the group has not committed past every partition's end of back then. A partition the group never
    committed counts from its earliest retained record (where a new stage-1 consumer starts)."""
    return any(committed.get(partition, lows.get(partition, 0)) < end for partition, end in ends_then.items())


class Stage1Backlog:
    """Polls the stage-1 group's progress on a thread every `stage1.lag_report_s`; `behind` is True until the
    first answer old enough to judge, and whenever the broker does not answer."""

    def __init__(self, settings: ProcessorSettings) -> None:
        self._settings = settings
        self._group = stage1_group_id(settings.kafka.topic_prefix, settings.app_id)
        self._frames_prefix = topic_name(Topic.FRAMES, "*", settings.kafka.topic_prefix).removesuffix("*")
        self._sites = {topic_name(Topic.FRAMES, site, settings.kafka.topic_prefix) for site in settings.sites}
        self._ends: deque[tuple[float, dict[Partition, int]]] = deque()  # (monotonic time, ends) per poll
        self.behind = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stage1-backlog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)

    def _frames_topic(self, topic: str) -> bool:
        """The frames topics stage 1 consumes: every site's with discovery on, else the listed sites'."""
        return topic.startswith(self._frames_prefix) if self._settings.frames_discovery_s else topic in self._sites

    def _run(self) -> None:
        timeout_s = self._settings.stage1.session_timeout_s
        watermarks = Consumer({**self._settings.kafka.client_config(), "group.id": f"{self._group}-backlog-probe",
                               "enable.auto.commit": False})
        try:
            with CommittedOffsets(self._settings.kafka, timeout_s=timeout_s) as offsets:
                while not self._stop.wait(self._settings.stage1.lag_report_s):
                    try:
                        self.behind = self._poll(offsets, watermarks, timeout_s)
                    except KafkaException as error:
                        logger.debug("stage-1 backlog not known: %s", error)  # the broker monitor says it is away
                        self.behind = True
        finally:
            watermarks.close()

    def _poll(self, offsets: CommittedOffsets, watermarks: Consumer, timeout_s: float) -> bool:
        partitions = [partition for partition in offsets.partitions() if self._frames_topic(partition[0])]
        lows = listed_offsets(watermarks, partitions, end=False, timeout_s=timeout_s)
        ends = listed_offsets(watermarks, partitions, end=True, timeout_s=timeout_s)
        committed = offsets.committed(self._group, partitions)
        now = time.monotonic()
        self._ends.append((now, ends))
        horizon = now - self._settings.stage1.backlog_after_s
        if self._ends[0][0] > horizon:
            return True  # no ends old enough yet to judge by
        while len(self._ends) > 1 and self._ends[1][0] <= horizon:
            self._ends.popleft()  # the newest ends at least backlog_after_s old stay first
        return backlog_behind(committed, lows, self._ends[0][1])
