"""Recompute a schedule study's statistics from its committed predictions (nothing trains), e.g. after the
statistics changed:

    python benchmarks/restate_study.py benchmarks/results/schedule_study
    python scripts/update_readme.py     # the README's study section, written from the new statistics
"""

import argparse

from sst5.study import load_study, schedule_statistics, write_study


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results_dir", help="a study's results folder (runs.csv, predictions/)")
    args = parser.parse_args()
    study = load_study(args.results_dir)
    study.statistics = schedule_statistics(study.runs, study.predictions)
    write_study(args.results_dir, study)
    print("\n".join(study.statistics["statement"]))


if __name__ == "__main__":
    main()
