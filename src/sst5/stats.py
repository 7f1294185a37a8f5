"""Is a difference between two runs, or two groups of seeds, real? Paired statistics on the same test rows.

- :func:`paired_bootstrap`: a confidence interval for the difference in accuracy, macro-F1 or neighbour
  rate, resampling the test rows (``scipy.stats.bootstrap`` with ``paired=True``); each side may be one
  run or several seeds (their mean);
- :func:`mcnemar_exact`: McNemar's exact test for two runs (a binomial test on the discordant rows);
- :func:`describe_comparison`: the comparison in words, e.g. ``"A − B = +1.2 points [−0.3, +2.6],
  p = 0.11: not significant at 5 %"``;
- :func:`precision_floor`: the write-up's criterion for its "best" model: at least 50 % precision in
  every class, read with the neighbour rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, bootstrap

from .config import LABEL_NAMES, SEED

__all__ = [
    "PAIRED_METRICS",
    "Comparison",
    "paired_bootstrap",
    "mcnemar_exact",
    "compare_runs",
    "describe_comparison",
    "precision_floor",
]

_LABELS = np.arange(len(LABEL_NAMES))


def _accuracy(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.mean(y == p, axis=-1)


def _macro_f1(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Macro-F1 over the five classes (a class never true nor predicted counts 0, as scikit-learn's
    ``zero_division=0``), along the last axis, so that bootstrap resamples are scored at once."""
    scores = []
    for label in _LABELS:
        true, predicted = y == label, p == label
        tp = np.sum(true & predicted, axis=-1)
        wrong = np.sum(true ^ predicted, axis=-1)
        scores.append(np.divide(2 * tp, 2 * tp + wrong, out=np.zeros(np.shape(tp), float), where=2 * tp + wrong > 0))
    return np.mean(scores, axis=0)


def _neighbour_rate(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    distance = np.abs(p.astype(int) - y.astype(int))
    errors = np.sum(distance > 0, axis=-1)
    return np.divide(np.sum(distance == 1, axis=-1), errors, out=np.full(np.shape(errors), np.nan), where=errors > 0)


#: Metrics the paired statistics support, vectorised over bootstrap resamples (same definitions as
#: :func:`sst5.metrics.classification_metrics`).
PAIRED_METRICS = {"accuracy": _accuracy, "macro_f1": _macro_f1, "neighbour_rate": _neighbour_rate}
_DISPLAY_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "neighbour_rate": "neighbour rate"}


@dataclass(frozen=True)
class Comparison:
    """A − B on one metric: the observed difference, its bootstrap interval, and McNemar's p where defined."""

    metric: str
    difference: float
    low: float
    high: float
    confidence: float
    p_value: float | None = None


def _as_runs(predictions, n_rows: int, side: str) -> list[np.ndarray]:
    runs = np.atleast_2d(np.asarray(predictions))
    if runs.shape[-1] != n_rows:
        raise ValueError(f"{side}: predictions for {runs.shape[-1]} rows, but {n_rows} labels; compare runs "
                         "scored on the same test rows (same split and subset)")
    return list(runs)


