"""Faults a user meets for real: a batch killed (kill -9, as when Colab drops the runtime) during training,
while saving the model, and during notebook 04, then resumed with the same command, ends with the same
leaderboard as a batch that was never interrupted."""

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sst5.runs import RunStatus, read_json, run_status

pytestmark = pytest.mark.slow

PARAMS = ["--profile", "smoke", "--param", "epochs=2", "--param", "schedule=random", "--param", "max_sentences=150"]
SCORES = ["validation_sentence_accuracy", "test_sentence_accuracy", "test_sentence_macro_f1", "test_phrase_accuracy"]


def _batch(folder: Path, sst_source: str) -> list[str]:
    (folder / "models.txt").write_text("tiny-bert\n")
    return [str(Path(sys.executable).with_name("sst5-batch")), "--models", "models.txt", "--out", "out",
            "--data", sst_source, *PARAMS]


def _run_dir(folder: Path) -> Path | None:
    runs = [p for p in (folder / "out").glob("tiny-bert--*") if p.is_dir()] if (folder / "out").is_dir() else []
    return runs[0] if runs else None


def _kill_when(process: subprocess.Popen, folder: Path, reached, timeout: float = 600) -> Path:
    """Poll every 2 ms until ``reached(run_dir)``, then kill -9 the batch and its notebook kernels at once."""
    deadline = time.monotonic() + timeout
    while True:
        run = _run_dir(folder)
        if run is not None and reached(run):
            break
        if process.poll() is not None:
            pytest.fail(f"the batch ended (exit {process.returncode}) before the fault point")
        if time.monotonic() > deadline:
            pytest.fail("the fault point was not reached in time")
        time.sleep(0.002)
    tree = psutil.Process(process.pid)
    for child in [*tree.children(recursive=True), tree]:
        child.kill()
    process.wait()
    return run


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, sst_source):
    folder = tmp_path_factory.mktemp("uninterrupted")
    subprocess.run(_batch(folder, sst_source), cwd=folder, check=True, capture_output=True)
    return pd.read_csv(folder / "out" / "leaderboard.csv")


def _training(run: Path) -> bool:
    return any((run / "checkpoints").glob("checkpoint-*"))


def _saving(run: Path) -> bool:
    return (run / "model").is_dir() or any(run.glob(".model.tmp*"))


def _analysing(run: Path) -> bool:
    return (run / "04_error_analysis.ipynb").is_file()


@pytest.mark.parametrize(("reached", "left"), [(_training, RunStatus.TRAINING), (_saving, RunStatus.TRAINING),
                                               (_analysing, RunStatus.TRAINED)],
                         ids=["during training", "while saving the model", "during notebook 04"])
def test_a_killed_batch_resumes_to_the_same_leaderboard(tmp_path, sst_source, uninterrupted, reached, left):
    command = _batch(tmp_path, sst_source)
    run = _kill_when(subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                     tmp_path, reached)
    assert run_status(run) == left, "the kill landed outside the fault point's window"
    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert run_status(run) == RunStatus.COMPLETE
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert board["run"].tolist() == uninterrupted["run"].tolist()
    assert board[SCORES].equals(uninterrupted[SCORES]), "the resumed run scored differently"
    metrics = read_json(run / "metrics.json")
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["train_seconds"] == pytest.approx(sum(h["epoch_seconds"] for h in metrics["history"]))
    assert not list(run.glob(".model.*")) and not (run / "checkpoints").exists()
    assert read_json(tmp_path / "out" / "failures.json") == {}  # nothing recorded as failed
