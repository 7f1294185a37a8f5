"""The course as a whole: its notebooks in order, where they are installed, and their generated cells.

The notebooks ship inside the package (``sst5.notebooks``), so the batch runner, notebook 05 and the
ClearML runner find them after a plain ``pip install``, from any folder: :func:`notebook_path`.

Generated cells: the first two cells of every notebook (the "Open in Colab" badge and the Colab-only
install) come from :func:`badge_cell` and :func:`setup_cell`, and notebook 03's ``parameters`` cell from
:class:`sst5.config.RunConfig` (:func:`run_parameters_source`). ``scripts/sync_notebooks.py`` writes them
(``make notebooks``) and tests check that the notebooks carry them unchanged.
"""

from __future__ import annotations

import importlib.resources
import typing
from pathlib import Path

import nbformat

from .config import REPO_BRANCH, REPO_SLUG, RUN_PARAMETERS, RunConfig, describe

__all__ = [
    "COURSE_NOTEBOOKS",
    "ERROR_ANALYSIS_NOTEBOOK",
    "FINE_TUNING_NOTEBOOK",
    "notebooks_dir",
    "notebook_path",
    "colab_url",
    "install_requirement",
    "badge_cell",
    "setup_cell",
    "sync_header",
    "parameters_cell",
    "run_parameters_source",
    "sync_run_parameters",
]

#: The lessons in reading order.
COURSE_NOTEBOOKS = (
    "01_eda.ipynb",
    "02_splitting.ipynb",
    "03_fine_tuning.ipynb",
    "04_error_analysis.ipynb",
    "05_compare_models.ipynb",
)
#: The notebook that trains a run; its parameters are :data:`sst5.config.RUN_PARAMETERS`.
FINE_TUNING_NOTEBOOK = "03_fine_tuning.ipynb"
#: The notebook that completes a run: its error analysis, from the run's predictions.
ERROR_ANALYSIS_NOTEBOOK = "04_error_analysis.ipynb"
_BADGE_MARKER = "<!-- colab-badge -->"
#: Notebook 03's parameters that are not :class:`~sst5.config.RunConfig` fields, with their help.
_NOTEBOOK_ONLY_PARAMETERS = {
    "profile": "smoke, cpu or gpu; None: $SST5_PROFILE, else gpu if CUDA else cpu",
    "data": "the official zip or a folder with trees/; None: $SST5_DATA, else download",
}


def notebooks_dir() -> Path:
    """The folder of the installed course notebooks (package data of ``sst5.notebooks``)."""
    return Path(str(importlib.resources.files("sst5.notebooks")))


def notebook_path(name: str) -> Path:
    """The installed course notebook ``name`` (e.g. ``"03_fine_tuning.ipynb"``).

    Raises
    ------
    FileNotFoundError
        ``name`` is not a course notebook, or the installation lacks it (reinstall the course).
    """
    if name not in COURSE_NOTEBOOKS:
        raise FileNotFoundError(f"{name!r} is not a course notebook; the notebooks are: {', '.join(COURSE_NOTEBOOKS)}")
    path = notebooks_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"course notebook {name} is missing from {path.parent}: reinstall the course "
                                f"(pip install --force-reinstall sst5-course)")
    return path


def colab_url(path: str, slug: str = REPO_SLUG, branch: str = REPO_BRANCH) -> str:
    """Colab's URL for a notebook at ``path`` (relative to the repository root) on GitHub."""
    return f"https://colab.research.google.com/github/{slug}/blob/{branch}/{path}"


def install_requirement(ref: str = REPO_BRANCH) -> str:
    """The pip requirement that installs the course from GitHub at ``ref`` (a branch or a commit), with the
    extras that Colab lacks; Colab's own torch and transformers are kept."""
    return f"sst5-course[lora] @ git+https://github.com/{REPO_SLUG}@{ref}"


def badge_cell(path: str) -> str:
    """Markdown source of the badge cell for the notebook at ``path``."""
    return (
        f"{_BADGE_MARKER}\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(path)})"
    )


def setup_cell() -> str:
    """Code source of the setup cell: install the course on Colab, once (keeping Colab's torch).

    A notebook run by the batch runner finds the course installed and skips the install.
    """
    return (
        "import importlib.util\nimport sys\n\n"
        "if \"google.colab\" in sys.modules and importlib.util.find_spec(\"sst5\") is None:  # Colab's torch is kept\n"
        f"    %pip install -q \"{install_requirement()}\""
    )


def sync_header(notebook: nbformat.NotebookNode, path: str) -> bool:
    """Make the first two cells the badge and setup cells for ``path``; True if anything changed."""
    wanted = [nbformat.v4.new_markdown_cell(badge_cell(path)), nbformat.v4.new_code_cell(setup_cell())]
    wanted[1].metadata["tags"] = ["setup"]
    cells = notebook.cells
    has_header = len(cells) >= 2 and cells[0].source.startswith(_BADGE_MARKER)
    current = cells[:2] if has_header else []
    if [c.source for c in current] == [c.source for c in wanted]:
        return False
    notebook.cells = wanted + cells[len(current):]
    return True


def parameters_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """The cell tagged ``parameters`` (papermill's), or None."""
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def _optional(annotation: object) -> str:
    """``Optional[int]`` for ``int`` or ``int | None``: the form papermill's parameter reader understands."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return f"Optional[{args[0].__name__}]"


def run_parameters_source() -> str:
    """Source of notebook 03's ``parameters`` cell, generated from :class:`~sst5.config.RunConfig`.

    Every parameter defaults to ``None``, "the profile's default", and carries its help as a comment.
    """
    hints = typing.get_type_hints(RunConfig)
    lines = [f"{name}: Optional[str] = None  # {help_}" for name, help_ in _NOTEBOOK_ONLY_PARAMETERS.items()]
    lines += [f"{name}: {_optional(hints[name])} = None  # {describe(name)}" for name in RUN_PARAMETERS]
    return "\n".join(lines)


def sync_run_parameters(notebook: nbformat.NotebookNode) -> bool:
    """Rewrite notebook 03's ``parameters`` cell from :func:`run_parameters_source`; True if it changed."""
    cell = parameters_cell(notebook)
    source = run_parameters_source()
    if cell is None or cell.source == source:
        return False
    cell.source = source
    return True
