"""SMART frame selectors (single-frame delta, global gamma), fusion, and the strategy registry."""

from models.selectors.global_selector import GlobalSelector, GlobalSelectorOutput, draw_partners, step_cross_entropy
from models.selectors.registry import SelectionStrategy, SelectorModels, create_strategy, needs_models, strategy_names
from models.selectors.selection import Selection, fuse_scores, gather_frames, top_n_in_time_order
from models.selectors.single import SingleFrameSelector

__all__ = [
    "GlobalSelector",
    "GlobalSelectorOutput",
    "Selection",
    "SelectionStrategy",
    "SelectorModels",
    "SingleFrameSelector",
    "create_strategy",
    "draw_partners",
    "fuse_scores",
    "gather_frames",
    "needs_models",
    "step_cross_entropy",
    "strategy_names",
    "top_n_in_time_order",
]
