"""Config sections of the SMART steps (`features`, `classifier`, `selectors`), pydantic only (no torch import),
so that training/config.py can embed them in TrainConfig cheaply."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.selectors.global_selector import GammaInput


class FeatureSettings(BaseModel):
    """How candidate frames are sampled and encoded."""

    model_config = ConfigDict(extra="forbid")

    num_candidates: int = Field(32, ge=1, description="T: candidate frames sampled uniformly per clip.")
    backend: str = Field("onnxruntime", description="Encoder backend for extraction (onnxruntime is fastest on CPU).")
    precision: str = Field("fp32", description="Backend precision: fp32 (int8 trades accuracy for speed).")
    device: str = Field("cpu", description="cpu or cuda.")
    num_threads: int = Field(0, ge=0, description="Backend threads; 0 = the runtime's default.")
    top_k_names: int = Field(10, ge=1, le=1000, description="ImageNet classes whose names form the text half.")
    cache_dir: Path = Field(Path("var/features"), description="Where per-video feature files are cached.")
    calibration_frames: int = Field(64, ge=1, description="Training frames used to calibrate the int8 encoder.")
    int8_encoder: bool = Field(True, description="Calibrate an int8 copy of the encoder into the bundle (about a "
                               "minute on CPU); off for retrain candidates, which serve the fp32 encoder.")


class ClassifierSettings(BaseModel):
    """The classifier on the selected frames and the cross-fitted oracle built from it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["shared", "heavy"] = Field("shared", description="shared: head on X_i; heavy: fine-tuned CNN.")
    hidden_dim: int = Field(256, ge=1, description="Hidden width of the shared head.")
    dropout: float = Field(0.3, ge=0.0, lt=1.0, description="Dropout of the shared head.")
    epochs: int = Field(60, ge=1, description="Epochs of the shared head.")
    batch_size: int = Field(32, ge=1, description="Frames per batch for the shared head.")
    # 3e-3 with attention: it steps per batch of clips, not of frames, so it takes fewer steps.
    learning_rate: float = Field(3e-3, gt=0, description="Learning rate (overrides optimizer.lr for this step).")
    # attention + refit_on_selected: on the demo's synthetic set, stream event recall/precision 0.905/0.928 on a
    # 126-clip validation stream (floor 0.4) against 0.53/0.54 with clip_label and no refit (bench parity).
    frame_weighting: Literal["clip_label", "attention"] = Field(
        "attention", description="shared head: clip_label trains every frame on the clip's label; attention "
        "weighs each clip's frames by a learned attention (multiple-instance training, training/attention_mil.py).")
    attention_hidden_dim: int = Field(128, ge=1, description="Hidden width of the training-only frame attention.")
    attention_frame_loss_weight: float = Field(
        1.0, ge=0.0, description="Weight of the attention-weighted per-frame loss beside the pooled clip loss.")
    clip_batch_size: int = Field(8, ge=1, description="Clips per batch for attention-weighted training.")
    refit_on_selected: bool = Field(
        True, description="After the selectors, train the classifier again on the frames SMART selects in each "
        "training clip (classifier -> oracle -> selectors -> classifier).")
    refit_frames: int = Field(8, ge=1, description="Frames per training clip SMART selects for the refit.")
    heavy_epochs: int = Field(8, ge=1, description="Epochs of the heavy CNN fine-tuning.")
    heavy_batch_size: int = Field(16, ge=1, description="Frames per batch for the heavy CNN.")
    heavy_learning_rate: float = Field(1e-3, gt=0, description="Learning rate of the heavy CNN.")
    heavy_frames_per_clip: int = Field(8, ge=1, description="TSN segments sampled per clip per heavy epoch.")
    oracle_folds: int = Field(3, ge=2, description="k of the cross-fitted per-frame oracle.")
    patience: int = Field(8, ge=1, description="Epochs without end-to-end improvement before stopping.")


class SelectorSettings(BaseModel):
    """The single-frame and global selectors and the selection budget."""

    model_config = ConfigDict(extra="forbid")

    num_frames: int = Field(4, ge=1, description="n: frames per clip given to the classifier.")
    single_hidden_dim: int = Field(512, ge=1, description="Hidden width of the single-frame MLP.")
    single_dropout: float = Field(0.5, ge=0.0, lt=1.0, description="Dropout of the single-frame MLP.")
    single_epochs: int = Field(40, ge=1, description="Epochs of the single-frame selector.")
    single_batch_size: int = Field(64, ge=1, description="Frames per batch for the single-frame selector.")
    single_learning_rate: float = Field(1e-3, gt=0, description="Learning rate of the single-frame selector.")
    global_hidden_dim: int = Field(512, ge=1, description="LSTM hidden size of the global selector.")
    global_epochs: int = Field(30, ge=1, description="Epochs of the global selector.")
    global_learning_rate: float = Field(5e-4, gt=0, description="Learning rate of the global selector.")
    global_draws: int = Field(1, ge=1, description="Partner draws averaged per window at inference.")
    global_gamma_input: GammaInput = Field(
        "frame", description="Eq. 5 input: the frame's own beta_t Z_t, or the cumulative omega_t (SMART.md)."
    )
    batch_size: int = Field(16, ge=1, description="Clips per batch for the selectors.")
    patience: int = Field(8, ge=1, description="Epochs without end-to-end improvement before stopping.")
    validation_fraction: float = Field(
        0.25, gt=0.0, lt=1.0, description="Share of training videos (whole groups when possible) held out."
    )
