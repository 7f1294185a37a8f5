"""Every default of the course in one place: label names, profiles and run parameters.

A *profile* says where the course runs and picks sensible defaults for it:

- ``smoke``: CI and quick checks. A tiny random BERT built locally, a few hundred sentences, seconds.
- ``cpu``: a laptop or this repository's CI machine. The packaged all-MiniLM-L6-v2, all the data.
- ``gpu``: Colab or a workstation. Hub models, all the data, mixed precision.

``SST5_PROFILE`` selects one; without it the course picks ``gpu`` when CUDA is present, else ``cpu``.

Every notebook writes to and reads from one *course folder* (:func:`course_dir`): on Colab a folder on
Google Drive, since Colab gives each notebook its own runtime and only Drive outlives it and is shared;
elsewhere ``~/sst5-course``, an absolute folder, so that a notebook finds it from whatever folder its kernel
starts in. A profile's run folder, the custom split's file, the batch's and the ClearML agent's runs are named
inside it.
A notebook's ``parameters`` cell holds ``None`` for "the profile's default"; :func:`resolve_config`
fills those in, checks every value's type and range, and returns a frozen :class:`RunConfig`, whose
fields are the one declaration of the run parameters (notebook 03's ``parameters`` cell is generated
from them: ``make notebooks``).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .schedule import parse_schedule
from .text import TEXT_FORMS

__all__ = [
    "LABEL_NAMES",
    "NUM_LABELS",
    "SEED",
    "HEADLINE_METRICS",
    "LOWER_IS_BETTER",
    "greater_is_better",
    "BOOLEAN_WORDS",
    "parse_boolean",
    "TFIDF_SETTINGS",
    "MODEL_LISTS",
    "TRACKERS",
    "POOLINGS",
    "REPO_SLUG",
    "REPO_BRANCH",
    "PROFILES",
    "Range",
    "RunConfig",
    "RUN_PARAMETERS",
    "BATCH_PARAMETERS",
    "RUNNER_PARAMETERS",
    "describe",
    "check_notebook_parameters",
    "default_profile_name",
    "resolve_config",
    "model_list_path",
    "cache_dir",
    "COURSE_DIR_ENV",
    "COLAB_COURSE_DIR",
    "LOCAL_COURSE_DIR",
    "course_dir",
]

#: Class names for labels 0..4, used by every table and figure.
LABEL_NAMES: tuple[str, ...] = ("negative", "somewhat negative", "neutral", "somewhat positive", "positive")
NUM_LABELS = len(LABEL_NAMES)
#: The one default seed: splits, sampling, model initialisation and subsets derive from it.
SEED = 42
#: GitHub ``owner/name`` of this course: the one value a fork changes (then ``make notebooks``) to get
#: working "Open in Colab" badges and install cells.
REPO_SLUG = "sst5-course/sst5-course"
REPO_BRANCH = "main"

PROFILE_ENV = "SST5_PROFILE"
#: Metrics shown first in tables and recorded by every run (see :mod:`sst5.metrics`).
HEADLINE_METRICS = ("accuracy", "macro_f1", "balanced_accuracy", "neighbour_rate", "mean_abs_distance", "qwk")
#: The metrics for which a smaller value is better; for all others, larger is better.
LOWER_IS_BETTER = frozenset({"loss", "mean_abs_distance"})
#: Notebook 01's TF-IDF baseline, as picked on validation sentences by ``benchmarks/tune_tfidf.py``
#: (see :func:`sst5.baselines.tune_tfidf`).
#: The model lists the package ships (``src/sst5/model_lists/<name>.txt``), named by their profile.
MODEL_LISTS: tuple[str, ...] = ("smoke", "cpu", "cpu-phrases", "cpu-distill", "cpu-large", "gpu")
TFIDF_SETTINGS = {"C": 4.0, "class_weight": None, "char_ngrams": True}
#: Experiment trackers (the Trainer's ``report_to`` names); ClearML runs offline without a server.
TRACKERS = ("clearml", "tensorboard", "wandb", "none")
#: What the classifier reads from the encoder (:func:`sst5.models.use_pooling`).
POOLINGS = ("cls", "mean")


#: How a boolean is written on a command line, in a model list and in ClearML's Args (any case).
BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def parse_boolean(text: str) -> bool:
    """``text`` as a boolean (:data:`BOOLEAN_WORDS`, any case).

    Raises
    ------
    ValueError
        ``text`` is not one of those words.
    """
    try:
        return BOOLEAN_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a boolean (True or False)") from None


def greater_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better; a prefix is allowed (``eval_loss``,
    ``validation_sentence_mean_abs_distance``)."""
    return not any(metric == m or metric.endswith(f"_{m}") for m in LOWER_IS_BETTER)


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric parameter: ``low``/``high`` bounds, each closed unless marked open."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        low, high = (f"{int(v)}" if float(v).is_integer() else f"{v:g}" for v in (self.low, self.high or 0))
        if self.high is None:
            return f"{'greater than' if self.low_open else 'at least'} {low}"
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


