"""Does CPU bf16 cost quality? The cpu profile's runs in bf16 autocast and in float32 (issue #22), compared with
the course's seed-level statistics, plus how much of each run's wall time its evaluation took:

    sst5-batch --models benchmarks/precision_parity.txt --profile cpu --out runs/precision --param tracker=none
    python benchmarks/precision_parity.py runs/precision

Per precision (what each run's provenance recorded): seeds, test-sentence accuracy and macro-F1 (mean ± sd),
median training and evaluation seconds and the batch's wall seconds per run; then bf16 − float32 on the same
test sentences: a two-level bootstrap interval over seeds and sentences with Welch's p over the seeds
(:func:`lab.quality.recipe_difference`).
"""

import argparse
from pathlib import Path

from lab.quality import collect_seeds, recipe_difference


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batch_dir", type=Path)
    args = parser.parse_args()
    runs = collect_seeds(args.batch_dir)
    print("CPU (as the runs recorded):", ", ".join(runs["cpu"].dropna().unique()) or "not recorded")
    for precision, group in runs.groupby("precision"):
        scores = {m: f"{100 * group[m].mean():.1f} ± {100 * group[m].std():.1f}" for m in ("accuracy", "macro_f1")}
        share = group["eval_seconds"] / group["run_seconds"]
        print(f"{precision:8s} seeds {sorted(group['seed'])}: accuracy {scores['accuracy']}, macro-F1 "
              f"{scores['macro_f1']}; median train {group['train_seconds'].median():.0f} s, evaluation "
              f"{group['eval_seconds'].median():.0f} s, run {group['run_seconds'].median():.0f} s "
              f"(evaluation {100 * share.median():.1f} % of a run's wall time)")
    if {"bf16", "float32"} <= set(runs["precision"]):
        print(recipe_difference(("bf16", args.batch_dir, "bf16"), ("float32", args.batch_dir, "float32")))

if __name__ == "__main__":
    main()
