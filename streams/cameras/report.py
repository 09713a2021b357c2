"""Human-readable live lines and the final summary of a camera adapter run."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.cameras.worker import CameraStats


@dataclass
class LiveReport:
    """Per-camera rates between two reports, from cumulative counters."""

    _previous: dict[str, tuple[int, float]] = field(default_factory=dict)

    def lines(self, stats: dict[str, CameraStats], elapsed_s: float) -> list[str]:
        lines = []
        for camera, s in sorted(stats.items()):
            last_published, last_time = self._previous.get(camera, (0, 0.0))
            interval = max(elapsed_s - last_time, 1e-9)
            fps = (s.published - last_published) / interval
            self._previous[camera] = (s.published, elapsed_s)
            lines.append(
                f"[{elapsed_s:6.1f}s] {camera:<12} {s.state:<12} fps={fps:5.1f} frames={s.published:<6} "
                f"bytes={s.bytes / 1e6:7.2f}MB reconnects={s.reconnects} gaps={s.gaps}"
                + ("" if s.state == "up" else f" ({s.reason})")
            )
        return lines


def summary_lines(stats: dict[str, CameraStats], elapsed_s: float) -> list[str]:
    total_frames = sum(s.published for s in stats.values())
    total_bytes = sum(s.bytes for s in stats.values())
    lines = [
        f"cameras={len(stats)} seconds={elapsed_s:.1f} frames={total_frames} "
        f"fps={total_frames / max(elapsed_s, 1e-9):.1f} bytes={total_bytes / 1e6:.2f}MB "
        f"reconnects={sum(s.reconnects for s in stats.values())} gaps={sum(s.gaps for s in stats.values())} "
        f"dropped={sum(s.dropped for s in stats.values())}"
    ]
    for camera, s in sorted(stats.items()):
        lines.append(
            f"  {camera:<12} decoded={s.decoded} published={s.published} dropped={s.dropped} "
            f"reconnects={s.reconnects} gaps={s.gaps} last_state={s.state} ({s.reason})"
        )
    return lines
