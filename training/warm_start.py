"""A retrain candidate started from the production model's weights instead of from random ones.

After a drift the candidate learns the base set again plus a few dozen new windows; the production model
already knows the base set. The candidate's classifier head and both selectors start as production's, with
production's sizes; training then runs the shorter schedule of the warm-start config with the same early
stopping and validation choice. Only when the two models have the same classes in the same order, the same
input representation and the same classifier kind (shared): otherwise the candidate starts cold. The oracle's
out-of-fold classifiers always start cold: production has seen the base clips they score, and an oracle from
it would be in-sample on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from models.bundle import Architecture, ModelBundle
from models.selectors import GlobalSelector, SingleFrameSelector

logger = logging.getLogger(__name__)


# What must match for the previous weights to mean the same thing to the candidate.
_INPUT_FIELDS = ("representation_dim", "top_k_names", "classifier_kind")


@dataclass(frozen=True)
class WarmStart:
    """The previous model's architecture and the modules a candidate's training starts from."""

    architecture: Architecture
    single: SingleFrameSelector
    global_: GlobalSelector
    classifier: nn.Module


def load_warm_start(previous: Path, classes: list[str], architecture: Architecture) -> WarmStart | None:
    """The modules of the bundle in `previous`, or None (the reason logged) when they do not fit a candidate of
    `classes` whose configured architecture is `architecture`."""
    bundle = ModelBundle.load(previous)
    if bundle.classes != classes:
        logger.info("cold start: the previous model knows classes %s, the candidate %s", bundle.classes, classes)
        return None
    previous_architecture = bundle.manifest.architecture
    differing = [name for name in _INPUT_FIELDS
                 if getattr(previous_architecture, name) != getattr(architecture, name)]
    if differing:
        logger.info("cold start: the previous model differs in %s", ", ".join(differing))
        return None
    if architecture.classifier_kind != "shared":
        logger.info("cold start: warm start covers the shared classifier only, not %s", architecture.classifier_kind)
        return None
    logger.info("warm start from %s", previous)
    return WarmStart(previous_architecture, bundle.single, bundle.global_, bundle.classifier)
