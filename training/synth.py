"""Synthetic UCF101-layout action data set with per-frame truth.

Each clip is mostly idle scene (random background, lighting drift, sensor noise, drifting grey blobs shared
by every class); the class-defining action (a coloured, textured shape with its own motion) appears only in
one contiguous burst of frames. Uniform frame sampling therefore mostly sees idle frames, while a selector
that finds the burst sees the class: the situation SMART frame selection is built for.

With `idle_class`, the set also holds the class `idle`: clips of scene motion and noise with no action at
all, so that a model learns to say "nothing happens" (a real camera shows nothing most of the time).

`family` picks the generator: `shapes` (the above, the first family), `articulated` (the second, independent
family of stick-figure actors, frozen in training.synth_articulated) or `mix` (num_classes of each).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, cast

import numpy as np
from pydantic import BaseModel, Field, model_validator
from tqdm import tqdm

from training.synth_actions import action_kinds
from training.synth_articulated import ARTICULATED_CLASSES, ArticulatedScene
from training.synth_scene import ClipScene, NoiseBank

logger = logging.getLogger(__name__)

VideoCodec = Literal["mpeg4", "libx264", "h264"]
SynthFamily = Literal["shapes", "articulated", "mix"]
# The class of clips without any action; processors' classifier.idle_labels maps it to an idle outcome.
IDLE_CLASS = "idle"
# The split lists' folder: a data set is complete once it is there (written last).
LISTS_FOLDER = "ucfTrainTestlist"


class SynthSettings(BaseModel):
    """Size and content of a synthetic data set."""

    num_classes: int = Field(5, ge=2, description="Number of action classes (at most the number of kinds).")
    clips_per_class: int = Field(12, ge=1, description="Clips rendered per class.")
    groups: int = Field(4, ge=2, description="UCF-style gXX groups the clips of a class are spread over.")
    test_groups: int = Field(1, ge=1, description="The last this many groups form testlist01.")
    width: int = Field(320, ge=16, description="Frame width in pixels (even, for yuv420p).")
    height: int = Field(240, ge=16, description="Frame height in pixels (even, for yuv420p).")
    fps: float = Field(25.0, gt=0, description="Frames per second.")
    seconds: float = Field(4.0, gt=0, description="Length of one clip in seconds.")
    burst_fraction: tuple[float, float] = Field(
        (0.2, 0.3), description="Min and max fraction of a clip's frames that show the action."
    )
    seed: int = Field(0, description="Seed: the same settings give the same data set, frame for frame.")
    codec: VideoCodec = Field("mpeg4", description="Video codec of the .avi files.")
    idle_class: bool = Field(False, description=f"Add the class {IDLE_CLASS!r} (last index): clips with no action.")
    family: SynthFamily = Field(
        "shapes", description="Generator family: shapes (first), articulated (second, frozen spec; ignores "
        "burst_fraction), or mix (num_classes classes of each)."
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> SynthSettings:
        available = {"shapes": len(action_kinds()), "articulated": len(ARTICULATED_CLASSES),
                     "mix": min(len(action_kinds()), len(ARTICULATED_CLASSES))}[self.family]
        if self.num_classes > available:
            raise ValueError(f"num_classes={self.num_classes} but the {self.family} family defines only {available}")
        if self.test_groups >= self.groups:
            raise ValueError("test_groups must leave at least one group for training")
        if self.clips_per_class < self.groups:
            raise ValueError("clips_per_class must be at least groups, so that every group has a clip")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (yuv420p video)")
        low, high = self.burst_fraction
        if not 0.0 < low <= high <= 1.0:
            raise ValueError("burst_fraction must satisfy 0 < min <= max <= 1")
        return self

    @property
    def class_names(self) -> list[str]:
        actions = self.action_names
        return [*actions, IDLE_CLASS] if self.idle_class else actions

    @property
    def action_names(self) -> list[str]:
        """The action classes in index order (a mix lists the shapes classes, then the articulated ones)."""
        shapes = [kind.name for kind in action_kinds()[: self.num_classes]]
        articulated = list(ARTICULATED_CLASSES[: self.num_classes])
        return {"shapes": shapes, "articulated": articulated, "mix": shapes + articulated}[self.family]

    @property
    def idle_index(self) -> int | None:
        """The class index of the idle class, None without one."""
        return len(self.action_names) if self.idle_class else None

    @property
    def num_frames(self) -> int:
        return max(1, round(self.seconds * self.fps))


@dataclass(frozen=True)
class RenderedClip:
    """One rendered clip: frames uint8 [N, H, W, 3] RGB, mask bool [N] (True inside the burst), class index."""

    frames: np.ndarray
    mask: np.ndarray
    label: int
    burst: tuple[int, int]  # [start, end) frame indices of the action; empty (start == end) for an idle clip


def build_scene(
    class_index: int,
    settings: SynthSettings,
    rng: np.random.Generator,
    *,
    num_frames: int | None = None,
    noise: NoiseBank | None = None,
    background: np.ndarray | None = None,
) -> ClipScene | ArticulatedScene:
    """The random script of one clip, to render frame by frame (long feeds never hold a whole clip).

    `class_index` is an action class, or `settings.idle_index` for a clip without action. `noise` and
    `background` (uint8 [H, W, 3] within the noise headroom, e.g. a shifted scene) apply to shapes scenes."""
    if not 0 <= class_index < len(settings.class_names):
        raise ValueError(f"class_index {class_index} outside 0..{len(settings.class_names) - 1}")
    frames = num_frames if num_frames is not None else settings.num_frames
    is_idle = class_index == settings.idle_index
    shapes_classes = settings.num_classes if settings.family == "mix" else len(settings.action_names)
    if settings.family == "articulated" or (settings.family == "mix" and class_index >= shapes_classes):
        if background is not None:
            raise ValueError("a replacement background applies to shapes scenes only")
        articulated_index = class_index - (shapes_classes if settings.family == "mix" else 0)
        return ArticulatedScene(None if is_idle else articulated_index, width=settings.width,
                                height=settings.height, fps=settings.fps, num_frames=frames, rng=rng)
    return ClipScene(
        None if is_idle else action_kinds()[class_index],
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        num_frames=frames,
        burst_fraction=settings.burst_fraction,
        rng=rng,
        noise=noise,
        background=background,
    )


def render_clip(class_index: int, settings: SynthSettings, rng: np.random.Generator) -> RenderedClip:
    scene = build_scene(class_index, settings, rng)
    frames = np.empty((scene.num_frames, settings.height, settings.width, 3), dtype=np.uint8)
    for index in range(scene.num_frames):
        scene.render_into(index, frames[index])
    return RenderedClip(frames=frames, mask=scene.mask, label=class_index, burst=scene.burst)


def encode_video(
    frames: Iterable[np.ndarray],
    path: Path,
    *,
    codec: str,
    width: int,
    height: int,
    fps: float,
    codec_options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    bit_rate: int | None = None,
) -> int:
    """Encode RGB frames to `path` with PyAV (each frame is converted before the next is drawn, so a
    generator may reuse one buffer); returns the number of frames written."""
    import av
    import av.video.stream

    rate = Fraction(fps).limit_denominator(1001)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = cast("av.video.stream.VideoStream", container.add_stream(codec, rate=rate))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        stream.options = dict[str, object](codec_options or {})
        for array in frames:
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = written, 1 / rate
            container.mux(stream.encode(frame))
            written += 1
        container.mux(stream.encode(None))
    return written


def _dataset_codec_options(settings: SynthSettings) -> tuple[dict[str, str], int | None]:
    if settings.codec == "mpeg4":
        # mpeg4's default 200 kb/s smears small clips into blocks; scale the rate with the pixel rate.
        return {}, int(settings.width * settings.height * settings.fps * 0.25)
    return {"preset": "veryfast", "bf": "0", "crf": "20"}, None


@dataclass(frozen=True)
class _ClipJob:
    class_index: int
    clip_index: int
    group: int
    index_in_group: int

    def stem(self, class_name: str) -> str:
        return f"v_{class_name}_g{self.group:02d}_c{self.index_in_group:02d}"


def _plan_clips(settings: SynthSettings) -> list[_ClipJob]:
    # Round-robin over groups keeps group sizes within one clip of each other, as in UCF101.
    jobs = [
        _ClipJob(class_index, clip, group=clip % settings.groups + 1, index_in_group=clip // settings.groups + 1)
        for class_index in range(len(settings.class_names))
        for clip in range(settings.clips_per_class)
    ]
    return sorted(jobs, key=lambda job: (job.class_index, job.group, job.index_in_group))


def _truth_record(clip: RenderedClip, settings: SynthSettings) -> dict[str, object]:
    return {
        "label": settings.class_names[clip.label],
        "class_index": clip.label,
        "fps": settings.fps,
        "num_frames": len(clip.mask),
        "burst": list(clip.burst),
        "mask": clip.mask.astype(int).tolist(),
    }


def generate_dataset(settings: SynthSettings, out_dir: Path, *, progress: bool | None = None) -> Path:
    """Write `out_dir/UCF-101/<Class>/v_<Class>_gXX_cYY.avi`, `out_dir/ucfTrainTestlist/` (classInd,
    trainlist01, testlist01) and `out_dir/truth/<Class>/<stem>.json`; returns `out_dir`. The progress bar shows
    when `progress` is True, or by default when stderr is a terminal (in a log file each update adds a line)."""
    out_dir = Path(out_dir)
    _log_dataset(settings, out_dir, *_write_dataset(settings, out_dir, progress))
    return out_dir


def generate_dataset_once(settings: SynthSettings, out_dir: Path, *, progress: bool | None = None) -> Path:
    """`generate_dataset` into `out_dir` unless a data set is there, atomically: written into a temporary
    sibling folder, then renamed into place, so processes started together never write into one folder; one
    that loses the race drops its copy and uses the set renamed there first."""
    out_dir = Path(out_dir)
    if (out_dir / LISTS_FOLDER).exists():
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        counts = _write_dataset(settings, staging, progress)
        try:
            staging.rename(out_dir)  # fails when another process's set is already there (a non-empty folder)
        except OSError:
            if not (out_dir / LISTS_FOLDER).exists():
                raise FileExistsError(f"{out_dir} exists and holds no data set ({LISTS_FOLDER} missing): remove it "
                                      "to have it generated") from None
            logger.info("synthetic data set in %s: generated by another process meanwhile, used as it is", out_dir)
            return out_dir
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _log_dataset(settings, out_dir, *counts)
    return out_dir


def _write_dataset(settings: SynthSettings, out_dir: Path, progress: bool | None) -> tuple[int, int]:
    """`generate_dataset`'s files; returns how many training and test clips were written."""
    names = settings.class_names
    first_test_group = settings.groups - settings.test_groups + 1
    codec_options, bit_rate = _dataset_codec_options(settings)
    train_lines: list[str] = []
    test_lines: list[str] = []
    jobs = _plan_clips(settings)
    shown = sys.stderr.isatty() if progress is None else progress
    for job in tqdm(jobs, desc="synth clips", unit="clip", disable=not shown):
        name = names[job.class_index]
        relative = f"{name}/{job.stem(name)}.avi"
        # One seed per clip: a clip does not change when the class count or clip count changes.
        rng = np.random.default_rng([settings.seed, job.class_index, job.clip_index])
        clip = render_clip(job.class_index, settings, rng)
        encode_video(
            clip.frames,
            out_dir / "UCF-101" / relative,
            codec=settings.codec,
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            codec_options=codec_options,
            bit_rate=bit_rate,
        )
        truth_path = out_dir / "truth" / name / f"{job.stem(name)}.json"
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        truth_path.write_text(json.dumps(_truth_record(clip, settings)))
        if job.group >= first_test_group:
            test_lines.append(relative)
        else:
            train_lines.append(f"{relative} {job.class_index + 1}")

    lists = out_dir / LISTS_FOLDER
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {name}\n" for i, name in enumerate(names)))
    (lists / "trainlist01.txt").write_text("".join(f"{line}\n" for line in train_lines))
    (lists / "testlist01.txt").write_text("".join(f"{line}\n" for line in test_lines))
    return len(train_lines), len(test_lines)


def _log_dataset(settings: SynthSettings, out_dir: Path, train_clips: int, test_clips: int) -> None:
    logger.info(
        "synthetic data set in %s: %d classes, %d train and %d test clips of %dx%d at %.3g fps",
        out_dir, len(settings.class_names), train_clips, test_clips, settings.width, settings.height, settings.fps,
    )
