"""Metrics that show *how* a model errs on an ordinal 5-class scale.

Accuracy treats "somewhat negative → neutral" like "somewhat negative → positive". On SST-5 the first is
a near miss and the second a real failure, so beside the usual scikit-learn scores we report

- ``neighbour_rate``: the share of errors that land on an adjacent class;
- ``mean_abs_distance``: the mean of ``|predicted - true|`` over all examples;
- ``qwk``: Cohen's kappa with quadratic weights (agreement that penalises far errors more).

:func:`classification_metrics` computes everything; :func:`compute_metrics` is the ``Trainer`` hook.
The same computation is a local ``evaluate`` module (:func:`evaluate_module_path`), which works offline.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

from .config import HEADLINE_METRICS, LABEL_NAMES

__all__ = [
    "HEADLINE_METRICS",
    "classification_metrics",
    "neighbour_rate",
    "mean_abs_distance",
    "compute_metrics",
    "evaluate_module_path",
]

_LABELS = list(range(len(LABEL_NAMES)))


def neighbour_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of the errors whose predicted class is adjacent to the true one (NaN without errors)."""
    distance = np.abs(np.asarray(y_pred) - np.asarray(y_true))
    errors = distance > 0
    return float(np.mean(distance[errors] == 1)) if errors.any() else math.nan


def mean_abs_distance(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean ``|predicted - true|`` in classes (0 for a perfect model, at most 4)."""
    return float(np.mean(np.abs(np.asarray(y_pred) - np.asarray(y_true))))


def classification_metrics(y_true, y_pred, with_confusion: bool = True) -> dict:
    """All course metrics for 5-class predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        True and predicted labels in 0..4.
    with_confusion : bool, default=True
        Include ``confusion_matrix`` (rows true, columns predicted) as nested lists.

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``macro_/micro_`` ``precision``, ``recall`` and ``f1``,
        ``precision/<class>`` and ``recall/<class>`` per class name, ``neighbour_rate``,
        ``mean_abs_distance``, ``qwk``, ``n``, and optionally ``confusion_matrix``.

    Examples
    --------
    >>> classification_metrics([0, 1, 2, 3], [0, 2, 2, 1])["neighbour_rate"]
    0.5
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"need two equally long, non-empty label arrays, got {y_true.shape} and {y_pred.shape}")
    result = {
        "n": int(y_true.size),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
    }
    for average in ("macro", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=_LABELS, average=average, zero_division=0
        )
        result.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    p, r, _, _ = precision_recall_fscore_support(y_true, y_pred, labels=_LABELS, zero_division=0)
    for name, precision, recall in zip(LABEL_NAMES, p, r, strict=True):
        result[f"precision/{name}"] = float(precision)
        result[f"recall/{name}"] = float(recall)
    result["neighbour_rate"] = neighbour_rate(y_true, y_pred)
    result["mean_abs_distance"] = mean_abs_distance(y_true, y_pred)
    result["qwk"] = float(cohen_kappa_score(y_true, y_pred, labels=_LABELS, weights="quadratic"))
    if with_confusion:
        result["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=_LABELS).tolist()
    return result


def compute_metrics(eval_pred) -> dict:
    """``Trainer`` hook: scalar metrics from ``(logits, labels)`` (the confusion matrix is left out)."""
    logits, labels = eval_pred[0], eval_pred[1]
    logits = logits[0] if isinstance(logits, tuple) else logits
    result = classification_metrics(labels, np.argmax(logits, axis=-1), with_confusion=False)
    result.pop("n")
    return result


def evaluate_module_path() -> str:
    """Folder of the local ``evaluate`` module: ``evaluate.load(evaluate_module_path())`` works offline."""
    return str(Path(__file__).parent / "evaluate_module" / "sst5_metrics")
