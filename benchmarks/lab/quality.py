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

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sst5.analysis import load_predictions
from sst5.baselines import PUBLISHED
from sst5.calibration import calibration_summary, expected_calibration_error
from sst5.compare import EnsembleResult, ensemble_against_best, ensemble_sentences
from sst5.config import RunConfig
from sst5.runs import METRICS_FILE, PROB_COLUMNS, TIMES_FILE, collect_runs, read_json, run_details, run_scores
from sst5.stats import (
    METRIC_NAMES,
    compare_runs,
    describe_comparison,
    describe_difference,
    seed_mean_interval,
    signed_points,
)

__all__ = ["TARGET", "collect_seeds", "quality_report", "quality_table", "ensemble_search", "ensemble_report",
           "headline_table", "pair_comparisons", "pair_report", "calibration_table", "recipe_difference", "idea_report"]

#: The published figure the phrase recipe is measured against (test sentences, trained on phrases).
TARGET = "BERT-large (Munikar et al. 2019)"
#: A recipe measured here: its name (or description) and the folder of its runs (one recipe a folder).
Recipe = tuple[str, str | Path]


def collect_seeds(folder: str | Path) -> pd.DataFrame:
    """One row per finished run in ``folder`` (:func:`sst5.runs.collect_runs`), by seed: its recipe, validation and
    test sentence scores, the epoch whose checkpoint it kept, training, evaluation and batch wall seconds
    (``batch_times.json``, where the folder has one), CPU and precision.

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no finished run.
    """
    folder = Path(folder)
    runs, _ = collect_runs(folder, depth=1)
    if runs.empty:
        raise FileNotFoundError(f"no finished run in {folder}: run the batch, or publish its runs there")
    times = read_json(folder / TIMES_FILE) if (folder / TIMES_FILE).is_file() else {}
    details = run_details(runs)
    picked_on = details["metric_for_best_model"].fillna("accuracy") if "metric_for_best_model" in details else (
        pd.Series("accuracy", index=details.index))
    validation = run_scores(runs, "validation", "sentence").set_index("run")
    test = run_scores(runs, "test", "sentence").set_index("run").loc[details["run"]]
    seeds = pd.DataFrame({
        "run": details["run"], "seed": details["seed"], "train_on": details["train_on"], "epochs": details["epochs"],
        "batch_size": details["batch_size"], "learning_rate": details["learning_rate"], "picked_on": picked_on,
        "validation_pick": [validation.at[run, pick] for run, pick in zip(details["run"], picked_on, strict=True)],
        "kept_epoch": details["kept_epoch"],
        **{name: test[name].to_numpy() for name in METRIC_NAMES},
        "train_seconds": details["train_seconds"], "eval_seconds": details["eval_seconds"],
        "run_seconds": details["run"].map(times), "cpu": details["cpu"], "precision": details["precision"],
    })
    return seeds.sort_values("seed", kind="stable").reset_index(drop=True)


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None or pd.isna(seconds) else f"{seconds / 60:.0f}"


def _summary(folder: Path, seeds: pd.DataFrame) -> dict:
    """What the report and the table state of one recipe's seeds: ``intervals`` (per metric: mean, low, high;
    one seed: the test sentences resampled), ``ensemble`` (:func:`sst5.compare.ensemble_against_best`: members
    and best member chosen on validation; None for one seed), and the
    recipe's CPU and precision as recorded."""
    if len(seeds) > 1:
        ensemble = ensemble_against_best([Path(folder) / run for run in seeds["run"]],
                                         dict(zip(seeds["run"], seeds["validation_pick"], strict=True)))
        sentences = ensemble.sentences
    else:
        test = load_predictions(Path(folder) / seeds["run"].iloc[0])
        sentences = test[test["is_root"]].rename(columns={"predicted": seeds["run"].iloc[0]})
        ensemble = None
    labels, predictions = sentences["label"].to_numpy(), sentences[list(seeds["run"])].to_numpy().T
    return {"intervals": {metric: seed_mean_interval(labels, predictions, metric) for metric in METRIC_NAMES},
            "ensemble": ensemble,
            **{column: ", ".join(seeds[column].dropna().unique()) or "not recorded" for column in ("cpu", "precision")}}


