"""Comparing runs: a leaderboard over a folder of runs, a goal-driven model chooser, and ensembles.

A *run folder* is what notebook 03 (or the batch runner) leaves (:mod:`sst5.runs`). Runs that are
trained or complete are compared; failed, unfinished or unreadable ones are listed as problems, never
silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import load_predictions
from .calibration import predictions_temperature, scale_probabilities
from .config import HEADLINE_METRICS, LABEL_NAMES, greater_is_better
from .metrics import classification_metrics
from .runs import PROB_COLUMNS, collect_runs, run_details, run_scores, write_atomic
from .stats import PAIRED_METRICS, compare_runs, difference_interval, precision_floor

__all__ = ["RUN_COLUMNS", "leaderboard", "leaderboard_markdown", "export_leaderboard", "choose_model",
           "ensemble_sentences", "EnsembleResult", "ensemble_against_best", "ensemble_top"]

# The columns that identify a prediction row: runs can be ensembled when these agree.
_ROW_KEY = ["sentence_id", "text", "label"]


#: Leaderboard columns before the metrics (an empty board has them too).
RUN_COLUMNS = ["run", "status", "profile", "model", "schedule", "seed", "epochs", "train_seconds", "sst5", "commit",
               "device", "data_fingerprint"]
_SPLITS_LEVELS = [(split, level) for split in ("validation", "test") for level in ("sentence", "phrase")]


def _metric_columns() -> list[str]:
    return [f"{split}_{level}_{name}" for split, level in _SPLITS_LEVELS
            for name in (*HEADLINE_METRICS, "min_precision", "meets_precision_floor")]


def leaderboard(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The leaderboard of the runs in ``root`` and its sub-folders (a course folder's profile runs and batches):
    :func:`sst5.runs.collect_runs`'s table, one row per finished run.

    Returns
    -------
    board : pandas.DataFrame
        :data:`RUN_COLUMNS` (with provenance: course version, commit, device, data fingerprint) and
        ``<split>_<level>_<metric>`` columns (the headline metrics and the precision floor), sorted by test
        sentence accuracy. Empty, with the same columns, when no run has finished.
    problems : pandas.DataFrame
        ``run`` and ``reason`` for each failed, unfinished or unreadable run (including the batch
        runner's ``failures.json`` entries).
    """
    runs, problems = collect_runs(root)
    details = run_details(runs).rename(columns={"state": "status", "model_name": "model"})
    board = details.reindex(columns=RUN_COLUMNS).set_index("run")
    for split, level in _SPLITS_LEVELS:
        scores = run_scores(runs, split, level).set_index("run").reindex(board.index)
        for name in HEADLINE_METRICS:
            board[f"{split}_{level}_{name}"] = scores.get(name)
        precision = [f"precision/{label}" for label in LABEL_NAMES]
        if set(precision) <= set(scores.columns):
            floors = [precision_floor(row) if row.notna().all() else {} for _, row in scores[precision].iterrows()]
            board[f"{split}_{level}_min_precision"] = [floor.get("min_precision") for floor in floors]
            board[f"{split}_{level}_meets_precision_floor"] = [floor.get("meets_floor") for floor in floors]
    board = board.reindex(columns=RUN_COLUMNS[1:] + _metric_columns()).reset_index()
    return board.sort_values("test_sentence_accuracy", ascending=False).reset_index(drop=True), problems


