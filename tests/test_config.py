import os
import sys
import types
import typing
from pathlib import Path

import pytest

import sst5.config
from sst5.batch import plan_runs
from sst5.config import (
    COLAB_COURSE_DIR,
    COURSE_DIR_ENV,
    MODEL_LISTS,
    PROFILES,
    RUN_PARAMETERS,
    RunConfig,
    course_dir,
    resolve_config,
)
from sst5.models import read_model_list

ROOT = Path(__file__).resolve().parents[1]


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("SST5_PROFILE", "smoke")
    assert resolve_config().profile == "smoke"
    assert resolve_config().model_name == "tiny-bert"


def test_unknown_profile_lists_valid_ones(monkeypatch):
    monkeypatch.setenv("SST5_PROFILE", "tpu")
    with pytest.raises(ValueError, match="unknown profile 'tpu'.*smoke, cpu, gpu"):
        resolve_config()


def test_none_means_profile_default_and_values_override():
    cfg = resolve_config("cpu", epochs=None, learning_rate=3e-5)
    assert cfg.epochs == PROFILES["cpu"]["epochs"]
    assert cfg.learning_rate == 3e-5


def test_ill_typed_and_unknown_parameters_fail_early():
    with pytest.raises(TypeError, match="'epochs' must be int"):
        resolve_config("smoke", epochs="3")
    with pytest.raises(ValueError, match="unknown parameter.*'epoch'"):
        resolve_config("smoke", epoch=3)
    with pytest.raises(ValueError, match="train_on="):
        resolve_config("smoke", train_on="words")
    with pytest.raises(ValueError, match="covers 2 epoch"):
        resolve_config("smoke", schedule="stratified:2", epochs=3)


def test_an_int_is_accepted_for_a_float():
    assert isinstance(resolve_config("smoke", warmup_ratio=0).warmup_ratio, float)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_shipped_model_list_plans_under_its_profile(profile):
    models = read_model_list(PROFILES[profile]["models"])
    specs = plan_runs(models, {}, profile)  # every override is a valid notebook-03 parameter and value
    assert [spec.model for spec in specs] == [m.split()[0] for m in models]
    assert len({spec.name for spec in specs}) == len(specs)


def test_every_numeric_parameter_has_a_range():
    hints = typing.get_type_hints(RunConfig)
    numeric = [n for n in RUN_PARAMETERS if {int, float} & {*typing.get_args(hints[n]), hints[n]}]
    assert numeric
    for name in numeric:
        with pytest.raises(ValueError, match=rf"parameter {name}=-1(\.0)? is out of range; allowed: "):
            resolve_config("smoke", **{name: -1})


def test_the_shipped_lists_are_the_listed_ones_and_the_phrase_recipe_plans_its_seeds():
    folder = Path(sst5.config.__file__).parent / "model_lists"
    assert sorted(MODEL_LISTS) == sorted(p.stem for p in folder.glob("*.txt"))
    specs = plan_runs(read_model_list("cpu-phrases"), {}, "cpu")
    assert [spec.params["seed"] for spec in specs] == [42, 1, 2] and len({spec.name for spec in specs}) == 3
    assert all(spec.params["train_on"] == "distinct_phrases" for spec in specs)


def test_the_shipped_large_list_is_the_recipe_the_results_page_measured():
    """A shipped list promises what its committed runs measured: entries of the benchmark list they ran (cpu-large
    keeps one seed of it: an hour a run on a CPU)."""
    measured = read_model_list(ROOT / "benchmarks" / "quality_mpnet.txt")
    assert read_model_list("cpu-large") == measured[:1] and len(measured) > 1


def test_gpu_list_covers_the_bert_family():
    models = read_model_list("gpu")
    assert len(models) >= 35
    for family in ("bert-base", "roberta", "distilbert", "albert", "electra", "deberta-v3", "xlnet", "mpnet",
                   "MiniLM", "mobilebert", "ModernBERT", "TinyBERT", "deberta-base"):
        assert any(family in m for m in models), family


def test_every_gpu_list_override_is_a_valid_parameter():
    from sst5.batch import plan_runs

    specs = plan_runs(read_model_list("gpu"), {}, "gpu")
    rates = {spec.model: spec.params.get("learning_rate") for spec in specs}
    assert rates["roberta-large"] == 1e-5 and rates["google/electra-small-discriminator"] == 3e-4
    assert next(s for s in specs if s.model == "google/mobilebert-uncased").params["mixed_precision"] is False


def test_empty_model_list_is_a_clear_error(tmp_path):
    empty = tmp_path / "models.txt"
    empty.write_text("# nothing yet\n\n")
    with pytest.raises(ValueError, match="holds no model"):
        read_model_list(empty)
    with pytest.raises(FileNotFoundError, match="neither a shipped list"):
        read_model_list(tmp_path / "missing.txt")


def test_every_notebook_uses_one_course_folder(tmp_path, monkeypatch):
    """Runs and the custom split live in the course folder: ~/sst5-course here (absolute: the same from every
    kernel's folder), $SST5_COURSE_DIR when set, and on Colab Google Drive (mounted on first use), which outlives
    a runtime and is shared by every notebook."""
    monkeypatch.delenv(COURSE_DIR_ENV, raising=False)
    home = Path.home() / "sst5-course"
    assert course_dir() == home and course_dir().is_absolute()
    cfg = resolve_config("smoke")
    assert (cfg.output_dir, cfg.split_file) == (str(home / "smoke"), str(home / "split.json"))
    assert resolve_config("smoke", output_dir="elsewhere/run").output_dir == "elsewhere/run"  # as given
    monkeypatch.setenv(COURSE_DIR_ENV, str(tmp_path / "course"))
    assert resolve_config("cpu").output_dir == str(tmp_path / "course" / "cpu")
    monkeypatch.delenv(COURSE_DIR_ENV)

    mounted = []
    drive = types.SimpleNamespace(mount=mounted.append)
    colab = types.ModuleType("google.colab")
    colab.drive = drive
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(os.path, "ismount", lambda path: path in mounted)
    assert course_dir() == Path(COLAB_COURSE_DIR) and mounted == ["/content/drive"]
    assert resolve_config("gpu").output_dir == f"{COLAB_COURSE_DIR}/gpu" and mounted == ["/content/drive"]  # once