def _param(default: object, help: str, *, allowed: Range | tuple | None = None, run: bool = True):
    """A :class:`RunConfig` field: its default, one line of help, its allowed values, and whether notebook 03
    takes it (``run``; the others are course-level settings of notebooks 01 and 05 and of batch runs)."""
    return field(default=default, metadata={"help": help, "allowed": allowed, "run": run})


@dataclass(frozen=True)
class RunConfig:
    """All knobs of one course run; a profile is a set of defaults for them.

    This class is the one declaration of the run parameters: each field carries its type, default,
    help line and allowed values. Notebook 03's ``parameters`` cell, the ClearML runner's command line
    and the batch runner's checks are generated from it (:data:`RUN_PARAMETERS`, :func:`describe`).
    ``profile`` is the name of the profile the values came from.
    """

    profile: str
    model_name: str = _param("minilm", "tiny-bert, minilm, a local folder or a Hub id")
    schedule: str = _param("random", "batch strategy per epoch, e.g. 'stratified:2,random:2'")
    epochs: int = _param(3, "training epochs", allowed=Range(1, 1000))
    learning_rate: float = _param(5e-5, "peak learning rate (linear decay)", allowed=Range(0, 1, low_open=True))
    batch_size: int = _param(32, "training batch size (evaluation uses twice as much)", allowed=Range(1, 65536))
    max_length: int = _param(128, "token limit; batches are padded only to their longest member",
                             allowed=Range(4, 65536))
    text_form: str = _param(
        "natural", "the text the model reads: the treebank's tokens rejoined as English is written (\"isn't\"), as "
        "users type it, or the treebank's tokens as released (\"is n't\")", allowed=TEXT_FORMS)
    train_on: str = _param(
        "sentences", "train on root sentences, every labelled node of the training trees, or each distinct phrase once",
        allowed=("sentences", "phrases", "distinct_phrases"))
    split: str = _param("official", "the official SST split or a custom one (split_file, saved by notebook 02)",
                        allowed=("official", "custom"))
    split_file: str = _param("split.json", "the custom split's file (notebook 02 writes it); relative: in the "
                             "course folder")
    seed: int = _param(SEED, "seed of sampling, model initialisation and subsets", allowed=Range(0, 2**32 - 1))
    max_sentences: int | None = _param(None, "keep a seeded subset of this many whole trees per split (unset: all)",
                                       allowed=Range(1, None))
    samples_per_epoch: int | None = _param(
        None, "training samples the sampler draws per epoch, the same for every strategy (unset: the training set)",
        allowed=Range(1, None))
    warmup_ratio: float = _param(0.1, "share of training steps with a rising learning rate",
                                 allowed=Range(0, 1, high_open=True))
    weight_decay: float = _param(0.01, "AdamW weight decay", allowed=Range(0, 1))
    label_smoothing: float = _param(0.0, "share of the label spread evenly over all classes (0: plain cross-entropy)",
                                    allowed=Range(0, 1, high_open=True))
    pooling: str = _param(
        "cls", "what the classifier reads: the first token's vector (cls, the checkpoint's own head) or the mean of "
        "every token's (mean, how sentence-transformers' models such as minilm and mpnet were trained)",
        allowed=POOLINGS)
    ordinal_weight: float = _param(
        0.0, "weight of the ordinal term added to cross-entropy: the squared earth mover's distance between the "
        "predicted and the true class distributions, so that a miss by four classes costs more than by one "
        "(0: plain cross-entropy)", allowed=Range(0, None))
    layer_decay: float = _param(
        1.0, "layer-wise learning-rate decay: each encoder layer's rate is this share of the one above (the head "
        "gets learning_rate, the embeddings the least; 1: one rate for all)", allowed=Range(0, 1, low_open=True))
    teacher: str | None = _param(
        None, "distil a teacher: its probabilities of every training text, a shipped teacher (mpnet) or a teacher "
        "table's file (unset: no teacher, plain cross-entropy)")
    distill_weight: float = _param(0.5, "share of the teacher's soft targets in the loss (the rest: the label)",
                                   allowed=Range(0, 1))
    distill_temperature: float = _param(2.0, "temperature softening the teacher's and the student's distributions",
                                        allowed=Range(0, None, low_open=True))
    early_stopping_patience: int | None = _param(
        None, "stop after this many epochs without a better validation score (unset: never)",
        allowed=Range(1, None))
    metric_for_best_model: str = _param("macro_f1", "validation metric that picks the checkpoint kept",
                                        allowed=("loss", *HEADLINE_METRICS))
    use_lora: bool = _param(False, "train LoRA adapters (peft) instead of all weights")
    mixed_precision: bool = _param(True, "bf16/fp16 autocast on a GPU; bf16 on a CPU only where native (AVX512-BF16, "
                                   "AMX), else float32")
    score_validation_phrases: bool = _param(False, "also score every validation phrase, not only the validation "
                                            "sentences that pick the checkpoint")
    keep_checkpoints: bool = _param(False, "keep the Trainer's checkpoints after the run (they are large)")
    output_dir: str = _param("latest", "the run's folder: metrics.json, predictions.parquet, model/; relative: "
                             "in the course folder")
    tracker: str = _param("clearml", "experiment tracker (ClearML runs offline without a server)",
                          allowed=TRACKERS)
    progress: bool = _param(True, "tqdm progress bars (batch runs switch them off)")
    models: str = _param("cpu", f"model list of batch runs: a file or a shipped list ({', '.join(MODEL_LISTS)})",
                         run=False)
    tfidf_max_phrases: int | None = _param(None, "cap on training phrases of notebook 01's TF-IDF baseline",
                                           allowed=Range(1, None), run=False)

    def to_dict(self) -> dict:
        """The parameters as a plain dict (for tracking and ``metrics.json``)."""
        return dataclasses.asdict(self)


