"""X_i = [L2norm(visual feature) ; L2norm(mean of the top-k class-name embeddings)] (SMART.md section 2)."""

from __future__ import annotations

import numpy as np

from models.encoder import FEATURE_DIM
from models.text import NAME_EMBEDDING_DIM

DEFAULT_TOP_K = 10
REPRESENTATION_DIM = FEATURE_DIM + NAME_EMBEDDING_DIM
_EPSILON = 1e-12


def _l2_normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, _EPSILON)


def text_vectors(logits: np.ndarray, name_table: np.ndarray, top_k: int = DEFAULT_TOP_K) -> np.ndarray:
    """Plain mean of the name embeddings of each frame's top-k ImageNet classes: [N,1000] -> [N,384]."""
    top_classes = np.argpartition(-logits, kth=top_k - 1, axis=-1)[..., :top_k]
    return name_table[top_classes].mean(axis=-2)


def frame_representation(
    features: np.ndarray, logits: np.ndarray, name_table: np.ndarray, top_k: int = DEFAULT_TOP_K
) -> np.ndarray:
    """Encoder outputs ([N,1280] features, [N,1000] logits) -> float32 X [N,1664]."""
    visual = _l2_normalise(features.astype(np.float32))
    text = _l2_normalise(text_vectors(logits.astype(np.float32), name_table, top_k))
    return np.concatenate([visual, text], axis=-1).astype(np.float32)
