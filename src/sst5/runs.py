"""A run's folder: what it holds, how files get there safely, and what state the run is in.

Notebook 03 fills a run folder, notebook 04 completes it, and the batch runner, the leaderboard and
notebook 05 read it. Every file that another step reads is written atomically (a temporary name in the
same folder, then a rename), so a reader sees the old file or the whole new one, never half of one.

The one rule for a run's state is :func:`run_status`:

========== ==============================================================================
pending    nothing yet
training   notebook 03 started (checkpoints, or a model without ``metrics.json``)
trained    notebook 03 finished: model, predictions and ``metrics.json``, tracking closed
complete   notebook 04 finished too: :func:`mark_complete` wrote ``"status": "complete"``
failed     the batch runner recorded a failure (``failure.json``) and nothing finished since
========== ==============================================================================
"""

from __future__ import annotations

import enum
import hashlib
import importlib.resources
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .config import NUM_LABELS

__all__ = [
    "METRICS_FILE",
    "PREDICTIONS_FILE",
    "PROB_COLUMNS",
    "MODEL_SUBDIR",
    "CHECKPOINT_SUBDIR",
    "FAILURE_FILE",
    "IDENTITY_FILE",
    "FAILURES_FILE",
    "TIMES_FILE",
    "RunStatus",
    "json_safe",
    "run_status",
    "write_json",
    "read_json",
    "write_atomic",
    "write_folder_atomic",
    "file_sha256",
    "record_results",
    "mark_complete",
    "remove_checkpoints",
    "REFERENCE_RUN",
    "reference_runs_dir",
    "is_finished",
    "find_runs",
    "latest_run",
    "RUN_FACTS",
    "SCORE_COLUMNS",
    "collect_runs",
    "run_details",
    "run_scores",
    "run_or_reference",
    "runs_or_reference",
]

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
#: The columns of ``predictions.parquet`` (and of a teacher table) holding the five class probabilities.
PROB_COLUMNS = [f"prob_{label}" for label in range(NUM_LABELS)]
#: Sub-folder holding the final model and tokenizer.
MODEL_SUBDIR = "model"
#: Sub-folder of the Trainer's checkpoints (removed when the run is trained, unless kept).
CHECKPOINT_SUBDIR = "checkpoints"
#: Written by the batch runner into a run's folder when one of its notebooks failed.
FAILURE_FILE = "failure.json"
#: A batch folder's records: each failed run's error, and each run's wall seconds.
FAILURES_FILE = "failures.json"
TIMES_FILE = "batch_times.json"
#: Written by the batch runner before a run starts: what decides its result (:func:`sst5.batch.run_identity`).
IDENTITY_FILE = "identity.json"


class RunStatus(enum.StrEnum):
    """The state of a run folder (see the module docstring)."""

    PENDING = "pending"
    TRAINING = "training"
    TRAINED = "trained"
    COMPLETE = "complete"
    FAILED = "failed"


def json_safe(value):
    """JSON-safe copy: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    Readers see the old file or the whole new one; a crash leaves at most a hidden ``.tmp`` file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a process killed while writing
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide results from others sharing the folder
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_folder_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_folder)``, then swap the folder into ``path`` (replacing an older one).

    A kill during ``write`` leaves the old folder (or none) in place, never a half-written one.
    """
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*"):  # left by a process killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        old = path.with_name(f".{path.name}.old{os.getpid()}")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as JSON atomically (NaN becomes ``null``)."""
    text = json.dumps(json_safe(data), indent=2, allow_nan=False)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_json(path: str | Path) -> dict:
    """Read a JSON object written by :func:`write_json`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a JSON object (damaged, or not ours); the message names the file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is damaged ({error}); delete it, or the run folder it belongs to") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a JSON {type(data).__name__}, not an object; delete it")
    return data


def record_results(results: dict, folder: str | Path, name: str = "results.json") -> Path:
    """Record a notebook's headline results under fixed names in ``folder/name`` (read by tests)."""
    return write_json(Path(folder) / name, results)


def _recorded_status(run_dir: Path) -> str | None:
    try:
        return read_json(run_dir / METRICS_FILE).get("status")
    except (FileNotFoundError, ValueError):
        return None


def run_status(run_dir: str | Path) -> RunStatus:
    """The state of the run in ``run_dir``: the one rule used by the batch, the leaderboard and notebook 05."""
    run_dir = Path(run_dir)
    status = _recorded_status(run_dir)
    if status == RunStatus.COMPLETE:
        return RunStatus.COMPLETE
    if status == RunStatus.TRAINED and (run_dir / PREDICTIONS_FILE).is_file():
        return RunStatus.TRAINED
    if (run_dir / FAILURE_FILE).is_file():
        return RunStatus.FAILED
    if (run_dir / CHECKPOINT_SUBDIR).is_dir() or (run_dir / MODEL_SUBDIR).is_dir():
        return RunStatus.TRAINING
    return RunStatus.PENDING


