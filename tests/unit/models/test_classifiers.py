from __future__ import annotations

import math

import torch

from models.classifiers import HeavyClassifier, SharedHead, tsn_consensus


def test_tsn_consensus_averages_softmax_over_real_frames_only() -> None:
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0], [100.0, -100.0]]])
    mask = torch.tensor([[True, True, False]])
    # frame 0: [0.5, 0.5]; frame 1: [0.75, 0.25]; frame 2 is padding
    torch.testing.assert_close(tsn_consensus(logits, mask), torch.tensor([[0.625, 0.375]]))


def test_shared_head_gives_per_frame_logits() -> None:
    head = SharedHead(input_dim=12, num_classes=4, hidden_dim=8)
    assert head(torch.randn(2, 5, 12)).shape == (2, 5, 4)


def test_heavy_classifier_replaces_the_imagenet_head() -> None:
    network = HeavyClassifier(num_classes=3, pretrained=True).eval()
    with torch.no_grad():
        assert network(torch.zeros(1, 3, 224, 224)).shape == (1, 3)
