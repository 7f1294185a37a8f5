"""Baselines every fine-tuned model must beat, and the published results to compare with.

- *Prior guess*: predict a class at random with the training class shares. Its expected accuracy is
  ``sum_c p_train(c) * p_test(c)``, the sum of squared shares when both splits look alike.
- *Majority*: always the most frequent training class (scikit-learn's ``DummyClassifier``).
- *TF-IDF + logistic regression* on word uni- and bigrams (optionally character n-grams), trained on the
  distinct training phrases, the classical bag-of-n-grams model (Socher et al. 2013 report NB 41.0 and
  SVM 40.7 at sentence level). Its settings are picked on validation sentences by :func:`tune_tfidf`
  (``benchmarks/tune_tfidf.py``) and kept in :data:`sst5.config.TFIDF_SETTINGS`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from tqdm.auto import tqdm

from .config import NUM_LABELS, SEED, TFIDF_SETTINGS
from .data import first_occurrences
from .metrics import classification_metrics
from .split import group_split, random_phrase_split

__all__ = ["PUBLISHED", "prior_guess_accuracy", "fit_tfidf", "distinct_phrases", "tune_tfidf", "evaluate_baselines",
           "score_split_kinds"]

#: Published SST-5 test accuracies (%): sentence level (root) and all phrases, with each paper's protocol.
_SOCHER = "trained on every phrase of the training trees; official split; tuned on dev"
PUBLISHED = pd.DataFrame(
    [
        ("Naive Bayes (Socher et al. 2013)", 41.0, 67.2, _SOCHER),
        ("SVM (Socher et al. 2013)", 40.7, 64.3, _SOCHER),
        ("RNTN (Socher et al. 2013)", 45.7, 80.7, _SOCHER),
        ("BERT-base (Munikar et al. 2019)", 53.2, None, "fine-tuned on the phrases of the training trees; official "
                                                        "split; one run, no seed spread reported"),
        ("BERT-large (Munikar et al. 2019)", 55.5, None, "as BERT-base"),
        ("RoBERTa-large (Cheang et al. 2020)", 60.2, None, "fine-tuned on SST-5; official test sentences"),
    ],
    columns=["model", "sentence_accuracy", "phrase_accuracy", "protocol"],
)


def prior_guess_accuracy(train_labels, test_labels) -> float:
    """Expected accuracy of guessing each class with its training share: ``sum p_train * p_test``."""
    p_train = np.bincount(np.asarray(train_labels), minlength=NUM_LABELS) / len(train_labels)
    p_test = np.bincount(np.asarray(test_labels), minlength=NUM_LABELS) / len(test_labels)
    return float(p_train @ p_test)


def fit_tfidf(texts, labels, seed: int = SEED, *, C: float = TFIDF_SETTINGS["C"],
              class_weight: str | None = TFIDF_SETTINGS["class_weight"],
              char_ngrams: bool = TFIDF_SETTINGS["char_ngrams"]) -> Pipeline:
    """Fit TF-IDF (word 1-2 grams, sublinear tf; with ``char_ngrams`` also 2-5 character n-grams within
    words) and a multinomial logistic regression with inverse regularisation ``C``."""
    features = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    if char_ngrams:
        characters = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True)
        features = make_union(features, characters)
    model = make_pipeline(features, LogisticRegression(C=C, class_weight=class_weight, max_iter=2000,
                                                       random_state=seed))
    return model.fit(list(texts), np.asarray(labels))


def distinct_phrases(phrases: pd.DataFrame) -> pd.DataFrame:
    """Each training phrase once (its first row; :func:`sst5.data.first_occurrences` says why)."""
    return phrases.iloc[first_occurrences(phrases["text"])]


def tune_tfidf(train: pd.DataFrame, validation: pd.DataFrame, grid: dict[str, Sequence],
               seed: int = SEED) -> pd.DataFrame:
    """Score every setting of ``grid`` (keyword arguments of :func:`fit_tfidf`) on validation sentences.

    The model is fitted on the distinct training phrases; test data never enters. Returns one row per
    setting with ``accuracy`` and ``macro_f1`` (%), best validation accuracy first.
    """
    fit_rows = distinct_phrases(train)
    sentences = validation[validation["is_root"]]
    rows = []
    for values in tqdm(list(itertools.product(*grid.values())), desc="TF-IDF settings"):
        settings = dict(zip(grid, values, strict=True))
        model = fit_tfidf(fit_rows["text"], fit_rows["label"], seed, **settings)
        predicted = model.predict(list(sentences["text"]))
        scores = classification_metrics(sentences["label"], predicted, with_confusion=False)
        rows.append({**settings, "accuracy": 100 * scores["accuracy"], "macro_f1": 100 * scores["macro_f1"]})
    return pd.DataFrame(rows).sort_values(["accuracy", "macro_f1"], ascending=False).reset_index(drop=True)


def evaluate_baselines(
    train: pd.DataFrame, test: pd.DataFrame, max_train_phrases: int | None = None, seed: int = SEED
) -> pd.DataFrame:
    """Score the three baselines on ``test`` at sentence and phrase level.

    Parameters
    ----------
    train, test : pandas.DataFrame
        Phrase tables (columns ``text``, ``label``, ``is_root``) as from :func:`sst5.data.to_frame`.
    max_train_phrases : int, optional
        Fit the TF-IDF model on a seeded sample of this many distinct training phrases (faster).
    seed : int
        Seed of that sample and of the models.

    Returns
    -------
    pandas.DataFrame
        One row per (baseline, level) with ``accuracy`` and ``macro_f1`` in percent.
    """
    fit_rows = distinct_phrases(train)
    if max_train_phrases is not None and len(fit_rows) > max_train_phrases:
        fit_rows = fit_rows.sample(n=max_train_phrases, random_state=seed)
    tfidf = fit_tfidf(fit_rows["text"], fit_rows["label"], seed)
    rows = []
    for level, rows_test, rows_train in (
        ("sentence", test[test["is_root"]], train[train["is_root"]]),
        ("phrase", test, train),
    ):
        y = rows_test["label"].to_numpy()
        majority = DummyClassifier(strategy="most_frequent").fit(rows_train[["label"]], rows_train["label"])
        rows.append(("prior guess", level, 100 * prior_guess_accuracy(rows_train["label"], y), float("nan")))
        for name, predicted in (
            ("majority class", majority.predict(rows_test[["label"]])),
            ("TF-IDF + logistic regression", tfidf.predict(list(rows_test["text"]))),
        ):
            scores = classification_metrics(y, predicted, with_confusion=False)
            rows.append((name, level, 100 * scores["accuracy"], 100 * scores["macro_f1"]))
    return pd.DataFrame(rows, columns=["baseline", "level", "accuracy", "macro_f1"])


def score_split_kinds(
    phrases: pd.DataFrame, test_size: float = 0.2, seed: int = SEED, max_train_phrases: int | None = None
) -> pd.DataFrame:
    """TF-IDF accuracy on a leaky random phrase split versus a group split of the same size.

    Both models are trained on their split's train side and scored on their own held-out side, at
    phrase and sentence level: the gap is what leakage adds to the score.

    Returns
    -------
    pandas.DataFrame
        Rows ``random phrase split`` and ``group split``; columns ``phrase_accuracy`` and
        ``sentence_accuracy`` in percent.
    """
    rows = []
    for kind, splitter in (("random phrase split", random_phrase_split), ("group split", group_split)):
        train, test = splitter(phrases, test_size, seed)
        if max_train_phrases is not None and len(train) > max_train_phrases:
            train = train.sample(n=max_train_phrases, random_state=seed)
        model = fit_tfidf(train["text"], train["label"], seed)
        roots = test[test["is_root"]]
        phrase_acc = float(np.mean(model.predict(list(test["text"])) == test["label"].to_numpy()))
        sentence_acc = float(np.mean(model.predict(list(roots["text"])) == roots["label"].to_numpy()))
        rows.append((kind, 100 * phrase_acc, 100 * sentence_acc))
    return pd.DataFrame(rows, columns=["split", "phrase_accuracy", "sentence_accuracy"]).set_index("split")
