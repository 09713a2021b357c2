"""The retrain job's paths that need no training, on a real (SQLite) registry: a request whose candidate was
already judged resumes at publishing (the alias moves, the result comes from the tags), too few held-out
windows refuse without training, and no production model fails the request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.registry import alias_version, register_version, set_alias, set_version_tags
from processors.retrain.job import RetrainJob
from processors.retrain.lineage import decision_tags, lineage_tags
from processors.retrain.settings import RetrainOptions, RetrainSettings
from streams.schemas import RetrainData, RetrainRequest, RetrainTimings
from training.promotion import PairedComparison, PromotionSettings, decide
from training.tracking import TrackingSettings

pytestmark = pytest.mark.slow  # MLflow

REQUEST = RetrainRequest(request_id="r1", site="s", cause="data_drift", reason="drift", evidence=[],
                         report_ids=["r"], cameras=["cam1"], data_start=0.0, data_end=60.0, model_version="1",
                         requested_at=61.0)


def _layout(root: Path, train: list[str], test: list[str]) -> Path:
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 Run\n")
    for relative in train + test:
        (root / "UCF-101" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "UCF-101" / relative).write_bytes(b"video")
    (lists / "trainlist01.txt").write_text("".join(f"{relative} 1\n" for relative in train))
    (lists / "testlist01.txt").write_text("".join(f"{relative}\n" for relative in test))
    return root


@pytest.fixture
def settings(tmp_path: Path) -> RetrainSettings:
    tracking = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                registered_model="m")
    base = _layout(tmp_path / "base", ["Run/a.avi"], ["Run/b.avi"])
    labelled = _layout(tmp_path / "new", ["Run/c.mp4"], ["Run/d.mp4", "Run/e.mp4"])
    return RetrainSettings(tracking=tracking, promotion=PromotionSettings(min_new_examples=3),
                           retrain=RetrainOptions(base_data=base, labelled_dir=labelled, work_dir=tmp_path / "work"))


def _register(settings: RetrainSettings, tmp_path: Path) -> str:
    return register_version(settings.tracking, tmp_path.as_uri())


def test_a_judged_candidate_resumes_at_publishing(settings: RetrainSettings, tmp_path: Path) -> None:
    set_alias(settings.tracking, _register(settings, tmp_path), "production")
    candidate = _register(settings, tmp_path)
    correct = np.arange(30) < 27
    decision = decide(PairedComparison.of(correct, np.arange(30) < 10), PairedComparison.of(correct, correct),
                      settings.promotion)
    data = RetrainData(base="b", labelled="l", train_videos=2, labelled_videos=30, held_out_labelled=30,
                       held_out_base=30)
    timings = RetrainTimings(data_s=1.0, training_s=2.0, evaluation_s=3.0, total_s=6.0)
    set_version_tags(settings.tracking, candidate, {**lineage_tags(REQUEST, "1", data),
                                                     **decision_tags(decision, timings, attempt=1)})

    outcome = RetrainJob(settings)(REQUEST, attempt=2)  # the worker died after the decision, before publishing

    assert (outcome.result.outcome, outcome.result.candidate_version, outcome.result.attempt) == ("promoted", "2", 1)
    assert outcome.result.timings == timings  # the figures of the run that decided
    assert outcome.model_update is not None and outcome.model_update.version == "2"
    assert alias_version(settings.tracking, "production") == "2"


def test_too_few_held_out_windows_refuse_without_training(settings: RetrainSettings, tmp_path: Path) -> None:
    set_alias(settings.tracking, _register(settings, tmp_path), "production")

    outcome = RetrainJob(settings)(REQUEST, attempt=1)

    assert outcome.result.outcome == "refused" and outcome.model_update is None
    assert outcome.result.reasons == ["too few held-out labelled windows: 2 < 3; no candidate trained"]
    assert outcome.result.data is not None and outcome.result.data.held_out_labelled == 2
    assert outcome.result.candidate_version is None and outcome.result.production_version == "1"


def test_no_production_model_fails_the_request(settings: RetrainSettings) -> None:
    outcome = RetrainJob(settings)(REQUEST, attempt=1)
    assert outcome.result.outcome == "failed"
    assert outcome.result.reasons == ["LookupError: no @production model to compare a candidate with"]


def test_replayed_windows_of_other_cameras_are_counted_in_the_data(settings: RetrainSettings, tmp_path: Path) -> None:
    set_alias(settings.tracking, _register(settings, tmp_path), "production")
    replay = _layout(tmp_path / "replay", ["Run/cam2_1.mp4", "Run/cam3_1.mp4"], ["Run/cam2_2.mp4"])
    settings = settings.model_copy(update={"retrain": settings.retrain.model_copy(update={"replay_dir": replay})})

    outcome = RetrainJob(settings)(REQUEST, attempt=1)

    assert outcome.result.data is not None
    assert (outcome.result.data.train_videos, outcome.result.data.replay_videos,
            outcome.result.data.held_out_replay) == (1 + 1 + 2, 3, 1)
    assert outcome.result.reasons == ["too few held-out labelled windows: 2 < 3; no candidate trained"]
