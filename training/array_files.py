"""Cache files of numpy arrays that a reader sees whole or not at all.

Processes started together (benches of one family, a retrain beside a bench) compute the same entries: each
writes its own hidden file beside the target and renames it into place, so none reads another's half-written
file, and a writer stopped midway leaves nothing a reader would take.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """`np.savez` to exactly `path` (no suffix added), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}"
    try:
        with partial.open("wb") as handle:
            np.savez(handle, **arrays)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
