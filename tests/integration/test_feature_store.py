"""The feature store for real: Feast apply (idempotent, keeps data), push and online read, point-in-time
history, and the feature sink end to end on the broker (scored frames and outcomes in, online stats out,
bad records in the dead-letter topic with their reasons)."""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer
from typer.testing import CliRunner

from actionstream.cli import app
from feature_store.client import FeatureClient
from feature_store.purge import purge_site_rows
from feature_store.schema import VIEW
from feature_store.settings import FeatureStoreSettings
from processors.features.aggregates import AggregatorSettings, WindowAggregator, WindowFacts, to_table
from processors.features.settings import FeatureSinkOptions, FeatureSinkSettings
from processors.features.sink import FeatureSink
from streams.deadletter import reason_of
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import consume_all
from tests.support.features import make_outcome, make_scored_frame

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def feature_client(tmp_path_factory: pytest.TempPathFactory) -> FeatureClient:
    """One client for the session: importing Feast takes ~10 s. Tests use cameras of their own."""
    client = FeatureClient(FeatureStoreSettings(data_dir=tmp_path_factory.mktemp("feature_store")))
    client.apply()
    return client


def _windows(site: str, camera: str, starts: list[float], greys: list[int]) -> pa.Table:
    """Rows as the sink makes them: one frame per second of each window, at the given grey level."""
    aggregator = WindowAggregator(AggregatorSettings(retain_s=60.0, grace_s=0.0, motion_gap_s=1.0, rate_windows=5))
    for start, grey in zip(starts, greys, strict=True):
        for offset in range(4):
            aggregator.add_frame(make_scored_frame(site, camera, start + offset, brightness=float(grey)))
        aggregator.add_outcome(WindowFacts.of(make_outcome(site, camera, start)), now=0.0)
    return to_table(aggregator.ready(now=1.0), created=time.time())


def _camera() -> str:
    return f"cam-{uuid.uuid4().hex[:6]}"


def test_apply_is_idempotent_and_keeps_the_data(feature_client: FeatureClient) -> None:
    camera, now = _camera(), time.time()
    feature_client.push(_windows("s", camera, [now - 10.0], [90]))
    feature_client.apply()
    feature_client.apply()
    assert [view.name for view in feature_client.store.list_feature_views()] == [VIEW]
    assert [entity.name for entity in feature_client.store.list_entities()] == ["camera"]
    assert feature_client.online("s", camera)["brightness"] == pytest.approx(90.0)


def test_push_then_online_read_gives_the_latest_window(feature_client: FeatureClient) -> None:
    camera, now = _camera(), time.time()
    feature_client.push(_windows("s", camera, [now - 20.0, now - 16.0], [80, 120]))
    values = feature_client.online("s", camera)
    assert values["window_start"] == pytest.approx(now - 16.0)
    assert (values["frames"], values["site"], values["label"]) == (4, "s", "wave")
    assert values["brightness"] == pytest.approx(120.0)
    assert all(value is None for value in feature_client.online("s", _camera()).values())


def test_historical_read_is_point_in_time_correct(feature_client: FeatureClient) -> None:
    camera, other = _camera(), _camera()
    t0 = pd.Timestamp("2026-11-01 12:00:00", tz="UTC").timestamp()
    feature_client.push(_windows("s", camera, [t0, t0 + 4.0], [50, 150]))  # windows end at t0 + 4, t0 + 8
    feature_client.push(_windows("s", other, [t0], [70]))
    at = [t0 + 3.0, t0 + 4.0, t0 + 7.9, t0 + 9.0]
    entity_df = pd.DataFrame({
        "camera": [f"s/{camera}"] * 4 + [f"s/{other}", "s/never-seen"],
        "event_timestamp": [pd.Timestamp(value, unit="s", tz="UTC") for value in at] + [
            pd.Timestamp(t0 + 5.0, unit="s", tz="UTC")] * 2,
    })
    result = feature_client.historical(entity_df)
    assert list(result["camera"]) == list(entity_df["camera"])  # every row back, in order
    brightness = result["brightness"].tolist()
    assert math.isnan(brightness[0])  # before the first window ended: nothing known yet
    assert brightness[1:4] == pytest.approx([50.0, 50.0, 150.0])  # the second window counts from its end on
    assert brightness[4] == pytest.approx(70.0)
    assert math.isnan(brightness[5])


@pytest.fixture
def sink(streams_settings: StreamsSettings, feature_client: FeatureClient) -> Iterator[FeatureSink]:
    settings = FeatureSinkSettings(
        kafka=streams_settings.kafka, features=feature_client.settings, metrics_port=0,
        feature_sink=FeatureSinkOptions(group_id=f"sink-{uuid.uuid4().hex[:8]}", flush_s=0.5, poll_s=0.2,
                                        grace_s=5.0),
    )
    sink = FeatureSink(settings, feature_client)
    stop, failures = threading.Event(), []

    def run() -> None:
        try:
            sink.run(stop)
        except Exception as error:  # reported by the test below, not lost in the thread
            failures.append(error)

    thread = threading.Thread(target=run, name="feature-sink")
    thread.start()
    yield sink
    stop.set()
    thread.join(30.0)
    assert not thread.is_alive() and not failures


