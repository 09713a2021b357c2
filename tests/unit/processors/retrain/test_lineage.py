"""Lineage tags: where a request resumes, and the result rebuilt from the tags of its candidate."""

from __future__ import annotations

import numpy as np

from processors.retrain.lineage import (
    OUTCOME_TAG,
    Resume,
    decision_tags,
    lineage_tags,
    result_from_tags,
    resume_point,
)
from streams.schemas import RetrainData, RetrainRequest, RetrainTimings
from training.promotion import PairedComparison, PromotionSettings, decide

REQUEST = RetrainRequest(request_id="r1", site="s", cause="data_drift", reason="drift", evidence=[],
                         report_ids=["r"], cameras=["cam1"], data_start=0.0, data_end=60.0, model_version="1",
                         requested_at=61.0)
DATA = RetrainData(base="base", labelled="labelled", train_videos=30, labelled_videos=40, held_out_labelled=30,
                   held_out_base=9)
TIMINGS = RetrainTimings(data_s=1.0, training_s=20.0, evaluation_s=3.0, total_s=24.0)


def _comparison(candidate_right: int, production_right: int, examples: int = 30) -> PairedComparison:
    candidate = np.arange(examples) < candidate_right
    production = np.arange(examples) < production_right
    return PairedComparison.of(candidate, production)


def test_resume_point_follows_the_tags() -> None:
    assert resume_point(None) is Resume.TRAIN
    lineage = lineage_tags(REQUEST, "1", DATA)
    assert resume_point(lineage) is Resume.EVALUATE
    assert resume_point({**lineage, OUTCOME_TAG: "refused"}) is Resume.PUBLISH


def test_a_promotion_round_trips_through_the_tags() -> None:
    decision = decide(_comparison(27, 12), _comparison(9, 9, examples=9), PromotionSettings())
    assert decision.promote
    tags = {**lineage_tags(REQUEST, "1", DATA), **decision_tags(decision, TIMINGS, attempt=2)}
    assert all(isinstance(value, str) for value in tags.values())  # MLflow tags are strings

    result = result_from_tags(REQUEST, "3", tags)
    assert (result.outcome, result.candidate_version, result.production_version, result.attempt) == (
        "promoted", "3", "1", 2)
    assert result.new_data is not None and result.new_data.gain == 0.5
    assert result.data == DATA and result.timings == TIMINGS
    assert "+0.500" in result.reasons[0]


def test_a_refusal_carries_the_failed_rules() -> None:
    decision = decide(_comparison(10, 20), _comparison(3, 9, examples=9), PromotionSettings())
    tags = {**lineage_tags(REQUEST, "1", DATA), **decision_tags(decision, TIMINGS, attempt=1)}

    result = result_from_tags(REQUEST, "3", tags)
    assert result.outcome == "refused"
    assert len(result.reasons) == 2
    assert result.reasons[0].startswith("gain on new data -0.333 below the required")
    assert result.reasons[1].startswith("forgets the base test")


def test_the_other_cameras_comparison_round_trips_and_is_named_in_a_promotion() -> None:
    decision = decide(_comparison(27, 12), _comparison(9, 9, examples=9), PromotionSettings(),
                      other_cameras=_comparison(29, 29))
    tags = {**lineage_tags(REQUEST, "1", DATA), **decision_tags(decision, TIMINGS, attempt=1)}

    result = result_from_tags(REQUEST, "3", tags)
    assert result.other_cameras is not None and result.other_cameras.examples == 30
    assert result.reasons[0].endswith("; other cameras 0.967 vs 0.967")
    without = decide(_comparison(27, 12), _comparison(9, 9, examples=9), PromotionSettings())
    assert result_from_tags(REQUEST, "3", {**lineage_tags(REQUEST, "1", DATA),
                                          **decision_tags(without, TIMINGS, attempt=1)}).other_cameras is None
