"""Training and inference throughput: the course's recipe against what a competent user would otherwise run.

Training, samples per second over the same optimizer steps on the same sentences (steady state: the
Trainer's start-up and the first 2 steps are not timed):
  recipe          the course: ScheduledTrainer (random, length-grouped batches), dynamic padding, and the
                  precision sst5.precision picks (on a CPU: bf16 autocast where native, else float32)
  recipe-fp32     the same in float32 (mixed_precision=False); shown only where the recipe is not float32
  stock           Hugging Face's text-classification recipe: tokenize with truncation, no padding, the
                  Trainer's default DataCollatorWithPadding, random order, float32 on a CPU (the Trainer's
                  default there; on a GPU the same mixed precision as the recipe)
  stock+grouping  the same with train_sampling_strategy="group_by_length"
  padded-128      every batch padded to --max-length (a baseline nobody should use; shown for scale)
Inference, sentences per second on the test sentences, same predictions checked:
  recipe          sst5.predict.predict_proba: each distinct text once, length-sorted batches of up to 8,192
                  padded tokens, dynamic padding
  pipeline        transformers.pipeline("text-classification") with its defaults (one text at a time)
  pipeline-64     the same pipeline with batch_size=64
Evaluation, seconds to score every validation and test phrase (what each run's evaluate_run does), with the
recipe and with its previous form (length-sorted, 64 texts per pass).
Variants run interleaved (recipe, stock, ..., recipe, stock, ...); medians and median ratios are printed.
On a GPU, training runs in the gpu profile's mixed precision, and the model FLOPs utilisation of each
variant is printed (lab.flops: 6 N + 12 L H T FLOPs per real token, over the GPU's dense bf16 peak).

    python benchmarks/train_throughput.py            # ~15 minutes on 2 CPU cores
    python benchmarks/train_throughput.py --quick    # ~2 minutes
"""

import argparse
import dataclasses
import statistics
import tempfile
import time

import numpy as np
import torch
from datasets import DatasetDict
from lab.flops import model_flops_utilization, peak_tflops, training_flops_per_token
from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, pipeline

from sst5.config import resolve_config
from sst5.data import column, load_sst, sentence_level
from sst5.models import load_classifier
from sst5.precision import cpu_model, cuda_capability, run_precision
from sst5.predict import predict_proba
from sst5.provenance import device_name
from sst5.training import build_trainer, prepare_splits, tokenize_splits, training_arguments

WARMUP_STEPS = 2  # not timed: the first steps allocate memory and warm caches


def _for_timing(args, steps):
    """Only training steps: no evaluation, checkpoints or logs."""
    args.max_steps, args.eval_strategy, args.save_strategy = steps, "no", "no"
    args.load_best_model_at_end, args.logging_strategy = False, "no"
    return args


class _SteadyStateTimer(TrainerCallback):
    """Seconds from the end of the warm-up steps to the end of training (start-up and first steps excluded)."""

    def __init__(self, warmup_steps):
        self.warmup_steps, self.start, self.seconds = warmup_steps, None, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.warmup_steps:
            self.start = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.seconds = time.perf_counter() - self.start


def _samples_per_second(trainer, batch_size):
    timer = _SteadyStateTimer(WARMUP_STEPS)
    trainer.add_callback(timer)
    trainer.train()
    return (trainer.state.global_step - WARMUP_STEPS) * batch_size / timer.seconds


def train_recipe(cfg, splits, steps, tmp):
    model, tokenizer = load_classifier(cfg.model_name)
    tokenized = tokenize_splits(splits, tokenizer, cfg.max_length, cache_dir=tmp)
    trainer = build_trainer(cfg, model, tokenizer, tokenized)
    _for_timing(trainer.args, steps)
    return _samples_per_second(trainer, cfg.batch_size)


