"""PCA + MMD on X_i: the score is Evidently's MMDDriftMethod's, the verdict a calibrated permutation test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from processors.drift.embedding import Projection, mmd_drift
from tests.unit.processors.drift.conftest import BRIGHT_DIRECTION, make_window

PCA_COMPONENTS = 20


@pytest.mark.parametrize("shift", ["none", "brightness", "noise", "blur"])
def test_mmd_score_agrees_with_evidently(shift: str) -> None:
    from evidently.metrics.embeddings import MMDDriftMethod

    rng = np.random.default_rng(7)
    reference = make_window(rng, frames=300).embeddings
    current = make_window(rng, shift).embeddings  # type: ignore[arg-type]
    projection = Projection.fit(reference, PCA_COMPONENTS)
    ours = mmd_drift(projection(reference), projection(current), permutations=200, alpha=0.01, seed=0)
    score, _, method = MMDDriftMethod(pca_components=PCA_COMPONENTS)(pd.DataFrame(current), pd.DataFrame(reference))
    assert method == "mmd"
    assert ours.score == pytest.approx(score, rel=1e-3, abs=1e-6)
    assert ours.drifted == (shift != "none")


def test_projection_is_sklearns_pca() -> None:
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    data = make_window(rng, frames=200).embeddings
    fitted = PCA(n_components=5, random_state=0).fit(data)
    np.testing.assert_allclose(Projection.fit(data, 5)(data[:10]), fitted.transform(data[:10]), rtol=1e-4, atol=1e-4)


def test_permutation_p_values_are_calibrated_under_no_drift() -> None:
    rng = np.random.default_rng(11)
    reference = rng.normal(size=(200, 8))
    p_values = np.array([mmd_drift(reference, rng.normal(size=(60, 8)), 100, 0.05, seed).p_value
                         for seed in range(200)])
    # Under the null the p-value is about uniform: about 5% below 0.05, and not piled up at either end.
    assert np.mean(p_values < 0.05) <= 0.08
    assert 0.35 <= np.median(p_values) <= 0.65


def test_a_mean_shift_is_detected_and_scores_grow_with_it() -> None:
    rng = np.random.default_rng(5)
    projection = Projection.fit(make_window(rng, frames=300).embeddings, PCA_COMPONENTS)
    reference = projection(make_window(rng, frames=300).embeddings)
    base = make_window(rng).embeddings
    scores = [mmd_drift(reference, projection(base + size * BRIGHT_DIRECTION), 200, 0.01, 0)
              for size in (0.0, 1.5, 3.0)]
    assert not scores[0].drifted and scores[1].drifted and scores[2].drifted
    assert scores[0].score < scores[1].score < scores[2].score


def _scene_frames(rng: np.random.Generator, scenes: np.ndarray, visits: list[int], frames: int) -> np.ndarray:
    """A camera that revisits recurring scenes: `frames` near-identical consecutive frames per visit."""
    return np.concatenate([scenes[scene] + 0.05 * rng.normal(size=(frames, scenes.shape[1])) for scene in visits])


def test_blocks_of_frames_keep_a_new_mix_of_known_scenes_from_looking_like_drift() -> None:
    rng = np.random.default_rng(3)
    scenes = rng.normal(size=(6, 8))
    reference = _scene_frames(rng, scenes, [0, 1, 2, 3, 4, 5] * 4, 8)
    current = _scene_frames(rng, scenes, [0, 1, 2] * 4 + [3, 4, 5], 8)  # scenes 0-2 oftener
    frames = mmd_drift(reference, current, 200, 0.01, seed=0)
    blocks = mmd_drift(reference, current, 200, 0.01, seed=0, block=8)
    assert frames.drifted and not blocks.drifted
    assert blocks.score == frames.score  # the score stays Evidently's: only the test changes

    # Every frame moved half as far as two scenes lie apart (a camera turned darker, say): drift.
    shifted = current + 2.0 * np.ones(8) / np.sqrt(8)
    assert mmd_drift(reference, shifted, 200, 0.01, seed=0, block=8).drifted


def test_one_frame_blocks_are_the_frame_permutation_test() -> None:
    rng = np.random.default_rng(4)
    reference, current = rng.normal(size=(50, 4)), rng.normal(size=(30, 4)) + 0.3
    assert mmd_drift(reference, current, 100, 0.05, 2, block=1) == mmd_drift(reference, current, 100, 0.05, 2)


def test_too_few_embeddings_are_refused() -> None:
    with pytest.raises(ValueError, match="2 or more"):
        mmd_drift(np.zeros((10, 3)), np.zeros((1, 3)), 20, 0.05, 0)
