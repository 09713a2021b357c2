from __future__ import annotations

import pytest
import torch

from models.selectors import GlobalSelector, SingleFrameSelector, draw_partners, step_cross_entropy

DIM, CLASSES = 6, 3


def _prefix_mask(lengths: list[int], steps: int) -> torch.Tensor:
    return torch.arange(steps).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)


def test_single_frame_selector_scores_every_frame_in_unit_interval() -> None:
    selector = SingleFrameSelector(DIM, hidden_dim=8).eval()
    scores = selector.scores(torch.randn(2, 5, DIM))
    assert scores.shape == (2, 5)
    assert bool(((scores > 0) & (scores < 1)).all())


def test_partners_are_later_valid_frames_and_the_last_pairs_with_itself() -> None:
    mask = _prefix_mask([5, 2, 1], steps=6)
    partners = draw_partners(mask, torch.Generator().manual_seed(0))
    for row, length in enumerate([5, 2, 1]):
        for i in range(6):
            if i < length - 1:
                assert i < partners[row, i] < length
            else:
                assert partners[row, i] == i


def test_partner_draws_are_deterministic_with_a_seed() -> None:
    mask = _prefix_mask([8, 5], steps=8)
    first = draw_partners(mask, torch.Generator().manual_seed(3))
    second = draw_partners(mask, torch.Generator().manual_seed(3))
    assert torch.equal(first, second)


def test_global_selector_shapes_and_masks() -> None:
    torch.manual_seed(0)
    selector = GlobalSelector(DIM, CLASSES, hidden_dim=8).eval()
    mask = _prefix_mask([6, 3], steps=6)
    output = selector(torch.randn(2, 6, DIM), mask, draw_partners(mask, torch.Generator().manual_seed(0)))
    assert output.gamma.shape == (2, 6)
    assert output.step_logits.shape == (2, 6, CLASSES)
    assert bool((output.gamma[1, 3:] == 0).all())
    assert bool((output.temporal_attention[1, 3:] == 0).all())
    torch.testing.assert_close(output.temporal_attention.sum(dim=1), torch.ones(2))
    # softmax over TIME, not over a size-1 axis: the weights are not all 1
    assert bool((output.temporal_attention[0] < 1).all())


def test_padding_does_not_change_the_valid_frames() -> None:
    torch.manual_seed(0)
    selector = GlobalSelector(DIM, CLASSES, hidden_dim=8).eval()
    frames = torch.randn(1, 4, DIM)
    short_mask = torch.ones(1, 4, dtype=torch.bool)
    partners = draw_partners(short_mask, torch.Generator().manual_seed(1))
    padded = torch.cat([frames, torch.randn(1, 3, DIM)], dim=1)
    padded_mask = _prefix_mask([4], steps=7)
    padded_partners = torch.cat([partners, torch.arange(4, 7).unsqueeze(0)], dim=1)
    short = selector(frames, short_mask, partners)
    long = selector(padded, padded_mask, padded_partners)
    torch.testing.assert_close(long.gamma[:, :4], short.gamma)
    torch.testing.assert_close(long.step_logits[:, :4], short.step_logits)
    torch.testing.assert_close(long.temporal_attention[:, :4], short.temporal_attention)


def test_gamma_scores_are_deterministic_per_seed_and_average_draws() -> None:
    torch.manual_seed(0)
    selector = GlobalSelector(DIM, CLASSES, hidden_dim=8).eval()
    frames, mask = torch.randn(2, 6, DIM), _prefix_mask([6, 4], steps=6)
    first = selector.scores(frames, mask, torch.Generator().manual_seed(5), draws=3)
    second = selector.scores(frames, mask, torch.Generator().manual_seed(5), draws=3)
    assert torch.equal(first, second)


def test_step_cross_entropy_ignores_padded_steps() -> None:
    logits = torch.zeros(1, 3, CLASSES)
    logits[0, 2] = torch.tensor([-50.0, 50.0, 0.0])  # padded step, wildly wrong for label 0
    mask = _prefix_mask([2], steps=3)
    loss = step_cross_entropy(logits, torch.tensor([0]), mask)
    assert float(loss) == pytest.approx(float(torch.log(torch.tensor(float(CLASSES)))), rel=1e-5)


def test_global_selector_trains_as_a_video_classifier() -> None:
    torch.manual_seed(0)
    selector = GlobalSelector(DIM, CLASSES, hidden_dim=16, head_dropout=0.0)
    labels = torch.tensor([0, 1, 2, 0])
    frames = torch.randn(4, 5, DIM) * 0.1 + torch.nn.functional.one_hot(labels, DIM).float().unsqueeze(1)
    mask = torch.ones(4, 5, dtype=torch.bool)
    optimiser = torch.optim.Adam(selector.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        optimiser.zero_grad()
        loss = step_cross_entropy(selector(frames, mask).step_logits, labels, mask)
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    assert losses[-1] < 0.25 * losses[0]
