"""The parity bench's camera feeds: test clips separated by idle scene, each clip starting on the window grid.

Stage 2's windows start every hop on an epoch-aligned grid, and a gridded file camera (`start_grid_s`) starts
its replay on that grid too, so a clip that starts at a multiple of the hop in feed time fills one window
exactly (a 4 s clip, a 4 s window): the window the clip is scored against holds the frames `evaluate` sees,
not 3 s of them. Idle gaps are at least one window long, so no window holds two clips.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.ucf101 import VideoItem


@dataclass(frozen=True)
class ParityClip:
    """One test clip, its offline prediction and its action burst in frames (None: an idle clip or no truth)."""

    path: Path
    video_id: str
    label: str
    offline: str
    burst: tuple[int, int] | None


@dataclass(frozen=True)
class ClipSpan:
    """Where one test clip plays in a camera's feed, seconds from its first frame."""

    camera: str
    video_id: str
    label: str
    offline: str  # the offline prediction for it
    start_s: float
    end_s: float
    burst_s: tuple[float, float] | None = None  # its action, feed seconds


def clip_burst(data: Path, item: VideoItem) -> tuple[int, int] | None:
    """The [start, end) frames of the clip's action from the synthetic truth (`<data>/truth/<video id>.json`);
    None for an idle clip or a data set without truth."""
    path = data / "truth" / f"{item.video_id}.json"
    if not path.exists():
        return None
    start, end = json.loads(path.read_text())["burst"]
    return (int(start), int(end)) if end > start else None


def _decoded(path: Path) -> Iterator[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def write_parity_feed(clips: list[ParityClip], camera: str, path: Path, gap_s: float, grid_s: float,
                      seed: int) -> list[ClipSpan]:
    """One camera's feed: idle scene, then each clip followed by idle scene of at least `gap_s`, every clip
    starting at a multiple of `grid_s` feed seconds; returns where each clip plays."""
    import av

    from training.synth import SynthSettings, build_scene, encode_video

    with av.open(str(clips[0].path)) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        fps = float(stream.average_rate or 25)
    synth = SynthSettings(width=width, height=height, fps=fps, idle_class=True, num_classes=2)
    gap_frames = round(gap_s * fps)
    rng = np.random.default_rng(seed)
    spans: list[ClipSpan] = []

    def next_start(frame: int) -> int:
        """The first frame at or after `frame + gap` that starts on the grid."""
        return round(math.ceil((frame + gap_frames) / fps / grid_s - 1e-9) * grid_s * fps)

    def idle(count: int) -> Iterator[np.ndarray]:
        assert synth.idle_index is not None
        scene = build_scene(synth.idle_index, synth, rng, num_frames=count)
        buffer = np.empty((height, width, 3), dtype=np.uint8)
        for index in range(count):
            scene.render_into(index, buffer)
            yield buffer

    def frames() -> Iterator[np.ndarray]:
        written = 0
        for clip in clips:
            start = next_start(written)
            yield from idle(start - written)
            count = 0
            for frame in _decoded(clip.path):
                yield frame
                count += 1
            burst = None if clip.burst is None else ((start + clip.burst[0]) / fps, (start + clip.burst[1]) / fps)
            spans.append(ClipSpan(camera, clip.video_id, clip.label, clip.offline, start / fps,
                                  (start + count) / fps, burst))
            written = start + count
        yield from idle(gap_frames)

    gop = str(round(fps))
    # Lossless (qp 0): the stream must see the clips' own pixels, not a second lossy encoding of them.
    encode_video(frames(), path, codec="libx264", width=width, height=height, fps=fps,
                 codec_options={"preset": "veryfast", "qp": "0", "g": gop, "keyint_min": gop, "sc_threshold": "0",
                                "bf": "0"})
    return spans
