from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.text import NAME_EMBEDDING_DIM, build_name_table, imagenet_class_names, load_or_build_name_table


def test_imagenet_class_names_are_the_1000_in_logit_order() -> None:
    names = imagenet_class_names()
    assert len(names) == 1000
    assert names[0] == "tench" and names[985] == "daisy"


def test_stored_table_is_read_not_rebuilt(tmp_path: Path) -> None:
    stored = np.ones((1000, NAME_EMBEDDING_DIM), dtype=np.float32)
    np.save(tmp_path / "table.npy", stored)
    np.testing.assert_array_equal(load_or_build_name_table(tmp_path / "table.npy"), stored)


@pytest.mark.slow
def test_packaged_sentence_model_embeds_related_names_closer() -> None:
    table = build_name_table(["tabby cat", "Egyptian cat", "fire truck"])
    assert table.shape == (3, NAME_EMBEDDING_DIM)
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]
