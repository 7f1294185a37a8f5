"""scripts/update_readme.py: each generated section is written between its own markers."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "update_readme.py"


@pytest.fixture()
def script():
    spec = importlib.util.spec_from_file_location("update_readme", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_name_that_begins_another_is_not_read_as_it(script, monkeypatch):
    monkeypatch.setattr(script, "SECTIONS", {"quality-phrases": lambda: "three epochs\n",
                                             "quality-phrases-1epoch": lambda: "one epoch\n"})
    text = ("<!-- begin: quality-phrases-1epoch (written by ...) -->\nold\n<!-- end: quality-phrases-1epoch -->\n"
            "<!-- begin: quality-phrases -->\nold\n<!-- end: quality-phrases -->\n")
    assert script.updated(text) == (
        "<!-- begin: quality-phrases-1epoch (written by ...) -->\none epoch\n<!-- end: quality-phrases-1epoch -->\n"
        "<!-- begin: quality-phrases -->\nthree epochs\n<!-- end: quality-phrases -->\n")
    with pytest.raises(ValueError, match="no section 'quality-phrases'"):
        script.updated(text.split("<!-- begin: quality-phrases -->")[0])
