"""What ran a run: versions, the course's commit, the data, the device, and how to run it again.

:func:`run_provenance` is recorded in every run's ``metrics.json`` (key ``provenance``); the leaderboard
shows the main fields. The commit comes from pip's record of a git install (``direct_url.json``) or, in
a checkout, from git itself.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from .course import FINE_TUNING_NOTEBOOK
from .precision import cpu_model, cuda_capability, run_precision

__all__ = ["DISTRIBUTION", "PACKAGES", "package_versions", "course_commit", "device_name", "run_provenance"]

#: The course's distribution name on the package index and in ``pip install``.
DISTRIBUTION = "sst5-course"
#: Packages whose versions decide a run's result.
PACKAGES = ("torch", "transformers", "datasets", "accelerate", "tokenizers", "scikit-learn", "numpy", "peft")


def package_versions() -> dict[str, str | None]:
    """Python's and the main packages' versions (``None`` for one not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in (DISTRIBUTION, *PACKAGES):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.cache  # asked once per planned run; git is not asked again in the same process
def course_commit() -> str | None:
    """The git commit the installed course was built from, with ``+dirty`` for local changes; else None.

    A ``pip install git+…`` records the commit in ``direct_url.json``; an editable install from a
    checkout asks git (``None`` when git or the checkout is missing).
    """
    try:
        record = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        record = None
    info = json.loads(record) if record else {}
    if "vcs_info" in info:
        return info["vcs_info"].get("commit_id")
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit


def device_name() -> str:
    """The GPU's name, or the CPU's with the number of threads torch computes with."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu: {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def run_provenance(parameters: dict, notebook: str = FINE_TUNING_NOTEBOOK,
                   data_fingerprint: str | None = None) -> dict:
    """Everything needed to tell what produced a run and to produce it again.

    Parameters
    ----------
    parameters : dict
        The notebook's resolved parameters (``profile`` and ``data`` included).
    notebook : str
        The course notebook that made the run.
    data_fingerprint : str, optional
        sha256 over the release's tree files (:attr:`sst5.data.SSTRelease.fingerprint`).

    Returns
    -------
    dict
        ``versions``, ``commit``, ``data_fingerprint``, ``device``, ``cpu`` (model and bf16 capability),
        ``precision`` (the arithmetic used and why, :func:`sst5.precision.run_precision`), ``platform``,
        ``parameters`` and
        ``command``: the papermill command line that re-runs the notebook with the same parameters here.
    """
    from .course import notebook_path

    command = ["papermill", str(notebook_path(notebook)), notebook, "-y", json.dumps(parameters, sort_keys=True)]
    precision = run_precision(bool(parameters.get("mixed_precision", True)), cuda_capability())
    return {
        "versions": package_versions(),
        "commit": course_commit(),
        "data_fingerprint": data_fingerprint,
        "device": device_name(),
        "cpu": cpu_model(),
        "precision": {"used": precision.name, "why": precision.reason},
        "platform": f"{platform.system()} {platform.release()} ({sys.implementation.name})",
        "parameters": parameters,
        "command": shlex.join(command),
    }
