"""Training and inference throughput: the course's recipe against a plain baseline, same model and data.

Training, samples per second over the same number of optimizer steps:
  recipe    dynamic padding + length-grouped random batches (ScheduledTrainer) + cached tokenization
  baseline  every batch padded to --max-length, plain random order (a stock Trainer), tokenized each run
Inference, sentences per second on the test sentences:
  recipe    sst5.predict.predict_proba: length-sorted batches, dynamic padding, each distinct text once
  baseline  batches in data order padded to --max-length
Runs are interleaved (recipe, baseline, recipe, ...) and the median ratio is printed. On a GPU, training
runs in mixed precision (bf16/fp16) and the model FLOPs utilisation is printed too: 6 x parameters x
useful (non-padding) tokens per second over the GPU's dense bf16 peak (--peak-tflops, known for A100/H100/H200).

    python benchmarks/train_throughput.py            # default: ~10 minutes on 2 CPU cores
    python benchmarks/train_throughput.py --quick    # ~1 minute
"""

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch
from datasets import DatasetDict
from transformers import DataCollatorWithPadding, Trainer

from sst5.config import resolve_config
from sst5.data import column, load_sst, sentence_level
from sst5.models import load_classifier
from sst5.predict import predict_proba
from sst5.training import build_trainer, prepare_splits, tokenize_splits, training_arguments

_PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "T4": 65.0}


def _peak_tflops(given):
    if given:
        return given
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in _PEAK_BF16_TFLOPS.items() if key in name), None)


def train_recipe(cfg, splits, steps, tmp):
    model, tokenizer = load_classifier(cfg.model_name)
    start = time.perf_counter()
    tokenized = tokenize_splits(splits, tokenizer, cfg.max_length, cache_dir=tmp)
    trainer = build_trainer(cfg, model, tokenizer, tokenized)
    trainer.args.max_steps, trainer.args.eval_strategy, trainer.args.save_strategy = steps, "no", "no"
    trainer.args.load_best_model_at_end = False
    trainer.train()
    return steps * cfg.batch_size / (time.perf_counter() - start)


def train_baseline(cfg, splits, steps):
    model, tokenizer = load_classifier(cfg.model_name)
    start = time.perf_counter()
    tokenized = splits["train"].map(
        lambda b: {**tokenizer(b["text"], truncation=True, max_length=cfg.max_length, padding="max_length"),
                   "labels": b["label"]}, batched=True, remove_columns=splits["train"].column_names)
    args = training_arguments(cfg, tokenized.num_rows)
    args.max_steps, args.eval_strategy, args.save_strategy, args.load_best_model_at_end = steps, "no", "no", False
    Trainer(model=model, args=args, train_dataset=tokenized, processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer, padding="max_length", max_length=cfg.max_length)).train()
    return steps * cfg.batch_size / (time.perf_counter() - start)


def infer_baseline(model, tokenizer, texts, batch_size, max_length):
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], truncation=True, max_length=max_length,
                              padding="max_length", return_tensors="pt")
            model(**batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (about a minute)")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--data", default=None)
    parser.add_argument("--peak-tflops", type=float, default=None, help="GPU dense bf16 peak, for MFU")
    args = parser.parse_args()
    steps, repeats, n_infer = (6, 1, 300) if args.quick else (args.steps, args.repeats, 2210)
    cfg = resolve_config("cpu", model_name=args.model, max_length=args.max_length, tracker="none", progress=False,
                         output_dir="runs/bench-train", max_sentences=max(steps * 32, 500))
    splits = prepare_splits(cfg, args.data)  # loading the data is shared, not timed
    splits = DatasetDict({"train": splits["train"], "validation": splits["validation"].select(range(64))})
    recipe, baseline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            recipe.append(train_recipe(cfg, splits, steps, tmp))
            baseline.append(train_baseline(cfg, splits, steps))
    ratios = [r / b for r, b in zip(recipe, baseline, strict=True)]
    print(f"model {args.model}, {steps} steps x batch {cfg.batch_size}, {repeats} interleaved repeats, "
          f"{torch.get_num_threads()} threads")
    print(f"train  recipe   {statistics.median(recipe):7.1f} samples/s  {np.round(recipe, 1).tolist()}")
    print(f"train  baseline {statistics.median(baseline):7.1f} samples/s  {np.round(baseline, 1).tolist()}")
    print(f"train  median speed-up {statistics.median(ratios):.2f}x")
    if torch.cuda.is_available() and (peak := _peak_tflops(args.peak_tflops)):
        model, tokenizer = load_classifier(cfg.model_name)
        n_params = sum(p.numel() for p in model.parameters())
        mean_tokens = np.mean([len(ids) for ids in tokenizer(column(splits["train"], "text").tolist())["input_ids"]])
        for name, values in (("recipe", recipe), ("baseline", baseline)):
            mfu = 6 * n_params * statistics.median(values) * mean_tokens / (peak * 1e12)
            print(f"train  {name} MFU {100 * mfu:.2f}% of {peak:.0f} TFLOP/s ({torch.cuda.get_device_name()})")

    model, tokenizer = load_classifier(args.model, args.data)
    test = sentence_level(load_sst(args.data))["test"]
    texts = column(test, "text")[:n_infer].tolist()
    fast, slow = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_proba(model, tokenizer, texts, 64, args.max_length, progress=False)
        fast.append(len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        infer_baseline(model, tokenizer, texts, 64, args.max_length)
        slow.append(len(texts) / (time.perf_counter() - start))
    print(f"infer  recipe   {statistics.median(fast):7.1f} sentences/s  {np.round(fast, 1).tolist()}")
    print(f"infer  baseline {statistics.median(slow):7.1f} sentences/s  {np.round(slow, 1).tolist()}")
    print(f"infer  median speed-up {statistics.median([f / s for f, s in zip(fast, slow, strict=True)]):.2f}x")


if __name__ == "__main__":
    main()