def _row(*cells) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def _mean_sd(seeds: pd.DataFrame, metric: str) -> str:
    if len(seeds) == 1:
        return f"{100 * seeds[metric].iloc[0]:.1f}"
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
    recipe, picked = recipes.iloc[0], METRIC_NAMES.get(seeds["picked_on"].iloc[0], seeds["picked_on"].iloc[0])
    summary = _summary(folder, seeds)
    intervals, ensemble = summary["intervals"], summary["ensemble"]
    published = PUBLISHED.set_index("model").loc[target, "sentence_accuracy"]

    epochs = f"{recipe.epochs} epoch" + ("s" if recipe.epochs != 1 else "")
    rate = np.format_float_scientific(recipe.learning_rate, trim="-", exp_digits=1)  # 1e-4, not 0.0001
    lines = [f"`train_on={recipe.train_on}`, {epochs}, batch {recipe.batch_size}, learning rate {rate}, checkpoint "
             f"picked on validation-sentence {picked}; CPU: {summary['cpu']}; precision: {summary['precision']}. "
             "Test sentences, %:", "",
             _row("run", "seed", *METRIC_NAMES.values(), "epoch kept", "training min", "run min (batch wall)"),
             _row(*["---"] * 8)]
    lines += [_row(f"`{r.run}`", r.seed, *(f"{100 * getattr(r, m):.1f}" for m in METRIC_NAMES),
                   f"{r.kept_epoch} of {r.epochs}", _minutes(r.train_seconds), _minutes(r.run_seconds))
              for r in seeds.itertuples()]
    spread = [_mean_sd(seeds, m) for m in METRIC_NAMES]
    if ensemble is not None:
        lines.append(_row("**mean ± sd**", f"{len(seeds)} seeds", *(f"**{s}**" for s in spread[:2]), spread[2], "",
                          f"{_minutes(seeds['train_seconds'].median())} (median)",
                          f"{_minutes(seeds['run_seconds'].median())} (median)"))
    resampled = "seeds and sentences" if ensemble is not None else "sentences"
    lines.append(_row(f"95 % interval ({resampled} resampled)", "",
                      *(f"[{100 * low:.1f}, {100 * high:.1f}]" for _, low, high in intervals.values()), "", "", ""))
    if ensemble is not None:
        lines.append(_row(f"ensemble of the {len(seeds)} seeds (averaged probabilities)", "",
                          *(f"{100 * ensemble.scores[m]:.1f}" for m in METRIC_NAMES), "", "", ""))
    mean, low, high = (100 * value for value in intervals["accuracy"])
    verdict = "met" if low >= published else "not met; the interval reaches it" if high >= published else "not met"
    gap = signed_points((mean - published) / 100)
    lines += ["", f"**Against {target}'s {published:.1f} % accuracy: {mean:.1f} % is {gap} points ({verdict}; the "
              f"interval is [{low:.1f}, {high:.1f}]).**"]
    if ensemble is not None:
        comparisons = "; ".join(describe_comparison(ensemble.comparisons[m], "ensemble", "best member")
                                for m in METRIC_NAMES)
        lines[-1] += (f" The ensemble against its best member (`{ensemble.best_member}`, best validation {picked}), on "
                      "the same test sentences (paired bootstrap over the sentences; McNemar's exact p for "
                      f"accuracy): {comparisons}.")
    else:
        lines[-1] += (" One seed: its seed-to-seed spread is not measured yet (the interval holds the test set's "
                      "noise only).")
    return "\n".join(lines) + "\n"


def quality_table(recipes: Sequence[Recipe]) -> str:
    """Markdown: one row per recipe measured here, from its committed runs (with the validation score a recipe is
    chosen on, never the test's), then the published figures with their protocol (:data:`sst5.baselines.PUBLISHED`).
    ``recipes`` holds ``(what, folder)``: a description with its command, and the runs' folder."""
    lines = [_row("measured here (test sentences, %)", "seeds", "accuracy: mean ± sd [95 % interval]", "macro-F1",
                  "ensemble of the seeds, accuracy", "validation, mean (what picks a recipe)", "CPU; precision",
                  "training min a run (median)"),
             _row(*["---"] * 8)]
    for what, folder in recipes:
        seeds = collect_seeds(folder)
        summary = _summary(Path(folder), seeds)
        _, low, high = summary["intervals"]["accuracy"]
        ensemble = summary["ensemble"]
        ensemble_accuracy = "–" if ensemble is None else f"{100 * ensemble.scores['accuracy']:.1f}"
        lines.append(_row(what, ", ".join(map(str, seeds["seed"])),
                          f"**{_mean_sd(seeds, 'accuracy')}** [{100 * low:.1f}, {100 * high:.1f}]",
                          _mean_sd(seeds, "macro_f1"), ensemble_accuracy, validation_score(seeds),
                          f"{summary['cpu']}; {summary['precision']}", _minutes(seeds["train_seconds"].median())))
    lines += ["", _row("published (as reported)", "protocol", "accuracy"), _row(*["---"] * 3)]
    lines += [_row(r.model, r.protocol, f"{r.sentence_accuracy:.1f}") for r in PUBLISHED.itertuples()]
    return "\n".join(lines) + "\n"


