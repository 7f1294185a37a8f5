"""Leakage-free splits of a treebank, a principled seed, and split files another machine can reload.

SST labels every phrase of every sentence. Splitting *phrases* at random puts pieces of the same review
on both sides, and the test score then measures memory. Here every tree (all rows of one
``sentence_id``) lands on exactly one side, and :func:`best_seed` picks, among candidate seeds, the one
whose train and test label distributions are closest by the Wasserstein (earth mover's) distance over
the ordinal labels 0-4.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict
from scipy.stats import wasserstein_distance
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from .config import SEED
from .runs import read_json, write_json

__all__ = [
    "SeedSearch",
    "SplitAssignment",
    "group_split",
    "random_phrase_split",
    "label_distance",
    "best_seed",
    "leakage_report",
    "make_custom_split",
    "save_split",
    "load_split",
    "apply_split",
    "version_split_in_clearml",
]


def _check_phrases(phrases: pd.DataFrame) -> None:
    missing = {"sentence_id", "label", "text", "is_root"} - set(phrases.columns)
    if missing:
        raise ValueError(f"phrases table lacks columns {sorted(missing)}; build it with sst5.data.to_frame")


def group_split(phrases: pd.DataFrame, test_size: float, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split phrases into train and test so that every tree lands on exactly one side.

    Parameters
    ----------
    phrases : pandas.DataFrame
        One row per phrase with ``sentence_id``, ``label``, ``text``, ``is_root``.
    test_size : float
        Share of *sentences* (trees) that go to the test side, in (0, 1).
    seed : int
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    train, test : pandas.DataFrame
    """
    _check_phrases(phrases)
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train_index, test_index = next(splitter.split(phrases, groups=phrases["sentence_id"]))
    return phrases.iloc[train_index], phrases.iloc[test_index]