def train_stock(cfg, splits, steps, sampling="random", pad_to=None):
    """The stock recipe; ``pad_to`` pads every batch to that length instead of its longest member. On a CPU it
    trains in float32, the Trainer's default (a GPU keeps the profile's mixed precision, as users set it)."""
    if not torch.cuda.is_available():
        cfg = dataclasses.replace(cfg, mixed_precision=False)
    model, tokenizer = load_classifier(cfg.model_name)
    padding = "max_length" if pad_to else False
    tokenized = splits["train"].map(
        lambda b: {**tokenizer(b["text"], truncation=True, max_length=cfg.max_length, padding=padding),
                   "labels": b["label"]}, batched=True, remove_columns=splits["train"].column_names)
    args = _for_timing(training_arguments(cfg, tokenized.num_rows), steps)
    args.train_sampling_strategy = sampling
    collator = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=pad_to) if pad_to else None
    trainer = Trainer(model=model, args=args, train_dataset=tokenized, processing_class=tokenizer,
                      data_collator=collator)
    return _samples_per_second(trainer, cfg.batch_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--profile", default=None, help="default: gpu with CUDA, else cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    steps, repeats, n_infer = (8, 1, 300) if args.quick else (args.steps, args.repeats, 2210)
    profile = args.profile or ("gpu" if torch.cuda.is_available() else "cpu")
    cfg = resolve_config(profile, model_name=args.model, max_length=args.max_length, batch_size=args.batch_size,
                         schedule="random", tracker="none", progress=False, output_dir="runs/bench-train",
                         max_sentences=max(steps * args.batch_size, 500))
    splits = prepare_splits(cfg, args.data)  # loading the data is shared, not timed
    splits = DatasetDict({"train": splits["train"], "validation": splits["validation"].select(range(64))})
    precision = run_precision(cfg.mixed_precision, cuda_capability())
    variants = {"recipe": lambda tmp: train_recipe(cfg, splits, steps, tmp)}
    if precision.name != "float32":
        fp32 = dataclasses.replace(cfg, mixed_precision=False)
        variants["recipe-fp32"] = lambda tmp: train_recipe(fp32, splits, steps, tmp)
    variants |= {
        "stock": lambda tmp: train_stock(cfg, splits, steps),
        "stock+grouping": lambda tmp: train_stock(cfg, splits, steps, "group_by_length"),
        f"padded-{args.max_length}": lambda tmp: train_stock(cfg, splits, steps, pad_to=args.max_length),
    }
    speeds = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for name, run in variants.items():
                speeds[name].append(run(tmp))
    print(f"{device_name()}, {torch.get_num_threads()} threads, profile {profile}; model {args.model}, "
          f"{steps} steps x batch {cfg.batch_size}, {repeats} interleaved repeats")
    print(f"CPU: {cpu_model()}; recipe precision: {precision.name} ({precision.reason})")
    model, tokenizer = load_classifier(cfg.model_name)
    lengths = [len(ids) for ids in tokenizer(column(splits["train"], "text").tolist(), truncation=True,
                                              max_length=args.max_length)["input_ids"]]
    peak = peak_tflops(device_name())
    for name, values in speeds.items():
        ratio = statistics.median([r / v for r, v in zip(speeds["recipe"], values, strict=True)])
        line = f"train  {name:15s} {statistics.median(values):8.1f} samples/s  recipe/this {ratio:5.2f}x"
        if peak:
            flops = training_flops_per_token(model, np.mean(lengths))
            mfu = model_flops_utilization(statistics.median(values) * np.mean(lengths), flops, peak)
            line += f"  MFU {100 * mfu:5.2f}% of {peak:.0f} TFLOP/s"
        print(f"{line}  {np.round(values, 1).tolist()}")

    model, tokenizer = load_classifier(args.model, args.data)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    texts = column(sentence_level(load_sst(args.data))["test"], "text")[:n_infer].tolist()
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None,
                        truncation=True, max_length=args.max_length)
    inference = {
        "recipe": lambda: predict_proba(model, tokenizer, texts, max_length=args.max_length, progress=False,
                                        cpu_bf16=precision.cpu_bf16).argmax(1),
        "recipe-fp32": lambda: predict_proba(model, tokenizer, texts, max_length=args.max_length,
                                             progress=False).argmax(1),
        "pipeline": lambda: _pipeline_labels(classify(texts), model.config.label2id),
        "pipeline-64": lambda: _pipeline_labels(classify(texts, batch_size=64), model.config.label2id),
    }
    rates, predicted = {name: [] for name in inference}, {}
    for _ in range(repeats):
        for name, run in inference.items():
            start = time.perf_counter()
            predicted[name] = np.asarray(run())
            rates[name].append(len(texts) / (time.perf_counter() - start))
    for name, values in rates.items():
        ratio = statistics.median([r / v for r, v in zip(rates["recipe"], values, strict=True)])
        agree = np.mean(predicted[name] == predicted["recipe"])
        print(f"infer  {name:15s} {statistics.median(values):8.1f} sentences/s  recipe/this {ratio:5.2f}x  "
              f"same prediction {100 * agree:.1f}%  {np.round(values, 1).tolist()}")

    # A run's evaluation (evaluate_run): every phrase of validation and test, once each way.
    sst = load_sst(args.data)
    phrases = {name: column(sst[name], "text")[:n_infer * 50].tolist() for name in ("validation", "test")}
    for name, evaluate in (("recipe", lambda t: predict_proba(model, tokenizer, t, max_length=args.max_length,
                                                              progress=False, cpu_bf16=precision.cpu_bf16)),
                           ("recipe-fp32", lambda t: predict_proba(model, tokenizer, t, max_length=args.max_length,
                                                                   progress=False)),
                           ("64 per batch", lambda t: predict_64_per_batch(model, tokenizer, t, args.max_length))):
        start = time.perf_counter()
        for texts in phrases.values():
            evaluate(texts)
        print(f"eval   {name:15s} {time.perf_counter() - start:8.1f} s for the {sum(map(len, phrases.values()))} "
              "validation and test phrases")


def predict_64_per_batch(model, tokenizer, texts, max_length):
    """The course's inference before token budgets: distinct texts, length-sorted, 64 texts per pass."""
    unique = list(dict.fromkeys(texts))
    encoded = tokenizer(unique, truncation=True, max_length=max_length)
    order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            features = [{key: encoded[key][i] for key in encoded} for i in order[start:start + 64]]
            model(**tokenizer.pad(features, return_tensors="pt").to(model.device))


def _pipeline_labels(outputs, label2id):
    """The predicted class index of each of the pipeline's outputs (all class scores per text)."""
    return [label2id[max(scores, key=lambda s: s["score"])["label"]] for scores in outputs]


if __name__ == "__main__":
    main()
