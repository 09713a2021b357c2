"""Whether this process reaches the Kafka broker: a small state machine fed by probes, which reports each
change once (unreachable, reachable again) and a reminder while an outage lasts, so that an outage costs a
handful of log lines however often the Kafka clients retry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, Field


class BrokerHealthSettings(BaseModel):
    """How an outage is detected and reported."""

    probe_interval_s: float = Field(1.0, gt=0, description="During an outage, probe the broker this often.")
    probe_timeout_s: float = Field(1.0, gt=0, description="A TCP connect to a bootstrap server that takes longer "
                                   "fails the probe.")
    report_every_s: float = Field(10.0, gt=0, description="While unreachable, log a reminder this often.")
    # A broker that is shutting down keeps its listening socket until its JVM exits (the kernel completes connects
    # into the backlog), and librdkafka reports an identical error once (then about every 30 s): with 5 s, a
    # classifier under load in CI saw its first failure while the port still accepted, and never an outage.
    suspect_s: float = Field(30.0, ge=0, description="After a client reports a failure, keep probing this long: "
                             "a broker that is shutting down still accepts connections for a while.")
    settle_s: float = Field(10.0, ge=0, description="After the broker is back, client warnings (leaders moving, "
                            "coordinators loading) stay held back this long.")


class Change(Enum):
    UNREACHABLE = "unreachable"
    STILL_UNREACHABLE = "still unreachable"
    REACHABLE = "reachable again"


@dataclass(frozen=True)
class Report:
    change: Change
    outage_s: float  # since the first failed probe of this outage
    reason: str  # what the clients said when the outage began
    suppressed: int  # Kafka client log lines held back since the previous report

    def message(self) -> str:
        held = f"; {self.suppressed} Kafka client log lines suppressed" if self.suppressed else ""
        if self.change is Change.UNREACHABLE:
            return f"broker unreachable ({self.reason}){held}"
        if self.change is Change.STILL_UNREACHABLE:
            return f"broker still unreachable after {self.outage_s:.0f} s{held}"
        return f"broker reachable again after {self.outage_s:.1f} s{held}"


class BrokerHealth:
    """Reachable until a probe fails, unreachable until a probe succeeds. Times are explicit (monotonic
    seconds), so the decisions are testable without a clock or a broker."""

    def __init__(self, report_every_s: float, suspect_s: float = 0.0, settle_s: float = 0.0) -> None:
        self.report_every_s = report_every_s
        self.suspect_s = suspect_s
        self.settle_s = settle_s
        self._suspect_until = 0.0
        self.reachable = True
        self.outages = 0
        self._down_since = 0.0
        self._settled_at = 0.0
        self._next_reminder = 0.0
        self._reason = ""
        self._suppressed = 0

    def suspected(self, now: float) -> None:
        """A client could not reach the broker: probe from now until suspect_s later (or the outage ends)."""
        self._suspect_until = max(self._suspect_until, now + self.suspect_s)

    def probing(self, now: float) -> bool:
        return not self.reachable or now < self._suspect_until

    def settling(self, now: float) -> bool:
        """Reachable again, but recently: the clients are still catching up."""
        return self.reachable and now < self._settled_at

    def suppressed(self, count: int = 1) -> None:
        """Client log lines held back; the next report says how many."""
        self._suppressed += count

    def probed(self, now: float, ok: bool, reason: str = "") -> Report | None:
        """The outcome of one probe; a report when the state changed or a reminder is due."""
        if ok:
            if self.reachable:
                return None
            self.reachable = True
            self._settled_at = now + self.settle_s
            return self._report(Change.REACHABLE, now)
        if self.reachable:
            self.reachable = False
            self.outages += 1
            self._down_since = now
            self._next_reminder = now + self.report_every_s
            self._reason = reason or "no answer"
            return self._report(Change.UNREACHABLE, now)
        if now < self._next_reminder:
            return None
        while self._next_reminder <= now:  # one reminder, however long the caller was away
            self._next_reminder += self.report_every_s
        return self._report(Change.STILL_UNREACHABLE, now)

    def _report(self, change: Change, now: float) -> Report:
        report = Report(change, now - self._down_since, self._reason, self._suppressed)
        self._suppressed = 0
        return report
