"""Does CPU bf16 cost quality? The cpu profile's runs in bf16 autocast and in float32 (issue #22), compared with
the course's seed-level statistics, plus how much of each run's wall time its evaluation took:

    sst5-batch --models benchmarks/precision_parity.txt --profile cpu --out runs/precision --param tracker=none
    python benchmarks/precision_parity.py runs/precision

Per precision (what each run's provenance recorded): seeds, test-sentence accuracy and macro-F1 (mean ± sd),
median training and evaluation seconds and the batch's wall seconds per run; then bf16 − float32 on the same
test sentences: a two-level bootstrap interval over seeds and sentences with Welch's p over the seeds
(:func:`sst5.stats.compare_runs`).
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sst5.analysis import load_predictions
from sst5.batch import TIMES_FILE
from sst5.precision import cpu_model
from sst5.runs import read_json, run_status
from sst5.stats import PAIRED_METRICS, compare_runs, describe_comparison


def collect(batch_dir: Path) -> pd.DataFrame:
    """One row per finished run: precision, seed, scores, seconds, test-sentence predictions."""
    times = read_json(batch_dir / TIMES_FILE) if (batch_dir / TIMES_FILE).is_file() else {}
    rows = []
    for folder in sorted(p for p in batch_dir.iterdir() if p.is_dir()):
        if run_status(folder) not in ("trained", "complete"):
            continue
        record = read_json(folder / "metrics.json")
        sentences = load_predictions(folder, "test").query("is_root").sort_values("sentence_id")
        rows.append({"run": folder.name, "precision": record["provenance"]["precision"]["used"],
                     "seed": record["params"]["seed"], "accuracy": record["test"]["sentence"]["accuracy"],
                     "macro_f1": record["test"]["sentence"]["macro_f1"], "train_seconds": record["train_seconds"],
                     "eval_seconds": record.get("eval_seconds"), "run_seconds": times.get(folder.name),
                     "labels": sentences["label"].to_numpy(), "predicted": sentences["predicted"].to_numpy()})
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batch_dir", type=Path)
    args = parser.parse_args()
    runs = collect(args.batch_dir)
    if runs.empty:
        parser.exit(1, f"no finished run in {args.batch_dir}\n")
    print(f"CPU: {cpu_model()}")
    for precision, group in runs.groupby("precision"):
        scores = {m: f"{100 * group[m].mean():.1f} ± {100 * group[m].std():.1f}" for m in ("accuracy", "macro_f1")}
        share = group["eval_seconds"] / group["run_seconds"]
        print(f"{precision:8s} seeds {sorted(group['seed'])}: accuracy {scores['accuracy']}, macro-F1 "
              f"{scores['macro_f1']}; median train {group['train_seconds'].median():.0f} s, evaluation "
              f"{group['eval_seconds'].median():.0f} s, run {group['run_seconds'].median():.0f} s "
              f"(evaluation {100 * share.median():.1f} % of a run's wall time)")
    groups = {p: g.sort_values("seed") for p, g in runs.groupby("precision")}
    if {"bf16", "float32"} <= set(groups):
        labels = groups["bf16"]["labels"].iloc[0]
        for metric in PAIRED_METRICS:
            comparison = compare_runs(labels, np.stack(groups["bf16"]["predicted"]),
                                      np.stack(groups["float32"]["predicted"]), metric)
            print(describe_comparison(comparison, "bf16", "float32"), f"({comparison.method})")


if __name__ == "__main__":
    main()
