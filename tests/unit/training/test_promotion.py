"""Champion/challenger rules: promote only a significant gain on new data without forgetting the base test;
each refusal names its rule; the held-out split keeps whole time blocks together."""

from __future__ import annotations

import numpy as np
import pytest

from training.promotion import PairedComparison, PromotionSettings, decide, time_block_holdout

SETTINGS = PromotionSettings(min_gain=0.02, alpha=0.05, forgetting_tolerance=0.02, min_new_examples=20)


def _paired(both: int, candidate_only: int, production_only: int, neither: int) -> PairedComparison:
    candidate = [True] * both + [True] * candidate_only + [False] * production_only + [False] * neither
    production = [True] * both + [False] * candidate_only + [True] * production_only + [False] * neither
    return PairedComparison.of(np.array(candidate), np.array(production))


BASE_SAME = _paired(80, 0, 0, 20)


def test_a_significant_gain_without_forgetting_is_promoted() -> None:
    decision = decide(_paired(40, 25, 2, 33), BASE_SAME, SETTINGS)
    assert decision.promote and decision.reasons == []
    assert decision.new_data.gain == pytest.approx(0.23) and decision.new_data.p_value < 1e-4


def test_a_gain_within_the_noise_is_refused_as_not_significant() -> None:
    decision = decide(_paired(40, 6, 3, 51), BASE_SAME, SETTINGS)
    assert not decision.promote
    [reason] = decision.reasons
    assert reason.startswith("gain on new data not significant: McNemar p=")


def test_a_worse_candidate_and_forgetting_are_each_named() -> None:
    worse = decide(_paired(40, 2, 25, 33), _paired(70, 0, 10, 20), SETTINGS)
    assert not worse.promote
    assert [reason.split(":")[0].split(" ")[0] for reason in worse.reasons] == ["gain", "forgets"]
    assert "below the required 0.020" in worse.reasons[0]


@pytest.mark.parametrize("base, forgets", [
    (_paired(11, 1, 4, 2), False),  # 3 of 18 clips: -0.167, but 1.645 standard errors are 0.194
    (_paired(50, 1, 4, 17), False),  # the same 3 clips of 72: -0.042 - 0.050 is within the tolerance
    (_paired(45, 2, 13, 12), True),  # 11 of 72 clips: -0.153 + 0.083 is beyond it
])
def test_forgetting_is_a_drop_beyond_tolerance_and_chance(base: PairedComparison, forgets: bool) -> None:
    decision = decide(_paired(40, 25, 2, 33), base, SETTINGS)
    assert decision.promote is not forgets
    if forgets:
        assert decision.reasons[0].startswith("forgets the base test: accuracy 0.653 vs 0.806 on 72")
    strict = decide(_paired(40, 25, 2, 33), base, SETTINGS.model_copy(update={"forgetting_z": 0.0}))
    assert not strict.promote  # the drop alone: every one of them


def test_too_few_new_windows_is_refused() -> None:
    decision = decide(_paired(5, 5, 0, 0), BASE_SAME, SETTINGS)
    assert not decision.promote and decision.reasons[0] == "too few held-out new windows: 10 < 20"


def test_mismatched_outcomes_are_an_error() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        PairedComparison.of(np.ones(3, bool), np.ones(4, bool))


def test_held_out_windows_come_in_whole_time_blocks() -> None:
    times = np.arange(0.0, 600.0, 2.0)  # a window every 2 s for 10 minutes
    mask = time_block_holdout(times, held_out_share=0.2, block_s=60.0, seed=1)
    blocks = np.floor(times / 60.0)
    assert mask.any() and not mask.all()
    assert all(len(set(mask[blocks == block])) == 1 for block in np.unique(blocks))  # never split a block
    assert len(np.unique(blocks[mask])) == 2  # 20 % of 10 blocks
    assert not time_block_holdout(np.array([1.0, 2.0]), 0.5, 60.0).any()  # one block: nothing to hold out


def test_forgetting_the_other_cameras_is_a_refusal_of_its_own() -> None:
    others = _paired(45, 2, 13, 12)  # 11 of 72 of the site's other windows lost: beyond tolerance and chance
    decision = decide(_paired(40, 25, 2, 33), BASE_SAME, SETTINGS, other_cameras=others)
    assert not decision.promote and decision.other_cameras is others
    assert decision.reasons == ["forgets the other cameras: accuracy 0.653 vs 0.806 on 72 (drop 0.153 beyond the "
                                "tolerance 0.020 + 0.083 of chance)"]
    assert decide(_paired(40, 25, 2, 33), BASE_SAME, SETTINGS, other_cameras=_paired(50, 1, 4, 17)).promote
