"""Paired statistics on constructed cases with known answers."""

import numpy as np
import pytest
from scipy.stats import ttest_ind

from sst5.metrics import classification_metrics
from sst5.stats import (
    SEED_BOOTSTRAP,
    Comparison,
    compare_runs,
    describe_comparison,
    mcnemar_exact,
    paired_bootstrap,
    precision_floor,
    seed_bootstrap,
    seed_mean_interval,
    seeds_needed,
    welch_seeds,
)

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 5, 400)


def test_identical_runs_differ_by_nothing():
    predicted = np.where(RNG.random(400) < 0.6, Y, (Y + 1) % 5)
    for metric in ("accuracy", "macro_f1", "neighbour_rate"):
        result = paired_bootstrap(Y, predicted, predicted, metric, n_resamples=500)
        assert result.difference == result.low == result.high == 0
    assert mcnemar_exact(Y, predicted, predicted) == 1.0


def test_mcnemar_on_a_twelve_to_nothing_split_of_discordant_rows():
    y = np.zeros(30, dtype=int)
    a = y.copy()
    b = y.copy()
    b[:12] = 1  # B wrong on 12 rows where A is right; both right elsewhere
    assert mcnemar_exact(y, a, b) == pytest.approx(2 * 0.5**12)
    b[12] = 2
    a[12] = 3  # a row where both are wrong does not count
    assert mcnemar_exact(y, a, b) == pytest.approx(2 * 0.5**12)


def test_bootstrap_interval_covers_a_known_difference_and_metrics_match_the_course_definitions():
    a = Y.copy()
    b = Y.copy()
    wrong = RNG.choice(400, 60, replace=False)
    b[wrong] = (Y[wrong] + RNG.choice([1, 2], 60)) % 5
    result = paired_bootstrap(Y, a, b, "accuracy", n_resamples=2000)
    assert result.difference == pytest.approx(60 / 400)
    assert 0 < result.low < 0.15 < result.high < 0.25
    for metric in ("macro_f1", "neighbour_rate"):
        observed = paired_bootstrap(Y, b, a[::-1], metric, n_resamples=200).difference
        expected = classification_metrics(Y, b)[metric] - classification_metrics(Y, a[::-1])[metric]
        assert observed == pytest.approx(expected)


def test_groups_of_seeds_compare_their_mean():
    seeds_a = np.stack([np.where(RNG.random(400) < share, Y, (Y + 2) % 5) for share in (0.7, 0.8)])
    seeds_b = np.stack([np.where(RNG.random(400) < share, Y, (Y + 2) % 5) for share in (0.5, 0.6, 0.4)])
    result = compare_runs(Y, seeds_a, seeds_b)
    per_seed = [[np.mean(s == Y) for s in seeds] for seeds in (seeds_a, seeds_b)]
    assert result.difference == pytest.approx(np.mean(per_seed[0]) - np.mean(per_seed[1]))
    assert result.method == SEED_BOOTSTRAP and result.low > 0
    assert result.p_value == pytest.approx(ttest_ind(*per_seed, equal_var=False).pvalue)
    with pytest.raises(ValueError, match="same test rows"):
        paired_bootstrap(Y, seeds_a, seeds_b[:, :300])


def _seeds(accuracies, rows=2000, seed=0):
    """One run per accuracy on the same ``rows`` labels, right where a row's shared difficulty is below it (as
    seeds of one model agree on most rows), else one class off."""
    rng = np.random.default_rng(seed)
    labels, difficulty = rng.integers(0, 5, rows), rng.random(rows)
    return labels, np.stack([np.where(difficulty < a, labels, (labels + 1) % 5) for a in accuracies])


