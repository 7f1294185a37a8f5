"""Every figure of the course: titled, with labelled axes and class names instead of 0-4.

Each function returns a matplotlib ``Figure`` and draws nothing else; :func:`save_figure` writes one
to a folder when the notebook was asked to refresh the README's figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn
from matplotlib.figure import Figure

from .config import LABEL_NAMES

__all__ = [
    "CLASS_COLORS",
    "save_figure",
    "save_figures",
    "plot_class_distribution",
    "plot_word_clouds",
    "plot_shares_by_length",
    "plot_split_distributions",
    "plot_seed_search",
    "plot_confusion_matrix",
    "plot_per_class_scores",
    "plot_error_distances",
    "plot_accuracy_by_length",
    "plot_training_history",
    "plot_runs_scatter",
    "plot_schedule_effect",
    "plot_confusion_grid",
    "plot_class_precision",
    "plot_reliability",
]

#: Diverging red → grey → green, one colour per class, used by every figure.
CLASS_COLORS = ("#c0392b", "#e59866", "#b3b6b7", "#82e0aa", "#1e8449")
_SHORT_NAMES = ("neg", "s. neg", "neutral", "s. pos", "pos")


def save_figure(fig: Figure, folder: str | Path | None, name: str) -> Path | None:
    """Save ``fig`` as ``folder/name`` (format from the suffix); do nothing when ``folder`` is None.

    The same figure gives the same bytes (no date stamp, fixed SVG ids), so re-running the course does not
    change the committed figures in ``img/``.
    """
    if folder is None:
        return None
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"svg.hashsalt": "sst5"}):
        fig.savefig(path, bbox_inches="tight", dpi=120, metadata={"Date": None} if path.suffix == ".svg" else None)
    return path


def save_figures(figures: Mapping[str, Figure], folder: str | Path | None) -> list[Path]:
    """Save several figures, keyed by file name, into ``folder`` (nothing when it is None)."""
    return [path for name, fig in figures.items() if (path := save_figure(fig, folder, name))]


def plot_class_distribution(distribution: pd.DataFrame) -> Figure:
    """Bars of class counts per split, for all phrases and for sentences, with shares printed on top.

    ``distribution`` is :func:`sst5.eda.label_distribution`'s table.
    """
    levels = ["phrases", "sentences"]
    splits = [s for s in ("train", "validation", "test") if s in set(distribution["split"])]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    width = 0.8 / len(splits)
    for ax, level in zip(axes, levels, strict=True):
        table = distribution[distribution["level"] == level]
        for i, split in enumerate(splits):
            rows = table[table["split"] == split].set_index("label").reindex(range(len(LABEL_NAMES)))
            x = np.arange(len(LABEL_NAMES)) + (i - (len(splits) - 1) / 2) * width
            bars = ax.bar(x, rows["count"], width, label=split, alpha=0.55 + 0.15 * i)
            for bar, share in zip(bars, rows["share"], strict=True):
                ax.annotate(f"{share:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(LABEL_NAMES)), LABEL_NAMES, rotation=20)
        ax.set_title(f"Class distribution over {level}")
        ax.set_xlabel("class")
        ax.set_ylabel(f"number of {level}")
        ax.legend(title="split")
    fig.tight_layout()
    return fig


def plot_word_clouds(weights: Mapping[int, Mapping[str, float]], seed: int = 0) -> dict[str, Figure]:
    """One word cloud per class from :func:`sst5.eda.class_word_weights`, keyed ``sentiment_<label>.png``."""
    from wordcloud import WordCloud

    figures = {}
    for label, words in weights.items():
        color = CLASS_COLORS[label]
        cloud = WordCloud(width=800, height=360, background_color="white", random_state=seed,
                          color_func=lambda *args, color=color, **kwargs: color, prefer_horizontal=0.95)
        cloud.generate_from_frequencies(dict(words) or {"(none)": 1.0})
        fig, ax = plt.subplots(figsize=(8, 3.6))
        ax.imshow(cloud.to_array(), interpolation="bilinear")
        ax.set_axis_off()
        ax.set_title(f"Words that mark the class '{LABEL_NAMES[label]}' (size: count × log lift)")
        fig.tight_layout()
        figures[f"sentiment_{label}.png"] = fig
    return figures


def plot_shares_by_length(shares: pd.DataFrame) -> Figure:
    """Stacked class shares by phrase length (from :func:`sst5.eda.label_shares_by_length`)."""
    fig, (ax, ax_count) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, height_ratios=[3, 1])
    bottom = np.zeros(len(shares))
    x = shares.index.to_numpy()
    for name, color in zip(LABEL_NAMES, CLASS_COLORS, strict=True):
        values = shares[name].to_numpy() if name in shares else np.zeros(len(shares))
        ax.bar(x, values, bottom=bottom, color=color, label=name, width=0.9)
        bottom += values
    ax.set_ylabel("share of phrases")
    ax.set_title("Class shares by phrase length: single words are mostly neutral, long phrases take sides")
    ax.legend(loc="upper right", fontsize=8, ncols=5)
    ax.set_ylim(0, 1)
    ax_count.bar(x, shares["count"], color="#5d6d7e", width=0.9)
    ax_count.set_yscale("log")
    ax_count.set_ylabel("phrases (log)")
    last = int(x.max())
    ax_count.set_xlabel(f"phrase length in tokens (n-gram length; {last} = {last} or more)")
    fig.tight_layout()
    return fig


def plot_split_distributions(labels_by_split: Mapping[str, Sequence[int]], title: str) -> Figure:
    """Side-by-side class shares of several splits (e.g. train/validation/test)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(labels_by_split)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        labels = np.asarray(labels_by_split[name])
        shares = np.bincount(labels, minlength=len(LABEL_NAMES)) / max(len(labels), 1)
        x = np.arange(len(LABEL_NAMES)) + (i - (len(names) - 1) / 2) * width
        ax.bar(x, shares, width, label=f"{name} (n={len(labels):,})")
    ax.set_xticks(range(len(LABEL_NAMES)), LABEL_NAMES, rotation=15)
    ax.set_xlabel("class")
    ax.set_ylabel("share of examples")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_seed_search(distances: Mapping[int, float], best: int) -> Figure:
    """Wasserstein distance between train and test label distributions for every seed tried."""
    seeds = np.array(list(distances))
    values = np.array(list(distances.values()))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.scatter(seeds, values, s=14, color="#5d6d7e", label="candidate seed")
    ax.scatter([best], [distances[best]], s=60, color="#c0392b", label=f"best seed {best}", zorder=3)
    ax.set_xlabel("seed")
    ax.set_ylabel("Wasserstein distance (classes)")
    ax.set_title("Seed search: how far apart are the train and test label distributions?")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix, normalize: str | None = None, title: str | None = None, ax=None) -> Figure:
    """Confusion matrix with class names; ``normalize`` is None (counts), ``"true"`` (rows: recall)
    or ``"pred"`` (columns: precision)."""
    matrix = np.asarray(matrix, dtype=float)
    if normalize == "true":
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    elif normalize == "pred":
        matrix = matrix / np.maximum(matrix.sum(axis=0, keepdims=True), 1)
    elif normalize is not None:
        raise ValueError(f"normalize={normalize!r}; choose None, 'true' or 'pred'")
    fig = ax.figure if ax is not None else plt.figure(figsize=(6, 5))
    ax = ax if ax is not None else fig.add_subplot()
    seaborn.heatmap(matrix, annot=True, fmt=".0f" if normalize is None else ".2f", cmap="Blues", square=True,
                    xticklabels=_SHORT_NAMES, yticklabels=_SHORT_NAMES, annot_kws={"fontsize": 8},
                    cbar_kws={"shrink": 0.8}, ax=ax)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    default = {None: "Confusion matrix (counts)", "true": "Row-normalised: recall per true class",
               "pred": "Column-normalised: precision per predicted class"}[normalize]
    ax.set_title(title or default)
    return fig


