"""Where a window's processing latency goes: its path from the window's end to a read_committed subscriber, split
by hop from the timestamps the outcome carries, so a fixed wait (a close trigger, a batch linger, a commit
interval, a poll) shows up as the hop it sits in.

- select: the clip's publication - the window's end (stage 2 waits for the frame of the window's last slot, a
  frame past the end or an idle tick, then selects and produces; the closing frame's adapter and stage-1 time are
  inside it, less the time from its capture to the window's end);
- classify: the outcome's publication - the clip's publication (consume, batch wait, inference);
- commit: the subscriber's receipt - the outcome's publication (transaction commit, the subscriber's fetch);
- processing: the subscriber's receipt - the window's end, the sum of the three.

Beside them, off the sum, the last selected frame's own path (the closing frame takes the same one before stage
2 sees it): frame_ingest (the adapter's publication - capture) and frame_score (stage 1's publication - the
adapter's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from bench.pipeline_accounting import SeenOutcome, TrialWindow, WindowGrid

HOPS = ("select", "classify", "commit", "processing", "frame_ingest", "frame_score")
# The workers' histogram of the steps inside a stage (processors/metrics.py STEP_SECONDS): stage 2's close,
# jpeg_fetch and clip_ack, the classifier's commit.
STEP_METRIC = "actionstream_step_seconds"

StepTotals = dict[str, tuple[float, float]]  # "stage.step" -> (seconds, windows) so far


def hop_seconds(seen: SeenOutcome) -> dict[str, float]:
    outcome = seen.outcome
    return {
        "select": outcome.latency.select,
        "classify": outcome.latency.classify,
        "commit": seen.seen_at - outcome.published_at,
        "processing": seen.seen_at - outcome.window_end,
        "frame_ingest": outcome.latency.ingest,
        "frame_score": outcome.latency.score,
    }


def hop_percentiles_ms(seen: Iterable[SeenOutcome], grid: WindowGrid, span: TrialWindow) -> dict[str, dict[str, float]]:
    """p50 and p99 (ms) of each hop over the timed windows, each by its first-seen outcome (as the trial's
    processing latency is); empty without any."""
    first_seen: dict[tuple[str, int], SeenOutcome] = {}
    for item in sorted(seen, key=lambda item: item.seen_at):
        first_seen.setdefault(grid.key(item.outcome.camera, item.outcome.window_start), item)
    rows = [hop_seconds(item) for item in first_seen.values() if span.counts(item.outcome.window_end)]
    if not rows:
        return {}
    return {hop: {f"p{q}": round(float(np.percentile([row[hop] for row in rows], q)) * 1000, 1) for q in (50, 99)}
            for hop in HOPS}


def step_totals(metrics_texts: Iterable[str]) -> StepTotals:
    """Each step's total seconds and count so far, summed over the workers' /metrics pages."""
    totals: dict[str, list[float]] = {}
    for text in metrics_texts:
        for family in text_string_to_metric_families(text):
            if family.name != STEP_METRIC:
                continue
            for sample in family.samples:
                kind = sample.name.removeprefix(STEP_METRIC)
                if kind in ("_sum", "_count"):
                    total = totals.setdefault(f"{sample.labels['stage']}.{sample.labels['step']}", [0.0, 0.0])
                    total[kind == "_count"] += sample.value
    return {step: (seconds, count) for step, (seconds, count) in totals.items()}


def step_means_ms(before: Mapping[str, tuple[float, float]], after: Mapping[str, tuple[float, float]]
                  ) -> dict[str, float]:
    """Mean ms per window of each step between two readings (the timed span); steps not taken in it are left out."""
    means = {}
    for step, (seconds, count) in sorted(after.items()):
        seconds_before, count_before = before.get(step, (0.0, 0.0))
        if count > count_before:
            means[step] = round((seconds - seconds_before) / (count - count_before) * 1000, 1)
    return means
