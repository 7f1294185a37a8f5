"""The batch runner over real notebooks (smoke profile), and the ClearML fan-out with mocked server calls."""

import json
from unittest import mock

import pytest

from sst5.batch import enqueue_models, parse_model_entry, plan_runs, run_batch, run_name

from .conftest import ROOT

SECRET = "sekrit-value-that-must-not-leak-42"


def test_run_names_are_safe_and_deterministic():
    name = run_name("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid", {"schedule": "stratified:2,random:2"})
    assert "/" not in name and name == run_name("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid",
                                                {"schedule": "stratified:2,random:2"})
    assert name != run_name("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid", {"schedule": "random"})


def test_model_entries_carry_overrides_and_bad_values_fail_early():
    assert parse_model_entry("roberta-large batch_size=16 learning_rate=1e-5") == (
        "roberta-large", {"batch_size": 16, "learning_rate": 1e-5})
    with pytest.raises(TypeError, match="batch_size"):
        plan_runs(["tiny-bert batch_size=big"], {}, "smoke")
    with pytest.raises(ValueError, match="key=value"):
        parse_model_entry("tiny-bert epochs")


def test_cli_dry_run_and_empty_list(tmp_path, capsys):
    from scripts.run_batch import main

    assert main(["--models", "smoke", "--out", str(tmp_path), "--profile", "smoke", "--dry-run"]) == 0
    assert "tiny-bert" in capsys.readouterr().out
    empty = tmp_path / "empty.txt"
    empty.write_text("# no models\n")
    with pytest.raises(SystemExit) as stop:
        main(["--models", str(empty), "--out", str(tmp_path), "--profile", "smoke"])
    assert stop.value.code == 2


@pytest.mark.slow
def test_batch_survives_a_broken_model_and_resumes(tmp_path, sst_source, monkeypatch):
    monkeypatch.setenv("CLEARML_API_SECRET_KEY", SECRET)  # present in the environment, never in outputs
    monkeypatch.setenv("CLEARML_CACHE_DIR", str(tmp_path / "clearml"))
    models = ["tiny-bert", "no-such-org/no-such-model", "tiny-bert schedule='random' learning_rate=0.002"]
    params = {"epochs": 1, "schedule": "stratified:1", "max_sentences": 120}
    out = tmp_path / "batch"
    result = run_batch(models, out, params, profile="smoke", data=sst_source)
    assert len(result.finished) == 2 and len(result.failed) == 1
    failures = json.loads((out / "failures.json").read_text())
    (failed_name, failure), = failures.items()
    assert failure["model"] == "no-such-org/no-such-model"
    assert "no-such-model" in failure["error"] and failure["cell"] is not None
    for name in result.finished:
        assert json.loads((out / name / "metrics.json").read_text())["status"] == "complete"
        assert (out / name / "predictions.parquet").is_file()
        assert (out / name / "04_error_analysis.ipynb").is_file()
    assert (out / "leaderboard.csv").is_file()
    leaderboard = (out / "leaderboard.csv").read_text()
    assert all(name in leaderboard for name in result.finished)
    for notebook in out.rglob("*.ipynb"):
        assert SECRET not in notebook.read_text()
    again = run_batch(models[:1] + models[2:], out, params, profile="smoke", data=sst_source, compare=False)
    assert sorted(again.skipped) == sorted(result.finished) and not again.finished


def test_enqueue_clones_one_task_per_model_with_its_parameters():
    with mock.patch("clearml.Task.get_task") as get_task, mock.patch("clearml.Task.clone") as clone, \
            mock.patch("clearml.Task.enqueue") as enqueue:
        clones = [mock.MagicMock(id=f"task-{i}") for i in range(2)]
        clone.side_effect = clones
        ids = enqueue_models(["bert-base-uncased", "roberta-large batch_size=8"], "colab", "template-id",
                             {"epochs": 2, "schedule": "stratified:1,random:1"})
    get_task.assert_called_once_with(task_id="template-id")
    assert ids == ["task-0", "task-1"]
    assert clone.call_count == 2 and all(c.kwargs["source_task"] is get_task.return_value for c in clone.call_args_list)
    first, second = (c.set_parameters.call_args.args[0] for c in clones)
    assert first == {"Args/epochs": 2, "Args/schedule": "stratified:1,random:1", "Args/model_name": "bert-base-uncased"}
    assert second["Args/batch_size"] == 8 and second["Args/model_name"] == "roberta-large"
    assert [c.kwargs["queue_name"] for c in enqueue.call_args_list] == ["colab", "colab"]
    assert [c.args[0] for c in enqueue.call_args_list] == clones


def test_colab_launchers_exist():
    for name in ("run_models.ipynb", "clearml_agent.ipynb"):
        assert (ROOT / "colab" / name).is_file()
