"""Per-window feature rows: frame stats of the frames inside the window, outcome fields, rates over recent
windows, waiting for late frames, replays dropped, poisoned inputs refused, and the table Feast receives."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from feature_store.schema import ARROW_SCHEMA, CREATED, TIMESTAMP
from processors.features.aggregates import AggregatorSettings, WindowAggregator, WindowFacts, to_table
from streams.schemas import InvalidMessage
from tests.support.features import make_outcome, make_scored_frame

SETTINGS = AggregatorSettings(retain_s=30.0, grace_s=10.0, motion_gap_s=1.0, rate_windows=2)


def _facts(start: float, **fields: object) -> WindowFacts:
    return WindowFacts.of(make_outcome("s", "c", start, **fields))  # type: ignore[arg-type]


def _feed(aggregator: WindowAggregator, times: list[float], greys: list[int], deltas: list[float]) -> None:
    for seq, (at, grey, delta) in enumerate(zip(times, greys, deltas, strict=True)):
        aggregator.add_frame(make_scored_frame("s", "c", at, seq=seq, brightness=float(grey), delta=delta))


def test_a_row_aggregates_the_frames_captured_inside_the_window() -> None:
    aggregator = WindowAggregator(SETTINGS)
    # 99.5 and 104.0 lie outside [100, 104); consecutive frames 0.5 s apart differ by 20 grey levels.
    _feed(aggregator, [99.5, 100.0, 100.5, 101.0, 104.0], [60, 80, 100, 120, 140], [9.0, 0.2, 0.4, 0.9, 9.0])
    assert aggregator.add_outcome(_facts(100.0, confidence=0.7), now=0.0)
    [row] = aggregator.ready(now=0.0)
    assert (row.camera, row.site, row.window_start, row.window_end, row.frames) == ("s/c", "s", 100.0, 104.0, 3)
    assert row.brightness == pytest.approx(100.0)
    assert row.delta_mean == pytest.approx(0.5)
    assert row.delta_max == pytest.approx(0.9)
    assert row.motion == pytest.approx(20.0, abs=1.5)
    assert row.contrast == pytest.approx(0.0, abs=1.5)
    assert (row.action, row.label, row.confidence, row.shed, row.incomplete) == (1, "wave", 0.7, 0, 0)


def test_contrast_is_the_spread_of_the_luma() -> None:
    aggregator = WindowAggregator(SETTINGS)
    image = np.zeros((224, 224, 3), dtype=np.uint8)
    image[:, 112:] = 200  # half black, half at 200: standard deviation 100
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=95)
    aggregator.add_frame(make_scored_frame("s", "c", 100.0, jpeg=out.getvalue()))
    aggregator.add_frame(make_scored_frame("s", "c", 105.0))
    aggregator.add_outcome(_facts(100.0), now=0.0)
    [row] = aggregator.ready(now=0.0)
    assert row.contrast == pytest.approx(100.0, abs=3.0)


def test_motion_is_not_measured_across_a_gap() -> None:
    aggregator = WindowAggregator(SETTINGS)
    _feed(aggregator, [100.0, 102.0, 104.5], [80, 120, 120], [0.1, 0.1, 0.1])  # 2 s apart > motion_gap_s
    aggregator.add_outcome(_facts(100.0), now=0.0)
    [row] = aggregator.ready(now=0.0)
    assert math.isnan(row.motion)


def test_an_outcome_waits_for_its_frames_until_the_grace_runs_out() -> None:
    aggregator = WindowAggregator(SETTINGS)
    _feed(aggregator, [100.0, 101.0], [90, 90], [0.3, 0.3])
    aggregator.add_outcome(_facts(100.0), now=50.0)
    assert aggregator.ready(now=55.0) == [] and aggregator.pending == 1  # frames up to 101 s only: not all in
    _feed(aggregator, [103.5, 104.0], [90, 90], [0.3, 0.3])
    [row] = aggregator.ready(now=55.0)
    assert row.frames == 3
    aggregator.add_outcome(_facts(110.0), now=56.0)  # no frame of this window ever comes
    assert aggregator.ready(now=65.0) == []
    [late] = aggregator.ready(now=66.0)
    assert late.frames == 0 and math.isnan(late.brightness) and math.isnan(late.delta_max)


def test_rates_and_mean_confidence_run_over_the_recent_windows() -> None:
    aggregator = WindowAggregator(SETTINGS)  # rate_windows = 2
    _feed(aggregator, [130.0], [90], [0.1])
    aggregator.add_outcome(_facts(100.0, confidence=0.9, action=True, shed=True), now=0.0)
    aggregator.add_outcome(_facts(102.0, confidence=0.5, action=False, incomplete=True), now=0.0)
    aggregator.add_outcome(_facts(104.0, confidence=0.3, action=False), now=0.0)
    first, second, third = aggregator.ready(now=0.0)
    assert (first.action_rate, first.shed_rate, first.confidence_mean) == (1.0, 1.0, 0.9)
    assert (second.action_rate, second.shed_rate, second.incomplete_rate) == (0.5, 0.5, 0.5)
    assert second.confidence_mean == pytest.approx(0.7)
    assert (third.action_rate, third.shed_rate, third.incomplete_rate) == (0.0, 0.0, 0.5)
    assert third.confidence_mean == pytest.approx(0.4)


def test_a_replayed_window_makes_no_second_row() -> None:
    aggregator = WindowAggregator(SETTINGS)
    assert aggregator.add_outcome(_facts(100.0), now=0.0)
    assert not aggregator.add_outcome(_facts(100.0), now=0.0)  # while pending
    assert len(aggregator.ready(now=20.0)) == 1
    assert not aggregator.add_outcome(_facts(100.0), now=21.0)  # after its row
    assert aggregator.ready(now=40.0) == []


def test_frames_older_than_the_retention_are_forgotten() -> None:
    aggregator = WindowAggregator(SETTINGS)  # retain_s = 30
    _feed(aggregator, [100.0, 101.0, 140.0], [90, 90, 90], [0.1, 0.1, 0.1])
    aggregator.add_outcome(_facts(100.0), now=0.0)
    [row] = aggregator.ready(now=0.0)
    assert row.frames == 0


@pytest.mark.parametrize("field", ["delta", "brightness", "sharpness", "capture_time"])
def test_a_frame_with_a_non_finite_stat_is_refused(field: str) -> None:
    values = {"delta": 0.5, "brightness": 100.0, "sharpness": 5.0}
    capture_time = 100.0
    if field == "capture_time":
        capture_time = math.inf
    else:
        values[field] = math.nan
    frame = make_scored_frame("s", "c", capture_time, jpeg=make_scored_frame("s", "c", 0.0).jpeg, **values)
    with pytest.raises(InvalidMessage, match=field):
        WindowAggregator(SETTINGS).add_frame(frame)


def test_non_finite_features_and_undecodable_images_are_refused() -> None:
    aggregator = WindowAggregator(SETTINGS)
    with pytest.raises(InvalidMessage, match="non-finite features"):
        aggregator.add_frame(make_scored_frame("s", "c", 100.0, features=np.array([1.0, np.inf], np.float16)))
    with pytest.raises(InvalidMessage, match="undecodable JPEG"):
        aggregator.add_frame(make_scored_frame("s", "c", 100.0, jpeg=b"\xff\xd8not a jpeg"))


def test_an_outcome_with_a_broken_window_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="ends before it starts"):
        _facts(100.0, window_s=0.0)
    with pytest.raises(InvalidMessage, match="non-finite"):
        WindowFacts.of(make_outcome("s", "c", 100.0).model_copy(update={"window_start": math.nan}))


def test_the_table_has_the_store_columns_and_the_window_end_as_event_time() -> None:
    aggregator = WindowAggregator(SETTINGS)
    _feed(aggregator, [100.0, 104.0], [90, 90], [0.1, 0.1])
    aggregator.add_outcome(_facts(100.0), now=0.0)
    table = to_table(aggregator.ready(now=0.0), created=200.0)
    assert table.schema == ARROW_SCHEMA
    row = table.to_pylist()[0]
    assert row[TIMESTAMP] == datetime.fromtimestamp(104.0, tz=UTC)
    assert row[CREATED] == datetime.fromtimestamp(200.0, tz=UTC)
    assert (row["camera"], row["frames"], row["label"]) == ("s/c", 1, "wave")
