"""Calibration: ECE, the reliability table, temperature scaling, and the runs' use of the fitted temperature."""

import numpy as np
import pandas as pd
import pytest

from sst5.calibration import (
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    reliability_table,
    run_temperature,
    scale_probabilities,
)
from sst5.plots import plot_reliability
from sst5.runs import PREDICTIONS_FILE, PROB_COLUMNS


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sampled(temperature: float, n: int = 20_000, seed: int = 0):
    """Labels drawn from softmax(z / temperature), and the model's over- (T > 1) or under-confident softmax(z)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, 5))
    truth = _softmax(logits / temperature)
    labels = np.array([rng.choice(5, p=p) for p in truth])
    return labels, _softmax(logits)


def test_a_known_temperature_is_recovered_and_removes_the_miscalibration():
    labels, probabilities = _sampled(temperature=2.0)
    assert fit_temperature(labels, probabilities) == pytest.approx(2.0, rel=0.05)
    before = expected_calibration_error(labels, probabilities)
    after = expected_calibration_error(labels, scale_probabilities(probabilities, 2.0))
    assert before > 0.1 and after < 0.02  # over-confident by a wide margin, then calibrated


def test_scaling_keeps_every_prediction_and_none_keeps_the_probabilities():
    _, probabilities = _sampled(temperature=1.0, n=500)
    for temperature in (0.3, 1.0, 4.0):
        scaled = scale_probabilities(probabilities, temperature)
        assert np.allclose(scaled.sum(axis=1), 1) and (scaled.argmax(axis=1) == probabilities.argmax(axis=1)).all()
    assert scale_probabilities(probabilities, None) is probabilities
    with pytest.raises(ValueError, match="as many labels"):
        fit_temperature([0, 1], probabilities)


def test_reliability_bins_count_every_row_and_hold_confidence_in_the_bin():
    labels, probabilities = _sampled(temperature=1.0, n=3_000)
    table = reliability_table(labels, probabilities, n_bins=10)
    assert table["count"].sum() == 3_000
    assert ((table["confidence"] >= table["low"]) & (table["confidence"] <= table["high"])).all()
    assert expected_calibration_error(labels, probabilities, n_bins=10) < 0.03  # labels drawn from the model


def test_the_reliability_diagram_is_labelled():
    labels, probabilities = _sampled(temperature=2.0, n=2_000)
    fig = plot_reliability({"as trained": reliability_table(labels, probabilities),
                            "scaled": reliability_table(labels, scale_probabilities(probabilities, 2.0))},
                           title="Test sentences: confidence against accuracy")
    ax = fig.axes[0]
    assert ax.get_title() == "Test sentences: confidence against accuracy"
    assert "confidence" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["calibrated", "as trained", "scaled"]


def _write_run(folder, labels, probabilities, splits):
    folder.mkdir(parents=True)
    table = pd.DataFrame(probabilities, columns=PROB_COLUMNS).assign(
        label=labels, split=splits, is_root=True, predicted=probabilities.argmax(axis=1))
    table.to_parquet(folder / PREDICTIONS_FILE)
    return folder


def test_a_run_is_calibrated_on_its_validation_sentences_only(tmp_path):
    labels, probabilities = _sampled(temperature=2.0, n=4_000)
    splits = np.where(np.arange(4_000) < 2_000, "validation", "test")
    run = _write_run(tmp_path / "run", labels, probabilities, splits)
    assert run_temperature(run) == pytest.approx(fit_temperature(labels[:2000], probabilities[:2000]))
    test_only = _write_run(tmp_path / "published", labels[2000:], probabilities[2000:], "test")
    assert run_temperature(test_only) is None and run_temperature(tmp_path / "nothing") is None
    table = pd.DataFrame(probabilities, columns=PROB_COLUMNS).assign(label=labels)
    summary = calibration_summary(table[:2000], table[2000:])
    assert summary["ece_after"] < summary["ece_before"] and summary["nll_after"] < summary["nll_before"]


@pytest.mark.slow
def test_predictions_from_a_run_folder_use_its_fitted_temperature(smoke_run):
    from sst5.config import LABEL_NAMES
    from sst5.predict import load_run_model, predict_texts

    run = smoke_run / "run"
    temperature = run_temperature(run)
    assert temperature is not None and temperature != pytest.approx(1.0)
    raw = predict_texts(load_run_model(run), ["a gorgeous, witty film"])[list(LABEL_NAMES)].to_numpy()
    scaled = predict_texts(run, ["a gorgeous, witty film"])[list(LABEL_NAMES)].to_numpy()
    assert np.allclose(scaled, scale_probabilities(raw, temperature), atol=1e-5)
