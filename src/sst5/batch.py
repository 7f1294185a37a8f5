"""Run the course notebooks headless for every model in a list: locally with papermill, or through
ClearML agents.

Locally (``sst5-batch``), each model's run goes to ``<out>/<run-name>/``: notebook 03 fine-tunes and
marks the run *trained*, notebook 04 analyses it and marks it *complete* (:func:`sst5.runs.run_status`).
At the end notebook 05 refreshes the comparison and ``leaderboard.csv``. A model that fails is recorded
in ``<out>/failures.json`` and in its folder's ``failure.json`` (the failing cell and error) and the
others still run; the batch always ends with its summary. Re-running the same command skips complete
runs, runs only notebook 04 for trained ones, and resumes unfinished ones from their last checkpoint.
One batch at a time may work on an output folder (a lock names the one that holds it).

Distributed (``sst5-enqueue``), the ClearML runner (``sst5-clearml-runner``) is the template task; it
is cloned once per model with that model's parameters and enqueued for agents (``colab/clearml_agent.ipynb``).

Model list lines may carry per-model overrides: ``roberta-large batch_size=16 learning_rate=1e-5``.
"""

from __future__ import annotations

import ast
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .config import BATCH_PARAMETERS, BOOLEAN_WORDS, RUNNER_PARAMETERS, RunConfig, parse_boolean, resolve_config
from .course import ERROR_ANALYSIS_NOTEBOOK, FINE_TUNING_NOTEBOOK, notebook_path
from .distill import teacher_path
from .models import read_model_list, weights_bytes
from .runs import (
    FAILURE_FILE,
    FAILURES_FILE,
    IDENTITY_FILE,
    TIMES_FILE,
    RunStatus,
    file_sha256,
    json_safe,
    read_json,
    run_status,
    write_json,
)

__all__ = [
    "RunSpec",
    "BatchResult",
    "BatchLockedError",
    "parse_model_entry",
    "parse_assignments",
    "run_identity",
    "run_name",
    "RunIdentityError",
    "check_identity",
    "user_path",
    "notebook_parameters",
    "plan_runs",
    "disk_needed",
    "disk_warning",
    "run_model",
    "run_batch",
    "check_data",
    "writable_folder",
    "EnqueuedRun",
    "enqueue_models",
]

_log = logging.getLogger(__name__)

LOCK_FILE = ".batch.lock"
#: Parameters holding paths: resolved against the folder the batch is started from.
PATH_PARAMETERS = ("split_file", "data")
_SLUG_MAX = 80
_ENTRY_SHOWN = 200
# Bytes a finished run keeps beside its float32 weights (tokenizer, predictions, executed notebooks),
# and what training needs on top while it runs (two checkpoints of weights plus AdamW's two moments).
_RUN_EXTRA_BYTES = 10 * 2**20
_TRAINING_BYTES_PER_WEIGHT_BYTE = 6


@dataclass(frozen=True)
class RunSpec:
    """One planned run: its folder name, model entry, notebook-03 parameters and identity (:func:`run_identity`)."""

    name: str
    model: str
    params: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)


@dataclass
class BatchResult:
    """What a batch did: runs finished now, skipped as complete, failed (name → record), and the comparison."""

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    comparison_error: str | None = None
    #: Why the batch stopped before the end of the list (Ctrl-C, a full disk); None when it did not.
    stopped: str | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when no model failed, the batch went through the list and the comparison ran."""
        return not self.failed and self.comparison_error is None and self.stopped is None

    def summary(self) -> pd.DataFrame:
        """One row per run with its status (and one for the comparison if it failed)."""
        rows = [(n, "finished", "") for n in self.finished] + [(n, "skipped (complete)", "") for n in self.skipped]
        rows += [(n, "FAILED", f["error"]) for n, f in self.failed.items()]
        if self.comparison_error:
            rows.append(("(notebook 05: comparison)", "FAILED", self.comparison_error))
        table = pd.DataFrame(rows, columns=["run", "status", "error"])
        table.insert(2, "seconds", table["run"].map(self.seconds).round(1))
        return table

    def report(self) -> str:
        """The summary as text: one line per run, then each failure's error (its first line)."""
        table = self.summary()
        lines = [table.drop(columns="error").to_string(index=False) if len(table) else "no run finished"]
        for _, row in table[table["status"] == "FAILED"].iterrows():
            lines.append(f"{row['run']}: {row['error'].splitlines()[0][:400]}")
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)