def paired_bootstrap(y_true: Sequence[int], predicted_a, predicted_b, metric: str = "accuracy",
                     n_resamples: int = 10_000, confidence: float = 0.95, seed: int = SEED) -> Comparison:
    """Bootstrap interval of ``metric(A) − metric(B)`` over the same test rows, resampled jointly.

    Parameters
    ----------
    y_true : sequence of int
        The true labels of the test rows.
    predicted_a, predicted_b : array-like of int
        One run's predictions (``n_rows``), or several seeds' (``n_seeds x n_rows``: their mean metric).
    metric : str
        One of :data:`PAIRED_METRICS`.
    n_resamples, confidence, seed
        Of the percentile bootstrap.

    Raises
    ------
    ValueError
        An unknown metric, or predictions for other rows than ``y_true``.
    """
    if metric not in PAIRED_METRICS:
        raise ValueError(f"metric={metric!r}; choose one of {', '.join(PAIRED_METRICS)}")
    score = PAIRED_METRICS[metric]
    y = np.asarray(y_true)
    runs_a, runs_b = _as_runs(predicted_a, len(y), "A"), _as_runs(predicted_b, len(y), "B")

    def difference(labels, *runs, axis=-1):  # scipy passes the row axis; the metrics score along the last
        a, b = runs[: len(runs_a)], runs[len(runs_a):]
        return np.mean([score(labels, r) for r in a], axis=0) - np.mean([score(labels, r) for r in b], axis=0)

    observed = float(difference(y, *runs_a, *runs_b))
    result = bootstrap((y, *runs_a, *runs_b), difference, paired=True, vectorized=True, axis=-1,
                       n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                       rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return Comparison(metric, observed, float(low), float(high), confidence)


def mcnemar_exact(y_true: Sequence[int], predicted_a: Sequence[int], predicted_b: Sequence[int]) -> float:
    """Two-sided p-value of McNemar's exact test: do two runs err on different rows more than by chance?

    Only the rows where exactly one run is right count; under the null hypothesis each such row is a
    fair coin (``scipy.stats.binomtest``). With no such row the runs agree everywhere: p = 1.
    """
    y, a, b = (np.asarray(v) for v in (y_true, predicted_a, predicted_b))
    only_a = int(np.sum((a == y) & (b != y)))
    only_b = int(np.sum((a != y) & (b == y)))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def compare_runs(y_true: Sequence[int], predicted_a, predicted_b, metric: str = "accuracy",
                 n_resamples: int = 10_000, seed: int = SEED) -> Comparison:
    """:func:`paired_bootstrap`, plus McNemar's exact p when each side is one run and the metric is accuracy."""
    comparison = paired_bootstrap(y_true, predicted_a, predicted_b, metric, n_resamples, seed=seed)
    single = np.ndim(predicted_a) == 1 and np.ndim(predicted_b) == 1
    if metric == "accuracy" and single:
        comparison = Comparison(**{**comparison.__dict__, "p_value": mcnemar_exact(y_true, predicted_a, predicted_b)})
    return comparison


def describe_comparison(comparison: Comparison, a: str = "A", b: str = "B", alpha: float = 0.05) -> str:
    """The comparison in one sentence, in points (percent), saying whether it is beyond noise.

    Without a p-value, the difference is called significant when the interval excludes zero.

    Examples
    --------
    >>> describe_comparison(Comparison("accuracy", 0.012, -0.003, 0.026, 0.95, 0.11))
    'accuracy: A − B = +1.2 points [−0.3, +2.6], p = 0.11: not significant at 5 %'
    """
    def points(value: float) -> str:
        return f"{100 * value:+.1f}".replace("-", "−")

    interval = f"[{points(comparison.low).lstrip('+')}, {points(comparison.high)}]"
    text = f"{_DISPLAY_NAMES[comparison.metric]}: {a} − {b} = {points(comparison.difference)} points {interval}"
    if comparison.p_value is not None:
        significant = comparison.p_value < alpha
        text += f", p = {comparison.p_value:.2g}"
    else:
        significant = comparison.low > 0 or comparison.high < 0
    level = f"{100 * alpha:g} %"
    return f"{text}: {'significant' if significant else 'not significant'} at {level}"


def precision_floor(scores: dict, floor: float = 0.5) -> dict:
    """The write-up's criterion for its "best" model, from one :func:`~sst5.metrics.classification_metrics`.

    Returns
    -------
    dict
        ``min_precision`` (the smallest per-class precision), its ``weakest_class``, ``neighbour_rate``,
        and ``meets_floor``: every class has at least ``floor`` precision.
    """
    precisions = {name: scores[f"precision/{name}"] for name in LABEL_NAMES}
    weakest = min(precisions, key=precisions.get)
    return {"min_precision": precisions[weakest], "weakest_class": weakest,
            "neighbour_rate": scores.get("neighbour_rate"), "meets_floor": precisions[weakest] >= floor}
