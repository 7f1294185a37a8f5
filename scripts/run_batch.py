"""Fine-tune every model of a list with the course notebooks (papermill), resumably.

Example: python scripts/run_batch.py --models cpu --out runs/batch --param epochs=2 --param schedule=random
Exit code 1 when any model failed (see <out>/failures.json); the others' results are kept.
"""

import argparse
import sys

from sst5.batch import parse_assignments, plan_runs, run_batch
from sst5.models import read_model_list


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, help="model list file, or a shipped list: smoke, cpu, gpu")
    parser.add_argument("--out", required=True, help="parent folder of the run folders")
    parser.add_argument("--profile", help="smoke, cpu or gpu (default: $SST5_PROFILE, else by hardware)")
    parser.add_argument("--data", help="SST source (default: $SST5_DATA, else the official download)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="notebook-03 parameter shared by all runs (repeatable)")
    parser.add_argument("--force", action="store_true", help="re-run finished runs")
    parser.add_argument("--dry-run", action="store_true", help="list the planned runs and stop")
    args = parser.parse_args(argv)
    try:
        entries = read_model_list(args.models)
        params = parse_assignments(args.param, where="--param")
        specs = plan_runs(entries, params, args.profile)
    except (FileNotFoundError, ValueError, TypeError) as error:
        parser.exit(2, f"error: {error}\n")
    if args.dry_run:
        for spec in specs:
            print(f"{spec.name}\t{spec.model}\t{spec.params}")
        return 0
    result = run_batch(entries, args.out, params, args.profile, args.data, force=args.force)
    print(result.summary().to_string(index=False))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
