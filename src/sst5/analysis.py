"""Error analysis of one run's predictions (``predictions.parquet``): where and how a model errs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import LABEL_NAMES

__all__ = [
    "PROB_COLUMNS",
    "load_predictions",
    "accuracy_by_length",
    "class_leaks",
    "confident_mistakes",
    "uncertain_correct",
]

PROB_COLUMNS = [f"prob_{i}" for i in range(len(LABEL_NAMES))]
_LENGTH_BINS = (0, 1, 2, 3, 5, 10, 20, 30, 1000)


def load_predictions(run_dir: str | Path, split: str = "test") -> pd.DataFrame:
    """The ``split`` rows of a run's ``predictions.parquet``.

    Raises
    ------
    FileNotFoundError
        The run folder holds no predictions (the run failed or has not finished).
    """
    path = Path(run_dir) / "predictions.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"no predictions.parquet in {Path(run_dir)}: point at a finished notebook-03 run")
    table = pd.read_parquet(path)
    return table[table["split"] == split].reset_index(drop=True)


def accuracy_by_length(predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per phrase-length bin (``length_bin``, ``accuracy``, ``count``)."""
    bins = pd.cut(predictions["n_tokens"], _LENGTH_BINS, right=True)
    labels = {interval: (f"{interval.right}" if interval.right - interval.left == 1 else
                         f"{interval.left + 1}-{interval.right}" if interval.right < 1000 else f">{interval.left}")
              for interval in bins.cat.categories}
    correct = predictions["label"] == predictions["predicted"]
    table = correct.groupby(bins, observed=True).agg(["mean", "size"]).reset_index()
    table.columns = ["length_bin", "accuracy", "count"]
    table["length_bin"] = table["length_bin"].map(labels)
    return table


def class_leaks(confusion: np.ndarray | list, top: int = 8) -> pd.DataFrame:
    """The largest off-diagonal flows: which true class leaks into which predicted class, and how much.

    ``share`` is the share of the true class's examples predicted as the other class.
    """
    matrix = np.asarray(confusion, dtype=float)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    rows = [(LABEL_NAMES[i], LABEL_NAMES[j], abs(i - j), int(matrix[i, j]), shares[i, j])
            for i in range(len(matrix)) for j in range(len(matrix)) if i != j and matrix[i, j] > 0]
    table = pd.DataFrame(rows, columns=["true class", "predicted class", "distance", "count", "share"])
    return table.sort_values("share", ascending=False).head(top).reset_index(drop=True)


def _readable(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "text": rows["text"],
        "true class": rows["label"].map(dict(enumerate(LABEL_NAMES))),
        "predicted class": rows["predicted"].map(dict(enumerate(LABEL_NAMES))),
        "confidence": rows[PROB_COLUMNS].max(axis=1).round(3),
    }).reset_index(drop=True)


def confident_mistakes(predictions: pd.DataFrame, n: int = 10, sentences_only: bool = True) -> pd.DataFrame:
    """The ``n`` wrong predictions the model was surest of."""
    rows = predictions[predictions["is_root"]] if sentences_only else predictions
    wrong = rows[rows["label"] != rows["predicted"]]
    return _readable(wrong.loc[wrong[PROB_COLUMNS].max(axis=1).sort_values(ascending=False).index[:n]])


def uncertain_correct(predictions: pd.DataFrame, n: int = 10, sentences_only: bool = True) -> pd.DataFrame:
    """The ``n`` right predictions the model was least sure of."""
    rows = predictions[predictions["is_root"]] if sentences_only else predictions
    right = rows[rows["label"] == rows["predicted"]]
    return _readable(right.loc[right[PROB_COLUMNS].max(axis=1).sort_values().index[:n]])
