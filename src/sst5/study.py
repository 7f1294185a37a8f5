"""The schedule study: do stratified mini-batches help, beyond seed noise?

The RTMovies SST-5 write-up trains on the treebank's phrases and reports that 4 epochs of stratified
batches then 2 random ones beat random batches alone, and that 4 stratified then alternating epochs give
its "best" model (at least 50 % precision in every class). The study runs those schedules with several
seeds each through the batch runner (so it resumes where it stopped), then writes a small results folder:

- ``runs.csv``: one row per run, split (validation, test) and level (sentence, phrase): accuracy,
  macro-F1, neighbour rate, per-class precision and recall, the precision floor, training seconds;
- ``predictions/<schedule>-seed<seed>.csv``: each run's sentence-level test predictions (label,
  predicted, class probabilities), from which every statistic can be recomputed;
- ``metrics/<schedule>-seed<seed>.json``: each run's whole metrics record (its ``metrics.json``: every
  metric of every split and level, parameters, provenance, training time);
- ``statistics.csv``: every pair of schedules on the test sentences: the difference of their seeds' mean,
  a two-level bootstrap interval over seeds and sentences, Welch's p over the seeds
  (:func:`sst5.stats.compare_runs`), the seeds a side that would show a difference of that size, and the
  sentence that states it;
- ``study.json``: the command, the settings, the machine and the wall time.

:func:`run_study` does all of it; ``sst5-study`` (and ``benchmarks/schedule_study.py`` in a checkout) is its
command line. Notebook 03 reads the committed results (:func:`load_study`) and shows them; the answer in
words, in notebook 03 and the README, is written from them by :func:`study_report` (``scripts/update_readme.py``).
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .analysis import load_predictions
from .config import LABEL_NAMES
from .runs import (
    METRICS_FILE,
    PROB_COLUMNS,
    TIMES_FILE,
    collect_runs,
    read_json,
    run_details,
    run_scores,
    write_atomic,
    write_json,
)
from .stats import (
    METRIC_NAMES,
    PAIRED_METRICS,
    compare_runs,
    describe_comparison,
    precision_floor,
    seeds_needed,
    signed_points,
)

if TYPE_CHECKING:
    from .batch import BatchResult

__all__ = [
    "SCHEDULES",
    "STUDY_SEEDS",
    "STUDY_PARAMETERS",
    "StudyResults",
    "runs_on",
    "study_entries",
    "collect_study",
    "schedule_statistics",
    "schedule_confusions",
    "study_summary",
    "study_report",
    "study_answer",
    "write_study",
    "run_study",
    "load_study",
]

#: The write-up's schedules and their epochs: random alone, 4 stratified + 2 random, 4 stratified + 4
#: alternating (random, stratified, random, stratified).
SCHEDULES: dict[str, int] = {"random": 6, "stratified:4,random:2": 6, "stratified:4,alternate": 8}
STUDY_SEEDS: tuple[int, ...] = (42, 1, 2)
#: Notebook-03 parameters every study run shares: the write-up trains on phrases; each distinct phrase
#: once, so that short phrases repeated across trees do not outweigh the rest.
STUDY_PARAMETERS: dict[str, object] = {"train_on": "distinct_phrases", "tracker": "none"}

RUNS_FILE = "runs.csv"
STATISTICS_FILE = "statistics.csv"
ABOUT_FILE = "study.json"
PREDICTIONS_DIR = "predictions"
METRICS_DIR = "metrics"


@dataclass
class StudyResults:
    """A study's results: ``runs`` and ``statistics`` tables, sentence-level test ``predictions`` and the
    ``metrics`` record (``metrics.json``) of each run, keyed like ``runs["run"]``, and ``about`` (command,
    settings, machine, wall time)."""

    runs: pd.DataFrame
    statistics: pd.DataFrame
    predictions: dict[str, pd.DataFrame]
    about: dict
    metrics: dict[str, dict] = field(default_factory=dict)

    def rows(self, split: str = "test", level: str = "sentence") -> pd.DataFrame:
        """The ``runs`` rows scored on one split and level (one row per run)."""
        return runs_on(self.runs, split, level)


def runs_on(runs: pd.DataFrame, split: str = "test", level: str = "sentence") -> pd.DataFrame:
    """The rows of a ``runs`` table scored on ``split`` ("validation", "test") and ``level``
    ("sentence", "phrase")."""
    return runs[(runs["split"] == split) & (runs["level"] == level)]


def study_entries(model: str, seeds: Sequence[int] = STUDY_SEEDS,
                  schedules: Mapping[str, int] = SCHEDULES) -> list[str]:
    """Model-list entries for the batch runner: one per schedule and seed, schedule-major."""
    return [f"{model} schedule={schedule} epochs={epochs} seed={seed}"
            for schedule, epochs in schedules.items() for seed in seeds]


def _prediction_key(schedule: str, seed: int) -> str:
    return f"{re.sub(r'[^a-z0-9]+', '-', schedule)}-seed{seed}"


_STUDY_METRICS = ("accuracy", "macro_f1", "neighbour_rate")
_CLASS_METRICS = [f"{kind}/{name}" for kind in ("precision", "recall") for name in LABEL_NAMES]


def collect_study(batch_dir: str | Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, dict]]:
    """The finished runs of a study's batch folder (:func:`sst5.runs.collect_runs`'s rule): the ``runs`` table
    (one row per run, split and level), sentence-level test predictions and each run's metrics record.

    Runs not finished yet (pending, training, failed) are left out; the caller says how many are missing.
    """
    table, _ = collect_runs(batch_dir, depth=1)
    if table.empty:
        return pd.DataFrame(), {}, {}
    details = run_details(table).assign(key=lambda d: [_prediction_key(*pair) for pair in zip(
        d["schedule"], d["seed"], strict=True)])
    doubled = details[details["key"].duplicated()]
    if not doubled.empty:
        raise ValueError(f"{batch_dir} holds two runs of schedule {doubled['schedule'].iloc[0]} with seed "
                         f"{doubled['seed'].iloc[0]}; give each study its own batch folder (--out)")
    rows = []
    for split, level in itertools.product(("validation", "test"), ("sentence", "phrase")):
        scores = run_scores(table, split, level)  # validation phrases are scored only when asked for
        if scores.empty:
            continue
        scored = details.merge(scores, on="run")
        floors = [precision_floor(row) for _, row in scored.iterrows()]
        rows.append(pd.DataFrame({
            "run": scored["key"], "folder": scored["run"], "model": scored["model_name"],
            "schedule": scored["schedule"], "seed": scored["seed"], "epochs": scored["epochs"],
            "samples_per_epoch": scored.get("samples_per_epoch"), "split": split, "level": level,
            **{metric: scored[metric] for metric in _STUDY_METRICS},
            "min_precision": [floor["min_precision"] for floor in floors],
            "meets_precision_floor": [floor["meets_floor"] for floor in floors],
            **{metric: scored[metric] for metric in _CLASS_METRICS},
            "train_seconds": scored["train_seconds"],
        }))
    predictions, records = {}, {}
    for folder, key in zip(details["run"], details["key"], strict=True):
        table = load_predictions(Path(batch_dir) / folder)
        sentences = table[table["is_root"]].sort_values("sentence_id")
        predictions[key] = sentences[["sentence_id", "label", "predicted", *PROB_COLUMNS]].reset_index(drop=True)
        records[key] = read_json(Path(batch_dir) / folder / METRICS_FILE)
    runs = pd.concat(rows, ignore_index=True)
    order = runs["schedule"].map({schedule: i for i, schedule in enumerate(SCHEDULES)}).fillna(len(SCHEDULES))
    runs = runs.assign(_order=order).sort_values(["_order", "schedule", "seed"], kind="stable")
    return runs.drop(columns="_order").reset_index(drop=True), predictions, records


def _by_schedule(runs: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """(schedule, its run keys) in the order of :data:`SCHEDULES`, other schedules after them."""
    order = {schedule: i for i, schedule in enumerate(SCHEDULES)}
    groups = runs.groupby("schedule")["run"].apply(list)
    return sorted(groups.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


_STATISTICS_COLUMNS = ["a", "b", "seeds_a", "seeds_b", "metric", "difference", "low", "high", "method", "p_value",
                       "p_method", "seeds_needed", "significant", "statement"]


def schedule_statistics(runs: pd.DataFrame, predictions: Mapping[str, pd.DataFrame],
                        n_resamples: int = 10_000) -> pd.DataFrame:
    """Every pair of schedules on the test sentences, for each metric of :data:`sst5.stats.PAIRED_METRICS`:
    the difference of their seeds' mean, a 95 % two-level bootstrap interval over seeds and sentences, Welch's
    p over the seeds, and ``seeds_needed``: seeds a schedule for 80 % power to show a difference of that size."""
    test = runs_on(runs, "test", "sentence")
    by_schedule = dict(_by_schedule(test))
    groups = {schedule: np.stack([predictions[key]["predicted"].to_numpy() for key in keys])
              for schedule, keys in by_schedule.items()}
    labels = next(iter(predictions.values()))["label"].to_numpy()
    rows = []
    for a, b in itertools.combinations(groups, 2):
        for metric in PAIRED_METRICS:
            comparison = compare_runs(labels, groups[a], groups[b], metric, n_resamples)
            statement = describe_comparison(comparison, a, b)
            seed_scores = [test.set_index("run").loc[by_schedule[s], metric].to_numpy() for s in (a, b)]
            rows.append({"a": a, "b": b, "seeds_a": len(groups[a]), "seeds_b": len(groups[b]), "metric": metric,
                         "difference": comparison.difference, "low": comparison.low, "high": comparison.high,
                         "method": comparison.method, "p_value": comparison.p_value, "p_method": comparison.p_method,
                         "seeds_needed": seeds_needed(*seed_scores),
                         "significant": comparison.significant(), "statement": statement})
    return pd.DataFrame(rows, columns=_STATISTICS_COLUMNS)  # no pair yet (one schedule done): empty, same columns


def schedule_confusions(runs: pd.DataFrame, predictions: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Test-sentence confusion matrix of each schedule, counts summed over its seeds (rows: true class)."""
    labels = np.arange(len(LABEL_NAMES))
    matrices = {}
    for schedule, keys in _by_schedule(runs.drop_duplicates("run")):
        frames = [predictions[key] for key in keys]
        matrices[schedule] = sum(
            pd.crosstab(f["label"], f["predicted"]).reindex(index=labels, columns=labels, fill_value=0).to_numpy()
            for f in frames)
    return matrices


