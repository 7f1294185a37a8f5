"""Calibration: do a model's probabilities mean what they say?

A model is calibrated when, among the texts it gives 80 % confidence, about 80 % are right. Fine-tuned
transformers are usually over-confident. The *expected calibration error* (ECE) is the gap between confidence
and accuracy, averaged over confidence bins weighted by their size (Guo et al. 2017); a *reliability diagram*
plots the bins. **Temperature scaling** divides the logits by one number ``T`` fitted on the validation
sentences (by the likelihood of their labels): the predicted class never changes, only how sure the model
says it is. A run's temperature is fitted from its own validation predictions (:func:`run_temperature`), and
the demo, ``sst5-predict`` and ensembles use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from .runs import PREDICTIONS_FILE, PROB_COLUMNS

__all__ = [
    "N_BINS",
    "reliability_table",
    "expected_calibration_error",
    "scale_probabilities",
    "fit_temperature",
    "predictions_temperature",
    "run_temperature",
    "calibration_summary",
]

#: Confidence bins of the reliability diagram and the ECE (Guo et al. 2017 use 15).
N_BINS = 15
#: The range searched for a temperature: from much sharper to much softer than the model.
_TEMPERATURES = (0.05, 20.0)


def reliability_table(labels: Sequence[int], probabilities: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per non-empty confidence bin (equal widths over [0, 1]): ``low``, ``high``, ``confidence`` (the
    mean top probability), ``accuracy`` (share of the bin's predictions that are right) and ``count``."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows = [{"low": edges[b], "high": edges[b + 1], "confidence": confidence[bins == b].mean(),
             "accuracy": correct[bins == b].mean(), "count": int((bins == b).sum())}
            for b in range(n_bins) if (bins == b).any()]
    return pd.DataFrame(rows)


def expected_calibration_error(labels: Sequence[int], probabilities: np.ndarray, n_bins: int = N_BINS) -> float:
    """The ECE: ``sum over bins of (bin size / n) * |accuracy - confidence|`` (0: calibrated)."""
    table = reliability_table(labels, probabilities, n_bins)
    return float((table["count"] * (table["accuracy"] - table["confidence"]).abs()).sum() / table["count"].sum())


def scale_probabilities(probabilities: np.ndarray, temperature: float | None) -> np.ndarray:
    """``softmax(log p / T)``: the probabilities of logits divided by ``temperature`` (the argmax is kept);
    unchanged for None (no temperature fitted)."""
    if temperature is None:
        return np.asarray(probabilities)
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def _negative_log_likelihood(labels: np.ndarray, probabilities: np.ndarray, temperature: float) -> float:
    scaled = scale_probabilities(probabilities, temperature)
    return float(-np.log(np.clip(scaled[np.arange(len(labels)), labels], 1e-12, None)).mean())


def fit_temperature(labels: Sequence[int], probabilities: np.ndarray) -> float:
    """The temperature that maximises the likelihood of ``labels`` (validation rows; never test).

    Raises
    ------
    ValueError
        No rows, or labels and probabilities of different lengths.
    """
    labels, probabilities = np.asarray(labels), np.asarray(probabilities, dtype=np.float64)
    if len(labels) == 0 or len(labels) != len(probabilities):
        raise ValueError(f"fit_temperature needs as many labels as probability rows (got {len(labels)} and "
                         f"{len(probabilities)}), and at least one")
    result = minimize_scalar(lambda t: _negative_log_likelihood(labels, probabilities, t), bounds=_TEMPERATURES,
                             method="bounded", options={"xatol": 1e-4})
    return float(result.x)


def predictions_temperature(predictions: pd.DataFrame) -> float | None:
    """The temperature fitted on the validation sentences of a run's predictions table; None when it has none
    (runs published with test rows only)."""
    validation = predictions[(predictions["split"] == "validation") & predictions["is_root"]]
    if validation.empty:
        return None
    return fit_temperature(validation["label"].to_numpy(), validation[PROB_COLUMNS].to_numpy())


def run_temperature(run_dir: str | Path) -> float | None:
    """:func:`predictions_temperature` of a run folder's ``predictions.parquet``; None without one."""
    path = Path(run_dir) / PREDICTIONS_FILE
    return predictions_temperature(pd.read_parquet(path)) if path.is_file() else None


def calibration_summary(validation: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Temperature scaling fitted on ``validation`` and judged on ``test`` (sentence tables with ``label`` and
    ``prob_0`` … ``prob_4``): ``temperature``, and the test ECE and negative log-likelihood before and after."""
    temperature = fit_temperature(validation["label"].to_numpy(), validation[PROB_COLUMNS].to_numpy())
    labels, probabilities = test["label"].to_numpy(), test[PROB_COLUMNS].to_numpy()
    scaled = scale_probabilities(probabilities, temperature)
    return {"temperature": temperature,
            "ece_before": expected_calibration_error(labels, probabilities),
            "ece_after": expected_calibration_error(labels, scaled),
            "nll_before": _negative_log_likelihood(labels, probabilities, 1.0),
            "nll_after": _negative_log_likelihood(labels, probabilities, temperature)}
