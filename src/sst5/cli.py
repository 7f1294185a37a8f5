"""The course's command lines (installed as console scripts; ``scripts/`` holds thin copies for a checkout).

- ``sst5-batch``: fine-tune every model of a list (notebooks 03-04 per model, then 05), resumably;
- ``sst5-course``: the whole course headless (notebooks 01-02, then the profile's model list);
- ``sst5-study``: the schedule study (:mod:`sst5.study`): three schedules x seeds of one model, resumably;
- ``sst5-enqueue``: clone the ClearML runner template once per model and enqueue the clones;
- ``sst5-clearml-runner``: the ClearML template task (one model's run, re-runnable by an agent);
- ``sst5-predict``: classify text with a finished run (:mod:`sst5.predict`).

Exit codes: 0 success; 1 a model (or the comparison) failed, or the batch stopped on a full disk, the others'
results are kept; 2 bad input (the message names it); 3 another batch is working on the same output folder;
130 interrupted (Ctrl-C), resumable.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from .config import MODEL_LISTS

__all__ = ["batch", "course", "study", "enqueue", "clearml_runner"]

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_LOCKED, EXIT_INTERRUPTED = 1, 2, 3, 130


class _ParametersHelp(argparse.Action):
    """``--help-parameters``: list notebook 03's parameters, with help and allowed values, and exit."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="list the parameters --param takes, and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from .config import RUN_PARAMETERS, describe

        print("\n".join(f"{name}: {describe(name)}" for name in RUN_PARAMETERS))
        parser.exit()


def _batch_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True,
                        help=f"model list file, or a shipped list: {', '.join(MODEL_LISTS)}")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="notebook-03 parameter for every run (repeatable); see --help-parameters")
    parser.add_argument("--help-parameters", action=_ParametersHelp)
    return parser


def _finish(result) -> int:
    print(result.report())
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if result.ok else EXIT_FAILED


def batch(argv: Sequence[str] | None = None) -> int:
    """``sst5-batch``: run a model list through notebooks 03-05; see :func:`sst5.batch.run_batch`."""
    parser = _batch_parser("Fine-tune every model of a list with the course notebooks (papermill), resumably.\n\n"
                           "Example: sst5-batch --models cpu --out runs/batch --param epochs=2\n"
                           "Exit code 1 when any model failed (see <out>/failures.json); the others' results "
                           "are kept.")
    parser.add_argument("--out", required=True, help="parent folder of the run folders (e.g. on Google Drive)")
    parser.add_argument("--profile", help="smoke, cpu or gpu (default: $SST5_PROFILE, else by hardware)")
    parser.add_argument("--data", help="SST source (default: $SST5_DATA, else the official download)")
    parser.add_argument("--force", action="store_true", help="delete existing runs of the list, train them again")
    parser.add_argument("--dry-run", action="store_true", help="list the planned runs and stop")
    args = parser.parse_args(argv)
    from .batch import BatchLockedError, parse_assignments, plan_runs, run_batch
    from .models import read_model_list

    try:
        entries = read_model_list(args.models)
        params = parse_assignments(args.param, where="--param")
        specs = plan_runs(entries, params, args.profile)
        if args.dry_run:
            for spec in specs:
                print(f"{spec.name}\t{spec.model}\t{spec.params}")
            return 0
        result = run_batch(entries, args.out, params, args.profile, args.data, force=args.force)
    except BatchLockedError as error:
        parser.exit(EXIT_LOCKED, f"error: {error}\n")
    except (OSError, ValueError, TypeError) as error:
        parser.exit(EXIT_BAD_INPUT, f"error: {error}\n")
    return _finish(result)


def course(argv: Sequence[str] | None = None) -> int:
    """``sst5-course``: notebooks 01-02, then the profile's model list through the batch runner."""
    parser = argparse.ArgumentParser(description="Run the whole course headless with papermill.")
    parser.add_argument("--out", default="runs/course", help="folder of the executed notebooks and runs")
    parser.add_argument("--figures", default=None, help="folder for the README's figures (img/)")
    parser.add_argument("--profile", default=None, help="smoke, cpu or gpu (default: $SST5_PROFILE, else by hardware)")
    args = parser.parse_args(argv)
    import papermill

    from .batch import run_batch
    from .config import resolve_config
    from .course import notebook_path

    cfg = resolve_config(args.profile)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    figures = str(Path(args.figures).resolve()) if args.figures else None
    per_notebook = {"01_eda.ipynb": {}, "02_splitting.ipynb": {"split_file": str(out / "split.json")}}
    for name, extra in per_notebook.items():
        print(f"running {name}", flush=True)
        papermill.execute_notebook(str(notebook_path(name)), str(out / name), cwd=str(out), kernel_name="python3",
                                   parameters={"profile": cfg.profile, "figures_dir": figures,
                                               "output_dir": str(out), **extra})
    return _finish(run_batch(cfg.models, out / "runs", profile=cfg.profile))


