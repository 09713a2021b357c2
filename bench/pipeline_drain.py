"""`bench pipeline`'s wait for a trial's last outcomes, without Kafka: when every expected window could have closed.

After the cameras stop, a camera's last open windows close only as idle: stage 2 closes them `idle_close_s`
after the camera's last frame reached it, and it reaches stage 2 only once stage 1's backlog in front of it is
scored. So the wait lasts until every stage's committed lag has drained, then `idle_close_s` and a settling
margin (idle check, classifier, commit) more, and until outcomes stop arriving (while no lag could be read: until
none arrived for that long); never beyond a bound. A fixed 30 s wait cut K = 16 short: its backlog took longer to
drain than 30 s less the idle timeout, and the 2 open windows of each camera were counted lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DrainPolicy:
    idle_close_s: float  # stage 2 closes a stopped camera's windows this long after its last frame
    settle_s: float = 5.0  # after that: the idle check, the classifier and the outcome's commit
    bound_s: float = 240.0  # the longest wait after the cameras stop


@dataclass(frozen=True)
class DrainVerdict:
    done: bool
    reason: str = ""  # why the wait ended with windows still missing (after "N windows lost: "); empty: none is


class DrainWatch:
    """Fed an observation every poll; says when to stop waiting and, if windows are still missing, why."""

    def __init__(self, policy: DrainPolicy, started_at: float) -> None:
        self.policy = policy
        self.started_at = started_at
        self._drained_since: float | None = None  # since when every stage's lag has been 0
        self._outcomes = 0
        self._last_outcome_at = started_at
        self._lags_known = False

    def observe(self, now: float, missing: int, outcomes: int, lags: Mapping[str, float] | None) -> DrainVerdict:
        """`missing`: expected windows without an outcome; `outcomes`: outcomes seen so far; `lags`: each stage's
        committed lag in records (None: not known this poll, the drain clock keeps its state)."""
        if outcomes != self._outcomes:
            self._outcomes, self._last_outcome_at = outcomes, now
        if lags is not None:
            self._lags_known = True
            if any(lags.values()):
                self._drained_since = None
            elif self._drained_since is None:
                self._drained_since = now
        if not missing:
            return DrainVerdict(True)
        policy = self.policy
        if now - self.started_at >= policy.bound_s:
            behind = ", ".join(f"{stage} {records:.0f}" for stage, records in sorted((lags or {}).items()))
            return DrainVerdict(True, f"the wait for them hit its bound of {policy.bound_s:g} s (records "
                                      f"behind: {behind or 'not known'})")
        closing_s = policy.idle_close_s + policy.settle_s
        if (self._drained_since is not None and now - self._drained_since >= closing_s
                and now - self._last_outcome_at >= policy.settle_s):
            return DrainVerdict(True, f"none came {now - self._drained_since:.0f} s after every stage's input "
                                      f"drained (idle close after {policy.idle_close_s:g} s)")
        if not self._lags_known and now - self._last_outcome_at >= closing_s:
            return DrainVerdict(True, f"no outcome arrived for {now - self._last_outcome_at:.0f} s "
                                      f"(consumer lag not readable)")
        return DrainVerdict(False)