def test_the_sink_turns_frames_and_outcomes_into_online_stats(
    sink: FeatureSink, streams_settings: StreamsSettings, feature_client: FeatureClient,
) -> None:
    site, camera, t0 = "site-t", _camera(), time.time() - 60.0
    prefix = streams_settings.kafka.topic_prefix
    frames_topic = topic_name(Topic.SCORED_FRAMES, prefix=prefix)
    outcomes_topic = topic_name(Topic.OUTCOMES, prefix=prefix)
    producer = Producer(streams_settings.kafka.client_config())
    for seq in range(8 * 7):  # 8 fps for 7 s: windows [t0, t0 + 4) and [t0 + 2, t0 + 6) are complete
        frame = make_scored_frame(site, camera, t0 + seq / 8, seq=seq, brightness=110.0, delta=0.25 + seq / 1000)
        producer.produce(frames_topic, key=frame.key(), value=frame.to_bytes())
    for start, action in ((t0, False), (t0 + 2.0, True)):
        outcome = make_outcome(site, camera, start, action=action, confidence=0.6)
        producer.produce(outcomes_topic, key=outcome.key(), value=outcome.to_json_bytes())
    poisoned = make_scored_frame(site, camera, t0 + 1.0, brightness=math.nan, jpeg=frame.jpeg)
    broken = json.loads(make_outcome(site, camera, t0 + 4.0).to_json_bytes())
    broken["window_end"] = broken["window_start"] - 1.0
    bad = [(frames_topic, b"garbage"), (frames_topic, poisoned.to_bytes()), (outcomes_topic, b"{not json"),
           (outcomes_topic, json.dumps(broken).encode())]
    for topic, value in bad:
        producer.produce(topic, key=f"{site}/{camera}".encode(), value=value)
    producer.flush(10.0)

    deadline, values = time.monotonic() + 60.0, {}
    while time.monotonic() < deadline:
        values = feature_client.online(site, camera)
        if values["window_start"] is not None and values["window_start"] >= t0 + 2.0:
            break
        time.sleep(0.5)
    assert values["window_start"] == pytest.approx(t0 + 2.0)
    assert values["frames"] == 32
    assert values["brightness"] == pytest.approx(110.0)
    assert values["delta_max"] == pytest.approx(0.25 + 47 / 1000, abs=1e-3)
    assert (values["action"], values["action_rate"], values["confidence_mean"]) == (1, 0.5, pytest.approx(0.6))

    letters = consume_all(streams_settings, topic_name(Topic.DEADLETTER, prefix=prefix), idle_s=2.0)
    reasons = sorted(reason_of(letter.headers())["reason"] for letter in letters)
    assert [reason_of(letter.headers())["stage"] for letter in letters] == ["feature-sink"] * 4
    assert reasons[0].startswith("invalid outcome")
    assert reasons[1].startswith("not a scored-frame record")
    assert reasons[2].startswith("outcome window ends before it starts")
    assert reasons[3] == "scored frame with a non-finite brightness"
    history = feature_client.historical(pd.DataFrame({"camera": [f"{site}/{camera}"],
                                                      "event_timestamp": [pd.Timestamp.now(tz="UTC")]}))
    assert history["window_start"].iloc[0] == pytest.approx(t0 + 2.0)  # offline too


def test_the_commands_apply_and_show_a_camera(feature_client: FeatureClient) -> None:
    camera = _camera()
    feature_client.push(_windows("s", camera, [time.time() - 10.0], [120]))
    env = {"ACTIONSTREAM_FEATURES__DATA_DIR": str(feature_client.settings.data_dir)}
    runner = CliRunner()
    for _ in range(2):
        applied = runner.invoke(app, ["features", "apply"], env=env)
        assert applied.exit_code == 0 and "feature store ready" in applied.output, applied.output
    shown = runner.invoke(app, ["features", "show", "--site", "s", "--camera", camera], env=env)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == f"s/{camera}"
    assert "  brightness       120.000" in lines and "  frames           4" in lines


def test_a_site_purge_deletes_its_rows_online_and_offline(feature_client: FeatureClient) -> None:
    purged, kept = f"purged-{uuid.uuid4().hex[:6]}", f"kept-{uuid.uuid4().hex[:6]}"
    camera, old = _camera(), pd.Timestamp("2026-01-01", tz="UTC").timestamp()
    feature_client.push(_windows(purged, camera, [old, time.time() - 10.0], [80, 90]))
    feature_client.push(_windows(kept, camera, [time.time() - 10.0], [70]))

    def offline_starts(site: str) -> list[float]:
        history = pa.concat_tables([pq.read_table(part) for part in feature_client.history.parts()])
        return sorted(history.filter(pc.equal(history["site"], site))["window_start"].to_pylist())

    first = purge_site_rows(feature_client.settings, purged, before=datetime(2026, 2, 1, tzinfo=UTC))
    assert (first.offline_rows, first.online_rows) == (1, 0)  # online holds the latest window, which is newer
    assert offline_starts(purged) == [pytest.approx(time.time() - 10.0, abs=5.0)]
    everything = purge_site_rows(feature_client.settings, purged)
    assert everything.offline_rows == 1 and everything.online_rows > 0
    assert offline_starts(purged) == []
    assert all(value is None for value in feature_client.online(purged, camera).values())
    assert feature_client.online(kept, camera)["brightness"] == pytest.approx(70.0)
    assert len(offline_starts(kept)) == 1
