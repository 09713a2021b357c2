"""Embedding drift on X_i: PCA fitted on the reference, then MMD^2 with an RBF kernel.

The score is exactly Evidently's `MMDDriftMethod` (unbiased MMD^2, bandwidth from the median of the
reference-current distances, PCA fitted on the reference with random_state 0). The verdict is a permutation
test at that bandwidth, vectorised as one kernel product with a matrix of group memberships, because a fixed
threshold on MMD^2 means different things at different dimensions and sample sizes.

Neighbouring frames of a video are near copies, so frames are not exchangeable and a test that permutes single
frames calls a mere change in the mix of a camera's recurring scenes drift. The test permutes blocks of
consecutive frames instead (both sides are in time order: windows thinned evenly, profiles subsampled in order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Projection:
    """A fitted PCA: x -> (x - mean) @ components.T."""

    mean: np.ndarray  # [D]
    components: np.ndarray  # [k, D]

    @classmethod
    def fit(cls, embeddings: np.ndarray, components: int) -> Projection:
        from sklearn.decomposition import PCA  # lazily: only profiles are fitted, windows only project

        # The same estimator and seed as Evidently's get_pca_df, so the scores agree.
        pca = PCA(n_components=min(components, *embeddings.shape), random_state=0)
        pca.fit(np.asarray(embeddings, dtype=np.float32))
        return cls(pca.mean_.astype(np.float32), pca.components_.astype(np.float32))

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        return (np.asarray(embeddings, dtype=np.float32) - self.mean) @ self.components.T


@dataclass(frozen=True)
class EmbeddingDrift:
    score: float  # MMD^2 (unbiased, clipped at 0 as Evidently reports it)
    p_value: float
    threshold: float  # alpha the p-value is compared with
    drifted: bool


def _squared_distances(points: np.ndarray) -> np.ndarray:
    norms = np.einsum("ij,ij->i", points, points)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * points @ points.T, 0.0)


def _blocks(rows: int, block: int) -> np.ndarray:
    """Block index of each of `rows` consecutive rows, `block` rows a block (the last one may be shorter)."""
    return np.arange(rows) // block


def mmd_drift(reference: np.ndarray, current: np.ndarray, permutations: int, alpha: float,
              seed: int, block: int = 1) -> EmbeddingDrift:
    """reference [m, k] and current [n, k], both already projected and in time order; `block` consecutive rows
    of a side move together in the permutations (1: single frames)."""
    m, n = len(reference), len(current)
    if m < 2 or n < 2:
        raise ValueError(f"MMD needs 2 or more embeddings on each side, got {m} and {n}")
    if block < 1:
        raise ValueError(f"a permutation block holds 1 or more frames, got {block}")
    pooled = np.vstack([reference, current]).astype(np.float64)
    squared = _squared_distances(pooled)
    sigma2 = float(np.median(np.sqrt(squared[:m, m:]))) ** 2
    kernel = np.exp(-squared / max(sigma2, np.finfo(float).tiny))

    # Row j of `members` marks which pooled points form the "reference" group of permutation j (row 0: the
    # observed split): permutation j gives the reference's number of blocks to randomly drawn blocks of the
    # pooled ones. With a = members, b = 1 - a, group sizes m_j = a'1, n_j = b'1 and the kernel's unit diagonal:
    # a'Ka, b'Kb = 1'K1 - 2 a'K1 + a'Ka, a'Kb = a'K1 - a'Ka.
    rng = np.random.default_rng(seed)
    reference_blocks = _blocks(m, block)
    block_of = np.concatenate([reference_blocks, reference_blocks[-1] + 1 + _blocks(n, block)])
    observed_blocks = np.zeros(block_of[-1] + 1)
    observed_blocks[: reference_blocks[-1] + 1] = 1.0
    chosen = np.vstack([observed_blocks, rng.permuted(np.tile(observed_blocks, (permutations, 1)), axis=1)])
    members = chosen[:, block_of]
    sizes_a = members.sum(axis=1)
    sizes_b = m + n - sizes_a
    row_sums = kernel.sum(axis=1)
    a_k_a = np.einsum("ij,ij->i", members @ kernel, members)
    a_k_1 = members @ row_sums
    b_k_b = row_sums.sum() - 2.0 * a_k_1 + a_k_a
    a_k_b = a_k_1 - a_k_a
    with np.errstate(divide="ignore", invalid="ignore"):  # a draw of only 1-frame blocks on one side: no U-stat
        stats = ((a_k_a - sizes_a) / (sizes_a * (sizes_a - 1.0)) + (b_k_b - sizes_b) / (sizes_b * (sizes_b - 1.0))
                 - 2.0 * a_k_b / (sizes_a * sizes_b))
    p_value = float((1 + np.sum(np.nan_to_num(stats[1:], nan=-np.inf) >= stats[0])) / (permutations + 1))
    return EmbeddingDrift(max(float(stats[0]), 0.0), p_value, alpha, p_value < alpha)
