"""`actionstream synth` and `actionstream synth-feed`: synthetic data sets and camera recordings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from training.synth import SynthSettings


def synth(
    out: Path = typer.Option(Path("var/synth"), "--out", help="Folder for UCF-101/, ucfTrainTestlist/, truth/."),
    classes: int = typer.Option(5, "--classes", help="Number of action classes."),
    clips_per_class: int = typer.Option(12, "--clips-per-class", help="Clips per class (spread over 4 groups)."),
    width: int = typer.Option(320, "--width", help="Frame width in pixels (even)."),
    height: int = typer.Option(240, "--height", help="Frame height in pixels (even)."),
    fps: float = typer.Option(25.0, "--fps", help="Frames per second."),
    seconds: float = typer.Option(4.0, "--seconds", help="Length of each clip in seconds."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same options give the same files."),
    codec: str = typer.Option("mpeg4", "--codec", help="Video codec of the .avi files: mpeg4, libx264 or h264."),
    idle_class: bool = typer.Option(False, "--idle-class", help="Add the class 'idle': clips with no action."),
    family: str = typer.Option("shapes", "--family",
                               help="Generator: shapes (first family), articulated (stick figures, frozen spec) "
                                    "or mix (--classes of each)."),
) -> None:
    """Render a synthetic action data set in the UCF101 layout, with a per-frame truth mask per clip."""
    from training.synth import generate_dataset

    settings = _settings(
        num_classes=classes, clips_per_class=clips_per_class, width=width, height=height, fps=fps,
        seconds=seconds, seed=seed, codec=codec, idle_class=idle_class, family=family,
    )
    root = generate_dataset(settings, out)
    typer.echo(f"wrote {len(settings.class_names) * settings.clips_per_class} {family} clips to {root}")


def synth_feed(
    out: Path = typer.Option(Path("var/synth/feed.mp4"), "--out", help="MP4 file to write (timeline beside it)."),
    seconds: float = typer.Option(60.0, "--seconds", help="Length of the recording in seconds."),
    width: int = typer.Option(640, "--width", help="Frame width in pixels (even)."),
    height: int = typer.Option(480, "--height", help="Frame height in pixels (even)."),
    fps: float = typer.Option(25.0, "--fps", help="Frames per second."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same options give the same recording."),
    classes: int = typer.Option(5, "--classes", help="Number of action classes the segments are drawn from."),
    clip_seconds: float = typer.Option(4.0, "--clip-seconds", help="Length of each segment in seconds."),
    gop_seconds: float = typer.Option(1.0, "--gop-seconds", help="Seconds between keyframes."),
    preset: str = typer.Option("veryfast", "--preset", help="x264 preset (ultrafast renders 1080p fastest)."),
    idle_share: float = typer.Option(0.0, "--idle-share", help="Share of segments with no action (label idle)."),
) -> None:
    """Render a continuous H.264 camera recording of random synthetic actions, plus its timeline JSON."""
    from training.synth_feed import timeline_path, write_camera_feed

    settings = _settings(num_classes=classes, width=width, height=height, fps=fps, seconds=clip_seconds, seed=seed)
    path = write_camera_feed(settings, out, seconds, gop_seconds=gop_seconds, preset=preset, idle_share=idle_share)
    typer.echo(f"wrote {path} and {timeline_path(path)}")


def _settings(**values: object) -> SynthSettings:
    # numpy, PIL and PyAV load only when a synth command runs, keeping `actionstream --help` fast.
    from pydantic import ValidationError

    from training.synth import SynthSettings

    try:
        return SynthSettings.model_validate(values)
    except ValidationError as error:
        raise typer.BadParameter(str(error)) from error


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
    app.command("synth-feed")(synth_feed)

