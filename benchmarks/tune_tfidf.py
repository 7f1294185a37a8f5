"""Pick notebook 01's TF-IDF baseline on validation sentences, then score the pick on test, once.

Example: python benchmarks/tune_tfidf.py --out benchmarks/results/tfidf_dev_grid.csv
The pick goes into sst5.config.TFIDF_SETTINGS by hand; test never takes part in choosing.
"""

import argparse
import time

from sst5.baselines import PUBLISHED, distinct_phrases, fit_tfidf, tune_tfidf
from sst5.data import load_sst, to_frame
from sst5.metrics import classification_metrics

GRID = {"C": [1.0, 2.0, 4.0], "class_weight": [None, "balanced"], "char_ngrams": [False, True]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="SST source (default: $SST5_DATA)")
    parser.add_argument("--out", help="write the validation grid here (CSV)")
    args = parser.parse_args()
    frame = to_frame(load_sst(args.data))
    train, validation, test = (frame[frame["split"] == name] for name in ("train", "validation", "test"))
    start = time.perf_counter()
    grid = tune_tfidf(train, validation, GRID)
    print(f"validation sentence accuracy / macro-F1 (%), {len(distinct_phrases(train)):,} distinct training "
          f"phrases, {time.perf_counter() - start:.0f} s:\n{grid.round(1).to_string(index=False)}")
    if args.out:
        grid.round(2).to_csv(args.out, index=False)
    best = {key: grid[key].astype(object).where(grid[key].notna(), None).tolist()[0] for key in GRID}
    fit_rows = distinct_phrases(train)
    model = fit_tfidf(fit_rows["text"], fit_rows["label"], **best)
    sentences = test[test["is_root"]]
    scores = classification_metrics(sentences["label"], model.predict(list(sentences["text"])))
    print(f"picked on validation: {best}; test sentence accuracy {100 * scores['accuracy']:.1f}, "
          f"macro-F1 {100 * scores['macro_f1']:.1f}")
    print(PUBLISHED.head(2).to_string(index=False))


if __name__ == "__main__":
    main()
