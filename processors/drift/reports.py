"""Evidently reports for humans: rendered when a verdict changes or on request, never per window (one report
costs most of a second). HTML files are several MB, so the reports folder keeps a count and a size cap; each
snapshot also goes to an Evidently workspace that `evidently ui --workspace var/evidently` opens."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from processors.drift.detector import CONFIDENCE_COLUMN, LABEL_COLUMN, Verdict
from processors.drift.profile import ReferenceProfile
from processors.drift.sample import WindowSample
from processors.drift.settings import DriftSettings, ReportSettings

if TYPE_CHECKING:
    import pandas as pd
    from evidently.core.report import Snapshot
    from evidently.ui.workspace import Workspace

logger = logging.getLogger(__name__)
EMBEDDINGS = "x"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _table(columns: dict[str, np.ndarray | list[str]]) -> pd.DataFrame:
    """Columns of unequal length side by side, padded with NaN, which Evidently's column tests drop."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(values) for name, values in columns.items()})


def _embedding_table(embeddings: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(np.asarray(embeddings, dtype=np.float32), columns=_embedding_columns(embeddings))


def _embedding_columns(embeddings: np.ndarray) -> list[str]:
    return [f"{EMBEDDINGS}{index}" for index in range(embeddings.shape[1])]


def _expand(counts: dict[str, int]) -> list[str]:
    return [label for label, count in counts.items() for _ in range(count)]


def build_reports(profile: ReferenceProfile, window: WindowSample, settings: DriftSettings
                  ) -> dict[str, Snapshot]:
    """Two reports on the data the hot path saw (the window thinned the same way), as Evidently takes one table
    per run and X_i has a row per frame while the prediction columns have one per window outcome:
    `data`: DataDriftPreset over the quality and prediction columns at our thresholds; `embeddings`: MMD on X_i
    (the score the hot path reports; Evidently's verdict uses its fixed threshold, ours a permutation test).
    The label mix shows Evidently's goodness-of-fit chi-squared even where the hot path uses the two-sample
    test (`label_two_sample`): Evidently has none."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics.embeddings import EmbeddingsDrift, MMDDriftMethod
    from evidently.presets import DataDriftPreset

    sample = window.thinned(settings.max_frames)
    reference_data: dict[str, np.ndarray | list[str]] = {
        **profile.quality, LABEL_COLUMN: _expand(profile.label_counts), CONFIDENCE_COLUMN: profile.confidence}
    current_data: dict[str, np.ndarray | list[str]] = {
        **sample.quality, LABEL_COLUMN: sample.labels, CONFIDENCE_COLUMN: sample.confidence}
    # Evidently refuses a column empty on either side (a window whose outcomes were all shed has no labels): such
    # a column has nothing to compare, so the report leaves it out rather than failing whole.
    columns = [column for column in [*profile.quality, LABEL_COLUMN, CONFIDENCE_COLUMN]
               if len(reference_data[column]) and len(current_data[column])]
    reference_data = {column: reference_data[column] for column in columns}
    current_data = {column: current_data[column] for column in columns}
    tables = DataDefinition(numerical_columns=[column for column in columns if column != LABEL_COLUMN],
                            categorical_columns=[LABEL_COLUMN] if LABEL_COLUMN in columns else [])
    data = Report([DataDriftPreset(columns=columns, drift_share=settings.drift_share,
                                   per_column_threshold={column: settings.threshold(column) for column in columns})])
    # Embedding columns declared only as embeddings: as numerical columns Evidently would profile each one.
    vectors = DataDefinition(numerical_columns=[], embeddings={EMBEDDINGS: _embedding_columns(profile.embeddings)})
    embeddings = Report([EmbeddingsDrift(
        embeddings_name=EMBEDDINGS, drift_method=MMDDriftMethod(pca_components=settings.embedding.pca_components))])
    # Evidently and the pandas and scipy calls under it warn about their own internals (deprecations, a 0/0 in a
    # p-value of identical columns): nothing an operator can act on, and one block per report in the log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        return {
            "data": data.run(Dataset.from_pandas(_table(current_data), data_definition=tables),
                             Dataset.from_pandas(_table(reference_data), data_definition=tables)),
            "embeddings": embeddings.run(
                Dataset.from_pandas(_embedding_table(sample.embeddings), data_definition=vectors),
                Dataset.from_pandas(_embedding_table(profile.embeddings), data_definition=vectors)),
        }


class VerdictChanges:
    """Which windows get an HTML report: those whose verdict differs from the camera's last one. A camera starts
    as "ok" (a drifted first window is reported, a quiet start is not); insufficient windows change nothing."""

    def __init__(self) -> None:
        self._last: dict[str, Verdict] = {}

    def changed(self, key: str, verdict: Verdict) -> bool:
        if verdict == "insufficient" or verdict == self._last.get(key, "ok"):
            return False
        self._last[key] = verdict
        return True


class ReportStore:
    """Writes HTML reports under a count and size cap and adds their snapshots to the workspace."""

    def __init__(self, settings: ReportSettings) -> None:
        self.settings = settings
        self._workspace: Workspace | None = None
        self._project_id = ""

    def save(self, snapshots: Mapping[str, Snapshot], name: str) -> list[Path]:
        """Saves `<name>-<part>.html` per snapshot (name made file-safe), then removes the oldest reports beyond
        the caps."""
        directory = self.settings.reports_dir
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for part, snapshot in snapshots.items():
            path = directory / f"{_UNSAFE.sub('_', name)}-{part}.html"
            snapshot.save_html(str(path))
            paths.append(path)
            if self.settings.workspace_dir is not None:
                self._add_to_workspace(snapshot, f"{name} {part}")
        self._enforce_caps(keep=set(paths))
        return paths

    def _enforce_caps(self, keep: set[Path]) -> None:
        reports = sorted(self.settings.reports_dir.glob("*.html"), key=lambda path: path.stat().st_mtime,
                         reverse=True)
        total = 0
        for index, path in enumerate(reports):
            total += path.stat().st_size
            if path not in keep and (index >= self.settings.max_reports or total > self.settings.max_bytes):
                logger.info("removing drift report %s (caps: %d files, %d bytes)", path,
                            self.settings.max_reports, self.settings.max_bytes)
                path.unlink(missing_ok=True)

    def _add_to_workspace(self, snapshot: Snapshot, name: str) -> None:
        from evidently.ui.workspace import Workspace

        if self._workspace is None:
            self._workspace = Workspace.create(str(self.settings.workspace_dir))
            found = self._workspace.search_project(self.settings.project)
            project = found[0] if found else self._workspace.create_project(self.settings.project)
            self._project_id = str(project.id)
        self._workspace.add_run(self._project_id, snapshot, name=name)
        # Run ids are UUIDv7, so their order is the order they were added in.
        runs = sorted(self._workspace.list_runs(self._project_id), key=lambda run: run.int)
        for run in runs[:max(0, len(runs) - self.settings.max_workspace_runs)]:
            logger.info("removing drift snapshot %s from the workspace (cap: %d runs)", run,
                        self.settings.max_workspace_runs)
            self._workspace.delete_run(self._project_id, run)
