"""Names and columns of the per-window camera stats, without importing Feast (the sink builds its tables
from this; `import feast` takes ~10 s). Column order is the order of the offline parquet parts."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

ENTITY = "camera"  # join key: "site/camera"
PUSH_SOURCE = "camera_window_push"
VIEW = "camera_window_stats"
TIMESTAMP = "event_timestamp"  # the window end: a window's features exist once it has ended
CREATED = "created"  # when the sink pushed the row (not declared to Feast: its file store fails sorting on it)

Kind = Literal["string", "float64", "int64"]

FEATURES: tuple[tuple[str, Kind, str], ...] = (
    ("site", "string", "Site of the camera."),
    ("window_start", "float64", "Window start, epoch seconds."),
    ("frames", "int64", "Scored frames captured in the window that reached the sink."),
    ("brightness", "float64", "Mean luma (0-255) of the window's frames."),
    ("contrast", "float64", "Mean RMS contrast (luma standard deviation, 0-255)."),
    ("sharpness", "float64", "Mean variance of the Laplacian of the luma."),
    ("motion", "float64", "Mean absolute luma change between consecutive frames (0-255)."),
    ("delta_mean", "float64", "Mean single-frame score delta_i."),
    ("delta_max", "float64", "Largest delta_i."),
    ("action", "int64", "1: the window's outcome was an action, 0: idle."),
    ("label", "string", "The window's top label."),
    ("confidence", "float64", "Confidence of the window's top label."),
    ("shed", "int64", "1: fewer frames classified than asked (pipeline behind)."),
    ("incomplete", "int64", "1: the window spans a camera gap."),
    ("confidence_mean", "float64", "Mean confidence over the camera's recent windows."),
    ("action_rate", "float64", "Share of the recent windows with an action."),
    ("shed_rate", "float64", "Share of the recent windows that were shed."),
    ("incomplete_rate", "float64", "Share of the recent windows that were incomplete."),
    ("model_version", "string", "Model that classified the window."),
)
FEATURE_NAMES = tuple(name for name, _, _ in FEATURES)

_ARROW: dict[Kind, pa.DataType] = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64()}
ARROW_SCHEMA = pa.schema(
    [(ENTITY, pa.string()), (TIMESTAMP, pa.timestamp("us", tz="UTC")), (CREATED, pa.timestamp("us", tz="UTC"))]
    + [(name, _ARROW[kind]) for name, kind, _ in FEATURES]
)
