import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sst5.batch import plan_runs
from sst5.metrics import classification_metrics
from sst5.study import (
    SCHEDULES,
    STUDY_PARAMETERS,
    load_study,
    schedule_confusions,
    schedule_statistics,
    study_answer,
    study_entries,
    study_report,
    study_summary,
)

ROOT = Path(__file__).resolve().parents[1]


def test_study_entries_are_runs_notebook_03_accepts():
    entries = study_entries("minilm", seeds=(42, 1, 2))
    specs = plan_runs(entries, {**STUDY_PARAMETERS, "samples_per_epoch": 4000}, profile="cpu")
    assert len({spec.name for spec in specs}) == 9
    planned = {(spec.params["schedule"], spec.params["epochs"], spec.params["seed"]) for spec in specs}
    assert planned == {(s, e, seed) for s, e in SCHEDULES.items() for seed in (42, 1, 2)}
    assert all(spec.params["train_on"] == "distinct_phrases" for spec in specs)


def _constructed_study():
    """Schedule "good" is right on every row for both seeds; "half" only on the first half of the rows."""
    labels = np.tile(np.arange(5), 40)
    half = labels.copy()
    half[100:] = (labels[100:] + 1) % 5  # wrong by one class (4 → 0 is four classes away)
    runs, predictions = [], {}
    for schedule, predicted in (("good", labels), ("half", half)):
        for seed in (1, 2):
            key = f"{schedule}-seed{seed}"
            scores = classification_metrics(labels, predicted)
            runs.append({"run": key, "schedule": schedule, "seed": seed, "split": "test", "level": "sentence",
                         **{metric: scores[metric] for metric in ("accuracy", "macro_f1", "neighbour_rate")}})
            predictions[key] = pd.DataFrame({"label": labels, "predicted": predicted})
    return pd.DataFrame(runs), predictions


def test_schedule_statistics_on_a_known_difference():
    runs, predictions = _constructed_study()
    statistics = schedule_statistics(runs, predictions, n_resamples=2000).set_index("metric")
    accuracy = statistics.loc["accuracy"]
    assert (accuracy["a"], accuracy["b"], accuracy["seeds_a"]) == ("good", "half", 2)
    assert accuracy["difference"] == pytest.approx(0.5)
    assert 0.4 < accuracy["low"] < 0.5 < accuracy["high"] < 0.6
    assert accuracy["statement"].startswith("accuracy: good − half = +50.0 points")
    assert accuracy["statement"].endswith(": significant at 5 %") and accuracy["significant"]
    assert accuracy["method"] == "two-level bootstrap over seeds and sentences" and accuracy["p_value"] == 0
    assert np.isnan(statistics.loc["neighbour_rate", "difference"])  # "good" makes no error at all


def test_schedule_confusions_sum_the_seeds():
    runs, predictions = _constructed_study()
    matrices = schedule_confusions(runs, predictions)
    assert list(matrices) == ["good", "half"]
    assert np.array_equal(matrices["good"], np.diag([80] * 5))  # 2 seeds x 40 rows per class
    assert matrices["half"].sum() == 400 and np.trace(matrices["half"]) == 200
    assert matrices["half"][4, 0] == 40  # 4 → 0 for the second half, both seeds


@pytest.mark.slow
def test_study_command_runs_resumes_and_writes_results_that_load(tmp_path, sst_source):
    """The benchmark command end to end on the smoke profile (one seed, 40 phrases per epoch), then again."""
    command = [sys.executable, str(ROOT / "benchmarks" / "schedule_study.py"), "--model", "tiny-bert",
               "--profile", "smoke", "--seeds", "7", "--samples-per-epoch", "40", "--param", "max_sentences=60",
               "--out", "batch", "--results", "results", "--data", sst_source]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "3 of 3 runs complete" in first.stdout
    study = load_study(tmp_path / "results")
    assert set(study.runs["schedule"]) == set(SCHEDULES)
    assert len(study.runs) == 3 * 3  # validation sentences; test sentences and phrases (validation phrases: not scored)
    assert set(study.runs["samples_per_epoch"]) == {40}
    assert len(study.statistics) == 3 * 3  # three pairs of schedules x three metrics
    for table in study.predictions.values():
        assert len(table) == 60 and {"label", "predicted", "prob_4"} <= set(table.columns)
    assert set(study.metrics) == set(study.predictions)
    for key, record in study.metrics.items():  # the whole record, consistent with the runs table
        row = study.rows().set_index("run").loc[key]
        assert record["test"]["sentence"]["accuracy"] == pytest.approx(row["accuracy"], abs=1e-5)
    assert study.about["runs_complete"] == 3 and study.about["parameters"]["train_on"] == "distinct_phrases"
    assert study.rows()["run"].tolist() == list(study.predictions)
    assert set(study.rows(split="test", level="phrase")[["split", "level"]].itertuples(index=False)) == {
        ("test", "phrase")}
    assert study.rows(split="validation", level="phrase").empty  # scored only when asked for
    summary = study_summary(study.runs)
    assert list(summary.index) == list(SCHEDULES) and set(summary["seeds"]) == {1}
    assert set(summary["meets ≥ 50 % precision"]) <= {"0 of 1", "1 of 1"}
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and again.stdout.count("skipped (complete)") == 3


def test_load_study_names_the_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="schedule_study.py"):
        load_study(tmp_path)


def test_the_committed_study_loads_from_the_package():
    """Notebook 03 reads the study shipped as package data: per run one test-sentence row, its prediction table
    (2,210 sentences) and its metrics record; at least three seeds per schedule; statistics for every pair."""
    study = load_study()
    test = study.rows()
    assert sorted(test["run"]) == sorted(study.predictions) == sorted(study.metrics)
    assert test.groupby("schedule")["seed"].nunique().reindex(list(SCHEDULES)).min() >= 3
    assert all(len(table) == 2210 for table in study.predictions.values())
    assert len(study.statistics) == 3 * 3


def test_the_answer_in_words_is_written_from_the_results():
    """Notebook 03 and the README state the study's answer from statistics.csv, never typed by hand."""
    study = load_study()
    answer = study_answer(study)
    significant = study.statistics[study.statistics["significant"]]
    if significant.empty:
        assert "no difference between the schedules is established" in answer
        largest = study.statistics.loc[study.statistics["difference"].abs().idxmax()]
        assert f"about {int(largest['seeds_needed'])} seeds a schedule" in answer
    else:
        assert all(statement in answer for statement in significant["statement"])
    assert answer in study_report(study)
    flipped = study.statistics.assign(significant=True)
    assert "established:" in study_answer(dataclasses.replace(study, statistics=flipped))
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