def test_seed_variance_widens_the_interval_and_keeps_a_seed_lottery_from_looking_real():
    # Two groups of three seeds whose means differ by 2 points, but whose seeds spread by 5: what another three
    # seeds would not reproduce. Resampling sentences alone calls it significant; with the seeds it is not.
    labels, runs = _seeds([0.45, 0.50, 0.55, 0.47, 0.52, 0.57])
    a, b = runs[3:], runs[:3]
    sentences_only = paired_bootstrap(labels, a, b, n_resamples=2000)
    with_seeds = seed_bootstrap(labels, a, b, n_resamples=2000)
    assert sentences_only.difference == pytest.approx(with_seeds.difference)
    assert sentences_only.low > 0 and not with_seeds.low > 0
    assert with_seeds.high - with_seeds.low > 2 * (sentences_only.high - sentences_only.low)
    assert describe_comparison(with_seeds, "a", "b").endswith(": not significant at 5 %")
    # a real 10-point gap between tight groups is found by both
    labels, runs = _seeds([0.50, 0.51, 0.49, 0.60, 0.61, 0.59], seed=1)
    assert seed_bootstrap(labels, runs[3:], runs[:3], n_resamples=2000).low > 0.05


def test_the_mean_of_seeds_carries_both_kinds_of_noise():
    labels, tight = _seeds([0.50, 0.51, 0.49])
    _, spread = _seeds([0.45, 0.50, 0.55])
    mean, low, high = seed_mean_interval(labels, tight, n_resamples=2000)
    assert mean == pytest.approx(np.mean([np.mean(run == labels) for run in tight])) and low < mean < high
    assert seed_mean_interval(labels, tight, n_resamples=2000) == (mean, low, high)  # seeded: reproducible
    single, single_low, single_high = seed_mean_interval(labels, tight[:1], n_resamples=2000)
    binomial = 2 * 1.96 * np.sqrt(single * (1 - single) / len(labels))  # one seed: the rows' noise alone
    assert single_high - single_low == pytest.approx(binomial, rel=0.1)
    _, spread_low, spread_high = seed_mean_interval(labels, spread, n_resamples=2000)
    assert spread_high - spread_low > 1.5 * (high - low)
    with pytest.raises(ValueError, match="metric"):
        seed_mean_interval(labels, tight, metric="speed")


def test_seeds_needed_follows_the_normal_approximation():
    # sd 0.01 in both groups, difference 0.01: 2 * (1.96 + 0.84)^2 = 15.7 -> 16 seeds a group
    assert seeds_needed([0.50, 0.51, 0.52], [0.49, 0.50, 0.51]) == 16
    assert seeds_needed([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]) is None  # no difference to detect
    assert seeds_needed([0.5], [0.4, 0.5]) is None and welch_seeds([0.5], [0.4, 0.5]) is None


def test_the_comparison_in_words():
    assert describe_comparison(Comparison("accuracy", 0.012, -0.003, 0.026, 0.95, 0.11)) == (
        "accuracy: A − B = +1.2 points [−0.3, +2.6], p = 0.11: not significant at 5 %")
    assert describe_comparison(Comparison("macro_f1", -0.02, -0.035, -0.004, 0.95), "stratified", "random") == (
        "macro-F1: stratified − random = −2.0 points [−3.5, −0.4]: significant at 5 %")
    # every test shown must agree; where they do not, the sentence says which one holds it back
    assert describe_comparison(Comparison("accuracy", 0.012, -0.001, 0.026, 0.95, 0.02)).endswith(
        "p = 0.02: not significant at 5 % (p is below it, but the interval includes 0)")
    assert describe_comparison(Comparison("accuracy", 0.012, 0.001, 0.026, 0.95, 0.2)).endswith(
        "p = 0.2: not significant at 5 % (the interval excludes 0, but p is not below it)")
    single = compare_runs(Y, Y, np.where(RNG.random(400) < 0.5, Y, (Y + 1) % 5), n_resamples=500)
    assert single.p_value < 1e-10 and describe_comparison(single).endswith("significant at 5 %")


def test_precision_floor_names_the_weakest_class():
    scores = classification_metrics([0, 1, 2, 3, 4, 4, 0], [0, 1, 2, 3, 4, 0, 4])
    floor = precision_floor(scores)
    assert floor["min_precision"] == 0.5 and floor["meets_floor"] and floor["weakest_class"] == "negative"
    assert not precision_floor(scores, floor=0.6)["meets_floor"]
