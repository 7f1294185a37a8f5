"""Each notebook on its own, as Colab opens it from its badge: a fresh folder and kernel process per notebook,
with only the course folder ($SST5_COURSE_DIR; Google Drive on Colab) shared between them."""

import json
from pathlib import Path

import pandas as pd
import papermill
import pytest

from sst5 import runs as runs_module
from sst5.course import notebook_path
from sst5.runs import REFERENCE_RUN, find_runs, is_finished, reference_runs_dir

ROOT = Path(__file__).resolve().parents[1]


def _run_alone(name: str, folder: Path, **parameters) -> Path:
    """Execute the installed notebook ``name`` in the fresh folder ``folder`` (its own kernel process)."""
    folder.mkdir(parents=True)
    executed = folder / name
    papermill.execute_notebook(str(notebook_path(name)), str(executed), cwd=str(folder), kernel_name="python3",
                               parameters={"profile": "smoke", **parameters}, progress_bar=False)
    return executed


def _outputs(executed: Path) -> str:
    cells = json.loads(executed.read_text())["cells"]
    return "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))


def test_the_reference_runs_are_real_runs_without_weights():
    runs = find_runs(reference_runs_dir())
    assert len(runs) >= 10 and all(is_finished(run) for run in runs)
    models = set()
    for run in runs:
        assert {p.name for p in run.iterdir()} == {"metrics.json", "predictions.parquet"}  # no model, no checkpoint
        metrics = json.loads((run / "metrics.json").read_text())
        models.add(metrics["params"]["model_name"])
        predictions = pd.read_parquet(run / "predictions.parquet")
        assert set(predictions["split"]) <= {"validation", "test"}
        assert predictions[predictions["split"] == "validation"]["is_root"].all()  # validation sentences only
        sentences = predictions[(predictions["split"] == "test") & predictions["is_root"]]
        assert metrics["test"]["sentence"]["accuracy"] == pytest.approx(
            float((sentences["label"] == sentences["predicted"]).mean()), abs=1e-9)
    assert {"minilm", "mpnet"} <= models
    # no run twice: each committed folder holds one recipe's seeds
    identities = [json.dumps({k: v for k, v in json.loads((run / "metrics.json").read_text())["params"].items()
                              if k not in ("output_dir", "progress", "tracker")}, sort_keys=True) for run in runs]
    precision = [json.loads((run / "metrics.json").read_text())["provenance"]["precision"]["used"] for run in runs]
    assert len(set(zip(identities, precision, strict=True))) == len(runs)
    reference, _ = runs_module.run_or_reference(None, Path("/nonexistent-course"))
    assert (reference / "predictions.parquet").is_file() and "validation" in set(
        pd.read_parquet(reference / "predictions.parquet")["split"])  # notebook 04 can show its calibration


@pytest.mark.slow
def test_notebooks_04_and_05_opened_alone_read_the_reference_runs_and_say_so(tmp_path, monkeypatch):
    course = tmp_path / "course"
    monkeypatch.setenv("SST5_COURSE_DIR", str(course))
    executed = _run_alone("04_error_analysis.ipynb", tmp_path / "04")
    assert "reads the course's reference run" in _outputs(executed)
    recorded = json.loads((course / "04_error_analysis.json").read_text())
    reference = find_runs(reference_runs_dir())
    assert recorded["reference_run"] and recorded["run"] in {run.name for run in reference}
    assert "has no model/ folder: run notebook 03" in _outputs(executed)

    executed = _run_alone("05_compare_models.ipynb", tmp_path / "05")
    assert "compares the course's reference runs" in _outputs(executed)
    recorded = json.loads((course / "05_compare_models.json").read_text())
    assert recorded["reference_runs"] and recorded["runs"] == len(reference)
    assert (course / "leaderboard.csv").is_file()  # written to the course folder, never into the package
    assert sorted(p.name for p in course.iterdir()) == ["04_error_analysis.json", "05_compare_models.json",
                                                        "leaderboard.csv", "leaderboard.md"]
    assert not any(p.name.startswith("leaderboard") for p in reference_runs_dir().rglob("*"))


