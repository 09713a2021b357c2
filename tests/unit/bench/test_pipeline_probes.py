"""The pipeline bench's lag: partition ends minus the group's committed offsets."""

from __future__ import annotations

from bench.pipeline_probes import committed_lag


def test_lag_counts_from_the_committed_offsets_and_a_partition_never_committed_counts_whole() -> None:
    ends = {("frames", 0): 100, ("frames", 1): 40, ("frames", 2): 7}
    committed = {("frames", 0): 90, ("frames", 1): -1001}  # -1001: librdkafka's "no committed offset"
    assert committed_lag(ends, committed) == 10 + 40 + 7
