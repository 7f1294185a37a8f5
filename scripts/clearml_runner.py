"""ClearML template task: one model's run of the course notebooks, re-runnable by an agent.

Run it once locally (with a configured server) to create the template; scripts/enqueue_models.py
clones it per model, overriding the Args/* parameters below, and agents execute the clones.
"""

import argparse
import os
import sys

import torch  # noqa: F401  (import before Task.init: ClearML's package scan races with it)
import transformers  # noqa: F401
from clearml import Task

from sst5.batch import RunSpec, run_model, run_name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model_name", default="minilm")
    parser.add_argument("--schedule", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--learning_rate", type=float, default=None)
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--max_length", type=int, default=None)
    parser.add_argument("--train_on", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--out", default="runs/clearml")
    args = parser.parse_args(argv)
    task = Task.init(project_name="sst5-course", task_name="sst5 runner", task_type=Task.TaskTypes.training)
    os.environ["SST5_CLEARML_TASK_ID"] = task.id  # the notebook kernel reports into this task
    params = {k: v for k, v in vars(args).items() if v is not None and k not in ("profile", "out", "model_name")}
    spec = RunSpec(run_name(args.model_name, params), args.model_name, {**params, "model_name": args.model_name})
    run_dir = run_model(spec, args.out, args.profile)
    task.upload_artifact("run_folder", artifact_object=str(run_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