PROFILES: dict[str, dict] = {
    "smoke": dict(
        model_name="tiny-bert",
        schedule="stratified:1,random:1",
        epochs=2,
        learning_rate=1e-3,
        batch_size=32,
        max_length=64,
        max_sentences=300,
        output_dir="smoke",
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
        output_dir="cpu",
        models="cpu",
    ),
    # Trains on each distinct phrase once, as the published figures do (Munikar et al. 2019 train on phrases; on
    # the CPU the phrase recipe beats sentences beyond the noise: benchmarks/README.md): 8x a sentence epoch's
    # tokens. Each run's history records its epoch times.
    "gpu": dict(
        model_name="bert-base-uncased",
        schedule="stratified:2,random:2",
        epochs=4,
        learning_rate=2e-5,
        train_on="distinct_phrases",
        batch_size=32,
        max_length=128,
        output_dir="gpu",
        models="gpu",
    ),
}

_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig) if f.name != "profile"}
#: Parameters whose default (the profile's) is a name inside the course folder; a value given is used as given.
_COURSE_PATHS = ("output_dir", "split_file")
COURSE_DIR_ENV = "SST5_COURSE_DIR"
#: The course folder on Colab: on Google Drive, mounted at /content/drive on first use.
COLAB_COURSE_DIR = "/content/drive/MyDrive/sst5-course"
#: The course folder elsewhere: in the home folder, whatever folder a notebook's kernel starts in.
LOCAL_COURSE_DIR = "~/sst5-course"
_DRIVE_MOUNT = "/content/drive"
#: The parameters notebook 03 takes (its ``parameters`` cell is generated from them), in declaration order.
RUN_PARAMETERS: tuple[str, ...] = tuple(name for name, f in _FIELDS.items() if f.metadata["run"])
#: Run parameters that the batch runner (and the ClearML runner) set themselves for every run.
BATCH_PARAMETERS: tuple[str, ...] = ("output_dir", "progress")
#: The run parameters a ClearML task records under ``Args`` (:mod:`sst5.clearml_runner`).
RUNNER_PARAMETERS: tuple[str, ...] = tuple(name for name in RUN_PARAMETERS if name not in BATCH_PARAMETERS)