class BatchLockedError(RuntimeError):
    """Another batch is working on the same output folder."""


def parse_assignments(items: Sequence[str], where: str = "argument") -> dict:
    """Parse ``key=value`` strings; values are Python literals (``3``, ``1e-5``, ``True``), booleans spelt
    ``yes``/``no``/``true``/``false``/``on``/``off`` (any case), or plain strings."""
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"{where}: {item!r} is not key=value (e.g. epochs=3 or schedule=stratified:2,random:2)")
        if raw.lower() in BOOLEAN_WORDS:
            params[key] = parse_boolean(raw)
            continue
        try:
            params[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            params[key] = raw
    return params


def _quote_entry(line: str) -> str:
    """An entry as error messages show it: quoted, and cut short if very long."""
    return repr(line) if len(line) <= _ENTRY_SHOWN else f"{line[:_ENTRY_SHOWN]!r}... ({len(line)} characters)"


def parse_model_entry(line: str) -> tuple[str, dict]:
    """Split a model list entry into the model and its ``key=value`` overrides, as a shell splits words: a path
    with spaces is written in quotes (``"my models/m1" epochs=2``)."""
    where = f"model list entry {_quote_entry(line)}"
    try:
        model, *assignments = shlex.split(line, comments=False)
    except ValueError as error:
        raise ValueError(f"{where}: {error} (close the quotes around a path with spaces)") from error
    for item in assignments:
        if "=" not in item:
            raise ValueError(f"{where}: {_quote_entry(item)} is not key=value; write a model path with spaces in "
                             'quotes, e.g. "my models/m1" epochs=2')
    return model, parse_assignments(assignments, where=where)


def run_identity(model: str, config: RunConfig) -> dict:
    """Everything that decides a run's result: the resolved parameters (after the profile and the defaults, the
    profile's name included), the model's revision where known (a packaged model's version) and the course's
    version (its commit). The run folder's name hashes all but the course's version; the batch records the
    whole identity in the folder (``identity.json``) and never trusts a folder whose record differs."""
    from .models import model_revision
    from .provenance import course_commit

    parameters = {"profile": config.profile, **{name: getattr(config, name) for name in RUNNER_PARAMETERS}}
    parameters.pop("tracker")  # where the run is logged does not change it
    identity = {"parameters": parameters, "model_revision": model_revision(model), "course": course_commit()}
    if config.teacher is not None:  # a teacher's name or path says nothing of what the table holds
        identity["teacher_sha256"] = file_sha256(teacher_path(config.teacher))
    return json_safe(identity)


def run_name(model: str, identity: dict) -> str:
    """A file-system-safe, deterministic run folder name, unique for the model and its identity
    (:func:`run_identity`, or any parameters).

    The readable part (model, schedule, seed) is shortened for very long ids; the hash covers the
    model and every parameter (not the course's version), so two entries never share a folder.
    """
    params = identity.get("parameters", identity)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model.replace("/", "__")).strip("_.")[:_SLUG_MAX]
    schedule = re.sub(r"[^A-Za-z0-9]+", "-", str(params.get("schedule", "default"))).strip("-")[:40]
    seed = f"--seed{params['seed']}" if "seed" in params else ""
    hashed = json.dumps({"model": model, **{k: v for k, v in identity.items() if k != "course"}},
                        sort_keys=True, default=str)
    return f"{slug}--{schedule}{seed}--{hashlib.sha1(hashed.encode()).hexdigest()[:8]}"


class RunIdentityError(ValueError):
    """A run folder was made with other parameters, another model revision or another course version."""


