"""Reference profiles: sample caps and the JSON + npz round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.drift.calibration import Calibration
from processors.drift.detector import assess
from processors.drift.profile import ReferenceProfile
from processors.drift.settings import DriftSettings
from tests.unit.processors.drift.conftest import make_window


def test_build_caps_the_samples_and_keeps_frames_aligned() -> None:
    settings = DriftSettings(reference_frames=100, reference_outcomes=50)
    data = make_window(np.random.default_rng(0), frames=400, outcomes=200)
    profile = ReferenceProfile.build("camera", "demo/cam1@1764000000", data, settings)
    assert profile.embeddings.shape == (100, data.embeddings.shape[1])
    assert {len(values) for values in profile.quality.values()} == {100}
    assert sum(profile.label_counts.values()) == 50 and len(profile.confidence) == 50
    assert profile.projection.components.shape == (settings.embedding.pca_components, data.embeddings.shape[1])
    # The quality row i and the embedding row i are the same frame.
    row = int(np.flatnonzero(data.quality["brightness"] == profile.quality["brightness"][7])[0])
    np.testing.assert_allclose(profile.embeddings[7], data.embeddings[row], rtol=1e-3, atol=1e-2)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    settings = DriftSettings()
    calibration = Calibration(temperature=1.4, num_classes=5, samples=800, accuracy=0.82, nll_before=0.9,
                              nll_after=0.7)
    profile = ReferenceProfile.build("training", "model-v3", make_window(np.random.default_rng(1), frames=500,
                                                                         outcomes=300), settings, calibration)
    profile.save(tmp_path / "profile")
    loaded = ReferenceProfile.load(tmp_path / "profile")
    assert (loaded.kind, loaded.name, loaded.calibration) == ("training", "model-v3", calibration)
    assert loaded.label_counts == profile.label_counts
    for column in profile.quality:
        np.testing.assert_array_equal(loaded.quality[column], profile.quality[column])
    np.testing.assert_array_equal(loaded.embeddings, profile.embeddings)
    np.testing.assert_array_equal(loaded.confidence, profile.confidence)
    window = make_window(np.random.default_rng(2), "brightness")
    assert assess(loaded, window, settings) == assess(profile, window, settings)


def test_load_refuses_an_unknown_format(tmp_path: Path) -> None:
    profile = ReferenceProfile.build("camera", "c", make_window(np.random.default_rng(3)), DriftSettings())
    profile.save(tmp_path)
    (tmp_path / "profile.json").write_text((tmp_path / "profile.json").read_text().replace('"format": 1',
                                                                                          '"format": 9'))
    with pytest.raises(ValueError, match="unsupported profile format 9"):
        ReferenceProfile.load(tmp_path)


def test_build_refuses_empty_data() -> None:
    data = make_window(np.random.default_rng(4), frames=1, outcomes=1)
    with pytest.raises(ValueError, match="needs frames"):
        ReferenceProfile.build("camera", "c", data, DriftSettings())
