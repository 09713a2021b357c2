"""Evidently reports: the same scores as the hot path, HTML under count and size caps, workspace snapshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from processors.drift.detector import WindowDrift, assess
from processors.drift.profile import ReferenceProfile
from processors.drift.reports import ReportStore, VerdictChanges, build_reports
from processors.drift.settings import DriftSettings, ReportSettings
from tests.unit.processors.drift.conftest import make_window
from tests.unit.processors.drift.evidently_runs import EVIDENTLY_TESTS

# Small samples: Evidently's embedding report runs a t-SNE for its plot, which grows with the rows.
SETTINGS = DriftSettings(reference_frames=120, max_frames=60)


@pytest.fixture(scope="module")
def rendered() -> tuple[WindowDrift, dict[str, Any]]:
    rng = np.random.default_rng(0)
    profile = ReferenceProfile.build("training", "model-v3", make_window(rng, frames=600, outcomes=400), SETTINGS)
    window = make_window(rng, "brightness", frames=90)
    return assess(profile, window, SETTINGS), build_reports(profile, window, SETTINGS)


@pytest.mark.slow
def test_reports_show_the_hot_path_scores(rendered: tuple[WindowDrift, dict[str, Any]]) -> None:
    result, snapshots = rendered
    metrics = {part: snapshot.dict()["metrics"] for part, snapshot in snapshots.items()}
    columns = {metric["config"]["column"]: metric for metric in metrics["data"]
               if metric["config"]["type"].endswith("ValueDrift")}
    for column in [*result.quality, *result.prediction]:
        evidently = columns[column.column]
        if column.test == "chisquare_2sample":  # Evidently has no two-sample chi-squared: its own test shows
            assert EVIDENTLY_TESTS[evidently["config"]["method"]] == "chisquare"
            continue
        assert EVIDENTLY_TESTS[evidently["config"]["method"]] == column.test
        assert evidently["config"]["threshold"] == column.threshold
        assert evidently["value"] == pytest.approx(column.score, rel=1e-9, abs=1e-12)
    count = next(metric["value"]["count"] for metric in metrics["data"]
                 if metric["config"]["type"].endswith("DriftedColumnsCount"))
    assert count == len(result.drifted_columns) >= 1
    (embedding,) = metrics["embeddings"]
    assert result.embedding is not None and result.embedding.drifted
    assert embedding["value"] == pytest.approx(result.embedding.score, rel=1e-3, abs=1e-6)


@pytest.mark.slow
def test_reports_go_to_html_and_the_workspace(rendered: tuple[WindowDrift, dict[str, Any]], tmp_path: Path) -> None:
    from evidently.ui.workspace import Workspace

    settings = ReportSettings(reports_dir=tmp_path / "reports", workspace_dir=tmp_path / "evidently")
    paths = ReportStore(settings).save(rendered[1], "demo/cam1 1764000000")
    assert [path.name for path in paths] == ["demo_cam1_1764000000-data.html",
                                             "demo_cam1_1764000000-embeddings.html"]
    assert all(path.stat().st_size > 10_000 and b"<html" in path.read_bytes()[:2000].lower() for path in paths)
    workspace = Workspace(str(settings.workspace_dir))
    (project,) = workspace.search_project(settings.project)
    assert len(workspace.list_runs(project.id)) == 2


@pytest.mark.slow
def test_the_workspace_keeps_the_newest_runs_under_its_cap(rendered: tuple[WindowDrift, dict[str, Any]],
                                                           tmp_path: Path) -> None:
    from evidently.ui.workspace import Workspace

    settings = ReportSettings(reports_dir=tmp_path / "reports", workspace_dir=tmp_path / "evidently",
                              max_workspace_runs=3)
    store = ReportStore(settings)
    store.save(rendered[1], "first")
    workspace = Workspace(str(settings.workspace_dir))
    (project,) = workspace.search_project(settings.project)
    first = sorted(workspace.list_runs(project.id), key=lambda run: run.int)
    store.save(rendered[1], "second")
    kept = set(workspace.list_runs(project.id))
    assert len(first) == 2 and len(kept) == 3
    assert first[0] not in kept and first[1] in kept  # the oldest run went; the second save's two are kept


class _FakeSnapshot:
    def __init__(self, size: int) -> None:
        self.size = size

    def save_html(self, path: str) -> None:
        Path(path).write_bytes(b"x" * self.size)


def _save_in_order(store: ReportStore, names: list[str], size: int) -> None:
    for index, name in enumerate(names):
        for path in store.save({"data": _FakeSnapshot(size)}, name):
            os.utime(path, (1_764_000_000 + index, 1_764_000_000 + index))  # distinct ages, oldest first


def test_count_cap_removes_the_oldest(tmp_path: Path) -> None:
    store = ReportStore(ReportSettings(reports_dir=tmp_path, max_reports=3, workspace_dir=None))
    _save_in_order(store, [f"r{index}" for index in range(5)], 100)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r2-data.html", "r3-data.html", "r4-data.html"]


def test_size_cap_removes_the_oldest_but_keeps_the_newest(tmp_path: Path) -> None:
    store = ReportStore(ReportSettings(reports_dir=tmp_path, max_bytes=250, workspace_dir=None))
    _save_in_order(store, ["a", "b", "c"], 100)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["b-data.html", "c-data.html"]
    store.save({"data": _FakeSnapshot(1000)}, "huge")  # over the cap on its own: kept, as it was just asked for
    assert [path.name for path in tmp_path.iterdir()] == ["huge-data.html"]


def test_reports_are_rendered_on_verdict_changes_only() -> None:
    changes = VerdictChanges()
    verdicts = ["ok", "insufficient", "drift", "drift", "insufficient", "drift", "ok", "ok"]
    assert [changes.changed("demo/cam1", verdict) for verdict in verdicts] == [
        False, False, True, False, False, False, True, False]
    assert changes.changed("demo/cam2", "drift")  # cameras are tracked apart


@pytest.mark.slow
def test_a_window_without_outcomes_is_reported_on_its_frames() -> None:
    """Every outcome shed: no label or confidence to compare, so the report covers the frame columns (Evidently
    raised 'An empty column' and the whole report was lost)."""
    rng = np.random.default_rng(1)
    profile = ReferenceProfile.build("training", "model-v3", make_window(rng, frames=600, outcomes=400), SETTINGS)
    window = make_window(rng, "brightness", frames=90, outcomes=0)
    reports = build_reports(profile, window, SETTINGS)
    drifted = {metric["config"]["column"] for metric in reports["data"].dict()["metrics"]
               if metric["config"].get("type", "").endswith("ValueDrift")}
    assert drifted == {"brightness", "sharpness", "delta"}
