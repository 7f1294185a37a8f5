"""Average several teacher tables into one teacher (a stronger one, at no training cost), for distillation:

    cd benchmarks/results/distillation
    python ../../teacher_ensemble.py teacher_mpnet_ensemble.parquet teacher_mpnet.parquet teacher_mpnet_seed2.parquet

Each member is a table written by ``benchmarks/teacher_probabilities.py`` (with its ``.json`` beside it). Writes
the averaged table compact (:func:`sst5.distill.average_teachers`, :func:`sst5.distill.write_teacher`) and,
beside it, ``<name>.json``: the members and their metrics, and the ensemble's accuracy on the validation and
test sentences, recomputed from the members' committed runs (``benchmarks/results/*/<run>``), raw probabilities
averaged as in the table.
"""

import argparse
from pathlib import Path

from sst5.compare import ensemble_sentences
from sst5.data import resolve_source
from sst5.distill import average_teachers, read_teacher, write_teacher
from sst5.runs import read_json, write_json

RESULTS = Path(__file__).resolve().parent / "results"


def committed_run(name: str) -> Path:
    """The committed run folder named ``name`` under benchmarks/results/."""
    found = sorted(RESULTS.glob(f"*/{name}"))
    if not found:
        raise FileNotFoundError(f"no committed run {name!r} under {RESULTS}: publish it first "
                                "(benchmarks/publish_runs.py)")
    return found[0]


def sentence_accuracy(runs: list[Path], split: str) -> float:
    sentences = ensemble_sentences(runs, split=split, calibrated=False)
    return float((sentences["predicted"] == sentences["label"]).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the ensemble teacher table to write (.parquet)")
    parser.add_argument("members", type=Path, nargs="+", help="teacher tables (.parquet, each with its .json)")
    parser.add_argument("--data", help="SST source (default: $SST5_DATA)")
    args = parser.parse_args()

    records = [read_json(member.with_suffix(".json")) for member in args.members]
    table = average_teachers([read_teacher(member, args.data) for member in args.members])
    write_teacher(table, args.out, compact_for=resolve_source(args.data))
    runs = [committed_run(record["teacher_run"]) for record in records]
    summary = {
        "members": [{"table": member.name, "teacher_run": record["teacher_run"],
                     "validation_accuracy": record["validation"]["sentence"]["accuracy"],
                     "test_accuracy": record["test"]["sentence"]["accuracy"]}
                    for member, record in zip(args.members, records, strict=True)],
        "validation_accuracy": sentence_accuracy(runs, "validation"),
        "test_accuracy": sentence_accuracy(runs, "test"),
        "texts": len(table),
    }
    write_json(args.out.with_suffix(".json"), summary)
    print(f"{len(args.members)} teachers averaged over {len(table):,} texts -> {args.out}; ensemble accuracy: "
          f"validation {summary['validation_accuracy']:.1%}, test {summary['test_accuracy']:.1%}")


if __name__ == "__main__":
    main()
