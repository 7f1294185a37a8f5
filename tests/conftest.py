"""Shared fixtures: the official SST release (from SST5_DATA) and a tiny random BERT."""

import os
from pathlib import Path

import papermill
import pytest

from sst5.data import load_sst, sentence_level

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sst_source() -> str:
    source = os.environ.get("SST5_DATA")
    if not source:
        pytest.fail("set SST5_DATA to trainDevTestTrees_PTB.zip (CI points it at ../shared/data/sst/)")
    return source


@pytest.fixture(scope="session")
def sst(sst_source):
    return load_sst(sst_source)


@pytest.fixture(scope="session")
def sst_sentences(sst):
    return sentence_level(sst)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, sst_sentences) -> Path:
    from sst5.models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), sst_sentences["train"]["text"], seed=0)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, sst_source):
    """Notebook 03 executed by papermill with injected parameters, ClearML offline (its model is in run/model)."""
    folder = tmp_path_factory.mktemp("nb03")
    clearml_cache = folder / "clearml"
    previous = os.environ.get("CLEARML_CACHE_DIR")
    os.environ["CLEARML_CACHE_DIR"] = str(clearml_cache)
    try:
        papermill.execute_notebook(
            ROOT / "notebooks" / "03_fine_tuning.ipynb", folder / "executed.ipynb", cwd=str(folder),
            parameters={"profile": "smoke", "data": sst_source, "schedule": "stratified:1,random:1", "epochs": 2,
                        "max_sentences": 200, "output_dir": str(folder / "run"), "progress": False},
            kernel_name="python3", progress_bar=False,
        )
    finally:
        os.environ.pop("CLEARML_CACHE_DIR") if previous is None else os.environ.update(CLEARML_CACHE_DIR=previous)
    return folder
