"""Live updates to open pages: the feed thread publishes, each server-sent-events connection has a bounded
queue on the event loop. A page that cannot keep up loses live messages, never slows the feed (it reloads
the state on its next change)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveMessage:
    kind: str  # "action", "camera", "drift", "model": the SSE event name the page listens to
    data: dict[str, Any]

    def encode(self) -> str:
        """One server-sent event: its name and a single line of JSON."""
        return f"event: {self.kind}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n"


class LiveHub:
    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[asyncio.Queue[LiveMessage], asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()

    def subscribe(self) -> asyncio.Queue[LiveMessage]:
        """A queue for the calling connection; call on the event loop that will read it."""
        queue: asyncio.Queue[LiveMessage] = asyncio.Queue(self._queue_size)
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
        return queue

    def unsubscribe(self, queue: asyncio.Queue[LiveMessage]) -> None:
        with self._lock:
            self._subscribers.pop(queue, None)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, message: LiveMessage) -> None:
        """From any thread."""
        with self._lock:
            targets = list(self._subscribers.items())
        for queue, loop in targets:
            try:
                loop.call_soon_threadsafe(_offer, queue, message)
            except RuntimeError:  # that connection's loop has closed
                self.unsubscribe(queue)


def _offer(queue: asyncio.Queue[LiveMessage], message: LiveMessage) -> None:
    try:
        queue.put_nowait(message)
    except asyncio.QueueFull:
        logger.debug("a live page is behind: %s message dropped", message.kind)
