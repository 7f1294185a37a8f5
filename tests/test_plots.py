"""Figures: byte-identical across runs, and every plot function titled, with labelled axes and class names."""

import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

from sst5 import plots
from sst5.analysis import accuracy_by_length
from sst5.calibration import reliability_table
from sst5.config import LABEL_NAMES
from sst5.data import subset_sentences, to_frame
from sst5.eda import class_word_weights, label_distribution, label_shares_by_length
from sst5.metrics import classification_metrics

matplotlib.use("Agg")

SAVE_A_FIGURE = """
import sys
import matplotlib
matplotlib.use("Agg")
from sst5.plots import plot_confusion_matrix, save_figure
fig = plot_confusion_matrix([[5, 1, 0, 0, 0], [1, 4, 1, 0, 0], [0, 1, 6, 1, 0], [0, 0, 1, 4, 1], [0, 0, 0, 1, 5]])
save_figure(fig, sys.argv[1], "confusion.svg")
save_figure(fig, sys.argv[1], "confusion.png")
"""


def test_figures_are_byte_identical_across_runs(tmp_path):
    """Re-running the course must not turn the committed img/ figures into a diff."""
    for run in ("first", "second"):
        subprocess.run([sys.executable, "-c", SAVE_A_FIGURE, str(tmp_path / run)], check=True, timeout=120)
    for name in ("confusion.svg", "confusion.png"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


# Every plot function, drawn on small real inputs: titled, axes labelled, classes named (not 0-4).

RNG = np.random.default_rng(0)
TRUE = RNG.integers(0, 5, 400)
PREDICTED = np.where(RNG.random(400) < 0.6, TRUE, RNG.integers(0, 5, 400))
SCORES = classification_metrics(TRUE, PREDICTED)
BOARD = pd.DataFrame({"run": ["a", "b", "c"], "model": ["m1", "m1", "m2"],
                      "schedule": ["random", "stratified:1", "random"],
                      "test_sentence_accuracy": [0.5, 0.52, 0.55], "test_sentence_macro_f1": [0.48, 0.5, 0.53]})
STUDY = pd.DataFrame([{"schedule": s, **{f"precision/{n}": 0.4 + 0.1 * i for i, n in enumerate(LABEL_NAMES)}}
                      for s in ("random", "random", "stratified:4,random:2")])


@pytest.fixture(scope="module")
def frame(sst):
    return to_frame(subset_sentences(sst, 200, seed=0))


def _figures(name, frame):
    """The figures of plot function ``name`` on small inputs."""
    probabilities = np.full((400, 5), 0.1)
    probabilities[np.arange(400), PREDICTED] = 0.6
    predictions = frame.assign(predicted=frame["label"])
    calls = {
        "plot_class_distribution": lambda: plots.plot_class_distribution(label_distribution(frame)),
        "plot_word_clouds": lambda: list(plots.plot_word_clouds(class_word_weights(frame, min_count=2)).values()),
        "plot_shares_by_length": lambda: plots.plot_shares_by_length(label_shares_by_length(frame)),
        "plot_split_distributions": lambda: plots.plot_split_distributions({"train": TRUE, "test": PREDICTED},
                                                                           "Label shares"),
        "plot_seed_search": lambda: plots.plot_seed_search({0: 0.3, 1: 0.1, 2: 0.2}, best=1),
        "plot_confusion_matrix": lambda: plots.plot_confusion_matrix(SCORES["confusion_matrix"], normalize="true"),
        "plot_per_class_scores": lambda: plots.plot_per_class_scores(SCORES),
        "plot_error_distances": lambda: plots.plot_error_distances(TRUE, PREDICTED),
        "plot_accuracy_by_length": lambda: plots.plot_accuracy_by_length(accuracy_by_length(predictions)),
        "plot_training_history": lambda: plots.plot_training_history(pd.DataFrame(
            {"epoch": [1, 2], "train_loss": [1.2, 0.9], "macro_f1": [0.4, 0.45],
             "strategy": ["stratified", "random"]})),
        "plot_runs_scatter": lambda: plots.plot_runs_scatter(BOARD),
        "plot_schedule_effect": lambda: plots.plot_schedule_effect(BOARD),
        "plot_confusion_grid": lambda: plots.plot_confusion_grid({"random": SCORES["confusion_matrix"],
                                                                  "stratified": SCORES["confusion_matrix"]}),
        "plot_class_precision": lambda: plots.plot_class_precision(STUDY),
        "plot_reliability": lambda: plots.plot_reliability({"as trained": reliability_table(TRUE, probabilities)}),
    }
    figures = calls[name]()
    return figures if isinstance(figures, list) else [figures]


#: Plot functions that show the classes on an axis (the others show runs, epochs, seeds, lengths or bins).
CLASS_AXES = {"plot_class_distribution", "plot_split_distributions", "plot_confusion_matrix", "plot_per_class_scores",
              "plot_confusion_grid", "plot_class_precision"}
PLOTS = sorted(name for name in plots.__all__ if name.startswith("plot_"))


@pytest.mark.parametrize("name", PLOTS)
def test_every_figure_has_a_title_labelled_axes_and_class_names(name, frame):
    for fig in _figures(name, frame):
        drawn = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
        titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
        assert any(titles), f"{name}: no title"
        if drawn:  # a word cloud is an image without axes
            assert any(ax.get_xlabel() for ax in drawn) and any(ax.get_ylabel() for ax in drawn), f"{name}: axes"
        if name in CLASS_AXES:  # the classes by name, on the axis that shows them
            ticks = {t.get_text() for ax in drawn for t in ax.get_xticklabels() + ax.get_yticklabels()}
            assert ticks & (set(LABEL_NAMES) | set(plots._SHORT_NAMES)), f"{name}: classes unnamed"


def test_every_plot_function_is_covered():
    assert set(PLOTS) == {"plot_class_distribution", "plot_word_clouds", "plot_shares_by_length",
                          "plot_split_distributions", "plot_seed_search", "plot_confusion_matrix",
                          "plot_per_class_scores", "plot_error_distances", "plot_accuracy_by_length",
                          "plot_training_history", "plot_runs_scatter", "plot_schedule_effect", "plot_confusion_grid",
                          "plot_class_precision", "plot_reliability"}
