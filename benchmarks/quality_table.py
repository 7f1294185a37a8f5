"""Quality table for the README: mean ± standard deviation over seeds per (model, schedule), in %, and the
median training seconds, from a batch folder,
beside the baselines and published SST-5 results (sentence level, official test split, in %).

    python scripts/run_batch.py --models benchmarks/quality_models.txt --profile cpu --out runs/quality --param epochs=2
    python benchmarks/quality_table.py runs/quality
"""

import argparse

from sst5.baselines import PUBLISHED
from sst5.compare import leaderboard, leaderboard_markdown


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batch_dir")
    args = parser.parse_args()
    board, problems = leaderboard(args.batch_dir)
    if not problems.empty:
        print("problems:\n", problems.to_string(index=False))
    columns = ["test_sentence_accuracy", "test_sentence_macro_f1", "test_sentence_neighbour_rate",
               "test_phrase_accuracy"]
    grouped = board.groupby(["model", "schedule"])
    scores = grouped[columns]
    spread = (" ± " + (100 * scores.std()).round(1).astype(str)).where(scores.count() > 1, "")  # no spread of one run
    table = (100 * scores.mean()).round(1).astype(str) + spread
    table.insert(0, "runs", grouped.size())
    table["train_seconds"] = grouped["train_seconds"].median().round(0).astype(int)
    print(leaderboard_markdown(table.reset_index()))
    print(leaderboard_markdown(PUBLISHED.astype(object).fillna("–"), digits=1))


if __name__ == "__main__":
    main()
