"""Settings of the drift checks and of the report files; nested into the drift job's settings root."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class EmbeddingDriftSettings(BaseModel):
    """PCA + MMD on X_i: the score is Evidently's MMD^2 (RBF kernel, median-distance bandwidth), the verdict a
    permutation test, because Evidently's fixed 0.015 threshold is not calibrated to our dimension or sizes."""

    pca_components: int = Field(20, ge=1, description="PCA components fitted on the reference embeddings.")
    permutations: int = Field(200, ge=20, description="Permutations that calibrate the MMD threshold per window.")
    alpha: float = Field(0.01, gt=0, lt=1, description="Embedding drift when the permutation p-value is below.")
    seed: int = Field(0, description="Seed of the permutations, so a window's verdict is reproducible.")
    # Replayed on the last demo's 60 s windows (thinned to 120 frames, 0.5 s apart) against 2-window camera
    # baselines: permuting single frames flagged the unshifted cam1 in 6 of 12 windows (its 44 s feed loops, so a
    # window repeats some scenes more often than the baseline did); blocks of 4, 8 or 16 frames flagged none of
    # the 36 unshifted windows and all 12 of the shifted cam0 (p=0.005 each). bench drift (100 windows on each of
    # 4 control cameras, seed 0), blocks of 1 -> 8: raw false positives vs the camera baseline 0.035 -> 0.0175,
    # every shift still alerted (brightness after 2 windows instead of 3, the others unchanged).
    block_frames: int = Field(8, ge=1, description="Consecutive frames that the permutation test moves together "
                              "(8: about 4 s of a tested window), because neighbouring frames are near copies.")


class DriftSettings(BaseModel):
    """What a drift window is compared on, and how a window's verdict is reached."""

    window_s: float = Field(60.0, gt=0, description="Length of a rolling drift window (separate from the 4 s "
                            "selection windows).")
    quality_columns: list[str] = Field(
        default_factory=lambda: ["brightness", "sharpness", "delta"],
        description="ScoredFrame quality stats tested for data drift (contrast and motion join when stage 1 "
                    "publishes them).")
    reference_frames: int = Field(300, ge=10, le=1000, description="Frames (quality stats and X_i) kept in a "
                                  "profile; at most 1,000 keeps Evidently's p-value tests (KS, chi-squared).")
    reference_outcomes: int = Field(1000, ge=10, le=1000, description="Window outcomes (label, confidence) kept "
                                    "in a profile.")
    max_frames: int = Field(120, ge=10, description="Frames of a window tested, evenly spaced: neighbouring video "
                            "frames are nearly copies, so more add cost and false confidence, not evidence.")
    min_frames: int = Field(20, ge=2, description="A window with fewer frames is reported insufficient.")
    min_outcomes: int = Field(8, ge=2, description="Fewer window outcomes: no prediction drift test.")
    p_value_threshold: float = Field(
        0.005, gt=0, lt=1, description="Column drift below this p-value (KS, chi-squared, z), quality and prediction "
        "columns alike: stricter than Evidently's 0.05 so that the five column tests and the embedding test "
        "together stay under 5% false alarms per window.")
    column_thresholds: dict[str, float] = Field(default_factory=dict,
                                                description="Per-column thresholds that replace the one above.")
    drift_share: float = Field(0.3, gt=0, le=1, description="Data drift when this share of the quality columns "
                               "drifted (Evidently's dataset drift rule; its default 0.5 misses a shift that "
                               "moves one stat only, like brightness).")
    label_two_sample: bool = Field(True, description="Test the label mix with the two-sample chi-squared (the "
                                   "reference is a sample too) instead of Evidently's goodness of fit, which takes "
                                   "a small baseline's proportions as exact (bench drift: 8.75% raw false alarms "
                                   "from the label mix alone on control cameras).")
    embedding: EmbeddingDriftSettings = Field(default_factory=EmbeddingDriftSettings)

    def threshold(self, column: str) -> float:
        return self.column_thresholds.get(column, self.p_value_threshold)


class ReportSettings(BaseModel):
    """Evidently HTML reports (several MB each) and the workspace that `evidently ui` opens."""

    reports_dir: Path = Field(Path("var/reports"), description="Where HTML reports are written.")
    max_reports: int = Field(200, ge=1, description="Most HTML reports kept; the oldest go first.")
    max_bytes: int = Field(500 * 1024 * 1024, ge=1, description="Most bytes of HTML reports kept.")
    workspace_dir: Path | None = Field(Path("var/evidently"), description="Evidently workspace (None: none).")
    project: str = Field("actionstream-drift", description="Workspace project the snapshots go to.")
    max_workspace_runs: int = Field(1000, ge=1, description="Most snapshots kept in the workspace project (each "
                                    "0.1-0.3 MB: about 250 MB at most); the oldest go first.")
