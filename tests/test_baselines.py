"""The classical baselines: prior guess, majority class, and the TF-IDF model tuned on validation only."""

import numpy as np
import pytest

from sst5.baselines import distinct_phrases, evaluate_baselines, fit_tfidf, prior_guess_accuracy, tune_tfidf
from sst5.data import subset_sentences, to_frame


@pytest.fixture(scope="module")
def frame(sst):
    return to_frame(subset_sentences(sst, 300, seed=0))


def test_prior_guess_is_the_sum_of_share_products():
    assert prior_guess_accuracy([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5 * 0.25 + 0.5 * 0.75)


def test_distinct_phrases_keep_each_text_once(frame):
    train = frame[frame["split"] == "train"]
    distinct = distinct_phrases(train)
    assert distinct["text"].is_unique and set(distinct["text"]) == set(train["text"])
    assert len(distinct) < 0.7 * len(train)  # short phrases recur in many trees


@pytest.mark.slow
def test_tuning_scores_each_setting_on_the_validation_sentences_and_ranks_them(frame):
    train, validation = frame[frame["split"] == "train"], frame[frame["split"] == "validation"]
    grid = tune_tfidf(train, validation, {"C": [0.01, 2.0], "class_weight": [None]})
    assert list(grid.columns) == ["C", "class_weight", "accuracy", "macro_f1"] and len(grid) == 2
    assert grid["accuracy"].is_monotonic_decreasing and grid.loc[0, "C"] == 2.0  # C=0.01 barely learns
    # the score is the validation sentences' accuracy of a model fitted on the distinct training phrases
    sentences = validation[validation["is_root"]]
    fitted = distinct_phrases(train)
    model = fit_tfidf(fitted["text"], fitted["label"], C=2.0, class_weight=None)
    expected = 100 * np.mean(model.predict(list(sentences["text"])) == sentences["label"].to_numpy())
    assert grid.loc[0, "accuracy"] == pytest.approx(expected)


@pytest.mark.slow
def test_baselines_at_both_levels(frame):
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    table = evaluate_baselines(train, test).set_index(["baseline", "level"])
    tfidf, majority = table.loc[("TF-IDF + logistic regression", "sentence")], table.loc[("majority class", "sentence")]
    assert tfidf["macro_f1"] > 2 * majority["macro_f1"]  # 300 training sentences: accuracy is not yet above it
    assert np.isnan(table.loc[("prior guess", "phrase"), "macro_f1"])