def validation_score(seeds: pd.DataFrame) -> str:
    """The seeds' (:func:`collect_seeds`) mean validation score on the metric their checkpoints were picked on,
    what a recipe is chosen on: ``"52.4 (macro-F1)"``."""
    metrics = ", ".join(METRIC_NAMES.get(metric, metric) for metric in seeds["picked_on"].unique())
    return f"{100 * seeds['validation_pick'].mean():.1f} ({metrics})"


def recipe_difference(recipe_a: Recipe, recipe_b: Recipe) -> str:
    """Markdown: recipe A's seeds against recipe B's on the same test sentences, one sentence per metric
    (:func:`sst5.stats.compare_runs`: the difference of the seeds' means, a two-level bootstrap interval over
    seeds and sentences, Welch's p over the seeds). Each recipe is ``(name, folder)``, as in
    :func:`quality_table`.

    Raises
    ------
    ValueError
        A run is on both sides.
    """
    (a, folder_a), (b, folder_b) = recipe_a, recipe_b
    seeds_a, seeds_b = collect_seeds(folder_a), collect_seeds(folder_b)
    if shared := sorted(set(seeds_a["run"]) & set(seeds_b["run"])):
        raise ValueError(f"{a} and {b} both hold {', '.join(shared)}; compare two different recipes")
    sentences = ensemble_sentences([Path(folder_a) / run for run in seeds_a["run"]] +
                                   [Path(folder_b) / run for run in seeds_b["run"]])
    labels = sentences["label"].to_numpy()
    side_a, side_b = (sentences[list(seeds["run"])].to_numpy().T for seeds in (seeds_a, seeds_b))
    return "; ".join(describe_comparison(compare_runs(labels, side_a, side_b, metric), a, b)
                     for metric in METRIC_NAMES) + "."


def _changes(params: dict, reference: dict) -> str:
    """The parameters ``params`` sets otherwise than ``reference`` (one a parameter added since takes its default)."""
    ignored = {"output_dir", "progress", "tracker"} | ({"split_file"} if params.get("split") != "custom" else set())
    defaults = {field.name: field.default for field in dataclasses.fields(RunConfig)}
    changed = {k: v for k, v in params.items() if k not in ignored and reference.get(k, defaults.get(k)) != v}
    return ", ".join(f"`{k}={v}`" for k, v in sorted(changed.items())) or "nothing"


def idea_report(ideas: str | Path, recipe: str | Path, also: Sequence[tuple[str | Path, int]] = ()) -> str:
    """Markdown: each finished run in ``ideas`` against the run of ``recipe`` with the same seed, on the same
    test sentences (:func:`sst5.stats.compare_runs`: paired bootstrap, McNemar's exact p for accuracy), with what
    it changed and the recipe's seed-to-seed spread for scale (one seed a side leaves that spread out).
    ``also`` adds (folder, seed) runs of the screen that are committed with their other seeds elsewhere.

    Raises
    ------
    ValueError
        An idea's seed has no run in ``recipe``.
    """
    ideas, recipe = Path(ideas), Path(recipe)
    reference = collect_seeds(recipe).set_index("seed")
    tried = pd.concat([collect_seeds(ideas).assign(folder=ideas)] + [
        collect_seeds(folder).loc[lambda runs, seed=seed: runs["seed"] == seed].assign(folder=Path(folder))
        for folder, seed in also],
        ignore_index=True)
    lines = ["| what changed | seed | accuracy | macro-F1 | idea − recipe, accuracy | idea − recipe, macro-F1 "
             "| validation, idea vs recipe |", "|---|---|---|---|---|---|---|"]
    for idea in tried.itertuples():
        if idea.seed not in reference.index:
            raise ValueError(f"idea {idea.run} has seed {idea.seed}, which {recipe} has no run of; run the recipe "
                             "with that seed first")
        base = reference.loc[idea.seed, "run"]
        sentences = ensemble_sentences([idea.folder / idea.run, recipe / base])
        labels = sentences["label"].to_numpy()
        differences = []
        for metric in ("accuracy", "macro_f1"):
            comparison = compare_runs(labels, sentences[idea.run].to_numpy(), sentences[base].to_numpy(), metric)
            differences.append(describe_difference(comparison))
        params = read_json(idea.folder / idea.run / METRICS_FILE)["params"]
        validation = (f"{100 * idea.validation_pick:.1f} vs {100 * reference.loc[idea.seed, 'validation_pick']:.1f} "
                      f"({METRIC_NAMES.get(idea.picked_on, idea.picked_on)})")
        lines.append(f"| {_changes(params, read_json(recipe / base / METRICS_FILE)['params'])} | {idea.seed} | "
                     f"{100 * idea.accuracy:.1f} | {100 * idea.macro_f1:.1f} | {differences[0]} | {differences[1]} | "
                     f"{validation} |")
    spread = 100 * reference["accuracy"].std()
    lines += ["", f"One seed a side: the recipe's {len(reference)} seeds spread by {spread:.1f} points of accuracy "
              "(sd), which these intervals (test sentences resampled) leave out; a difference inside about twice "
              "that spread is not evidence either way until the idea has as many seeds. An idea is taken further on "
              "its validation score (the metric its checkpoint was picked on), never on the test columns."]
    return "\n".join(lines) + "\n"