def random_phrase_split(
    phrases: pd.DataFrame, test_size: float, seed: int = SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trap, for demonstration: split *phrases* at random, ignoring which tree they belong to."""
    train, test = train_test_split(phrases, test_size=test_size, random_state=seed)
    return train, test


def label_distance(a_labels: Iterable[int], b_labels: Iterable[int]) -> float:
    """Wasserstein distance between two label distributions on the ordinal scale 0-4 (in classes)."""
    return float(wasserstein_distance(np.asarray(list(a_labels)), np.asarray(list(b_labels))))


@dataclass(frozen=True)
class SeedSearch:
    """Result of :func:`best_seed`: the chosen seed, its distance, and every candidate's distance."""

    seed: int
    distance: float
    distances: dict[int, float] = field(repr=False)


def best_seed(
    phrases: pd.DataFrame, test_size: float, seeds: Iterable[int] = range(100), level: str = "sentences"
) -> SeedSearch:
    """Among ``seeds``, the group split whose train and test label distributions are closest.

    Parameters
    ----------
    phrases : pandas.DataFrame
        Phrase table (see :func:`group_split`).
    test_size : float
        Share of sentences on the test side.
    seeds : iterable of int
        Candidates, tried in order; ties go to the first.
    level : {"sentences", "phrases"}
        Compare root labels (the evaluation level, default) or all phrase labels.

    Returns
    -------
    SeedSearch
        Deterministic for the same inputs.
    """
    if level not in ("sentences", "phrases"):
        raise ValueError(f"level={level!r}; choose 'sentences' or 'phrases'")
    distances = {}
    for seed in seeds:
        train, test = group_split(phrases, test_size, seed)
        if level == "sentences":
            train, test = train[train["is_root"]], test[test["is_root"]]
        distances[int(seed)] = label_distance(train["label"], test["label"])
    if not distances:
        raise ValueError("best_seed needs at least one candidate seed")
    chosen = min(distances, key=distances.get)
    return SeedSearch(seed=chosen, distance=distances[chosen], distances=distances)


def leakage_report(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """How much of ``test`` was already seen in ``train``.

    Returns
    -------
    dict
        ``shared_sentences`` (trees on both sides: 0 for a group split),
        ``test_phrases_from_shared_sentences`` (share of test phrases whose tree also feeds train),
        ``test_phrases_seen``
        (share of test phrases whose exact text occurs in train), ``test_sentences_seen`` (share of
        test sentences whose full text occurs in train, as a sentence or phrase), and the sizes.
    """
    train_texts = set(train["text"])
    shared = set(train["sentence_id"]) & set(test["sentence_id"])
    roots = test[test["is_root"]]
    return {
        "train_phrases": len(train),
        "test_phrases": len(test),
        "shared_sentences": len(shared),
        "test_phrases_from_shared_sentences": float(test["sentence_id"].isin(shared).mean()),
        "test_phrases_seen": float(test["text"].isin(train_texts).mean()),
        "test_sentences_seen": float(roots["text"].isin(train_texts).mean()) if len(roots) else float("nan"),
    }


@dataclass(frozen=True)
class SplitAssignment:
    """Which sentences form each split, with the parameters and data fingerprint that made it."""

    sentence_ids: dict[str, list[int]]
    params: dict
    data_fingerprint: str

    def sizes(self) -> dict[str, int]:
        """Sentences per split."""
        return {name: len(ids) for name, ids in self.sentence_ids.items()}


def make_custom_split(
    phrases: pd.DataFrame,
    data_fingerprint: str,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    seeds: Iterable[int] = range(100),
) -> tuple[SplitAssignment, SeedSearch, SeedSearch]:
    """Group-split pooled phrases into train/validation/test with Wasserstein-optimal seeds.

    The test side is carved first (``test_size`` of all sentences), then validation from the rest
    (``validation_size`` of the remaining sentences), each with its own seed search.

    Returns
    -------
    assignment : SplitAssignment
    test_search, validation_search : SeedSearch
    """
    seeds = list(seeds)
    test_search = best_seed(phrases, test_size, seeds)
    rest, test = group_split(phrases, test_size, test_search.seed)
    validation_search = best_seed(rest, validation_size, seeds)
    train, validation = group_split(rest, validation_size, validation_search.seed)
    ids = {name: sorted(int(i) for i in part["sentence_id"].unique())
           for name, part in (("train", train), ("validation", validation), ("test", test))}
    params = {"test_size": test_size, "validation_size": validation_size, "seeds": [seeds[0], seeds[-1]],
              "test_seed": test_search.seed, "validation_seed": validation_search.seed}
    return SplitAssignment(ids, params, data_fingerprint), test_search, validation_search


def save_split(assignment: SplitAssignment, path: str | Path) -> Path:
    """Save a split as JSON (sentence ids per split, parameters, data fingerprint)."""
    return write_json(path, asdict(assignment))


def load_split(path: str | Path, data_fingerprint: str | None = None) -> SplitAssignment:
    """Load a split saved by :func:`save_split`; with ``data_fingerprint``, check it matches the data.

    Raises
    ------
    FileNotFoundError
        No split file at ``path`` (run notebook 02 first, or use the official split).
    ValueError
        The split was made from different data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no split file at {path}: run notebook 02 to create it, or use split='official'")
    raw = read_json(path)
    assignment = SplitAssignment(raw["sentence_ids"], raw["params"], raw["data_fingerprint"])
    if data_fingerprint is not None and assignment.data_fingerprint != data_fingerprint:
        raise ValueError(
            f"split file {path} was made from other data (fingerprint {assignment.data_fingerprint[:12]}…, "
            f"this data {data_fingerprint[:12]}…); recreate it with notebook 02"
        )
    return assignment


def apply_split(phrases: pd.DataFrame, assignment: SplitAssignment) -> DatasetDict:
    """Rebuild the splits of ``assignment`` from a pooled phrase table, as a ``DatasetDict``."""
    columns = ["sentence_id", "text", "label", "n_tokens", "is_root"]
    parts = {}
    for name, ids in assignment.sentence_ids.items():
        rows = phrases[phrases["sentence_id"].isin(set(ids))][columns]
        parts[name] = Dataset.from_pandas(rows.reset_index(drop=True), preserve_index=False)
    return DatasetDict(parts)


def version_split_in_clearml(path: str | Path, project: str = "sst5-course", name: str = "sst5-custom-split") -> str:
    """Version the split file as a ClearML Dataset (offline when no server is configured); return its id.

    Offline, ClearML builds a dataset on a ``Task.init`` task whose code section comes from repository
    detection, which finds nothing inside a notebook kernel (and the dataset then fails to record its
    files). So offline the dataset lives on a task of our own, without repository detection, that is
    closed at the end: calling this again (re-running the cell) starts a fresh version.
    """
    from clearml import Dataset as ClearMLDataset
    from clearml import Task

    from .tracking import clearml_is_configured, use_clearml_offline

    if clearml_is_configured():
        dataset = ClearMLDataset.create(dataset_name=name, dataset_project=project)
        dataset.add_files(str(path))
        dataset.upload()
        dataset.finalize()
        return dataset.id
    if Task.current_task() is not None:
        raise RuntimeError(
            f"ClearML task {Task.current_task().name!r} is running in this process: close it "
            "(task.close()) before versioning a split offline, or configure a ClearML server."
        )
    use_clearml_offline()
    task = Task.init(
        project_name=project,
        task_name=name,
        task_type=Task.TaskTypes.data_processing,
        reuse_last_task_id=False,
        auto_connect_frameworks={"detect_repository": False},
        auto_connect_arg_parser=False,
        auto_resource_monitoring=False,
        auto_connect_streams=False,
    )
    try:
        dataset = ClearMLDataset.create(dataset_name=name, dataset_project=project, use_current_task=True)
        dataset.add_files(str(path))
        dataset.upload(show_progress=False)  # an offline dataset cannot be finalized; importing the session does
    finally:
        task.close()
    return dataset.id
