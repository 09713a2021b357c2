"""Standard streams for tests that depend on where output goes."""

from __future__ import annotations

import io


class TerminalStream(io.StringIO):
    """A captured stream that says it is a terminal (progress bars show there, not in a log file)."""

    def isatty(self) -> bool:
        return True
