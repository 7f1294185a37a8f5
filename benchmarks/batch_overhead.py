"""Per-model overhead of the batch runner: a run's wall time (kernel starts, data loading, tokenization,
notebook 04) beyond its training and evaluation, read from a finished batch folder.

    python scripts/run_batch.py --models cpu --profile cpu --out runs/bench-batch   # the cpu profile's runs
    python benchmarks/batch_overhead.py runs/bench-batch

Training time is the Trainer's ``train_runtime`` and evaluation the notebook's evaluation cell, both read
from each run's ``metrics.json``; the rest of the run's wall time (``batch_times.json``) is overhead.
"""

import argparse
from pathlib import Path

import pandas as pd

from sst5.runs import read_json


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batch_dir", help="an --out folder of scripts/run_batch.py")
    args = parser.parse_args()
    root = Path(args.batch_dir)
    times = read_json(root / "batch_times.json")
    rows = []
    for run, wall in times.items():
        metrics = read_json(root / run / "metrics.json")
        train, evaluate = metrics.get("train_seconds") or 0.0, metrics.get("eval_seconds") or 0.0
        overhead = wall - train - evaluate
        rows.append((run, wall, train, evaluate, overhead, 100 * overhead / train))
    table = pd.DataFrame(rows, columns=["run", "wall_s", "train_s", "eval_s", "overhead_s", "overhead_%_of_train"])
    print(table.round(1).to_string(index=False))
    print(f"median overhead: {table['overhead_%_of_train'].median():.1f}% of training time (target < 10%)")


if __name__ == "__main__":
    main()
