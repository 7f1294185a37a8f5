"""Distillation: the loss, the teacher table and a student that really learns from its teacher."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sst5.config import resolve_config
from sst5.distill import (
    PROB_COLUMNS,
    SHIPPED_TEACHERS,
    TEACHER_COLUMN,
    average_teachers,
    distillation_loss,
    read_teacher,
    teacher_path,
    teacher_targets,
    with_teacher,
    write_teacher,
)
from sst5.models import load_classifier
from sst5.training import build_trainer, prepare_splits, tokenize_splits


def test_the_loss_mixes_cross_entropy_and_the_softened_teacher():
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 5), torch.randint(0, 5, (8,))
    one_hot = torch.nn.functional.one_hot(labels, 5).float()
    cross_entropy = torch.nn.functional.cross_entropy(logits, labels)
    # a teacher sure of the label, at T=1, is the label: KL(one-hot || p) is the cross-entropy
    assert distillation_loss(logits, labels, one_hot, weight=1.0, temperature=1.0) == pytest.approx(
        cross_entropy.item(), abs=1e-4)
    unmixed = distillation_loss(logits, labels, one_hot, weight=0.0, temperature=3.0)
    assert unmixed.item() == pytest.approx(cross_entropy.item())
    # a student equal to its teacher has no soft loss at any temperature
    teacher = torch.softmax(logits, dim=-1)
    assert distillation_loss(logits, labels, teacher, weight=1.0, temperature=2.0).item() == pytest.approx(0, abs=1e-5)
    mixed = distillation_loss(logits, labels, teacher, weight=0.25, temperature=2.0)
    assert mixed.item() == pytest.approx(0.75 * cross_entropy.item(), abs=1e-5)


def _teacher_table(texts, label: int) -> pd.DataFrame:
    probabilities = np.full((len(texts), 5), 0.01, dtype=np.float32)
    probabilities[:, label] = 0.96
    return pd.DataFrame({"text": texts, **dict(zip(PROB_COLUMNS, probabilities.T, strict=True))})


def test_teacher_tables_are_checked_and_matched_by_text(tmp_path):
    path = write_teacher(_teacher_table(["a good film", "bad"], label=3), tmp_path / "teacher.parquet")
    table = read_teacher(path)
    assert teacher_targets(table, ["bad", "a good film", "bad"]).argmax(axis=1).tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match="no probabilities for 1 of 2 training texts.*'unseen'"):
        teacher_targets(table, ["bad", "unseen"])
    with pytest.raises(FileNotFoundError, match="neither a shipped teacher"):
        teacher_path(tmp_path / "missing.parquet")
    table.assign(prob_0=0.5).to_parquet(tmp_path / "damaged.parquet")
    with pytest.raises(ValueError, match="do not sum to 1"):
        read_teacher(tmp_path / "damaged.parquet")


def test_an_ensemble_teacher_averages_its_members_text_by_text():
    sure = _teacher_table(["a good film", "bad"], label=3)
    other = _teacher_table(["a good film", "bad"], label=1)
    table = average_teachers([sure, other])
    assert list(table["text"]) == ["a good film", "bad"]
    # each class's probability is the members' mean: 0.96 and 0.01 make 0.485 for both named classes
    np.testing.assert_allclose(table[PROB_COLUMNS].to_numpy()[0], [0.01, 0.485, 0.01, 0.485, 0.01], rtol=1e-6)
    np.testing.assert_allclose(table[PROB_COLUMNS].sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="table 2 scores other texts"):
        average_teachers([sure, _teacher_table(["bad", "a good film"], label=1)])
    with pytest.raises(ValueError, match="two tables or more"):
        average_teachers([sure])


def test_the_ensemble_script_writes_a_teacher_and_the_ensembles_accuracy(tmp_path, sst_source):
    """A teacher averaged with itself is itself, and its recorded accuracy is its committed run's."""
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    shipped, out = benchmarks / "results" / "distillation" / "teacher_mpnet.parquet", tmp_path / "ensemble.parquet"
    # no --data: the script takes SST5_DATA, as a user runs it, and still writes the table compact (float16, no text)
    subprocess.run([sys.executable, str(benchmarks / "teacher_ensemble.py"), str(out), str(shipped), str(shipped)],
                   check=True, capture_output=True, text=True, env={**os.environ, "SST5_DATA": sst_source})
    assert out.stat().st_size < 2_000_000
    np.testing.assert_allclose(read_teacher(out, sst_source)[PROB_COLUMNS],
                               read_teacher(shipped, sst_source)[PROB_COLUMNS], atol=1e-3)
    summary = json.loads(out.with_suffix(".json").read_text())
    member = json.loads(shipped.with_suffix(".json").read_text())
    assert summary["test_accuracy"] == pytest.approx(member["test"]["sentence"]["accuracy"])
    assert [m["teacher_run"] for m in summary["members"]] == [member["teacher_run"]] * 2


