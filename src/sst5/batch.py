"""Run the course notebooks headless for every model in a list: locally with papermill, or through
ClearML agents.

Locally (``scripts/run_batch.py``), each model's run goes to ``<out>/<run-name>/``: notebook 03 fine-tunes
and writes ``metrics.json`` and ``predictions.parquet``, notebook 04 analyses the run; at the end
notebook 05 refreshes the comparison and ``leaderboard.csv``. Each run's wall time (both notebooks) is
kept in ``<out>/batch_times.json``. A model that fails is recorded in
``<out>/failures.json`` (with the failing cell and error) and the others still run. Re-running the same
command skips finished runs and resumes unfinished ones from their last checkpoint.

Distributed (``scripts/enqueue_models.py``), a runner script is the ClearML template task; it is cloned
once per model with that model's parameters and enqueued for agents (``colab/clearml_agent.ipynb``).

Model list lines may carry per-model overrides: ``roberta-large batch_size=16 learning_rate=1e-5``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .config import resolve_config
from .models import read_model_list
from .tracking import read_json, write_json

__all__ = [
    "RunSpec",
    "BatchResult",
    "parse_model_entry",
    "parse_assignments",
    "run_name",
    "plan_runs",
    "run_model",
    "run_batch",
    "enqueue_models",
]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
FAILURES_FILE = "failures.json"
TIMES_FILE = "batch_times.json"


@dataclass(frozen=True)
class RunSpec:
    """One planned run: its folder name, model entry and notebook-03 parameters."""

    name: str
    model: str
    params: dict = field(default_factory=dict)


@dataclass
class BatchResult:
    """What a batch did: run names finished now, skipped as already done, and failed (name → error)."""

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per run with its status."""
        rows = [(n, "finished", "") for n in self.finished] + [(n, "skipped (done)", "") for n in self.skipped]
        rows += [(n, "FAILED", f["error"]) for n, f in self.failed.items()]
        table = pd.DataFrame(rows, columns=["run", "status", "error"])
        table.insert(2, "seconds", table["run"].map(self.seconds).round(1))
        return table