def study_summary(runs: pd.DataFrame, split: str = "test", level: str = "sentence") -> pd.DataFrame:
    """Per schedule: seeds, mean ± sd (in %) of accuracy, macro-F1, neighbour rate and the smallest
    per-class precision, and how many seeds meet the write-up's "≥ 50 % precision in every class"."""
    rows = runs_on(runs, split, level)
    table = {}
    for schedule, group in rows.groupby("schedule", sort=False):
        line = {"seeds": len(group)}
        for metric in ("accuracy", "macro_f1", "neighbour_rate", "min_precision"):
            values = 100 * group[metric]
            line[metric] = f"{values.mean():.1f} ± {values.std():.1f}" if len(group) > 1 else f"{values.mean():.1f}"
        line["meets ≥ 50 % precision"] = f"{int(group['meets_precision_floor'].sum())} of {len(group)}"
        table[schedule] = line
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("schedule")


def study_report(study: StudyResults) -> str:
    """The study's results and its answer, in Markdown, written from ``runs.csv`` and ``statistics.csv``
    (notebook 03 shows it; ``scripts/update_readme.py`` puts it in the README): the seeds' scores per
    schedule, every paired difference with its interval and p, and what they establish."""
    statistics = study.statistics
    names = METRIC_NAMES
    summary = study_summary(study.runs)
    lines = ["Test sentences, mean ± standard deviation over the seeds, in %:", "",
             "| schedule | epochs | seeds | accuracy | macro-F1 | neighbour rate | smallest class precision | "
             "≥ 50 % precision in every class |", "|---|---|---|---|---|---|---|---|"]
    for schedule, row in summary.iterrows():
        lines.append(f"| `{schedule}` | {SCHEDULES.get(schedule, '')} | {row['seeds']} | {row['accuracy']} | "
                     f"{row['macro_f1']} | {row['neighbour_rate']} | {row['min_precision']} | "
                     f"{row['meets ≥ 50 % precision']} |")
    lines += ["", "Differences A − B on the same test sentences, in points: the seeds' means, a 95 % two-level "
              "bootstrap interval (seeds and sentences resampled) and Welch's p over the seeds; bold where both "
              "say significant at 5 %:", "", "| A − B | " + " | ".join(names.values()) + " |",
              "|---" * (len(names) + 1) + "|"]
    for (a, b), pair in statistics.groupby(["a", "b"], sort=False):
        cells = []
        for metric in names:
            row = pair[pair["metric"] == metric].iloc[0]
            cell = (f"{signed_points(row['difference'])} [{signed_points(row['low'])}, {signed_points(row['high'])}], "
                    f"p = {row['p_value']:.2f}")
            cells.append(f"**{cell}**" if row["significant"] else cell)
        lines.append(f"| `{a}` − `{b}` | " + " | ".join(cells) + " |")
    lines += ["", study_answer(study)]
    return "\n".join(lines) + "\n"