@pytest.mark.parametrize("name", sorted(SHIPPED_TEACHERS))
def test_the_shipped_teacher_covers_every_distinct_training_phrase(sst_source, name):
    splits = prepare_splits(resolve_config("cpu", train_on="distinct_phrases"), sst_source)  # all the data
    table = read_teacher(name)
    targets = teacher_targets(table, splits["train"]["text"])
    assert len(table) == splits["train"].num_rows == len(targets)
    # a teacher, not the labels: it agrees with most training labels and is unsure of some
    agreement = (targets.argmax(axis=1) == np.asarray(splits["train"]["label"])).mean()
    assert 0.6 < agreement < 0.99 and targets.max(axis=1).min() < 0.5


def test_a_student_learns_what_its_teacher_says(tmp_path, sst_source):
    """A teacher that calls every training text 'positive', alone in the loss, makes the student say 'positive'."""
    cfg = resolve_config("smoke", epochs=1, schedule="random", max_sentences=200, tracker="none", progress=False,
                         distill_weight=1.0, distill_temperature=1.0, output_dir=str(tmp_path / "run"))
    splits = prepare_splits(cfg, sst_source)
    write_teacher(_teacher_table(list(dict.fromkeys(splits["train"]["text"])), label=4), tmp_path / "t.parquet")
    shares = {}
    for teacher in (None, str(tmp_path / "t.parquet")):
        run = dataclasses.replace(cfg, teacher=teacher)
        model, tokenizer = load_classifier(run.model_name, sst_source, seed=run.seed)
        trainer = build_trainer(run, model, tokenizer, tokenize_splits(splits, tokenizer, run.max_length))
        assert (TEACHER_COLUMN in trainer.train_dataset.column_names) == (teacher is not None)
        trainer.train()
        predicted = trainer.predict(trainer.eval_dataset).predictions.argmax(axis=1)
        shares[teacher is not None] = float((predicted == 4).mean())
    assert shares[True] > 0.9 > shares[False]


def test_a_run_without_teacher_is_left_alone_and_weights_are_checked(sst_source, tmp_path):
    cfg = resolve_config("smoke", max_sentences=20)
    dataset = prepare_splits(cfg, sst_source)["train"]
    assert with_teacher(dataset, None) is dataset
    with pytest.raises(ValueError, match="distill_weight=1.5 is out of range"):
        resolve_config("smoke", distill_weight=1.5)


def test_a_compact_teacher_keeps_its_probabilities_and_refuses_other_rows(tmp_path, sst_source):
    shipped = read_teacher("mpnet", sst_source)
    path = write_teacher(shipped, tmp_path / "compact.parquet", compact_for=sst_source)
    again = read_teacher(path, sst_source)
    assert list(again["text"]) == list(shipped["text"])
    assert np.abs(again[PROB_COLUMNS].to_numpy() - shipped[PROB_COLUMNS].to_numpy()).max() < 1e-3  # float16
    assert path.stat().st_size < 2e6
    with pytest.raises(ValueError, match="one row per distinct training phrase"):
        write_teacher(shipped.iloc[1:], tmp_path / "other.parquet", compact_for=sst_source)
