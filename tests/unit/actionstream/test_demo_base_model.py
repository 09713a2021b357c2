"""The demo trains its base model again when the one in the registry was trained another way: other classes,
no open-set floor, no encoder digest, or an earlier demo recipe (fewer clips, the old selector target); and it
renders the synthetic set again when it holds another number of clips."""

from __future__ import annotations

from pathlib import Path

from actionstream.demo import DEMO_RECIPE, _data_set_size, retrain_reason
from models.bundle import Architecture, Manifest
from training.synth import SynthSettings, generate_dataset

CLASSES = ["JumpingDisc", "idle"]


def _manifest(classes: list[str] = CLASSES, floor: float | None = 0.4, digest: str | None = "0" * 64) -> Manifest:
    extra = {} if floor is None else {"min_action_confidence": floor}
    return Manifest(classes=classes, architecture=Architecture(), num_candidates=8, num_frames=4,
                    encoder_digest=digest, **extra)


def test_a_base_model_of_this_recipe_is_kept() -> None:
    assert retrain_reason(_manifest(), DEMO_RECIPE, CLASSES) is None


def test_a_base_model_of_an_earlier_recipe_or_without_one_is_trained_again() -> None:
    assert retrain_reason(_manifest(), None, CLASSES) == (
        f"was trained by demo recipe 1, not {DEMO_RECIPE} (more clips, a fixed selector target)")
    assert retrain_reason(_manifest(), "0", CLASSES) is not None


def test_other_classes_or_no_floor_are_named_first() -> None:
    other_classes = retrain_reason(_manifest(["a", "idle"]), DEMO_RECIPE, CLASSES)
    assert other_classes == "knows other classes than the synthetic set"
    assert "open-set floor" in str(retrain_reason(_manifest(floor=None), DEMO_RECIPE, CLASSES))


def test_a_base_model_without_an_encoder_digest_is_trained_again() -> None:
    # Its retrain candidates could not reuse its encoder files (models/encoder_reuse.py).
    assert "encoder digest" in str(retrain_reason(_manifest(digest=None), DEMO_RECIPE, CLASSES))


def test_the_synthetic_set_is_sized_by_its_clip_lists(tmp_path: Path) -> None:
    assert _data_set_size(tmp_path) is None
    settings = SynthSettings(num_classes=2, clips_per_class=2, groups=2, width=32, height=24, fps=4.0, seconds=1.0,
                             idle_class=True)
    generate_dataset(settings, tmp_path, progress=False)
    assert _data_set_size(tmp_path) == (settings.class_names, 6)
