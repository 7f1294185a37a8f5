"""What each CPU speed lever does to the course's training recipe, one lever at a time (issue #15).

The recipe in float32 (ScheduledTrainer, random length-grouped batches, dynamic padding, fused AdamW, all cores;
mixed_precision=False, so that bf16 is a lever here even where the course turns it on by itself) is timed
against itself with one change each:
  adamw-foreach   optim="adamw_torch" instead of the fused AdamW the Trainer picks by default
  1-thread        torch.set_num_threads(1)
  bf16-autocast   bf16=True: bf16 autocast, float32 master weights (what sst5.precision picks on a CPU with
                  native bf16; emulated, and slow, elsewhere)
  compile         torch_compile=True, batches padded to a multiple of 16 (fewer shapes to compile); the
                  compilation is paid once per run and reported apart ("one-off s")
Samples per second over the same optimizer steps on the same sentences, steady state (start-up and the
first steps not timed), interleaved, median of the repeats. Also printed: how much of each batch is
padding with the recipe's length-grouped batches and with random batches (the most that packing
several texts into one sequence could save on a compute-bound CPU).

    python benchmarks/cpu_levers.py            # ~15 minutes on 2 CPU cores
    python benchmarks/cpu_levers.py --quick    # ~3 minutes
"""

import argparse
import dataclasses
import statistics
import tempfile
import time

import numpy as np
import torch
from datasets import DatasetDict
from train_throughput import _for_timing, _SteadyStateTimer
from transformers import DataCollatorWithPadding

from sst5.config import resolve_config
from sst5.data import column
from sst5.models import load_classifier
from sst5.precision import cpu_model
from sst5.provenance import device_name
from sst5.sampling import random_batches
from sst5.training import ScheduledTrainer, prepare_splits, tokenize_splits, training_arguments

LEVERS = {
    "recipe": {},
    "adamw-foreach": {"optim": "adamw_torch"},
    "1-thread": {},
    "bf16-autocast": {"bf16": True},
    "compile": {"torch_compile": True},
}
WARMUP_STEPS = {"compile": 6}  # compiled graphs for the first batch shapes; others: 2 steps


def train_with_lever(cfg, splits, steps, lever, tmp):
    """(steady samples/s, seconds before the steady state) of the recipe with one lever changed."""
    model, tokenizer = load_classifier(cfg.model_name)
    tokenized = tokenize_splits(splits, tokenizer, cfg.max_length, cache_dir=tmp)
    warmup = WARMUP_STEPS.get(lever, 2)
    args = _for_timing(training_arguments(cfg, tokenized["train"].num_rows), warmup + steps)
    args = dataclasses.replace(args, **LEVERS[lever])
    collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=16 if lever == "compile" else None)
    trainer = ScheduledTrainer(model=model, args=args, train_dataset=tokenized["train"], processing_class=tokenizer,
                               data_collator=collator, schedule=cfg.schedule)
    timer = _SteadyStateTimer(warmup)
    trainer.add_callback(timer)
    threads = torch.get_num_threads()
    if lever == "1-thread":
        torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    timed_steps = trainer.state.global_step - warmup
    return timed_steps * cfg.batch_size / timer.seconds, total - timer.seconds


def padding_share(lengths, batches) -> float:
    """Padding tokens / padded tokens when each batch is padded to its longest member."""
    padded = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    return 1 - sum(lengths[i] for batch in batches for i in batch) / padded


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    steps, repeats = (8, 1) if args.quick else (args.steps, args.repeats)
    levers = ["recipe", *[lever for lever in args.levers if lever != "recipe"]]
    cfg = resolve_config("cpu", model_name=args.model, batch_size=args.batch_size, schedule="random",
                         tracker="none", progress=False, output_dir="runs/bench-levers", mixed_precision=False,
                         max_sentences=max((steps + max(WARMUP_STEPS.values())) * args.batch_size, 500))
    splits = prepare_splits(cfg, args.data)
    splits = DatasetDict({"train": splits["train"], "validation": splits["validation"].select(range(64))})
    speeds = {lever: [] for lever in levers}
    one_off = {lever: [] for lever in levers}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for lever in levers:
                rate, seconds = train_with_lever(cfg, splits, steps, lever, tmp)
                speeds[lever].append(rate)
                one_off[lever].append(seconds)
    print(f"{device_name()}, {torch.get_num_threads()} threads; model {args.model}, {steps} steps x batch "
          f"{cfg.batch_size}, {repeats} interleaved repeats")
    print(f"CPU: {cpu_model()}")
    for lever in levers:
        ratio = statistics.median([v / r for r, v in zip(speeds["recipe"], speeds[lever], strict=True)])
        print(f"lever  {lever:14s} {statistics.median(speeds[lever]):7.1f} samples/s  this/recipe {ratio:5.2f}x  "
              f"one-off {statistics.median(one_off[lever]):5.1f} s  {np.round(speeds[lever], 1).tolist()}")

    _, tokenizer = load_classifier(cfg.model_name)
    texts = column(prepare_splits(resolve_config("cpu", tracker="none"), args.data)["train"], "text").tolist()
    lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"]])
    rng = np.random.default_rng(cfg.seed)
    for grouped in (True, False):
        batches = list(random_batches(lengths, cfg.batch_size, rng, group_by_length=grouped))
        print(f"padding {'length-grouped' if grouped else 'random':14s} batches of {cfg.batch_size}: "
              f"{100 * padding_share(lengths, batches):.1f}% of the padded tokens, over all "
              f"{len(lengths)} training sentences")


if __name__ == "__main__":
    main()
