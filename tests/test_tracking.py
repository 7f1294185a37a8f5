"""ClearML: the runner as a template an agent can run, a clone trained with the clone's values, what offline
sessions record (names, artifacts), and when tracking is online.

No ClearML server can run here, so an agent is simulated with the SDK's own switch: ``CLEARML_TASK_ID`` set,
ClearML offline, and the "clone" an offline session of the template whose ``Args`` were edited, as the web UI
or ``sst5-enqueue`` edits a clone on a server. The SDK then reads the task from that session, and its argparse
patch parses the task's ``Args`` instead of the command line, as on an agent.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sst5.config import RUNNER_PARAMETERS, resolve_config
from sst5.course import install_requirement
from sst5.runs import PREDICTIONS_FILE, read_json
from sst5.tracking import RUNNER_MODULE, clearml_is_configured, runner_arguments, task_name

AGENT_VALUES = {"model_name": "tiny-bert", "epochs": "1", "schedule": "random", "seed": "7", "profile": "smoke",
                "max_sentences": "150", "learning_rate": "0.002"}


def _runner(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m sst5.clearml_runner`` in ``folder``, ClearML offline with its cache in ``folder``."""
    environment = {**os.environ, "CLEARML_OFFLINE_MODE": "1", "CLEARML_CACHE_DIR": str(folder / "clearml"),
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", RUNNER_MODULE, *args], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=600)


def _sessions(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "clearml" / "offline").iterdir() if p.is_dir())


def _task(session: Path) -> dict:
    return json.loads((session / "task.json").read_text())


def _args(task: dict) -> dict[str, str]:
    return {name: entry["value"] for name, entry in task["hyperparams"]["Args"].items()}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The runner's template, recorded offline: ``--template-only``, no arguments."""
    folder = tmp_path_factory.mktemp("template")
    done = _runner(folder, "--template-only")
    assert done.returncode == 0, done.stderr
    return folder


def test_the_template_records_every_parameter_and_an_entry_point_an_agent_can_run(template):
    (session,) = _sessions(template)
    task = _task(session)
    args = task["hyperparams"]["Args"]
    assert set(args) == {*RUNNER_PARAMETERS, "profile", "out", "split_dataset", "upload_model"}
    assert args["epochs"]["type"] == "int" and args["learning_rate"]["type"] == "float"
    assert args["use_lora"]["type"] == "boolean" and args["model_name"]["value"] == ""  # the profile's model
    script = task["script"]
    assert script["entry_point"] == f"-m {RUNNER_MODULE}" and script["repository"] == ""
    assert importlib.util.find_spec(RUNNER_MODULE) is not None  # a module of the installed course
    (requirement,) = script["requirements"]["pip"].splitlines()
    assert requirement.startswith(install_requirement("")) and "torch" not in requirement
    assert not (template / "runs").exists()  # recording the template trains nothing


def test_bad_runner_arguments_exit_2_with_a_message(tmp_path):
    done = _runner(tmp_path, "--use_lora", "maybe")
    assert done.returncode == 2 and "'maybe' is not a boolean" in done.stderr
    done = _runner(tmp_path, "--epochs", "0", "--profile", "smoke")
    assert done.returncode == 2 and "epochs=0 is out of range" in done.stderr


@pytest.mark.slow
def test_a_clone_run_by_an_agent_trains_the_clones_values(template, tmp_path, sst_source):
    (session,) = _sessions(template)
    clone_id = "offline-clone-of-the-template"
    clone = tmp_path / "clearml" / "offline" / clone_id
    shutil.copytree(session, clone)
    task = _task(clone)
    task["id"] = clone_id
    for name, value in {**AGENT_VALUES, "out": str(tmp_path / "agent-runs")}.items():
        task["hyperparams"]["Args"][name]["value"] = value
    (clone / "task.json").write_text(json.dumps(task))

    done = _runner(tmp_path, env={"CLEARML_TASK_ID": clone_id, "SST5_DATA": sst_source})
    assert done.returncode == 0, done.stderr[-3000:]

    (run_dir,) = (tmp_path / "agent-runs").iterdir()
    record = read_json(run_dir / "metrics.json")
    expected = resolve_config("smoke", model_name="tiny-bert", epochs=1, schedule="random", seed=7,
                              max_sentences=150, learning_rate=0.002)
    assert {k: record["params"][k] for k in AGENT_VALUES} == {k: getattr(expected, k) for k in AGENT_VALUES}
    assert record["clearml_task"] == clone_id
    after = _task(clone)
    assert _args(after)["model_name"] == "tiny-bert" and after["name"] == run_dir.name
    artifacts = {a["key"]: a for a in after["execution"]["artifacts"]}
    assert set(artifacts) == {"metrics", "predictions"}  # no model unless upload_model, no checkpoint internals
    assert not after.get("models", {}).get("output")


@pytest.mark.slow
def test_notebook_03_task_can_be_rerun_and_its_artifacts_resolve(smoke_run):
    (session,) = [p for p in (smoke_run / "clearml" / "offline").iterdir() if p.is_dir()]
    task = _task(session)
    record = read_json(smoke_run / "run" / "metrics.json")
    config = resolve_config(**record["params"])
    assert task["script"]["entry_point"] == f"-m {RUNNER_MODULE}" and task["script"]["repository"] == ""
    assert _args(task) == runner_arguments(config)  # cloning it re-runs the same run through the runner
    assert record["clearml_task"] == session.name
    assert task["name"] == task_name(config) and ":" not in task["name"]
    artifacts = {a["key"]: a for a in task["execution"]["artifacts"]}
    uri = artifacts["predictions"]["uri"]
    assert ":" not in uri.split("://", 1)[-1]  # imported sessions' links break on an unescaped ':'
    stored = next(session.rglob(PREDICTIONS_FILE))
    assert stored.relative_to(session).as_posix() in uri or stored.name in uri
    pd.testing.assert_frame_equal(pd.read_parquet(stored), pd.read_parquet(smoke_run / "run" / PREDICTIONS_FILE))


def test_offline_mode_is_honoured_even_with_credentials(monkeypatch):
    monkeypatch.setenv("CLEARML_API_ACCESS_KEY", "key")
    monkeypatch.setenv("CLEARML_API_HOST", "https://api.example.invalid")
    monkeypatch.delenv("CLEARML_OFFLINE_MODE", raising=False)
    assert clearml_is_configured()
    monkeypatch.setenv("CLEARML_OFFLINE_MODE", "1")
    assert not clearml_is_configured()


def test_task_names_are_safe_for_clearml_urls():
    config = resolve_config("smoke", model_name="google/electra-small-discriminator", schedule="stratified:1,random:1")
    assert task_name(config) == "google-electra-small-discriminator stratified-1,random-1 seed42"


def test_notebook_tasks_record_the_runners_arguments_as_clearml_stores_them():
    config = resolve_config("smoke", epochs=1, schedule="random")
    arguments = runner_arguments(config)
    assert set(arguments) == {*RUNNER_PARAMETERS, "profile"}
    assert arguments["epochs"] == "1" and arguments["samples_per_epoch"] == "" and arguments["use_lora"] == "False"

