"""A long synthetic camera recording: consecutive clips of random classes in one H.264 MP4, plus a timeline.

With `idle_share`, that share of the clips shows no action at all (scene motion and noise only), as a real
camera mostly does; their timeline segments carry the label `idle` and an empty burst.

Used as the source of the RTSP and file cameras of the demo and as the 1080p30 clip of the ingest benchmark.
A `FeedShift` changes the scene from a point in the feed on (the demo's drifting camera): the clips keep the
script of the unshifted feed of the same seed (the shift draws from its own generator), only their look changes.
The stream has a keyframe every `gop_seconds` and no B-frames, so a reader that joins mid-stream starts
decoding within one GOP and presentation timestamps only grow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from training.synth import SynthSettings, build_scene, encode_video
from training.synth_scene import NoiseBank
from training.synth_shifts import FRAME_SHIFTS, ShiftKind, ShiftSettings, clutter_background, shift_frame

logger = logging.getLogger(__name__)


class FeedShift(BaseModel):
    """A scene change from `start_s` of the feed on: image shifts (brightness, noise, blur) on every frame
    from then on, in the order given, and a new background for every clip that starts from then on."""

    kinds: list[ShiftKind] = Field(min_length=1, description="brightness, noise, blur, background (action_mix "
                                   "changes which actions play, not the scene: not a feed shift).")
    start_s: float = Field(ge=0, description="Feed time (seconds from its first frame) the shift starts at.")
    sizes: ShiftSettings = Field(default_factory=ShiftSettings)
    seed: int = Field(0, description="Seed of the shift's own draws (noise, background).")

    def applies_from(self, time_s: float) -> bool:
        return time_s >= self.start_s


def timeline_path(video_path: Path) -> Path:
    """Where the timeline of a feed lives: beside the video, `<name>.timeline.json`."""
    return video_path.with_suffix(".timeline.json")


def write_camera_feed(
    settings: SynthSettings,
    out_path: Path,
    seconds: float,
    seed: int | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    gop_seconds: float = 1.0,
    preset: str = "veryfast",
    b_frames: int = 0,
    bit_rate: int | None = None,
    idle_share: float = 0.0,
    shift: FeedShift | None = None,
) -> Path:
    """Render `seconds` of consecutive clips (each `settings.seconds` long, the last one cut short) to an
    H.264 MP4 at `out_path` and write its timeline JSON beside it; returns `out_path`.

    `seed`, `width`, `height` and `fps` override the values in `settings` when given; `idle_share` is the
    probability that a clip is idle (no action). The timeline holds
    `{"fps", "width", "height", "num_frames", "duration_s", "segments": [{"start_s", "end_s", "label",
    "class_index", "burst_start_s", "burst_end_s"}, ...]}`, every time in seconds from the first frame, and
    `"shift": {"kinds", "start_s"}` with a `shift`.
    """
    if shift is not None and "action_mix" in shift.kinds:
        raise ValueError("action_mix is not a feed shift: it changes the actions, not the scene")
    overrides = {"seed": seed, "width": width, "height": height, "fps": fps}
    feed = SynthSettings.model_validate(
        {**settings.model_dump(), **{key: value for key, value in overrides.items() if value is not None}}
    )
    if seconds <= 0 or gop_seconds <= 0:
        raise ValueError("seconds and gop_seconds must be positive")
    if not 0.0 <= idle_share < 1.0:
        raise ValueError("idle_share must be in [0, 1)")
    if idle_share > 0:
        feed = feed.model_copy(update={"idle_class": True})
    total_frames = max(1, round(seconds * feed.fps))
    gop = max(1, round(gop_seconds * feed.fps))
    rng = np.random.default_rng(feed.seed)
    noise = NoiseBank.draw(rng, feed.width, feed.height)  # shared by every segment: saves a draw per clip
    shift_rng = np.random.default_rng(shift.seed if shift else 0)
    new_background = (clutter_background(shift_rng, feed.width, feed.height, shift.sizes.background_blocks)
                      if shift is not None and "background" in shift.kinds else None)
    frame_shifts = [kind for kind in shift.kinds if kind in FRAME_SHIFTS] if shift is not None else []
    segments: list[dict[str, object]] = []

    def frames() -> Iterator[np.ndarray]:
        buffer = np.empty((feed.height, feed.width, 3), dtype=np.uint8)
        first = 0
        while first < total_frames:
            count = min(feed.num_frames, total_frames - first)
            # No draw without idle clips, so that such feeds stay the same frame for frame.
            idle = idle_share > 0 and rng.random() < idle_share
            class_index = feed.num_classes if idle else int(rng.integers(feed.num_classes))
            background = new_background if shift is not None and shift.applies_from(first / feed.fps) else None
            scene = build_scene(class_index, feed, rng, num_frames=count, noise=noise, background=background)
            burst_start, burst_end = scene.burst
            segments.append(
                {
                    "start_s": first / feed.fps,
                    "end_s": (first + count) / feed.fps,
                    "label": feed.class_names[class_index],
                    "class_index": class_index,
                    "burst_start_s": (first + burst_start) / feed.fps,
                    "burst_end_s": (first + burst_end) / feed.fps,
                }
            )
            for index in range(count):
                scene.render_into(index, buffer)
                if shift is None or not shift.applies_from((first + index) / feed.fps):
                    yield buffer
                    continue
                shifted = buffer
                for kind in frame_shifts:
                    shifted = shift_frame(kind, shifted, shift.sizes, shift_rng)  # type: ignore[arg-type]
                yield shifted
            first += count

    written = encode_video(
        frames(),
        out_path,
        codec="libx264",
        width=feed.width,
        height=feed.height,
        fps=feed.fps,
        codec_options={
            "preset": preset,
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",  # keyframes exactly every GOP, never extra ones at the clip cuts
            # Live cameras mostly send none (latency); recordings and some cameras carry B-frames.
            "bf": str(b_frames),
            "x264-params": "repeat-headers=1",  # SPS/PPS before every keyframe for readers that join late
        },
        container_options={"movflags": "+faststart"},
        bit_rate=bit_rate,  # None: x264's constant quality; a camera's target rate in bit/s otherwise
    )
    timeline = {
        "fps": feed.fps,
        "width": feed.width,
        "height": feed.height,
        "num_frames": written,
        "duration_s": written / feed.fps,
        "segments": segments,
    }
    if shift is not None:
        timeline["shift"] = {"kinds": list(shift.kinds), "start_s": shift.start_s}
    timeline_path(out_path).write_text(json.dumps(timeline, indent=1))
    logger.info("camera feed %s: %d frames, %d segments, %dx%d at %.3g fps", out_path, written,
                len(segments), feed.width, feed.height, feed.fps)
    return out_path
