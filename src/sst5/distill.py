"""Knowledge distillation: a small student trained on a stronger teacher's probabilities.

A fine-tuned teacher (MPNet-base, 110M parameters) scores every training text once
(:func:`teacher_probabilities`); the table (text and five probabilities) is all the student needs, and students
train without the teacher's weights. A teacher of the official release's distinct training phrases is written
*compact* (:func:`write_teacher`): its probabilities in float16, in the release's order, with the release's
fingerprint and no text (the texts come back from the data when it is read), 1.4 MB instead of 5.7, small enough
to commit and to ship (:data:`SHIPPED_TEACHERS`). The student's loss mixes the usual cross-entropy on the
treebank's label with the teacher's softened distribution (:func:`distillation_loss`, Hinton et al. 2015): the
teacher's "somewhat positive, possibly positive" says more than the one hard label.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .data import column, first_occurrences, load_sst, read_release
from .runs import PROB_COLUMNS, write_atomic

__all__ = [
    "TEACHER_COLUMN",
    "SHIPPED_TEACHERS",
    "teacher_path",
    "training_phrases",
    "teacher_probabilities",
    "write_teacher",
    "read_teacher",
    "average_teachers",
    "teacher_targets",
    "with_teacher",
    "distillation_loss",
    "Distillation",
    "distillation_of",
]

#: The training column holding the teacher's five probabilities of a text.
TEACHER_COLUMN = "teacher_probs"
#: Teachers shipped with the course (``sst5.results``, from ``benchmarks/results/``): name -> file.
SHIPPED_TEACHERS = {"mpnet": "distillation/teacher_mpnet.parquet",
                    "mpnet-ensemble": "distillation/teacher_mpnet_ensemble.parquet"}


def teacher_path(name_or_path: str | Path) -> Path:
    """The teacher table named ``name_or_path``: a shipped teacher (:data:`SHIPPED_TEACHERS`) or a file.

    Raises
    ------
    FileNotFoundError
        Neither a shipped teacher nor a readable file; the message says how to make one.
    """
    if str(name_or_path) in SHIPPED_TEACHERS:
        return Path(str(importlib.resources.files("sst5.results") / SHIPPED_TEACHERS[str(name_or_path)]))
    path = Path(name_or_path).expanduser().absolute()
    if not path.is_file():
        raise FileNotFoundError(
            f"teacher {str(name_or_path)!r} is neither a shipped teacher ({', '.join(SHIPPED_TEACHERS)}) nor a file; "
            "write one from a finished run with benchmarks/teacher_probabilities.py")
    return path


#: The parquet metadata key of a compact teacher table: the fingerprint of the release its rows follow.
_RELEASE_KEY = b"sst5_release"


def training_phrases(data_source: str | Path | None = None) -> list[str]:
    """The official release's distinct training phrases, each once, in the release's order (the rows of a compact
    teacher table, and :func:`sst5.training.prepare_splits`'s ``train_on="distinct_phrases"``)."""
    texts = column(load_sst(data_source)["train"], "text")
    return list(texts[first_occurrences(texts)])


def teacher_probabilities(model, tokenizer, texts: Sequence[str], max_length: int = 128,
                          cpu_bf16: bool = False) -> pd.DataFrame:
    """The teacher's table: one row per distinct text of ``texts``, with ``prob_0`` … ``prob_4`` (float32)."""
    from .predict import predict_proba

    unique = list(dict.fromkeys(texts))
    probabilities = predict_proba(model, tokenizer, unique, max_length=max_length, cpu_bf16=cpu_bf16)
    return pd.DataFrame({"text": unique, **dict(zip(PROB_COLUMNS, probabilities.T, strict=True))})


def write_teacher(table: pd.DataFrame, path: str | Path, compact_for: str | Path | None = None) -> Path:
    """Write a teacher table atomically (parquet, zstd): ``text`` and the probabilities in float32; or, with
    ``compact_for`` (an SST source), the probabilities alone in float16, in the order of that release's
    :func:`training_phrases`, with its fingerprint (:func:`read_teacher` brings the texts back from the data).

    Raises
    ------
    ValueError
        ``compact_for`` is given and ``table``'s texts are not that release's training phrases, in order.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if compact_for is None:
        return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False, compression="zstd"))
    if list(table["text"]) != training_phrases(compact_for):
        raise ValueError("a compact teacher table needs one row per distinct training phrase of the release, in "
                         "its order (benchmarks/teacher_probabilities.py writes them so)")
    arrow = pa.Table.from_pandas(table[PROB_COLUMNS].astype(np.float16), preserve_index=False)
    arrow = arrow.replace_schema_metadata({_RELEASE_KEY: read_release(compact_for).fingerprint.encode()})
    return write_atomic(path, lambda tmp: pq.write_table(arrow, tmp, compression="zstd", compression_level=19))


def read_teacher(name_or_path: str | Path, data_source: str | Path | None = None) -> pd.DataFrame:
    """A teacher table (:func:`teacher_path`) with ``text`` and five float32 probabilities per row, checked; a
    compact table gets its texts from the release in ``data_source`` (default: ``SST5_DATA``), which must be the
    one it was written for.

    Raises
    ------
    ValueError
        The file is not a teacher table, or a compact one of another release; the message names it.
    """
    import pyarrow.parquet as pq

    path = teacher_path(name_or_path)
    arrow = pq.read_table(path)
    table = arrow.to_pandas()
    release = (arrow.schema.metadata or {}).get(_RELEASE_KEY)
    if release is not None:
        if release.decode() != read_release(data_source).fingerprint:
            raise ValueError(f"{path} holds a teacher of another SST release than {read_release(data_source).path}; "
                             "point SST5_DATA (or data) at the official release")
        table.insert(0, "text", training_phrases(data_source))
    missing = [c for c in ("text", *PROB_COLUMNS) if c not in table.columns]
    if missing:
        raise ValueError(f"{path} is not a teacher table: it lacks the column(s) {', '.join(missing)}")
    probabilities = table[PROB_COLUMNS].to_numpy(dtype=np.float32)
    sums = probabilities.sum(axis=1, keepdims=True)
    if not np.allclose(sums, 1.0, atol=1e-2):  # float16 rounding moves a sum by less than 0.005
        raise ValueError(f"{path}: the probabilities of some rows do not sum to 1; it is damaged, write it again")
    table[PROB_COLUMNS] = probabilities / sums
    return table


def average_teachers(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One teacher from several (:func:`read_teacher`'s tables): each text's probabilities averaged, as the
    course's ensembles average their members' (a stronger teacher than any one of them, at no training cost).

    Raises
    ------
    ValueError
        Fewer than two tables, or tables of different texts (teachers written for other training data).
    """
    if len(tables) < 2:
        raise ValueError(f"an ensemble teacher needs two tables or more, got {len(tables)}")
    texts = list(tables[0]["text"])
    for position, table in enumerate(tables[1:], start=2):
        if list(table["text"]) != texts:
            raise ValueError(f"teacher table {position} scores other texts than table 1: an ensemble needs "
                             "teachers of the same training texts, in the same order")
    mean = np.mean([table[PROB_COLUMNS].to_numpy(dtype=np.float32) for table in tables], axis=0)
    return pd.DataFrame({"text": texts, **dict(zip(PROB_COLUMNS, mean.T, strict=True))})


def teacher_targets(table: pd.DataFrame, texts: Sequence[str]) -> np.ndarray:
    """The teacher's probabilities (``len(texts)`` x 5, float32) for each of ``texts``, matched by text.

    Raises
    ------
    ValueError
        Some texts are not in the table (a teacher written for other data or another split); the message
        counts them and shows one.
    """
    index = pd.Index(table["text"])
    positions = index.get_indexer(list(texts))
    missing = np.flatnonzero(positions < 0)
    if len(missing):
        raise ValueError(
            f"the teacher has no probabilities for {len(missing):,} of {len(texts):,} training texts (e.g. "
            f"{texts[missing[0]]!r}): it was written for other training data; write it for this run's training "
            "texts (benchmarks/teacher_probabilities.py)")
    return table[PROB_COLUMNS].to_numpy(dtype=np.float32)[positions]


def with_teacher(dataset, teacher: str | Path | None, data: str | Path | None = None):
    """``dataset`` (a tokenized training split) with the ``teacher``'s probabilities of each text as the column
    :data:`TEACHER_COLUMN` (a compact teacher reads its texts from ``data``, the run's SST source); unchanged when
    ``teacher`` is None (no distillation)."""
    if teacher is None:
        return dataset
    targets = teacher_targets(read_teacher(teacher, data), column(dataset, "text"))
    return dataset.add_column(TEACHER_COLUMN, targets.tolist())


def distillation_loss(logits, labels, teacher_probs, weight: float, temperature: float):
    """``(1 - weight) * cross-entropy(labels) + weight * T² * KL(teacher_T || student_T)``, batch means.

    Both distributions are softened at temperature ``T`` (the teacher's as ``p ** (1/T)``, renormalised, which
    is its logits divided by ``T``); ``T²`` keeps the soft term's gradients on the hard term's scale.
    """
    import torch
    import torch.nn.functional as F

    logits = logits.float()
    hard = F.cross_entropy(logits, labels)
    teacher_log = torch.log_softmax(torch.log(teacher_probs.float().clamp_min(1e-8)) / temperature, dim=-1)
    student_log = torch.log_softmax(logits / temperature, dim=-1)
    soft = F.kl_div(student_log, teacher_log, log_target=True, reduction="batchmean") * temperature**2
    return (1 - weight) * hard + weight * soft


@dataclass(frozen=True)
class Distillation:
    """How a student learns from its teacher: the soft targets' ``weight`` and the ``temperature``."""

    weight: float
    temperature: float

    def loss(self, logits, labels, teacher_probs):
        """:func:`distillation_loss` with these settings."""
        return distillation_loss(logits, labels, teacher_probs, self.weight, self.temperature)


def distillation_of(config: RunConfig) -> Distillation | None:
    """The run's distillation settings, or None when it has no teacher."""
    if config.teacher is None:
        return None
    return Distillation(config.distill_weight, config.distill_temperature)
