"""A candidate started from the previous bundle's weights, only when the two fit together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.bundle import Architecture, Manifest, ModelBundle, build_modules
from models.preprocessing import Preprocessing
from tests.unit.training.test_attention_mil import CLASSES, bags
from training.attention_mil import train_attention_head
from training.losses import CrossEntropyLoss
from training.optim import OptimizerSettings, SchedulerSettings
from training.shared import train_shared_head
from training.smart_settings import ClassifierSettings
from training.warm_start import load_warm_start

PREVIOUS = Architecture(representation_dim=12, top_k_names=10, shared_hidden_dim=8, single_hidden_dim=8,
                        global_hidden_dim=16)


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    single, global_, classifier = build_modules(PREVIOUS, num_classes=3)
    manifest = Manifest(classes=["a", "b", "c"], architecture=PREVIOUS, num_candidates=6, num_frames=2)
    ModelBundle(manifest, Preprocessing(), np.zeros((1000, 384), np.float32), single, global_, classifier).save(
        tmp_path)
    return tmp_path


def test_the_candidate_starts_from_the_previous_weights_and_sizes(previous: Path) -> None:
    configured = PREVIOUS.model_copy(update={"global_hidden_dim": 4, "single_hidden_dim": 4})
    warm = load_warm_start(previous, ["a", "b", "c"], configured)
    assert warm is not None and warm.architecture == PREVIOUS
    saved = ModelBundle.load(previous)
    for module, saved_module in ((warm.single, saved.single), (warm.global_, saved.global_),
                                 (warm.classifier, saved.classifier)):
        for (name, value), (_, saved_value) in zip(module.state_dict().items(), saved_module.state_dict().items(),
                                                   strict=True):
            assert torch.equal(value, saved_value), name


@pytest.mark.parametrize(("classes", "change"), [
    (["a", "b", "d"], {}),  # another class
    (["b", "a", "c"], {}),  # the same classes in another order: the outputs would mean other classes
    (["a", "b", "c"], {"top_k_names": 5}),  # another input representation
    (["a", "b", "c"], {"classifier_kind": "heavy"}),
])
def test_a_candidate_that_does_not_fit_starts_cold(previous: Path, classes: list[str],
                                                   change: dict[str, object]) -> None:
    assert load_warm_start(previous, classes, PREVIOUS.model_copy(update=change)) is None


@pytest.mark.parametrize("train_head", [train_shared_head, train_attention_head])
def test_a_warm_head_starts_from_a_copy_of_the_initial_one(train_head) -> None:  # type: ignore[no-untyped-def]
    torch.set_num_threads(1)
    data, _ = bags(12, seed=0)
    # A learning rate that cannot move the weights: what training returns shows where it started.
    settings = ClassifierSettings(hidden_dim=8, attention_hidden_dim=4, epochs=1, clip_batch_size=4, batch_size=16,
                                  dropout=0.0, learning_rate=1e-12)
    initial, _ = train_head(data, CLASSES, settings.model_copy(update={"learning_rate": 3e-3, "epochs": 3}),
                            OptimizerSettings(), SchedulerSettings(), CrossEntropyLoss(), None, progress=False,
                            seed=1)
    before = {name: value.clone() for name, value in initial.state_dict().items()}
    warm, _ = train_head(data, CLASSES, settings, OptimizerSettings(), SchedulerSettings(), CrossEntropyLoss(), None,
                         progress=False, seed=2, initial=initial)
    cold, _ = train_head(data, CLASSES, settings, OptimizerSettings(), SchedulerSettings(), CrossEntropyLoss(), None,
                         progress=False, seed=2)
    assert warm is not initial
    for name, value in initial.state_dict().items():
        assert torch.equal(value, before[name]), f"{name}: the initial head was trained in place"
        torch.testing.assert_close(warm.state_dict()[name], value, atol=1e-6, rtol=0)
    assert not torch.allclose(cold.state_dict()["mlp.1.weight"], initial.state_dict()["mlp.1.weight"])