def plot_per_class_scores(metrics: Mapping[str, float]) -> Figure:
    """Precision and recall bars per class from a :func:`sst5.metrics.classification_metrics` dict."""
    fig, ax = plt.subplots(figsize=(9, 4))
    x = np.arange(len(LABEL_NAMES))
    for offset, kind in ((-0.2, "precision"), (0.2, "recall")):
        ax.bar(x + offset, [metrics[f"{kind}/{n}"] for n in LABEL_NAMES], 0.4, label=kind)
    ax.set_xticks(x, LABEL_NAMES, rotation=15)
    ax.set_ylim(0, 1)
    ax.set_xlabel("class")
    ax.set_ylabel("score")
    ax.set_title("Precision and recall per class")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_error_distances(y_true, y_pred) -> Figure:
    """How far predictions land from the truth: shares of |predicted − true| = 0..4."""
    distance = np.abs(np.asarray(y_pred) - np.asarray(y_true))
    shares = np.bincount(distance, minlength=len(LABEL_NAMES)) / len(distance)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bars = ax.bar(range(len(shares)), shares, color=["#1e8449", "#f4d03f", "#e67e22", "#c0392b", "#641e16"])
    for bar, share in zip(bars, shares, strict=True):
        ax.annotate(f"{share:.1%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    ax.set_xticks(range(len(shares)), ["exact", "1 off", "2 off", "3 off", "4 off"])
    ax.set_xlabel("|predicted class − true class|")
    ax.set_ylabel("share of examples")
    ax.set_title("How far do the predictions land from the truth?")
    fig.tight_layout()
    return fig


def plot_accuracy_by_length(table: pd.DataFrame) -> Figure:
    """Accuracy per phrase-length bin (columns ``length_bin``, ``accuracy``, ``count``)."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.bar(table["length_bin"].astype(str), table["accuracy"], color="#2e86c1")
    for x, (acc, count) in enumerate(zip(table["accuracy"], table["count"], strict=True)):
        ax.annotate(f"n={count:,}", (x, acc), ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_xlabel("phrase length in tokens")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy by phrase length")
    fig.tight_layout()
    return fig


def plot_training_history(history: pd.DataFrame, metric: str = "macro_f1") -> Figure:
    """Training loss and a validation metric per epoch, with each epoch's batch strategy marked."""
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(12, 3.8))
    ax_loss.plot(history["epoch"], history["train_loss"], marker="o")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("Training loss")
    ax_metric.plot(history["epoch"], history[metric], marker="o", color="#1e8449")
    for epoch, value, strategy in zip(history["epoch"], history[metric], history["strategy"], strict=True):
        ax_metric.annotate(strategy, (epoch, value), textcoords="offset points", xytext=(0, 6), ha="center",
                           fontsize=8)
    ax_metric.set_xlabel("epoch")
    ax_metric.set_ylabel(f"validation {metric}")
    ax_metric.set_title(f"Validation {metric} (label: the epoch's batch strategy)")
    fig.tight_layout()
    return fig


