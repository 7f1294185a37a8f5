"""Every default of the course in one place: label names, profiles and run parameters.

A *profile* says where the course runs and picks sensible defaults for it:

- ``smoke``: CI and quick checks. A tiny random BERT built locally, a few hundred sentences, seconds.
- ``cpu``: a laptop or this repository's CI machine. The packaged all-MiniLM-L6-v2, all the data.
- ``gpu``: Colab or a workstation. Hub models, all the data, mixed precision.

``SST5_PROFILE`` selects one; without it the course picks ``gpu`` when CUDA is present, else ``cpu``.
A notebook's ``parameters`` cell holds ``None`` for "the profile's default"; :func:`resolve_config`
fills those in, checks every value's type and returns a frozen :class:`RunConfig`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .sampling import parse_schedule

__all__ = [
    "LABEL_NAMES",
    "NUM_LABELS",
    "SEED",
    "TRACKERS",
    "REPO_SLUG",
    "REPO_BRANCH",
    "PROFILES",
    "RunConfig",
    "default_profile_name",
    "resolve_config",
    "model_list_path",
    "cache_dir",
]

#: Class names for labels 0..4, used by every table and figure.
LABEL_NAMES: tuple[str, ...] = ("negative", "somewhat negative", "neutral", "somewhat positive", "positive")
NUM_LABELS = len(LABEL_NAMES)
#: The one default seed: splits, sampling, model initialisation and subsets derive from it.
SEED = 42
#: GitHub ``owner/name`` of this course; the notebooks' "Open in Colab" badges are built from it.
REPO_SLUG = "sst5-course/sst5-course"
REPO_BRANCH = "main"

PROFILE_ENV = "SST5_PROFILE"
TRAIN_ON_CHOICES = ("sentences", "phrases")
#: Experiment trackers (the Trainer's ``report_to`` names); ClearML runs offline without a server.
TRACKERS = ("clearml", "tensorboard", "wandb", "none")
SPLIT_CHOICES = ("official", "custom")


@dataclass(frozen=True)
class RunConfig:
    """All knobs of one course run; a profile is a set of defaults for them.

    Parameters
    ----------
    profile : str
        Name of the profile these values came from.
    model_name : str
        A named local model (``tiny-bert``, ``minilm``), a local folder, or a Hugging Face Hub id.
    schedule : str
        Per-epoch batch strategies, e.g. ``"stratified:2,random:1"`` (see :mod:`sst5.sampling`).
    epochs : int
        Training epochs.
    learning_rate : float
        Peak learning rate of the linear schedule.
    batch_size : int
        Training batch size (evaluation uses twice as much).
    max_length : int
        Token limit; longer inputs are truncated. Batches are padded only to their longest member.
    train_on : str
        ``"sentences"`` (roots only) or ``"phrases"`` (every labelled node of the training trees).
    split : str
        ``"official"`` SST train/dev/test, or ``"custom"``: the group split saved by notebook 02.
    split_file : str
        Where notebook 02 saves the custom split and notebook 03 reads it.
    seed : int
        Seed for sampling, model initialisation and data subsets.
    max_sentences : int or None
        Cap on sentences per split (a seeded subset of whole trees); ``None`` uses all.
    warmup_ratio : float
        Share of training steps with a rising learning rate.
    weight_decay : float
        AdamW weight decay.
    early_stopping_patience : int or None
        Stop after this many evaluations without improvement; ``None`` trains all epochs.
    metric_for_best_model : str
        Validation metric that selects the checkpoint kept at the end.
    use_lora : bool
        Fine-tune LoRA adapters (``peft``) instead of all weights.
    mixed_precision : bool
        bf16/fp16 autocast when a GPU is present (ignored on CPU).
    output_dir : str
        Folder of this run's outputs (``metrics.json``, ``predictions.parquet``, checkpoints).
    tracker : str
        ``clearml`` (offline without a server), ``tensorboard``, ``wandb`` or ``none``.
    progress : bool
        Show tqdm progress bars (batch runs switch them off to keep executed notebooks small).
    models : str
        Model list for batch runs (a file path or a shipped list's name).
    tfidf_max_phrases : int or None
        Cap on training phrases for the TF-IDF baseline at phrase level.
    """

    profile: str
    model_name: str
    schedule: str = "random"
    epochs: int = 3
    learning_rate: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    train_on: str = "sentences"
    split: str = "official"
    split_file: str = "runs/split.json"
    seed: int = SEED
    max_sentences: int | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    early_stopping_patience: int | None = None
    metric_for_best_model: str = "macro_f1"
    use_lora: bool = False
    mixed_precision: bool = True
    output_dir: str = "runs/latest"
    tracker: str = "clearml"
    progress: bool = True
    models: str = "cpu"
    tfidf_max_phrases: int | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        """The parameters as a plain dict (for tracking and ``metrics.json``)."""
        values = dataclasses.asdict(self)
        values.pop("extra")
        return values


PROFILES: dict[str, dict] = {
    "smoke": dict(
        model_name="tiny-bert",
        schedule="stratified:1,random:1",
        epochs=2,
        learning_rate=1e-3,
        batch_size=32,
        max_length=64,
        max_sentences=300,
        output_dir="runs/smoke",
        models="smoke",
        tfidf_max_phrases=20_000,
    ),
    "cpu": dict(
        model_name="minilm",
        schedule="random",
        epochs=3,
        learning_rate=1e-4,
        batch_size=32,
        max_length=96,
        output_dir="runs/cpu",
        models="cpu",
    ),
    "gpu": dict(
        model_name="bert-base-uncased",
        schedule="stratified:2,random:2",
        epochs=4,
        learning_rate=2e-5,
        batch_size=32,
        max_length=128,
        output_dir="runs/gpu",
        models="gpu",
    ),
}

_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig) if f.name not in ("profile", "extra")}


def default_profile_name() -> str:
    """The profile named by ``SST5_PROFILE``, else ``gpu`` when CUDA is present, else ``cpu``."""
    name = os.environ.get(PROFILE_ENV)
    if name:
        return name
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu"


def _check_type(name: str, value: object) -> object:
    """Return ``value`` if it fits the annotation of ``RunConfig.name`` (ints pass for floats)."""
    hints = typing.get_type_hints(RunConfig)
    expected = hints[name]
    allowed = typing.get_args(expected) if isinstance(expected, types.UnionType) else (expected,)
    if value is None and type(None) in allowed:
        return value
    if isinstance(value, bool) and bool not in allowed:
        raise TypeError(f"parameter {name!r} must be {_type_name(expected)}, got the bool {value!r}")
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tuple(t for t in allowed if t is not type(None))):
        raise TypeError(
            f"parameter {name!r} must be {_type_name(expected)}, got {type(value).__name__} {value!r}"
        )
    return value


def _type_name(annotation: object) -> str:
    args = typing.get_args(annotation)
    if args:
        return " or ".join("None" if a is type(None) else a.__name__ for a in args)
    return getattr(annotation, "__name__", str(annotation))


def resolve_config(profile: str | None = None, **params: object) -> RunConfig:
    """Fill notebook parameters in from a profile and check them.

    Parameters
    ----------
    profile : str, optional
        Profile name; default :func:`default_profile_name`.
    **params
        Parameter overrides; ``None`` means "the profile's default".

    Returns
    -------
    RunConfig
        Frozen, fully resolved parameters.

    Raises
    ------
    ValueError
        Unknown profile or parameter name, or a value outside its choices.
    TypeError
        A value of the wrong type.

    Examples
    --------
    >>> resolve_config("smoke", epochs=1).epochs
    1
    """
    name = profile or default_profile_name()
    if name not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r} (from {PROFILE_ENV} or the profile argument); "
            f"choose one of: {', '.join(PROFILES)}"
        )
    unknown = sorted(set(params) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; valid parameters: {', '.join(_FIELDS)}")
    values = dict(PROFILES[name])
    values.update({k: _check_type(k, v) for k, v in params.items() if v is not None})
    config = RunConfig(profile=name, **values)
    _validate_choices(config)
    return config


def _validate_choices(config: RunConfig) -> None:
    if config.train_on not in TRAIN_ON_CHOICES:
        raise ValueError(f"train_on={config.train_on!r}; choose one of {TRAIN_ON_CHOICES}")
    if config.tracker not in TRACKERS:
        raise ValueError(f"tracker={config.tracker!r}; choose one of {TRACKERS}")
    if config.split not in SPLIT_CHOICES:
        raise ValueError(f"split={config.split!r}; choose one of {SPLIT_CHOICES}")
    for name in ("epochs", "batch_size", "max_length"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not 0 < config.learning_rate < 1:
        raise ValueError(f"learning_rate must be in (0, 1), got {config.learning_rate}")
    if not 0 <= config.warmup_ratio < 1:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {config.warmup_ratio}")
    parse_schedule(config.schedule, config.epochs)


def model_list_path(name_or_path: str) -> Path:
    """Path of a model list: a shipped list's name (``smoke``, ``cpu``, ``gpu``) or a file path."""
    shipped = Path(__file__).parent / "model_lists" / f"{name_or_path}.txt"
    if shipped.is_file():
        return shipped
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"model list {name_or_path!r} is neither a shipped list (smoke, cpu, gpu) nor a readable file"
        )
    return path


def cache_dir() -> Path:
    """The course's user cache folder: ``$XDG_CACHE_HOME/sst5``, else ``~/.cache/sst5``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sst5"