def check_identity(run_dir: Path, identity: dict) -> None:
    """Raise :class:`RunIdentityError` naming each difference when ``run_dir`` records another identity than
    ``identity``; a folder without a record (nothing started) passes."""
    path = run_dir / IDENTITY_FILE
    if not path.is_file():
        return
    recorded = read_json(path)
    flat_old, flat_new = _flatten_identity(recorded), _flatten_identity(identity)
    differences = [f"{key}={flat_old.get(key)!r} there, {flat_new.get(key)!r} now"
                   for key in sorted(set(flat_old) | set(flat_new)) if flat_old.get(key) != flat_new.get(key)]
    if differences:
        raise RunIdentityError(f"{run_dir} holds another run ({'; '.join(differences)}): it is neither skipped nor "
                               "resumed; --force trains it again, or give this batch another --out")


def _flatten_identity(identity: dict) -> dict:
    return {**identity.get("parameters", {}), **{k: v for k, v in identity.items() if k != "parameters"}}


@functools.cache
def notebook_parameters(notebook: str = FINE_TUNING_NOTEBOOK) -> tuple[str, ...]:
    """The parameter names a course notebook takes, as papermill itself reads them."""
    import papermill

    return tuple(papermill.inspect_notebook(str(notebook_path(notebook))))


def _check_parameters(params: dict, where: str) -> None:
    accepted = [p for p in notebook_parameters() if p not in ("profile", "data", *BATCH_PARAMETERS)]
    for name in params:
        if name == "model_name":
            raise ValueError(f"{where}: the model is the first word of a model list line, not a parameter; "
                             "put it in the list")
        if name in BATCH_PARAMETERS:
            raise ValueError(f"{where}: {name!r} is set by the batch runner for each run; leave it out")
        if name not in accepted:
            raise ValueError(f"{where}: {name!r} is not a parameter of notebook {FINE_TUNING_NOTEBOOK}; "
                             f"it takes: {', '.join(accepted)}")


def user_path(path: str | Path) -> str:
    """``path`` resolved against the folder the command was started in (the notebooks run in the run's folder)."""
    return str(Path(path).expanduser().resolve())


def _absolute_paths(params: dict) -> dict:
    """Path parameters made absolute: the notebooks run in the run's folder, not where the batch started."""
    return {k: user_path(v) if k in PATH_PARAMETERS and isinstance(v, str) else v for k, v in params.items()}


def _local_model(model: str) -> str:
    """A model entry that names an existing folder (relative to where the batch started) as an absolute path."""
    return user_path(model) if Path(model).expanduser().is_dir() else model


def plan_runs(models: Sequence[str], params: dict, profile: str | None = None) -> list[RunSpec]:
    """One :class:`RunSpec` per model entry, shared ``params`` under per-model overrides.

    Every run's parameters are checked before anything runs: each name must be a parameter of notebook
    03, each value must pass :func:`sst5.config.resolve_config`, and a custom split's file must exist.

    A ``params`` value that an entry sets otherwise is refused: the entry's value would win, so the batch would
    not run what was asked (``--param seed=1`` over a line with ``seed=42`` would train seed 42 again).

    Raises
    ------
    ValueError, TypeError
        The message names the entry or ``--param``, the parameter and what is accepted.
    """
    _check_parameters(params, "--param")
    specs, conflicts = [], []
    for entry in models:
        model, overrides = parse_model_entry(entry)
        model = _local_model(model)
        where = f"model list entry {_quote_entry(entry)}"
        _check_parameters(overrides, where)
        conflicts += [(name, f"{where} sets {name}={overrides[name]}") for name in sorted(set(overrides) & set(params))
                      if overrides[name] != params[name]]
        if conflicts:
            continue
        run_params = _absolute_paths({**params, **overrides, "model_name": model})
        try:
            config = resolve_config(profile, **run_params)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{where}: {error}") from error
        if config.split == "custom" and not Path(config.split_file).is_file():
            raise ValueError(f"{where}: split=custom needs split_file, and "
                             f"{config.split_file} does not exist (notebook 02 writes it)")
        identity = run_identity(model, config)
        specs.append(RunSpec(run_name(model, identity), model, run_params, identity))
    if conflicts:
        asked = " ".join(f"{name}={params[name]}" for name in sorted({name for name, _ in conflicts}))
        shown = "; ".join(entry for _, entry in conflicts[:3])
        shown += f"; and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
        raise ValueError(f"--param {asked} would not reach every run: {shown}, and a list line's own value wins. "
                         "Leave it out of --param, or give the batch a copy of the list with those lines changed "
                         "(--models my-list.txt)")
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"the model list asks for the same run twice ({', '.join(repeated)}): two entries that "
                         "differ only in values equal to the defaults are one run; remove the copy")
    return specs


