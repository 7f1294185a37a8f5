"""Experiment tracking with ClearML (a run's own files are :mod:`sst5.runs`).

ClearML runs *online* when credentials are configured (``CLEARML_API_ACCESS_KEY`` and
``CLEARML_API_HOST`` in the environment, or a ``~/clearml.conf``) and ``CLEARML_OFFLINE_MODE`` is not set,
and *offline* otherwise: the session is written under ``$CLEARML_CACHE_DIR/offline/<task id>/`` and zipped
on close, and a user imports it later with ``clearml-task --import-offline-session <zip>``. Events are then
written without ClearML's reporter subprocess (``clearml_offline.conf``): with it, every flush and close of
an offline task waits 10 s for a daemon that never answers.

Every course task can be run again by an agent (:func:`make_rerunnable`): its entry point is the ClearML
runner (``python -m sst5.clearml_runner``), its one requirement the course at the commit that made it, and
its ``Args`` the runner's arguments that reproduce the run. No model is registered (the Trainer's ClearML
callback would register every checkpoint); the runner uploads the final model only when asked.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .config import HEADLINE_METRICS, LABEL_NAMES, RUNNER_PARAMETERS, RunConfig
from .runs import MODEL_SUBDIR, PREDICTIONS_FILE, json_safe

__all__ = [
    "PROJECT",
    "RUNNER_MODULE",
    "clearml_is_configured",
    "prepare_clearml",
    "task_name",
    "runner_arguments",
    "runner_requirements",
    "make_rerunnable",
    "upload_model",
    "use_clearml_offline",
    "start_clearml_task",
    "log_run_to_clearml",
]

TASK_ID_ENV = "SST5_CLEARML_TASK_ID"
PROJECT = "sst5-course"
#: The module every course task records as its entry point (``python -m sst5.clearml_runner``).
RUNNER_MODULE = "sst5.clearml_runner"
OFFLINE_CONFIG = Path(__file__).with_name("clearml_offline.conf")
_OFFLINE_ENV = "CLEARML_OFFLINE_MODE"


def clearml_is_configured() -> bool:
    """True when ClearML server credentials are configured (environment or ``~/clearml.conf``) and
    ``CLEARML_OFFLINE_MODE`` does not ask for offline mode."""
    if os.environ.get(_OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    from_env = os.environ.get("CLEARML_API_ACCESS_KEY") and os.environ.get("CLEARML_API_HOST")
    config_file = Path(os.environ.get("CLEARML_CONFIG_FILE", Path.home() / "clearml.conf"))
    return bool(from_env) or (config_file.is_file() and config_file.resolve() != OFFLINE_CONFIG.resolve())


def use_clearml_offline() -> None:
    """Switch ClearML to offline mode for this process (call it only when no server is configured)."""
    from clearml import Task

    os.environ["CLEARML_LOG_MODEL"] = "FALSE"
    os.environ.setdefault("CLEARML_CONFIG_FILE", str(OFFLINE_CONFIG))  # read lazily, at the first Task call
    Task.set_offline(True)


def prepare_clearml() -> None:
    """Settings for every course task, before ``Task.init``: no model registration (the Trainer's ClearML callback
    would register each checkpoint, on an agent too), and offline mode when no server is configured."""
    os.environ["CLEARML_LOG_MODEL"] = "FALSE"
    if not clearml_is_configured():
        use_clearml_offline()


def task_name(config: RunConfig) -> str:
    """A run's task name, ``model schedule seedN``, in characters that ClearML's artifact URLs keep as they are
    (a ``:`` of a schedule, or the ``/`` of a Hub id, would break an imported offline session's links)."""
    return re.sub(r"[^A-Za-z0-9 ._,=+-]+", "-", f"{config.model_name} {config.schedule} seed{config.seed}")


def runner_arguments(config: RunConfig) -> dict[str, str]:
    """The ClearML runner's ``Args`` that reproduce a run of ``config``, as ClearML stores them (``""`` for None).

    A custom split is recorded by its file (valid on this machine only): to re-run such a task elsewhere, set
    ``Args/split_dataset`` to the split's ClearML Dataset id (notebook 02 versions it).
    """
    values = {"profile": config.profile, **{name: getattr(config, name) for name in RUNNER_PARAMETERS}}
    return {name: "" if value is None else str(value) for name, value in values.items()}


def runner_requirements() -> list[str]:
    """What an agent installs to run a course task: the course at the commit this one was installed from
    (``main`` when unknown), which brings what Colab lacks; never a freeze of this machine's packages (a local
    CPU build of torch would fail on a GPU agent)."""
    from .course import install_requirement
    from .provenance import course_commit

    commit = (course_commit() or "").removesuffix("+dirty")
    return [install_requirement(commit) if commit else install_requirement()]


def make_rerunnable(task) -> None:
    """Record what an agent needs to run ``task`` again: the ClearML runner as its entry point (a module of the
    installed course, not this process's script or notebook) and :func:`runner_requirements`. On an agent
    (the task is already what it should be) this does nothing.

    Course tasks are created without ClearML's repository detection (``detect_repository: False``), which would
    record a checkout or a kernel and freeze this machine's packages; so the whole script section is written
    here, through the SDK's own ``_update_script`` (its public ``set_script`` needs a detected section to edit).
    """
    from clearml.backend_api.services import tasks

    if not task.running_locally():
        return
    task._update_script(tasks.Script(
        binary="python3", repository="", branch="", version_num="", diff="", working_dir=".",
        entry_point=f"-m {RUNNER_MODULE}", requirements={"pip": "\n".join(runner_requirements())},
    ))


def upload_model(task, run_dir: str | Path) -> int:
    """Upload the run's trained model folder as the artifact ``model`` (a zip); returns its size in bytes."""
    folder = Path(run_dir) / MODEL_SUBDIR
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(f"uploading the model ({size / 2**20:.0f} MB) as the artifact 'model'")
    task.upload_artifact("model", artifact_object=folder, wait_on_upload=True)
    return size


def start_clearml_task(config: RunConfig, project: str = PROJECT, name: str | None = None):
    """Create (or join) the ClearML task of a run and record its parameters.

    Joins the task named by ``$SST5_CLEARML_TASK_ID`` when the run was started by the ClearML runner
    (``sst5-clearml-runner``); otherwise creates one, offline when no server is configured, that an agent can
    run again: :func:`make_rerunnable`, with the runner's arguments for this run under ``Args``.

    Returns
    -------
    clearml.Task
    """
    # torch and transformers must be imported before Task.init: ClearML's background scan of the
    # installed packages otherwise races with their import ("cannot import name 'set_module'").
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from clearml import Task

    prepare_clearml()
    task_id = os.environ.get(TASK_ID_ENV)
    if task_id:
        task = Task.get_task(task_id=task_id)
    else:
        task = Task.init(
            project_name=project,
            task_name=name or task_name(config),
            reuse_last_task_id=False,
            # Repository detection inside a notebook kernel stalls task.close() for its 300 s timeout, and
            # would record the kernel, which an agent cannot run: make_rerunnable records the runner instead.
            auto_connect_frameworks={"pytorch": False, "tensorboard": False, "matplotlib": True,
                                     "detect_repository": False},
            auto_connect_arg_parser=False,
        )
        make_rerunnable(task)
        task.update_parameters({f"Args/{key}": value for key, value in runner_arguments(config).items()})
    task.connect(config.to_dict(), name="course")
    return task


def log_run_to_clearml(task, metrics: dict, predictions: pd.DataFrame) -> None:
    """Log a finished run: confusion matrices as plots, metrics and predictions as artifacts (the predictions as
    the parquet file, so that they read back exactly: through CSV, dtypes widen and the phrase "None" is NaN)."""
    logger = task.get_logger()
    for split, levels in metrics.items():
        if not isinstance(levels, dict):
            continue
        for level, scores in levels.items():
            if not isinstance(scores, dict) or "confusion_matrix" not in scores:
                continue
            logger.report_confusion_matrix(
                title=f"confusion matrix ({split}, {level})", series=f"{split} {level}",
                matrix=np.asarray(scores["confusion_matrix"]), iteration=0,
                xaxis="predicted class", yaxis="true class",
                xlabels=list(LABEL_NAMES), ylabels=list(LABEL_NAMES), yaxis_reversed=True,
            )
            for name in HEADLINE_METRICS:
                if scores.get(name) is not None:  # the neighbour rate of a run without errors is undefined
                    logger.report_single_value(f"{split}/{level}/{name}", scores[name])
    task.upload_artifact("metrics", artifact_object=json_safe(metrics))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / PREDICTIONS_FILE
        predictions.to_parquet(path, index=False)
        task.upload_artifact("predictions", artifact_object=path, wait_on_upload=True)
