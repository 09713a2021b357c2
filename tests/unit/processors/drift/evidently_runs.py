"""Evidently 0.7 run on the same data as our tests, to compare scores and verdicts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Evidently's display names of its default column tests -> ours.
EVIDENTLY_TESTS = {
    "K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
}


@dataclass(frozen=True)
class EvidentlyDrift:
    scores: dict[str, tuple[str, float]]  # column -> (our test name, score)
    drifted_count: int


def evidently_column_drift(reference: dict[str, np.ndarray | list[str]], current: dict[str, np.ndarray | list[str]],
                           categorical: list[str], thresholds: dict[str, float] | None = None) -> EvidentlyDrift:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numerical = [column for column in reference if column not in categorical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)

    def table(columns: dict[str, np.ndarray | list[str]]) -> pd.DataFrame:
        return pd.DataFrame({name: pd.Series(values) for name, values in columns.items()})

    snapshot = Report([DataDriftPreset(per_column_threshold=thresholds)]).run(
        Dataset.from_pandas(table(current), data_definition=definition),
        Dataset.from_pandas(table(reference), data_definition=definition))
    scores, count = {}, -1
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            scores[config["column"]] = (EVIDENTLY_TESTS[config["method"]], float(metric["value"]))
        elif config["type"].endswith("DriftedColumnsCount"):
            count = int(metric["value"]["count"])
    return EvidentlyDrift(scores, count)