def disk_needed(specs: Sequence[RunSpec], out_dir: str | Path, data: str | None = None) -> tuple[int, int]:
    """Bytes the runs not yet complete will need in ``out_dir`` (what they keep, plus one run's training peak),
    counting only the models whose size is known, and how many pending runs have an unknown size (a Hub id
    without the Hub, or a repository without safetensors).
    """
    pending = [s for s in specs if run_status(Path(out_dir) / s.name) != RunStatus.COMPLETE]
    sizes = [weights_bytes(s.model, data) for s in pending]
    known = [size for size in sizes if size is not None]
    needed = sum(size + _RUN_EXTRA_BYTES for size in known) + _TRAINING_BYTES_PER_WEIGHT_BYTE * max(known, default=0)
    return needed, len(sizes) - len(known)


def disk_warning(specs: Sequence[RunSpec], out_dir: str | Path, data: str | None = None) -> str | None:
    """A warning when the runs will not fit on the disk of ``out_dir`` (e.g. a free Google Drive), or when
    some sizes are unknown (then the estimate counts only the others); None when they fit."""
    needed, unknown = disk_needed(specs, out_dir, data)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out_dir).free
    known = f" ({unknown} of them of unknown size, not counted)" if unknown else ""
    if needed > free:
        return (f"the {len(specs)} run(s){known} need about {_size(needed)} in {out_dir}, but only "
                f"{_size(free)} is free: free space, choose a shorter list, or an output folder elsewhere")
    if unknown:
        return (f"note: {unknown} of the {len(specs)} run(s) have an unknown size (no safetensors on the Hub, or "
                f"no Hub); the others need about {_size(needed)} of the {_size(free)} free in {out_dir}")
    return None


def _size(n_bytes: int) -> str:
    """``n_bytes`` for people: MB below a GiB, GiB above."""
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{max(n_bytes / 2**20, 0.1):.1f} MB"


def _execute(notebook: str, folder: Path, parameters: dict) -> None:
    """Execute an installed course notebook with papermill; the executed copy goes to ``folder``, its cwd."""
    import papermill

    papermill.execute_notebook(str(notebook_path(notebook)), str(folder / notebook), cwd=str(folder),
                               parameters=parameters, progress_bar=False, kernel_name="python3")


def run_model(spec: RunSpec, out_dir: str | Path, profile: str | None = None, data: str | None = None) -> Path:
    """Bring one run to *complete*: notebook 03 unless it is trained already, then notebook 04.

    Raises
    ------
    papermill.PapermillExecutionError
        A cell failed (the executed notebook is still written, showing where).
    RunIdentityError
        The run's folder holds another run (:func:`check_identity`).
    """
    run_dir = Path(out_dir).resolve() / spec.name
    check_identity(run_dir, spec.identity)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / IDENTITY_FILE, spec.identity)
    data = user_path(data) if data else None
    if run_status(run_dir) not in (RunStatus.TRAINED, RunStatus.COMPLETE):
        _execute(FINE_TUNING_NOTEBOOK, run_dir,
                 {"profile": profile, "data": data, **spec.params, "output_dir": str(run_dir), "progress": False})
    _execute(ERROR_ANALYSIS_NOTEBOOK, run_dir, {"profile": profile, "run_dir": str(run_dir), "open_demo": False})
    return run_dir