def leaderboard_markdown(board: pd.DataFrame, columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """A Markdown table of ``board`` (for the README)."""
    columns = list(columns or board.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in board[columns].iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def export_leaderboard(board: pd.DataFrame, folder: str | Path, columns: Sequence[str] | None = None) -> list[Path]:
    """Write ``leaderboard.csv`` (all columns) and ``leaderboard.md`` (``columns``) into ``folder``, atomically."""
    markdown = leaderboard_markdown(board, columns)
    return [write_atomic(Path(folder) / "leaderboard.csv", lambda tmp: board.to_csv(tmp, index=False)),
            write_atomic(Path(folder) / "leaderboard.md", lambda tmp: tmp.write_text(markdown, encoding="utf-8"))]


def choose_model(board: pd.DataFrame, min_precision: float = 0.0, objective: str = "neighbour_rate") -> pd.DataFrame:
    """Runs that meet a stated goal, best first, judged on *validation* (test stays for reporting).

    Keeps the runs whose every class has validation sentence precision of at least ``min_precision``,
    ranked by validation sentence ``objective`` (``neighbour_rate``, ``accuracy``, ``macro_f1``, ``qwk``
    highest first; ``mean_abs_distance`` lowest first). An empty table means no run meets the goal.

    Raises
    ------
    ValueError
        ``objective`` is not one of :data:`sst5.config.HEADLINE_METRICS`.
    """
    if objective not in HEADLINE_METRICS:
        raise ValueError(f"objective={objective!r}; choose one of {HEADLINE_METRICS}")
    eligible = board[board["validation_sentence_min_precision"] >= min_precision]
    column = f"validation_sentence_{objective}"
    return eligible.sort_values(column, ascending=not greater_is_better(objective)).reset_index(drop=True)


def ensemble_sentences(run_dirs: Sequence[str | Path], split: str = "test", calibrated: bool = True) -> pd.DataFrame:
    """Average the class probabilities of several runs on the same rows, each scaled by the temperature fitted on
    its validation sentences (:func:`sst5.calibration.run_temperature`; none for a run published without them, or
    with ``calibrated=False``); keep the sentences (tree roots).

    Returns
    -------
    pandas.DataFrame
        One row per sentence: ``sentence_id``, ``label``, the averaged ``prob_*``, the ensemble's
        ``predicted`` class, and each member's own prediction in a column named by its run folder.

    Raises
    ------
    ValueError
        Fewer than two runs, or the runs' ``split`` rows differ (other data, split or subset).
    """
    if len(run_dirs) < 2:
        raise ValueError("an ensemble needs at least two runs")
    every_row = {Path(d).name: load_predictions(d, split=None) for d in run_dirs}  # each file read once
    tables = {name: rows[rows["split"] == split].reset_index(drop=True) for name, rows in every_row.items()}
    first_name, first = next(iter(tables.items()))
    for name, table in tables.items():
        if len(table) != len(first) or not table[_ROW_KEY].equals(first[_ROW_KEY]):
            raise ValueError(f"runs {first_name!r} and {name!r} hold different {split} rows; "
                             "ensemble only runs made on the same split and data subset")
    roots = first["is_root"].to_numpy()
    sentences = first.loc[roots, ["sentence_id", "label"]].reset_index(drop=True)
    temperatures = [predictions_temperature(rows) if calibrated else None for rows in every_row.values()]
    average = np.mean([scale_probabilities(t[PROB_COLUMNS].to_numpy()[roots], temperature)
                       for t, temperature in zip(tables.values(), temperatures, strict=True)], axis=0)
    sentences[PROB_COLUMNS] = average
    sentences["predicted"] = average.argmax(axis=1)
    for name, table in tables.items():
        sentences[name] = table["predicted"].to_numpy()[roots]
    return sentences


@dataclass(frozen=True)
class EnsembleResult:
    """An ensemble judged against its best member, the one protocol of the course: the members and the best
    member are chosen on validation, never on test, and the ensemble − best member difference on the test
    sentences carries a paired interval (:func:`sst5.stats.compare_runs`)."""

    members: list[str]
    best_member: str
    sentences: pd.DataFrame  # :func:`ensemble_sentences`: averaged probabilities, ``predicted``, each member's
    scores: dict  # :func:`sst5.metrics.classification_metrics` of the ensemble (test sentences)
    comparisons: dict  # metric -> :class:`sst5.stats.Comparison`, ensemble − best member


def ensemble_against_best(run_dirs: Sequence[str | Path], validation_scores: Mapping[str, float]) -> EnsembleResult:
    """Average ``run_dirs``' probabilities (:func:`ensemble_sentences`) and compare the ensemble with its best
    member, the run with the highest ``validation_scores[name]`` (a validation metric, keyed by run folder name),
    on every paired metric.

    Raises
    ------
    ValueError
        Fewer than two runs, runs scored on other rows, or a run without a validation score.
    """
    names = [Path(d).name for d in run_dirs]
    if missing := [name for name in names if name not in validation_scores]:
        raise ValueError(f"no validation score for {', '.join(missing)}: the best member is chosen on validation")
    sentences = ensemble_sentences(run_dirs)
    best = max(names, key=lambda name: validation_scores[name])
    labels, predicted = sentences["label"].to_numpy(), sentences["predicted"].to_numpy()
    comparisons = {metric: compare_runs(labels, predicted, sentences[best].to_numpy(), metric)
                   for metric in PAIRED_METRICS}
    return EnsembleResult(names, best, sentences, classification_metrics(labels, predicted), comparisons)


def ensemble_top(board: pd.DataFrame, root: str | Path, k: int = 3,
                 by: str = "validation_sentence_accuracy") -> tuple[pd.DataFrame, EnsembleResult | None, pd.DataFrame]:
    """Ensemble the ``k`` best runs by the validation column ``by`` that were scored on the same test rows, and
    judge it against its best member (:func:`ensemble_against_best`).

    The best run fixes the test rows; a run scored on other rows (another split, subset or data) is
    left out and the next one taken.

    Returns
    -------
    table : pandas.DataFrame
        The members' and the ensemble's test sentence accuracy and macro-F1, then the row ``ensemble − best
        member`` in points with its 95 % interval; empty when fewer than two runs are comparable.
    result : EnsembleResult or None
        The ensemble's sentences (probabilities and predictions) and comparisons; None without an ensemble.
    left_out : pandas.DataFrame
        ``run`` and ``reason`` for each run passed over.
    """
    columns = ["test_sentence_accuracy", "test_sentence_macro_f1"]
    ranked = list(board.sort_values(by, ascending=False)["run"])
    members, left_out, reference = [], [], None
    for name in ranked:
        if len(members) == k:
            break
        rows = load_predictions(Path(root) / name, "test")[_ROW_KEY]
        if reference is None or (len(rows) == len(reference) and rows.equals(reference)):
            reference = rows if reference is None else reference
            members.append(name)
        else:
            left_out.append((name, f"scored on other test rows than {members[0]} (another split, subset or data)"))
    left_out = pd.DataFrame(left_out, columns=["run", "reason"])
    if len(members) < 2:
        return pd.DataFrame(columns=columns), None, left_out
    scores = {Path(name).name: value for name, value in board.set_index("run")[by].items()}
    result = ensemble_against_best([Path(root) / name for name in members], scores)
    table = board.set_index("run").loc[members, columns].astype(object)
    table.loc["ensemble"] = [result.scores["accuracy"], result.scores["macro_f1"]]
    table.loc[f"ensemble − best member ({result.best_member}, best on validation)"] = [
        _difference(result.comparisons[metric]) for metric in ("accuracy", "macro_f1")]
    return table, result, left_out


def _difference(comparison) -> str:
    return f"{difference_interval(comparison)}{' *' if comparison.significant() else ''}"
