"""Attention-weighted (multiple-instance) training of the shared head, on tiny bags with known action frames."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from training.attention_mil import FrameAttention, attention_mil_loss, train_attention_head, train_attention_mil
from training.features import FeatureSet
from training.losses import CrossEntropyLoss
from training.optim import OptimizerSettings, SchedulerSettings
from training.smart_settings import ClassifierSettings

CLASSES, STEPS, DIM, ACTION_FRAMES = 3, 8, 16, 2


def bags(clips: int, seed: int) -> tuple[FeatureSet, np.ndarray]:
    """Clips of idle noise with ACTION_FRAMES frames of their class's prototype; returns the set and the truth."""
    rng = np.random.default_rng(seed)
    prototypes = np.eye(CLASSES, DIM, dtype=np.float32) * 3.0
    labels = np.arange(clips) % CLASSES
    representation = rng.normal(0.0, 1.0, (clips, STEPS, DIM)).astype(np.float32)
    truth = np.zeros((clips, STEPS), dtype=bool)
    for row, label in enumerate(labels):
        action = rng.choice(STEPS, ACTION_FRAMES, replace=False)
        representation[row, action] += prototypes[label]
        truth[row, action] = True
    mask = np.ones((clips, STEPS), dtype=bool)
    return FeatureSet([f"clip{row}" for row in range(clips)], representation, mask, labels,
                      np.tile(np.arange(STEPS), (clips, 1))), truth


def test_attention_is_a_softmax_over_valid_frames_only() -> None:
    attention = FrameAttention(DIM, 8)
    mask = torch.tensor([[True, True, True, False, False, False, False, False]])
    weights = attention(torch.randn(1, STEPS, DIM), mask)
    assert weights[0, 3:].eq(0).all()
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(1))


def test_loss_with_all_attention_on_one_frame_is_that_frames_loss_plus_its_weighted_copy() -> None:
    logits = torch.randn(2, STEPS, CLASSES)
    attention = torch.zeros(2, STEPS)
    attention[:, 5] = 1.0
    labels = torch.tensor([0, 2])
    frame_loss = F.cross_entropy(logits[:, 5], labels)
    value = attention_mil_loss(logits, attention, labels, CrossEntropyLoss(), frame_loss_weight=0.5)
    torch.testing.assert_close(value, frame_loss + 0.5 * frame_loss)


def test_the_clip_loss_pools_probabilities_like_tsn_consensus() -> None:
    logits = torch.randn(1, STEPS, CLASSES)
    attention = torch.full((1, STEPS), 1.0 / STEPS)
    labels = torch.tensor([1])
    consensus = torch.softmax(logits, dim=-1).mean(dim=1)
    clip_only = attention_mil_loss(logits, attention, labels, CrossEntropyLoss(), frame_loss_weight=0.0)
    torch.testing.assert_close(clip_only, -consensus[0, 1].log())


def test_only_the_pooled_clip_loss_moves_the_attention() -> None:
    logits = torch.randn(2, STEPS, CLASSES)
    energy = torch.zeros(2, STEPS, requires_grad=True)
    labels = torch.tensor([1, 0])
    # Without the clip term (a zero-weight loss), the frame term alone must leave the attention untouched.
    attention_mil_loss(logits, torch.softmax(energy, dim=1), labels, lambda pooled, _: pooled.sum() * 0.0,
                       frame_loss_weight=1.0).backward()
    assert energy.grad is not None and energy.grad.abs().max() == 0


def test_training_classifies_the_action_frames_of_unseen_clips() -> None:
    seed = 0
    torch.set_num_threads(1)
    train, _ = bags(48, seed)
    test, truth = bags(30, seed + 1)
    settings = ClassifierSettings(frame_weighting="attention", hidden_dim=32, attention_hidden_dim=16, epochs=60,
                                  clip_batch_size=8, dropout=0.0, learning_rate=3e-3)
    head, result = train_attention_head(train, CLASSES, settings, OptimizerSettings(), SchedulerSettings(),
                                        CrossEntropyLoss(), validate=None, progress=False, seed=seed)
    assert result.best_epoch == settings.epochs
    with torch.no_grad():
        predictions = head(torch.from_numpy(test.representation)).argmax(dim=-1).numpy()
    action_accuracy = (predictions[truth] == np.repeat(test.labels, ACTION_FRAMES)).mean()
    assert action_accuracy >= 0.9


def test_the_trained_attention_weighs_action_frames_most() -> None:
    torch.set_num_threads(1)
    train, truth = bags(48, 3)
    settings = ClassifierSettings(frame_weighting="attention", hidden_dim=32, attention_hidden_dim=16, epochs=60,
                                  clip_batch_size=8, dropout=0.0, learning_rate=3e-3)
    model, _ = train_attention_mil(train, CLASSES, settings, OptimizerSettings(), SchedulerSettings(),
                                   CrossEntropyLoss(), validate=None, progress=False)
    with torch.no_grad():
        weights = model.attention(torch.from_numpy(train.representation), torch.from_numpy(train.mask))
    # Chance would put ACTION_FRAMES / STEPS = 0.25 of the mass on the action frames.
    assert weights.numpy()[truth].sum() / len(train.labels) >= 0.6