def mark_complete(run_dir: str | Path) -> Path:
    """Record that every notebook of a trained run has finished (notebook 04 calls it last).

    Raises
    ------
    ValueError
        The run is not trained yet.
    """
    run_dir = Path(run_dir)
    status = run_status(run_dir)
    if status not in (RunStatus.TRAINED, RunStatus.COMPLETE):
        raise ValueError(f"run {run_dir} is {status}, not trained: run notebook 03 for it first")
    metrics = read_json(run_dir / METRICS_FILE)
    return write_json(run_dir / METRICS_FILE, {**metrics, "status": RunStatus.COMPLETE.value})


def remove_checkpoints(run_dir: str | Path) -> int:
    """Delete a finished run's Trainer checkpoints; returns the bytes freed."""
    folder = Path(run_dir) / CHECKPOINT_SUBDIR
    if not folder.is_dir():
        return 0
    freed = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shutil.rmtree(folder)
    return freed


#: The run notebook 04 reads before a user has one: the course's best model (MPNet-base on phrases), whose
#: validation predictions were kept (its calibration can be shown); no run ships its weights.
REFERENCE_RUN = "quality_mpnet/mpnet--default--seed42--1898a9c4"


def reference_runs_dir() -> Path:
    """The course's reference runs, shipped with the package (``sst5.results``, from ``benchmarks/results/``): every
    committed run (``<recipe>/<run>``: its ``metrics.json`` and predictions, no weights), of several models,
    recipes, text forms and precisions. Notebooks 04 and 05 read them until there is a run of the user's own, so
    that each notebook runs on its own, opened from its badge."""
    return Path(str(importlib.resources.files("sst5.results")))