def study_answer(study: StudyResults) -> str:
    """The study's answer in words (Markdown), written from its ``runs`` and ``statistics``: what is
    established, how many seeds would settle the largest open difference, the precision criterion, the cost."""
    runs, statistics = study.rows(), study.statistics
    seeds = runs.groupby("schedule").size()
    found = statistics[statistics["significant"]]
    if found.empty:
        largest = statistics.loc[statistics["difference"].abs().idxmax()]
        needed = largest["seeds_needed"]
        answer = (f"**The answer, with {seeds.min()} seeds a schedule: no difference between the schedules is "
                  f"established.** Every interval contains zero. The largest difference, "
                  f"`{largest['a']}` − `{largest['b']}` in {METRIC_NAMES[largest['metric']]}, is "
                  f"{signed_points(largest['difference'])} points (p = {largest['p_value']:.2f})")
        if pd.notna(needed):
            answer += (f"; at the seeds' observed spread, about {int(needed)} seeds a schedule would be needed "
                       f"to show a difference of that size (80 % power at 5 %)")
        answer += "."
    else:
        listed = "; ".join(found["statement"])
        answer = (f"**The answer, with {seeds.min()} seeds a schedule: {len(found)} difference(s) established:** "
                  f"{listed}.")
    epochs = {schedule: epochs for schedule, epochs in SCHEDULES.items() if schedule in seeds.index}
    if len(set(epochs.values())) > 1:
        answer += (" The schedules do not train equally long (" +
                   ", ".join(f"`{s}` {e} epochs" for s, e in epochs.items()) +
                   "), so a difference could come from training longer as well as from the batches.")
    floor = runs["min_precision"]
    met = int(runs["meets_precision_floor"].sum())
    answer += (f" {met} of {len(runs)} runs met the write-up's \"best\" criterion (at least 50 % precision in every "
               f"class); the weakest class's precision ranged from {100 * floor.min():.1f} to "
               f"{100 * floor.max():.1f} %.")
    seconds = runs.groupby("schedule", sort=False)["train_seconds"].median()
    answer += " Median training time per run: " + ", ".join(f"`{s}` {t:,.0f} s" for s, t in seconds.items()) + "."
    return answer


