"""`actionstream features show` output: one line per feature, readable without Feast's formatting."""

from __future__ import annotations

import math

from processors.features.cli import format_features


def test_a_camera_without_stats_says_so() -> None:
    assert format_features("s", "c", {"window_start": None, "brightness": None}) == \
        "s/c: no window stats in the online store"


def test_one_line_per_feature_with_missing_values_as_dashes() -> None:
    text = format_features("s", "c", {"window_start": 1764496800.0, "brightness": 101.23456, "motion": math.nan,
                                      "label": "wave", "frames": 3})
    assert text.splitlines() == ["s/c", "  window_start     2025-11-30 10:00:00 UTC", "  brightness       101.235",
                                 "  motion           -", "  label            wave", "  frames           3"]
