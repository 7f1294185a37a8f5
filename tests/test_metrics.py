import evaluate
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from sst5.metrics import classification_metrics, compute_metrics, evaluate_module_path


def test_hand_worked_case():
    #          true: 0  1  2  3  4  2
    #     predicted: 0  2  2  1  4  4   -> errors: 1->2 (adjacent), 3->1 (2 off), 2->4 (2 off)
    m = classification_metrics([0, 1, 2, 3, 4, 2], [0, 2, 2, 1, 4, 4])
    assert m["accuracy"] == pytest.approx(3 / 6)
    assert m["neighbour_rate"] == pytest.approx(1 / 3)
    assert m["mean_abs_distance"] == pytest.approx((0 + 1 + 0 + 2 + 0 + 2) / 6)
    assert m["precision/neutral"] == pytest.approx(1 / 2)  # predicted neutral twice, right once
    assert m["recall/neutral"] == pytest.approx(1 / 2)
    assert m["recall/positive"] == 1.0 and m["precision/positive"] == pytest.approx(1 / 2)
    assert m["confusion_matrix"][3][1] == 1 and m["confusion_matrix"][2][4] == 1


def test_perfect_and_far_predictions():
    perfect = classification_metrics([0, 1, 2, 3, 4], [0, 1, 2, 3, 4])
    assert perfect["accuracy"] == perfect["qwk"] == 1.0 and np.isnan(perfect["neighbour_rate"])
    far = classification_metrics([0, 4], [4, 0])
    assert far["mean_abs_distance"] == 4 and far["neighbour_rate"] == 0.0 and far["qwk"] < 0


def test_metrics_agree_with_their_confusion_matrix_on_random_labels():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 5, 500), rng.integers(0, 5, 500)
    m = classification_metrics(y, p)
    matrix = np.array(m["confusion_matrix"])
    distance = np.abs(np.subtract.outer(np.arange(5), np.arange(5)))  # |true - predicted| of each cell
    assert matrix.sum() == 500 and m["accuracy"] == pytest.approx(np.trace(matrix) / 500)
    assert m["mean_abs_distance"] == pytest.approx((matrix * distance).sum() / 500)
    assert m["neighbour_rate"] == pytest.approx(matrix[distance == 1].sum() / matrix[distance > 0].sum())
    assert m["precision/negative"] == pytest.approx(matrix[0, 0] / matrix[:, 0].sum())
    assert m["recall/positive"] == pytest.approx(matrix[4, 4] / matrix[4].sum())
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert m["qwk"] == pytest.approx(cohen_kappa_score(y, p, weights="quadratic"))


def test_trainer_hook_and_evaluate_module_agree():
    logits = np.eye(5)[[0, 2, 2, 1, 4, 4]]
    labels = np.array([0, 1, 2, 3, 4, 2])
    from_hook = compute_metrics((logits, labels))
    assert "confusion_matrix" not in from_hook
    module = evaluate.load(evaluate_module_path())
    from_module = module.compute(predictions=logits.argmax(1), references=labels)
    assert from_module["macro_f1"] == pytest.approx(from_hook["macro_f1"])
    assert from_module["neighbour_rate"] == pytest.approx(1 / 3)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="equally long"):
        classification_metrics([0, 1], [0])