def describe(name: str) -> str:
    """One line on parameter ``name``: its help and, where restricted, its allowed values."""
    meta = _FIELDS[name].metadata
    allowed = meta["allowed"]
    if isinstance(allowed, tuple):
        return f"{meta['help']}: {', '.join(allowed)}"
    return f"{meta['help']}; {allowed}" if allowed else meta["help"]


def check_notebook_parameters(defined: set[str], known: tuple[str, ...]) -> None:
    """Refuse names that a notebook's parameters cell does not declare: ``defined`` is what the parameters cell
    and papermill's injected cell added to the namespace (names starting with ``_`` are IPython's own).

    Raises
    ------
    ValueError
        A name not in ``known`` (papermill only warns about it, and the run would go on without it).
    """
    unknown = sorted(name for name in defined if not name.startswith("_") and name not in known)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)} (papermill -p?); this notebook takes: "
                         f"{', '.join(known)}")


def default_profile_name() -> str:
    """The profile named by ``SST5_PROFILE``, else ``gpu`` when CUDA is present, else ``cpu``."""
    name = os.environ.get(PROFILE_ENV)
    if name:
        return name
    import torch  # only here: importing the configuration must stay light

    return "gpu" if torch.cuda.is_available() else "cpu"


def _check_type(name: str, value: object) -> object:
    """Return ``value`` if it fits the annotation of ``RunConfig.name`` (ints pass for floats)."""
    expected = typing.get_type_hints(RunConfig)[name]
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


def _check_allowed(name: str, value: object) -> None:
    """Raise ``ValueError`` naming the parameter, the value and what is allowed, if ``value`` is not."""
    allowed = _FIELDS[name].metadata["allowed"]
    if value is None or allowed is None:
        return
    if isinstance(allowed, tuple) and value not in allowed:
        raise ValueError(f"parameter {name}={value!r} is not allowed; choose one of: {', '.join(allowed)}")
    if isinstance(allowed, Range) and value not in allowed:
        raise ValueError(f"parameter {name}={value!r} is out of range; allowed: {allowed}")


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
        Unknown profile or parameter name, a value outside its allowed values, or a schedule that does
        not cover the epochs; the message names the parameter, the value and what is allowed.
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
    for key in _COURSE_PATHS:
        if params.get(key) is None:
            values[key] = str(course_dir() / values.get(key, _FIELDS[key].default))
    values.update({k: _check_type(k, v) for k, v in params.items() if v is not None})
    for key, value in values.items():
        _check_allowed(key, value)
    config = RunConfig(profile=name, **values)
    parse_schedule(config.schedule, config.epochs)
    return config


def model_list_path(name_or_path: str) -> Path:
    """Path of a model list: a shipped list's name (:data:`MODEL_LISTS`) or a file path."""
    shipped = Path(__file__).parent / "model_lists" / f"{name_or_path}.txt"
    if shipped.is_file():
        return shipped
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"model list {name_or_path!r} is neither a shipped list ({', '.join(MODEL_LISTS)}) nor a readable file"
        )
    return path


def cache_dir() -> Path:
    """The course's user cache folder: ``$XDG_CACHE_HOME/sst5``, else ``~/.cache/sst5``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sst5"


def course_dir() -> Path:
    """The course folder, where every notebook writes and reads: ``$SST5_COURSE_DIR``; else, on Colab, Google
    Drive's ``MyDrive/sst5-course`` (Drive is mounted on first use: runs, checkpoints and the split then
    survive the runtime and are shared by the notebooks, each in its own runtime); else ``~/sst5-course``. The path
    is absolute (a relative ``$SST5_COURSE_DIR`` is taken from the folder the process started in)."""
    chosen = os.environ.get(COURSE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser().absolute()
    if "google.colab" not in sys.modules:
        return Path(LOCAL_COURSE_DIR).expanduser()
    if not os.path.ismount(_DRIVE_MOUNT):
        from google.colab import drive  # Colab only; asks the user to allow access once

        drive.mount(_DRIVE_MOUNT)
    return Path(COLAB_COURSE_DIR)