def headline_table(recipes: Sequence[Recipe], baselines: pd.DataFrame | None = None) -> str:
    """Markdown for the course's front page: the TF-IDF baseline (``baselines``: rows of
    :func:`sst5.baselines.evaluate_baselines`), each recipe's test-sentence accuracy and macro-F1 over its seeds
    (mean ± sd where several), then the published figures."""
    lines = [_row("model, recipe", "seeds", "accuracy %", "macro-F1 %", "training a run"), _row(*["---"] * 5)]
    if baselines is not None:
        tfidf = baselines.set_index(["baseline", "level"]).loc[("TF-IDF + logistic regression", "sentence")]
        lines.append(_row("TF-IDF + logistic regression (notebook 01)", "–", f"{tfidf.accuracy:.1f}",
                          f"{tfidf.macro_f1:.1f}", "–"))
    for what, folder in recipes:
        seeds = collect_seeds(folder)
        lines.append(_row(what, len(seeds), f"**{_mean_sd(seeds, 'accuracy')}**", _mean_sd(seeds, "macro_f1"),
                          f"{_minutes(seeds['train_seconds'].median())} min on a 2-core CPU"))
    lines += [_row(f"{r.model}, published", "–", f"{r.sentence_accuracy:.1f}", "–", "–")
              for r in PUBLISHED.itertuples() if r.sentence_accuracy > 50]
    return "\n".join(lines) + "\n"


def pair_comparisons(run_a: str | Path, run_b: str | Path) -> dict:
    """Two runs on the same test sentences: A − B per metric with a paired interval (:func:`sst5.stats.compare_runs`:
    bootstrap over the sentences, McNemar's exact p for accuracy)."""
    sentences = ensemble_sentences([run_a, run_b])
    labels = sentences["label"].to_numpy()
    a, b = (sentences[Path(run).name].to_numpy() for run in (run_a, run_b))
    return {metric: compare_runs(labels, a, b, metric) for metric in METRIC_NAMES}


def pair_report(name_a: str, run_a: str | Path, name_b: str, run_b: str | Path) -> str:
    """Markdown: two runs' test-sentence scores and A − B per metric (:func:`pair_comparisons`)."""
    comparisons = pair_comparisons(run_a, run_b)
    lines = [_row("test sentences, %", *METRIC_NAMES.values()), _row(*["---"] * (len(METRIC_NAMES) + 1))]
    for name, run in ((name_a, run_a), (name_b, run_b)):
        test = read_json(Path(run) / METRICS_FILE)["test"]["sentence"]
        lines.append(_row(f"{name} (`{Path(run).name}`)", *(f"{100 * test[m]:.1f}" for m in METRIC_NAMES)))
    lines += ["", "; ".join(describe_comparison(comparisons[m], name_a, name_b) for m in METRIC_NAMES) + "."]
    return "\n".join(lines) + "\n"


