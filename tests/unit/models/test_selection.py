from __future__ import annotations

import torch

from models.selectors import fuse_scores, top_n_in_time_order


def test_keeps_the_best_n_and_returns_them_in_time_order() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.2, 0.8, 0.7]])
    selection = top_n_in_time_order(scores, torch.ones(1, 5, dtype=torch.bool), 3)
    assert selection.indices.tolist() == [[1, 3, 4]]
    assert bool(selection.mask.all())


def test_ties_go_to_the_earlier_frame() -> None:
    scores = torch.tensor([[0.5, 0.5, 0.5, 0.5]])
    assert top_n_in_time_order(scores, torch.ones(1, 4, dtype=torch.bool), 2).indices.tolist() == [[0, 1]]


def test_padded_frames_are_never_selected() -> None:
    scores = torch.tensor([[0.1, 0.2, 0.9, 0.9]])
    mask = torch.tensor([[True, True, False, False]])
    assert top_n_in_time_order(scores, mask, 2).indices.tolist() == [[0, 1]]


def test_short_windows_repeat_frames_in_time_order() -> None:
    scores = torch.tensor([[0.3, 0.6, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False, False]])
    assert top_n_in_time_order(scores, mask, 4).indices.tolist() == [[0, 0, 1, 1]]


def test_fusion_is_the_product() -> None:
    fused = fuse_scores(torch.tensor([0.5, 0.2]), torch.tensor([0.4, 1.0]))
    torch.testing.assert_close(fused, torch.tensor([0.2, 0.2]))
