"""Copy finished runs' results, never their weights, into a committed results folder:

    python benchmarks/publish_runs.py runs/cpu-profile benchmarks/results/cpu_profile

Each finished run folder of the batch becomes ``RESULTS/<run>/`` with its ``metrics.json`` (parameters, every
metric, provenance, wall time) and ``predictions.parquet`` holding its test rows (sentences and phrases) and its
validation sentences (label, predicted class and the five probabilities), so that every figure reported from it
can be recomputed and a temperature fitted on validation (:mod:`sst5.calibration`); the batch's wall seconds
per run (``batch_times.json``) are merged into ``RESULTS/batch_times.json``.
Every committed run is also one of the course's reference runs (``sst5.runs.reference_runs_dir``), read by
notebooks 04 and 05 before a user has a run of their own.
"""

import argparse
import shutil
from pathlib import Path

import pandas as pd

from sst5.runs import METRICS_FILE, PREDICTIONS_FILE, TIMES_FILE, is_finished, read_json, write_atomic, write_json


def publish(run_dir: Path, results_dir: Path) -> Path:
    """Write ``run_dir``'s metrics, test predictions and validation-sentence predictions to ``results_dir/<run>``."""
    target = results_dir / run_dir.name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / METRICS_FILE, target / METRICS_FILE)
    table = pd.read_parquet(run_dir / PREDICTIONS_FILE)
    kept = table[(table["split"] == "test") | ((table["split"] == "validation") & table["is_root"])]
    kept = kept.reset_index(drop=True)
    probabilities = [c for c in kept.columns if c.startswith("prob_")]
    kept[probabilities] = kept[probabilities].astype("float32").round(4)  # 4 decimals: half the file, same argmax
    write_atomic(target / PREDICTIONS_FILE,
                 lambda tmp: kept.to_parquet(tmp, index=False, compression="zstd", compression_level=19))
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batch_dir", type=Path)
    parser.add_argument("results_dir", type=Path)
    args = parser.parse_args()
    runs = sorted(p for p in args.batch_dir.iterdir() if p.is_dir() and is_finished(p))
    if not runs:
        parser.exit(1, f"no finished run in {args.batch_dir}\n")
    for run in runs:
        target = publish(run, args.results_dir)
        size = sum(f.stat().st_size for f in target.iterdir()) / 1e6
        print(f"{run.name} -> {target} ({size:.1f} MB)")
    if (args.batch_dir / TIMES_FILE).is_file():
        times = read_json(args.batch_dir / TIMES_FILE)
        published = read_json(args.results_dir / TIMES_FILE) if (args.results_dir / TIMES_FILE).is_file() else {}
        write_json(args.results_dir / TIMES_FILE, published | {run.name: times[run.name] for run in runs
                                                               if run.name in times})


if __name__ == "__main__":
    main()
