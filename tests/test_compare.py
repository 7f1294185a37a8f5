"""Leaderboard, model chooser and ensembles on hand-made run folders."""

import json

import numpy as np
import pandas as pd
import pytest

from sst5.analysis import accuracy_by_length, class_leaks, confident_mistakes
from sst5.compare import choose_model, ensemble_against_best, ensemble_top, export_leaderboard, leaderboard
from sst5.metrics import classification_metrics
from sst5.runs import SCORE_COLUMNS, collect_runs, run_details, run_scores, write_json
from sst5.study import collect_study

LABELS = np.array([0, 1, 2, 3, 4] * 4)


def _make_run(folder, predicted, schedule="random", texts=None, probability=0.9):
    folder.mkdir(parents=True)
    n = len(LABELS)
    probs = np.full((n, 5), (1 - probability) / 4)
    probs[np.arange(n), predicted] = probability
    rows = pd.DataFrame({"split": "test", "sentence_id": np.arange(n), "text": texts or [f"s{i}" for i in range(n)],
                         "n_tokens": np.arange(n) + 1, "is_root": True, "label": LABELS, "predicted": predicted,
                         **{f"prob_{i}": probs[:, i] for i in range(5)}})
    validation = rows.assign(split="validation")
    pd.concat([validation, rows]).to_parquet(folder / "predictions.parquet")
    scores = classification_metrics(LABELS, predicted)
    write_json(folder / "metrics.json", {"status": "complete", "params": {"model_name": folder.name,
               "schedule": schedule, "seed": 1, "epochs": 1}, "train_seconds": 1.0,
               "validation": {"sentence": scores, "phrase": scores}, "test": {"sentence": scores, "phrase": scores}})


@pytest.fixture
def runs(tmp_path):
    perfect = LABELS.copy()
    off_by_one = np.clip(LABELS + 1, 0, 4)
    mostly = LABELS.copy()
    mostly[:5] = [1, 2, 3, 4, 3]
    _make_run(tmp_path / "perfect", perfect)
    _make_run(tmp_path / "neighbour", off_by_one, "stratified:1")
    _make_run(tmp_path / "mostly", mostly, probability=0.6)
    write_json(tmp_path / "crashed" / "identity.json", {})  # the batch's record of a run that never trained
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "metrics.json").write_text("{not json")
    write_json(tmp_path / "failures.json", {"bad-model": {"error": "OSError: no such model", "cell": 7}})
    return tmp_path


def test_leaderboard_lists_complete_runs_and_problems(runs):
    board, problems = leaderboard(runs)
    assert list(board["run"]) == ["perfect", "mostly", "neighbour"]
    assert board.loc[0, "test_sentence_accuracy"] == 1.0
    assert dict(zip(problems["run"], problems["reason"], strict=True)).keys() == {"crashed", "garbled", "bad-model"}
    assert "no such model" in problems.set_index("run").loc["bad-model", "reason"]
    csv, markdown = export_leaderboard(board, runs, ["run", "test_sentence_accuracy"])
    assert pd.read_csv(csv)["run"].tolist() == list(board["run"])
    assert markdown.read_text().splitlines()[2] == "| perfect | 1.000 |"


def test_one_table_of_runs_that_the_leaderboard_and_the_study_pivot(runs):
    """collect_runs reads each finished run once, in long format; one rule says which runs count (trained or
    complete), so the leaderboard and the study see the same runs and the same scores."""
    _make_run(runs / "only-trained", LABELS)
    for seed, run in enumerate(("perfect", "mostly", "neighbour", "only-trained")):  # a study's runs: one a seed
        metrics = json.loads((runs / run / "metrics.json").read_text())
        metrics["params"]["seed"] = seed
        state = "trained" if run == "only-trained" else "complete"
        write_json(runs / run / "metrics.json", {**metrics, "status": state})
    table, problems = collect_runs(runs)
    assert list(table.columns[:5]) == ["run", "model_name", "schedule", "seed", "epochs"]
    assert list(table.columns[-4:]) == SCORE_COLUMNS
    assert set(table["run"]) == {"perfect", "mostly", "neighbour", "only-trained"}
    assert set(problems["run"]) == {"crashed", "garbled", "bad-model"}
    assert dict(zip(run_details(table)["run"], run_details(table)["state"], strict=True))["only-trained"] == "trained"
    board, _ = leaderboard(runs)
    study_runs, predictions, _ = collect_study(runs)
    assert set(board["run"]) == set(study_runs["folder"]) == set(table["run"])
    accuracy = run_scores(table, "test", "sentence").set_index("run")["accuracy"]
    assert board.set_index("run")["test_sentence_accuracy"].to_dict() == accuracy.to_dict()
    tested = study_runs[(study_runs["split"] == "test") & (study_runs["level"] == "sentence")]
    assert tested.set_index("folder")["accuracy"].to_dict() == accuracy.to_dict()


