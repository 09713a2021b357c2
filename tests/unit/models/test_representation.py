from __future__ import annotations

import numpy as np

from models.representation import REPRESENTATION_DIM, frame_representation, text_vectors


def test_text_vector_is_the_plain_mean_of_the_top_k_name_rows() -> None:
    table = np.arange(12, dtype=np.float32).reshape(4, 3)  # 4 classes, 3-d names
    logits = np.array([[0.1, 5.0, 3.0, -1.0]], dtype=np.float32)  # top-2: classes 1 and 2
    np.testing.assert_allclose(text_vectors(logits, table, top_k=2), [[(3 + 6) / 2, (4 + 7) / 2, (5 + 8) / 2]])


def test_representation_concatenates_two_unit_halves() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(5, 1280)).astype(np.float32) * 7
    logits = rng.normal(size=(5, 1000)).astype(np.float32)
    table = rng.normal(size=(1000, 384)).astype(np.float32)
    x = frame_representation(features, logits, table)
    assert x.shape == (5, REPRESENTATION_DIM) == (5, 1664)
    np.testing.assert_allclose(np.linalg.norm(x[:, :1280], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(x[:, 1280:], axis=1), 1.0, rtol=1e-5)