@pytest.mark.slow
def test_the_course_in_order_shares_nothing_but_the_course_folder(tmp_path, monkeypatch, sst_source):
    """02 saves the split, 03 trains on it, 04 and 05 read the run: each from its own folder and process."""
    course = tmp_path / "course"
    monkeypatch.setenv("SST5_COURSE_DIR", str(course))
    _run_alone("02_splitting.ipynb", tmp_path / "02", data=sst_source, n_seeds=5, version_in_clearml=False)
    assert (course / "split.json").is_file()
    _run_alone("03_fine_tuning.ipynb", tmp_path / "03", data=sst_source, split="custom", epochs=1,
               schedule="random", max_sentences=120, tracker="none", progress=False)
    run = course / "smoke"
    assert is_finished(run) and (run / "split.json").is_file()
    executed = _run_alone("04_error_analysis.ipynb", tmp_path / "04")
    assert "reference run" not in _outputs(executed)
    assert json.loads((run / "metrics.json").read_text())["status"] == "complete"
    _run_alone("05_compare_models.ipynb", tmp_path / "05")
    recorded = json.loads((course / "05_compare_models.json").read_text())
    assert recorded == {**recorded, "runs": 1, "reference_runs": False}
    for notebook in ("02", "03", "04", "05"):  # nothing but the executed notebook lands in its own folder
        assert sorted(p.name for p in (tmp_path / notebook).iterdir()) == [
            next(n for n in ("02_splitting.ipynb", "03_fine_tuning.ipynb", "04_error_analysis.ipynb",
                             "05_compare_models.ipynb") if n.startswith(notebook))]


def test_the_run_to_analyse_is_the_one_given_else_yours_else_the_reference(tmp_path, monkeypatch):
    from sst5 import runs

    mine = tmp_path / "course" / "cpu"
    with pytest.raises(FileNotFoundError, match="holds no finished run"):
        runs.run_or_reference(mine, tmp_path / "course")  # given explicitly (as the batch does): never swapped
    reference, is_reference = runs.run_or_reference(None, tmp_path / "course")
    assert is_reference and reference == reference_runs_dir() / REFERENCE_RUN
    assert runs.runs_or_reference(None, tmp_path / "course") == (reference_runs_dir(), True)
    assert runs.runs_or_reference(tmp_path / "batch", tmp_path / "course") == (tmp_path / "batch", False)
    monkeypatch.setattr(runs, "reference_runs_dir", lambda: tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no reference run in .*reinstall the course"):
        runs.run_or_reference(None, tmp_path / "course")


@pytest.mark.slow
def test_a_colab_batch_reaches_notebooks_04_and_05_opened_alone(tmp_path, monkeypatch, sst_source):
    """colab/run_models.ipynb writes into the course folder (batch/); 05 and 04, each from its own folder and
    process with only the course folder shared, read those runs, whatever profile made them."""
    course = tmp_path / "course"
    monkeypatch.setenv("SST5_COURSE_DIR", str(course))
    (tmp_path / "launcher").mkdir()
    (tmp_path / "launcher" / "models.txt").write_text("tiny-bert seed=1\ntiny-bert seed=2\n")
    papermill.execute_notebook(ROOT / "colab" / "run_models.ipynb", tmp_path / "launcher" / "run_models.ipynb",
                               parameters={"models": "models.txt", "profile": "smoke", "data": sst_source,
                                           "params": "epochs=1 schedule=random max_sentences=100"},
                               cwd=str(tmp_path / "launcher"), kernel_name="python3", progress_bar=False)
    batch = sorted(p.name for p in (course / "batch").iterdir() if p.is_dir() and is_finished(p))
    assert len(batch) == 2

    monkeypatch.setenv("SST5_PROFILE", "cpu")  # another runtime type: the runs are still found
    executed = _run_alone("05_compare_models.ipynb", tmp_path / "05", profile=None)
    assert "reference runs" not in _outputs(executed) and "Comparing the runs in" in _outputs(executed)
    assert json.loads((course / "05_compare_models.json").read_text())["runs"] == 2
    board = pd.read_csv(course / "leaderboard.csv")
    assert sorted(board["run"]) == [f"batch/{name}" for name in batch] and set(board["profile"]) == {"smoke"}
    executed = _run_alone("04_error_analysis.ipynb", tmp_path / "04", profile=None)
    assert "the newest finished run in the course folder" in _outputs(executed)


def test_notebook_03_refuses_a_misspelt_papermill_parameter(tmp_path, monkeypatch):
    """papermill only warns about a name the parameters cell lacks; the run would train without it."""
    monkeypatch.setenv("SST5_COURSE_DIR", str(tmp_path / "course"))
    with pytest.raises(papermill.PapermillExecutionError, match=r"unknown parameter\(s\) learning_rat \(papermill -p"):
        _run_alone("03_fine_tuning.ipynb", tmp_path / "03", learning_rat=0.1)
    assert not (tmp_path / "course").exists()  # refused before anything was written