def _nothing_to_show(title: str) -> Figure:
    """A figure that says there is nothing to plot yet (no finished runs)."""
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.text(0.5, 0.5, "no finished runs yet", ha="center", va="center", fontsize=12)
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def plot_runs_scatter(board: pd.DataFrame, x: str = "test_sentence_accuracy",
                      y: str = "test_sentence_macro_f1") -> Figure:
    """One labelled point per run: ``x`` against ``y`` (two leaderboard columns)."""
    title = "Runs: accuracy against macro-F1 (sentence level, test)"
    if board.empty:
        return _nothing_to_show(title)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.scatter(board[x], board[y], color="#2e86c1")
    for _, row in board.iterrows():
        ax.annotate(row["run"], (row[x], row[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_schedule_effect(board: pd.DataFrame, metric: str = "test_sentence_macro_f1") -> Figure:
    """Grouped bars: ``metric`` per model, one bar per sampler schedule."""
    if board.empty:
        return _nothing_to_show("Effect of the sampler schedule per model")
    table = board.pivot_table(index="model", columns="schedule", values=metric, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(table)), 4))
    table.plot.bar(ax=ax, rot=15)
    ax.set_xlabel("model")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title("Effect of the sampler schedule per model")
    ax.legend(title="schedule", fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion_grid(matrices: Mapping[str, Sequence[Sequence[int]]], columns: int = 3,
                        title: str = "Recall-normalised confusion matrices of the top runs") -> Figure:
    """Row-normalised confusion matrices of several runs (or groups of runs) side by side."""
    if not matrices:
        return _nothing_to_show(title)
    rows = -(-len(matrices) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.5 * rows), squeeze=False)
    for ax, (name, matrix) in zip(axes.ravel(), matrices.items(), strict=False):
        plot_confusion_matrix(matrix, normalize="true", title=name, ax=ax)
    for ax in axes.ravel()[len(matrices):]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_class_precision(runs: pd.DataFrame, floor: float = 0.5) -> Figure:
    """Per-class precision of each schedule, mean and spread over its seeds, with the ``floor`` line.

    ``runs`` has one row per run: ``schedule`` and ``precision/<class name>`` columns (a study's
    test-sentence rows, see :mod:`sst5.study`).
    """
    columns = [f"precision/{name}" for name in LABEL_NAMES]
    long = runs.melt(id_vars="schedule", value_vars=columns, var_name="class", value_name="precision")
    long["class"] = long["class"].str.removeprefix("precision/")
    table = long.groupby(["class", "schedule"], sort=False)["precision"].agg(["mean", "min", "max"])
    schedules = list(dict.fromkeys(runs["schedule"]))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(schedules)
    x = np.arange(len(LABEL_NAMES))
    for i, schedule in enumerate(schedules):
        rows = table.xs(schedule, level="schedule").reindex(LABEL_NAMES)
        ax.bar(x + (i - (len(schedules) - 1) / 2) * width, rows["mean"], width, label=schedule,
               yerr=[rows["mean"] - rows["min"], rows["max"] - rows["mean"]], capsize=3)
    ax.axhline(floor, color="black", linestyle="--", linewidth=1)
    ax.text(len(LABEL_NAMES) - 0.5, floor + 0.01, f"{100 * floor:.0f} % floor", ha="right", va="bottom", fontsize=8)
    ax.set_xticks(x, LABEL_NAMES, rotation=10)
    ax.set_ylim(0, 1)
    ax.set_xlabel("class")
    ax.set_ylabel("precision (test sentences)")
    ax.set_title("Per-class precision by schedule: mean over seeds, bars from the lowest to the highest seed")
    ax.legend(title="schedule", fontsize=8)
    fig.tight_layout()
    return fig


def plot_reliability(tables: Mapping[str, pd.DataFrame],
                     title: str = "Reliability: confidence against accuracy") -> Figure:
    """A reliability diagram: each bin's accuracy against its mean confidence, one line per table
    (:func:`sst5.calibration.reliability_table`, e.g. before and after temperature scaling), point size by the
    bin's count; the diagonal is a calibrated model."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="#7f8c8d", linestyle="--", linewidth=1, label="calibrated")
    for (name, table), color in zip(tables.items(), ("#c0392b", "#2e86c1", "#1e8449", "#8e44ad"), strict=False):
        ax.plot(table["confidence"], table["accuracy"], color=color, marker=None, label=name)
        ax.scatter(table["confidence"], table["accuracy"], s=8 + 120 * table["count"] / table["count"].max(),
                   color=color, alpha=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top class probability, mean of the bin)")
    ax.set_ylabel("accuracy of the bin")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