def _failure(error: Exception) -> dict:
    cell = getattr(error, "exec_count", None)
    name = getattr(error, "ename", type(error).__name__)
    value = getattr(error, "evalue", str(error))
    return {"error": f"{name}: {value}".strip()[:2000], "cell": cell, "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def _read_record(path: Path) -> dict:
    """A batch record file, or {} when missing or damaged (damaged ones are kept aside, not lost)."""
    if not path.is_file():
        return {}
    try:
        return read_json(path)
    except ValueError:
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(aside)
        _log.warning("sst5: %s was damaged; kept as %s, starting a new one", path, aside.name)
        return {}


@contextmanager
def _batch_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>/.batch.lock`` for the batch; a second batch on the same folder stops with who holds it."""
    path = out / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole batch)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BatchLockedError(f"another batch ({holder}) is working on {out}; wait for it to finish, "
                                   "or give this one another --out") from error
        except OSError:  # a file system without locks (some network mounts): go on unlocked
            pass
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()


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
        Delete the runs of this list that exist (whatever their state) and train them again.
    compare : bool
        Execute notebook 05 over ``out_dir`` at the end.

    Raises
    ------
    BatchLockedError
        Another batch holds ``out_dir``.
    ValueError, TypeError
        A bad entry or parameter (before anything runs).
    """
    from papermill import PapermillExecutionError

    entries = read_model_list(models) if isinstance(models, str | Path) else list(models)
    specs = plan_runs(entries, params or {}, profile)
    data = check_data(data)
    out = writable_folder(out_dir, "--out")
    out.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    with _batch_lock(out):
        warning = disk_warning(specs, out, data)
        if warning:
            _log.warning("sst5: %s", warning)
        failures = _read_record(out / FAILURES_FILE)
        times = _read_record(out / TIMES_FILE)
        start = time.perf_counter()
        bar = tqdm(specs, desc="models", unit="model")
        try:
            for spec in bar:
                bar.set_postfix_str(f"{spec.model} | {time.perf_counter() - start:.0f}s elapsed")
                run_dir = out / spec.name
                if force:
                    shutil.rmtree(run_dir, ignore_errors=True)
                (run_dir / FAILURE_FILE).unlink(missing_ok=True)  # a new attempt, or stale (completed since)
                run_start = time.perf_counter()
                try:
                    if run_status(run_dir) == RunStatus.COMPLETE:
                        check_identity(run_dir, spec.identity)
                        result.skipped.append(spec.name)
                        if failures.pop(spec.name, None) is not None:
                            write_json(out / FAILURES_FILE, failures)
                        continue
                    run_model(spec, out, profile, data)
                except RunIdentityError as error:  # another run's folder: recorded in the batch, not in it
                    failures[spec.name] = result.failed[spec.name] = {"model": spec.model, **_failure(error)}
                except (PapermillExecutionError, OSError, RuntimeError, ValueError) as error:  # record, go on
                    if getattr(error, "ename", None) == "KeyboardInterrupt":  # Ctrl-C reached the kernel first
                        raise KeyboardInterrupt from error
                    failures[spec.name] = result.failed[spec.name] = {"model": spec.model, **_failure(error)}
                    write_json(run_dir / FAILURE_FILE, failures[spec.name])
                else:
                    failures.pop(spec.name, None)
                    result.finished.append(spec.name)
                result.seconds[spec.name] = times[spec.name] = time.perf_counter() - run_start
                write_json(out / FAILURES_FILE, failures)
                write_json(out / TIMES_FILE, times)
        except KeyboardInterrupt:
            result.interrupted, compare = True, False
            result.stopped = ("interrupted (Ctrl-C); the unfinished run keeps its checkpoints: run the same command "
                              "again to resume")
        except OSError as error:  # a record could not be written: the disk is full or gone
            result.stopped, compare = _disk_stop(error, specs, out, data), False
        if compare:
            try:
                _execute("05_compare_models.ipynb", out, {"profile": profile, "runs_dir": str(out)})
            except (PapermillExecutionError, OSError, RuntimeError, ValueError) as error:
                result.comparison_error = _failure(error)["error"]
    return result


def _disk_stop(error: OSError, specs: Sequence[RunSpec], out: Path, data: str | None) -> str:
    """Why the batch stopped when it could not write in ``out``, with the space the rest of the list needs."""
    needed, _ = disk_needed(specs, out, data)
    return (f"could not write in {out} ({error.strerror or error}); the runs not yet complete need about "
            f"{_size(needed)}, {_size(shutil.disk_usage(out).free)} is free: free space (or choose another --out) "
            "and run the same command again; finished runs are kept")


def check_data(data: str | None) -> str | None:
    """The SST source (``data``, else ``$SST5_DATA``) resolved against the folder the command was started in,
    opened and checked once before any model runs: checksum, tree files, labels (:func:`sst5.data.load_sst`,
    whose parsed table the notebooks then reuse).

    Raises
    ------
    FileNotFoundError, ValueError
        The message names the source and what to do.
    """
    from .data import DATA_ENV, load_sst

    source = data or os.environ.get(DATA_ENV)
    source = user_path(source) if source else None
    load_sst(source)
    return source


def writable_folder(path: str | Path, what: str) -> Path:
    """``path`` resolved against the user's folder, once it is clear that it is (or can be made) a folder this
    process can write into; nothing is created.

    Raises
    ------
    ValueError
        ``path`` is a file, lies under a file, or its nearest existing folder is not writable.
    """
    folder = Path(path).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {path}: is a file, not a folder; choose a folder")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what} {path}: {existing} is a file, so no folder can be made under it; choose a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path}: {existing} is not writable (read-only, or not yours); choose another folder")
    return folder


