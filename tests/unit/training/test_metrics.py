import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from training.metrics import (
    accuracy,
    choose_primary_metric,
    classification_report,
    confusion_matrix,
    macro_f1,
)

TARGETS = np.array([0, 0, 1, 1, 2, 2])
PREDICTIONS = np.array([0, 1, 1, 1, 0, 2])


def test_confusion_matrix_rows_are_true_columns_predicted() -> None:
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]])

    np.testing.assert_array_equal(confusion_matrix(TARGETS, PREDICTIONS, 3), expected)


def test_report_matches_hand_computed_values() -> None:
    report = classification_report(TARGETS, PREDICTIONS, 3, class_names=["a", "b", "c"])

    assert report.accuracy == pytest.approx(4 / 6)
    # precision: 1/2, 2/3, 1/1; recall: 1/2, 2/2, 1/2; F1: 1/2, 4/5, 2/3
    np.testing.assert_allclose(report.precision, [0.5, 2 / 3, 1.0])
    np.testing.assert_allclose(report.recall, [0.5, 1.0, 0.5])
    np.testing.assert_allclose(report.f1, [0.5, 0.8, 2 / 3])
    assert report.macro_precision == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert report.macro_recall == pytest.approx(2 / 3)
    assert report.macro_f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    np.testing.assert_array_equal(report.support, [2, 2, 2])
    assert report.metric("accuracy") == report.accuracy
    assert report.metric("macro_f1") == report.macro_f1


def test_report_agrees_with_scikit_learn_on_random_labels() -> None:
    rng = np.random.default_rng(0)
    targets, predictions = rng.integers(0, 5, 200), rng.integers(0, 5, 200)

    report = classification_report(targets, predictions, 5)

    assert report.macro_f1 == pytest.approx(f1_score(targets, predictions, average="macro"))
    assert report.macro_precision == pytest.approx(precision_score(targets, predictions, average="macro"))
    assert report.macro_recall == pytest.approx(recall_score(targets, predictions, average="macro"))
    np.testing.assert_allclose(report.f1, f1_score(targets, predictions, average=None))


def test_class_absent_from_targets_and_predictions_does_not_dilute_macro() -> None:
    assert macro_f1(TARGETS, PREDICTIONS, 4) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_predicted_but_absent_class_counts_as_zero_f1() -> None:
    # class 1 is predicted once but never true: precision 0, recall 0 (0/0), F1 0
    report = classification_report(np.array([0, 0]), np.array([0, 1]), 2)

    np.testing.assert_allclose(report.f1, [2 / 3, 0.0])
    assert report.macro_f1 == pytest.approx(1 / 3)


def test_to_dict_is_keyed_by_class_name() -> None:
    values = classification_report(TARGETS, PREDICTIONS, 3, class_names=["a", "b", "c"]).to_dict()

    assert values["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": 0.8, "support": 2}
    assert values["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="shapes"):
        accuracy(np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match="predictions"):
        confusion_matrix(np.array([0]), np.array([3]), 3)
    with pytest.raises(ValueError, match="class names"):
        classification_report(TARGETS, PREDICTIONS, 3, class_names=["a"])


@pytest.mark.parametrize(
    ("counts", "expected"),
    [([10, 10, 12], "accuracy"), ([10, 15], "accuracy"), ([10, 16], "macro_f1"), ([5, 0], "macro_f1")],
)
def test_primary_metric_follows_class_balance(counts: list[int], expected: str) -> None:
    assert choose_primary_metric(counts, imbalance_ratio=1.5) == expected