def parse_assignments(items: Sequence[str], where: str = "argument") -> dict:
    """Parse ``key=value`` strings; values are Python literals (``3``, ``1e-5``, ``True``) or plain strings."""
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"{where}: {item!r} is not key=value (e.g. epochs=3 or schedule=stratified:2,random:2)")
        try:
            params[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            params[key] = raw
    return params


def parse_model_entry(line: str) -> tuple[str, dict]:
    """Split a model list entry into the model and its ``key=value`` overrides."""
    model, *assignments = line.split()
    return model, parse_assignments(assignments, where=f"model list entry {line!r}")


def run_name(model: str, params: dict) -> str:
    """A file-system-safe, deterministic run name from the model id and the parameters."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model.replace("/", "__")).strip("_")
    schedule = re.sub(r"[^A-Za-z0-9]+", "-", str(params.get("schedule", "default"))).strip("-")
    seed = f"--seed{params['seed']}" if "seed" in params else ""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{slug}--{schedule}{seed}--{digest}"


def plan_runs(models: Sequence[str], params: dict, profile: str | None = None) -> list[RunSpec]:
    """One :class:`RunSpec` per model entry, shared ``params`` under per-model overrides.

    Every run's parameters are checked with :func:`sst5.config.resolve_config` before anything runs.
    """
    specs = []
    for entry in models:
        model, overrides = parse_model_entry(entry)
        run_params = {**params, **overrides, "model_name": model}
        resolve_config(profile, **run_params)  # fail early on bad values
        specs.append(RunSpec(run_name(model, {**params, **overrides}), model, run_params))
    return specs


def _is_complete(run_dir: Path) -> bool:
    try:
        return read_json(run_dir / "metrics.json").get("status") == "complete"
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def _execute(notebook: str, folder: Path, parameters: dict) -> None:
    """Execute a course notebook with papermill; the executed copy is written to ``folder``, its cwd."""
    import papermill

    papermill.execute_notebook(NOTEBOOKS / notebook, folder / notebook, cwd=str(folder), parameters=parameters,
                               progress_bar=False, kernel_name="python3")


def run_model(spec: RunSpec, out_dir: str | Path, profile: str | None = None, data: str | None = None) -> Path:
    """Execute notebooks 03 and 04 for one run with papermill; the executed notebooks stay in its folder.

    Raises
    ------
    papermill.PapermillExecutionError
        A cell failed (the executed notebook is still written, showing where).
    """
    if not (NOTEBOOKS / "03_fine_tuning.ipynb").is_file():
        raise FileNotFoundError(f"course notebooks not found in {NOTEBOOKS}: run the batch from a checkout "
                                "of the repository (pip install -e .), as colab/run_models.ipynb does")
    run_dir = Path(out_dir).resolve() / spec.name
    run_dir.mkdir(parents=True, exist_ok=True)
    _execute("03_fine_tuning.ipynb", run_dir,
             {"profile": profile, "data": data, **spec.params, "output_dir": str(run_dir), "progress": False})
    _execute("04_error_analysis.ipynb", run_dir, {"profile": profile, "run_dir": str(run_dir)})
    return run_dir


def _failure(error: Exception) -> dict:
    cell = getattr(error, "exec_count", None)
    name = getattr(error, "ename", type(error).__name__)
    value = getattr(error, "evalue", str(error))
    return {"error": f"{name}: {value}".strip()[:2000], "cell": cell, "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def run_batch(
    models: str | Sequence[str],
    out_dir: str | Path,
    params: dict | None = None,
    profile: str | None = None,
    data: str | None = None,
    force: bool = False,
    compare: bool = True,
) -> BatchResult:
    """Run every model of a list (a list file/name, or entries) and refresh the comparison.

    Parameters
    ----------
    models : str or sequence of str
        A model list file or shipped list name, or the entries themselves.
    out_dir : str or Path
        Parent folder of the run folders, ``failures.json`` and ``leaderboard.csv``.
    params : dict, optional
        Notebook-03 parameters shared by all runs (per-model overrides come from the list).
    profile : str, optional
        Profile for all notebooks.
    data : str, optional
        SST source (default ``$SST5_DATA``).
    force : bool
        Re-run finished runs instead of skipping them.
    compare : bool
        Execute notebook 05 over ``out_dir`` at the end.
    """
    from papermill import PapermillExecutionError

    entries = read_model_list(models) if isinstance(models, str | Path) else list(models)
    specs = plan_runs(entries, params or {}, profile)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failures_path = out / FAILURES_FILE
    failures = read_json(failures_path) if failures_path.is_file() else {}
    times = read_json(out / TIMES_FILE) if (out / TIMES_FILE).is_file() else {}
    result = BatchResult()
    start = time.perf_counter()
    bar = tqdm(specs, desc="models", unit="model")
    for spec in bar:
        bar.set_postfix_str(f"{spec.model} | {time.perf_counter() - start:.0f}s elapsed")
        if not force and _is_complete(out / spec.name):
            result.skipped.append(spec.name)
            continue
        run_start = time.perf_counter()
        try:
            run_model(spec, out, profile, data)
        except (PapermillExecutionError, OSError, RuntimeError) as error:  # record, then go on with the rest
            failures[spec.name] = {"model": spec.model, **_failure(error)}
            result.failed[spec.name] = failures[spec.name]
        else:
            failures.pop(spec.name, None)
            result.finished.append(spec.name)
        result.seconds[spec.name] = times[spec.name] = time.perf_counter() - run_start
        write_json(failures_path, failures)
        write_json(out / TIMES_FILE, times)
    if compare:
        _execute("05_compare_models.ipynb", out.resolve(), {"profile": profile, "runs_dir": str(out.resolve())})
    return result


def enqueue_models(
    models: Sequence[str], queue: str, template_task_id: str, params: dict | None = None
) -> list[str]:
    """Clone the ClearML runner template once per model, override its parameters, enqueue the clones.

    Returns
    -------
    list of str
        The ids of the enqueued tasks.
    """
    from clearml import Task

    template = Task.get_task(task_id=template_task_id)
    ids = []
    for spec in plan_runs(models, params or {}):
        task = Task.clone(source_task=template, name=f"sst5 {spec.name}")
        task.set_parameters({f"Args/{key}": value for key, value in spec.params.items()})
        Task.enqueue(task, queue_name=queue)
        ids.append(task.id)
    return ids