@dataclass(frozen=True)
class EnqueuedRun:
    """A clone of the runner template that ``sst5-enqueue`` put on a queue."""

    name: str
    task_id: str
    url: str


def _queue_id(queue: str) -> str:
    """The id of the ClearML queue named ``queue``; ValueError naming it and how to create it if there is none."""
    from clearml.backend_api.session.client import APIClient

    found = APIClient().queues.get_all(name=f"^{re.escape(queue)}$", only_fields=["id"])
    if not found:
        raise ValueError(f"ClearML queue {queue!r} does not exist: create it (web UI: Workers & Queues, or start an "
                         f"agent with `clearml-agent daemon --queue {queue} --create-queue`), then enqueue again")
    return found[0].id


def _agent_arguments(spec: RunSpec, profile: str, split_datasets: dict[str, str]) -> dict[str, str]:
    """The ``Args`` of one clone, as ClearML stores them: the run's parameters, the profile, and a custom split
    by its ClearML Dataset id (the agent fetches it) instead of this machine's path."""
    params = dict(spec.params)
    split_file = params.pop("split_file", None)
    if params.get("split") == "custom" or split_file:
        params.pop("split", None)
        params["split_dataset"] = split_datasets[split_file]
    return {f"Args/{key}": "" if value is None else str(value) for key, value in {"profile": profile, **params}.items()}


def enqueue_models(
    models: Sequence[str], queue: str, template_task_id: str, params: dict | None = None, profile: str = "gpu"
) -> list[EnqueuedRun]:
    """Clone the ClearML runner template once per model, set the clone's ``Args``, enqueue the clones.

    Everything is checked before the first clone: the entries and parameters (against ``profile``, the one the
    agents run), the server, the template and the queue. A clone keeps the template's other sections; only the
    ``Args`` the entry sets change. A custom split travels as a ClearML Dataset (versioned once per file).

    Raises
    ------
    ValueError
        No ClearML server configured, an unknown template or queue, or a bad entry; nothing was cloned.
    """
    from clearml import Task

    from .split import version_split_in_clearml
    from .tracking import clearml_is_configured

    specs = plan_runs(models, params or {}, profile)
    if not clearml_is_configured():
        raise ValueError("sst5-enqueue needs a ClearML server: set CLEARML_API_HOST, CLEARML_WEB_HOST, "
                         "CLEARML_FILES_HOST, CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY (and unset "
                         "CLEARML_OFFLINE_MODE)")
    try:
        template = Task.get_task(task_id=template_task_id)
    except ValueError as error:
        raise ValueError(f"no ClearML task {template_task_id!r} (--template): create the template with "
                         "`sst5-clearml-runner --template-only` and pass the id it prints") from error
    queue_id = _queue_id(queue)
    split_files = {s.params["split_file"] for s in specs if s.params.get("split") == "custom"}
    split_datasets = {path: version_split_in_clearml(path) for path in sorted(split_files)}
    enqueued = []
    for spec in specs:
        task = Task.clone(source_task=template, name=spec.name)
        task.update_parameters(_agent_arguments(spec, profile, split_datasets))
        Task.enqueue(task, queue_id=queue_id)
        enqueued.append(EnqueuedRun(spec.name, task.id, task.get_output_log_web_page()))
    return enqueued
