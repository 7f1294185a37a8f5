"""Score notebook 01's baselines and notebook 02's leakage measurement on all the data, as the notebooks do
with the cpu profile (no cap on training phrases), and commit what they give:

    python benchmarks/baselines.py --out benchmarks/results/baselines

Writes ``baselines.csv`` (majority class, prior guess and the tuned TF-IDF model on the official test split,
sentence and phrase level, %: :func:`sst5.baselines.evaluate_baselines`) and ``leakage.csv`` (the TF-IDF model
on a random phrase split against a group split of the same size, 20 %, seed 42:
:func:`sst5.baselines.score_split_kinds`). The README's and the results page's figures are written from them.
"""

import argparse
import time
from pathlib import Path

from sst5.baselines import evaluate_baselines, score_split_kinds
from sst5.config import SEED
from sst5.data import load_sst, to_frame
from sst5.runs import write_atomic

LEAKAGE_TEST_SIZE = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="SST source (default: $SST5_DATA)")
    parser.add_argument("--out", type=Path, required=True, help="folder for baselines.csv and leakage.csv")
    args = parser.parse_args()
    frame = to_frame(load_sst(args.data))
    start = time.perf_counter()
    baselines = evaluate_baselines(frame[frame["split"] == "train"], frame[frame["split"] == "test"], seed=SEED)
    leakage = score_split_kinds(frame, LEAKAGE_TEST_SIZE, SEED)
    write_atomic(args.out / "baselines.csv", lambda tmp: baselines.round(2).to_csv(tmp, index=False))
    write_atomic(args.out / "leakage.csv", lambda tmp: leakage.round(2).to_csv(tmp))  # indexed by split
    print(baselines.round(1).to_string(index=False), leakage.round(1).to_string(), sep="\n\n")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