def write_study(folder: str | Path, results: StudyResults) -> Path:
    """Write a study's results folder (each file atomically); returns the folder."""
    folder = Path(folder)
    (folder / PREDICTIONS_DIR).mkdir(parents=True, exist_ok=True)
    for key, table in results.predictions.items():
        write_atomic(folder / PREDICTIONS_DIR / f"{key}.csv",
                     lambda tmp, table=table: table.round(5).to_csv(tmp, index=False))
    if results.metrics:
        (folder / METRICS_DIR).mkdir(exist_ok=True)
    for key, record in results.metrics.items():
        write_json(folder / METRICS_DIR / f"{key}.json", record)
    write_atomic(folder / RUNS_FILE, lambda tmp: results.runs.round(5).to_csv(tmp, index=False))
    write_atomic(folder / STATISTICS_FILE, lambda tmp: results.statistics.round(5).to_csv(tmp, index=False))
    write_json(folder / ABOUT_FILE, results.about)
    return folder


def run_study(model: str, out_dir: str | Path, results_dir: str | Path, seeds: Sequence[int] = STUDY_SEEDS,
              params: Mapping[str, object] | None = None, profile: str | None = None,
              data: str | None = None) -> tuple[BatchResult, StudyResults | None]:
    """Run (or resume) the study of ``model`` in the batch folder ``out_dir``, then write ``results_dir`` from
    the runs complete so far.

    Returns
    -------
    (BatchResult, StudyResults or None)
        What the batch did, and the results (None when no run is complete yet).
    """
    from .batch import run_batch, writable_folder
    from .config import default_profile_name
    from .provenance import device_name

    params = {**STUDY_PARAMETERS, **(params or {})}
    entries = study_entries(model, seeds)
    writable_folder(results_dir, "--results")
    start = time.perf_counter()
    batch = run_batch(entries, out_dir, params, profile, data, compare=False)
    runs, predictions, records = collect_study(out_dir)
    if runs.empty:
        return batch, None
    times = read_json(Path(out_dir) / TIMES_FILE)
    about = {
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "model": model, "profile": profile or default_profile_name(), "seeds": list(seeds),
        "schedules": SCHEDULES, "parameters": params, "device": device_name(), "date": time.strftime("%Y-%m-%d"),
        "runs_complete": int(runs["run"].nunique()), "runs_planned": len(entries),
        "batch_seconds": round(sum(times.get(name, 0.0) for name in runs["folder"].unique()), 1),
        "train_seconds": round(float(runs.drop_duplicates("run")["train_seconds"].sum()), 1),
        "this_call_seconds": round(time.perf_counter() - start, 1),
    }
    results = StudyResults(runs, schedule_statistics(runs, predictions), predictions, about, records)
    write_study(results_dir, results)
    return batch, results


def load_study(folder: str | Path | None = None) -> StudyResults:
    """Read a study's results folder; by default the course's committed results (shipped with the package).

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no ``runs.csv``: run ``benchmarks/schedule_study.py`` first.
    """
    root = Path(folder) if folder else Path(str(resources.files("sst5.results") / "schedule_study"))
    if not (root / RUNS_FILE).is_file():
        raise FileNotFoundError(f"no study results in {root} ({RUNS_FILE} missing); run "
                                "benchmarks/schedule_study.py, or pass the folder it wrote")
    runs = pd.read_csv(root / RUNS_FILE)
    keys = runs["run"].unique()
    predictions = {key: pd.read_csv(root / PREDICTIONS_DIR / f"{key}.csv") for key in keys}
    metrics = {key: json.loads(path.read_text(encoding="utf-8")) for key in keys
               if (path := root / METRICS_DIR / f"{key}.json").is_file()}
    about = json.loads((root / ABOUT_FILE).read_text(encoding="utf-8"))
    return StudyResults(runs, pd.read_csv(root / STATISTICS_FILE), predictions, about, metrics)
