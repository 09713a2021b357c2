"""The retrain job with a shadow run, on a real (SQLite) registry and without training: a candidate the offline
comparison accepts runs in shadow and is refused by it (production stays, the shadow figures are in the
result); one the offline comparison refuses never runs in shadow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.registry import alias_version, set_alias, set_version_tags
from processors.retrain.data import MergedData
from processors.retrain.job import JobOutcome, RetrainJob
from processors.retrain.lineage import lineage_tags
from processors.retrain.settings import RetrainOptions, RetrainSettings
from processors.retrain.shadow import ShadowVerdict
from streams.schemas import LiveComparison, RetrainData, RetrainRequest
from tests.unit.processors.retrain.test_job import REQUEST, _layout, _register
from training.promotion import PairedComparison, PromotionDecision, PromotionSettings, decide
from training.smart_settings import FeatureSettings
from training.tracking import TrackingSettings

pytestmark = pytest.mark.slow  # MLflow

LIVE = LiveComparison(windows=40, estimated_accuracy=0.6, labels=0, observed_accuracy=None, reference_windows=40,
                      reference_estimated_accuracy=0.9, reference_labels=0, reference_observed_accuracy=None,
                      agreement=0.5)


@pytest.fixture
def settings(tmp_path: Path) -> RetrainSettings:
    tracking = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                registered_model="m")
    return RetrainSettings(tracking=tracking, promotion=PromotionSettings(min_new_examples=2), retrain=RetrainOptions(
        base_data=_layout(tmp_path / "base", ["Run/a.avi"], ["Run/b.avi"]), work_dir=tmp_path / "work",
        labelled_dir=_layout(tmp_path / "new", ["Run/c.mp4"], ["Run/d.mp4", "Run/e.mp4"])))


class _JudgedOffline(RetrainJob):
    """The offline comparison's verdict is given (no bundles to score)."""

    def __init__(self, options: RetrainSettings, promote: bool, shadow: ShadowVerdict) -> None:
        super().__init__(options, shadow=self._shadow)
        self.promote, self.verdict, self.shadowed = promote, shadow, 0

    def _shadow(self, request: RetrainRequest, candidate: str, production: str, workspace: Path) -> ShadowVerdict:
        self.shadowed += 1
        return self.verdict

    def _compare(self, candidate: str, production_dir: Path, merged: MergedData, features: FeatureSettings,
                 downloads: Path) -> PromotionDecision:
        better = np.arange(30) < (27 if self.promote else 5)
        return decide(PairedComparison.of(better, np.arange(30) < 10),
                      PairedComparison.of(np.ones(30, bool), np.ones(30, bool)), self.settings.promotion)


def _judge(settings: RetrainSettings, tmp_path: Path, promote: bool) -> tuple[_JudgedOffline, JobOutcome]:
    set_alias(settings.tracking, _register(settings, tmp_path), "production")
    candidate = _register(settings, tmp_path)  # trained and registered, not judged yet: the job evaluates it
    data = RetrainData(base="b", labelled="l", train_videos=2, labelled_videos=3, held_out_labelled=2,
                       held_out_base=1)
    set_version_tags(settings.tracking, candidate, lineage_tags(REQUEST, "1", data))
    job = _JudgedOffline(settings, promote, ShadowVerdict(False, ["in shadow, label-free estimate 0.600 vs ..."],
                                                          LIVE))
    return job, job(REQUEST, attempt=1)


def test_a_candidate_refused_in_shadow_is_not_promoted(settings: RetrainSettings, tmp_path: Path) -> None:
    job, outcome = _judge(settings, tmp_path, promote=True)
    result = outcome.result
    assert job.shadowed == 1 and outcome.model_update is None
    assert (result.outcome, result.reasons, result.live) == ("refused", job.verdict.reasons, LIVE)
    assert alias_version(job.settings.tracking, "production") == "1"


def test_an_offline_refusal_never_runs_in_shadow(settings: RetrainSettings, tmp_path: Path) -> None:
    job, outcome = _judge(settings, tmp_path, promote=False)
    assert job.shadowed == 0 and outcome.result.outcome == "refused" and outcome.result.live is None
