"""Score every training text of a run's recipe with a finished run's model (the teacher), for distillation:

    python benchmarks/teacher_probabilities.py runs/quality-mpnet/mpnet--default--seed42--1898a9c4 \
        benchmarks/results/distillation/teacher_mpnet.parquet

Writes the teacher table compact (``prob_0`` … ``prob_4`` in float16 for each distinct training phrase of the
official release, in its order, with the release's fingerprint: :func:`sst5.distill.write_teacher`) and, beside
it, ``<name>.json``: the teacher's run, its parameters, its validation and test metrics and the scoring's wall
time. A student then trains with ``teacher=<file>`` (or a shipped name, :data:`sst5.distill.SHIPPED_TEACHERS`)
without the teacher's weights.
"""

import argparse
import time
from pathlib import Path

from sst5.config import resolve_config
from sst5.data import resolve_source
from sst5.distill import teacher_probabilities, write_teacher
from sst5.precision import cpu_model, cuda_capability, run_precision
from sst5.predict import load_run_model
from sst5.runs import METRICS_FILE, read_json, write_json
from sst5.training import prepare_splits


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("teacher_run", type=Path, help="a finished run folder with its model/")
    parser.add_argument("out", type=Path, help="the teacher table to write (.parquet)")
    parser.add_argument("--data", help="SST source (default: $SST5_DATA)")
    args = parser.parse_args()

    record = read_json(args.teacher_run / METRICS_FILE)
    params = record["params"]
    config = resolve_config(params["profile"], train_on="distinct_phrases", max_length=params["max_length"],
                            mixed_precision=params["mixed_precision"])
    texts = prepare_splits(config, args.data)["train"]["text"]
    model, tokenizer = load_run_model(args.teacher_run)
    start = time.perf_counter()
    table = teacher_probabilities(model, tokenizer, texts, max_length=config.max_length,
                                  cpu_bf16=run_precision(config.mixed_precision, cuda_capability()).cpu_bf16)
    seconds = time.perf_counter() - start
    write_teacher(table, args.out, compact_for=resolve_source(args.data))
    write_json(args.out.with_suffix(".json"), {
        "teacher_run": args.teacher_run.name, "params": params, "validation": record["validation"],
        "test": record["test"], "texts": len(table), "scoring_seconds": round(seconds, 1), "cpu": cpu_model()})
    print(f"{len(table):,} texts scored in {seconds / 60:.1f} min -> {args.out}")


if __name__ == "__main__":
    main()
