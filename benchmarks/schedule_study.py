"""The schedule study (sst5.study): random vs 4 stratified + 2 random vs 4 stratified + 4 alternating, on
distinct training phrases, 3 seeds each, through the batch runner (resumable: run it again to go on).

    # this CPU: a fixed number of phrases per epoch, the same for every schedule
    python benchmarks/schedule_study.py --profile cpu --samples-per-epoch 4000
    # a GPU (Colab): full epochs of the 159,268 distinct phrases, any model
    python benchmarks/schedule_study.py --profile gpu --model minilm --param batch_size=128 --param learning_rate=1e-4
    python benchmarks/schedule_study.py --profile gpu --model echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid \\
        --results benchmarks/results/schedule_study_bert

Writes --results (runs.csv, statistics.csv, predictions/, study.json) from the runs complete so far.
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

from sst5.batch import TIMES_FILE, parse_assignments, run_batch
from sst5.config import default_profile_name
from sst5.provenance import device_name
from sst5.runs import read_json
from sst5.study import (
    SCHEDULES,
    STUDY_PARAMETERS,
    STUDY_SEEDS,
    StudyResults,
    collect_study,
    schedule_statistics,
    study_entries,
    write_study,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--profile", default=None, help="cpu, gpu (default: SST5_PROFILE, else by device)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(STUDY_SEEDS))
    parser.add_argument("--samples-per-epoch", type=int, default=None, help="unset: full epochs")
    parser.add_argument("--param", action="append", default=[], help="another notebook-03 parameter, name=value")
    parser.add_argument("--out", default="runs/schedule-study", help="the batch folder (run folders, resumable)")
    parser.add_argument("--results", default="benchmarks/results/schedule_study")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    params = {**STUDY_PARAMETERS, "samples_per_epoch": args.samples_per_epoch,
              **parse_assignments(args.param, "--param")}
    entries = study_entries(args.model, args.seeds)
    start = time.perf_counter()
    result = run_batch(entries, args.out, params, args.profile, args.data, compare=False)
    print(result.report())
    runs, predictions = collect_study(args.out)
    if runs.empty:
        sys.exit(f"no complete run in {args.out} yet")
    times = read_json(Path(args.out) / TIMES_FILE)
    about = {
        "command": shlex.join(["python", *sys.argv]),
        "model": args.model, "profile": args.profile or default_profile_name(), "seeds": args.seeds,
        "schedules": SCHEDULES,
        "parameters": params, "device": device_name(), "date": time.strftime("%Y-%m-%d"),
        "runs_complete": int(runs["run"].nunique()), "runs_planned": len(entries),
        "batch_seconds": round(sum(times.values()), 1),
        "this_call_seconds": round(time.perf_counter() - start, 1),
    }
    statistics = schedule_statistics(runs, predictions)
    folder = write_study(args.results, StudyResults(runs, statistics, predictions, about))
    test = runs[(runs["split"] == "test") & (runs["level"] == "sentence")]
    print(test.groupby("schedule", sort=False)[["accuracy", "macro_f1", "neighbour_rate", "min_precision"]]
          .agg(["mean", "std"]).mul(100).round(1).to_string())
    print("\n".join(statistics["statement"]))
    print(f"{about['runs_complete']} of {len(entries)} runs complete; results in {folder}; "
          f"batch time {about['batch_seconds'] / 60:.1f} min")
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
