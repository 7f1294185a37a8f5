"""The seed report on real runs: the committed bf16 reference runs (cpu profile, seeds 42, 1 and 2)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lab.quality import (
    collect_seeds,
    ensemble_search,
    idea_report,
    quality_report,
    quality_table,
    recipe_difference,
)

from sst5.baselines import PUBLISHED
from sst5.compare import ensemble_against_best
from sst5.models import read_model_list
from sst5.runs import PROB_COLUMNS, TIMES_FILE, collect_runs, reference_runs_dir, write_json

ROOT = Path(__file__).resolve().parents[1]
#: The cpu profile's seeds, committed once in bf16 and once in float32.
PRECISION_FOLDERS = {"bf16": reference_runs_dir() / "cpu_profile",
                     "float32": reference_runs_dir() / "cpu_profile_float32"}


def _records(precision):
    for folder in sorted(PRECISION_FOLDERS[precision].iterdir()):
        record = json.loads((folder / "metrics.json").read_text())
        if record["provenance"]["precision"]["used"] == precision:
            yield folder, record


@pytest.fixture(scope="module")
def bf16_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bf16")
    for run, _ in _records("bf16"):
        shutil.copytree(run, folder / run.name)
    write_json(folder / TIMES_FILE, {run.name: 300.0 + i for i, (run, _) in enumerate(_records("bf16"))})
    return folder


def test_each_seed_as_recorded(bf16_runs):
    seeds = collect_seeds(bf16_runs)
    records = {run.name: record for run, record in _records("bf16")}
    assert seeds["seed"].tolist() == [1, 2, 42]
    for row in seeds.itertuples():
        record = records[row.run]
        assert row.accuracy == record["test"]["sentence"]["accuracy"]
        assert row.validation_pick == record["validation"]["sentence"][record["params"]["metric_for_best_model"]]
        assert row.precision == "bf16" and "Xeon" in row.cpu and row.run_seconds >= 300
        scored = [entry for entry in record["history"] if "macro_f1" in entry]
        assert row.kept_epoch == max(scored, key=lambda entry: entry["macro_f1"])["epoch"]


def test_the_ensemble_averages_probabilities_and_its_best_member_is_picked_on_validation(bf16_runs):
    seeds = collect_seeds(bf16_runs)
    result = ensemble_against_best([bf16_runs / run for run in seeds["run"]],
                                   dict(zip(seeds["run"], seeds["validation_pick"], strict=True)))
    sentences = result.sentences
    tables = [pd.read_parquet(bf16_runs / run / "predictions.parquet").query("is_root") for run in seeds["run"]]
    average = np.mean([t[PROB_COLUMNS].to_numpy() for t in tables], axis=0)
    labels = tables[0]["label"].to_numpy()
    assert len(sentences) == 2210 and np.array_equal(sentences["predicted"], average.argmax(1))
    assert result.best_member == seeds.loc[seeds["validation_pick"].idxmax(), "run"]  # not the best on test
    assert result.scores["accuracy"] == pytest.approx(np.mean(average.argmax(1) == labels))
    comparison = result.comparisons["accuracy"]
    best = seeds.set_index("run").loc[result.best_member, "accuracy"]
    assert comparison.difference == pytest.approx(result.scores["accuracy"] - best)
    assert comparison.low < comparison.difference < comparison.high and comparison.p_value is not None


def test_the_report_states_mean_interval_gap_and_ensemble(bf16_runs):
    seeds = collect_seeds(bf16_runs)
    report = quality_report(bf16_runs)
    mean, sd = 100 * seeds["accuracy"].mean(), 100 * seeds["accuracy"].std()
    assert f"**{mean:.1f} ± {sd:.1f}**" in report
    assert f"55.5 % accuracy: {mean:.1f} % is −{55.5 - mean:.1f} points (not met" in report
    assert "ensemble of the 3 seeds" in report and "ensemble − best member" in report
    assert all(f"`{run}`" in report for run in seeds["run"]) and "Xeon" in report


def test_one_recipe_per_report_and_an_empty_folder_is_named(bf16_runs, tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        collect_seeds(tmp_path)
    mixed = tmp_path / "mixed"
    shutil.copytree(bf16_runs, mixed)
    other = next(mixed.iterdir())
    record = json.loads((other / "metrics.json").read_text())
    record["params"]["epochs"] = 5
    write_json(other / "metrics.json", record)
    with pytest.raises(ValueError, match="2 recipes"):
        quality_report(mixed)


def test_an_idea_is_compared_with_the_recipe_run_of_its_seed(bf16_runs, tmp_path):
    # The float32 runs as "the recipe", bf16 seed 42 as "the idea": they differ by mixed_precision only.
    recipe, idea = tmp_path / "recipe", tmp_path / "idea"
    for run, _ in _records("float32"):
        shutil.copytree(run, recipe / run.name)
    seed42 = next(run for run in bf16_runs.iterdir() if "seed42" in run.name)
    shutil.copytree(seed42, idea / seed42.name)
    report = idea_report(idea, recipe)
    ideas, recipes = collect_seeds(idea), collect_seeds(recipe).set_index("seed")
    difference = 100 * (ideas["accuracy"].iloc[0] - recipes.loc[42, "accuracy"])
    assert "| `mixed_precision=True` | 42 |" in report
    assert f"{difference:+.1f} points".replace("-", "−") in report and "p = " in report
    assert f"spread by {100 * recipes['accuracy'].std():.1f} points" in report
    # The score an idea is taken further on: validation, on the metric that picked its checkpoint.
    pick = f"{100 * ideas['validation_pick'].iloc[0]:.1f} vs {100 * recipes.loc[42, 'validation_pick']:.1f}"
    assert f"| {pick} (macro-F1) |" in report
    # A screened run committed with its other seeds elsewhere joins the table from there, that seed only.
    with_also = idea_report(idea, recipe, also=[(bf16_runs, 1)])
    assert "| `mixed_precision=True` | 1 |" in with_also and with_also.count("`mixed_precision=True`") == 2
    shutil.rmtree(recipe / recipes.loc[42, "run"])
    with pytest.raises(ValueError, match="seed 42"):
        idea_report(idea, recipe)


def test_the_quality_table_keeps_a_precision_and_lists_the_literature_with_its_protocol():
    table = quality_table([("sentences, bf16", PRECISION_FOLDERS["bf16"]),
                           ("sentences, float32", PRECISION_FOLDERS["float32"])])
    for precision in ("bf16", "float32"):
        accuracy = [record["test"]["sentence"]["accuracy"] for _, record in _records(precision)]
        row = next(line for line in table.splitlines() if line.startswith(f"| sentences, {precision} |"))
        assert f"**{100 * np.mean(accuracy):.1f} ± {100 * np.std(accuracy, ddof=1):.1f}**" in row
        assert row.count("; " + precision) == 1 and "| 1, 2, 42 |" in row
        picked = collect_seeds(PRECISION_FOLDERS[precision])["validation_pick"].mean()
        assert f"| {100 * picked:.1f} (macro-F1) |" in row  # what a recipe is chosen on: validation
    assert all(f"| {model} | {protocol} |" in table for model, protocol in PUBLISHED[["model", "protocol"]].values)


def test_two_recipes_are_compared_over_their_seeds_on_the_same_sentences(bf16_runs):
    bf16, float32 = ("bf16", PRECISION_FOLDERS["bf16"]), ("float32", PRECISION_FOLDERS["float32"])
    statement = recipe_difference(bf16, float32)
    accuracy = {p: np.mean([r["test"]["sentence"]["accuracy"] for _, r in _records(p)]) for p in ("bf16", "float32")}
    difference = f"{100 * (accuracy['bf16'] - accuracy['float32']):+.1f}".replace("-", "−")
    assert statement.startswith(f"accuracy: bf16 − float32 = {difference} points [")
    assert "macro-F1: bf16 − float32" in statement and statement.count("p = ") == 3
    assert recipe_difference(("bf16", bf16_runs), float32) == statement  # the same runs, from their own folder
    with pytest.raises(ValueError, match="both hold"):
        recipe_difference(bf16, ("bf16 again", bf16_runs))


def test_the_ensemble_search_chooses_on_validation_and_judges_once_on_test():
    """Each step raises the ensemble's validation accuracy; the start is the best single run on validation; the
    test sentences only judge the final ensemble against that best member."""
    root = reference_runs_dir()
    steps, result = ensemble_search(root)
    assert steps["validation_accuracy"].is_monotonic_increasing and steps["validation_accuracy"].is_unique
    validation = {}
    for run in collect_runs(root)[0].query("split == 'validation' and level == 'sentence' and metric == 'accuracy'") \
            .itertuples():
        table = pd.read_parquet(root / run.run / "predictions.parquet")
        if (table[table["split"] == "validation"]["is_root"]).any():
            validation[run.run] = run.value
    assert steps["added"].iloc[0] == max(validation, key=validation.get)
    assert set(steps["added"]) <= set(validation)  # only runs whose validation predictions were kept
    if result is not None:
        assert result.best_member == steps["added"].iloc[0].rsplit("/", 1)[1]
        assert result.members == [added.rsplit("/", 1)[1] for added in steps["added"]]


def test_the_shipped_distillation_list_is_the_recipe_validation_picks():
    """Defaults follow the evidence, read where the protocol reads it: of the distillation recipes measured over
    three seeds (each committed folder ran the benchmark list of its name), cpu-distill ships the one with the
    highest mean validation score, whatever the test columns say."""
    folders = [reference_runs_dir() / name for name in ("distillation", "distillation_soft")]
    picked = max(folders, key=lambda folder: collect_seeds(folder)["validation_pick"].mean())
    assert all(len(collect_seeds(folder)) == 3 for folder in folders)
    assert read_model_list("cpu-distill") == read_model_list(ROOT / "benchmarks" / f"{picked.name}.txt")
