"""Is a difference between two runs, or two groups of seeds, real? Paired statistics on the same test rows.

- :func:`paired_bootstrap`: a confidence interval for the difference in accuracy, macro-F1 or neighbour
  rate between two runs, resampling the test rows (``scipy.stats.bootstrap`` with ``paired=True``);
- :func:`seed_bootstrap`: the same for two groups of seeds, resampling the seeds of each group *and* the
  test rows (a two-level bootstrap), so that seed-to-seed variance is in the interval; with Welch's t-test
  on the seeds' scores beside it (:func:`welch_seeds`); :func:`seed_mean_interval` for one group's mean;
- :func:`mcnemar_exact`: McNemar's exact test for two runs (a binomial test on the discordant rows);
- :func:`compare_runs`: the right one of these for one run or several seeds a side;
- :func:`seeds_needed`: how many seeds a side would show a difference of the observed size;
- :func:`describe_comparison`: the comparison in words, e.g. ``"A − B = +1.2 points [−0.3, +2.6],
  p = 0.11: not significant at 5 %"``;
- :func:`precision_floor`: the write-up's criterion for its "best" model: at least 50 % precision in
  every class, read with the neighbour rate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, bootstrap, norm, ttest_ind

from .config import LABEL_NAMES, SEED

__all__ = [
    "METRIC_NAMES",
    "signed_points",
    "PAIRED_METRICS",
    "Comparison",
    "paired_bootstrap",
    "seed_bootstrap",
    "seed_mean_interval",
    "welch_seeds",
    "seeds_needed",
    "mcnemar_exact",
    "compare_runs",
    "difference_interval",
    "describe_difference",
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
#: How the paired metrics are named in tables and sentences.
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "neighbour_rate": "neighbour rate"}


def signed_points(value: float) -> str:
    """A difference of fractions in signed points, with a true minus sign: ``0.012`` -> ``"+1.2"``."""
    return f"{100 * value:+.1f}".replace("-", "−")


#: How :func:`compare_runs` computes its interval: one run a side, or several seeds a side.
SENTENCE_BOOTSTRAP = "paired bootstrap over sentences"
SEED_BOOTSTRAP = "two-level bootstrap over seeds and sentences"


@dataclass(frozen=True)
class Comparison:
    """A − B on one metric: the observed difference, its bootstrap interval and ``method``, and a test's
    p-value where one applies (``p_method``: McNemar's for two runs, Welch's over seeds for groups)."""

    metric: str
    difference: float
    low: float
    high: float
    confidence: float
    p_value: float | None = None
    method: str = SENTENCE_BOOTSTRAP
    p_method: str | None = None

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval leaves out no difference."""
        return self.low > 0 or self.high < 0

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether A and B differ beyond noise: the interval excludes zero and, where a p-value is given, p is
        below ``alpha`` too (every test shown must agree)."""
        return self.excludes_zero and (self.p_value is None or self.p_value < alpha)


def _as_runs(predictions, n_rows: int, side: str) -> list[np.ndarray]:
    runs = np.atleast_2d(np.asarray(predictions))
    if runs.shape[-1] != n_rows:
        raise ValueError(f"{side}: predictions for {runs.shape[-1]} rows, but {n_rows} labels; compare runs "
                         "scored on the same test rows (same split and subset)")
    return list(runs)


def _paired_inputs(metric: str, y_true, predicted_a, predicted_b):
    """The metric's scoring function, the labels and each side's runs, checked (see :func:`paired_bootstrap`)."""
    if metric not in PAIRED_METRICS:
        raise ValueError(f"metric={metric!r}; choose one of {', '.join(PAIRED_METRICS)}")
    y = np.asarray(y_true)
    return PAIRED_METRICS[metric], y, _as_runs(predicted_a, len(y), "A"), _as_runs(predicted_b, len(y), "B")


def paired_bootstrap(y_true: Sequence[int], predicted_a, predicted_b, metric: str = "accuracy",
                     n_resamples: int = 10_000, confidence: float = 0.95, seed: int = SEED) -> Comparison:
    """Bootstrap interval of ``metric(A) − metric(B)`` over the same test rows, resampled jointly.

    The seeds, when a side has several, are held fixed: the interval leaves seed-to-seed variance out.
    Compare groups of seeds with :func:`seed_bootstrap`.

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
    score, y, runs_a, runs_b = _paired_inputs(metric, y_true, predicted_a, predicted_b)

    def difference(labels, *runs, axis=-1):  # scipy passes the row axis; the metrics score along the last
        a, b = runs[: len(runs_a)], runs[len(runs_a):]
        return np.mean([score(labels, r) for r in a], axis=0) - np.mean([score(labels, r) for r in b], axis=0)

    observed = float(difference(y, *runs_a, *runs_b))
    result = bootstrap((y, *runs_a, *runs_b), difference, paired=True, vectorized=True, axis=-1,
                       n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                       rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return Comparison(metric, observed, float(low), float(high), confidence)


def _two_level_means(score, y: np.ndarray, groups: list[list[np.ndarray]], n_resamples: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """Each group's mean score over seeds on ``n_resamples`` two-level resamples: the rows drawn with
    replacement (the same rows for every group, as the runs are paired on them) and, independently, each
    group's seeds with replacement. One array of ``n_resamples`` means per group."""
    means = [[] for _ in groups]
    for size in np.diff(np.r_[0:n_resamples:1000, n_resamples]):  # chunks keep memory at ~1000 x n_rows
        rows = rng.integers(0, len(y), size=(size, len(y)))
        for group, runs in zip(means, groups, strict=True):
            scores = np.stack([score(y[rows], run[rows]) for run in runs])  # n_seeds x size
            drawn = rng.integers(0, len(runs), size=(size, len(runs)))
            group.append(np.nanmean(np.take_along_axis(scores.T, drawn, axis=1), axis=1))
    return [np.concatenate(group) for group in means]


def _percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.nanpercentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def seed_mean_interval(y_true: Sequence[int], seeds, metric: str = "accuracy", n_resamples: int = 10_000,
                       confidence: float = 0.95, seed: int = SEED) -> tuple[float, float, float]:
    """The seeds' mean ``metric`` and its two-level bootstrap interval (seeds and test rows resampled, as in
    :func:`seed_bootstrap`): ``(mean, low, high)``. ``seeds`` is ``n_seeds x n_rows`` predictions."""
    score, y, runs, _ = _paired_inputs(metric, y_true, seeds, seeds)
    (means,) = _two_level_means(score, y, [runs], n_resamples, np.random.default_rng(seed))
    return (float(np.mean([score(y, run) for run in runs])), *_percentile_interval(means, confidence))


def seed_bootstrap(y_true: Sequence[int], seeds_a, seeds_b, metric: str = "accuracy", n_resamples: int = 10_000,
                   confidence: float = 0.95, seed: int = SEED) -> Comparison:
    """Two-level bootstrap interval of ``mean metric(A seeds) − mean metric(B seeds)``.

    Each resample draws the test rows with replacement (the same rows for both sides, as the runs are
    paired on them) and, independently, each side's seeds with replacement; the difference of the drawn
    seeds' mean scores on the drawn rows is one replicate. The interval therefore holds both the test
    set's sampling noise and the seed-to-seed variance. With few seeds the latter is estimated roughly
    (three seeds have ten distinct resamples): read it with :func:`welch_seeds` and :func:`seeds_needed`.
    Welch's p over the seeds' scores is attached when each side has at least two seeds.

    Parameters
    ----------
    seeds_a, seeds_b : array-like of int
        ``n_seeds x n_rows`` predictions of each group (a single run counts as one seed).

    Raises
    ------
    ValueError
        An unknown metric, or predictions for other rows than ``y_true``.
    """
    score, y, runs_a, runs_b = _paired_inputs(metric, y_true, seeds_a, seeds_b)
    scores_a, scores_b = [score(y, r) for r in runs_a], [score(y, r) for r in runs_b]
    observed = float(np.mean(scores_a) - np.mean(scores_b))
    if not np.isfinite(observed):  # e.g. the neighbour rate of a side without errors
        return Comparison(metric, observed, np.nan, np.nan, confidence, None, SEED_BOOTSTRAP)
    means_a, means_b = _two_level_means(score, y, [runs_a, runs_b], n_resamples, np.random.default_rng(seed))
    low, high = _percentile_interval(means_a - means_b, confidence)
    p_value = welch_seeds(scores_a, scores_b)
    return Comparison(metric, observed, low, high, confidence, p_value, SEED_BOOTSTRAP,
                      "Welch's t over seeds" if p_value is not None else None)


def welch_seeds(scores_a: Sequence[float], scores_b: Sequence[float]) -> float | None:
    """Two-sided p of Welch's t-test on the seeds' scores of two groups; None with fewer than two seeds a side
    (or an undefined score)."""
    if min(len(scores_a), len(scores_b)) < 2 or not np.all(np.isfinite([*scores_a, *scores_b])):
        return None
    if np.ptp(scores_a) == 0 and np.ptp(scores_b) == 0:  # no seed variance: t is undefined, the difference exact
        return 1.0 if np.mean(scores_a) == np.mean(scores_b) else 0.0
    return float(ttest_ind(scores_a, scores_b, equal_var=False).pvalue)


def seeds_needed(scores_a: Sequence[float], scores_b: Sequence[float], alpha: float = 0.05,
                 power: float = 0.8) -> int | None:
    """Seeds per group for a two-sided test at ``alpha`` to detect the observed difference with ``power``.

    The normal approximation ``2 (z_{1-alpha/2} + z_power)^2 sd^2 / difference^2``, with the pooled seed
    standard deviation; None when a side has fewer than two seeds or the observed difference is zero.
    """
    if min(len(scores_a), len(scores_b)) < 2 or not np.all(np.isfinite([*scores_a, *scores_b])):
        return None
    difference = float(np.mean(scores_a) - np.mean(scores_b))
    variance = (np.var(scores_a, ddof=1) + np.var(scores_b, ddof=1)) / 2
    if difference == 0:
        return None
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return max(2, int(np.ceil(2 * z**2 * variance / difference**2)))


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
    """Two runs: :func:`paired_bootstrap`, plus McNemar's exact p for accuracy. Groups of seeds (a side
    given as ``n_seeds x n_rows``): :func:`seed_bootstrap`, with Welch's p over the seeds."""
    single = np.ndim(predicted_a) == 1 and np.ndim(predicted_b) == 1
    if not single:
        return seed_bootstrap(y_true, predicted_a, predicted_b, metric, n_resamples, seed=seed)
    comparison = paired_bootstrap(y_true, predicted_a, predicted_b, metric, n_resamples, seed=seed)
    if metric == "accuracy":
        comparison = dataclasses.replace(comparison, p_value=mcnemar_exact(y_true, predicted_a, predicted_b),
                                         p_method="McNemar's exact")
    return comparison


def difference_interval(comparison: Comparison) -> str:
    """A comparison's difference and interval in points: ``"+1.2 points [−0.3, +2.6]"``."""
    return (f"{signed_points(comparison.difference)} points "
            f"[{signed_points(comparison.low).lstrip('+')}, {signed_points(comparison.high)}]")


def describe_difference(comparison: Comparison, alpha: float = 0.05) -> str:
    """The difference with its interval, p and verdict (:meth:`Comparison.significant`), without the names:
    ``"+1.2 points [−0.3, +2.6], p = 0.11: not significant at 5 %"``."""
    text = difference_interval(comparison)
    if comparison.p_value is not None:
        text += f", p = {comparison.p_value:.2g}"
    verdict = "significant" if comparison.significant(alpha) else "not significant"
    text = f"{text}: {verdict} at {100 * alpha:g} %"
    if comparison.p_value is not None and comparison.excludes_zero != (comparison.p_value < alpha):
        # the tests disagree: say which one holds the verdict back
        text += (" (the interval excludes 0, but p is not below it)" if comparison.excludes_zero
                 else " (p is below it, but the interval includes 0)")
    return text


def describe_comparison(comparison: Comparison, a: str = "A", b: str = "B", alpha: float = 0.05) -> str:
    """The comparison in one sentence, in points (percent), saying whether it is beyond noise
    (:meth:`Comparison.significant`); the one place a comparison becomes prose.

    Examples
    --------
    >>> describe_comparison(Comparison("accuracy", 0.012, -0.003, 0.026, 0.95, 0.11))
    'accuracy: A − B = +1.2 points [−0.3, +2.6], p = 0.11: not significant at 5 %'
    """
    return f"{METRIC_NAMES[comparison.metric]}: {a} − {b} = {describe_difference(comparison, alpha)}"


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
