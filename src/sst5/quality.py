"""One recipe's quality over seeds, from its finished run folders (a batch folder, or runs published with
``benchmarks/publish_runs.py``): each seed's scores, their mean ± sd with a two-level bootstrap interval, the
gap to a published figure, and the ensemble of the seeds against its best member; and single-seed ideas
(another loss, schedule, ...) against the recipe's run of the same seed (:func:`idea_report`), and two
recipes' seeds against each other (:func:`recipe_difference`).

The best member is the seed with the best validation-sentence score on the metric that picked each run's
checkpoint (``metric_for_best_model``), never the best on test. The README's phrase-recipe section is
written from :func:`quality_report` (``scripts/update_readme.py``, from ``benchmarks/results/quality_phrases``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .baselines import PUBLISHED
from .compare import ensemble_sentences
from .config import greater_is_better
from .runs import METRICS_FILE, TIMES_FILE, is_finished, read_json
from .stats import compare_runs, describe_comparison, seed_mean_interval

__all__ = ["TARGET", "collect_seeds", "seed_sentences", "seed_ensemble", "quality_report", "quality_table",
           "recipe_difference", "idea_report"]

#: The published figure the phrase recipe is measured against (test sentences, trained on phrases).
TARGET = "BERT-large (Munikar et al. 2019)"
#: A recipe measured here: its name (or description), the folder of its runs, the precision to keep of them
#: (as recorded; None: every run).
Recipe = tuple[str, str | Path, str | None]
_SCORES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "neighbour_rate": "neighbour rate"}


def _kept_epoch(record: dict, pick: str) -> int | None:
    """The epoch whose checkpoint the run kept: the best validation ``pick`` in its history."""
    scored = [entry for entry in record.get("history", []) if pick in entry]
    if not scored:
        return None
    best = (max if greater_is_better(pick) else min)(scored, key=lambda entry: entry[pick])
    return int(best["epoch"])


def collect_seeds(folder: str | Path) -> pd.DataFrame:
    """One row per finished run in ``folder``, by seed: its recipe, validation and test sentence scores, the
    epoch whose checkpoint it kept, training, evaluation and batch wall seconds (``batch_times.json``, where
    the folder has one), CPU and precision.

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no finished run.
    """
    folder = Path(folder)
    times = read_json(folder / TIMES_FILE) if (folder / TIMES_FILE).is_file() else {}
    rows = []
    for run in sorted(p for p in folder.iterdir() if p.is_dir() and is_finished(p)):
        record = read_json(run / METRICS_FILE)
        params, provenance = record["params"], record.get("provenance", {})
        pick = params.get("metric_for_best_model", "accuracy")
        rows.append({
            "run": run.name, "seed": params["seed"], "train_on": params["train_on"], "epochs": params["epochs"],
            "batch_size": params["batch_size"], "learning_rate": params["learning_rate"], "picked_on": pick,
            "validation_pick": record["validation"]["sentence"][pick], "kept_epoch": _kept_epoch(record, pick),
            **{name: record["test"]["sentence"][name] for name in _SCORES},
            "train_seconds": record.get("train_seconds"), "eval_seconds": record.get("eval_seconds"),
            "run_seconds": times.get(run.name), "cpu": provenance.get("cpu"),
            "precision": provenance.get("precision", {}).get("used"),
        })
    if not rows:
        raise FileNotFoundError(f"no finished run in {folder}: run the batch, or publish its runs there")
    return pd.DataFrame(rows).sort_values("seed", kind="stable").reset_index(drop=True)


def seed_sentences(folder: str | Path, seeds: pd.DataFrame) -> pd.DataFrame:
    """The test sentences of ``seeds`` (from :func:`collect_seeds`): each seed's prediction in a column named
    by its run, and the seeds' averaged probabilities with the ensemble's ``predicted`` class
    (:func:`sst5.compare.ensemble_sentences`)."""
    return ensemble_sentences([Path(folder) / run for run in seeds["run"]])


def seed_ensemble(sentences: pd.DataFrame, seeds: pd.DataFrame) -> dict:
    """The seeds' ensemble against the best member (by validation, see the module) on the same test sentences
    (:func:`seed_sentences`): ``best`` (its run), ``scores`` (the ensemble's, per metric) and ``comparisons``
    (per metric, :func:`sst5.stats.compare_runs`: a paired bootstrap over the sentences, McNemar's exact p for
    accuracy)."""
    best = seeds.loc[seeds["validation_pick"].idxmax(), "run"]
    labels, predicted = sentences["label"].to_numpy(), sentences["predicted"].to_numpy()
    comparisons = {metric: compare_runs(labels, predicted, sentences[best].to_numpy(), metric) for metric in _SCORES}
    scores = {metric: comparison.difference + seeds.set_index("run").loc[best, metric]
              for metric, comparison in comparisons.items()}
    return {"best": best, "scores": scores, "comparisons": comparisons}


def _signed(points: float) -> str:
    return f"{points:+.1f}".replace("-", "−")


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None or pd.isna(seconds) else f"{seconds / 60:.0f}"


def _summary(folder: Path, seeds: pd.DataFrame) -> dict:
    """What the report and the table state of one recipe's seeds: ``intervals`` (per metric: mean, low, high),
    ``ensemble`` (:func:`seed_ensemble`), and the recipe's CPU and precision as recorded."""
    sentences = seed_sentences(folder, seeds)
    labels, predictions = sentences["label"].to_numpy(), sentences[list(seeds["run"])].to_numpy().T
    return {"intervals": {metric: seed_mean_interval(labels, predictions, metric) for metric in _SCORES},
            "ensemble": seed_ensemble(sentences, seeds),
            **{column: ", ".join(seeds[column].dropna().unique()) or "not recorded" for column in ("cpu", "precision")}}


def _in_precision(seeds: pd.DataFrame, precision: str | None) -> pd.DataFrame:
    return seeds if precision is None else seeds[seeds["precision"] == precision].reset_index(drop=True)


def _row(*cells) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def _mean_sd(seeds: pd.DataFrame, metric: str) -> str:
    return f"{100 * seeds[metric].mean():.1f} ± {100 * seeds[metric].std():.1f}"


def quality_report(folder: str | Path, target: str = TARGET) -> str:
    """Markdown: the recipe, a table of each seed, the mean ± sd with its interval, the gap to ``target``
    (a model of :data:`sst5.baselines.PUBLISHED`) and the seed ensemble against its best member.

    Raises
    ------
    ValueError
        ``folder`` holds runs of more than one recipe.
    """
    folder = Path(folder)
    seeds = collect_seeds(folder)
    recipes = seeds[["train_on", "epochs", "batch_size", "learning_rate"]].drop_duplicates()
    if len(recipes) > 1:
        raise ValueError(f"{folder} holds runs of {len(recipes)} recipes; report one recipe (one folder) at a time")
    recipe, picked = recipes.iloc[0], _SCORES.get(seeds["picked_on"].iloc[0], seeds["picked_on"].iloc[0])
    summary = _summary(folder, seeds)
    intervals, ensemble = summary["intervals"], summary["ensemble"]
    published = PUBLISHED.set_index("model").loc[target, "sentence_accuracy"]

    epochs = f"{recipe.epochs} epoch" + ("s" if recipe.epochs != 1 else "")
    rate = np.format_float_scientific(recipe.learning_rate, trim="-", exp_digits=1)  # 1e-4, not 0.0001
    lines = [f"`train_on={recipe.train_on}`, {epochs}, batch {recipe.batch_size}, learning rate {rate}, checkpoint "
             f"picked on validation-sentence {picked}; CPU: {summary['cpu']}; precision: {summary['precision']}. "
             "Test sentences, %:", "",
             _row("run", "seed", *_SCORES.values(), "epoch kept", "training min", "run min (batch wall)"),
             _row(*["---"] * 8)]
    lines += [_row(f"`{r.run}`", r.seed, *(f"{100 * getattr(r, m):.1f}" for m in _SCORES),
                   f"{r.kept_epoch} of {r.epochs}", _minutes(r.train_seconds), _minutes(r.run_seconds))
              for r in seeds.itertuples()]
    spread = [_mean_sd(seeds, m) for m in _SCORES]
    lines += [_row("**mean ± sd**", f"{len(seeds)} seeds", *(f"**{s}**" for s in spread[:2]), spread[2], "",
                   f"{_minutes(seeds['train_seconds'].median())} (median)",
                   f"{_minutes(seeds['run_seconds'].median())} (median)"),
              _row("95 % interval of the mean (seeds and sentences resampled)", "",
                   *(f"[{100 * low:.1f}, {100 * high:.1f}]" for _, low, high in intervals.values()), "", "", ""),
              _row(f"ensemble of the {len(seeds)} seeds (averaged probabilities)", "",
                   *(f"{100 * ensemble['scores'][m]:.1f}" for m in _SCORES), "", "", "")]
    mean, low, high = (100 * value for value in intervals["accuracy"])
    verdict = "met" if low >= published else "not met; the interval reaches it" if high >= published else "not met"
    comparisons = "; ".join(describe_comparison(ensemble["comparisons"][m], "ensemble", "best member")
                            for m in _SCORES)
    lines += ["", f"**Against {target}'s {published:.1f} % accuracy: {mean:.1f} % is {_signed(mean - published)} "
              f"points ({verdict}; the interval of the mean is [{low:.1f}, {high:.1f}]).** The ensemble against its "
              f"best member (`{ensemble['best']}`, best validation {picked}), on the same test sentences (paired "
              f"bootstrap over the sentences; McNemar's exact p for accuracy): {comparisons}."]
    return "\n".join(lines) + "\n"


def quality_table(recipes: Sequence[Recipe]) -> str:
    """Markdown: one row per recipe measured here, from its committed runs, then the published figures with
    their protocol (:data:`sst5.baselines.PUBLISHED`). ``recipes`` holds ``(what, folder, precision)``: a
    description with its command, the runs' folder, and the precision to keep of them (None: every run)."""
    lines = [_row("measured here (test sentences, %)", "seeds", "accuracy: mean ± sd [95 % interval]", "macro-F1",
                  "ensemble of the seeds, accuracy", "CPU; precision", "training min a run (median)"),
             _row(*["---"] * 7)]
    for what, folder, precision in recipes:
        seeds = _in_precision(collect_seeds(folder), precision)
        summary = _summary(Path(folder), seeds)
        _, low, high = summary["intervals"]["accuracy"]
        lines.append(_row(what, ", ".join(map(str, seeds["seed"])),
                          f"**{_mean_sd(seeds, 'accuracy')}** [{100 * low:.1f}, {100 * high:.1f}]",
                          _mean_sd(seeds, "macro_f1"), f"{100 * summary['ensemble']['scores']['accuracy']:.1f}",
                          f"{summary['cpu']}; {summary['precision']}", _minutes(seeds["train_seconds"].median())))
    lines += ["", _row("published (as reported)", "protocol", "accuracy"), _row(*["---"] * 3)]
    lines += [_row(r.model, r.protocol, f"{r.sentence_accuracy:.1f}") for r in PUBLISHED.itertuples()]
    return "\n".join(lines) + "\n"


def recipe_difference(recipe_a: Recipe, recipe_b: Recipe) -> str:
    """Markdown: recipe A's seeds against recipe B's on the same test sentences, one sentence per metric
    (:func:`sst5.stats.compare_runs`: the difference of the seeds' means, a two-level bootstrap interval over
    seeds and sentences, Welch's p over the seeds). Each recipe is ``(name, folder, precision)``, as in
    :func:`quality_table`: its name, the runs' folder, and the precision to keep of them (None: every run).

    Raises
    ------
    ValueError
        A run is on both sides.
    """
    (a, folder_a, precision_a), (b, folder_b, precision_b) = recipe_a, recipe_b
    seeds_a = _in_precision(collect_seeds(folder_a), precision_a)
    seeds_b = _in_precision(collect_seeds(folder_b), precision_b)
    if shared := sorted(set(seeds_a["run"]) & set(seeds_b["run"])):
        raise ValueError(f"{a} and {b} both hold {', '.join(shared)}; compare two different recipes")
    sentences = ensemble_sentences([Path(folder_a) / run for run in seeds_a["run"]] +
                                   [Path(folder_b) / run for run in seeds_b["run"]])
    labels = sentences["label"].to_numpy()
    side_a, side_b = (sentences[list(seeds["run"])].to_numpy().T for seeds in (seeds_a, seeds_b))
    return "; ".join(describe_comparison(compare_runs(labels, side_a, side_b, metric), a, b)
                     for metric in _SCORES) + "."


def _changes(params: dict, reference: dict) -> str:
    ignored = {"output_dir", "progress", "tracker"}
    changed = {k: v for k, v in params.items() if k not in ignored and reference.get(k) != v}
    return ", ".join(f"`{k}={v}`" for k, v in sorted(changed.items())) or "nothing"


def idea_report(ideas: str | Path, recipe: str | Path) -> str:
    """Markdown: each finished run in ``ideas`` against the run of ``recipe`` with the same seed, on the same
    test sentences (:func:`sst5.stats.compare_runs`: paired bootstrap, McNemar's exact p for accuracy), with what
    it changed and the recipe's seed-to-seed spread for scale (one seed a side leaves that spread out).

    Raises
    ------
    ValueError
        An idea's seed has no run in ``recipe``.
    """
    ideas, recipe = Path(ideas), Path(recipe)
    tried, reference = collect_seeds(ideas), collect_seeds(recipe).set_index("seed")
    lines = ["| what changed | seed | accuracy | macro-F1 | idea − recipe, accuracy | idea − recipe, macro-F1 |",
             "|---|---|---|---|---|---|"]
    for idea in tried.itertuples():
        if idea.seed not in reference.index:
            raise ValueError(f"idea {idea.run} has seed {idea.seed}, which {recipe} has no run of; run the recipe "
                             "with that seed first")
        base = reference.loc[idea.seed, "run"]
        sentences = ensemble_sentences([ideas / idea.run, recipe / base])
        labels = sentences["label"].to_numpy()
        differences = []
        for metric in ("accuracy", "macro_f1"):
            comparison = compare_runs(labels, sentences[idea.run].to_numpy(), sentences[base].to_numpy(), metric)
            differences.append(describe_comparison(comparison, "idea", "recipe").split(" = ", 1)[1])  # no name
        params = read_json(ideas / idea.run / METRICS_FILE)["params"]
        lines.append(f"| {_changes(params, read_json(recipe / base / METRICS_FILE)['params'])} | {idea.seed} | "
                     f"{100 * idea.accuracy:.1f} | {100 * idea.macro_f1:.1f} | {differences[0]} | {differences[1]} |")
    spread = 100 * reference["accuracy"].std()
    lines += ["", f"One seed a side: the recipe's {len(reference)} seeds spread by {spread:.1f} points of accuracy "
              "(sd), which these intervals (test sentences resampled) leave out; a difference inside about twice "
              "that spread is not evidence either way until the idea has as many seeds."]
    return "\n".join(lines) + "\n"