def test_choose_model_respects_the_precision_floor(runs):
    board, _ = leaderboard(runs)
    assert choose_model(board, 0.9, "accuracy")["run"].tolist() == ["perfect"]
    assert choose_model(board, 0.0, "mean_abs_distance")["run"].iloc[0] == "perfect"
    assert choose_model(board, 1.01).empty
    with pytest.raises(ValueError, match="objective"):
        choose_model(board, 0.0, "speed")


def test_ensemble_averages_and_checks_rows(runs, tmp_path_factory):
    # the best member is the best on validation, even where another run is better on test
    result = ensemble_against_best([runs / "perfect", runs / "mostly"], {"perfect": 0.5, "mostly": 0.6})
    assert result.best_member == "mostly" and result.members == ["perfect", "mostly"]
    assert result.scores["accuracy"] == 1.0  # where they disagree, the surer (perfect) run outweighs the other
    assert result.comparisons["accuracy"].difference == pytest.approx(1.0 - 0.75)
    assert list(result.sentences["predicted"]) == list(LABELS)
    with pytest.raises(ValueError, match="no validation score for mostly"):
        ensemble_against_best([runs / "perfect", runs / "mostly"], {"perfect": 0.5})
    other = tmp_path_factory.mktemp("other")
    _make_run(other / "other-data", LABELS, texts=[f"x{i}" for i in range(len(LABELS))])
    with pytest.raises(ValueError, match="different test rows"):
        ensemble_against_best([runs / "perfect", other / "other-data"], {"perfect": 1, "other-data": 1})
    with pytest.raises(ValueError, match="at least two"):
        ensemble_against_best([runs / "perfect"], {"perfect": 1})
    board, _ = leaderboard(runs)
    table, result, left_out = ensemble_top(board, runs, k=2)
    assert list(table.index)[:3] == ["perfect", "mostly", "ensemble"] and left_out.empty
    assert table.index[3].startswith("ensemble − best member (perfect, best on validation)")
    assert result.best_member == "perfect" and "[" in table.iloc[3, 0]


def test_ensemble_leaves_out_runs_scored_on_other_rows(runs):
    better = LABELS.copy()
    better[:2] = [1, 2]
    _make_run(runs / "other-subset", better, texts=[f"x{i}" for i in range(len(LABELS))])
    board, _ = leaderboard(runs)
    board.loc[board["run"] == "other-subset", "validation_sentence_accuracy"] = 0.95  # ranked second
    table, _, left_out = ensemble_top(board, runs, k=3)
    assert list(table.index)[:4] == ["perfect", "mostly", "neighbour", "ensemble"]
    assert left_out["run"].tolist() == ["other-subset"] and "other test rows" in left_out["reason"].iloc[0]


def test_no_finished_run_gives_an_empty_board_with_its_columns(tmp_path):
    write_json(tmp_path / "crashed" / "identity.json", {})
    write_json(tmp_path / "failures.json", {"bad-model": {"error": "OSError: no such model"}})
    board, problems = leaderboard(tmp_path)
    assert board.empty and "test_sentence_accuracy" in board.columns and "commit" in board.columns
    assert set(problems["run"]) == {"crashed", "bad-model"}
    assert choose_model(board, 0.2).empty
    table, result, left_out = ensemble_top(board, tmp_path)
    assert table.empty and result is None and left_out.empty


def test_error_analysis_tables(runs):
    predictions = pd.read_parquet(runs / "mostly" / "predictions.parquet")
    test = predictions[predictions["split"] == "test"]
    mistakes = confident_mistakes(test, n=3)
    assert len(mistakes) == 3 and (mistakes["true class"] != mistakes["predicted class"]).all()
    by_length = accuracy_by_length(test)
    assert by_length["count"].sum() == len(test)
    metrics = json.loads((runs / "mostly" / "metrics.json").read_text())
    leaks = class_leaks(metrics["test"]["sentence"]["confusion_matrix"])
    assert (leaks["distance"] >= 1).all() and leaks["share"].iloc[0] == 0.25
