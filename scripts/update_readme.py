"""Write the README's generated sections from the committed results (run after they change):

    python scripts/update_readme.py           # rewrite README.md
    python scripts/update_readme.py --check   # exit 1 if README.md is out of date (the tests run this)

A section sits between ``<!-- begin: NAME ... -->`` and ``<!-- end: NAME -->``; :data:`SECTIONS` says what
writes each.
"""

import argparse
import re
import sys
from pathlib import Path

from sst5.quality import idea_report, quality_report, quality_table, recipe_difference
from sst5.study import load_study, study_report

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
PHRASES = RESULTS / "quality_phrases"  # the shipped list cpu-phrases
PHRASES_1EPOCH = RESULTS / "quality_phrases_1epoch"
#: The quality table's rows: what was run (with its command), the committed runs, the precision kept of them.
QUALITY_RECIPES = [
    ("sentences, 3 epochs, batch 32, lr 1e-4 (cpu profile: `make course`, `sst5-batch --models cpu`)",
     RESULTS / "cpu_profile", "bf16"),
    ("the same in float32 (`--param mixed_precision=false`)", RESULTS / "cpu_profile", "float32"),
    ("distinct phrases, 1 epoch, batch 128, lr 1e-4 (`sst5-batch --models benchmarks/quality_phrases_1epoch.txt`)",
     PHRASES_1EPOCH, None),
    ("distinct phrases, 3 epochs, batch 128, lr 1e-4 (`sst5-batch --models cpu-phrases --profile cpu`)",
     PHRASES, None),
]
#: Recipes compared over their seeds on the same test sentences: (A, B), each (name, folder, precision).
SENTENCES = ("sentences, 3 epochs", RESULTS / "cpu_profile", "bf16")
QUALITY_DIFFERENCES = [
    (("phrases, 3 epochs", PHRASES, None), ("phrases, 1 epoch", PHRASES_1EPOCH, None)),
    (("phrases, 1 epoch", PHRASES_1EPOCH, None), SENTENCES),
    (("phrases, 3 epochs", PHRASES, None), SENTENCES),
]
IDEAS_COMMAND = ("sst5-batch --models benchmarks/quality_ideas.txt --profile cpu --out runs/quality-ideas\n"
                 "python benchmarks/publish_runs.py runs/quality-ideas benchmarks/results/quality_ideas\n"
                 "python scripts/update_readme.py")


def ideas_section(folder: Path) -> str:
    """The one-seed ideas against one epoch of the phrase recipe, or how to run them where none is committed yet."""
    if folder.is_dir():
        return idea_report(folder, PHRASES_1EPOCH)
    return f"No idea run is committed yet. To measure them:\n\n```bash\n{IDEAS_COMMAND}\n```\n"


def differences_section() -> str:
    return "".join(f"- {recipe_difference(a, b)}\n" for a, b in QUALITY_DIFFERENCES)


SECTIONS = {
    "quality-table": lambda: quality_table(QUALITY_RECIPES),
    "quality-phrases": lambda: quality_report(PHRASES),
    "quality-phrases-1epoch": lambda: quality_report(PHRASES_1EPOCH),
    "quality-differences": differences_section,
    "quality-ideas": lambda: ideas_section(RESULTS / "quality_ideas"),
    "schedule-study": lambda: study_report(load_study()),
}


def updated(text: str) -> str:
    """``text`` with every generated section rewritten."""
    for name, write in SECTIONS.items():
        escaped = re.escape(name)  # followed by a space or -->, so that a name is not read as another's prefix
        pattern = re.compile(rf"(<!-- begin: {escaped}(?=\s|-->)[^>]*-->\n).*?(<!-- end: {escaped} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no section {name!r} (<!-- begin: {name} --> ... <!-- end: {name} -->)")
        text = pattern.sub(lambda m, write=write: m.group(1) + write() + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if args.check:
        if new != text:
            print("README.md is out of date: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
