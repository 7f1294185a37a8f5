"""Shared fixtures: the official SST release (from SST5_DATA) and a tiny random BERT."""

import os
from pathlib import Path

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
