"""Lineage of a candidate in its MLflow version tags, and the result event rebuilt from them (pure).

The tags are the request's checkpoint as well: a worker that died mid-request finds, by the request id tag,
the version it registered, and resumes from what the tags say was done (trained; decided) instead of
training again. The result event is always rebuilt from the tags, so a resumed request reports the figures of
the run that made the decision."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum

from models.registry import PARENT_VERSION_TAG
from processors.retrain.shadow import ShadowVerdict
from streams.schemas import (
    LiveComparison,
    ModelComparison,
    RetrainData,
    RetrainRequest,
    RetrainResult,
    RetrainTimings,
)
from training.promotion import PairedComparison, PromotionDecision

REQUEST_TAG = "retrain.request_id"
SITE_TAG = "retrain.site"
PARENT_TAG = PARENT_VERSION_TAG
DATA_TAG = "retrain.data"
OUTCOME_TAG = "retrain.outcome"
REASONS_TAG = "retrain.reasons"
NEW_DATA_TAG = "retrain.new_data"
BASE_TEST_TAG = "retrain.base_test"
OTHER_CAMERAS_TAG = "retrain.other_cameras"
TIMINGS_TAG = "retrain.timings"
ATTEMPT_TAG = "retrain.attempt"
LIVE_TAG = "retrain.shadow"


class Resume(Enum):
    TRAIN = "train"  # nothing registered for the request yet
    EVALUATE = "evaluate"  # a candidate is registered, not yet judged
    PUBLISH = "publish"  # judged: apply the decision (idempotent) and publish the result


def resume_point(tags: Mapping[str, str] | None) -> Resume:
    """Where a request stands, from the tags of the version registered for it (None: no version)."""
    if tags is None:
        return Resume.TRAIN
    return Resume.PUBLISH if OUTCOME_TAG in tags else Resume.EVALUATE


def lineage_tags(request: RetrainRequest, parent_version: str, data: RetrainData) -> dict[str, str]:
    return {REQUEST_TAG: request.request_id, SITE_TAG: request.site, PARENT_TAG: parent_version,
            DATA_TAG: data.model_dump_json()}


def comparison(paired: PairedComparison) -> ModelComparison:
    return ModelComparison.model_validate(paired.to_dict())


def decision_reasons(decision: PromotionDecision) -> list[str]:
    """The failed rules of a refusal; for a promotion, the figures that passed."""
    if not decision.promote:
        return list(decision.reasons)
    new, base, others = decision.new_data, decision.base_test, decision.other_cameras
    return [f"gain on new data {new.gain:+.3f} ({new.candidate_accuracy:.3f} vs {new.production_accuracy:.3f}, "
            f"McNemar p={new.p_value:.3g}); base test {base.candidate_accuracy:.3f} vs "
            f"{base.production_accuracy:.3f}"
            + (f"; other cameras {others.candidate_accuracy:.3f} vs {others.production_accuracy:.3f}" if others
               else "")]


def decision_tags(decision: PromotionDecision, timings: RetrainTimings, attempt: int,
                  shadow: ShadowVerdict | None = None) -> dict[str, str]:
    """The decision's tags; a shadow run (only ever of a candidate the offline comparison accepted) can refuse
    it, and its figures are kept either way."""
    reasons = decision_reasons(decision)
    promote = decision.promote
    if shadow is not None:
        promote = promote and shadow.promote
        reasons = [*reasons, *shadow.reasons] if shadow.promote else list(shadow.reasons)
    tags = {OUTCOME_TAG: "promoted" if promote else "refused", REASONS_TAG: json.dumps(reasons),
            NEW_DATA_TAG: comparison(decision.new_data).model_dump_json(),
            BASE_TEST_TAG: comparison(decision.base_test).model_dump_json(),
            TIMINGS_TAG: timings.model_dump_json(), ATTEMPT_TAG: str(attempt)}
    if decision.other_cameras is not None:
        tags[OTHER_CAMERAS_TAG] = comparison(decision.other_cameras).model_dump_json()
    if shadow is not None and shadow.live is not None:
        tags[LIVE_TAG] = shadow.live.model_dump_json()
    return tags


def result_from_tags(request: RetrainRequest, version: str, tags: Mapping[str, str]) -> RetrainResult:
    """The result of a judged candidate (its tags hold a decision)."""
    outcome = tags[OUTCOME_TAG]
    if outcome not in ("promoted", "refused"):
        raise ValueError(f"version {version}: unknown {OUTCOME_TAG} {outcome!r}")
    return RetrainResult(
        request_id=request.request_id, site=request.site, outcome=outcome, reasons=json.loads(tags[REASONS_TAG]),
        new_data=ModelComparison.model_validate_json(tags[NEW_DATA_TAG]),
        base_test=ModelComparison.model_validate_json(tags[BASE_TEST_TAG]),
        other_cameras=(ModelComparison.model_validate_json(tags[OTHER_CAMERAS_TAG]) if OTHER_CAMERAS_TAG in tags
                       else None),
        candidate_version=version,
        production_version=tags[PARENT_TAG], data=RetrainData.model_validate_json(tags[DATA_TAG]),
        timings=RetrainTimings.model_validate_json(tags[TIMINGS_TAG]), attempt=int(tags[ATTEMPT_TAG]),
        live=LiveComparison.model_validate_json(tags[LIVE_TAG]) if LIVE_TAG in tags else None,
    )
