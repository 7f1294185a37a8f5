"""Comparing runs: a leaderboard over a folder of runs, a goal-driven model chooser, and ensembles.

A *run folder* is what notebook 03 (or the batch runner) leaves: ``metrics.json`` (written last, with
``"status": "complete"``) and ``predictions.parquet``. Folders without them, or with unreadable files,
are listed as problems, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import PROB_COLUMNS, load_predictions
from .config import LABEL_NAMES
from .metrics import HEADLINE_METRICS, classification_metrics

__all__ = ["collect_runs", "leaderboard_markdown", "export_leaderboard", "choose_model", "ensemble", "ensemble_top"]


def _flatten(metrics: dict) -> dict:
    row = {}
    for split in ("validation", "test"):
        for level in ("sentence", "phrase"):
            scores = metrics.get(split, {}).get(level, {})
            for name in HEADLINE_METRICS:
                row[f"{split}_{level}_{name}"] = scores.get(name)
            precisions = [scores.get(f"precision/{c}") for c in LABEL_NAMES]
            if all(p is not None for p in precisions):
                row[f"{split}_{level}_min_precision"] = min(precisions)
    return row


def collect_runs(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every run folder below ``root``.

    Returns
    -------
    board : pandas.DataFrame
        One row per complete run: ``run``, ``model``, ``schedule``, ``seed``, ``epochs``, ``train_seconds``
        and ``<split>_<level>_<metric>`` columns, sorted by test sentence accuracy.
    problems : pandas.DataFrame
        ``run`` and ``reason`` for each failed, incomplete or unreadable run (including the batch
        runner's ``failures.json`` entries).
    """
    root = Path(root)
    rows, problems = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        metrics_path = folder / "metrics.json"
        if not metrics_path.is_file():
            problems.append((folder.name, "incomplete: no metrics.json"))
            continue
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            problems.append((folder.name, f"unreadable metrics.json: {error}"))
            continue
        if metrics.get("status") != "complete" or "test" not in metrics:
            problems.append((folder.name, f"status {metrics.get('status', 'unknown')!r}"))
            continue
        if not (folder / "predictions.parquet").is_file():
            problems.append((folder.name, "incomplete: no predictions.parquet"))
            continue
        params = metrics.get("params", {})
        rows.append({"run": folder.name, "model": params.get("model_name"), "schedule": params.get("schedule"),
                     "seed": params.get("seed"), "epochs": params.get("epochs"),
                     "train_seconds": metrics.get("train_seconds"), **_flatten(metrics)})
    failures = root / "failures.json"
    if failures.is_file():
        for run, failure in json.loads(failures.read_text(encoding="utf-8")).items():
            if run not in {p[0] for p in problems} and run not in {r["run"] for r in rows}:
                problems.append((run, f"failed: {failure.get('error', '')}"))
    board = pd.DataFrame(rows)
    if not board.empty:
        board = board.sort_values("test_sentence_accuracy", ascending=False).reset_index(drop=True)
    return board, pd.DataFrame(problems, columns=["run", "reason"])


def leaderboard_markdown(board: pd.DataFrame, columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """A Markdown table of ``board`` (for the README)."""
    columns = list(columns or board.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in board[columns].iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def export_leaderboard(board: pd.DataFrame, folder: str | Path, columns: Sequence[str] | None = None) -> list[Path]:
    """Write ``leaderboard.csv`` (all columns) and ``leaderboard.md`` (``columns``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    board.to_csv(folder / "leaderboard.csv", index=False)
    (folder / "leaderboard.md").write_text(leaderboard_markdown(board, columns), encoding="utf-8")
    return [folder / "leaderboard.csv", folder / "leaderboard.md"]


def choose_model(board: pd.DataFrame, min_precision: float = 0.0, objective: str = "neighbour_rate") -> pd.DataFrame:
    """Runs that meet a stated goal, best first, judged on *validation* (test stays for reporting).

    Keeps the runs whose every class has validation sentence precision of at least ``min_precision``,
    ranked by validation sentence ``objective`` (``neighbour_rate``, ``accuracy``, ``macro_f1``, ``qwk``
    highest first; ``mean_abs_distance`` lowest first). An empty table means no run meets the goal.

    Raises
    ------
    ValueError
        ``objective`` is not one of :data:`sst5.metrics.HEADLINE_METRICS`.
    """
    if objective not in HEADLINE_METRICS:
        raise ValueError(f"objective={objective!r}; choose one of {HEADLINE_METRICS}")
    eligible = board[board["validation_sentence_min_precision"] >= min_precision]
    column = f"validation_sentence_{objective}"
    return eligible.sort_values(column, ascending=objective == "mean_abs_distance").reset_index(drop=True)


def ensemble(run_dirs: Sequence[str | Path], split: str = "test") -> tuple[dict, dict]:
    """Average the class probabilities of several runs on the same rows; score it at sentence level.

    Returns
    -------
    ensemble_metrics : dict
        :func:`sst5.metrics.classification_metrics` of the averaged probabilities (sentences).
    member_accuracy : dict
        Each member's own sentence accuracy, keyed by run folder name.

    Raises
    ------
    ValueError
        Fewer than two runs, or the runs' ``split`` rows differ (other data, split or subset).
    """
    if len(run_dirs) < 2:
        raise ValueError("an ensemble needs at least two runs")
    tables = {Path(d).name: load_predictions(d, split) for d in run_dirs}
    first_name, first = next(iter(tables.items()))
    key = ["sentence_id", "text", "label"]
    for name, table in tables.items():
        if len(table) != len(first) or not table[key].equals(first[key]):
            raise ValueError(f"runs {first_name!r} and {name!r} hold different {split} rows; "
                             "ensemble only runs made on the same split and data subset")
    roots = first["is_root"].to_numpy()
    labels = first["label"].to_numpy()[roots]
    average = np.mean([t[PROB_COLUMNS].to_numpy()[roots] for t in tables.values()], axis=0)
    members = {name: float(np.mean(t["predicted"].to_numpy()[roots] == labels)) for name, t in tables.items()}
    return classification_metrics(labels, average.argmax(axis=1)), members


def ensemble_top(board: pd.DataFrame, root: str | Path, k: int = 3) -> pd.DataFrame:
    """Ensemble the ``k`` best runs by validation sentence accuracy that share the same test rows.

    Returns a table of the members' and the ensemble's test sentence accuracy and macro-F1, with a
    ``beats_best_member`` flag on the ensemble row; empty when fewer than two runs are comparable.
    """
    names = list(board.sort_values("validation_sentence_accuracy", ascending=False)["run"][:k])
    columns = ["test_sentence_accuracy", "test_sentence_macro_f1"]
    if len(names) < 2:
        return pd.DataFrame(columns=[*columns, "beats_best_member"])
    scores, members = ensemble([Path(root) / name for name in names])
    table = board.set_index("run").loc[names, columns]
    table.loc["ensemble"] = [scores["accuracy"], scores["macro_f1"]]
    table["beats_best_member"] = [None] * len(names) + [scores["accuracy"] > max(members.values())]
    return table
