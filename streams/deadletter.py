"""Dead-letter records: the original bytes, untouched, with headers that say where they came from and why
they were refused, so an operator can inspect or replay them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from streams.schemas import RawHeaders

HEADER_PREFIX = "dlq."


@dataclass(frozen=True)
class DeadLetter:
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(
        cls, *, stage: str, reason: str, topic: str, partition: int, offset: int,
        value: bytes | None, key: bytes | None, headers: RawHeaders | None = None,
    ) -> DeadLetter:
        original = [(name, raw or b"") for name, raw in headers or [] if not name.startswith(HEADER_PREFIX)]
        ours = [
            ("stage", stage), ("reason", reason[:2000]), ("topic", topic), ("partition", str(partition)),
            ("offset", str(offset)), ("time", f"{time.time():.6f}"),
        ]
        return cls(value, key, original + [(HEADER_PREFIX + name, text.encode()) for name, text in ours])


def reason_of(headers: RawHeaders | None) -> dict[str, str]:
    """The dead-letter headers of a record, without their prefix (for tests and `tail deadletter`)."""
    return {
        name.removeprefix(HEADER_PREFIX): (raw or b"").decode(errors="replace")
        for name, raw in headers or []
        if name.startswith(HEADER_PREFIX)
    }
