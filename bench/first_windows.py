"""The first windows of a run, hop by hop, read back from `outcomes` (committed records only): where a run's first
events spent their time. A slow first round of windows comes from start-up (a worker still importing or catching
up on the cores the stream needs, a client's first use); it shows as select or classify hops far above the later
rounds', and as shed windows (a stage behind by the shedding bound classifies fewer frames)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.schemas import WindowOutcome


@dataclass(frozen=True)
class WindowHops:
    camera: str
    window_end: float
    outcome: str
    processing_ms: float  # action publish - window end
    ingest_ms: float
    score_ms: float
    select_ms: float
    classify_ms: float
    shed: bool
    kept: int  # frames classified
    candidates: int  # frames the window held: fewer than T in a window the stream saw only part of

    @classmethod
    def of(cls, outcome: WindowOutcome) -> WindowHops:
        latency = outcome.latency
        return cls(outcome.camera, outcome.window_end, outcome.outcome, 1000 * latency.processing,
                   1000 * latency.ingest, 1000 * latency.score, 1000 * latency.select, 1000 * latency.classify,
                   outcome.shed, len(outcome.frames), outcome.candidates)


def first_windows(outcomes: Sequence[WindowOutcome], count: int) -> list[WindowHops]:
    """The `count` windows published first."""
    return [WindowHops.of(outcome) for outcome in sorted(outcomes, key=lambda o: o.published_at)[:count]]


def table_lines(rows: Sequence[WindowHops]) -> list[str]:
    lines = [f"{'camera':<8}{'window end':>12} {'outcome':<8}{'processing':>11}{'ingest':>8}{'score':>8}"
             f"{'select':>8}{'classify':>9}  frames"]
    for row in rows:
        lines.append(f"{row.camera:<8}{row.window_end % 1000:>12.3f} {row.outcome:<8}{row.processing_ms:>8.0f} ms"
                     f"{row.ingest_ms:>8.0f}{row.score_ms:>8.0f}{row.select_ms:>8.0f}{row.classify_ms:>9.0f}"
                     f"  {row.kept}/{row.candidates}{' shed' if row.shed else ''}")
    return lines


def summary(rows: Sequence[WindowHops]) -> dict[str, object]:
    """The first round (each camera's first window) apart from the windows after it: a cold start shows there."""
    first_round: list[WindowHops] = []
    later: list[WindowHops] = []
    for row in rows:
        (later if any(earlier.camera == row.camera for earlier in first_round) else first_round).append(row)

    def worst(selected: Sequence[WindowHops]) -> dict[str, float | int | None]:
        return {
            "windows": len(selected),
            "shed": sum(row.shed for row in selected),
            **{f"{hop}_max_ms": round(max(getattr(row, f"{hop}_ms") for row in selected), 1) if selected else None
               for hop in ("processing", "select", "classify")},
        }

    return {"bench": "first-windows", "first_round": worst(first_round), "later": worst(later)}
