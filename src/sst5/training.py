"""Fine-tuning with the Hugging Face ``Trainer``: data, tokenization cache, sampler schedule, outputs.

The pieces, in the order notebook 03 uses them:

1. :func:`prepare_splits` — train/validation/test for the run (official or custom split; sentences, all
   phrases or each distinct phrase once for training; an optional subset);
2. :func:`tokenize_splits` — tokenized once per (tokenizer, max length, data) and cached on disk;
3. ``TrainingArguments`` and a :class:`ScheduledTrainer`, whose sampler follows the per-epoch schedule
   (:mod:`sst5.sampling`): notebook 03 writes both out, as the lesson; :func:`build_trainer` builds the same
   for benchmarks and tests (a test keeps the two equal), from :func:`training_arguments`,
   :func:`warmup_steps`, :func:`validation_sentences` and :func:`run_callbacks`;
4. :func:`evaluate_run` — metrics at sentence and phrase level on validation and test, and predictions;
5. :func:`save_run` — the model, ``predictions.parquet`` and ``metrics.json`` in the run's folder
   (:mod:`sst5.runs` says what a run folder holds).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import DatasetDict
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from .config import LABEL_NAMES, RUN_PARAMETERS, RunConfig, greater_is_better
from .config import cache_dir as default_cache_dir
from .data import (
    cached_dataset_dict,
    column,
    first_occurrences,
    load_sst,
    read_release,
    sentence_level,
    subset_sentences,
    to_frame,
)
from .distill import TEACHER_COLUMN, Distillation, distillation_of, with_teacher
from .losses import squared_emd, training_loss
from .metrics import classification_metrics, compute_metrics
from .models import add_lora, head_modules
from .precision import cuda_capability, run_precision
from .predict import predict_proba
from .provenance import run_provenance
from .runs import (
    CHECKPOINT_SUBDIR,
    METRICS_FILE,
    MODEL_SUBDIR,
    PREDICTIONS_FILE,
    PROB_COLUMNS,
    RunStatus,
    remove_checkpoints,
    write_atomic,
    write_folder_atomic,
    write_json,
)
from .sampling import ScheduledSampler, parse_schedule
from .split import apply_split, load_split
from .text import TEXT_FORM_ATTRIBUTE, model_text

__all__ = [
    "prepare_splits",
    "tokenize_splits",
    "device_arguments",
    "cuda_capability",
    "warmup_steps",
    "training_arguments",
    "validation_sentences",
    "run_callbacks",
    "ScheduledTrainer",
    "layer_rate_scales",
    "collated_batch",
    "batch_table",
    "EpochTimer",
    "build_trainer",
    "last_checkpoint",
    "training_history",
    "evaluate_run",
    "save_run",
]

_log = logging.getLogger(__name__)


def prepare_splits(config: RunConfig, data_source: str | Path | None = None) -> DatasetDict:
    """The run's splits: ``train`` (sentences, all phrases or distinct phrases), ``validation`` and ``test``
    (all phrases).

    The split is the official one or, with ``config.split == "custom"``, the file saved by notebook 02
    (checked against the data's fingerprint). ``config.max_sentences`` keeps a seeded subset of whole trees.
    ``train_on="distinct_phrases"`` keeps the first occurrence of each training text: SST labels a phrase
    once (:func:`sst5.data.first_occurrences`).
    """
    sst = load_sst(data_source)
    if config.split == "custom":
        fingerprint = read_release(data_source).fingerprint
        sst = apply_split(to_frame(sst), load_split(config.split_file, fingerprint))
    sst = subset_sentences(sst, config.max_sentences, config.seed)
    if config.train_on == "sentences":
        sst["train"] = sentence_level(sst)["train"]
    elif config.train_on == "distinct_phrases":
        sst["train"] = sst["train"].select(first_occurrences(column(sst["train"], "text")))
    return sst


def _tokenizer_key(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))


def tokenize_splits(
    splits: DatasetDict, tokenizer, max_length: int, cache_dir: str | Path | None = None, text_form: str = "natural"
) -> DatasetDict:
    """Tokenize every split (``input_ids``, ``attention_mask``, ``labels``, ``length``), with a disk cache; each text
    is first put in ``text_form`` (:func:`sst5.text.model_text`), as every text a run's model reads is.

    The cache key is the tokenizer's full definition, ``max_length`` and the texts and labels, so models
    sharing a tokenizer (e.g. schedule variants of one model in a batch) tokenize only once. The cache
    lives in ``cache_dir`` (default: the user cache). No padding: the collator pads each batch to its
    longest member.
    """
    digest = hashlib.sha256(_tokenizer_key(tokenizer).encode())
    digest.update(f"{max_length} {text_form}".encode())
    for name in sorted(splits):
        digest.update(name.encode())
        digest.update("\x00".join(column(splits[name], "text")).encode())
        digest.update(column(splits[name], "label").astype(np.int8).tobytes())
    folder = Path(cache_dir or default_cache_dir() / "tokenized") / digest.hexdigest()[:24]

    def encode(batch):
        encoded = tokenizer([model_text(text, text_form) for text in batch["text"]], truncation=True,
                            max_length=max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        encoded["labels"] = batch["label"]
        return encoded

    return cached_dataset_dict(folder, lambda: splits.map(encode, batched=True, desc="tokenize"))


def device_arguments(config: RunConfig, capability: tuple[int, int] | None,
                     cpu_flags: frozenset[str] | None = None) -> dict:
    """The ``TrainingArguments`` that depend on the device; ``capability`` is CUDA's compute capability
    (``(8, 0)`` for an A100, ``(9, 0)`` for an H100), None on a CPU (whose ``cpu_flags`` default to this one's).

    With ``config.mixed_precision``: bf16 autocast on a GPU from Ampere (8.0) on, else fp16 with the Trainer's
    loss scaler; on a CPU bf16 autocast only where it is native (:mod:`sst5.precision`). The master weights
    stay float32 either way. TF32 matmuls from Ampere on.
    """
    return run_precision(config.mixed_precision, capability, cpu_flags).arguments


def warmup_steps(config: RunConfig, n_train: int) -> int:
    """Steps of rising learning rate: ``warmup_ratio`` of all training steps (``n_train`` training rows)."""
    steps_per_epoch = -(-(config.samples_per_epoch or n_train) // config.batch_size)
    return int(config.warmup_ratio * steps_per_epoch * config.epochs)


def training_arguments(config: RunConfig, n_train: int) -> TrainingArguments:
    """``TrainingArguments`` for a run: evaluation, checkpoints and logs every epoch, best model kept.

    Notebook 03 writes this call out for the student; a test checks that both give the same arguments.
    """
    report_to = [] if config.tracker == "none" else [config.tracker]
    return TrainingArguments(
        output_dir=str(Path(config.output_dir) / CHECKPOINT_SUBDIR),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=2 * config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        label_smoothing_factor=config.label_smoothing,
        lr_scheduler_type="linear",
        warmup_steps=warmup_steps(config, n_train),
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=config.metric_for_best_model,
        greater_is_better=greater_is_better(config.metric_for_best_model),
        seed=config.seed,
        data_seed=config.seed,
        report_to=report_to,
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        **device_arguments(config, cuda_capability()),
    )


class ScheduledTrainer(Trainer):
    """A ``Trainer`` whose training batches follow a per-epoch schedule of batch strategies.

    Only the sampler changes: the training loop calls the sampler's ``set_epoch`` at every epoch
    boundary, so the strategy switches inside one ``train()`` call and a resumed run continues it.
    """

    def __init__(self, *args, schedule: str, samples_per_epoch: int | None = None,
                 distillation: Distillation | None = None, ordinal_weight: float = 0.0, layer_decay: float = 1.0,
                 **kwargs) -> None:
        self.schedule = schedule
        self.samples_per_epoch = samples_per_epoch
        self.distillation = distillation
        self.ordinal_weight = ordinal_weight
        self.layer_decay = layer_decay
        self.sampler: ScheduledSampler | None = None
        super().__init__(*args, **kwargs)
        if self._own_loss:
            self.loss_is_scaled_for_ga = False  # the course's losses are per-batch means

    @property
    def _own_loss(self) -> bool:
        """Whether training batches use the course's loss (a teacher or an ordinal term), not the stock one."""
        return self.distillation is not None or self.ordinal_weight > 0

    def _set_signature_columns_if_needed(self) -> None:
        # The Trainer keeps only the columns its model's forward() takes; a distilling run needs the teacher's too.
        super()._set_signature_columns_if_needed()
        if self.distillation is not None and TEACHER_COLUMN not in self._signature_columns:
            self._signature_columns.append(TEACHER_COLUMN)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The stock loss; on training batches with a teacher, :meth:`sst5.distill.Distillation.loss` (training
        batches carry the teacher's probabilities; evaluation batches do not), and with ``ordinal_weight`` the
        ordinal term of :mod:`sst5.losses` added."""
        teacher = inputs.pop(TEACHER_COLUMN, None)
        if not self._own_loss or not model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if self.distillation is not None and teacher is None:
            import transformers

            raise RuntimeError(f"transformers {transformers.__version__} dropped the teacher's column from the "
                               "training batch (Trainer._set_signature_columns_if_needed changed), so distillation "
                               "would silently train without the teacher; install a supported transformers version")
        labels = inputs["labels"]
        outputs = model(**{key: value for key, value in inputs.items() if key != "labels"})
        if self.distillation is None:
            loss = training_loss(outputs.logits, labels, label_smoothing=self.args.label_smoothing_factor,
                                 ordinal_weight=self.ordinal_weight)
        else:
            loss = self.distillation.loss(outputs.logits, labels, teacher)
            if self.ordinal_weight:
                loss = loss + self.ordinal_weight * squared_emd(outputs.logits, labels)
        return (loss, outputs) if return_outputs else loss

    def create_optimizer(self, model=None):
        """The stock optimizer; with ``layer_decay`` below 1, each of its parameter groups split by encoder layer,
        every layer's learning rate ``layer_decay`` times the one above (:func:`layer_rate_scales`)."""
        built = self.optimizer is not None
        optimizer = super().create_optimizer(model)
        if built or self.layer_decay == 1.0:
            return optimizer
        model = self.model if model is None else model
        scales = layer_rate_scales(model, self.layer_decay)
        names = {id(parameter): name for name, parameter in model.named_parameters()}
        groups = []
        for group in optimizer.param_groups:
            by_scale: dict[float, list] = {}
            for parameter in group["params"]:
                by_scale.setdefault(scales[names[id(parameter)]], []).append(parameter)
            groups += [{**group, "params": params, "lr": group["lr"] * scale} for scale, params in by_scale.items()]
        optimizer.param_groups.clear()  # nothing has stepped yet: regroup the same optimizer in place
        for group in groups:
            optimizer.add_param_group(group)
        return optimizer

    def training_step(self, model, inputs, num_items_in_batch=None):
        """One step of the stock loop, failing at once on a non-finite loss.

        The Trainer's logs replace NaN/inf losses by a running mean and fp16's loss scaler skips
        overflowing steps, so a diverged run (MobileBERT in fp16, a large model at too high a learning
        rate) would otherwise end "trained" with a model that predicts one class.
        """
        loss = super().training_step(model, inputs, num_items_in_batch)
        if not bool(loss.isfinite().all()):
            raise FloatingPointError(
                f"training loss is {loss.item()} at step {self.state.global_step + 1} (epoch "
                f"{(self.state.epoch or 0) + 1:.0f}); the run diverged. Try mixed_precision=False (fp16 overflows "
                "for some models, e.g. MobileBERT), a lower learning_rate, or a smaller batch_size")
        return loss

    def get_train_dataloader(self):
        """The stock training loader, checked to draw from the course's sampler.

        ``_get_train_sampler`` below replaces a private ``Trainer`` method: if a transformers release stops
        calling it, the schedule would silently not apply. This check turns that into an error.
        """
        loader = super().get_train_dataloader()
        if self.sampler is None:
            import transformers

            raise RuntimeError(f"transformers {transformers.__version__} no longer asks Trainer._get_train_sampler "
                               "for the training sampler, so the batch schedule would be ignored; install a "
                               "transformers version the course supports (see pyproject.toml)")
        return loader

    def _get_train_sampler(self, train_dataset=None):
        # The dataset handed in has lost its non-model columns ("length"); read the full one.
        dataset = self.train_dataset
        self.sampler = ScheduledSampler(
            labels=column(dataset, "labels"),
            lengths=column(dataset, "length"),
            batch_size=self.args.per_device_train_batch_size,
            schedule=self.schedule,
            epochs=int(self.args.num_train_epochs),
            seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
            samples_per_epoch=self.samples_per_epoch,
        )
        return self.sampler


def layer_rate_scales(model, decay: float) -> dict[str, float]:
    """Each parameter's share of the peak learning rate under layer-wise decay (Howard and Ruder 2018; Clark et al.
    2020): the head and any pooler 1, encoder layer ``i`` of ``n`` ``decay ** (n - i)``, the embeddings (and
    anything else shared by the encoder) ``decay ** (n + 1)``, so the pretrained bottom moves least.

    Raises
    ------
    ValueError
        A LoRA-wrapped model: its adapters are the only weights that train, and decaying their rates by layer is
        not supported.
    """
    if hasattr(model, "peft_config"):
        raise ValueError("layer_decay < 1 with use_lora=True is not supported: LoRA trains only its adapters; "
                         "set layer_decay=1 or use_lora=False")
    n_layers = model.config.num_hidden_layers
    heads = set(head_modules(model))
    scales = {}
    for name, _ in model.named_parameters():
        layer = re.search(r"\.layers?\.(\d+)\.", name)
        if layer:
            depth = int(layer.group(1)) + 1
        elif name.split(".", 1)[0] in heads or ".pooler." in f".{name}":
            depth = n_layers + 1
        else:
            depth = 0
        scales[name] = decay ** (n_layers + 1 - depth)
    return scales


def collated_batch(dataset, tokenizer, n_examples: int = 3, max_tokens: int = 16) -> dict:
    """A small batch as the ``Trainer`` receives it: ``n_examples`` tokenized rows of different lengths (at most
    ``max_tokens`` tokens, to keep it readable) padded by the collator to the longest (``input_ids``,
    ``attention_mask``, ``labels`` tensors)."""
    lengths = column(dataset, "length")
    short = np.flatnonzero(lengths <= max_tokens)
    picked = short[np.unique(lengths[short], return_index=True)[1]][-n_examples:]  # distinct lengths, longest
    features = [{key: dataset[int(i)][key] for key in ("input_ids", "attention_mask", "labels")} for i in picked]
    return DataCollatorWithPadding(tokenizer)(features)


def batch_table(batch: dict, tokenizer) -> pd.DataFrame:
    """One row per example of a collated batch: its tokens (padding included), ids and attention mask."""
    return pd.DataFrame({
        "tokens": [" ".join(tokenizer.convert_ids_to_tokens(ids)) for ids in batch["input_ids"].tolist()],
        "input_ids": batch["input_ids"].tolist(),
        "attention_mask": batch["attention_mask"].tolist(),
        "label": [LABEL_NAMES[label] for label in batch["labels"].tolist()],
    })


class EpochTimer(TrainerCallback):
    """Records the wall time of every epoch in the log history (``epoch_seconds``)."""

    def __init__(self) -> None:
        self._start = 0.0

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        state.log_history.append({"epoch": round(state.epoch), "epoch_seconds": time.perf_counter() - self._start,
                                  "step": state.global_step})


def validation_sentences(tokenized: DatasetDict):
    """The validation sentences (tree roots) of tokenized splits: what picks the checkpoint, each epoch."""
    validation = tokenized["validation"]
    return validation.select(np.flatnonzero(column(validation, "is_root")))


def run_callbacks(config: RunConfig) -> list[TrainerCallback]:
    """The run's ``Trainer`` callbacks: epoch timing, and early stopping with ``config.early_stopping_patience``."""
    callbacks: list[TrainerCallback] = [EpochTimer()]
    if config.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    return callbacks


def build_trainer(config: RunConfig, model, tokenizer, tokenized: DatasetDict,
                  data: str | Path | None = None) -> ScheduledTrainer:
    """The run's :class:`ScheduledTrainer`, as notebook 03 builds it: dynamic padding, evaluation on validation
    sentences each epoch; with ``config.use_lora`` the model is wrapped with LoRA adapters first
    (:func:`sst5.models.add_lora`); with ``config.teacher`` each training text carries the teacher's
    probabilities and the loss distils them (:mod:`sst5.distill`; ``data``: the run's SST source)."""
    if config.use_lora:
        model = add_lora(model)
    return ScheduledTrainer(
        model=model,
        args=training_arguments(config, tokenized["train"].num_rows),
        train_dataset=with_teacher(tokenized["train"], config.teacher, data),
        eval_dataset=validation_sentences(tokenized),
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=run_callbacks(config),
        schedule=config.schedule,
        samples_per_epoch=config.samples_per_epoch,
        distillation=distillation_of(config),
        ordinal_weight=config.ordinal_weight,
        layer_decay=config.layer_decay,
    )


def last_checkpoint(config: RunConfig) -> str | None:
    """The newest complete checkpoint of an interrupted run in ``config.output_dir``, to resume from (or None).

    The ``Trainer`` writes a checkpoint's ``trainer_state.json`` last: a checkpoint without a readable one
    was cut off by a kill while saving, and is deleted (training resumes from the one before).
    """
    folder = Path(config.output_dir) / CHECKPOINT_SUBDIR
    while folder.is_dir() and (newest := get_last_checkpoint(str(folder))) is not None:
        try:
            json.loads((Path(newest) / "trainer_state.json").read_text(encoding="utf-8"))
            return newest
        except (OSError, ValueError):
            _log.warning("sst5: %s was cut off while saving; resuming from the checkpoint before it", newest)
            shutil.rmtree(newest)
    return None


def training_history(trainer: Trainer, config: RunConfig) -> pd.DataFrame:
    """One row per epoch: batch strategy, training loss, seconds and the validation metrics."""
    plan = parse_schedule(config.schedule, config.epochs)
    rows: dict[int, dict] = {}
    for entry in trainer.state.log_history:
        epoch = round(entry.get("epoch", 0))
        row = rows.setdefault(epoch, {"epoch": epoch})
        if "loss" in entry:
            row["train_loss"] = entry["loss"]
        for key, value in entry.items():
            if key.startswith("eval_"):
                row[key.removeprefix("eval_")] = value
            elif key == "epoch_seconds":
                row[key] = value
    table = pd.DataFrame([rows[e] for e in sorted(rows) if e > 0])
    table.insert(1, "strategy", [plan[min(e, len(plan)) - 1] for e in table["epoch"]])
    return table


def evaluate_run(model, tokenizer, splits: DatasetDict, config: RunConfig):
    """Metrics and predictions on test at sentence and phrase level, and on the validation sentences (and
    phrases, with ``config.score_validation_phrases``); in bf16 where the CPU has it natively.

    Returns
    -------
    metrics : dict
        ``{"validation": {"sentence": {...}}, "test": {"sentence": {...}, "phrase": {...}}}`` (see
        :func:`sst5.metrics.classification_metrics`); ``validation`` has ``phrase`` too when asked for.
    predictions : pandas.DataFrame
        One row per scored validation and test phrase: ``split``, ``sentence_id``, ``text``, ``n_tokens``,
        ``is_root``, ``label``, ``predicted`` and ``prob_0`` … ``prob_4``.
    """
    precision = run_precision(config.mixed_precision, cuda_capability())
    metrics, tables = {}, []
    for name in ("validation", "test"):
        table = splits[name].to_pandas()
        if name == "validation" and not config.score_validation_phrases:  # nothing reads them by default
            table = table[table["is_root"]].reset_index(drop=True)
        probabilities = predict_proba(model, tokenizer, table["text"].tolist(), max_length=config.max_length,
                                      progress=config.progress, cpu_bf16=precision.cpu_bf16,
                                      text_form=config.text_form)
        table["predicted"] = probabilities.argmax(axis=1)
        for label in range(len(LABEL_NAMES)):
            table[PROB_COLUMNS[label]] = probabilities[:, label]
        roots = table[table["is_root"]]
        metrics[name] = {"sentence": classification_metrics(roots["label"], roots["predicted"])}
        if len(roots) < len(table):
            metrics[name]["phrase"] = classification_metrics(table["label"], table["predicted"])
        tables.append(table.assign(split=name))
    predictions = pd.concat(tables, ignore_index=True)
    columns = ["split", "sentence_id", "text", "n_tokens", "is_root", "label", "predicted"]
    return metrics, predictions[columns + PROB_COLUMNS]


def save_run(config: RunConfig, trainer: Trainer, metrics: dict, predictions: pd.DataFrame,
             history: pd.DataFrame, data_source: str | Path | None = None, extra: dict | None = None) -> Path:
    """Write the run's outputs into ``config.output_dir`` and mark it trained (``metrics.json``, last).

    Writes, each atomically: ``model/`` (merged LoRA weights when LoRA was used), ``predictions.parquet``,
    what the Trainer actually used (``training_args.json``, ``trainer_state.json``), a custom split's file
    (``split.json``), then ``metrics.json``: status ``trained``, parameters, metrics, per-epoch history,
    ``train_seconds`` summed over the epochs of all sessions of a resumed run, ``provenance``
    (:func:`sst5.provenance.run_provenance`) and ``extra``. Then the checkpoints are removed unless
    ``config.keep_checkpoints``: the best model is in ``model/``.
    """
    folder = Path(config.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model, tokenizer = trainer.model, trainer.processing_class
    final = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    setattr(final.config, TEXT_FORM_ATTRIBUTE, config.text_form)  # predict and the demo read text as it was trained

    def save_model(tmp: Path) -> None:
        final.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    write_folder_atomic(folder / MODEL_SUBDIR, save_model)
    write_atomic(folder / PREDICTIONS_FILE, lambda tmp: predictions.to_parquet(tmp, index=False))
    write_atomic(folder / "training_args.json", lambda tmp: tmp.write_text(trainer.args.to_json_string()))
    write_atomic(folder / "trainer_state.json", lambda tmp: trainer.state.save_to_json(str(tmp)))
    if config.split == "custom":
        write_atomic(folder / "split.json", lambda tmp: shutil.copyfile(config.split_file, tmp))
    release = read_release(data_source)
    parameters = {"profile": config.profile, "data": str(release.path),
                  **{name: getattr(config, name) for name in RUN_PARAMETERS}}
    record = {"status": RunStatus.TRAINED.value, "params": config.to_dict(), **metrics,
              "history": history.to_dict(orient="records"),
              "train_seconds": float(history["epoch_seconds"].sum()),
              "provenance": run_provenance(parameters, data_fingerprint=release.fingerprint), **(extra or {})}
    path = write_json(folder / METRICS_FILE, record)
    if not config.keep_checkpoints:
        remove_checkpoints(folder)
    return path
