"""Live report lines and the final summary."""

from __future__ import annotations

import re

from streams.cameras.report import LiveReport, summary_lines
from streams.cameras.worker import CameraStats


def _fps(line: str) -> float:
    match = re.search(r"fps=\s*([0-9.]+)", line)
    assert match is not None, line
    return float(match.group(1))


def test_live_fps_from_two_successive_snapshots() -> None:
    report = LiveReport()
    first = report.lines({"cam1": CameraStats(published=16, state="up")}, elapsed_s=2.0)
    second = report.lines({"cam1": CameraStats(published=36, state="up")}, elapsed_s=4.0)
    assert _fps(first[0]) == 8.0  # 16 frames in the first 2 s
    assert _fps(second[0]) == 10.0  # 20 more frames in the next 2 s


def test_live_fps_is_per_camera_and_sorted() -> None:
    report = LiveReport()
    report.lines({"b": CameraStats(published=10), "a": CameraStats(published=0)}, elapsed_s=1.0)
    lines = report.lines({"b": CameraStats(published=15), "a": CameraStats(published=8)}, elapsed_s=2.0)
    assert [line.split("]", 1)[1].split()[0] for line in lines] == ["a", "b"]
    assert [_fps(line) for line in lines] == [8.0, 5.0]


def test_live_line_shows_the_reason_only_when_not_up() -> None:
    report = LiveReport()
    up, down = report.lines(
        {
            "cam1": CameraStats(state="up", reason="streaming"),
            "cam2": CameraStats(state="reconnecting", reason="stalled: no decodable frame for 5 s"),
        },
        elapsed_s=1.0,
    )
    assert "streaming" not in up
    assert down.endswith("(stalled: no decodable frame for 5 s)")


def test_summary_totals() -> None:
    stats = {
        "cam2": CameraStats(decoded=300, published=80, dropped=1, bytes=1_000_000, reconnects=2, gaps=5),
        "cam1": CameraStats(decoded=250, published=70, dropped=2, bytes=500_000, reconnects=1, gaps=0),
    }
    lines = summary_lines(stats, elapsed_s=10.0)
    assert lines[0] == "cameras=2 seconds=10.0 frames=150 fps=15.0 bytes=1.50MB reconnects=3 gaps=5 dropped=3"
    assert lines[1].split()[0] == "cam1"
    assert "decoded=300 published=80 dropped=1 reconnects=2 gaps=5" in lines[2]
    assert len(lines) == 3
