"""Repository conventions: notebooks (badge, parameters, kernelspec, no outputs) and the environment."""

import ast
import re
import subprocess
import sys
import tomllib

import nbformat
import papermill
import pytest
import yaml

from sst5.course import (
    COURSE_NOTEBOOKS,
    FINE_TUNING_NOTEBOOK,
    badge_cell,
    notebook_path,
    parameters_cell,
    run_parameters_source,
    setup_cell,
)

from .conftest import ROOT

NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("colab/*.ipynb")])


def test_the_course_notebooks_exist_in_order_and_are_installed():
    assert sorted(p.name for p in ROOT.glob("notebooks/*.ipynb")) == list(COURSE_NOTEBOOKS)
    for name in COURSE_NOTEBOOKS:
        assert notebook_path(name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    with pytest.raises(FileNotFoundError, match="not a course notebook"):
        notebook_path("06_missing.ipynb")


def test_notebook_03_takes_exactly_the_run_parameters():
    """Its parameters cell is generated from RunConfig: a new field cannot be forgotten (make notebooks)."""
    notebook = nbformat.read(ROOT / "notebooks" / FINE_TUNING_NOTEBOOK, as_version=4)
    assert parameters_cell(notebook).source == run_parameters_source(), "run `make notebooks`"


def test_the_configuration_imports_without_torch():
    code = "import sys, sst5.config, sst5.schedule; sst5.config.resolve_config('smoke'); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    notebook = nbformat.read(path, as_version=4)
    relative = path.relative_to(ROOT).as_posix()
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.cells[0].source == badge_cell(relative), "run `make notebooks` to refresh the badge"
    assert relative in notebook.cells[0].source
    assert notebook.cells[1].source == setup_cell()
    params = parameters_cell(notebook)
    assert params is not None, "a cell tagged 'parameters' is required (papermill)"
    statements = ast.parse(params.source).body
    for statement in statements:
        assert isinstance(statement, ast.AnnAssign), f"annotate every parameter: {ast.unparse(statement)}"
        ast.literal_eval(statement.value)  # a literal, so that papermill can override it
    # papermill's own reader (`papermill --help-notebook`, and its "unknown parameter" warnings) must see
    # them all: it reads Optional[int] but not int | None, and skips a line with a second "=".
    assert list(papermill.inspect_notebook(path)) == [statement.target.id for statement in statements]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "strip outputs (make format)"


def _names(requirements):
    return {re.split(r"[<>=!\[ ;]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_covers_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"]) | _names(sum(project["optional-dependencies"].values(), []))
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    in_environment = _names(pip_section) | _names(d for d in environment["dependencies"] if isinstance(d, str))
    missing = declared - in_environment - {"clearml-agent"}  # the agent is for worker machines only
    assert not missing, f"add to environment.yml: {sorted(missing)}"
