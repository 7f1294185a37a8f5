"""Experiment tracking with ClearML (a run's own files are :mod:`sst5.runs`).

ClearML runs *online* when credentials are configured (``CLEARML_API_ACCESS_KEY`` and
``CLEARML_API_HOST`` in the environment, or a ``~/clearml.conf``), and *offline* otherwise: the session
is written under ``$CLEARML_CACHE_DIR/offline/<task id>/`` and zipped on close, and a user imports it
later with ``clearml-task --import-offline-session <zip>``. Offline, model registration is switched
off (``CLEARML_LOG_MODEL=FALSE``), since the ClearML SDK crashes on it, and events are written without
ClearML's reporter subprocess (``clearml_offline.conf``): with it, every flush and close of an offline
task waits 10 s for a daemon that never answers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .config import HEADLINE_METRICS, LABEL_NAMES, RunConfig
from .runs import json_safe

__all__ = [
    "clearml_is_configured",
    "use_clearml_offline",
    "start_clearml_task",
    "log_run_to_clearml",
]

TASK_ID_ENV = "SST5_CLEARML_TASK_ID"
OFFLINE_CONFIG = Path(__file__).with_name("clearml_offline.conf")


def clearml_is_configured() -> bool:
    """True when ClearML server credentials are configured (environment or ``~/clearml.conf``)."""
    from_env = os.environ.get("CLEARML_API_ACCESS_KEY") and os.environ.get("CLEARML_API_HOST")
    config_file = Path(os.environ.get("CLEARML_CONFIG_FILE", Path.home() / "clearml.conf"))
    return bool(from_env) or (config_file.is_file() and config_file.resolve() != OFFLINE_CONFIG.resolve())


def use_clearml_offline() -> None:
    """Switch ClearML to offline mode for this process (call it only when no server is configured)."""
    from clearml import Task

    os.environ["CLEARML_LOG_MODEL"] = "FALSE"
    os.environ.setdefault("CLEARML_CONFIG_FILE", str(OFFLINE_CONFIG))  # read lazily, at the first Task call
    Task.set_offline(True)


def start_clearml_task(config: RunConfig, project: str = "sst5-course", name: str | None = None):
    """Create (or join) the ClearML task of a run and record its parameters.

    Joins the task named by ``$SST5_CLEARML_TASK_ID`` when the run was started by the ClearML runner
    (``sst5-clearml-runner``); otherwise creates one, offline when no server is configured.

    Returns
    -------
    clearml.Task
    """
    # torch and transformers must be imported before Task.init: ClearML's background scan of the
    # installed packages otherwise races with their import ("cannot import name 'set_module'").
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from clearml import Task

    if not clearml_is_configured():
        use_clearml_offline()
    task_id = os.environ.get(TASK_ID_ENV)
    if task_id:
        task = Task.get_task(task_id=task_id)
    else:
        task = Task.init(
            project_name=project,
            task_name=name or f"{config.model_name} {config.schedule}",
            reuse_last_task_id=False,
            # Repository detection inside a notebook kernel stalls task.close() for its 300 s timeout, and
            # an agent cannot re-run a kernel's task anyway (the ClearML runner script is the template).
            auto_connect_frameworks={"pytorch": False, "tensorboard": False, "matplotlib": True,
                                     "detect_repository": False},
        )
    task.connect(config.to_dict(), name="course")
    return task


def log_run_to_clearml(task, metrics: dict, predictions: pd.DataFrame) -> None:
    """Log a finished run: confusion matrices as plots, metrics and predictions as artifacts."""
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
    task.upload_artifact("predictions", artifact_object=predictions)
