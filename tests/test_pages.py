"""Every figure that the course states in prose comes from code or committed results.

A figure (a decimal number, or a number of % or points) on the front page, the results page or in a notebook's
markdown must be a published one (:data:`sst5.baselines.PUBLISHED`), a statistical convention (95 % intervals,
5 % significance, 80 % power, the write-up's 50 % precision criterion), or one that the pages' generated sections
state (written from ``benchmarks/results/`` by ``scripts/update_readme.py``). The results page's *recorded*
blocks hold speed measurements printed by a named script on a named machine, and are exempt.
"""

import json
import re
from pathlib import Path

import pytest

from sst5.baselines import PUBLISHED

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md"]
GENERATED = re.compile(r"<!-- begin: ([\w-]+)[^>]*-->\n(.*?)<!-- end: \1 -->", re.S)
RECORDED = re.compile(r"<!-- recorded: [^>]*-->\n.*?<!-- end recorded -->", re.S)
CODE = re.compile(r"```.*?```|`[^`\n]*`|<[^>\n]+>", re.S)  # code, and HTML tags (an image's width="49%")
FIGURE = re.compile(r"(?<![\w.−-])(\d+(?:\.\d+)?)(?:\s?(%)|\s(points?))|(?<![\w.])(\d+\.\d+)(?![\d.])")
CONVENTIONS = {"95 %", "5 %", "80 %", "50 %"}


def figures(text: str) -> set[str]:
    """The figures in ``text`` outside code and tags, normalised (``52.4 %``, ``1.3 points``, ``0.82``)."""
    found = set()
    for match in FIGURE.finditer(CODE.sub(" ", text)):
        number, percent, points, bare = match.groups()
        found.add(bare if bare else f"{number} %" if percent else f"{number} points")
    return found


def _published() -> set[str]:
    values = [v for column in ("sentence_accuracy", "phrase_accuracy") for v in PUBLISHED[column].dropna()]
    return {f"{v:.1f}" for v in values} | {f"{v:.1f} %" for v in values}


def _generated_figures() -> set[str]:
    stated = set()
    for page in PAGES:
        for _, body in GENERATED.findall(page.read_text(encoding="utf-8")):
            stated |= figures(body)
            stated |= {figure.split()[0] for figure in figures(body)}  # "54.5 %" also stands as "54.5"
    return stated


def _prose(text: str) -> str:
    return RECORDED.sub(" ", GENERATED.sub(" ", text))


def test_figures_are_found_and_normalised():
    assert figures("54.5 % and +1.3 points [0.2, 2.7], version 2.13.0, `43.8` in code, 95 % interval") == {
        "54.5 %", "1.3 points", "0.2", "2.7", "95 %"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_figure_of_a_page_is_generated_published_or_a_convention(page):
    allowed = _generated_figures() | _published() | CONVENTIONS
    typed = figures(_prose(page.read_text(encoding="utf-8"))) - allowed
    assert not typed, f"{page.name} states figures that no committed result gives: {sorted(typed)}"


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_a_notebook_computes_its_figures(notebook):
    """A notebook's markdown states no measured figure: the cells compute them and show them as output."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    markdown = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    typed = figures(markdown) - _published() - CONVENTIONS
    assert not typed, f"{notebook.name}'s markdown types figures by hand: {sorted(typed)}"


def test_a_typed_figure_is_caught(tmp_path):
    """The check fails on a page that states a figure no result gives."""
    page = "<!-- begin: x -->\n| 54.5 % |\n<!-- end: x -->\nThe recipe reaches 54.5 %, the old one 43.8 %.\n"
    assert figures(_prose(page)) - figures("54.5 %") == {"43.8 %"}