def is_finished(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a trained or complete run (one that notebooks 04 and 05 can read)."""
    return run_status(run_dir) in (RunStatus.TRAINED, RunStatus.COMPLETE)


_RUN_MARKERS = (METRICS_FILE, IDENTITY_FILE, FAILURE_FILE, CHECKPOINT_SUBDIR, MODEL_SUBDIR)


def _is_run_folder(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in _RUN_MARKERS)


def find_runs(root: str | Path, depth: int = 2) -> list[Path]:
    """The run folders in ``root`` and in its sub-folders down to ``depth`` levels (a profile's run, a batch's
    ``batch/<run>``, an agent's ``clearml/<run>``), sorted by path; hidden folders are skipped."""
    root = Path(root)
    if depth < 1 or not root.is_dir():
        return []
    runs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        runs += [folder] if _is_run_folder(folder) else find_runs(folder, depth - 1)
    return runs


def latest_run(course: str | Path) -> Path | None:
    """The finished run of the course folder whose ``metrics.json`` was written last, whatever profile, batch or
    runtime type made it; None when there is none."""
    finished = [run for run in find_runs(course) if is_finished(run)]
    return max(finished, key=lambda run: (run / METRICS_FILE).stat().st_mtime, default=None)


def run_or_reference(run_dir: str | Path | None, course: str | Path) -> tuple[Path, bool]:
    """The run notebook 04 analyses, and whether it is the reference: ``run_dir`` when given, else the newest
    finished run in the course folder (:func:`latest_run`), else the first shipped reference run.

    Raises
    ------
    FileNotFoundError
        ``run_dir`` was given and holds no finished run; or neither the course folder nor the installation has one.
    """
    if run_dir is not None:
        if not is_finished(run_dir):
            raise FileNotFoundError(f"run_dir={str(run_dir)!r} holds no finished run ({run_status(run_dir)}): "
                                    "point it at a folder notebook 03 completed, or leave it unset")
        return Path(run_dir), False
    newest = latest_run(course)
    if newest is not None:
        return newest, False
    shipped = reference_runs_dir()
    if is_finished(shipped / REFERENCE_RUN):
        return shipped / REFERENCE_RUN, True
    reference = [run for run in find_runs(shipped) if is_finished(run)]
    if not reference:
        raise FileNotFoundError(f"no finished run in {course}, and no reference run in {shipped}: run notebook 03 "
                                "first, or reinstall the course (pip install --force-reinstall sst5-course)")
    return reference[0], True


def runs_or_reference(runs_dir: str | Path | None, course: str | Path) -> tuple[Path, bool]:
    """The folder of runs notebook 05 compares, and whether it is the reference: ``runs_dir`` when given (as it
    is: failed runs are shown), else the course folder when a run in it (:func:`find_runs`) is finished, else the
    shipped reference runs."""
    if runs_dir is not None:
        return Path(runs_dir), False
    if any(is_finished(run) for run in find_runs(course)):
        return Path(course), False
    return reference_runs_dir(), True


#: The columns of :func:`collect_runs`'s table after the run's parameters: its facts, then one score.
RUN_FACTS = ["state", "kept_epoch", "train_seconds", "eval_seconds", "sst5", "commit", "device", "cpu", "precision",
             "data_fingerprint"]
SCORE_COLUMNS = ["split", "level", "metric", "value"]


def _kept_epoch(record: dict) -> int | None:
    """The epoch whose checkpoint the run kept: the best validation score, in its history, of the metric that
    picked it (``metric_for_best_model``)."""
    from .config import greater_is_better

    pick = record.get("params", {}).get("metric_for_best_model", "accuracy")
    scored = [entry for entry in record.get("history", []) if entry.get(pick) is not None]
    if not scored:
        return None
    return int((max if greater_is_better(pick) else min)(scored, key=lambda entry: entry[pick])["epoch"])


def _facts(record: dict, state: RunStatus) -> dict:
    provenance = record.get("provenance", {})
    return {"state": state.value, "kept_epoch": _kept_epoch(record), "train_seconds": record.get("train_seconds"),
            "eval_seconds": record.get("eval_seconds"), "sst5": provenance.get("versions", {}).get("sst5-course"),
            "commit": (provenance.get("commit") or "")[:12], "device": provenance.get("device"),
            "cpu": provenance.get("cpu"), "precision": (provenance.get("precision") or {}).get("used"),
            "data_fingerprint": (provenance.get("data_fingerprint") or "")[:12]}


def _scores(record: dict):
    """``(split, level, metric, value)`` for every number of the record's validation and test scores."""
    for split in ("validation", "test"):
        for level, scores in record.get(split, {}).items():
            for metric, value in scores.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    yield split, level, metric, float(value)


def _error_of(path: Path) -> str | None:
    """The ``error`` recorded in a failure file, or what is wrong with a damaged JSON file."""
    try:
        return read_json(path).get("error")
    except ValueError as error:
        return str(error)


def collect_runs(root: str | Path, depth: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The one table of runs: every run folder in ``root`` down to ``depth`` levels (:func:`find_runs`), read once.

    A run counts when it is finished (:func:`is_finished`: trained or complete, so its ``metrics.json`` and
    predictions are written); that rule is stated here and nowhere else. The leaderboard, the study and the
    benchmarks' quality report pivot this table.

    Returns
    -------
    runs : pandas.DataFrame
        Long format, one row per score: ``run`` (its path under ``root``), the run's parameters as recorded (one
        column each), :data:`RUN_FACTS`, and :data:`SCORE_COLUMNS` (``split``, ``level``, ``metric``,
        ``value``). Empty, with the fact and score columns, when no run has finished.
    problems : pandas.DataFrame
        ``run`` and ``reason`` for each failed, unfinished or unreadable run, and each failure a batch recorded
        in its ``failures.json`` for a run not listed otherwise.

    Raises
    ------
    FileNotFoundError
        ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"runs folder {root} does not exist: pass the --out folder of a batch")
    rows, problems = [], []
    folders = find_runs(root, depth)
    for folder in folders:
        name = folder.relative_to(root).as_posix()
        state = run_status(folder)
        if state in (RunStatus.TRAINED, RunStatus.COMPLETE):
            try:
                record = read_json(folder / METRICS_FILE)
            except ValueError as error:
                problems.append((name, f"unreadable: {error}"))
                continue
            run = {"run": name, **record.get("params", {}), **_facts(record, state)}
            rows += [{**run, **dict(zip(SCORE_COLUMNS, score, strict=True))} for score in _scores(record)]
        elif state == RunStatus.FAILED:
            problems.append((name, f"failed: {_error_of(folder / FAILURE_FILE)}"))
        else:
            damage = _error_of(folder / METRICS_FILE) if (folder / METRICS_FILE).is_file() else None
            problems.append((name, f"unreadable: {damage}" if damage else f"unfinished ({state})"))
    listed = {problem[0] for problem in problems} | {row["run"] for row in rows}
    for batch in sorted({root, *(folder.parent for folder in folders)}):  # each batch's record of its failures
        failures = batch / FAILURES_FILE
        if not failures.is_file():
            continue
        prefix = batch.relative_to(root).as_posix().removeprefix(".").lstrip("/")
        try:
            recorded = read_json(failures)
        except ValueError as error:
            problems.append((failures.relative_to(root).as_posix(), f"unreadable: {error}"))
            continue
        for run, failure in recorded.items():
            name = f"{prefix}/{run}" if prefix else run
            if name not in listed:
                problems.append((name, f"failed: {failure.get('error', '')}"))
    table = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["run", *RUN_FACTS, *SCORE_COLUMNS])
    return table, pd.DataFrame(problems, columns=["run", "reason"])


def run_details(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of :func:`collect_runs`'s table: ``run``, its parameters and its facts, in table order."""
    return runs.drop(columns=SCORE_COLUMNS).drop_duplicates("run").reset_index(drop=True)


def run_scores(runs: pd.DataFrame, split: str, level: str) -> pd.DataFrame:
    """The scores of each run at one ``split`` and ``level``: ``run`` and one column per metric (a run without
    scores there, e.g. validation phrases that were not scored, has no row)."""
    scores = runs[(runs["split"] == split) & (runs["level"] == level)]
    return scores.pivot(index="run", columns="metric", values="value").rename_axis(columns=None).reset_index()
