"""The course as a whole: its notebooks in order, their shared header cells, and a headless run.

The first two cells of every notebook (the "Open in Colab" badge and the Colab-only install) come from
:func:`badge_cell` and :func:`setup_cell`; ``scripts/sync_notebooks.py`` writes them, and a test checks
that every notebook carries them unchanged.
"""

from __future__ import annotations

import nbformat

from .config import REPO_BRANCH, REPO_SLUG

__all__ = [
    "COURSE_NOTEBOOKS",
    "colab_url",
    "badge_cell",
    "setup_cell",
    "sync_header",
    "parameters_cell",
]

#: The lessons in reading order.
COURSE_NOTEBOOKS = (
    "01_eda.ipynb",
    "02_splitting.ipynb",
    "03_fine_tuning.ipynb",
    "04_error_analysis.ipynb",
    "05_compare_models.ipynb",
)
_BADGE_MARKER = "<!-- colab-badge -->"


def colab_url(path: str, slug: str = REPO_SLUG, branch: str = REPO_BRANCH) -> str:
    """Colab's URL for a notebook at ``path`` (relative to the repository root) on GitHub."""
    return f"https://colab.research.google.com/github/{slug}/blob/{branch}/{path}"


def badge_cell(path: str) -> str:
    """Markdown source of the badge cell for the notebook at ``path``."""
    return (
        f"{_BADGE_MARKER}\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(path)})"
    )


def setup_cell() -> str:
    """Code source of the setup cell: install the course on Colab only (keeping Colab's torch)."""
    return (
        "import sys\n\n"
        "if \"google.colab\" in sys.modules:  # Colab lacks the course package; its own torch is kept\n"
        f"    %pip install -q \"sst5-course[lora] @ git+https://github.com/{REPO_SLUG}@{REPO_BRANCH}\""
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
