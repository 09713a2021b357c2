"""Judging a shadow run: paired figures from shadow outcomes and labels, refusals with reasons, too few windows,
and the decision tags a shadow run leaves on the candidate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from processors.drift.calibration import Calibration
from processors.retrain.lineage import LIVE_TAG, OUTCOME_TAG, REASONS_TAG, decision_tags, result_from_tags
from processors.retrain.shadow import ShadowSettings, ShadowTally, ShadowVerdict, judge_shadow
from streams.schemas import LabelScore, RetrainData, RetrainRequest, RetrainTimings, ShadowOutcome
from training.promotion import PairedComparison, PromotionDecision, PromotionSettings, decide

CANDIDATE, PRODUCTION = "m/8", "m/7"
IDENTITY = Calibration(temperature=1.0, num_classes=2, samples=100, accuracy=0.9, nll_before=0.3, nll_after=0.3)


def _window(index: int, label: str, confidence: float, production_label: str, production_confidence: float,
            version: str = CANDIDATE) -> ShadowOutcome:
    def top_k(winner: str, p: float) -> list[LabelScore]:
        other = "idle" if winner == "wave" else "wave"
        return [LabelScore(label=winner, confidence=p), LabelScore(label=other, confidence=1.0 - p)]

    return ShadowOutcome(event_id=f"w{index}", site="demo", camera=f"cam{index % 2}", window_start=4.0 * index,
                         window_end=4.0 * index + 4, model_version=version, label=label,
                         top_k=top_k(label, confidence), production_version=PRODUCTION,
                         production_label=production_label, production_top_k=top_k(production_label,
                                                                                    production_confidence))


def _tally(candidate_confidence: float, production_confidence: float, windows: int = 40) -> ShadowTally:
    tally = ShadowTally(CANDIDATE, IDENTITY, IDENTITY)
    rng = np.random.default_rng(0)
    for index in range(windows):
        jitter = float(rng.uniform(-0.02, 0.02))
        tally.add(_window(index, "wave", candidate_confidence + jitter, "wave" if index % 4 else "idle",
                          production_confidence + jitter))
    return tally


def test_tally_pairs_both_models_on_the_same_windows() -> None:
    tally = _tally(0.9, 0.9, windows=8)
    assert not tally.add(_window(99, "wave", 0.9, "wave", 0.9, version="m/9"))  # another candidate's record
    tally.add(_window(0, "wave", 0.9, "idle", 0.9))  # a replayed window counts once
    for index in range(8):
        tally.add_label(f"w{index}", "wave")
    figures = tally.figures()
    assert figures.windows == 8 and figures.agreement == pytest.approx(6 / 8)
    assert figures.candidate.estimated == pytest.approx(0.9, abs=0.02)
    assert (figures.candidate.labels, figures.candidate.observed) == (8, 1.0)
    assert (figures.production.labels, figures.production.observed) == (8, pytest.approx(6 / 8))


def test_a_candidate_as_good_in_shadow_passes_with_its_figures() -> None:
    verdict = judge_shadow(_tally(0.85, 0.8).figures(), ShadowSettings(duration_s=60), CANDIDATE)
    assert verdict.promote and verdict.reasons[0].startswith("shadow run: 40 windows")
    assert verdict.live is not None and verdict.live.agreement == pytest.approx(0.75)
    assert verdict.live.reference_windows == 40


def test_a_candidate_much_less_sure_in_shadow_is_refused() -> None:
    verdict = judge_shadow(_tally(0.6, 0.9).figures(), ShadowSettings(duration_s=60), CANDIDATE)
    assert not verdict.promote
    assert verdict.reasons[0].startswith("in shadow, label-free estimate 0.6")
    assert "production 0.9" in verdict.reasons[0]


def test_a_candidate_worse_on_labelled_shadow_windows_is_refused() -> None:
    tally = _tally(0.9, 0.9)
    for index in range(40):
        tally.add_label(f"w{index}", "idle")  # production says idle on a quarter of them, the candidate never
    verdict = judge_shadow(tally.figures(), ShadowSettings(duration_s=60), CANDIDATE)
    assert not verdict.promote and verdict.reasons[0].startswith("in shadow, observed accuracy 0.000")


@pytest.mark.parametrize("required", [False, True])
def test_too_few_shadow_windows_decide_nothing_unless_required(required: bool) -> None:
    settings = ShadowSettings(duration_s=60, require_windows=required)
    verdict = judge_shadow(_tally(0.5, 0.9, windows=5).figures(), settings, CANDIDATE)
    assert verdict.promote is not required
    assert "5 windows, 20 needed" in verdict.reasons[0]


def _decision(promote: bool) -> PromotionDecision:
    good = PairedComparison.of(np.array([True] * 30), np.array([True] * 10 + [False] * 20))
    bad = PairedComparison.of(np.array([False] * 30), np.array([True] * 30))
    return decide(good if promote else bad, good, PromotionSettings())


def test_decision_tags_with_a_shadow_run() -> None:
    timings = RetrainTimings(data_s=1, training_s=2, evaluation_s=3, total_s=6)
    refusal = judge_shadow(_tally(0.6, 0.9).figures(), ShadowSettings(duration_s=60), CANDIDATE)
    tags = decision_tags(_decision(True), timings, 1, refusal)
    assert tags[OUTCOME_TAG] == "refused" and json.loads(tags[REASONS_TAG]) == refusal.reasons
    passed = decision_tags(_decision(True), timings, 1, ShadowVerdict(True, ["shadow run: ok"], refusal.live))
    assert passed[OUTCOME_TAG] == "promoted" and json.loads(passed[REASONS_TAG])[-1] == "shadow run: ok"
    request = RetrainRequest(request_id="r1", site="demo", cause="data_drift", reason="t", evidence=[],
                             report_ids=[], cameras=[], data_start=0, data_end=1, model_version="7")
    tags = {**passed, "retrain.parent_version": "7", "retrain.data": RetrainData(
        base="b", labelled=None, train_videos=1, labelled_videos=0, held_out_labelled=0, held_out_base=1,
    ).model_dump_json()}
    assert result_from_tags(request, "8", tags).live == refusal.live and LIVE_TAG in tags
    assert LIVE_TAG not in decision_tags(_decision(True), timings, 1)
