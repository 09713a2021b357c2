"""The articulated family: its frozen specification, bursts (several, 10-30 % of a clip), looks that do not
depend on the class, distractor motion in idle frames, and the family option of settings and `synth`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from training.synth import SynthSettings, generate_dataset
from training.synth_actions import action_kinds
from training.synth_articulated import ARTICULATED_CLASSES, ARTICULATED_SPEC, ArticulatedScene
from training.synth_cli import register

# Version 1 of the family, frozen: a test that fails here means results are no longer comparable.
FROZEN_SPEC = {
    "version": 1,
    "classes": ("Wave", "Clap", "Jump", "Squat", "Kick", "March", "Reach", "Windmill"),
    "bursts": (1, 3),
    "burst_fraction": (0.10, 0.30),
    "min_burst_frames": 2,
    "distractor_figures": (1, 2),
    "balls": (2, 4),
    "clutter_shapes": (20, 40),
    "shake_walk_px": 6.0,
    "shake_jitter_px": 1.0,
    "lighting_drift": 0.08,
    "noise_sigma": (2.0, 6.0),
    "tempo_hz": (1.0, 2.0),
}
# One frame of one seed, to catch a rendering change that the parameters above do not show.
FROZEN_SPANS = [(76, 96)]
FROZEN_FRAME_SHA256 = "2a90cb8b957e9649"


def _scene(class_index: int | None, seed: int, num_frames: int = 100) -> ArticulatedScene:
    return ArticulatedScene(class_index, width=96, height=72, fps=25.0, num_frames=num_frames,
                            rng=np.random.default_rng(seed))


def _frame(scene: ArticulatedScene, index: int) -> np.ndarray:
    out = np.empty((scene.height, scene.width, 3), dtype=np.uint8)
    scene.render_into(index, out)
    return out


def test_the_specification_is_frozen() -> None:
    assert ARTICULATED_SPEC.model_dump() == FROZEN_SPEC
    scene = _scene(3, seed=11)
    assert scene.spans == FROZEN_SPANS
    assert hashlib.sha256(_frame(scene, scene.spans[0][0]).tobytes()).hexdigest()[:16] == FROZEN_FRAME_SHA256


@pytest.mark.parametrize("seed", range(12))
def test_bursts_are_several_disjoint_spans_covering_10_to_30_percent(seed: int) -> None:
    scene = _scene(seed % len(ARTICULATED_CLASSES), seed)
    assert 1 <= len(scene.spans) <= 3
    assert all(end - start >= 2 for start, end in scene.spans)
    assert all(first[1] < second[0] for first, second in zip(scene.spans, scene.spans[1:], strict=False))
    assert 0.09 <= scene.mask.mean() <= 0.31  # rounding to whole frames and the 2-frame minimum
    assert scene.burst == (scene.spans[0][0], scene.spans[-1][1])


def test_the_class_changes_the_motion_not_the_look() -> None:
    wave, squat = _scene(0, seed=5), _scene(3, seed=5)
    assert wave.actor.limb_colour == squat.actor.limb_colour
    assert wave.actor.stripe_colours == squat.actor.stripe_colours
    assert wave.spans == squat.spans
    start = wave.spans[0][0]
    assert np.array_equal(_frame(wave, start - 1), _frame(squat, start - 1))  # same idle frame
    assert not np.array_equal(_frame(wave, start + 1), _frame(squat, start + 1))  # different action


def test_idle_frames_hold_distractor_motion_and_camera_shake() -> None:
    idle = _scene(None, seed=2)
    assert idle.spans == [] and not idle.mask.any()
    first, later = _frame(idle, 0).astype(np.int16), _frame(idle, 10).astype(np.int16)
    # Beyond sensor noise (sigma <= 6): balls, swaying figures and the shaken camera move pixels a lot.
    assert np.mean(np.abs(first - later) > 40) > 0.02


def test_rendering_is_a_pure_function_of_seed_and_frame() -> None:
    scene = _scene(6, seed=9)
    later = _frame(scene, 40)
    _frame(scene, 3)
    assert np.array_equal(later, _frame(scene, 40))
    assert np.array_equal(later, _frame(_scene(6, seed=9), 40))


def test_family_settings_name_the_classes() -> None:
    assert SynthSettings(num_classes=8, family="articulated").class_names == list(ARTICULATED_CLASSES)
    shapes = [kind.name for kind in action_kinds()[:3]]
    mix = SynthSettings(num_classes=3, family="mix", idle_class=True)
    assert mix.class_names == [*shapes, *ARTICULATED_CLASSES[:3], "idle"]
    assert mix.idle_index == 6
    with pytest.raises(ValueError, match="articulated family defines only 8"):
        SynthSettings(num_classes=9, family="articulated")


def test_a_mix_data_set_renders_both_families(tmp_path: Path) -> None:
    settings = SynthSettings(num_classes=2, clips_per_class=2, groups=2, width=64, height=48, fps=8.0, seconds=2.0,
                             family="mix", seed=4)
    root = generate_dataset(settings, tmp_path, progress=False)
    for name in settings.class_names:
        truths = sorted((root / "truth" / name).glob("*.json"))
        assert len(truths) == 2
        assert all(json.loads(path.read_text())["label"] == name for path in truths)
    assert len(list((root / "UCF-101").rglob("*.avi"))) == 8


def test_cli_synth_family_option(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["synth", "--family", "articulated", "--out", str(tmp_path), "--classes", "2",
                                      "--clips-per-class", "4", "--width", "64", "--height", "48", "--fps", "8",
                                      "--seconds", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "UCF-101").iterdir()) == ["Clap", "Wave"]
    rejected = CliRunner().invoke(app, ["synth", "--family", "cartoons", "--out", str(tmp_path / "no")])
    assert rejected.exit_code != 0 and not (tmp_path / "no").exists()
