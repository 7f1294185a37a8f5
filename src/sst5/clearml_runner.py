"""The ClearML runner: one model's run of the course notebooks (03, then 04) as a ClearML task.

Every course task, whether made here, by the batch or by notebook 03, records this module as its entry
point (``python -m sst5.clearml_runner``), the course at the commit that made it as its requirement, and
under ``Args`` the arguments below that reproduce the run (:func:`sst5.tracking.make_rerunnable`). So a
task cloned in the web UI or by ``sst5-enqueue`` and enqueued is run by an agent with the clone's values.

The order below is what makes that work: torch and transformers are imported first (ClearML's package
scan races with their import otherwise), then ``Task.init``, and only then are the arguments parsed. ClearML
patches argparse: locally the parsed values are recorded under ``Args``; on an agent (``CLEARML_TASK_ID``
set), the task's ``Args`` are parsed instead of the command line.

``--template-only`` records the task (its ``Args``, entry point and requirements) without training: the
template that ``sst5-enqueue`` clones. Exit codes: 0 done, 1 the run failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

from .config import RUNNER_PARAMETERS, RunConfig, course_dir, describe, parse_boolean, resolve_config

__all__ = ["build_parser", "main"]

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
_TEMPLATE_ONLY = "template_only"
def boolean(text: str) -> bool:
    """argparse type of the boolean parameters: the course's one boolean grammar (:func:`sst5.config.parse_boolean`)."""
    try:
        return parse_boolean(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The runner's arguments: ``--profile``, ``--out``, one per run parameter (:data:`RUNNER_PARAMETERS`, with
    its type and help), ``--split_dataset``, ``--upload_model`` and ``--template-only``."""
    parser = argparse.ArgumentParser(
        prog="sst5-clearml-runner",
        description="One model's run of the course notebooks, as a ClearML task that an agent can re-run.")
    parser.add_argument("--profile", default=None, help="smoke, cpu or gpu (default: $SST5_PROFILE, else by hardware)")
    parser.add_argument("--out", default=None, help="parent folder of the run folder (default: the course folder's "
                                                    "clearml/; set SST5_COURSE_DIR on an agent to keep runs on Drive)")
    hints = typing.get_type_hints(RunConfig)
    for name in RUNNER_PARAMETERS:
        kind = next(t for t in (*typing.get_args(hints[name]), hints[name]) if t is not type(None))
        parser.add_argument(f"--{name}", type=boolean if kind is bool else kind, default=None, help=describe(name))
    parser.add_argument("--split_dataset", default=None,
                        help="ClearML Dataset id of a custom split (split=custom on an agent): fetched, then used")
    parser.add_argument("--upload_model", type=boolean, default=False,
                        help="upload the trained model folder as the artifact 'model' (about 90 MB for MiniLM, "
                             "440 MB for a base model); metrics and predictions are always uploaded")
    parser.add_argument("--template-only", dest=_TEMPLATE_ONLY, action="store_true",
                        help="record the task (arguments, entry point, requirements) without training: the "
                             "template that sst5-enqueue clones")
    return parser


def _split_file(dataset_id: str) -> str:
    """The split file of a ClearML Dataset (notebook 02's ``version_split_in_clearml``), fetched locally."""
    from clearml import Dataset

    folder = Path(Dataset.get(dataset_id=dataset_id).get_local_copy())
    files = sorted(folder.rglob("*.json"))
    if len(files) != 1:
        raise ValueError(f"ClearML Dataset {dataset_id} should hold one split file (.json), not {len(files)}")
    return str(files[0])


def main(argv: Sequence[str] | None = None) -> int:
    """Run (or, with ``--template-only``, record) one model's course run as a ClearML task; the exit code."""
    # torch and transformers before Task.init: ClearML's package scan races with their import otherwise
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from clearml import Task
    from papermill import PapermillExecutionError

    from .batch import plan_runs, run_model
    from .tracking import PROJECT, TASK_ID_ENV, make_rerunnable, prepare_clearml, upload_model

    prepare_clearml()
    task = Task.init(
        project_name=PROJECT, task_name="sst5 runner", task_type=Task.TaskTypes.training, reuse_last_task_id=False,
        auto_connect_arg_parser={_TEMPLATE_ONLY: False},  # a clone of the template must train
        # the course records its own entry point and requirements (make_rerunnable), not this process's venv;
        # no torch.save is registered as a model (checkpoint internals)
        auto_connect_frameworks={"pytorch": False, "tensorboard": False, "detect_repository": False},
    )
    make_rerunnable(task)
    parser = build_parser()
    args = parser.parse_args(argv)  # after Task.init: ClearML records these under Args, or applies a clone's
    if getattr(args, _TEMPLATE_ONLY):
        print(f"template task {task.id} recorded; enqueue clones with: sst5-enqueue --template {task.id} ...")
        task.close()
        return 0
    params = {name: getattr(args, name) for name in RUNNER_PARAMETERS if getattr(args, name) is not None}
    os.environ[TASK_ID_ENV] = task.id  # the notebook kernels report into this task
    try:
        model = params.pop("model_name", None) or resolve_config(args.profile).model_name
        if args.split_dataset:
            params.update(split="custom", split_file=_split_file(args.split_dataset))
        (spec,) = plan_runs([model], params, args.profile)
    except (FileNotFoundError, ValueError, TypeError) as error:
        return _fail(task, f"error: {error}", EXIT_BAD_INPUT)
    task.set_name(spec.name)
    try:
        run_dir = run_model(spec, args.out or course_dir() / "clearml", args.profile)
    except (PapermillExecutionError, OSError, RuntimeError, ValueError) as error:
        return _fail(task, f"the run failed: {error}", EXIT_FAILED)
    task.reload()  # what the notebook kernels recorded in this task (artifacts, plots, the course section)
    if args.upload_model:
        upload_model(task, run_dir)
    task.close()
    return 0


def _fail(task, message: str, code: int) -> int:
    """Say why on stderr, mark the task failed with the reason, and return the exit code."""
    print(message, file=sys.stderr)
    task.mark_failed(status_reason=message[:255], force=True)
    task.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