def calibration_table(recipes: Sequence[tuple[str, str | Path]]) -> str:
    """Markdown: for each ``(name, folder)``, each finished run's test-sentence ECE and negative log-likelihood
    before and after temperature scaling fitted on its validation sentences (:mod:`sst5.calibration`), and for
    several runs their ensemble's, averaging raw or scaled probabilities. Runs published without validation
    predictions are left out (no temperature can be fitted)."""
    lines = [_row("test sentences", "runs", "temperature", "ECE before → after, %", "NLL before → after"),
             _row(*["---"] * 5)]
    for name, folder in recipes:
        runs, summaries = [], []
        for run in (Path(folder) / name for name in collect_seeds(folder)["run"]):
            table = load_predictions(run, split=None)
            sentences = {split: table[(table["split"] == split) & table["is_root"]] for split in ("validation", "test")}
            if sentences["validation"].empty:  # published before validation predictions were kept
                continue
            runs.append(run)
            summaries.append(calibration_summary(sentences["validation"], sentences["test"]))
        if not summaries:
            continue
        mean = {key: np.mean([s[key] for s in summaries]) for key in summaries[0]}
        lines.append(_row(name, len(runs), f"{mean['temperature']:.2f}",
                          f"{100 * mean['ece_before']:.1f} → {100 * mean['ece_after']:.1f}",
                          f"{mean['nll_before']:.3f} → {mean['nll_after']:.3f}"))
        if len(runs) > 1:
            raw = ensemble_sentences(runs, calibrated=False)
            calibrated = ensemble_sentences(runs)
            labels = calibrated["label"].to_numpy()
            lines.append(_row(f"{name}: ensemble of the {len(runs)}", len(runs), "each run's",
                              f"{100 * expected_calibration_error(labels, raw[PROB_COLUMNS].to_numpy()):.1f} → "
                              f"{100 * expected_calibration_error(labels, calibrated[PROB_COLUMNS].to_numpy()):.1f}",
                              "–"))
    return "\n".join(lines) + "\n"


def _validation_accuracy(runs: Sequence[Path]) -> float:
    """Validation-sentence accuracy of one run, or of the runs' ensemble (averaged calibrated probabilities)."""
    if len(runs) == 1:
        table = load_predictions(runs[0], split="validation")
        sentences = table[table["is_root"]]
    else:
        sentences = ensemble_sentences(runs, split="validation")
    return float((sentences["label"] == sentences["predicted"]).mean())


def ensemble_search(root: str | Path) -> tuple[pd.DataFrame, EnsembleResult | None]:
    """The best ensemble of the finished runs under ``root``, chosen on validation only: greedy forward selection
    (Caruana et al. 2004) over the runs that kept their validation predictions, starting from the best single run
    and adding, each step, the run that most raises the ensemble's validation-sentence accuracy, until none does.
    The result is then judged once on test against its best member (:func:`sst5.compare.ensemble_against_best`).

    Returns
    -------
    steps : pandas.DataFrame
        ``added`` (run), ``validation_accuracy`` of the ensemble so far, one row a step.
    result : EnsembleResult or None
        The chosen ensemble against its best member; None when no run raised the best one's validation accuracy.
    """
    root = Path(root)
    runs, _ = collect_runs(root)
    candidates = []
    for run in run_details(runs)["run"]:
        table = load_predictions(root / run, split=None)
        if (table[table["split"] == "validation"]["is_root"]).any():  # kept its validation predictions
            candidates.append(root / run)
    alone = {run: _validation_accuracy([run]) for run in candidates}
    chosen = [max(candidates, key=alone.get)]
    steps = [(chosen[0], alone[chosen[0]])]
    while remaining := [run for run in candidates if run not in chosen]:
        score, run = max((_validation_accuracy([*chosen, run]), run) for run in remaining)
        if score <= steps[-1][1]:
            break
        chosen.append(run)
        steps.append((run, score))
    table = pd.DataFrame([(run.relative_to(root).as_posix(), score) for run, score in steps],
                         columns=["added", "validation_accuracy"])
    if len(chosen) < 2:
        return table, None
    return table, ensemble_against_best(chosen, {run.name: alone[run] for run in chosen})


def ensemble_report(root: str | Path, goal: float = 0.58) -> str:
    """Markdown: the steps of :func:`ensemble_search`, then the chosen ensemble's test-sentence accuracy against
    ``goal`` and against its best member, with the paired interval."""
    steps, result = ensemble_search(root)
    lines = [_row("step", "run added (chosen on validation)", "ensemble's validation accuracy %"),
             _row("---", "---", "---")]
    lines += [_row(i + 1, f"`{step.added}`", f"{100 * step.validation_accuracy:.1f}")
              for i, step in enumerate(steps.itertuples())]
    if result is None:
        return "\n".join(lines) + ("\n\nNo run raised the best single run's validation accuracy: the best ensemble "
                                   "is that run.\n")
    accuracy = result.scores["accuracy"]
    lines += ["", f"The ensemble of these {len(result.members)} runs (averaged probabilities, each at its fitted "
              f"temperature) scores **{100 * accuracy:.1f} %** on the test sentences against the goal of "
              f"{100 * goal:.1f} % ({'met' if accuracy >= goal else 'not met'}); against its best member "
              f"(`{result.best_member}`, best on validation), on the same sentences: "
              f"{describe_comparison(result.comparisons['accuracy'], 'ensemble', 'best member')}."]
    return "\n".join(lines) + "\n"
