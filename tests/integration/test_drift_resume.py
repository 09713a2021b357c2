"""The drift job across a promotion and a restart, on the real broker: a model-update of the served alias resets
the camera baselines and the policy's persistence windows; the job is stopped and started again in between and
every window gets exactly one report per reference, and the retrain request is raised once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Producer

from models.registry import RegistrySettings
from processors.settings import ServingModelSettings
from streams.schemas import ModelUpdate, RetrainRequest
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import consume_all
from tests.integration.test_drift import (
    BASE,
    SITE,
    WINDOW_S,
    JobRunner,
    job_settings,
    produce_window,
    reports_of,
    wait_until,
)

pytestmark = pytest.mark.integration

CAMERA = "cam-0"


def test_a_promotion_resets_baselines_and_persistence_and_a_restart_loses_or_doubles_nothing(
    streams_settings: StreamsSettings, tmp_path: Path,
) -> None:
    settings = job_settings(streams_settings, tmp_path).model_copy(update={"model": ServingModelSettings(
        reference="production", registry=RegistrySettings(registered_model="m"))})
    producer = Producer(streams_settings.kafka.client_config())
    rng = np.random.default_rng(21)
    first = JobRunner(settings)
    # Windows 0 and 1 make the baseline (80 outcomes); 2 and 3 are brighter: two flagged windows, k=3 not reached.
    for index in range(5):
        produce_window(producer, streams_settings, rng, CAMERA, index, "brightness" if index in (2, 3) else "none")
    wait_until(lambda: first.job.stats.windows >= 4 * 2, "windows 0-3 of the camera and the site")
    update = ModelUpdate(model="m", alias="production", version="2")
    producer.produce(topic_name(Topic.MODEL_UPDATES, prefix=streams_settings.kafka.topic_prefix),
                     update.to_json_bytes(), update.key())
    producer.flush(30.0)
    wait_until(lambda: first.job._served == "m/2", "the model update")
    first.stop()

    second = JobRunner(settings)
    assert second.job._served == "m/2" and second.job.policy.state.history == {}
    # Windows 4 (produced before the restart) and 5 make the new baseline; 6-8 are brighter: a request at 8.
    for index in (5, 6, 7, 8, 10):
        produce_window(producer, streams_settings, rng, CAMERA, index, "brightness" if 6 <= index <= 8 else "none")
    wait_until(lambda: second.job.stats.windows >= 5 * 2 and second.job.stats.requests >= 1,
               "windows 4-8 and the retrain request")
    second.stop()

    reports = reports_of(streams_settings)
    seen = [(report.camera, report.reference_kind, round((report.window_start - BASE) / WINDOW_S))
            for report in reports]
    assert len(seen) == len(set(seen)), "a window reported twice against one reference"
    assert {window for camera, kind, window in seen if camera == CAMERA and kind == "training"} == set(range(9))
    baselines = {round((report.window_start - BASE) / WINDOW_S): report.reference for report in reports
                 if report.camera == CAMERA and report.reference_kind == "camera"}
    assert baselines == {2: f"{SITE}/{CAMERA}@{BASE:.0f}", 3: f"{SITE}/{CAMERA}@{BASE:.0f}",
                         **{index: f"{SITE}/{CAMERA}@{BASE + 4 * WINDOW_S:.0f}" for index in (6, 7, 8)}}
    requests = [RetrainRequest.model_validate_json(message.value() or b"") for message in consume_all(
        streams_settings, topic_name(Topic.RETRAIN_REQUESTS, prefix=streams_settings.kafka.topic_prefix), 2.0)]
    # One request for the site (its first persisting cause); without the reset, windows 2, 3 and 6 would have
    # raised it at 6.
    assert [request.cause for request in requests] == ["data_drift"]
    assert all(request.cameras == [CAMERA] and request.data_start == BASE + 6 * WINDOW_S for request in requests)