def study(argv: Sequence[str] | None = None) -> int:
    """``sst5-study``: the schedule study of one model; see :func:`sst5.study.run_study`."""
    from .study import STUDY_SEEDS

    parser = argparse.ArgumentParser(
        description="The schedule study: random vs stratified:4,random:2 vs stratified:4,alternate, on distinct "
                    "training phrases, several seeds each, through the batch runner (run it again to resume).\n\n"
                    "This CPU:  sst5-study --profile cpu --samples-per-epoch 4000 --out runs/schedule-study\n"
                    "A GPU:     sst5-study --profile gpu --model bert-base-uncased --out /content/drive/MyDrive/study",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm", help="a named model, local folder or Hub id")
    parser.add_argument("--out", required=True, help="the batch folder of the study's runs (e.g. on Google Drive)")
    parser.add_argument("--results", default=None, help="where to write the results (default: <out>/results)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(STUDY_SEEDS))
    parser.add_argument("--samples-per-epoch", type=int, default=None,
                        help="training phrases per epoch, the same for every schedule (default: all, full epochs)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="another notebook-03 parameter for every run (repeatable); see --help-parameters")
    parser.add_argument("--help-parameters", action=_ParametersHelp)
    parser.add_argument("--profile", help="smoke, cpu or gpu (default: $SST5_PROFILE, else by hardware)")
    parser.add_argument("--data", help="SST source (default: $SST5_DATA, else the official download)")
    args = parser.parse_args(argv)
    from .batch import BatchLockedError, parse_assignments
    from .study import run_study, study_summary

    try:
        params = {"samples_per_epoch": args.samples_per_epoch, **parse_assignments(args.param, where="--param")}
        result, study = run_study(args.model, args.out, args.results or Path(args.out) / "results", args.seeds,
                                  params, args.profile, args.data)
    except BatchLockedError as error:
        parser.exit(EXIT_LOCKED, f"error: {error}\n")
    except (OSError, ValueError, TypeError) as error:
        parser.exit(EXIT_BAD_INPUT, f"error: {error}\n")
    code = _finish(result)
    if study is None:
        print("no complete run yet: nothing to compare")
        return code
    print(study_summary(study.runs).to_string())
    print("\n".join(study.statistics["statement"]))
    print(f"{study.about['runs_complete']} of {study.about['runs_planned']} runs complete; results in "
          f"{args.results or Path(args.out) / 'results'}")
    return code


def enqueue(argv: Sequence[str] | None = None) -> int:
    """``sst5-enqueue``: one ClearML task per model of a list, cloned from the runner template."""
    parser = _batch_parser("Clone the ClearML runner template once per model of a list and enqueue the clones.\n\n"
                           "Example: sst5-enqueue --models gpu --queue colab --template TASK_ID --param epochs=4\n"
                           "The template: sst5-clearml-runner --template-only (it prints its id).")
    parser.add_argument("--queue", required=True, help="ClearML queue the agents listen to")
    parser.add_argument("--template", required=True, help="task id of the sst5-clearml-runner template task")
    parser.add_argument("--profile", default="gpu", help="the profile the agents run: smoke, cpu or gpu (default gpu)")
    args = parser.parse_args(argv)
    from .batch import enqueue_models, parse_assignments
    from .models import read_model_list

    try:
        entries = read_model_list(args.models)
        runs = enqueue_models(entries, args.queue, args.template, parse_assignments(args.param, where="--param"),
                              args.profile)
    except (FileNotFoundError, ValueError, TypeError) as error:
        parser.exit(EXIT_BAD_INPUT, f"error: {error}\n")
    for run in runs:
        print(f"{run.task_id}\t{run.name}\t{run.url}")
    return 0


def clearml_runner(argv: Sequence[str] | None = None) -> int:
    """``sst5-clearml-runner``: :func:`sst5.clearml_runner.main` (the task records ``python -m sst5.clearml_runner``
    as its entry point, which an agent can run)."""
    from .clearml_runner import main

    return main(argv)
