"""Tables that describe the treebank: class shares, shares by phrase length, telling words per class."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from .config import LABEL_NAMES

__all__ = ["label_distribution", "label_shares_by_length", "class_word_weights"]

# Words that flip or weaken sentiment: scikit-learn's stop-word list holds them, but they are what the course
# studies, so they stay in the counts.
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "nor", "none", "nobody", "nowhere", "neither", "but",
                        "without", "cannot", "cant", "less", "few"})
# Words that carry no sentiment but fill every class of a movie-review corpus.
_FILLER_WORDS = frozenset({"film", "movie", "films", "movies", "story", "lrb", "rrb", "character", "characters",
                           "director", "make", "makes", "like", "just", "does", "way", "time", "really"})


def label_distribution(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares of each class, for all phrases and for sentences (roots), per split.

    Returns a long table with columns ``level`` (phrases/sentences), ``split``, ``label``, ``class``,
    ``count`` and ``share``.
    """
    parts = []
    for level, rows in (("phrases", frame), ("sentences", frame[frame["is_root"]])):
        counts = rows.groupby(["split", "label"]).size().rename("count").reset_index()
        counts["share"] = counts["count"] / counts.groupby("split")["count"].transform("sum")
        parts.append(counts.assign(level=level))
    table = pd.concat(parts, ignore_index=True)
    # ordinal order (negative … positive) in every table built from it, not alphabetical
    table["class"] = pd.Categorical(table["label"].map(dict(enumerate(LABEL_NAMES))), categories=LABEL_NAMES,
                                    ordered=True)
    return table[["level", "split", "label", "class", "count", "share"]]


def label_shares_by_length(frame: pd.DataFrame, max_length: int = 30) -> pd.DataFrame:
    """Class shares for each phrase length in tokens (lengths above ``max_length`` pooled into it).

    Returns a table indexed by length with one column per class name, rows summing to 1, plus ``count``.
    """
    lengths = frame["n_tokens"].clip(upper=max_length)
    shares = pd.crosstab(lengths, frame["label"], normalize="index")
    shares.columns = [LABEL_NAMES[label] for label in shares.columns]
    shares["count"] = lengths.value_counts().sort_index()
    shares.index.name = "n_tokens"
    return shares


def class_word_weights(frame: pd.DataFrame, top: int = 150, min_count: int = 5) -> dict[int, dict[str, float]]:
    """Words that tell each class of sentence apart, weighted for a word cloud.

    Words are counted in the sentences (tree roots) of ``frame`` only: a word of a nested phrase would
    otherwise count again in every phrase above it, each with that phrase's label, and short phrases are
    mostly neutral (so "n't" would mark *neutral*). A word's weight in class ``c`` is its count in
    sentences of class ``c`` times the logarithm of its lift ``P(word | c) / P(word)``, kept only where the
    lift exceeds 1: frequent *and* characteristic words come out large, words spread evenly over classes
    (and stop words, film-review filler) not at all, while negations (*not*, *no*, *never*, *but*, *without*)
    are kept; the logarithm keeps rare words of high lift from
    outweighing common ones.

    Returns
    -------
    dict
        ``{label: {word: weight}}`` with at most ``top`` words per class.
    """
    vectorizer = CountVectorizer(
        stop_words=sorted((ENGLISH_STOP_WORDS - _NEGATIONS) | _FILLER_WORDS),
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b",
        min_df=min_count,
    )
    sentences = frame[frame["is_root"]]
    counts = vectorizer.fit_transform(sentences["text"])
    vocabulary = vectorizer.get_feature_names_out()
    labels = sentences["label"].to_numpy()
    per_class = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in range(len(LABEL_NAMES))])
    overall = per_class.sum(axis=0) / per_class.sum()
    weights = {}
    for c in range(len(LABEL_NAMES)):
        in_class = per_class[c] / max(per_class[c].sum(), 1)
        lift = np.divide(in_class, overall, out=np.zeros_like(in_class), where=overall > 0)
        score = per_class[c] * np.log(np.maximum(lift, 1.0))  # lift <= 1: not characteristic
        best = np.argsort(-score)[:top]
        weights[c] = {vocabulary[i]: float(score[i]) for i in best if score[i] > 0}
    return weights
